"""Which read failures a stream reader tries again after, and which end it."""

from __future__ import annotations

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.client import _worth_retrying


def test_a_read_whose_rpc_timed_out_under_load_is_tried_again() -> None:
    assert _worth_retrying(RPCError("Timeout expired", RPCStatusCode.CANCELLED, b""))
    assert _worth_retrying(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""))


def test_a_workflow_task_in_failed_state_is_tried_again() -> None:
    failed = WorkflowQueryFailedError(
        "Unable to query workflow due to Workflow Task in failed state"
    )
    assert _worth_retrying(failed)
    assert _worth_retrying(RPCError("not ready", RPCStatusCode.FAILED_PRECONDITION, b""))


def test_a_missing_workflow_or_a_query_bug_ends_the_read() -> None:
    assert not _worth_retrying(RPCError("no such workflow", RPCStatusCode.NOT_FOUND, b""))
    assert not _worth_retrying(WorkflowQueryFailedError("TypeError: bad argument"))
