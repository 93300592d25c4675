"""The LLM factory against a real OpenAI-compatible HTTP server (no client mocks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph

from agents.llm import get_chat_model, model_label
from agents.offline_model import OFFLINE_MODEL_LABEL, OfflineAnalystModel
from agents.prompts import triage_messages
from agents.runner import GraphRun
from surveil.events import EventType
from surveil.models import Alert
from surveil.settings import Settings
from tests.support.openai_server import OpenAICompatibleServer

REPLY = "The alert goes to the wash-trade specialist because it is typed wash trade."


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(reply=REPLY) as running:
        yield running


def llm_settings(server: OpenAICompatibleServer, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,
        openai_api_key=server.api_key,
        openai_base_url=server.base_url,
        **overrides,
    )


async def run_explain_graph(model: BaseChatModel, alert: Alert) -> list[str]:
    """Run a one-node graph that calls the model; return the message_delta texts."""

    class State(TypedDict, total=False):
        text: str

    async def explain(state: State) -> State:
        reply = await model.ainvoke(triage_messages(alert, ["wash_trade"], ["typed wash trade"]))
        return {"text": str(reply.text)}

    builder = StateGraph(State)
    builder.add_node("explain", explain)
    builder.add_edge(START, "explain")
    builder.add_edge("explain", END)
    run = GraphRun(builder.compile(), {}, agent="orchestrator", frame_ms=0)
    deltas = []
    async for event in run.events():
        assert event.step == "explain"
        if event.type == EventType.message_delta:
            deltas.append(event.text)
        else:  # after the answer: what the call used
            assert event.type == EventType.step_progress
            assert event.data is not None and "llm_usage" in event.data
    assert run.values["text"] == REPLY
    return deltas


def test_without_api_key_the_offline_model_is_used() -> None:
    model = get_chat_model(Settings(_env_file=None, openai_api_key=None))
    assert isinstance(model.inner, OfflineAnalystModel)
    assert model_label(model) == OFFLINE_MODEL_LABEL


def test_api_key_and_base_url_give_chat_openai_labelled_with_its_endpoint(
    server: OpenAICompatibleServer,
) -> None:
    model = get_chat_model(llm_settings(server, llm_model="gpt-4o-mini"))
    assert isinstance(model.inner, ChatOpenAI)
    assert model_label(model) == f"gpt-4o-mini via {server.base_url}"


async def test_real_llm_tokens_stream_through_a_graph(
    server: OpenAICompatibleServer, wash_alert: Alert
) -> None:
    model = get_chat_model(llm_settings(server, llm_model="gpt-4o-mini"))
    deltas = await run_explain_graph(model, wash_alert)
    assert len(deltas) == len(REPLY.split())
    assert "".join(deltas) == REPLY
    last = server.requests[-1]
    assert last["stream"] is True
    assert last["model"] == "gpt-4o-mini"
    assert "```json" in last["messages"][-1]["content"]


@pytest.mark.parametrize(
    "overrides",
    [{"llm_model": "o1-mini"}, {"llm_model": "gpt-4o-mini", "llm_streaming": False}],
    ids=["o1-style model", "streaming turned off"],
)
async def test_non_streaming_model_text_arrives_as_one_event(
    server: OpenAICompatibleServer, overrides: dict[str, object], wash_alert: Alert
) -> None:
    model = get_chat_model(llm_settings(server, **overrides))
    assert model.inner.disable_streaming is True
    assert model_label(model).endswith("(not streamed)")
    assert await run_explain_graph(model, wash_alert) == [REPLY]
    assert not server.requests[-1].get("stream")
