"""The evidence pack as HTML and as PDF (fpdf2), from one `EvidencePack`.

Both renderings list the same sections in the same order: the alert and its data
window, the agents' recommendation (marked as such, with the model that wrote the
narrative), each finding's evidence table and chart, the person's decision, the
audit trail, and the stream digest that ties the pack to the record.

Evidence states are said in words ("suspicious", "not suspicious", "unknown — what
is missing"), never as pass/fail marks whose meaning a reader has to guess.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from api.evidence_pack import EvidencePack
from surveil.models import Evidence, EvidenceState, Finding
from surveil.settings import get_settings
from surveil.tasks import TaskSnapshot
from surveil.usage import describe_usage

EVIDENCE_WORDS = {
    EvidenceState.crossed: "suspicious",
    EvidenceState.not_crossed: "not suspicious",
    EvidenceState.unknown: "unknown",
}
DISPOSITION_WORDS = {
    "escalate": "Escalate",
    "close_false_positive": "Close (false positive)",
    "needs_review": "Needs review",
}


def evidence_result(e: Evidence) -> str:
    words = EVIDENCE_WORDS[e.state]
    return f"{words}: {e.missing}" if e.state == EvidenceState.unknown and e.missing else words


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if moment else "—"


def decision_lines(pack: EvidencePack) -> list[tuple[str, str]]:
    d = pack.case.decision
    if d is None:
        return [
            (
                "Decision",
                "No decision recorded yet: the determination above is only a recommendation.",
            )
        ]
    verdict = d.verdict.value + (f" ({d.outcome.value.replace('_', ' ')})" if d.outcome else "")
    lines = [
        ("Decision", verdict),
        ("Decided by", f"{d.user} ({d.role.value}), {_when(d.at)}"),
        ("Comment", d.comment),
        ("Recommendation", DISPOSITION_WORDS.get(d.recommendation or "", "none")),
        ("Override", "yes: differs from the recommendation" if d.override else "no"),
    ]
    if d.needs_approval:
        approval = (
            f"{d.approved_by}, {_when(d.approved_at)}" if d.approved_by else "awaiting approval"
        )
        lines.append(("Four-eyes approval", approval))
        if d.approval_comment:
            lines.append(("Approval comment", d.approval_comment))
    return lines


def alert_lines(pack: EvidencePack) -> list[tuple[str, str]]:
    s = pack.snapshot
    a = s.alert
    return [
        ("Alert", a.id),
        ("Tenant", a.tenant),
        ("Type", a.type.value.replace("_", " ")),
        ("Account", a.account),
        ("Instrument", a.instrument),
        ("Data window", f"{_when(a.window_start)} to {_when(a.window_end)}"),
        ("Description", a.description or "—"),
        ("Investigation", f"{s.state.value}, run {s.run}" + (f" ({s.error})" if s.error else "")),
        ("Owner", pack.case.owner or "nobody"),
    ]


def digest_lines(pack: EvidencePack) -> list[tuple[str, str]]:
    d = pack.digest
    return [
        ("Last offset", str(d.last_offset)),
        ("Events hashed", str(d.events)),
        ("SHA-256", d.sha256),
        ("Generated", f"{_when(pack.generated_at)} for {pack.generated_by}"),
    ]


# -- HTML -----------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1f24}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f8}.suspicious{color:#a4161a;font-weight:600}.unknown{color:#8a5a00;font-weight:600}
.recommendation{background:#fff8e1;border-left:4px solid #e0a800;padding:.5rem 1rem}.mono{font-family:monospace;word-break:break-all}
svg{background:#fafbfc;border:1px solid #ccd}
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _facts(rows: Iterable[tuple[str, str]], cls: str = "") -> str:
    body = "".join(
        f"<tr><th scope='row'>{_esc(k)}</th><td class='{cls}'>{_esc(v)}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _evidence_html(evidence: list[Evidence]) -> str:
    rows = "".join(
        f"<tr><td>{_esc(e.name.replace('_', ' '))}<br><small>{_esc(e.description)}</small></td>"
        f"<td>{_esc(_value(e.value, e.unit))}</td><td>{_esc(_value(e.threshold, e.unit))}</td>"
        f"<td class='{EVIDENCE_WORDS[e.state].replace(' ', '-')}'>{_esc(evidence_result(e))}</td></tr>"
        for e in evidence
    )
    return (
        "<table><thead><tr><th>Evidence</th><th>Value</th><th>Threshold</th><th>Result</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def chart_svg(chart: dict[str, Any] | None, width: int = 720, height: int = 220) -> str:
    """Closing prices as a line (a gap between trading days stays a gap), the account's
    trades as markers (buys ▲ green, sells ▼ red), the announcement as a dashed line."""
    chart = chart or {}
    points = [(datetime.fromisoformat(t), float(p)) for t, p in chart.get("prices", [])]
    if len(points) < 2:
        return ""
    trades = [
        (datetime.fromisoformat(t["ts"]), float(t["price"]), t["side"])
        for t in chart.get("trades", [])
    ]
    t0, t1 = points[0][0], points[-1][0]
    prices = [p for _, p in points] + [p for _, p, _ in trades]
    lo, hi = min(prices), max(prices)
    span_t = (t1 - t0).total_seconds() or 1
    span_p = (hi - lo) or 1
    pad = 30

    def xy(t: datetime, p: float) -> tuple[float, float]:
        x = pad + (t - t0).total_seconds() / span_t * (width - 2 * pad)
        y = height - pad - (p - lo) / span_p * (height - 2 * pad)
        return round(x, 1), round(y, 1)

    segments, current = [], [points[0]]
    for prev, point in zip(points, points[1:], strict=False):
        if (point[0] - prev[0]).total_seconds() > 6 * 3600:  # overnight: no line across it
            segments.append(current)
            current = []
        current.append(point)
    segments.append(current)
    parts = [
        f"<polyline fill='none' stroke='#1f5fbf' stroke-width='1.5' points='{' '.join(f'{x},{y}' for x, y in (xy(t, p) for t, p in seg))}'/>"
        for seg in segments
    ]
    for t, p, side in trades:
        x, y = xy(t, p)
        shape = (
            f"{x - 4},{y + 4} {x + 4},{y + 4} {x},{y - 4}"
            if side == "buy"
            else f"{x - 4},{y - 4} {x + 4},{y - 4} {x},{y + 4}"
        )
        parts.append(
            f"<polygon points='{shape}' fill='{'#2e7d32' if side == 'buy' else '#c62828'}'/>"
        )
    if chart.get("announcement"):
        x, _ = xy(datetime.fromisoformat(chart["announcement"]["ts"]), lo)
        parts.append(
            f"<line x1='{x}' y1='{pad}' x2='{x}' y2='{height - pad}' stroke='#6a1b9a' stroke-dasharray='4 3'/>"
        )
    label = f"{_when(t0)} to {_when(t1)} (UTC); price {lo:,.2f} to {hi:,.2f}"
    return (
        f"<figure><svg role='img' aria-label='Price chart' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
        + "".join(parts)
        + f"</svg><figcaption>{_esc(label)}. Line: close price; ▲ buys, ▼ sells of the account; dashed: announcement.</figcaption></figure>"
    )


def _finding_html(f: Finding) -> str:
    review = ""
    if f.needs_review:
        reasons = (
            "".join(f"<li>{_esc(r)}</li>" for r in f.review_reasons)
            or "<li>a question went unanswered</li>"
        )
        review = f"<p class='unknown'>Needs review:</p><ul>{reasons}</ul>"
    return (
        f"<h3>{_esc(f.specialist.value.replace('_', ' ').capitalize())} — score {f.score:.0%}</h3>"
        f"<p>{_esc(f.summary)}</p>{review}{_evidence_html(f.evidence)}{chart_svg(f.chart)}"
    )


def _usage_line(snapshot: TaskSnapshot) -> str:
    """What the investigation's LLM calls used and cost (surveil/usage.py)."""
    return describe_usage(snapshot.usage, get_settings().llm_price_currency)


