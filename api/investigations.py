"""The API's one door to Temporal: start, inspect, steer and list investigations.

Every method takes the caller's tenant. The workflow id embeds it
(`alert-{tenant}-{alert_id}`, unambiguous since tenant names have no `-`), and every
read and action also checks the run's owner: the Tenant search attribute (or, before
the workflow set it, the tenant of its input), by a Describe. Ids made before tenant
names were validated could collide across tenants; the check keeps such a
collision from opening a door. An owner never changes, so each process checks a
workflow once and remembers it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api import logging as api_logging
from api import metrics
from api.fanout import SourceItem
from api.singleflight import SingleFlight
from surveil.models import Alert, AlertType, Disposition
from surveil.settings import Settings
from surveil.stream import NEXT_OFFSET_QUERY
from surveil.tasks import TERMINAL_TASK_STATES, Answer, TaskSnapshot
from workflows import client as wf_client
from workflows import investigation as wf

log = logging.getLogger("surveil.api.temporal")

TENANT = SearchAttributeKey.for_keyword("Tenant")
ALERT_TYPE = SearchAttributeKey.for_keyword("AlertType")
ACCOUNT = SearchAttributeKey.for_keyword("AccountId")
INSTRUMENT = SearchAttributeKey.for_keyword("Instrument")
DISPOSITION = SearchAttributeKey.for_keyword("Disposition")

WORKFLOW_TYPE = "AlertInvestigationWorkflow"
A2A_MESSAGE_MEMO = "a2a_message"


class TemporalUnavailable(Exception):
    """Temporal could not be reached or is shedding load (the API answers 503 + Retry-After)."""


class InvestigationNotFound(Exception):
    pass


class NotAllowedNow(Exception):
    """The request conflicts with the investigation's state (the API answers 409)."""


class ListStatus(StrEnum):
    """Filter values for listing; they map to Temporal execution statuses."""

    running = "running"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"
    timed_out = "timed_out"
    terminated = "terminated"


_EXECUTION_STATUS = {
    ListStatus.running: "Running",
    ListStatus.completed: "Completed",
    ListStatus.failed: "Failed",
    ListStatus.canceled: "Canceled",
    ListStatus.timed_out: "TimedOut",
    ListStatus.terminated: "Terminated",
}
_STATUS_NAME = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "canceled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}


@dataclass(frozen=True)
class Started:
    workflow_id: str
    run_id: str | None
    created: bool  # False: an investigation of this alert already existed


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    next_page_token: str | None


def workflow_id_for(tenant: str, alert_id: str) -> str:
    return wf.workflow_id_for(tenant, alert_id)


def bind_alert_logs(tenant: str, alert_id: str) -> None:
    """Name the alert and its investigation's workflow on every log line of this request."""
    api_logging.bind(alert_id=alert_id, workflow_id=workflow_id_for(tenant, alert_id))


# gRPC answers an oversized message with RESOURCE_EXHAUSTED too; that one is not load.
_MESSAGE_TOO_LARGE = "grpc: received message"


def is_unavailable(exc: BaseException) -> bool:
    """Temporal cannot serve this right now (down, slow, or shedding load): worth a retry."""
    if not isinstance(exc, RPCError):
        return False
    if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:  # e.g. "consistent query buffer is full"
        return not exc.message.startswith(_MESSAGE_TOO_LARGE)
    # The client's own deadline surfaces as CANCELLED "Timeout expired" (we never cancel
    # an RPC on purpose): a Query whose worker is too busy to answer in time.
    return exc.status in (
        RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED
    )  # fmt: skip


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND


