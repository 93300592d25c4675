// One lane per agent; each step appears when it starts, shows its progress and any
// streamed text, and is marked when it completes. Updated in place, keyed by step.

import { h, humanize, setText } from "../dom.js";
import { AGENTS } from "../investigation-model.js";

const STEP_ICONS = { running: "…", done: "✓", failed: "✗", stopped: "■" };

export class Timeline {
  constructor() {
    this.lanes = new Map(); // agent -> {root, badge, list, steps: Map(step -> elements)}
    this.root = h("section", { class: "timeline", "aria-labelledby": "timeline-title" });
    this.root.append(h("h2", { id: "timeline-title" }, "Timeline"));
    this.grid = h("div", { class: "lanes" });
    this.root.append(this.grid);
    for (const { id } of AGENTS) this.#lane(id);
  }

  #lane(agent) {
    let lane = this.lanes.get(agent);
    if (lane) return lane;
    const label = AGENTS.find((a) => a.id === agent)?.label ?? humanize(agent);
    const titleId = `lane-${agent}-title`;
    const badge = h("span", { class: "badge" });
    const list = h("ol", { class: "steps" });
    const empty = h("p", { class: "help lane-empty" }, "No steps yet.");
    const root = h(
      "section",
      { class: "lane card", dataset: { agent }, "aria-labelledby": titleId },
      h("header", { class: "lane-header" }, h("h3", { id: titleId }, label), badge),
      empty,
      list,
    );
    lane = { root, badge, list, empty, steps: new Map() };
    this.lanes.set(agent, lane);
    this.grid.append(root);
    return lane;
  }

  render(model) {
    for (const agent of model.agents.values()) {
      const lane = this.#lane(agent.agent);
      lane.badge.className = `badge agent-${agent.status}`;
      setText(lane.badge, humanize(agent.status));
      lane.empty.hidden = agent.steps.size > 0;
      setText(
        lane.empty,
        agent.status === "skipped"
          ? "Not needed for this alert."
          : agent.status === "not_run"
            ? "Did not run: the investigation ended first."
            : "No steps yet.",
      );
      for (const step of agent.steps.values()) this.#renderStep(lane, agent.agent, step);
    }
  }

  #renderStep(lane, agent, step) {
    let view = lane.steps.get(step.step);
    if (!view) {
      const icon = h("span", { class: "step-icon", "aria-hidden": "true" });
      const title = h("span", { class: "step-title" });
      const state = h("span", { class: "visually-hidden" });
      const progress = h("progress", { max: 1, value: 0 });
      const detail = h("p", { class: "step-detail" });
      const text = h("p", { class: "step-text", "aria-live": "off" });
      const root = h(
        "li",
        { class: "step", dataset: { agent, step: step.step } },
        h("div", { class: "step-head" }, icon, title, state),
        progress,
        detail,
        text,
      );
      view = { root, icon, title, state, progress, detail, text };
      lane.steps.set(step.step, view);
      lane.list.append(root);
    }
    view.root.dataset.status = step.status;
    setText(view.icon, STEP_ICONS[step.status] ?? "•");
    setText(view.title, step.title);
    setText(view.state, ` (${step.status})`);
    view.progress.value = step.progress ?? 0;
    view.progress.setAttribute(
      "aria-label",
      `${step.title}: ${Math.round((step.progress ?? 0) * 100)}%`,
    );
    setText(view.detail, step.detail ?? "");
    view.detail.hidden = !step.detail;
    setText(view.text, step.text);
    view.text.hidden = !step.text;
  }
}
