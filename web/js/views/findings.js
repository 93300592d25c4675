// Findings as cards: score, summary, the evidence table (value vs threshold, and what
// it means: suspicious, not suspicious or unknown) and the evidence chart.

import { hasChartData, renderEvidenceChart } from "../charts.js";
import { h, humanize } from "../dom.js";

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 4 });

function formatValue(value, unit) {
  const text = typeof value === "number" ? number.format(value) : String(value ?? "—");
  return unit ? `${text} ${unit}` : text;
}

// Evidence is crossed (suspicious: the threshold was crossed, it supports the alert),
// not crossed (not suspicious), or unknown (its data is missing — never read as "not
// suspicious"). Findings from before `state` existed carry only `passed`.
function resultClass(e) {
  if (e.state === "unknown") return "unknown";
  return e.passed ? "suspicious" : "not-suspicious";
}

export function resultText(e) {
  if (e.state === "unknown") return `Unknown: ${e.missing || "data missing"}`;
  return e.passed ? "Suspicious" : "Not suspicious";
}

function evidenceTable(evidence) {
  return h(
    "table",
    { class: "evidence" },
    h("caption", { class: "visually-hidden" }, "Evidence"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Evidence", "Value", "Threshold", "Result"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      evidence.map((e) =>
        h(
          "tr",
          { class: resultClass(e), dataset: { evidence: e.name } },
          h(
            "th",
            { scope: "row", "data-label": "Evidence" },
            h("span", { class: "evidence-name" }, humanize(e.name)),
            e.description ? h("span", { class: "help" }, e.description) : null,
          ),
          h("td", { "data-label": "Value" }, formatValue(e.value, e.unit)),
          h("td", { "data-label": "Threshold" }, formatValue(e.threshold, e.unit)),
          h(
            "td",
            { "data-label": "Result" },
            h(
              "span",
              { class: `badge evidence-${resultClass(e)}` },
              resultText(e),
            ),
          ),
        ),
      ),
    ),
  );
}

const timeUtc = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "medium",
  timeZone: "UTC",
});

/** The account's trades the chart plots, as a table (the chart alone hides overlaps). */
function tradeTable(trades) {
  if (!trades.length) return null;
  return h(
    "details",
    { class: "trades" },
    h("summary", {}, `Trades plotted (${trades.length})`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "trade-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Time (UTC)", "Side", "Quantity", "Price", "Account", "Trade"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          trades.map((t) =>
            h(
              "tr",
              {},
              h("td", {}, Number.isNaN(Date.parse(t.ts)) ? t.ts : timeUtc.format(new Date(t.ts))),
              h("td", {}, humanize(t.side)),
              h("td", {}, number.format(t.qty)),
              h("td", {}, number.format(t.price)),
              h("td", {}, t.account ?? "—"),
              h("td", {}, t.trade_id ?? "—"),
            ),
          ),
        ),
      ),
    ),
  );
}

export class Findings {
  constructor() {
    this.cards = new Map(); // specialist -> {finding, root, chart}
    this.list = h("div", { class: "finding-list" });
    this.empty = h("p", { class: "help" }, "Findings appear here as each specialist finishes.");
    this.root = h(
      "section",
      { class: "findings", "aria-labelledby": "findings-title" },
      h("h2", { id: "findings-title" }, "Findings"),
      this.empty,
      this.list,
    );
  }

  render(model) {
    this.empty.hidden = model.findings.size > 0;
    for (const [specialist, finding] of model.findings) {
      const existing = this.cards.get(specialist);
      if (existing?.finding === finding) continue;
      const card = this.#card(finding, {
        start: model.alert?.window_start,
        end: model.alert?.window_end,
      });
      if (existing) {
        existing.chart?.destroy();
        existing.root.replaceWith(card.root);
      } else {
        this.list.append(card.root);
      }
      this.cards.set(specialist, card);
    }
  }

  #card(finding, alertWindow) {
    const titleId = `finding-${finding.specialist}-title`;
    const canvas = hasChartData(finding.chart)
      ? h("canvas", {
          role: "img",
          "aria-label": `Evidence chart for ${humanize(finding.specialist)}: prices, trades${
            finding.chart.announcement ? ", announcement" : ""
          }${finding.chart.round_trips?.length ? ", round-trip pairs" : ""}`,
        })
      : null;
    const root = h(
      "article",
      {
        class: "card finding",
        dataset: { specialist: finding.specialist },
        "aria-labelledby": titleId,
      },
      h(
        "header",
        { class: "finding-header" },
        h("h3", { id: titleId }, humanize(finding.specialist)),
        h(
          "span",
          { class: "score" },
          "Score ",
          h("strong", {}, `${Math.round(finding.score * 100)}%`),
          h("meter", { min: 0, max: 1, low: 0.3, high: 0.7, optimum: 0, value: finding.score }),
        ),
        finding.needs_review
          ? h("span", { class: "badge disposition-needs_review" }, "Needs review")
          : null,
      ),
      finding.summary ? h("p", { class: "finding-summary" }, finding.summary) : null,
      finding.evidence?.length ? evidenceTable(finding.evidence) : null,
      canvas ? h("div", { class: "chart-box" }, canvas) : null,
      tradeTable(finding.chart?.trades ?? []),
    );
    let chart = null;
    if (canvas) {
      try {
        chart = renderEvidenceChart(canvas, finding.chart, alertWindow);
      } catch (error) {
        canvas.replaceWith(h("p", { class: "form-error" }, `Chart unavailable: ${error.message}`));
      }
    }
    return { finding, root, chart };
  }

  destroy() {
    for (const card of this.cards.values()) card.chart?.destroy();
  }
}
