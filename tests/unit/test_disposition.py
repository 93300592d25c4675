"""The disposition rule decides from the findings' scores and flags, and says why."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.disposition import decide
from surveil.models import Alert, Disposition, Evidence, Finding, Specialist
from surveil.settings import Thresholds

T = Thresholds(escalate_score=0.7, close_score=0.3)
ALERT = Alert(id="A-1", type="unknown", account="ACC1", instrument="ACME",
              window_start=datetime(2024, 3, 1, tzinfo=UTC),
              window_end=datetime(2024, 3, 2, tzinfo=UTC))  # fmt: skip


def finding(score: float, specialist: Specialist = Specialist.wash_trade, *,
            needs_review: bool = False) -> Finding:  # fmt: skip
    evidence = [
        Evidence(name="self_matches", value=6, threshold=1, passed=score >= 0.6, unit="trades"),
        Evidence(name="net_position_change", value=0.5, threshold=10, passed=True, unit="%"),
    ]
    return Finding(specialist=specialist, score=score, evidence=evidence, needs_review=needs_review)


def test_a_score_at_the_escalate_threshold_escalates_and_cites_its_evidence() -> None:
    disposition, confidence, reasons = decide(ALERT, [finding(0.7)], T)
    assert disposition == Disposition.escalate
    assert confidence == 0.7
    assert "self_matches = 6 trades" in reasons[0]
    assert "net_position_change = 0.5 %" in reasons[0]


def test_all_scores_below_the_close_threshold_close_as_false_positive() -> None:
    findings = [finding(0.2), finding(0.29, Specialist.insider_trading)]
    disposition, confidence, reasons = decide(ALERT, findings, T)
    assert disposition == Disposition.close_false_positive
    assert confidence == 0.71
    assert len(reasons) == 2


def test_a_score_between_the_thresholds_needs_review() -> None:
    assert decide(ALERT, [finding(0.3)], T)[0] == Disposition.needs_review
    assert decide(ALERT, [finding(0.69)], T)[0] == Disposition.needs_review


def test_an_unanswered_question_needs_review_even_with_a_low_score() -> None:
    disposition, _, reasons = decide(ALERT, [finding(0.1, needs_review=True)], T)
    assert disposition == Disposition.needs_review
    assert "unanswered" in reasons[0]


def test_a_clear_escalation_elsewhere_outweighs_an_open_question() -> None:
    findings = [finding(0.1, needs_review=True), finding(0.9, Specialist.insider_trading)]
    disposition, _, reasons = decide(ALERT, findings, T)
    assert disposition == Disposition.escalate
    assert reasons[0].startswith("insider_trading scored 0.90")


def test_a_high_score_with_an_open_question_is_not_a_clear_escalation() -> None:
    assert decide(ALERT, [finding(0.9, needs_review=True)], T)[0] == Disposition.needs_review


def test_no_findings_need_review() -> None:
    assert decide(ALERT, [], T) == (
        Disposition.needs_review,
        0.0,
        ["no specialist finding for alert A-1"],
    )
