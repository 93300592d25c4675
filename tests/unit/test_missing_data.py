"""Missing data is said out loud: evidence can be unknown, an unknown that could change
the outcome holds the alert for review, and the narrative names what is missing."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.disposition import decide, unknowns_that_matter
from agents.offline_model import OfflineAnalystModel
from agents.prompts import specialist_messages, synthesis_messages
from agents.tools import insider_trading as insider
from agents.tools.specialist import review_reasons
from surveil.models import Alert, Disposition, Evidence, EvidenceState, Finding, Specialist
from surveil.settings import Thresholds

T = Thresholds(escalate_score=0.7, close_score=0.3)
ALERT = Alert(id="A-9", type="insider_trading", account="ACC1", instrument="ACME",
              window_start=datetime(2024, 3, 1, tzinfo=UTC),
              window_end=datetime(2024, 3, 12, tzinfo=UTC))  # fmt: skip
NO_PRICES = "no price bars between 2024-03-08 20:55 UTC and the announcement (ACME)"


def known(name: str, crossed: bool) -> Evidence:
    return Evidence(name=name, value=1.0, threshold=1.0, passed=crossed)


def unknown(name: str) -> Evidence:
    return Evidence.missing_data(name, 3.0, NO_PRICES, unit="sigma")


def ceo_linked_position_without_prices() -> list[Evidence]:
    """The reported case: a CEO-linked unusual position, no prices around the news."""
    return [
        known(insider.MATERIAL_ANNOUNCEMENT, True),
        unknown(insider.ABNORMAL_RETURN),
        known(insider.POSITION_BUILD_UP, True),
        known(insider.TRADE_TIMING, True),
        Evidence.missing_data(insider.TRADING_PROFIT, 10_000, NO_PRICES, unit="currency"),
        known(insider.INSIDER_LINK, True),
    ]


def test_evidence_has_three_states_and_old_json_still_reads() -> None:
    assert known("x", True).state == EvidenceState.crossed
    assert known("x", False).state == EvidenceState.not_crossed
    gap = unknown("x")
    assert (gap.state, gap.passed, gap.value, gap.missing) == (
        EvidenceState.unknown, False, None, NO_PRICES)  # fmt: skip
    old = {"name": "x", "value": 2.0, "threshold": 1.0, "passed": True}  # before `state`
    assert Evidence.model_validate(old).state == EvidenceState.crossed
    assert Evidence.model_validate_json(gap.model_dump_json()) == gap


def test_an_unknown_price_move_that_could_change_the_outcome_matters() -> None:
    evidence = ceo_linked_position_without_prices()
    assert insider.score_insider(evidence) < T.close_score  # what a "not crossed" reading gave
    mattering = unknowns_that_matter(evidence, insider.score_insider, T)
    assert {e.name for e in mattering} == {insider.ABNORMAL_RETURN, insider.TRADING_PROFIT}


def test_an_unknown_that_cannot_change_the_outcome_does_not_hold_the_alert() -> None:
    # No announcement at all: whatever the profit was, there was nothing to trade on.
    evidence = [known(insider.MATERIAL_ANNOUNCEMENT, False), known(insider.ABNORMAL_RETURN, False),
                Evidence.missing_data(insider.TRADING_PROFIT, 10_000, NO_PRICES)]  # fmt: skip
    assert unknowns_that_matter(evidence, insider.score_insider, T) == []
    assert review_reasons(evidence, insider.score_insider, [], T) == []


def test_missing_data_never_closes_the_alert_and_the_reasons_name_it() -> None:
    evidence = ceo_linked_position_without_prices()
    reasons = review_reasons(evidence, insider.score_insider, [], T)
    finding = Finding(specialist=Specialist.insider_trading, score=insider.score_insider(evidence),
                      evidence=evidence, needs_review=True, review_reasons=reasons)  # fmt: skip
    disposition, _, why = decide(ALERT, [finding], T)
    assert disposition == Disposition.needs_review
    assert "abnormal_return is unknown: " + NO_PRICES in why[0]


def test_a_data_gap_holds_the_finding_whatever_it_scores() -> None:
    gap = "account ACC1 is not in the store, so its owner and its links are unknown"
    assert review_reasons([known("x", False)], insider.score_insider, [gap], T) == [gap]


def test_the_narratives_say_which_data_is_missing_and_never_close() -> None:
    evidence = ceo_linked_position_without_prices()
    reasons = review_reasons(evidence, insider.score_insider, [], T)
    model = OfflineAnalystModel()
    specialist_text = str(
        model.invoke(specialist_messages("insider_trading", ALERT, evidence, 0.2, reasons)).content
    )
    assert f"abnormal_return is unknown: {NO_PRICES}." in specialist_text
    assert "cannot be closed" in specialist_text
    assert "false positive" not in specialist_text
    finding = Finding(specialist=Specialist.insider_trading, score=0.2, evidence=evidence,
                      needs_review=True, review_reasons=reasons)  # fmt: skip
    disposition, confidence, why = decide(ALERT, [finding], T)
    text = str(
        model.invoke(synthesis_messages(ALERT, [finding], disposition, confidence, why)).content
    )
    assert "NEEDS REVIEW" in text
    assert f"abnormal_return (missing {NO_PRICES})" in text
    assert "no further action" not in text
