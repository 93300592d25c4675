// The alert queue: one row per alert (whatever its runs), with the status a person acts
// on, filters, search, "assigned to me", "awaiting my input", age and the SLA flag.

import { api } from "../api.js";
import { age, h, humanize } from "../dom.js";
import { renderSubmitForm } from "./submit-form.js";

const REFRESH_MS = 3000;

// api/queue.py CaseStatus, in the order a desk works them.
export const CASE_STATUSES = [
  "not_investigated",
  "queued",
  "running",
  "awaiting_input",
  "awaiting_review",
  "awaiting_approval",
  "escalated",
  "closed",
  "failed",
  "canceled",
];

const FILTERS = [
  { name: "status", label: "Status", values: CASE_STATUSES },
  { name: "type", label: "Type", values: ["insider_trading", "wash_trade", "unknown"] },
  {
    name: "disposition",
    label: "Recommendation",
    values: ["escalate", "close_false_positive", "needs_review"],
  },
  { name: "sort", label: "Sort", values: ["newest", "oldest", "id", "status"], any: false },
];

const TOGGLES = [
  { name: "assigned_to_me", label: "Assigned to me" },
  { name: "awaiting_my_input", label: "Awaiting my input" },
  { name: "sla_breached", label: "Past SLA" },
];

export const alertHref = (id) => `#/alerts/${encodeURIComponent(id)}`;

/** "Closed · no action", "Escalated", "Awaiting input" … */
export function statusText(item) {
  const base = humanize(item.status);
  if (item.status === "queued" && item.queue_position) return `${base} · #${item.queue_position}`;
  return item.status === "closed" && item.outcome ? `${base} · ${humanize(item.outcome)}` : base;
}

/** Renders the queue into `main`; returns a function that stops its refresh. */
export function renderQueue(main, { navigate }) {
  const filters = { sort: "newest" };
  const filterControls = FILTERS.map(({ name, label, values, any = true }) => {
    const select = h(
      "select",
      { id: `filter-${name}`, name },
      any ? h("option", { value: "" }, "Any") : null,
      values.map((v) => h("option", { value: v }, humanize(v))),
    );
    select.addEventListener("change", () => {
      filters[name] = select.value;
      pages = 1;
      refresh();
    });
    return h("div", { class: "field" }, h("label", { for: `filter-${name}` }, label), select);
  });
  const search = h("input", {
    id: "filter-q",
    type: "search",
    name: "q",
    placeholder: "Alert, account or instrument",
    autocomplete: "off",
  });
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      filters.q = search.value.trim();
      pages = 1;
      refresh();
    }, 250);
  });
  const toggles = TOGGLES.map(({ name, label }) => {
    const box = h("input", { type: "checkbox", id: `filter-${name}`, name });
    box.addEventListener("change", () => {
      filters[name] = box.checked ? "true" : "";
      pages = 1;
      refresh();
    });
    return h("label", { class: "toggle", for: `filter-${name}` }, box, ` ${label}`);
  });

  const body = h("tbody");
  const status = h("p", { class: "queue-status", role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const table = h(
    "table",
    { class: "queue-table" },
    h("caption", { class: "visually-hidden" }, "Alerts"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Alert", "Type", "Account", "Instrument", "Status", "Recommendation", "Owner", "Age"].map(
          (c) => h("th", { scope: "col" }, c),
        ),
      ),
    ),
    body,
  );

  main.replaceChildren(
    h(
      "div",
      { class: "queue-layout" },
      h(
        "section",
        { class: "card queue", "aria-labelledby": "queue-title" },
        h("h1", { id: "queue-title" }, "Alert queue"),
        h(
          "div",
          { class: "filters", role: "group", "aria-label": "Filters" },
          h("div", { class: "field search" }, h("label", { for: "filter-q" }, "Search"), search),
          filterControls,
        ),
        h("div", { class: "toggles", role: "group", "aria-label": "Views" }, toggles),
        status,
        h("div", { class: "table-wrap" }, table),
        more,
      ),
      renderSubmitForm({ onSubmitted: (accepted) => navigate(alertHref(accepted.id)) }),
    ),
  );

  let pages = 1;
  let stopped = false;
  let timer = null;
  let inFlight = null;

  more.addEventListener("click", () => {
    pages += 1;
    refresh();
  });

  async function load() {
    const items = [];
    let token = null;
    for (let page = 0; page < pages; page++) {
      const result = await api.listAlerts({ ...filters, page_size: 50, next_page_token: token });
      items.push(...(result?.items ?? []));
      token = result?.next_page_token;
      if (!token) break;
    }
    return { items, hasMore: Boolean(token) };
  }

  async function refresh() {
    clearTimeout(timer);
    const request = load();
    inFlight = request;
    try {
      const { items, hasMore } = await request;
      if (stopped || inFlight !== request) return;
      renderRows(items);
      more.hidden = !hasMore;
      status.textContent = items.length ? "" : "No alerts match.";
    } catch (cause) {
      if (stopped || inFlight !== request) return;
      status.textContent = `Could not load the queue: ${cause.message}. Retrying…`;
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  async function investigate(id, button) {
    button.disabled = true;
    try {
      await api.submitAlert({ id });
      navigate(alertHref(id));
    } catch (cause) {
      button.disabled = false;
      status.textContent = `Could not start ${id}: ${cause.message}`;
    }
  }

  function renderRows(items) {
    const now = Date.now();
    body.replaceChildren(
      ...items.map((item) =>
        h(
          "tr",
          { dataset: { alertId: item.id, status: item.status } },
          h(
            "td",
            { "data-label": "Alert", class: "alert-id" },
            item.status === "not_investigated"
              ? h(
                  "span",
                  {},
                  item.id,
                  " ",
                  h(
                    "button",
                    {
                      type: "button",
                      class: "secondary small",
                      onclick: (event) => investigate(item.id, event.currentTarget),
                    },
                    "Start investigation",
                  ),
                )
              : h("a", { href: alertHref(item.id) }, item.id),
          ),
          h("td", { "data-label": "Type" }, humanize(item.type)),
          h("td", { "data-label": "Account" }, item.account),
          h("td", { "data-label": "Instrument" }, item.instrument),
          h(
            "td",
            { "data-label": "Status" },
            h("span", { class: `badge state-${item.status}` }, statusText(item)),
            item.override ? h("span", { class: "badge override" }, "Override") : null,
            item.runs > 1 ? h("span", { class: "help" }, ` ${item.runs} runs`) : null,
          ),
          h(
            "td",
            { "data-label": "Recommendation" },
            item.recommendation
              ? h(
                  "span",
                  { class: `badge disposition-${item.recommendation}` },
                  humanize(item.recommendation),
                )
              : "—",
          ),
          h("td", { "data-label": "Owner" }, item.owner ?? "—"),
          h(
            "td",
            { "data-label": "Age" },
            h(
              "time",
              { datetime: item.created_at, title: item.created_at },
              age(item.created_at, now),
            ),
            item.sla_breached
              ? h("span", { class: "badge sla-breached", title: "Undecided past the SLA" }, "SLA")
              : null,
          ),
        ),
      ),
    );
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(searchTimer);
  };
}
