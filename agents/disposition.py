"""The disposition rule: what happens to an alert, decided from the findings' evidence.

The narrative never decides. A finding that needs the analyst (a question went
unanswered, or data is missing that could change the outcome) holds the alert for
review, unless another finding escalates on its own evidence; otherwise the highest
score decides against two named thresholds.

Missing data is the trap: an analytic that could not be computed must not count as
"not crossed", or an alert with no prices around the news closes as a false positive.
`unknowns_that_matter` scores every way the unknown evidence could have come out; when
the outcome is not the same in all of them, the finding cannot settle the alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

from surveil.models import Alert, Disposition, Evidence, EvidenceState, Finding
from surveil.settings import Thresholds, get_thresholds


def outcome_of(score: float, thresholds: Thresholds) -> Disposition:
    """What a finding with this score alone would lead to."""
    if score >= thresholds.escalate_score:
        return Disposition.escalate
    if score < thresholds.close_score:
        return Disposition.close_false_positive
    return Disposition.needs_review


def unknowns_that_matter(
    evidence: Sequence[Evidence],
    score: Callable[[list[Evidence]], float],
    thresholds: Thresholds,
) -> list[Evidence]:
    """The unknown evidence, when filling it in either way could change the outcome;
    [] when the outcome is the same however the unknowns would have come out."""
    unknown = [i for i, item in enumerate(evidence) if item.unknown]
    if not unknown:
        return []
    outcomes = set()
    for states in product((EvidenceState.crossed, EvidenceState.not_crossed), repeat=len(unknown)):
        filled = list(evidence)
        for index, state in zip(unknown, states, strict=True):
            filled[index] = filled[index].model_copy(
                update={"state": state, "passed": state == EvidenceState.crossed}
            )
        outcomes.add(outcome_of(score(filled), thresholds))
    return [evidence[i] for i in unknown] if len(outcomes) > 1 else []


def missing_reason(evidence: Evidence) -> str:
    """One reason line for an unknown: which fact, and which data it needs."""
    return f"{evidence.name} is unknown: {evidence.missing or 'its data is missing'}"


def _cite(evidence: Evidence) -> str:
    if evidence.value is None:
        return missing_reason(evidence)
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


def _review_line(finding: Finding) -> str:
    if finding.review_reasons:
        return (
            f"{finding.specialist} cannot settle the alert: {'; '.join(finding.review_reasons)} "
            f"(score {finding.score:.2f} with what is known; {_cited(finding)})"
        )
    return (
        f"{finding.specialist} needs the analyst: a question went unanswered "
        f"(score {finding.score:.2f} without the answer; {_cited(finding)})"
    )


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
                f"{f.specialist} left a question open or data missing, but the escalation "
                "stands on its own"
                for f in unresolved
            ),  # fmt: skip
        ]
        return Disposition.escalate, round(lead.score, 4), reasons

    if unresolved:
        reasons = [_review_line(f) for f in unresolved]
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