def render_html(pack: EvidencePack) -> str:
    s = pack.snapshot
    d = s.determination
    if d:
        recommendation = (
            f"<div class='recommendation'><p><strong>Recommendation of the agents: "
            f"{_esc(DISPOSITION_WORDS[d.disposition.value])}</strong> (confidence {d.confidence:.0%}). "
            "A recommendation, not a decision.</p>"
            + "<ul>"
            + "".join(f"<li>{_esc(r)}</li>" for r in d.reasons)
            + "</ul>"
            f"<p><em>Narrative written by the model {_esc(d.narrative_model or 'unknown')}:</em></p>"
            f"<blockquote>{_esc(d.narrative)}</blockquote>"
            f"<p class='help'>{_esc(_usage_line(s))}</p></div>"
        )
    else:
        recommendation = (
            "<p>The agents reached no determination (the investigation did not complete).</p>"
        )
    findings = "".join(_finding_html(f) for f in s.findings) or "<p>No findings.</p>"
    audit_rows = "".join(
        f"<tr><td>{e.seq}</td><td>{_esc(_when(e.at))}</td><td>{_esc(e.user)} ({_esc(e.role.value)})</td>"
        f"<td>{_esc(e.action.value)}</td><td>{_esc(e.detail)}</td>"
        f"<td>{'' if e.run is None else e.run}</td><td>{'' if e.offset is None else e.offset}</td></tr>"
        for e in pack.case.audit
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Evidence pack {_esc(s.alert.id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Evidence pack — alert {_esc(s.alert.id)}</h1>"
        f"<h2>Alert</h2>{_facts(alert_lines(pack))}"
        f"<h2>Determination (recommendation)</h2>{recommendation}"
        f"<h2>Findings and evidence</h2>{findings}"
        f"<h2>Decision</h2>{_facts(decision_lines(pack))}"
        "<h2>Audit trail</h2><table><thead><tr><th>#</th><th>When</th><th>Who</th><th>Action</th>"
        f"<th>What</th><th>Run</th><th>Offset</th></tr></thead><tbody>{audit_rows}</tbody></table>"
        f"<h2>Stream digest</h2>{_facts(digest_lines(pack), 'mono')}"
        "<p><small>SHA-256 over each event from offset 0 to the last offset as "
        '"offset\\n" + the SSE data line + "\\n".</small></p>'
        "</body></html>"
    )


# -- PDF ------------------------------------------------------------------------------

_PDF_REPLACEMENTS = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "“": '"',
        "”": '"',
        "’": "'",
        "‘": "'",
        "…": "...",
        "▲": "^",
        "▼": "v",
        "≥": ">=",
        "≤": "<=",
        "→": "->",
    }
)