class Investigations:
    def __init__(self, settings: Settings, *, page_token_key: bytes) -> None:
        self.settings = settings
        self._owners: OrderedDict[str, str] = OrderedDict()  # workflow id -> verified tenant
        self.page_tokens = PageTokens(page_token_key)
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._reads = SingleFlight()  # one Query per workflow at a time, however many callers

    async def client(self) -> Client:
        """Connect on first use, so the API starts (and reports 503) while Temporal is down."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(self._connect(), timeout=10)
                except Exception as exc:
                    raise TemporalUnavailable(
                        f"cannot reach Temporal at {self.settings.temporal_address}"
                    ) from exc
        return self._client

    async def _connect(self) -> Client:
        return await wf_client.connect(self.settings)

    async def ping(self) -> bool:
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=timedelta(seconds=3))
        except Exception:
            return False

    # -- one investigation ---------------------------------------------------

    async def start(self, alert: Alert, *, a2a_message: dict[str, Any] | None = None) -> Started:
        """`a2a_message`: the A2A message that asked for it, kept in the workflow's memo
        for the task's history (api/a2a_mapping.py)."""
        client = await self.client()
        workflow_id = workflow_id_for(alert.tenant, alert.id)
        attributes = TypedSearchAttributes([
            SearchAttributePair(TENANT, alert.tenant),
            SearchAttributePair(ALERT_TYPE, alert.type.value),
            SearchAttributePair(ACCOUNT, alert.account),
            SearchAttributePair(INSTRUMENT, alert.instrument),
        ])  # fmt: skip
        try:
            # USE_EXISTING: a second submission of the same alert attaches to the first;
            # REJECT_DUPLICATE: a finished one is not silently re-run (retry is explicit).
            handle = await client.start_workflow(
                WORKFLOW_TYPE,
                wf_client.investigation_input(alert, self.settings),
                id=workflow_id,
                task_queue=self.settings.temporal_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
                memo={A2A_MESSAGE_MEMO: a2a_message} if a2a_message else None,
            )
        except WorkflowAlreadyStartedError as exc:  # it ran and closed: same investigation
            await self._attachable(alert.tenant, workflow_id)
            return Started(workflow_id, exc.run_id, created=False)
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        # The SDK exposes the server's "started" flag only on the raw response.
        response = getattr(handle, "_start_workflow_response", None)
        created = bool(getattr(response, "started", True))
        if created:
            self._remember_owner(workflow_id, alert.tenant)
        else:
            await self._attachable(alert.tenant, workflow_id)
        return Started(workflow_id, handle.result_run_id, created=created)

    async def _attachable(self, tenant: str, workflow_id: str) -> None:
        """A submission that met an existing run may attach only to its own tenant's."""
        try:
            await self._check_owner(tenant, workflow_id)
        except InvestigationNotFound:
            raise NotAllowedNow("this alert id is taken; submit it under another id") from None

    # -- who owns a workflow -----------------------------------------------------

    OWNERS_REMEMBERED = 10_000

    def _remember_owner(self, workflow_id: str, tenant: str) -> None:
        self._owners[workflow_id] = tenant
        self._owners.move_to_end(workflow_id)
        while len(self._owners) > self.OWNERS_REMEMBERED:
            self._owners.popitem(last=False)

    async def _check_owner(self, tenant: str, workflow_id: str) -> None:
        """InvestigationNotFound unless the workflow exists and belongs to `tenant`."""
        if self._owners.get(workflow_id) == tenant:
            return
        owner = await self._reads.run(("owner", workflow_id), lambda: self._owner(workflow_id))
        if owner != tenant:
            raise InvestigationNotFound()
        self._remember_owner(workflow_id, tenant)

    async def _owner(self, workflow_id: str) -> str | None:
        description = await self._describe(workflow_id)
        owner = description.typed_search_attributes.get(TENANT)
        if owner is not None:
            return owner
        # Started without search attributes (`surveil submit`) and before its first
        # workflow task upserted them: the tenant of the alert it was started with.
        return await self._started_tenant(workflow_id, description.run_id)

    async def _started_tenant(self, workflow_id: str, run_id: str | None) -> str | None:
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            async for event in handle.fetch_history_events(page_size=1):
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                if not payloads:
                    return None
                [started] = await client.data_converter.decode(
                    payloads[:1], [wf.InvestigationInput]
                )
                return started.alert.tenant
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        return None

    async def snapshot(self, tenant: str, alert_id: str) -> TaskSnapshot:
        workflow_id = workflow_id_for(tenant, alert_id)
        await self._check_owner(tenant, workflow_id)
        return await self._reads.run(("snapshot", workflow_id), lambda: self._snapshot(workflow_id))

    async def _snapshot(self, workflow_id: str) -> TaskSnapshot:
        metrics.TEMPORAL_QUERIES.labels(query="snapshot").inc()
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id)
        try:
            return await handle.query(wf.SNAPSHOT_QUERY, result_type=TaskSnapshot)
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc

    async def a2a_message(self, tenant: str, alert_id: str) -> dict[str, Any] | None:
        """The A2A message that started the investigation (None: started otherwise)."""
        workflow_id = workflow_id_for(tenant, alert_id)
        await self._check_owner(tenant, workflow_id)
        description = await self._reads.run(
            ("describe", workflow_id), lambda: self._describe(workflow_id)
        )
        try:
            memo = await description.memo()
        except Exception as exc:  # an undecodable memo costs the history its first message
            log.warning("memo of %s unreadable: %s", workflow_id, exc)
            return None
        sent = memo.get(A2A_MESSAGE_MEMO)
        return sent if isinstance(sent, dict) else None

    async def ensure_exists(self, tenant: str, alert_id: str) -> None:
        """InvestigationNotFound unless the workflow exists and is this tenant's. A
        Describe is answered by Temporal's history service alone, where a Query waits
        for a worker: under load (a hundred busy investigations on two cores) Queries
        time out, Describes do not. Remembered per process after the first check."""
        await self._check_owner(tenant, workflow_id_for(tenant, alert_id))

    async def _describe(self, workflow_id: str) -> WorkflowExecutionDescription:
        metrics.TEMPORAL_QUERIES.labels(query="describe").inc()
        client = await self.client()
        try:
            return await client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc

    async def describe(self, tenant: str, alert_id: str) -> tuple[str, str]:
        """(run id, execution status name) of the current run."""
        workflow_id = workflow_id_for(tenant, alert_id)
        await self._check_owner(tenant, workflow_id)
        desc = await self._describe(workflow_id)
        return desc.run_id, _STATUS_NAME.get(desc.status, "running") if desc.status else "running"

    async def cancel(self, tenant: str, alert_id: str) -> TaskSnapshot:
        snapshot = await self.snapshot(tenant, alert_id)
        if snapshot.state in TERMINAL_TASK_STATES:
            raise NotAllowedNow(f"investigation is already {snapshot.state.value}")
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id_for(tenant, alert_id))
        try:
            # A Temporal cancellation request (not the `cancel` signal): the workflow
            # stops as gracefully and then closes as CANCELED, which the Temporal Web UI
            # and visibility (the queue's ?status=canceled) show.
            await handle.cancel()
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        return snapshot

    async def answer(self, tenant: str, alert_id: str, answer: Answer) -> Any:
        snapshot = await self.snapshot(tenant, alert_id)
        if snapshot.question is None:
            raise NotAllowedNow("no question is pending on this investigation")
        client = await self.client()
        handle = client.get_workflow_handle(workflow_id_for(tenant, alert_id))
        try:
            return await handle.execute_update(wf.ANSWER_UPDATE, answer)
        except WorkflowUpdateFailedError as exc:
            raise NotAllowedNow(str(exc.cause or exc)) from exc
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc

    async def retry(self, tenant: str, alert_id: str, *, fresh: bool = False) -> TaskSnapshot:
        """The next run (see workflows.client.retry_investigation); the snapshot of the
        run it follows."""
        snapshot = await self.snapshot(tenant, alert_id)
        client = await self.client()
        try:
            await wf_client.retry_investigation(
                client, tenant, alert_id, self.settings, fresh=fresh
            )
        except wf_client.NotRetryable as exc:
            raise NotAllowedNow(str(exc)) from exc
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        return snapshot

    async def next_offset(self, tenant: str, alert_id: str) -> int:
        """The offset the next event will get (= number of events so far), by Query."""
        workflow_id = workflow_id_for(tenant, alert_id)
        await self._check_owner(tenant, workflow_id)
        return await self._reads.run(("offset", workflow_id), lambda: self._offset(workflow_id))

    async def _offset(self, workflow_id: str) -> int:
        metrics.TEMPORAL_QUERIES.labels(query="offset").inc()
        client = await self.client()
        try:
            return await client.get_workflow_handle(workflow_id).query(
                NEXT_OFFSET_QUERY, result_type=int
            )
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        except WorkflowQueryFailedError as exc:
            raise NotAllowedNow(str(exc)) from exc

    async def events(
        self, workflow_id: str, from_offset: int, wake: asyncio.Event | None = None
    ) -> AsyncIterator[SourceItem]:
        """The raw Temporal subscription (the fan-out's source). Woken by the workers'
        live tail when the stream grows, it polls only every `stream_poll_idle_ms`, in
        case a hint was lost; without one, every `stream_poll_interval_ms`."""
        client = await self.client()
        s = self.settings
        woken = wake is not None and bool(s.worker_live_urls)
        interval = timedelta(
            milliseconds=s.stream_poll_idle_ms if woken else s.stream_poll_interval_ms
        )
        async for item in wf_client.events(
            client, workflow_id, from_offset, poll_interval=interval, wake=wake
        ):
            yield item

    # -- many ------------------------------------------------------------------

    async def list(
        self,
        tenant: str,
        *,
        status: ListStatus | None,
        alert_type: AlertType | None,
        disposition: Disposition | None,
        page_size: int,
        page_token: str | None,
    ) -> Listing:
        query = _list_query(tenant, status, alert_type, disposition)
        token = self.page_tokens.unwrap(tenant, page_token) if page_token else None
        client = await self.client()
        iterator = client.list_workflows(
            query,  # newest first is the default order (and SQLite has no ORDER BY)
            page_size=page_size,
            next_page_token=token,
        )
        try:
            await iterator.fetch_next_page()
        except RPCError as exc:
            # Temporal answers a forged or stale token with assorted errors, not one code.
            if token is not None and not is_unavailable(exc):
                raise InvalidPageToken("next_page_token is not a token this API returned") from exc
            raise translate_rpc_error(exc) from exc
        prefix = workflow_id_for(tenant, "")
        items = []
        for execution in iterator.current_page or []:
            attrs = execution.typed_search_attributes
            status_name = (
                _STATUS_NAME.get(execution.status, "running") if execution.status else "running"
            )
            if status_name == "completed" and attrs.get(DISPOSITION) is None:
                status_name = "canceled"  # a canceled investigation completes its execution
            items.append({
                "id": execution.id.removeprefix(prefix),
                "status": status_name,
                "type": attrs.get(ALERT_TYPE),
                "account": attrs.get(ACCOUNT),
                "instrument": attrs.get(INSTRUMENT),
                "disposition": attrs.get(DISPOSITION),
                "started_at": _iso(execution.start_time),
                "closed_at": _iso(execution.close_time),
            })  # fmt: skip
        next_token = iterator.next_page_token
        return Listing(items, self.page_tokens.wrap(tenant, next_token) if next_token else None)

    async def count(
        self,
        tenant: str,
        *,
        status: ListStatus | None,
        alert_type: AlertType | None = None,
        disposition: Disposition | None = None,
    ) -> int:
        """How many investigations `list` would page through, all pages together."""
        client = await self.client()
        try:
            counted = await client.count_workflows(
                _list_query(tenant, status, alert_type, disposition)
            )
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
        return counted.count


