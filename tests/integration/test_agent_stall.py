"""Progress, not just liveness: a specialist that stays connected but streams nothing
for SURVEIL_AGENT_IDLE_TIMEOUT_S while its task works is treated as stalled, and the
relay's retry resumes the same A2A task.

A wash-trade agent of its own goes silent after its first step
(SURVEIL_STALL_SPECIALIST, 8 s); a worker of its own, on a task queue of its own,
gives up on a silent stream after 2 s. Triggered by content (the first step's end),
with margins of seconds on both sides: the stall is 4 idle timeouts long.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest

from surveil.events import EventType
from surveil.processes import free_port, start_process, stop_process, wait_for_port
from surveil.settings import Settings
from surveil.store import Store
from tests.support.investigations import collect, duplicated_relays, terminal
from tests.support.stack import Stack
from workflows.client import connect, start_investigation

SURVEIL = [sys.executable, "-m", "surveil"]
WASH = "ALR-007-01"  # a wash-trade alert that needs no analyst

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def stalling_queue(stack: Stack) -> Iterator[str]:
    """A stalling wash-trade agent and a worker with a short idle timeout, on the
    session stack's Temporal; the name of the worker's task queue."""
    queue = f"surveil-stall-{uuid.uuid4().hex[:6]}"
    port = free_port()
    agent = start_process(
        [*SURVEIL, "agent", "wash-trade", "--port", str(port)],
        log_path=stack.root / "logs" / "agent-stalling.log",
        env={
            **stack.env,
            "SURVEIL_AGENT_STATE_DIR": str(stack.root / "agents-stalling"),
            "SURVEIL_STALL_SPECIALIST": "wash_trade",
            "SURVEIL_STALL_SPECIALIST_S": "8",
        },
    )
    worker = start_process(
        [*SURVEIL, "worker"],
        log_path=stack.root / "logs" / "worker-stall.log",
        env={
            **stack.env,
            "SURVEIL_TEMPORAL_TASK_QUEUE": queue,
            "SURVEIL_WASH_AGENT_URL": f"http://127.0.0.1:{port}",
            "SURVEIL_AGENT_IDLE_TIMEOUT_S": "2",
        },
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60, proc=agent)
        yield queue
    finally:
        stop_process(worker)
        stop_process(agent)


async def test_silent_agent_counts_as_stalled_and_the_retry_resumes_its_task(
    stack: Stack, stalling_queue: str
) -> None:
    source = Store(stack.home / "surveil.db").get_alert(WASH)
    assert source is not None
    alert = source.model_copy(update={"tenant": f"stall{uuid.uuid4().hex[:6]}"})
    settings = Settings(temporal_address=stack.temporal_address, temporal_task_queue=stalling_queue)
    client = await connect(settings)
    handle = await start_investigation(client, alert, settings)

    items = await collect(client, handle.id)

    assert [offset for offset, _ in items] == list(range(len(items)))
    assert duplicated_relays(items) == []
    final = terminal(items)
    assert final.data and final.data["state"] == "completed", final
    wash = [e for _, e in items if e.agent == "wash_trade"]
    stalls = [e for e in wash if (e.data or {}).get("stalled")]
    assert stalls and stalls[0].text and "streamed nothing for 2 s while working" in stalls[0].text
    # The stall came after the first step, and the retry picked the same A2A task up:
    # one analysis, started once, whose events came from more than one attempt.
    first_stall = wash.index(stalls[0])
    assert any(e.type == EventType.step_complete for e in wash[:first_stall])
    assert sum(1 for e in wash if (e.data or {}).get("relay")) == 1
    assert [e.step for e in wash if e.type == EventType.step_start].count("load_data") == 1
    assert any(e.text and "resumed wash_trade" in e.text for e in wash[first_stall:])
    relayed_by = {e.attempt for e in wash if e.seq is not None}
    assert len(relayed_by) > 1 and 1 in relayed_by
