"""GraphRun: LangGraph stream chunks become ProgressEvents, questions pause and resume."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agents.checkpointing import memory_checkpointer
from agents.offline_model import OfflineAnalystModel
from agents.prompts import triage_messages
from agents.runner import GraphEventError, GraphRun
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert


class State(TypedDict, total=False):
    alert: Alert
    notes: Annotated[list[str], operator.add]  # a reducer: values must not be raw updates
    rationale: str
    answers: Annotated[list[Any], operator.add]


def step(state: State) -> State:
    write = get_stream_writer()
    # Nodes need not name their agent: the run stamps it.
    write(ProgressEvent(type=EventType.step_start, step="collect", progress=0.0).model_dump())
    write({"type": "step_progress", "step": "collect", "progress": 0.5})
    write(ProgressEvent(type=EventType.step_complete, step="collect", progress=1.0).model_dump())
    return {"notes": ["collected"]}


async def explain(state: State) -> State:
    messages = triage_messages(state["alert"], ["wash_trade"], ["typed wash trade"])
    reply = await OfflineAnalystModel().ainvoke(messages)
    return {"rationale": str(reply.text), "notes": ["explained"]}


def ask(state: State) -> State:
    answer = interrupt({"question": "Is ACC-7 linked to ACC-9?", "options": ["yes", "no"]})
    return {"answers": [answer]}


def linear_graph(*nodes: Any, checkpointer: Any = None) -> Any:
    builder = StateGraph(State)
    previous = START
    for node in nodes:
        builder.add_node(node.__name__, node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=checkpointer)


async def collect(run: GraphRun) -> list[ProgressEvent]:
    return [event async for event in run.events()]


async def test_custom_chunks_become_events_stamped_with_the_run_agent(wash_alert: Alert) -> None:
    events = await collect(GraphRun(linear_graph(step), {"alert": wash_alert}, agent="wash_trade"))
    assert [(e.type, e.progress) for e in events] == [
        (EventType.step_start, 0.0),
        (EventType.step_progress, 0.5),
        (EventType.step_complete, 1.0),
    ]
    assert {e.agent for e in events} == {"wash_trade"}


async def test_llm_tokens_become_message_deltas_of_the_calling_node(wash_alert: Alert) -> None:
    run = GraphRun(linear_graph(explain), {"alert": wash_alert}, agent="orchestrator", frame_ms=0)
    events = await collect(run)
    assert len(events) > 10
    assert all(e.type == EventType.message_delta and e.step == "explain" for e in events)
    assert all(e.text for e in events)  # the model's closing empty chunk is skipped
    assert "".join(e.text or "" for e in events) == run.values["rationale"]


async def test_tokens_of_a_step_are_coalesced_into_frames_closed_by_other_events(
    wash_alert: Alert,
) -> None:
    # A frame that never times out: what ends a frame here is content, not the clock.
    async def explain_again(state: State) -> State:
        return await explain(state)

    graph = linear_graph(explain, step, explain_again)
    per_token = await collect(GraphRun(graph, {"alert": wash_alert}, agent="x", frame_ms=0))
    framed = await collect(GraphRun(graph, {"alert": wash_alert}, agent="x", frame_ms=1e9))

    assert [e.type for e in framed] == [
        EventType.message_delta,  # the first explain's answer, one frame
        EventType.step_start,
        EventType.step_progress,
        EventType.step_complete,
        EventType.message_delta,  # the second explain's answer: a new frame
    ]
    tokens = [e.text for e in per_token if e.type == EventType.message_delta]
    assert len(tokens) > 20
    assert "".join(e.text or "" for e in framed) == "".join(tokens)


async def test_a_frame_leaves_when_its_time_is_up_without_waiting_for_the_next_token(
    wash_alert: Alert,
) -> None:
    # The second token is written only once the first frame has reached the reader: a
    # frame that waited for its next token (or its step's end) would never arrive.
    first_frame_out = asyncio.Event()

    async def type_slowly(state: State) -> State:
        write = get_stream_writer()
        write({"type": "message_delta", "step": "type_slowly", "text": "Hello"})
        await first_frame_out.wait()
        write({"type": "message_delta", "step": "type_slowly", "text": " world"})
        return {}

    async def read() -> list[str | None]:
        texts = []
        run = GraphRun(linear_graph(type_slowly), {"alert": wash_alert}, agent="x", frame_ms=20)
        async for event in run.events():
            texts.append(event.text)
            first_frame_out.set()
        return texts

    assert await asyncio.wait_for(read(), 30) == ["Hello", " world"]


async def test_an_error_in_the_graph_reaches_the_reader(wash_alert: Alert) -> None:
    def broken(state: State) -> State:
        raise RuntimeError("market data feed is down")

    with pytest.raises(RuntimeError, match="market data feed is down"):
        await collect(GraphRun(linear_graph(broken), {"alert": wash_alert}, agent="x"))


async def test_values_are_the_final_state_with_reducers_applied(wash_alert: Alert) -> None:
    run = GraphRun(linear_graph(step, explain), {"alert": wash_alert}, agent="wash_trade")
    await collect(run)
    assert run.values["notes"] == ["collected", "explained"]
    assert run.values["alert"] == wash_alert
    assert run.question is None


async def test_custom_chunk_that_is_not_an_event_is_a_clear_error() -> None:
    def scribble(state: State) -> State:
        get_stream_writer()({"kind": "progress", "pct": 50})
        return {}

    run = GraphRun(linear_graph(scribble), {}, agent="wash_trade")
    with pytest.raises(GraphEventError, match="not a ProgressEvent"):
        await collect(run)


async def test_interrupt_is_one_input_required_event_last_and_resume_continues(
    wash_alert: Alert,
) -> None:
    graph = linear_graph(step, ask, explain, checkpointer=memory_checkpointer())
    first = GraphRun(graph, {"alert": wash_alert}, agent="wash_trade", thread_id="alert-WT-1")
    events = await collect(first)
    assert events[-1].type == EventType.input_required
    assert [e.type for e in events].count(EventType.input_required) == 1
    assert events[-1].step == "ask"
    assert events[-1].data == {"question": "Is ACC-7 linked to ACC-9?", "options": ["yes", "no"]}
    assert first.question == events[-1].data
    assert first.values["notes"] == ["collected"]  # the state so far, saved for resume

    resumed = GraphRun(graph, Command(resume="yes"), agent="wash_trade", thread_id="alert-WT-1")
    events = await collect(resumed)
    assert resumed.question is None
    assert resumed.values["answers"] == ["yes"]
    assert resumed.values["notes"] == ["collected", "explained"]
    assert events and events[-1].type == EventType.message_delta


async def test_parallel_questions_surface_one_at_a_time(wash_alert: Alert) -> None:
    def ask_other(state: State) -> State:
        return {"answers": [interrupt({"question": "Second question?", "options": []})]}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_node("ask_other", ask_other)
    builder.add_edge(START, "ask")
    builder.add_edge(START, "ask_other")
    builder.add_edge("ask", END)
    builder.add_edge("ask_other", END)
    graph = builder.compile(checkpointer=memory_checkpointer())
    run = GraphRun(graph, {"alert": wash_alert}, agent="insider_trading")
    events = await collect(run)
    assert [e.type for e in events] == [EventType.input_required]


async def test_a_run_is_iterated_once() -> None:
    run = GraphRun(linear_graph(step), {}, agent="wash_trade")
    await collect(run)
    with pytest.raises(RuntimeError, match="only once"):
        await collect(run)