# A canceled investigation completes its execution (only failures fail it), and only a
# completed one has a Disposition: so "canceled" and "completed" tell them apart by it.
_STATUS_CLAUSE = {
    **{status: f"ExecutionStatus = '{name}'" for status, name in _EXECUTION_STATUS.items()},
    ListStatus.completed: "ExecutionStatus = 'Completed' AND Disposition IS NOT NULL",
    ListStatus.canceled: (
        "(ExecutionStatus = 'Canceled' OR (ExecutionStatus = 'Completed' AND Disposition IS NULL))"
    ),
}


def _list_query(
    tenant: str,
    status: ListStatus | None,
    alert_type: AlertType | None,
    disposition: Disposition | None,
) -> str:
    # Every value is an enum member or the tenant from a validated token, never raw input.
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'", f"Tenant = {_quote(tenant)}"]
    if status is not None:
        clauses.append(_STATUS_CLAUSE[status])
    if alert_type is not None:
        clauses.append(f"AlertType = {_quote(alert_type.value)}")
    if disposition is not None:
        clauses.append(f"Disposition = {_quote(disposition.value)}")
    return " AND ".join(clauses)


def translate_rpc_error(exc: RPCError) -> Exception:
    """The API's exception for a Temporal RPC error (unknown ones pass through)."""
    if _is_not_found(exc):
        return InvestigationNotFound()
    if is_unavailable(exc):
        return TemporalUnavailable(str(exc))
    return exc