def _latin1(text: object) -> str:
    """The PDF's core fonts speak Latin-1: map the typographic characters we use and
    replace anything else visibly rather than fail."""
    return str(text).translate(_PDF_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.title_text = title
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(title)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 8, _latin1(f"{self.title_text} - page {self.page_no()}"), align="C")

    def heading(self, text: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=9)

    def para(self, text: str, style: str = "") -> None:
        self.set_font("Helvetica", style, 9)
        self.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=9)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        self.set_font("Helvetica", size=9)
        with self.table(
            col_widths=(35, 145), first_row_as_headings=False, headings_style=FontFace()
        ) as table:
            for key, value in rows:
                row = table.row()
                row.cell(_latin1(key))
                row.cell(_latin1(value))

    def grid(self, headings: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
        self.set_font("Helvetica", size=8)
        with self.table(col_widths=widths, headings_style=FontFace(emphasis="BOLD")) as table:
            table.row([_latin1(h) for h in headings])
            for values in rows:
                table.row([_latin1(v) for v in values])
        self.set_font("Helvetica", size=9)

    def chart(self, chart: dict[str, Any] | None) -> None:
        points = [(datetime.fromisoformat(t), float(p)) for t, p in (chart or {}).get("prices", [])]
        if len(points) < 2:
            return
        width, height = 180.0, 45.0
        if self.get_y() + height + 10 > self.h - 15:
            self.add_page()
        x0, y0 = self.l_margin, self.get_y() + 2
        t0, t1 = points[0][0], points[-1][0]
        lo, hi = min(p for _, p in points), max(p for _, p in points)
        span_t, span_p = (t1 - t0).total_seconds() or 1, (hi - lo) or 1

        def xy(t: datetime, p: float) -> tuple[float, float]:
            return (
                x0 + (t - t0).total_seconds() / span_t * width,
                y0 + height - (p - lo) / span_p * height,
            )

        self.set_draw_color(200, 200, 210)
        self.rect(x0, y0, width, height)
        self.set_draw_color(31, 95, 191)
        for prev, point in zip(points, points[1:], strict=False):
            if (point[0] - prev[0]).total_seconds() <= 6 * 3600:  # no line across a night
                self.line(*xy(*prev), *xy(*point))
        for trade in (chart or {}).get("trades", []):
            x, y = xy(datetime.fromisoformat(trade["ts"]), min(max(float(trade["price"]), lo), hi))
            self.set_fill_color(*((46, 125, 50) if trade["side"] == "buy" else (198, 40, 40)))
            self.rect(x - 0.8, y - 0.8, 1.6, 1.6, style="F")
        self.set_draw_color(0, 0, 0)
        self.set_y(y0 + height + 1)
        self.set_font("Helvetica", size=7)
        self.multi_cell(
            0,
            4,
            _latin1(
                f"Close price {lo:,.2f} to {hi:,.2f}, {_when(t0)} to {_when(t1)} (UTC); squares: the account's trades (green buys, red sells)."
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.set_font("Helvetica", size=9)


def render_pdf(pack: EvidencePack) -> bytes:
    s = pack.snapshot
    pdf = _Pdf(f"Evidence pack - alert {s.alert.id}")
    pdf.add_page()
    pdf.heading(f"Evidence pack - alert {s.alert.id}", 16)
    pdf.heading("Alert")
    pdf.facts(alert_lines(pack))
    pdf.heading("Determination (recommendation)")
    d = s.determination
    if d:
        pdf.para(
            f"Recommendation of the agents: {DISPOSITION_WORDS[d.disposition.value]} (confidence {d.confidence:.0%}). A recommendation, not a decision.",
            "B",
        )
        for reason in d.reasons:
            pdf.para(f"- {reason}")
        pdf.para(f"Narrative written by the model {d.narrative_model or 'unknown'}:", "I")
        pdf.para(d.narrative)
        pdf.para(_usage_line(s), "I")
    else:
        pdf.para("The agents reached no determination (the investigation did not complete).")
    pdf.heading("Findings and evidence")
    for f in s.findings:
        pdf.heading(
            f"{f.specialist.value.replace('_', ' ').capitalize()} - score {f.score:.0%}", 11
        )
        pdf.para(f.summary)
        if f.needs_review:
            pdf.para(
                "Needs review: " + ("; ".join(f.review_reasons) or "a question went unanswered"),
                "B",
            )
        if f.evidence:
            pdf.grid(
                ["Evidence", "Value", "Threshold", "Result"],
                [
                    [
                        e.name.replace("_", " "),
                        _value(e.value, e.unit),
                        _value(e.threshold, e.unit),
                        evidence_result(e),
                    ]
                    for e in f.evidence
                ],
                (60, 30, 30, 60),
            )
        pdf.chart(f.chart)
    pdf.heading("Decision")
    pdf.facts(decision_lines(pack))
    pdf.heading("Audit trail")
    pdf.grid(
        ["#", "When", "Who", "Action", "What", "Run", "Offset"],
        [
            [
                str(e.seq),
                _when(e.at),
                f"{e.user} ({e.role.value})",
                e.action.value,
                e.detail,
                "" if e.run is None else str(e.run),
                "" if e.offset is None else str(e.offset),
            ]
            for e in pack.case.audit
        ],  # fmt: skip
        (8, 32, 30, 18, 62, 12, 18),
    )
    pdf.heading("Stream digest")
    pdf.facts(digest_lines(pack))
    pdf.para(
        'SHA-256 over each event from offset 0 to the last offset as "offset\\n" + the SSE data line + "\\n".'
    )
    return bytes(pdf.output())
