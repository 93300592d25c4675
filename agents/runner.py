"""Run a LangGraph graph and see it as ProgressEvents: the one mapping every layer uses.

The CLI, the A2A executor and the Temporal activities all run graphs through `GraphRun`,
so a token, a step or a question looks the same wherever it is watched:

- `custom` chunks are ProgressEvents the nodes wrote with `get_stream_writer()`;
  the run stamps them with its agent name.
- `messages` chunks are LLM tokens. They leave as `message_delta` frames whose step
  is the node that called the LLM: the tokens of one (agent, step) that arrive within
  `stream_frame_ms` of the frame's first are joined into one event. A frame leaves
  when that time is up, whether or not another token came (so no token waits longer
  than stream_frame_ms), or earlier when any other event closes it (so order is
  kept). A 10-minute answer is then at most ~25 events a second instead of one per
  token — what keeps the durable stream inside Temporal's limits — and the
  concatenated text is the same.
- an `__interrupt__` in `updates` is a question for the analyst; it becomes one
  `input_required` event, the last one of the run. Resume with
  `GraphRun(graph, resume_command(answer), thread_id=<same thread>)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, Interrupt
from pydantic import ValidationError

from surveil.events import EventType, ProgressEvent
from surveil.settings import get_settings

_INTERRUPT = "__interrupt__"
# "values" is for `run.values` only; it adds no events.
_STREAM_MODES = ["custom", "updates", "messages", "values"]


def resume_command(answer: str | None) -> Command:
    """The input that resumes a graph paused on a question with the analyst's answer.

    LangGraph reads `Command(resume=None)` as "no resume at all" and refuses it, so
    "nobody answered in time" resumes with `{"answer": None}`, which the graphs accept.
    """
    return Command(resume=answer if answer is not None else {"answer": None})


class GraphEventError(ValueError):
    """A node wrote a custom stream chunk that is not a ProgressEvent."""


class GraphRun:
    """One pass of a compiled graph over an input (or a `Command(resume=...)`).

    Iterate `events()` once; afterwards `values` holds the graph's state and, when the
    graph stopped to ask the analyst, `question` holds the `input_required` data.
    """

    def __init__(
        self,
        graph: Any,
        input_or_command: Mapping[str, Any] | Command | None,
        *,
        agent: str,
        thread_id: str | None = None,
        config: RunnableConfig | None = None,
        frame_ms: float | None = None,
    ) -> None:
        self.graph = graph
        self.input = input_or_command
        self.agent = agent
        self.thread_id = thread_id or uuid.uuid4().hex
        self.config = merge_configs(config, {"configurable": {"thread_id": self.thread_id}})
        if (tenant := _tenant_of(input_or_command)) is not None:  # for the LLM metrics' label
            self.config = merge_configs(self.config, {"metadata": {"tenant": tenant}})
        self.values: dict[str, Any] = {}
        self.question: dict[str, Any] | None = None
        self._started = False
        frame_ms = get_settings().stream_frame_ms if frame_ms is None else frame_ms
        self._frame_s = frame_ms / 1000

    @property
    def interrupted(self) -> bool:
        return self.question is not None

    async def events(self) -> AsyncIterator[ProgressEvent]:
        frame: ProgressEvent | None = None
        frame_closes = 0.0
        raw = _Prefetch(self._raw_events())
        try:
            while True:
                if frame is not None and not await raw.ready_by(frame_closes):
                    # No frame waits longer than stream_frame_ms for its next token.
                    yield frame
                    frame = None
                    continue
                event = await raw.next()
                if event is None:
                    break
                if event.type == EventType.message_delta:
                    if (
                        frame is not None
                        and frame.step == event.step
                        and time.monotonic() < frame_closes
                    ):
                        frame.text = (frame.text or "") + (event.text or "")
                        continue
                    if frame is not None:
                        yield frame
                    frame, frame_closes = event, time.monotonic() + self._frame_s
                    continue
                if frame is not None:
                    yield frame
                    frame = None
                yield event
            if frame is not None:
                yield frame
        finally:
            await raw.aclose()

    async def _raw_events(self) -> AsyncIterator[ProgressEvent]:
        if self._started:
            raise RuntimeError("a GraphRun can be iterated only once; start a new GraphRun")
        self._started = True
        pending_question: ProgressEvent | None = None
        async for mode, chunk in self.graph.astream(
            self.input, self.config, stream_mode=_STREAM_MODES
        ):
            if mode == "custom":
                yield self._custom_event(chunk)
            elif mode == "messages":
                event = self._message_event(*chunk)
                if event is not None:
                    yield event
            elif mode == "updates":
                # Several parallel nodes may interrupt in one step; the run asks one
                # question at a time and keeps draining so the step's writes are saved.
                if _INTERRUPT in chunk and pending_question is None:
                    pending_question = self._question_event(chunk[_INTERRUPT])
            elif mode == "values" and isinstance(chunk, dict):
                self.values = {key: value for key, value in chunk.items() if key != _INTERRUPT}
        asking_node = await self._read_final_state()
        if pending_question is not None:
            self.question = pending_question.data
            yield pending_question.model_copy(update={"step": asking_node})

    def _custom_event(self, chunk: Any) -> ProgressEvent:
        try:
            event = (
                chunk if isinstance(chunk, ProgressEvent) else ProgressEvent.model_validate(chunk)
            )
        except ValidationError as exc:
            raise GraphEventError(
                f"agent {self.agent!r}: a node wrote a custom stream chunk that is not a "
                f"ProgressEvent ({exc.error_count()} errors): {chunk!r:.300}"
            ) from exc
        # The run knows whose graph this is; nodes need not repeat it.
        return event.model_copy(update={"agent": self.agent})

    def _message_event(self, message: Any, metadata: Mapping[str, Any]) -> ProgressEvent | None:
        # Human/tool messages also appear in this mode when a node writes them to state.
        if not isinstance(message, AIMessage):
            return None
        text = str(message.text)
        if not text:
            return None
        return ProgressEvent(
            type=EventType.message_delta,
            agent=self.agent,
            step=metadata.get("langgraph_node"),
            text=text,
        )

    def _question_event(self, interrupts: tuple[Interrupt, ...]) -> ProgressEvent:
        value = interrupts[0].value if interrupts else None
        if isinstance(value, Mapping):
            question = str(value.get("question", ""))
            options = [str(option) for option in value.get("options", [])]
        else:
            question, options = str(value or ""), []
        return ProgressEvent(
            type=EventType.input_required,
            agent=self.agent,
            title="Question for the analyst",
            text=question,
            data={"question": question, "options": options},
        )

    async def _read_final_state(self) -> str | None:
        """Settle `values`; return the name of the node waiting for an answer, if known."""
        # With a checkpointer the saved state is authoritative (it also covers a resume
        # that ran no step); without one the last "values" chunk is the state.
        if not isinstance(getattr(self.graph, "checkpointer", None), BaseCheckpointSaver):
            return None
        snapshot = await self.graph.aget_state(self.config)
        if snapshot.values:
            self.values = dict(snapshot.values)
        return next((task.name for task in snapshot.tasks if task.interrupts), None)


class _Prefetch:
    """Reads an async iterator in a task of its own, so the reader can stop waiting
    for the next item (a frame is due) without cancelling the iterator: LangGraph's
    stream runs in one task and one context from its first step to its last."""

    def __init__(self, source: AsyncIterator[ProgressEvent]) -> None:
        self._source = source
        self._items: asyncio.Queue[ProgressEvent | BaseException | None] = asyncio.Queue(256)
        self._task = asyncio.create_task(self._pump())
        self._head: ProgressEvent | BaseException | None = None
        self._has_head = False

    async def _pump(self) -> None:
        try:
            async for item in self._source:
                await self._items.put(item)
        except Exception as exc:  # handed to the reader, raised where it reads
            await self._items.put(exc)
            return
        await self._items.put(None)

    async def ready_by(self, deadline: float) -> bool:
        """Whether an item (or the end) is there by `deadline` (time.monotonic())."""
        if not self._has_head and not self._items.empty():
            self._head, self._has_head = self._items.get_nowait(), True
        if not self._has_head:
            try:
                self._head = await asyncio.wait_for(
                    self._items.get(), max(0.0, deadline - time.monotonic())
                )
            except TimeoutError:
                return False
            self._has_head = True
        return True

    async def next(self) -> ProgressEvent | None:
        """The next item; None at the end; the source's exception, raised."""
        if self._has_head:
            item, self._head, self._has_head = self._head, None, False
        else:
            item = await self._items.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _tenant_of(graph_input: Any) -> str | None:
    """The tenant of the alert a graph input carries (a resume carries none)."""
    alert = graph_input.get("alert") if isinstance(graph_input, Mapping) else None
    tenant = alert.get("tenant") if isinstance(alert, Mapping) else getattr(alert, "tenant", None)
    return str(tenant) if tenant else None
