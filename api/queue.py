"""The alert queue: one row per alert, whatever its runs, with the status a person acts on.

An alert's row joins three sources:
- the store (alerts not investigated yet are in the queue too);
- Temporal visibility of the investigation workflow — every run of a retried alert
  is its own execution there, so runs are folded into one row (the newest run's
  status, the first run's start as the alert's age);
- Temporal visibility of the case workflow, whose memo says who owns the case and
  what a person decided (so no workflow is queried per row).
Only a running investigation is asked (by Query) whether it waits for an answer,
because visibility cannot tell "working" from "awaiting input".

A canceled investigation completes its execution (so a retry can follow it); what
tells it apart from a completed one is the missing Disposition search attribute,
which the investigation sets only when it reaches a determination.

The queue is built per request and sorted/paged in memory, fine for the thousands of
open alerts of one desk; `MAX_EXECUTIONS` bounds what one request reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio.client import WorkflowExecution, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from api.investigations import (
    InvestigationNotFound,
    Investigations,
    TemporalUnavailable,
    translate_rpc_error,
    workflow_id_for,
)
from surveil.models import Alert
from surveil.tasks import TaskState
from workflows import admission as wf_admission
from workflows import case as wf_case

MAX_EXECUTIONS = 5000
QUERY_CONCURRENCY = 8

TENANT = SearchAttributeKey.for_keyword("Tenant")
ALERT_TYPE = SearchAttributeKey.for_keyword("AlertType")
ACCOUNT = SearchAttributeKey.for_keyword("AccountId")
INSTRUMENT = SearchAttributeKey.for_keyword("Instrument")
DISPOSITION = SearchAttributeKey.for_keyword("Disposition")


class CaseStatus(StrEnum):
    not_investigated = "not_investigated"
    queued = "queued"  # waiting for one of the tenant's slots (workflows/admission.py)
    running = "running"
    awaiting_input = "awaiting_input"  # a specialist asked a question
    awaiting_review = "awaiting_review"  # finished, nobody decided yet
    awaiting_approval = "awaiting_approval"  # decided, waiting for the second person
    escalated = "escalated"
    closed = "closed"
    failed = "failed"  # failed, timed out or terminated
    canceled = "canceled"


DECIDED = frozenset({CaseStatus.escalated, CaseStatus.closed})


class QueueSort(StrEnum):
    newest = "newest"
    oldest = "oldest"
    id = "id"
    status = "status"


@dataclass
class Run:
    """The investigation of one alert, folded over its runs."""

    status: WorkflowExecutionStatus | None
    type: str | None
    account: str | None
    instrument: str | None
    disposition: str | None
    first_started: datetime
    last_started: datetime
    closed_at: datetime | None
    runs: int = 1


@dataclass
class Row:
    id: str
    status: CaseStatus
    type: str | None
    account: str | None
    instrument: str | None
    recommendation: str | None
    owner: str | None = None
    verdict: str | None = None
    outcome: str | None = None
    override: bool = False
    decided_by: str | None = None
    runs: int = 0
    created_at: datetime | None = None
    closed_at: datetime | None = None
    question_agent: str | None = None
    queue_position: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def age_s(self, now: datetime) -> float | None:
        return (now - self.created_at).total_seconds() if self.created_at else None

    def json(self, now: datetime, sla: timedelta) -> dict[str, Any]:
        age = self.age_s(now)
        return {
            "id": self.id,
            "status": self.status.value,
            "type": self.type,
            "account": self.account,
            "instrument": self.instrument,
            "recommendation": self.recommendation,
            # The old listing's name for the agents' recommendation, kept for clients.
            "disposition": self.recommendation,
            "owner": self.owner,
            "verdict": self.verdict,
            "outcome": self.outcome,
            "override": self.override,
            "decided_by": self.decided_by,
            "runs": self.runs,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.created_at),
            "closed_at": _iso(self.closed_at),
            "age_s": round(age) if age is not None else None,
            "sla_breached": bool(
                age is not None and self.status not in DECIDED and age > sla.total_seconds()
            ),
            "question_agent": self.question_agent,
            "queue_position": self.queue_position,
        }


def fold_runs(executions: Iterable[WorkflowExecution], prefix: str) -> dict[str, Run]:
    """alert id -> its investigation, one entry however many runs it had."""
    runs: dict[str, Run] = {}
    for execution in executions:
        alert_id = execution.id.removeprefix(prefix)
        attrs = execution.typed_search_attributes
        started = execution.start_time
        known = runs.get(alert_id)
        if known is None or started > known.last_started:
            run = Run(
                status=execution.status,
                type=attrs.get(ALERT_TYPE),
                account=attrs.get(ACCOUNT),
                instrument=attrs.get(INSTRUMENT),
                disposition=attrs.get(DISPOSITION),
                first_started=min(started, known.first_started) if known else started,
                last_started=started,
                closed_at=execution.close_time,
                runs=(known.runs + 1) if known else 1,
            )
            runs[alert_id] = run
        else:
            known.runs += 1
            known.first_started = min(known.first_started, started)
    return runs


def investigation_status(run: Run, waiting: bool) -> CaseStatus:
    status = run.status
    if status in (None, WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return CaseStatus.awaiting_input if waiting else CaseStatus.running
    if status == WorkflowExecutionStatus.COMPLETED:
        # Completed without a determination = canceled (see the module docstring).
        return CaseStatus.awaiting_review if run.disposition else CaseStatus.canceled
    if status == WorkflowExecutionStatus.CANCELED:
        return CaseStatus.canceled
    return CaseStatus.failed


def build_rows(
    stored: list[Alert],
    runs: dict[str, Run],
    cases: dict[str, dict[str, Any]],
    waiting: dict[str, str],
    queued: dict[str, int] | None = None,
) -> list[Row]:
    """Join the three sources into one row per alert (see the module docstring).

    `cases`: alert id -> the case workflow's memo; `waiting`: alert id -> the agent
    whose question a running investigation waits on; `queued`: alert id -> its place
    in the tenant's admission queue."""
    queued = queued or {}
    rows: dict[str, Row] = {}
    for alert in stored:
        rows[alert.id] = Row(
            id=alert.id, status=CaseStatus.not_investigated, type=alert.type.value,
            account=alert.account, instrument=alert.instrument, recommendation=None,
            created_at=_aware(alert.window_end),
        )  # fmt: skip
    for alert_id, run in runs.items():
        rows[alert_id] = Row(
            id=alert_id,
            status=investigation_status(run, alert_id in waiting),
            type=run.type, account=run.account, instrument=run.instrument,
            recommendation=run.disposition, runs=run.runs, created_at=run.first_started,
            closed_at=run.closed_at, question_agent=waiting.get(alert_id),
        )  # fmt: skip
        if alert_id in queued and rows[alert_id].status == CaseStatus.running:
            rows[alert_id].status = CaseStatus.queued
            rows[alert_id].queue_position = queued[alert_id]
    for alert_id, memo in cases.items():
        row = rows.get(alert_id)
        if row is None:
            continue  # a case of an alert neither stored nor investigated: nothing to show
        row.owner = memo.get("owner")
        row.verdict = memo.get("verdict")
        row.outcome = memo.get("outcome")
        row.override = bool(memo.get("override"))
        row.decided_by = memo.get("decided_by")
        if memo.get("case_status"):
            row.status = CaseStatus(memo["case_status"])
    return list(rows.values())


