// The alert queue: every investigation of the tenant, filtered, refreshed while open.

import { api } from "../api.js";
import { age, h, humanize } from "../dom.js";
import { renderSubmitForm } from "./submit-form.js";

const REFRESH_MS = 3000;

const FILTERS = [
  {
    name: "status",
    label: "Status",
    // The listing's statuses are Temporal execution statuses (api/investigations.py ListStatus).
    values: ["running", "completed", "failed", "canceled", "timed_out", "terminated"],
  },
  { name: "type", label: "Type", values: ["insider_trading", "wash_trade", "unknown"] },
  {
    name: "disposition",
    label: "Disposition",
    values: ["escalate", "close_false_positive", "needs_review"],
  },
];

export const alertHref = (id) => `#/alerts/${encodeURIComponent(id)}`;

/** Renders the queue into `main`; returns a function that stops its refresh. */
export function renderQueue(main, { navigate }) {
  const filters = {};
  const filterControls = FILTERS.map(({ name, label, values }) => {
    const select = h(
      "select",
      { id: `filter-${name}`, name },
      h("option", { value: "" }, "Any"),
      values.map((v) => h("option", { value: v }, humanize(v))),
    );
    select.addEventListener("change", () => {
      filters[name] = select.value;
      pages = 1;
      refresh();
    });
    return h("div", { class: "field" }, h("label", { for: `filter-${name}` }, label), select);
  });

  const body = h("tbody");
  const status = h("p", { class: "queue-status", role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const table = h(
    "table",
    { class: "queue-table" },
    h("caption", { class: "visually-hidden" }, "Investigations"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Alert", "Type", "Account", "Instrument", "Status", "Disposition", "Age"].map((c) =>
          h("th", { scope: "col" }, c),
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
        h("div", { class: "filters", role: "group", "aria-label": "Filters" }, filterControls),
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
      status.textContent = items.length ? "" : "No investigations match.";
    } catch (cause) {
      if (stopped || inFlight !== request) return;
      status.textContent = `Could not load the queue: ${cause.message}. Retrying…`;
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  function renderRows(items) {
    const now = Date.now();
    body.replaceChildren(
      ...items.map((item) =>
        h(
          "tr",
          { dataset: { alertId: item.id } },
          h(
            "td",
            { "data-label": "Alert", class: "alert-id" },
            h("a", { href: alertHref(item.id) }, item.id),
          ),
          h("td", { "data-label": "Type" }, humanize(item.type)),
          h("td", { "data-label": "Account" }, item.account),
          h("td", { "data-label": "Instrument" }, item.instrument),
          h(
            "td",
            { "data-label": "Status" },
            h("span", { class: `badge state-${item.status}` }, humanize(item.status)),
          ),
          h(
            "td",
            { "data-label": "Disposition" },
            item.disposition
              ? h(
                  "span",
                  { class: `badge disposition-${item.disposition}` },
                  humanize(item.disposition),
                )
              : "—",
          ),
          h(
            "td",
            { "data-label": "Age" },
            h(
              "time",
              { datetime: item.started_at, title: item.started_at },
              age(item.started_at, now),
            ),
          ),
        ),
      ),
    );
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
