// The case of an alert: who owns it, what a person decided (the agents' determination
// is only a recommendation), the second person's approval, the audit trail, and the
// evidence pack. The rules are the API's (roles, mandatory comment, four-eyes); this
// view offers only what the signed-in person may do and shows the API's refusals.

import { api } from "../api.js";
import { formatDateTime, h, humanize, replaceChildren } from "../dom.js";
import { TERMINAL_STATES } from "../investigation-model.js";
import { session } from "../session.js";

const REFRESH_MS = 4000;
const OUTCOMES = ["no_action", "informal_action", "formal_action"];

/** Mirrors surveil/cases.py is_override: does the decision differ from the recommendation? */
export function isOverride(recommendation, verdict, outcome) {
  if (recommendation === "escalate") return verdict !== "escalate";
  if (recommendation === "close_false_positive") {
    return !(verdict === "close" && outcome === "no_action");
  }
  return false;
}

function decisionText(d) {
  return d.verdict === "close" ? `Close · ${humanize(d.outcome)}` : "Escalate";
}

export class CasePanel {
  constructor(alertId) {
    this.alertId = alertId;
    this.case = null;
    this.model = null;
    this.timer = null;
    this.stopped = false;
    this.person = session.person;
    this.message = h("p", { class: "form-error", role: "alert" });
    this.ownership = h("div", { class: "ownership" });
    this.decision = h("div", { class: "decision-area" });
    this.audit = h("tbody");
    this.reports = h(
      "div",
      { class: "actions" },
      h(
        "button",
        { type: "button", class: "secondary", onclick: () => this.#openReport("html") },
        "Evidence pack (HTML)",
      ),
      h(
        "button",
        { type: "button", class: "secondary", onclick: () => this.#openReport("pdf") },
        "Download PDF",
      ),
    );
    this.root = h(
      "section",
      { class: "card case", "aria-labelledby": "case-title", dataset: { testid: "case" } },
      h("h2", { id: "case-title" }, "Case"),
      this.ownership,
      this.decision,
      this.message,
      h("h3", {}, "Audit trail"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "audit", dataset: { testid: "audit" } },
          h("caption", { class: "visually-hidden" }, "Audit trail"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["#", "When", "Who", "Action", "What", "Run", "Offset"].map((c) =>
                h("th", { scope: "col" }, c),
              ),
            ),
          ),
          this.audit,
        ),
      ),
      h("h3", {}, "Evidence pack"),
      this.reports,
    );
  }

  get acting() {
    return this.person.role === "analyst" || this.person.role === "supervisor";
  }

  start() {
    this.refresh();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      const fresh = await api.getCase(this.alertId);
      // Re-render only on change: a form being filled in must not be rebuilt under the user.
      if (JSON.stringify(fresh) !== JSON.stringify(this.case)) {
        this.case = fresh;
        this.#render();
      }
    } catch (error) {
      this.message.textContent = `Could not load the case: ${error.message}`;
    }
    if (!this.stopped) this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  /** The investigation changed (the page's model): forms depend on whether it finished. */
  render(model) {
    const finishedBefore = this.model && TERMINAL_STATES.has(this.model.state);
    this.model = { state: model.state, recommendation: model.determination?.disposition };
    if (this.case && finishedBefore !== TERMINAL_STATES.has(model.state)) this.#render();
  }

  async #act(label, call) {
    this.message.textContent = "";
    for (const b of this.root.querySelectorAll("button")) b.disabled = true;
    try {
      this.case = await call();
      this.#render();
    } catch (error) {
      this.message.textContent = `Could not ${label}: ${error.message}`;
    } finally {
      for (const b of this.root.querySelectorAll("button")) b.disabled = false;
    }
  }

  async #openReport(format) {
    this.message.textContent = "";
    try {
      const blob = await api.report(this.alertId, format);
      const url = URL.createObjectURL(blob);
      const link = h("a", {
        href: url,
        download: `evidence-pack-${this.alertId}.${format}`,
        target: "_blank",
        rel: "noopener",
      });
      if (format === "html") link.removeAttribute("download");
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      this.message.textContent = `Could not get the evidence pack: ${error.message}`;
    }
  }

  #render() {
    const c = this.case;
    if (!c) return;
    this.root.dataset.status = c.status ?? "";
    // Forms are rebuilt when the case or the investigation changes; what the person
    // already typed or chose survives that.
    const kept = [...this.root.querySelectorAll("form [name]")].map((el) => [
      el.id || `${el.name}=${el.value}`,
      el.type === "radio" ? el.checked : el.value,
    ]);
    this.#renderOwnership(c);
    this.#renderDecision(c);
    for (const [key, value] of kept) {
      const el = this.root.querySelector(
        key.includes("=") ? `[name="${key.split("=")[0]}"][value="${key.split("=")[1]}"]` : `#${key}`,
      );
      if (!el) continue;
      if (el.type === "radio") el.checked = value;
      else el.value = value;
    }
    this.root.querySelector(".decision-form")?.dispatchEvent(new Event("change"));
    this.audit.replaceChildren(
      ...c.audit.map((e) =>
        h(
          "tr",
          { dataset: { action: e.action, user: e.user } },
          h("td", {}, String(e.seq)),
          h("td", {}, h("time", { datetime: e.at }, formatDateTime(e.at))),
          h("td", {}, `${e.user} (${e.role})`),
          h("td", {}, humanize(e.action)),
          h("td", { class: "audit-detail" }, e.detail),
          h("td", {}, e.run ?? ""),
          h("td", {}, e.offset ?? ""),
        ),
      ),
    );
  }

  #renderOwnership(c) {
    const me = this.person.user;
    const decided = c.decision?.final;
    const take =
      this.acting && !decided && c.owner !== me
        ? h(
            "button",
            {
              type: "button",
              class: "primary",
              onclick: () => this.#act("take ownership", () => api.assign(this.alertId)),
            },
            "Take ownership",
          )
        : null;
    let assign = null;
    if (this.person.role === "supervisor" && !decided) {
      const input = h("input", { id: "assignee", name: "assignee", autocomplete: "off" });
      assign = h(
        "form",
        {
          class: "inline-form",
          onsubmit: (event) => {
            event.preventDefault();
            const who = input.value.trim();
            if (who) this.#act("assign", () => api.assign(this.alertId, who));
          },
        },
        h("label", { for: "assignee" }, "Assign to"),
        input,
        h("button", { type: "submit", class: "secondary" }, "Assign"),
      );
    }
    replaceChildren(
      this.ownership,
      h(
        "p",
        { dataset: { testid: "owner" } },
        "Owner: ",
        h("strong", {}, c.owner ?? "nobody"),
        c.owner === me ? " (you)" : "",
      ),
      take,
      assign,
    );
  }

  #renderDecision(c) {
    const d = c.decision;
    if (d) {
      replaceChildren(this.decision, this.#decisionView(d));
      return;
    }
    const finished = this.model && TERMINAL_STATES.has(this.model.state);
    if (!this.acting) {
      replaceChildren(this.decision, h("p", { class: "help" }, "No decision yet."));
    } else if (!finished) {
      replaceChildren(
        this.decision,
        h("p", { class: "help" }, "A decision can be recorded when the investigation has finished."),
      );
    } else {
      replaceChildren(this.decision, this.#decisionForm());
    }
  }

  #decisionView(d) {
    const me = this.person.user;
    const waiting = d.needs_approval && !d.approved_by;
    let approve = null;
    if (waiting && this.person.role === "supervisor" && d.user !== me) {
      const comment = h("textarea", { id: "approval-comment", name: "comment", rows: 2 });
      const sendBack = h("button", { type: "button", class: "secondary" }, "Send back");
      sendBack.addEventListener("click", () => {
        if (!comment.value.trim()) {
          this.message.textContent = "Say why the decision is sent back.";
          comment.focus();
          return;
        }
        this.#act("send the decision back", () => api.sendBack(this.alertId, comment.value.trim()));
      });
      approve = h(
        "form",
        {
          class: "approval-form",
          onsubmit: (event) => {
            event.preventDefault();
            this.#act("approve", () => api.approve(this.alertId, comment.value.trim()));
          },
        },
        h("label", { for: "approval-comment" }, "Approval comment (optional; required to send back)"),
        comment,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", class: "primary" }, "Approve decision"),
          sendBack,
        ),
      );
    }
    return h(
      "div",
      { class: "decision", dataset: { testid: "decision" } },
      h(
        "p",
        {},
        h("span", { class: `badge verdict-${d.verdict}` }, decisionText(d)),
        d.override ? h("span", { class: "badge override" }, "Override of the recommendation") : null,
        waiting ? h("span", { class: "badge state-awaiting_approval" }, "Awaiting approval") : null,
      ),
      h("blockquote", { class: "decision-comment" }, d.comment),
      h(
        "p",
        { class: "help" },
        `Decided by ${d.user} (${d.role}), ${formatDateTime(d.at)}` +
          (d.recommendation ? ` · recommendation: ${humanize(d.recommendation)}` : ""),
      ),
      d.approved_by
        ? h(
            "p",
            { class: "help" },
            `Approved by ${d.approved_by}, ${formatDateTime(d.approved_at)}` +
              (d.approval_comment ? `: ${d.approval_comment}` : ""),
          )
        : null,
      waiting && !approve
        ? h("p", { class: "help" }, "Four-eyes: a supervisor other than the decider approves it.")
        : null,
      approve,
    );
  }

  #decisionForm() {
    const recommendation = this.model?.recommendation;
    const verdicts = ["escalate", "close"].map((v) =>
      h(
        "label",
        { class: "radio" },
        h("input", { type: "radio", name: "verdict", value: v, required: true }),
        ` ${humanize(v)}`,
      ),
    );
    const outcome = h(
      "select",
      { id: "decision-outcome", name: "outcome" },
      OUTCOMES.map((o) => h("option", { value: o }, humanize(o))),
    );
    const outcomeField = h(
      "div",
      { class: "field", hidden: true },
      h("label", { for: "decision-outcome" }, "Outcome"),
      outcome,
    );
    const comment = h("textarea", {
      id: "decision-comment",
      name: "comment",
      rows: 3,
      required: true,
      "aria-describedby": "decision-comment-help",
    });
    const warning = h("p", { class: "override-warning", role: "status" });
    const form = h(
      "form",
      { class: "decision-form", novalidate: true },
      h(
        "p",
        { class: "help" },
        recommendation
          ? `The agents recommend: ${humanize(recommendation)}. It is a recommendation; you decide.`
          : "The agents made no recommendation; you decide.",
      ),
      h("fieldset", {}, h("legend", {}, "Decision"), verdicts),
      outcomeField,
      h("label", { for: "decision-comment" }, "Comment (required)"),
      comment,
      h(
        "p",
        { id: "decision-comment-help", class: "help" },
        "Why: it is kept in the audit trail and the evidence pack.",
      ),
      warning,
      h("button", { type: "submit", class: "primary" }, "Record decision"),
    );
    const chosen = () => form.querySelector("input[name=verdict]:checked")?.value;
    const update = () => {
      const verdict = chosen();
      outcomeField.hidden = verdict !== "close";
      const override =
        verdict && isOverride(recommendation, verdict, verdict === "close" ? outcome.value : null);
      warning.textContent = override
        ? "This differs from the recommendation: it is recorded as an override."
        : "";
    };
    form.addEventListener("change", update);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const verdict = chosen();
      if (!verdict) {
        this.message.textContent = "Choose escalate or close.";
        return;
      }
      if (!comment.value.trim()) {
        this.message.textContent = "A decision needs a comment.";
        comment.setAttribute("aria-invalid", "true");
        comment.focus();
        return;
      }
      const body = { verdict, comment: comment.value.trim() };
      if (verdict === "close") body.outcome = outcome.value;
      this.#act("record the decision", () => api.decide(this.alertId, body));
    });
    return form;
  }
}
