// The investigation page: determination on top, the question (if an agent asks one),
// the per-agent timeline, and the findings with their charts. Everything below the
// header is built from the event stream, applied once per offset.

import { api, ApiError } from "../api.js";
import { formatDateTime, h, humanize, replaceChildren, setText } from "../dom.js";
import {
  applyEvent,
  applyLiveEvent,
  beginNewRun,
  createModel,
  NARRATIVE_STEP,
  TERMINAL_STATES,
} from "../investigation-model.js";
import { InvestigationStream } from "../stream.js";
import { CasePanel } from "./case.js";
import { Findings } from "./findings.js";
import { Timeline } from "./timeline.js";

const RETRYABLE = new Set(["failed", "canceled", "timed_out"]);

/** What the tests (and a curious developer) can read: offsets applied, reconnects. */
function debugRecord(alertId) {
  const record = { alertId, offsets: [], reconnects: 0, connection: "connecting" };
  window.__surveil = record;
  return record;
}

/** Renders into `main`; returns a function that closes the stream and frees the charts. */
export function renderInvestigation(main, alertId, { banner }) {
  const record = debugRecord(alertId);
  let model = null;
  let stream = null;
  let findings = null;
  let casePanel = null;
  let closed = false;
  let frame = 0;

  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading investigation…"));

  api
    .getAlert(alertId)
    .then((snapshot) => {
      if (!closed) open(snapshot);
    })
    .catch((error) => {
      if (!closed) showLoadError(main, alertId, error);
    });

  function open(snapshot) {
    model = createModel(snapshot);
    model.state = snapshot.state ?? model.state;
    const view = buildPage(model, alertId, { onAction: act, onAnswer: answer });
    findings = view.findings;
    casePanel = view.casePanel;
    main.replaceChildren(view.root);
    casePanel.start();
    view.heading.focus();

    stream = new InvestigationStream(alertId, {
      onEvent: (offset, event) => {
        record.offsets.push(offset);
        applyEvent(model, event);
        scheduleRender();
      },
      onLive: (event) => {
        applyLiveEvent(model, event);
        scheduleRender();
      },
      onConnection: (state, detail) => {
        record.connection = state;
        record.reconnects = stream.reconnects;
        showBanner(banner, state, detail);
      },
      onFatal: (error) => showLoadError(main, alertId, error),
    });
    stream.start();

    function scheduleRender() {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        view.render(model);
      });
    }
    view.render(model);

    async function act(action, reason) {
      view.setBusy(true);
      try {
        if (action === "cancel") await api.cancel(alertId, reason);
        if (action === "retry" || action === "rerun") {
          if (action === "retry") await api.retry(alertId);
          else await api.rerun(alertId, reason);
          beginNewRun(model);
          view.render(model);
          stream.start(); // the previous run's stream ended; resume after its last offset
        }
        view.setMessage("");
        casePanel.refresh(); // the action is in the audit trail now
      } catch (error) {
        view.setMessage(`Could not ${action}: ${error.message}`);
      } finally {
        view.setBusy(false);
      }
    }

    async function answer(agent, text) {
      await api.answer(alertId, agent, text);
    }
  }

  return () => {
    closed = true;
    cancelAnimationFrame(frame);
    stream?.stop();
    casePanel?.stop();
    findings?.destroy();
    banner.hidden = true;
  };
}

