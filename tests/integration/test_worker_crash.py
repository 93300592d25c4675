"""kill -9 in the middle of an investigation: of the worker, of a specialist agent.

The investigation must finish with the same determination, the stream must say what
happened, and no agent event may reach the stream twice. A killed agent resumes its
task from its last checkpoint when it starts again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, Determination
from surveil.store import Store
from tests.support.investigations import client_for, duplicated_relays, terminal
from tests.support.stack import Stack
from workflows.client import events, start_investigation

WASH = "ALR-007-01"
LLM_STEP = "reason"  # the wash-trade node that streams the LLM's answer


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own (its processes get killed) whose offline LLM streams slowly
    enough that there is a middle of a specialist step to kill in."""
    with Stack(
        Path(tmp_path_factory.mktemp("crash")),
        env_overrides={"SURVEIL_OFFLINE_TOKEN_DELAY_MS": "30"},
    ).running(api=False) as stack:
        yield stack


def fresh_alert(stack: Stack, alert_id: str) -> Alert:
    found = Store(stack.home / "surveil.db").get_alert(alert_id)
    assert found is not None
    return found.model_copy(update={"tenant": f"t{uuid.uuid4().hex[:8]}"})


async def investigate_killing(
    stack: Stack, victim: str, *, in_step_of: str, step: str = LLM_STEP
) -> list[tuple[int, ProgressEvent]]:
    """Run an investigation; kill -9 `victim` once agent `in_step_of` has started
    `step` (its LLM answer, seconds long at this token pace), start it again, and
    read to the end."""
    client = await client_for(stack)
    handle = await start_investigation(client, fresh_alert(stack, WASH))
    items: list[tuple[int, ProgressEvent]] = []
    killed = False
    async for offset, event in events(client, handle.id):
        items.append((offset, event))
        started = event.type == EventType.step_start and event.step == step
        if not killed and event.agent == in_step_of and started:
            stack.kill(victim)
            stack.restart(victim)
            killed = True
    assert killed, f"{in_step_of} never started {step}"
    return items


def texts_of(items: list[tuple[int, ProgressEvent]], agent: str) -> list[str]:
    return [e.text or "" for _, e in items if e.agent == agent and e.type == EventType.status]


def assert_same_outcome(stack: Stack, items: list[tuple[int, ProgressEvent]]) -> None:
    assert [offset for offset, _ in items] == list(range(len(items)))
    assert duplicated_relays(items) == []
    final = terminal(items)
    assert final.data["state"] == "completed", final
    streamed = Determination.model_validate(final.data["determination"])
    expected = Determination.model_validate_json(
        stack.surveil("investigate", WASH, "--json").stdout
    )
    assert (streamed.disposition, streamed.confidence, streamed.reasons) == (
        expected.disposition,
        expected.confidence,
        expected.reasons,
    )


async def test_worker_killed_mid_specialist_step_resumes_without_duplicates(own_stack: Stack):
    items = await investigate_killing(own_stack, "worker", in_step_of="wash_trade")

    assert_same_outcome(own_stack, items)
    assert any("relay attempt 2 resumed wash_trade" in t for t in texts_of(items, "wash_trade")), (
        "\n".join(
            f"{o} {e.type.value} {e.step} a{e.attempt} {(e.text or '')[:70]}"
            for o, e in items
            if e.agent == "wash_trade" and e.type != EventType.message_delta
        )
    )
    attempts = {e.attempt for _, e in items if e.agent == "wash_trade" and e.seq is not None}
    assert attempts == {1, 2}  # the second attempt relayed only what the first had not


async def test_agent_killed_mid_analysis_is_restarted_without_duplicates(own_stack: Stack):
    items = await investigate_killing(own_stack, "agent-wash-trade", in_step_of="wash_trade")

    assert_same_outcome(own_stack, items)
    texts = texts_of(items, "wash_trade")
    assert any("lost the connection to the wash_trade agent" in t for t in texts)
    # The restarted agent kept the task (SQLite under SURVEIL_HOME) and resumed it from
    # its last checkpoint: steps completed before the kill do not run again.
    wash = [e for _, e in items if e.agent == "wash_trade"]
    (resume,) = [e for e in wash if (e.data or {}).get("resumed")]
    assert resume.text and "the wash_trade agent restarted" in resume.text
    before, after = wash[: wash.index(resume)], wash[wash.index(resume) :]
    completed = {e.step for e in before if e.type == EventType.step_complete}
    rerun = {e.step for e in after if e.type == EventType.step_start}
    assert not completed & rerun
    assert not any("restarted the analysis" in t for t in texts)  # nothing started over
