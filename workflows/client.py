"""Talking to Temporal about investigations: connect, start, retry, follow the stream.

Used by `surveil submit|watch` and importable by the API. Every client uses the
pydantic data converter, so surveil's models cross Temporal as JSON.
"""

from __future__ import annotations

import asyncio
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
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from surveil.events import ProgressEvent
from surveil.models import Alert
from surveil.settings import Settings, get_settings
from surveil.tasks import TaskSnapshot
from workflows.investigation import (
    EVENTS_TOPIC,
    RETRY_INPUT_QUERY,
    SNAPSHOT_QUERY,
    AlertInvestigationWorkflow,
    InvestigationInput,
    workflow_id_for,
)

# A viewer that is caught up polls at most this often (each poll is an Update).
DEFAULT_POLL_COOLDOWN = timedelta(milliseconds=100)


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
    return InvestigationInput(alert=alert, input_timeout_s=settings.input_timeout_s)


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


RESUME_RETRIES = 5  # in a row, without an event in between


async def events(
    client: Client,
    workflow_id: str,
    from_offset: int = 0,
    *,
    poll_cooldown: timedelta = DEFAULT_POLL_COOLDOWN,
) -> AsyncIterator[tuple[int, ProgressEvent]]:
    """(offset, event) from `from_offset` on, live, ending after the terminal event.

    Two poll failures the library does not retry resume the subscription at the next
    unseen offset (a few times in a row at most):
    - FAILED_PRECONDITION (WorkflowNotReady): the Update met a failed workflow task,
      which Temporal retries;
    - the poll Update's RPC timing out: the workflow's tasks wait behind a busy worker
      (seen in `make load` with a hundred investigations on two cores).
    """
    stream = WorkflowStreamClient.create(client, workflow_id)
    next_offset = from_offset
    failures = 0
    while True:
        try:
            async for item in stream.subscribe(
                [EVENTS_TOPIC], next_offset, result_type=ProgressEvent, poll_cooldown=poll_cooldown
            ):
                failures = 0
                next_offset = item.offset + 1
                yield item.offset, item.data
                if item.data.is_terminal:
                    return
            return
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
            if not _worth_resuming(exc) or failures == RESUME_RETRIES:
                raise
            failures += 1
            await asyncio.sleep(0.5 * failures)


def _worth_resuming(exc: Exception) -> bool:
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
        # The SDK wraps our own cancellation in the same error: that one must end us.
        return not isinstance(exc.__cause__, asyncio.CancelledError)
    return isinstance(exc, RPCError) and exc.status == RPCStatusCode.FAILED_PRECONDITION


async def result_snapshot(handle: WorkflowHandle) -> TaskSnapshot:
    """The final snapshot, also of a failed run (whose result is an error)."""
    try:
        return TaskSnapshot.model_validate(await handle.result())
    except WorkflowFailureError:
        return await handle.query(SNAPSHOT_QUERY, result_type=TaskSnapshot)
