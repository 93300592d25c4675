"""Talking to Temporal about investigations: connect, start, retry, follow the stream.

Used by `surveil submit|watch` and importable by the API. Every client uses the
pydantic data converter, so surveil's models cross Temporal as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from temporalio.client import (
    Client,
    TLSConfig,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from surveil.events import ProgressEvent
from surveil.models import Alert
from surveil.settings import Settings, get_settings
from surveil.stream import EVENTS_QUERY, EventPage, RunSegment
from surveil.tasks import TaskSnapshot
from workflows.investigation import (
    RETRY_INPUT_QUERY,
    SNAPSHOT_QUERY,
    AlertInvestigationWorkflow,
    InvestigationInput,
    workflow_id_for,
)

# A reader that is caught up pages again after this long (a Query: no history).
DEFAULT_POLL_INTERVAL = timedelta(milliseconds=250)


async def connect(settings: Settings | None = None) -> Client:
    """A Temporal client from the settings: address, namespace, mTLS or API key."""
    settings = settings or get_settings()
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert or settings.temporal_tls_ca:
        tls = TLSConfig(
            client_cert=_read(settings.temporal_tls_cert),
            client_private_key=_read(settings.temporal_tls_key),
            server_root_ca_cert=_read(settings.temporal_tls_ca),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    if api_key and tls is False:
        tls = True  # Temporal Cloud: API keys travel over TLS only
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=api_key,
        data_converter=pydantic_data_converter,
    )


def _read(path: object) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(str(path)).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read Temporal TLS file {path}: {exc.strerror}") from None


def investigation_input(alert: Alert, settings: Settings | None = None) -> InvestigationInput:
    settings = settings or get_settings()
    limits = {
        "max_history_events": settings.run_max_history_events,
        "max_history_bytes": settings.run_max_history_bytes,
        "max_updates": settings.run_max_updates,
        "max_run_events": settings.run_max_events,
    }
    return InvestigationInput(
        alert=alert,
        input_timeout_s=settings.input_timeout_s,
        **{name: value for name, value in limits.items() if value is not None},
    )


async def start_investigation(
    client: Client, alert: Alert, settings: Settings | None = None
) -> WorkflowHandle:
    """Start investigating `alert`, or attach to the investigation that exists
    (running or finished): submitting the same alert twice is harmless."""
    settings = settings or get_settings()
    workflow_id = workflow_id_for(alert.tenant, alert.id)
    try:
        handle = await client.start_workflow(
            AlertInvestigationWorkflow.run,
            investigation_input(alert, settings),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:  # finished before: attach to it
        return client.get_workflow_handle_for(AlertInvestigationWorkflow.run, workflow_id)
    return handle


class NotRetryable(Exception):
    """The investigation is running or completed; its text says which."""


async def retry_investigation(
    client: Client,
    tenant: str,
    alert_id: str,
    settings: Settings | None = None,
    *,
    fresh: bool = False,
) -> WorkflowHandle:
    """Start the next run of a failed, canceled or timed-out investigation.

    The new run has the same workflow id, continues the stream (offsets above the
    failed run's) and reuses the findings the failed run completed. Two callers
    retrying at once start one run. `fresh=True` is a re-run: also of a completed
    investigation, reusing nothing (new data imported, a question answered late).
    """
    settings = settings or get_settings()
    workflow_id = workflow_id_for(tenant, alert_id)
    handle = client.get_workflow_handle(workflow_id)
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        snapshot = await handle.query(SNAPSHOT_QUERY, result_type=TaskSnapshot)
        raise NotRetryable(f"investigation {workflow_id} is still {snapshot.state.value}")
    closed = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    try:
        next_input = await closed.query(RETRY_INPUT_QUERY, fresh, result_type=InvestigationInput)
    except WorkflowQueryFailedError as exc:
        raise NotRetryable(str(exc)) from None
    try:
        return await client.start_workflow(
            AlertInvestigationWorkflow.run,
            next_input,
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle_for(AlertInvestigationWorkflow.run, workflow_id)


RESUME_RETRIES = 8  # failed reads in a row, without an event in between


async def events(
    client: Client,
    workflow_id: str,
    from_offset: int = 0,
    *,
    poll_interval: timedelta = DEFAULT_POLL_INTERVAL,
    wake: asyncio.Event | None = None,
) -> AsyncIterator[tuple[int, ProgressEvent]]:
    """(offset, event) from `from_offset` on, live, ending after the final terminal event.

    One investigation is one stream whatever its runs: offsets below the newest run's
    segment are paged from the closed run that holds them (continue-as-new hand-offs
    and retried runs alike), and a terminal event ends the stream only when it is the
    newest run's (a failed run that was retried goes on into its retry).

    Reads that fail for a transient reason (a workflow task being retried, a busy
    worker answering late, Temporal restarting) are tried again, a few times in a
    row at most.

    Caught up, it reads again after `poll_interval`, or as soon as `wake` is set (by
    whoever learns that the stream grew: the workers' live tail, api/live_tail.py).
    """
    newest = client.get_workflow_handle(workflow_id)
    next_offset = from_offset
    failures = 0
    while True:
        if wake is not None:
            wake.clear()  # before the read: news during it makes the next one go at once
        try:
            page = await _page(newest, next_offset)
            if next_offset < page.run_first_offset:
                segment = page.segment_for(next_offset)
                if segment is None:
                    raise StreamGap(workflow_id, next_offset, page)
                async for item in _closed_run(client, workflow_id, segment, next_offset):
                    next_offset = item[0] + 1
                    yield item
                failures = 0
                continue
        except (RPCError, WorkflowQueryFailedError) as exc:
            if not _worth_retrying(exc) or failures == RESUME_RETRIES:
                raise
            failures += 1
            await asyncio.sleep(0.25 * failures)
            continue
        failures = 0
        for index, event in enumerate(page.events):
            next_offset = page.first_offset + index + 1
            yield next_offset - 1, event
        if page.ended and next_offset >= page.next_offset:
            return  # past the newest run's terminal event: the stream is complete
        if not page.more:
            await _until_woken(wake, poll_interval.total_seconds())


async def _until_woken(wake: asyncio.Event | None, timeout_s: float) -> None:
    if wake is None:
        await asyncio.sleep(timeout_s)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout_s)


class StreamGap(Exception):
    """No run holds an offset below the newest run's first one (a broken chain)."""

    def __init__(self, workflow_id: str, offset: int, page: EventPage) -> None:
        runs = ", ".join(f"[{s.first_offset}, {s.next_offset})" for s in page.earlier) or "none"
        super().__init__(
            f"{workflow_id}: no run holds offset {offset} (closed runs: {runs}; "
            f"the newest starts at {page.run_first_offset})"
        )


async def _page(handle: WorkflowHandle, from_offset: int) -> EventPage:
    return await handle.query(EVENTS_QUERY, from_offset, result_type=EventPage)


class _ClosedPages:
    """Pages of closed runs: they never change, and each read is a replay of the
    run on a worker, so every process keeps the recent ones (bounded in bytes)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[str, int], tuple[EventPage, int]] = OrderedDict()
        self._bytes = 0

    def get(self, run_id: str, offset: int) -> EventPage | None:
        found = self._pages.get((run_id, offset))
        if found is None:
            return None
        self._pages.move_to_end((run_id, offset))
        return found[0]

    def put(self, run_id: str, offset: int, page: EventPage) -> None:
        size = sum(len(e.text or "") + 200 for e in page.events)
        self._pages[(run_id, offset)] = (page, size)
        self._bytes += size
        while self._bytes > self.max_bytes and self._pages:
            _, (_, dropped) = self._pages.popitem(last=False)
            self._bytes -= dropped


_closed_pages = _ClosedPages()


async def _closed_run(
    client: Client, workflow_id: str, segment: RunSegment, from_offset: int
) -> AsyncIterator[tuple[int, ProgressEvent]]:
    """Every event of a closed run's segment from `from_offset` on."""
    handle = client.get_workflow_handle(workflow_id, run_id=segment.run_id)
    offset = from_offset
    while offset < segment.next_offset:
        page = _closed_pages.get(segment.run_id, offset)
        if page is None:
            page = await _page(handle, offset)
            _closed_pages.put(segment.run_id, offset, page)
        if not page.events:
            raise StreamGap(workflow_id, offset, page)
        for index, event in enumerate(page.events):
            if page.first_offset + index >= segment.next_offset:
                return
            yield page.first_offset + index, event
        offset = page.next_offset


def _worth_retrying(exc: Exception) -> bool:
    if isinstance(exc, WorkflowQueryFailedError):
        # The workflow task is failing or not yet run: Temporal retries it.
        return "failed state" in str(exc) or "not ready" in str(exc).lower()
    return isinstance(exc, RPCError) and exc.status in (
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,  # the client's RPC deadline under load ("Timeout expired")
    )


async def result_snapshot(handle: WorkflowHandle) -> TaskSnapshot:
    """The final snapshot, also of a failed run (whose result is an error)."""
    try:
        return TaskSnapshot.model_validate(await handle.result())
    except WorkflowFailureError:
        return await handle.query(SNAPSHOT_QUERY, result_type=TaskSnapshot)
