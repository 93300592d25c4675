"""Replay safety: full investigations' histories replay through temporalio's Replayer.

Each history here has what a long investigation meets — a hand-off (continue-as-new),
an analyst's answer, a canceled run and its retry — and is replayed against today's
workflow code: a non-deterministic change fails here, not in production. With
SURVEIL_RECORD_HISTORIES=<dir> the histories are also written there as JSON (how
tests/data/histories/ was made; tests/unit/test_replay_recorded.py replays those).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from surveil.events import EventType
from surveil.tasks import Answer
from tests.integration.test_workflow import ASKS_ANALYST, BOTH_SPECIALISTS, WASH, alert
from tests.support.investigations import client_for, collect, terminal
from tests.support.stack import Stack
from workflows.client import events, retry_investigation, start_investigation
from workflows.investigation import (
    ANSWER_UPDATE,
    CANCEL_SIGNAL,
    AlertInvestigationWorkflow,
    InvestigationInput,
)


async def histories_of(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of the workflow id, oldest first (hand-offs and retries)."""
    runs = [e async for e in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    runs.sort(key=lambda e: e.start_time)
    return [
        await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        for run in runs
    ]


async def handed_off(client: Client, stack: Stack) -> str:
    workflow_id = f"alert-test-replay-can-{uuid.uuid4().hex[:8]}"
    inp = InvestigationInput(alert=alert(stack, BOTH_SPECIALISTS, fresh=True), max_run_events=25)
    await client.start_workflow(
        AlertInvestigationWorkflow.run, inp, id=workflow_id, task_queue="surveil-investigations"
    )
    assert terminal(await collect(client, workflow_id)).data["state"] == "completed"
    return workflow_id


async def answered(client: Client, stack: Stack) -> str:
    handle = await start_investigation(client, alert(stack, ASKS_ANALYST, fresh=True))
    async for _, event in events(client, handle.id):
        if event.type == EventType.input_required:
            await handle.execute_update(ANSWER_UPDATE, Answer(agent="", text="yes"))
    return handle.id


async def retried(client: Client, stack: Stack) -> str:
    the_alert = alert(stack, WASH, fresh=True)
    handle = await start_investigation(client, the_alert)
    await handle.signal(CANCEL_SIGNAL)
    first = await collect(client, handle.id)
    await retry_investigation(client, the_alert.tenant, the_alert.id)
    await collect(client, handle.id, from_offset=first[-1][0] + 1)
    return handle.id


async def test_full_investigations_replay_deterministically(stack: Stack) -> None:
    client = await client_for(stack)
    cases = {
        "handed_off": await handed_off(client, stack),
        "answered": await answered(client, stack),
        "retried": await retried(client, stack),
    }
    replayer = Replayer(
        workflows=[AlertInvestigationWorkflow], data_converter=pydantic_data_converter
    )
    record = os.environ.get("SURVEIL_RECORD_HISTORIES")
    for name, workflow_id in cases.items():
        histories = await histories_of(client, workflow_id)
        assert len(histories) >= 2 or name == "answered"  # a hand-off / a retry: two runs
        for index, history in enumerate(histories):
            await replayer.replay_workflow(history)
            if record:
                target = Path(record, f"{name}-run{index + 1}.json")
                await asyncio.to_thread(target.write_text, history.to_json())
