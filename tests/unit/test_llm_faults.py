"""The guarded LLM against a real OpenAI-compatible server that misbehaves on request.

Transient failures (429 with Retry-After, 5xx, a hang, a dropped stream) are ridden
out and shown in the stream; permanent ones fail at once naming the setting; the
waiting is bounded; usage matches what the server itself counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from agents.llm import get_chat_model
from agents.llm_errors import LLMSettingsError, LLMUnavailable
from agents.orchestrator.graph import build_synthesis_graph
from agents.prompts import triage_messages
from agents.runner import GraphRun
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, AlertType, Determination
from surveil.settings import Settings
from surveil.usage import LLMPrice, LLMUsage, total_usage
from tests.support.openai_server import OpenAICompatibleServer
from tests.unit.test_orchestrator import WASH_FINDING
from tests.unit.test_orchestrator import alert as make_alert

REPLY = "The alert goes to the wash-trade specialist because it is typed wash trade."


@pytest.fixture
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(reply=REPLY, hang_s=2.5) as running:
        yield running


def guarded(server: OpenAICompatibleServer, **overrides: Any) -> BaseChatModel:
    settings: dict[str, Any] = {
        "openai_api_key": server.api_key,
        "openai_base_url": server.base_url,
        "llm_backoff_initial_s": 0.05,
        "llm_backoff_max_s": 0.2,
        "llm_request_timeout_s": 1.0,
        **overrides,
    }
    return get_chat_model(Settings(_env_file=None, **settings))


async def explain(
    model: BaseChatModel, alert: Alert, *, sync: bool = False, reply: str | None = REPLY
) -> list[ProgressEvent]:
    """Run a one-node graph that calls the model (async, or sync like the specialists'
    summary node); return its events. The node's reply must be `reply` (if not None)."""

    class State(TypedDict, total=False):
        text: str

    messages = triage_messages(alert, ["wash_trade"], ["typed wash trade"])

    async def call_async(state: State) -> State:
        return {"text": str((await model.ainvoke(messages)).text)}

    def call_sync(state: State) -> State:
        return {"text": str(model.invoke(messages).text)}

    builder = StateGraph(State)
    builder.add_node("explain", call_sync if sync else call_async)
    builder.add_edge(START, "explain")
    builder.add_edge("explain", END)
    run = GraphRun(builder.compile(), {}, agent="orchestrator")
    events = [event async for event in run.events()]
    assert run.values["text"] == reply if reply is not None else run.values["text"]
    return events


def waits(events: list[ProgressEvent]) -> list[str]:
    return [e.text or "" for e in events if (e.data or {}).get("llm_wait")]


def usage(events: list[ProgressEvent]) -> LLMUsage:
    reported = [
        LLMUsage.model_validate(e.data["llm_usage"])
        for e in events
        if e.data and "llm_usage" in e.data
    ]
    total = total_usage(reported)
    assert total is not None
    return total


def narrative_after_last_restart(events: list[ProgressEvent]) -> str:
    """What a viewer shows: a step_start (a restart too) clears the step's text."""
    text = ""
    for event in events:
        if event.type == EventType.step_start:
            text = ""
        elif event.type == EventType.message_delta:
            text += event.text or ""
    return text


async def test_rate_limit_with_retry_after_is_waited_out_and_shown(
    server: OpenAICompatibleServer, wash_alert: Alert
) -> None:
    server.fail_next(2, "429", retry_after=0.3)
    events = await explain(guarded(server), wash_alert)
    shown = waits(events)
    assert shown and all(
        t.startswith("waiting for the LLM: rate limited (429), next try in") for t in shown
    )
    assert server.counts.rejections == 2
    assert narrative_after_last_restart(events) == REPLY
    assert usage(events).retries == 2
    # Retry-After (0.3 s, +<=10% jitter) was honoured, not the 0.05 s backoff.
    assert usage(events).waited_s >= 0.6


@pytest.mark.parametrize("mode", ["500", "503", "hang"])
async def test_server_errors_and_a_hang_are_retried(
    server: OpenAICompatibleServer, wash_alert: Alert, mode: str
) -> None:
    server.fail_next(1, mode)
    events = await explain(guarded(server), wash_alert)
    assert len(waits(events)) == 1
    reason = (
        "no answer in time (timeout)" if mode == "hang" else f"the endpoint is failing ({mode})"
    )
    assert reason in waits(events)[0]
    assert usage(events).requests == 2


