"""LLM usage reported by steps is summed per agent and per investigation in the snapshot."""

from __future__ import annotations

from datetime import datetime

from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, AlertType
from surveil.tasks import TaskSnapshot
from surveil.usage import LLMUsage
from workflows.snapshot import EventFold


def usage_event(agent: str, step: str, **usage: float) -> ProgressEvent:
    return ProgressEvent(
        type=EventType.step_progress,
        agent=agent,
        step=step,
        data={"llm_usage": LLMUsage(**usage).model_dump(mode="json"), "model": "m"},
    )


def test_usage_is_summed_per_agent_and_for_the_investigation() -> None:
    fold = EventFold()
    for event in [
        usage_event("orchestrator", "explain_routing", prompt_tokens=100, completion_tokens=10,
                    requests=3, retries=2, waited_s=40.0, cost=0.25),
        usage_event("wash_trade", "reason", prompt_tokens=200, completion_tokens=20, requests=1,
                    cost=0.5),
        usage_event("orchestrator", "write_narrative", prompt_tokens=300, completion_tokens=30,
                    requests=1, restarts=1, cost=1.0),
    ]:  # fmt: skip
        fold.apply(event)
    by_agent = {agent.agent: agent.usage for agent in fold.agents}
    assert by_agent["orchestrator"] == LLMUsage(
        prompt_tokens=400, completion_tokens=40, requests=4, retries=2, restarts=1,
        waited_s=40.0, cost=1.25,
    )  # fmt: skip
    snapshot = TaskSnapshot(
        alert=Alert(
            id="A-1",
            type=AlertType.wash_trade,
            account="ACC",
            instrument="ACME",
            window_start=datetime(2024, 3, 1),
            window_end=datetime(2024, 3, 2),
        ),  # fmt: skip
        agents=fold.agents,
    )
    assert snapshot.usage is not None
    assert (snapshot.usage.prompt_tokens, snapshot.usage.completion_tokens) == (600, 60)
    assert snapshot.usage.cost == 1.75
    # Serialised for the API and the UI, and read back (the field is derived, not stored).
    dumped = snapshot.model_dump(mode="json")
    assert dumped["usage"]["total_tokens"] == 660
    assert TaskSnapshot.model_validate(dumped).usage == snapshot.usage


def test_without_a_price_for_every_call_there_is_no_cost() -> None:
    fold = EventFold()
    fold.apply(usage_event("wash_trade", "reason", prompt_tokens=1, cost=0.5))
    fold.apply(usage_event("wash_trade", "reason", prompt_tokens=1))
    assert fold.agents[0].usage is not None and fold.agents[0].usage.cost is None
