"""The investigation workflow against a real Temporal dev server and real agents."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from surveil.events import EventType
from surveil.models import Alert, Determination
from surveil.store import Store
from surveil.tasks import Answer, TaskSnapshot, TaskState
from tests.support.investigations import client_for, collect, duplicated_relays, terminal
from tests.support.stack import Stack
from workflows.client import NotRetryable, events, retry_investigation, start_investigation
from workflows.investigation import (
    ANSWER_UPDATE,
    SNAPSHOT_QUERY,
    AlertInvestigationWorkflow,
    InvestigationInput,
)

BOTH_SPECIALISTS = "ALR-007-08"  # type unknown: triage sends it to both, in parallel
WASH = "ALR-007-01"


def in_process_determination(stack: Stack, alert_id: str) -> Determination:
    out = stack.surveil("investigate", alert_id, "--json").stdout
    return Determination.model_validate_json(out)


def same_decision(a: Determination, b: Determination) -> None:
    assert (a.disposition, a.confidence, a.reasons) == (b.disposition, b.confidence, b.reasons)
    assert [(f.specialist, f.score) for f in a.findings] == [
        (f.specialist, f.score) for f in b.findings
    ]


def alert(stack: Stack, alert_id: str, *, fresh: bool = False) -> Alert:
    """A demo alert; `fresh` puts it in a new tenant so it gets its own workflow."""
    found = Store(stack.home / "surveil.db").get_alert(alert_id)
    assert found is not None
    return found.model_copy(update={"tenant": f"t{uuid.uuid4().hex[:8]}"}) if fresh else found


async def test_demo_alert_streams_contiguous_offsets_and_decides_like_in_process(stack: Stack):
    client = await client_for(stack)
    handle = await start_investigation(client, alert(stack, BOTH_SPECIALISTS))
    items = await collect(client, handle.id)

    assert [offset for offset, _ in items] == list(range(len(items)))
    assert duplicated_relays(items) == []
    agents = {event.agent for _, event in items}
    assert {"orchestrator", "insider_trading", "wash_trade"} <= agents
    final = terminal(items)
    assert final.data["state"] == "completed"
    streamed = Determination.model_validate(final.data["determination"])
    same_decision(streamed, in_process_determination(stack, BOTH_SPECIALISTS))

    snapshot = await handle.query(SNAPSHOT_QUERY, result_type=TaskSnapshot)
    assert snapshot.state == TaskState.completed
    assert snapshot.last_offset == items[-1][0]
    assert {a.agent: a.status for a in snapshot.agents}["wash_trade"] == "done"
    assert all(step.status == "done" for a in snapshot.agents for step in a.steps)


async def test_investigation_is_found_by_its_search_attributes(stack: Stack):
    client = await client_for(stack)
    handle = await start_investigation(client, alert(stack, WASH))
    await handle.result()
    query = f'AlertType="wash_trade" AND AccountId="{alert(stack, WASH).account}"'
    deadline = time.monotonic() + 15
    while True:  # visibility is eventually consistent
        listed = stack.temporal_cli("workflow", "list", "--query", query, "-o", "json")
        ids = [w["execution"]["workflowId"] for w in json.loads(listed or "[]")]
        if handle.id in ids or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert handle.id in ids
    described = await handle.describe()
    disposition = described.search_attributes.get("Disposition")
    assert disposition and disposition[0] in {"escalate", "close_false_positive", "needs_review"}


async def test_answer_is_rejected_when_no_question_is_pending(stack: Stack):
    client = await client_for(stack)
    handle = await start_investigation(client, alert(stack, WASH, fresh=True))
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(ANSWER_UPDATE, Answer(agent="wash_trade", text="yes"))
    assert "no question" in str(failure.value.cause)


async def test_continue_as_new_mid_investigation_keeps_offsets_seqs_and_decision(stack: Stack):
    client = await client_for(stack)
    workflow_id = f"alert-test-can-{uuid.uuid4().hex[:8]}"
    inp = InvestigationInput(alert=alert(stack, BOTH_SPECIALISTS), max_run_events=25)
    handle = await client.start_workflow(
        AlertInvestigationWorkflow.run, inp, id=workflow_id, task_queue="surveil-investigations"
    )
    items = await collect(client, workflow_id)

    assert [offset for offset, _ in items] == list(range(len(items)))
    assert duplicated_relays(items) == []
    first_run = client.get_workflow_handle(workflow_id, run_id=handle.first_execution_run_id)
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    streamed = Determination.model_validate(terminal(items).data["determination"])
    same_decision(streamed, in_process_determination(stack, BOTH_SPECIALISTS))

    # Afterwards, readers from 0 and from inside an early run read through every closed
    # run to the final terminal event: the same offsets, the same events.
    again = await collect(client, workflow_id)
    assert [(o, e.model_dump()) for o, e in again] == [(o, e.model_dump()) for o, e in items]
    middle = await collect(client, workflow_id, from_offset=13)
    assert middle == items[13:]


async def test_canceled_investigation_closes_canceled_and_retries_as_next_run_with_higher_offsets(
    stack: Stack,
):
    client = await client_for(stack)
    the_alert = alert(stack, WASH, fresh=True)
    handle = await start_investigation(client, the_alert)
    await handle.cancel()  # a Temporal cancellation request, as the API sends
    first = await collect(client, handle.id)
    assert terminal(first).data["state"] == "canceled"
    # The execution itself closes as canceled (the Web UI and visibility say so).
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

    await retry_investigation(client, the_alert.tenant, the_alert.id)
    with pytest.raises(NotRetryable, match="still"):  # the retry is running
        await retry_investigation(client, the_alert.tenant, the_alert.id)
    second = await collect(client, handle.id, from_offset=first[-1][0] + 1)

    assert second[0][0] == first[-1][0] + 1
    assert [o for o, _ in second] == list(range(second[0][0], second[-1][0] + 1))
    assert duplicated_relays(first + second) == []
    final = terminal(second)
    assert final.data["state"] == "completed" and final.data["run"] == 2
    # One stream per investigation: a reader from 0 reads through the canceled run's
    # terminal event and ends at the retry's.
    whole = await collect(client, handle.id)
    assert [o for o, _ in whole] == list(range(second[-1][0] + 1))
    assert whole[len(first) - 1][1].data["state"] == "canceled"
    assert terminal(whole).data["state"] == "completed"
    snapshot = await client.get_workflow_handle(handle.id).query(
        SNAPSHOT_QUERY, result_type=TaskSnapshot
    )
    assert snapshot.run == 2 and snapshot.state == TaskState.completed


ASKS_ANALYST = "ALR-007-12"  # the wash-trade specialist asks about common control


async def test_question_waits_for_the_answer_then_resumes_the_same_task(stack: Stack):
    client = await client_for(stack)
    handle = await start_investigation(client, alert(stack, ASKS_ANALYST, fresh=True))
    items = []
    async for offset, event in events(client, handle.id):
        items.append((offset, event))
        if event.type == EventType.input_required:
            snapshot = await handle.query(SNAPSHOT_QUERY, result_type=TaskSnapshot)
            assert snapshot.state == TaskState.input_required
            assert snapshot.question is not None and snapshot.question.agent == "wash_trade"
            options = snapshot.question.options or ["yes"]
            await handle.execute_update(ANSWER_UPDATE, Answer(agent="", text=options[0]))

    assert duplicated_relays(items) == []
    assert [o for o, _ in items] == list(range(len(items)))
    assert any("analyst answered wash_trade" in (e.text or "") for _, e in items)
    wash_tasks = {
        e.data["relay"]["a2a_task_id"]
        for _, e in items
        if e.agent == "wash_trade" and e.data and "relay" in e.data
    }
    assert len(wash_tasks) == 1  # the answer went to the task that asked
    assert terminal(items).data["state"] == "completed"


async def test_unanswered_question_makes_the_finding_need_review(stack: Stack):
    client = await client_for(stack)
    inp = InvestigationInput(alert=alert(stack, ASKS_ANALYST, fresh=True), input_timeout_s=1)
    workflow_id = f"alert-test-noanswer-{uuid.uuid4().hex[:8]}"
    await client.start_workflow(
        AlertInvestigationWorkflow.run, inp, id=workflow_id, task_queue="surveil-investigations"
    )
    items = await collect(client, workflow_id)

    assert any("no answer for wash_trade in time" in (e.text or "") for _, e in items)
    determination = Determination.model_validate(terminal(items).data["determination"])
    wash = next(f for f in determination.findings if f.specialist == "wash_trade")
    assert wash.needs_review
