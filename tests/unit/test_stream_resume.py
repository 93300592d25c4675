"""Which poll failures a workflow-stream subscription resumes after, and which end it."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from workflows.client import _worth_resuming


def _caused_by(cause: BaseException) -> WorkflowUpdateRPCTimeoutOrCancelledError:
    error = WorkflowUpdateRPCTimeoutOrCancelledError()
    error.__cause__ = cause
    return error


def test_a_poll_whose_rpc_timed_out_is_resumed() -> None:
    deadline = RPCError("Timeout expired", RPCStatusCode.CANCELLED, b"")
    assert _worth_resuming(_caused_by(deadline))


def test_our_own_cancellation_is_not_resumed() -> None:
    # The SDK wraps asyncio cancellation in the same error type.
    assert not _worth_resuming(_caused_by(asyncio.CancelledError()))


def test_a_workflow_task_failure_is_resumed_other_rpc_errors_are_not() -> None:
    assert _worth_resuming(RPCError("not ready", RPCStatusCode.FAILED_PRECONDITION, b""))
    assert not _worth_resuming(RPCError("no such workflow", RPCStatusCode.NOT_FOUND, b""))
