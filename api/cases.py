"""The API's door to the case workflows (`workflows/case.py`): record, assign, decide,
approve, read.

Each action is an Update of the alert's case workflow, sent with update-with-start:
the first action on an alert starts its case. A rejected Update (the workflow's
validator said no) comes back as `CaseRefused` with the HTTP status it means.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import metrics
from api.auth import Principal
from api.investigations import translate_rpc_error
from surveil.cases import Action, CaseStart, CaseState, RecordInput
from surveil.settings import Settings
from workflows import case as wf_case

log = logging.getLogger("surveil.api.cases")

_TENANT = SearchAttributeKey.for_keyword("Tenant")
_STATUS_FOR = {wf_case.FORBIDDEN: 403, wf_case.INVALID: 422, wf_case.CONFLICT: 409}


class CaseRefused(Exception):
    """The case workflow refused the action; `status` is 403, 409 or 422."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Cases:
    def __init__(self, settings: Settings, client: Callable[[], Awaitable[Client]]) -> None:
        self.settings = settings
        self._client = client

    async def state(self, tenant: str, alert_id: str) -> CaseState:
        """The case, or an empty one if nobody has acted on the alert yet."""
        metrics.TEMPORAL_QUERIES.labels(query="case").inc()
        client = await self._client()
        handle = client.get_workflow_handle(wf_case.case_workflow_id(tenant, alert_id))
        try:
            return await handle.query(wf_case.CASE_QUERY, result_type=CaseState)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return CaseState(tenant=tenant, alert_id=alert_id)
            raise translate_rpc_error(exc) from exc

    async def record(
        self,
        person: Principal,
        alert_id: str,
        action: Action,
        detail: str,
        *,
        run: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Append an action done on the investigation (submit, cancel, answer, retry,
        re-run) to the alert's audit trail, once it was done."""
        await self.update(
            person.tenant, alert_id, wf_case.RECORD_UPDATE,
            RecordInput(actor=person.actor, action=action, detail=detail, run=run, offset=offset),
        )  # fmt: skip

    async def update(
        self, tenant: str, alert_id: str, name: str, inp: BaseModel, result_type: type = dict
    ) -> Any:
        """Send one action; starts the case workflow if it is the alert's first."""
        client = await self._client()
        workflow_id = wf_case.case_workflow_id(tenant, alert_id)
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            wf_case.WORKFLOW_TYPE,
            CaseStart(tenant=tenant, alert_id=alert_id),
            id=workflow_id,
            task_queue=self.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes([SearchAttributePair(_TENANT, tenant)]),
        )
        try:
            return await client.execute_update_with_start_workflow(
                name, inp, start_workflow_operation=start, result_type=result_type
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type in _STATUS_FOR:
                raise CaseRefused(_STATUS_FOR[cause.type], cause.message) from exc
            raise
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