function showBanner(banner, state, detail = {}) {
  if (state === "reconnecting") {
    const wait = detail.delayMs ? ` in ${(detail.delayMs / 1000).toFixed(1)} s` : "…";
    banner.textContent = `Connection to the live stream lost. Reconnecting${wait} (attempt ${detail.attempt}).`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function showLoadError(main, alertId, error) {
  const notFound = error instanceof ApiError && (error.status === 404 || error.status === 403);
  replaceChildren(
    main,
    h(
      "section",
      { class: "card not-found", "aria-labelledby": "error-title" },
      h(
        "h1",
        { id: "error-title", tabindex: "-1" },
        notFound ? "Investigation not found" : "Could not load the investigation",
      ),
      h(
        "p",
        {},
        notFound
          ? `There is no investigation “${alertId}” for your tenant.`
          : `The API answered: ${error.message}`,
      ),
      h("p", {}, h("a", { href: "#/" }, "Back to the alert queue")),
    ),
  );
  main.querySelector("h1").focus();
}

function buildPage(model, alertId, { onAction, onAnswer }) {
  const alert = model.alert;
  const heading = h("h1", { id: "investigation-title", tabindex: "-1" }, `Alert ${alertId}`);
  const stateBadge = h("span", { class: "badge", dataset: { testid: "investigation-state" } });
  const cancel = h("button", { type: "button", class: "danger" }, "Cancel investigation");
  const retry = h("button", { type: "button", class: "primary" }, "Retry");
  // A re-run starts over (new data imported, a question answered too late); it asks why.
  const rerun = h("button", { type: "button", class: "secondary" }, "Re-run from scratch");
  const rerunReason = h("input", { id: "rerun-reason", name: "reason", autocomplete: "off" });
  const rerunForm = h(
    "form",
    { class: "inline-form rerun-form", hidden: true },
    h("label", { for: "rerun-reason" }, "Reason for the re-run (required)"),
    rerunReason,
    h("button", { type: "submit", class: "primary" }, "Confirm re-run"),
  );
  rerun.addEventListener("click", () => {
    rerunForm.hidden = false;
    rerunReason.focus();
  });
  rerunForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!rerunReason.value.trim()) {
      message.textContent = "Say why the investigation is re-run.";
      return;
    }
    rerunForm.hidden = true;
    onAction("rerun", rerunReason.value.trim());
  });
  const cancelReason = h("input", {
    id: "cancel-reason",
    name: "reason",
    autocomplete: "off",
    required: true,
  });
  const cancelForm = h(
    "form",
    { class: "inline-form cancel-form", hidden: true },
    h("label", { for: "cancel-reason" }, "Reason for canceling (required)"),
    cancelReason,
    h("button", { type: "submit", class: "danger" }, "Confirm cancel"),
  );
  cancel.addEventListener("click", () => {
    cancelForm.hidden = false;
    cancelReason.focus();
  });
  cancelForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!cancelReason.value.trim()) {
      message.textContent = "Say why the investigation is canceled.";
      return;
    }
    cancelForm.hidden = true;
    onAction("cancel", cancelReason.value.trim());
  });
  retry.addEventListener("click", () => onAction("retry"));
  const temporalLink = model.links.temporal_ui
    ? h(
        "a",
        { href: model.links.temporal_ui, target: "_blank", rel: "noopener", class: "external" },
        "Open the run in Temporal Web UI",
      )
    : null;
  const message = h("p", { class: "form-error", role: "alert" });

  const header = h(
    "header",
    { class: "card investigation-header" },
    h("p", {}, h("a", { href: "#/" }, "← Alert queue")),
    h("div", { class: "title-row" }, heading, stateBadge),
    h(
      "dl",
      { class: "alert-facts" },
      fact("Type", humanize(alert.type)),
      fact("Account", alert.account),
      fact("Instrument", alert.instrument),
      fact("Window", `${formatDateTime(alert.window_start)} – ${formatDateTime(alert.window_end)}`),
    ),
    alert.description ? h("p", { class: "alert-description" }, alert.description) : null,
    h("div", { class: "actions" }, cancel, retry, rerun, temporalLink),
    cancelForm,
    rerunForm,
    message,
  );

  const determination = new DeterminationPanel();
  const question = new QuestionPanel(onAnswer);
  const casePanel = new CasePanel(alertId);
  const timeline = new Timeline();
  const findings = new Findings();
  const root = h(
    "div",
    { class: "investigation" },
    header,
    determination.root,
    casePanel.root,
    question.root,
    timeline.root,
    findings.root,
  );

  let busy = false;
  function render(m) {
    stateBadge.className = `badge state-${m.state}`;
    setText(stateBadge, humanize(m.state) + (m.run > 1 ? ` · run ${m.run}` : ""));
    cancel.hidden = TERMINAL_STATES.has(m.state);
    if (cancel.hidden) cancelForm.hidden = true;
    retry.hidden = !RETRYABLE.has(m.state);
    rerun.hidden = !TERMINAL_STATES.has(m.state);
    if (rerun.hidden) rerunForm.hidden = true;
    cancel.disabled = retry.disabled = rerun.disabled = busy;
    determination.render(m);
    question.render(m);
    casePanel.render(m);
    timeline.render(m);
    findings.render(m);
  }
  return {
    root,
    heading,
    findings,
    casePanel,
    render,
    setBusy(value) {
      busy = value;
      cancel.disabled = retry.disabled = rerun.disabled = value;
    },
    setMessage(text) {
      message.textContent = text;
    },
  };
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value ?? "—"));
}

/** The outcome on top: disposition, confidence, reasons, and the narrative as it streams. */
class DeterminationPanel {
  constructor() {
    this.disposition = h("span", { class: "badge" });
    this.confidence = h("span", { class: "confidence" });
    this.reasons = h("ul", { class: "reasons" });
    this.narrative = h("p", { class: "narrative", dataset: { testid: "narrative" } });
    this.model = h("p", { class: "help narrative-model" });
    this.usage = h("p", { class: "help llm-usage", dataset: { testid: "llm-usage" } });
    this.error = h("p", { class: "form-error" });
    this.root = h(
      "section",
      {
        class: "card determination",
        "aria-labelledby": "determination-title",
        "aria-live": "polite",
      },
      h(
        "div",
        { class: "title-row" },
        h("h2", { id: "determination-title" }, "Determination"),
        this.disposition,
        this.confidence,
      ),
      this.error,
      this.reasons,
      h("h3", { class: "narrative-title" }, "Narrative"),
      this.narrative,
      this.model,
      this.usage,
    );
  }