@pytest.mark.parametrize("sync", [False, True], ids=["async node", "sync node"])
async def test_mid_stream_disconnect_restarts_the_step_cleanly(
    server: OpenAICompatibleServer, wash_alert: Alert, sync: bool
) -> None:
    server.fail_next(1, "disconnect")
    events = await explain(guarded(server), wash_alert, sync=sync)
    restarts = [e for e in events if e.type == EventType.step_start]
    assert len(restarts) == 1
    assert restarts[0].data == {"restart": True, "reason": restarts[0].data["reason"]}
    assert "starts again" in (restarts[0].text or "")
    # Tokens of the broken answer came before the restart; the text shown is the final one.
    before = "".join(
        e.text or ""
        for e in events[: events.index(restarts[0])]
        if e.type == EventType.message_delta
    )
    assert before and REPLY.startswith(before)
    assert narrative_after_last_restart(events) == REPLY
    assert server.counts.disconnects == 1
    assert usage(events).restarts == 1


async def test_401_fails_at_once_naming_openai_api_key(
    server: OpenAICompatibleServer, wash_alert: Alert
) -> None:
    model = get_chat_model(
        Settings(_env_file=None, openai_api_key="wrong-key", openai_base_url=server.base_url)
    )
    started = time.monotonic()
    with pytest.raises(LLMSettingsError, match="OPENAI_API_KEY"):
        await explain(model, wash_alert)
    assert time.monotonic() - started < 5
    assert server.counts.requests == 1  # not retried


async def test_unknown_model_fails_at_once_naming_surveil_llm_model(wash_alert: Alert) -> None:
    with (
        OpenAICompatibleServer(reply=REPLY, known_models={"gpt-4o-mini"}) as server,
        pytest.raises(LLMSettingsError, match="SURVEIL_LLM_MODEL") as failure,
    ):
        await explain(guarded(server, llm_model="gpt-nonexistent"), wash_alert)
    assert "404" in str(failure.value)
    assert server.counts.requests == 1


async def test_waiting_is_bounded_by_max_wait_then_fails_as_retryable(
    server: OpenAICompatibleServer, wash_alert: Alert
) -> None:
    server.rate_limit_for(60, retry_after=0.4)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="SURVEIL_LLM_MAX_WAIT_S"):
        await explain(guarded(server, llm_max_wait_s=1.0), wash_alert)
    assert time.monotonic() - started < 5
    assert server.counts.rejections >= 2


async def test_usage_matches_the_servers_own_count_and_is_priced(
    server: OpenAICompatibleServer, wash_alert: Alert
) -> None:
    prices = {"gpt-4o-mini": LLMPrice(prompt_per_1k=0.5, completion_per_1k=2.0)}
    model = guarded(server, llm_prices=prices)
    server.fail_next(1, "disconnect")  # the broken answer reported no usage
    events = [*await explain(model, wash_alert), *await explain(model, wash_alert, sync=True)]
    total = usage(events)
    assert server.counts.completed == 2
    assert (total.prompt_tokens, total.completion_tokens) == (
        server.counts.prompt_tokens,
        server.counts.completion_tokens,
    )
    assert total.requests == server.counts.requests == 3
    assert total.cost == pytest.approx(
        server.counts.prompt_tokens / 1000 * 0.5 + server.counts.completion_tokens / 1000 * 2.0
    )


async def test_offline_model_reports_its_own_usage(wash_alert: Alert) -> None:
    model = get_chat_model(Settings(_env_file=None, openai_api_key=None, offline_token_delay_ms=0))
    graph_input = {"alert": make_alert(AlertType.wash_trade), "findings": [WASH_FINDING]}
    run = GraphRun(build_synthesis_graph(model), graph_input, agent="orchestrator")
    events = [event async for event in run.events()]
    determination = Determination.model_validate(run.values["determination"])
    spent = usage(events)
    assert spent.requests == 1 and spent.retries == 0
    assert spent.completion_tokens == len(determination.narrative.split()) - len(
        f"Narrative written by {determination.narrative_model}.".split()
    )
    assert spent.prompt_tokens > spent.completion_tokens


async def test_rate_limited_synthesis_completes_with_the_same_determination(
    server: OpenAICompatibleServer,
) -> None:
    """429s for a while in the middle of the investigation's last LLM step: the
    determination is the one an undisturbed run reaches, narrative included."""

    async def synthesize() -> tuple[Determination, list[ProgressEvent]]:
        graph_input = {"alert": make_alert(AlertType.wash_trade), "findings": [WASH_FINDING]}
        run = GraphRun(build_synthesis_graph(guarded(server)), graph_input, agent="orchestrator")
        events = [event async for event in run.events()]
        return Determination.model_validate(run.values["determination"]), events

    undisturbed, _ = await synthesize()
    server.rate_limit_for(1.0, retry_after=0.3)
    disturbed, events = await synthesize()
    assert waits(events)
    assert disturbed == undisturbed
