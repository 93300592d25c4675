"""The pure rules of cases and the queue: what an override is, how runs fold into one row,
which status a person sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from api.queue import CaseStatus, QueueFilter, Run, build_rows, investigation_status
from surveil.cases import Outcome, Verdict, is_override
from surveil.models import Alert, AlertType, Disposition

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("recommendation", "verdict", "outcome", "override"),
    [
        (Disposition.escalate, Verdict.escalate, None, False),
        (Disposition.escalate, Verdict.close, Outcome.formal_action, True),
        (Disposition.close_false_positive, Verdict.close, Outcome.no_action, False),
        (Disposition.close_false_positive, Verdict.close, Outcome.informal_action, True),
        (Disposition.close_false_positive, Verdict.escalate, None, True),
        (Disposition.needs_review, Verdict.escalate, None, False),  # recommends nothing
        (None, Verdict.close, Outcome.no_action, False),
    ],
)
def test_an_override_is_a_decision_that_differs_from_the_recommendation(
    recommendation, verdict, outcome, override
) -> None:
    assert is_override(recommendation, verdict, outcome) is override


def run(status: WorkflowExecutionStatus, disposition: str | None = None, runs: int = 1) -> Run:
    return Run(
        status=status, type="wash_trade", account="ACC1", instrument="XYZ",
        disposition=disposition, first_started=T0, last_started=T0 + timedelta(hours=1),
        closed_at=None, runs=runs,
    )  # fmt: skip


def test_a_completed_run_without_a_determination_is_canceled_not_completed() -> None:
    assert (
        investigation_status(run(WorkflowExecutionStatus.COMPLETED), False) == CaseStatus.canceled
    )
    assert (
        investigation_status(run(WorkflowExecutionStatus.COMPLETED, "escalate"), False)
        == CaseStatus.awaiting_review
    )
    assert (
        investigation_status(run(WorkflowExecutionStatus.RUNNING), True)
        == CaseStatus.awaiting_input
    )
    assert investigation_status(run(WorkflowExecutionStatus.TIMED_OUT), False) == CaseStatus.failed


def test_one_row_per_alert_the_case_memo_wins_over_the_investigation() -> None:
    stored = [
        Alert(id="A1", type=AlertType.wash_trade, account="ACC1", instrument="XYZ",
              window_start=T0 - timedelta(days=1), window_end=T0),
        Alert(id="A2", type=AlertType.wash_trade, account="ACC2", instrument="XYZ",
              window_start=T0 - timedelta(days=1), window_end=T0),
    ]  # fmt: skip
    runs = {"A1": run(WorkflowExecutionStatus.COMPLETED, "escalate", runs=3)}
    cases = {"A1": {"owner": "alice", "case_status": "closed", "outcome": "no_action",
                    "override": True, "verdict": "close"}}  # fmt: skip
    rows = {r.id: r for r in build_rows(stored, runs, cases, waiting={})}
    assert len(rows) == 2
    assert rows["A1"].status == CaseStatus.closed and rows["A1"].runs == 3
    assert rows["A1"].created_at == T0  # the first run's start is the alert's age
    assert rows["A2"].status == CaseStatus.not_investigated and rows["A2"].runs == 0

    now, sla = T0 + timedelta(days=2), timedelta(hours=24)
    assert rows["A2"].json(now, sla)["sla_breached"] is True
    assert rows["A1"].json(now, sla)["sla_breached"] is False  # decided: no SLA
    mine = QueueFilter(assigned_to="alice")
    assert [r.id for r in rows.values() if mine.keep(r, now, sla)] == ["A1"]
    search = QueueFilter(search="acc2")
    assert [r.id for r in rows.values() if search.keep(r, now, sla)] == ["A2"]