@dataclass
class QueueFilter:
    status: CaseStatus | None = None
    type: str | None = None
    recommendation: str | None = None
    search: str | None = None
    assigned_to: str | None = None  # "assigned to me"
    awaiting_input_of: str | None = None  # "awaiting my input": mine or nobody's
    sla_breached: bool | None = None

    def keep(self, row: Row, now: datetime, sla: timedelta) -> bool:
        if self.status is not None and row.status != self.status:
            return False
        if self.type is not None and row.type != self.type:
            return False
        if self.recommendation is not None and row.recommendation != self.recommendation:
            return False
        if self.search:
            needle = self.search.casefold()
            haystack = (row.id, row.account or "", row.instrument or "")
            if not any(needle in value.casefold() for value in haystack):
                return False
        if self.assigned_to is not None and row.owner != self.assigned_to:
            return False
        if self.awaiting_input_of is not None and not (
            row.status == CaseStatus.awaiting_input and row.owner in (None, self.awaiting_input_of)
        ):
            return False
        if self.sla_breached is not None:
            breached = row.json(now, sla)["sla_breached"]
            if breached != self.sla_breached:
                return False
        return True


_STATUS_ORDER = {s: i for i, s in enumerate(CaseStatus)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sort_rows(rows: list[Row], order: QueueSort) -> list[Row]:
    if order == QueueSort.id:
        return sorted(rows, key=lambda r: r.id)
    if order == QueueSort.status:
        return sorted(rows, key=lambda r: (_STATUS_ORDER[r.status], r.id))
    newest_first = order == QueueSort.newest
    return sorted(rows, key=lambda r: (r.created_at or _EPOCH, r.id), reverse=newest_first)


class Queue:
    """Reads the three sources for one tenant."""

    def __init__(self, investigations: Investigations) -> None:
        self.investigations = investigations

    async def rows(self, tenant: str, stored: list[Alert]) -> list[Row]:
        investigation_runs, case_memos = await asyncio.gather(
            self._list(
                f"WorkflowType = 'AlertInvestigationWorkflow' AND Tenant = {_quote(tenant)}"
            ),
            self._list(f"WorkflowType = '{wf_case.WORKFLOW_TYPE}' AND Tenant = {_quote(tenant)}"),
        )
        runs = fold_runs(investigation_runs, workflow_id_for(tenant, ""))
        case_prefix = wf_case.case_workflow_id(tenant, "")
        cases: dict[str, dict[str, Any]] = {}
        for execution in case_memos:  # newest first: keep the current run's memo
            alert_id = execution.id.removeprefix(case_prefix)
            if alert_id not in cases:
                cases[alert_id] = dict(await execution.memo())
        queued = await self._queued(tenant)
        running = [
            alert_id
            for alert_id, run in runs.items()
            if investigation_status(run, waiting=False) == CaseStatus.running
            and alert_id not in queued  # waits for a slot: cannot be asking anything
        ]
        waiting = await self._waiting(tenant, running)
        return build_rows(stored, runs, cases, waiting, queued)

    async def _queued(self, tenant: str) -> dict[str, int]:
        """alert id -> place in the tenant's admission queue: one Query for all of them
        (no admission workflow: no cap, or nothing queued lately)."""
        client = await self.investigations.client()
        handle = client.get_workflow_handle(wf_admission.admission_workflow_id(tenant))
        try:
            state = await handle.query(
                wf_admission.STATE_QUERY, result_type=wf_admission.AdmissionState
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return {}
            if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                # Too busy admitting a backlog to answer now: the rows show "running".
                return {}
            raise translate_rpc_error(exc) from exc
        except WorkflowQueryFailedError:  # it ended (idle) between listing and asking
            return {}
        prefix = workflow_id_for(tenant, "")
        return {wid.removeprefix(prefix): n for n, wid in enumerate(state.queue, start=1)}

    async def _list(self, query: str) -> list[WorkflowExecution]:
        client = await self.investigations.client()
        try:
            return [e async for e in client.list_workflows(query, limit=MAX_EXECUTIONS)]
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc

    async def _waiting(self, tenant: str, alert_ids: list[str]) -> dict[str, str]:
        """Which running investigations wait for an answer (alert id -> agent)."""
        gate = asyncio.Semaphore(QUERY_CONCURRENCY)

        async def question(alert_id: str) -> tuple[str, str | None]:
            async with gate:
                try:
                    snapshot = await self.investigations.snapshot(tenant, alert_id)
                except (InvestigationNotFound, TemporalUnavailable, RPCError):
                    return alert_id, None  # just closed, or too busy to say: shown as running
            asked = snapshot.state == TaskState.input_required or snapshot.question is not None
            return alert_id, snapshot.question.agent if asked and snapshot.question else None

        answers = await asyncio.gather(*(question(a) for a in alert_ids))
        return {alert_id: agent for alert_id, agent in answers if agent}


def _quote(value: str) -> str:
    if not value.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"unsafe value in visibility query: {value!r}")
    return f"'{value}'"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
