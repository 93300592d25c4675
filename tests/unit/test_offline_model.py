"""The offline analyst model: deterministic prose from the prompt's facts, streamed."""

from __future__ import annotations

import time
from typing import TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph

from agents.offline_model import OfflineAnalystModel, tokenize
from agents.prompts import specialist_messages, synthesis_messages, triage_messages
from surveil.models import Alert, Disposition, Evidence, Finding, Specialist

EVIDENCE = [
    Evidence(name="round_trips", value=4, threshold=2, passed=True, unit="pairs"),
    Evidence(name="volume_share", value=3.2, threshold=5, passed=False, unit="%"),
]


def test_streamed_tokens_join_to_the_invoked_text(wash_alert: Alert) -> None:
    model = OfflineAnalystModel()
    messages = specialist_messages("wash_trade", wash_alert, EVIDENCE, 0.74)
    tokens = [chunk.content for chunk in model.stream(messages)]
    assert len(tokens) > 20
    assert "".join(tokens) == model.invoke(messages).content


def test_same_facts_give_the_same_narrative(wash_alert: Alert) -> None:
    messages = triage_messages(wash_alert, ["wash_trade"], ["The alert is typed wash trade"])
    assert OfflineAnalystModel().invoke(messages).content == (
        OfflineAnalystModel().invoke(messages).content
    )


def test_specialist_narrative_states_score_and_every_threshold_verdict(wash_alert: Alert) -> None:
    text = OfflineAnalystModel().invoke(
        specialist_messages("wash_trade", wash_alert, EVIDENCE, 0.74)
    )
    assert "0.74" in text.content
    assert "round_trips is 4 pairs against a threshold of 2 pairs: crossed" in text.content
    assert "volume_share is 3.2% against a threshold of 5%: not crossed" in text.content


@pytest.mark.parametrize("disposition", list(Disposition))
def test_synthesis_narrative_states_the_computed_disposition_and_no_other(
    disposition: Disposition, wash_alert: Alert
) -> None:
    finding = Finding(specialist=Specialist.wash_trade, score=0.5, evidence=EVIDENCE)
    messages = synthesis_messages(wash_alert, [finding], disposition, 0.62, ["round_trips crossed"])
    text = OfflineAnalystModel().invoke(messages).content
    assert f"{disposition.value.replace('_', ' ').upper()}, confidence 62%" in text
    others = [d for d in Disposition if d != disposition]
    assert not any(d.value.replace("_", " ").upper() in text for d in others)


async def test_tokens_reach_a_langgraph_messages_stream_one_by_one(wash_alert: Alert) -> None:
    class State(TypedDict, total=False):
        text: str

    model = OfflineAnalystModel()
    messages = triage_messages(wash_alert, ["wash_trade"], ["The alert is typed wash trade"])

    async def explain(state: State) -> State:
        return {"text": (await model.ainvoke(messages)).content}

    builder = StateGraph(State)
    builder.add_node("explain", explain)
    builder.add_edge(START, "explain")
    builder.add_edge("explain", END)
    chunks = [
        message.content
        async for message, metadata in builder.compile().astream({}, stream_mode="messages")
        if message.content
    ]
    expected = model.invoke(messages).content
    assert chunks == tokenize(expected)


async def test_token_delay_paces_the_stream(wash_alert: Alert) -> None:
    model = OfflineAnalystModel(token_delay_ms=10)
    messages = triage_messages(wash_alert, ["wash_trade"], ["The alert is typed wash trade"])
    started = time.monotonic()
    tokens = [chunk async for chunk in model.astream(messages) if chunk.content]
    # A pause between each two tokens.
    assert time.monotonic() - started >= (len(tokens) - 1) * 0.010


def test_prompt_without_facts_block_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="fenced ```json facts block"):
        OfflineAnalystModel().invoke([HumanMessage("Summarise the alert")])