class InvalidPageToken(ValueError):
    pass


class PageTokens:
    """Temporal's visibility page tokens, signed for the tenant they were listed for.

    A token the API did not hand out is refused here: Temporal answers a forged one
    only after retrying it for seconds, which made every forged token cost ~10 s of
    an API worker (found by the schemathesis fuzz test)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, tenant: str, raw: bytes) -> bytes:
        return hmac.new(self._key, tenant.encode() + b"\n" + raw, hashlib.sha256).digest()[:16]

    def wrap(self, tenant: str, raw: bytes) -> str:
        return f"{_b64(raw)}.{_b64(self._mac(tenant, raw))}"

    def unwrap(self, tenant: str, token: str) -> bytes:
        encoded, _, mac = token.rpartition(".")
        try:
            raw, given = _unb64(encoded), _unb64(mac)
        except (binascii.Error, ValueError) as exc:
            raise InvalidPageToken("next_page_token is not a token this API returned") from exc
        if not encoded or not hmac.compare_digest(given, self._mac(tenant, raw)):
            raise InvalidPageToken("next_page_token is not a token this API returned")
        return raw


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _quote(value: str) -> str:
    # Tenants and enum values are [A-Za-z0-9_-]; refuse anything else rather than escape it.
    if not value.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"unsafe value in visibility query: {value!r}")
    return f"'{value}'"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