  render(model) {
    const d = model.determination;
    this.root.dataset.final = d ? "true" : "false";
    // A run that ended without a determination has none, and will not get one in this run.
    const ended = !d && TERMINAL_STATES.has(model.state);
    this.disposition.className = `badge ${
      d ? `disposition-${d.disposition}` : ended ? `state-${model.state}` : "state-pending"
    }`;
    setText(
      this.disposition,
      d ? humanize(d.disposition) : ended ? `None (${humanize(model.state).toLowerCase()})` : "Pending",
    );
    setText(this.confidence, d ? `Confidence ${Math.round(d.confidence * 100)}%` : "");
    setText(
      this.error,
      model.error ? `Investigation ${humanize(model.state).toLowerCase()}: ${model.error}` : "",
    );
    this.error.hidden = !model.error;
    if (d) {
      const items = (d.reasons ?? []).map((r) => h("li", {}, r));
      if (this.reasons.childElementCount !== items.length) this.reasons.replaceChildren(...items);
    } else if (this.reasons.childElementCount) {
      this.reasons.replaceChildren();
    }
    // While synthesis runs, the orchestrator's tokens are the narrative being written.
    const live = model.agents.get("orchestrator")?.steps.get(NARRATIVE_STEP)?.text ?? "";
    setText(
      this.narrative,
      d?.narrative || live || "The narrative streams here when the findings are in.",
    );
    this.narrative.classList.toggle("streaming", !d && Boolean(live));
    setText(this.model, d?.narrative_model ? `Written by ${d.narrative_model}` : "");
    setText(this.usage, describeUsage(model.usage));
  }
}

/** "LLM: 3 requests, 1,234 prompt + 210 completion tokens, waited 40 s, cost 0.0012 USD". */
function describeUsage(usage) {
  if (!usage) return "";
  const n = (value) => Math.round(value).toLocaleString("en");
  const parts = [
    `${n(usage.requests)} request${usage.requests === 1 ? "" : "s"}`,
    `${n(usage.prompt_tokens)} prompt + ${n(usage.completion_tokens)} completion tokens`,
  ];
  if (usage.retries) parts.push(`${n(usage.retries)} retried`);
  if (usage.waited_s >= 1) parts.push(`waited ${n(usage.waited_s)} s for the LLM`);
  if (usage.cost !== null) parts.push(`cost ${usage.cost.toPrecision(3)} ${usage.currency ?? ""}`.trim());
  return `LLM: ${parts.join(", ")}`;
}

/** An agent's question to the analyst: its options as buttons, or free text. */
class QuestionPanel {
  constructor(onAnswer) {
    this.onAnswer = onAnswer;
    this.current = null;
    this.root = h("section", {
      class: "card question",
      "aria-labelledby": "question-title",
      hidden: true,
    });
  }

  render(model) {
    const q = model.question;
    if (q === this.current) return;
    this.current = q;
    this.root.hidden = !q;
    if (!q) return this.root.replaceChildren();
    const input = h("input", {
      id: "answer-text",
      name: "answer",
      type: "text",
      autocomplete: "off",
    });
    const status = h("p", { class: "form-error", role: "alert" });
    const send = async (text) => {
      if (!text.trim()) {
        status.textContent = "Type an answer or pick an option.";
        return;
      }
      for (const b of this.root.querySelectorAll("button")) b.disabled = true;
      try {
        await this.onAnswer(q.agent, text.trim());
        status.textContent = "";
        this.root.replaceChildren(h("p", { role: "status" }, "Answer sent. The agent continues."));
      } catch (error) {
        status.textContent = `Could not send the answer: ${error.message}`;
        for (const b of this.root.querySelectorAll("button")) b.disabled = false;
      }
    };
    const form = h(
      "form",
      { class: "answer-form" },
      h("label", { for: "answer-text" }, "Your answer"),
      input,
      h("button", { type: "submit", class: "primary" }, "Send answer"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(input.value);
    });
    const expires = model.questionExpiry?.[q.agent];
    this.root.replaceChildren(
      h("h2", { id: "question-title" }, `${humanize(q.agent)} asks`),
      h("p", { class: "question-text" }, q.text),
      expires
        ? h(
            "p",
            { class: "question-expiry", dataset: { testid: "question-expiry" } },
            `Answer by ${formatDateTime(expires)}: after that the specialist goes on without an answer and its finding needs review.`,
          )
        : null,
      q.options.length
        ? h(
            "div",
            { class: "options", role: "group", "aria-label": "Suggested answers" },
            q.options.map((option) =>
              h(
                "button",
                { type: "button", class: "secondary", onclick: () => send(option) },
                option,
              ),
            ),
          )
        : null,
      form,
      status,
    );
  }
}
