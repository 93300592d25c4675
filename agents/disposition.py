"""The disposition rule: what happens to an alert, decided from the findings' evidence.

The narrative never decides. A finding that needs the analyst (a question went
unanswered) holds the alert for review, unless another finding escalates on its own
evidence; otherwise the highest score decides against two named thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence

from surveil.models import Alert, Disposition, Evidence, Finding
from surveil.settings import Thresholds, get_thresholds


def _cite(evidence: Evidence) -> str:
    relation = "≥" if evidence.value >= evidence.threshold else "≤"
    unit = f" {evidence.unit}" if evidence.unit else ""
    return (
        f"{evidence.name} = {evidence.value:g}{unit} ({relation} threshold {evidence.threshold:g})"
    )


def _cited(finding: Finding) -> str:
    crossed = [e for e in finding.evidence if e.passed]
    return ", ".join(map(_cite, crossed)) if crossed else "no evidence crossed its threshold"


def _line(finding: Finding) -> str:
    return f"{finding.specialist} scored {finding.score:.2f}: {_cited(finding)}"


def decide(
    alert: Alert | None, findings: Sequence[Finding], thresholds: Thresholds | None = None
) -> tuple[Disposition, float, list[str]]:
    """(disposition, confidence 0..1, reasons citing evidence by name and value)."""
    thresholds = thresholds or get_thresholds()
    subject = f"alert {alert.id}" if alert else "the alert"
    if not findings:
        return Disposition.needs_review, 0.0, [f"no specialist finding for {subject}"]

    top = max(findings, key=lambda f: f.score)
    clear_escalations = [
        f for f in findings if not f.needs_review and f.score >= thresholds.escalate_score
    ]
    unresolved = [f for f in findings if f.needs_review]

    if clear_escalations:
        lead = max(clear_escalations, key=lambda f: f.score)
        reasons = [
            f"{_line(lead)}; at least the escalate score {thresholds.escalate_score:g}",
            *(
                f"{f.specialist} left a question open, but the escalation stands on its own"
                for f in unresolved
            ),  # fmt: skip
        ]
        return Disposition.escalate, round(lead.score, 4), reasons

    if unresolved:
        reasons = [
            f"{f.specialist} needs the analyst: a question went unanswered "
            f"(score {f.score:.2f} without the answer; {_cited(f)})"
            for f in unresolved
        ]
        return Disposition.needs_review, 0.5, reasons

    if top.score < thresholds.close_score:
        reasons = [
            f"{_line(f)}; below the close score {thresholds.close_score:g}" for f in findings
        ]
        return Disposition.close_false_positive, round(1.0 - top.score, 4), reasons

    reasons = [
        f"{_line(top)}; between the close score {thresholds.close_score:g} and the "
        f"escalate score {thresholds.escalate_score:g}"
    ]
    return Disposition.needs_review, 0.5, reasons
