"""One A2A AgentExecutor for every specialist: it runs the specialist's LangGraph graph
and maps what the graph does onto the A2A task.

- each ProgressEvent -> `TaskStatusUpdateEvent(working)` whose message carries the
  event (with `seq` = its position in the task) as a data part;
- the graph's question -> `input-required` carrying the `input_required` event; the
  next message on the task (the answer) resumes the graph on the same thread
  (thread_id = A2A task id, state kept by the graph's checkpointer);
- the finding -> an artifact named `finding`, then `completed` with a status event;
- an exception -> `failed` with an `error` event; a cancel -> `canceled`.

The graph knows nothing about A2A and this module nothing about surveillance; the
wire encoding is in `agents.a2a_events`, which the A2A client shares.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from a2a.server.agent_execution import AgentExecutor, RequestContext, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskStore, TaskUpdater
from a2a.types import SendMessageRequest, Task, TaskState
from a2a.utils.errors import InvalidParamsError
from langgraph.types import Command

from agents.a2a_events import (
    FINDING_ARTIFACT,
    TERMINAL_STATES,
    BadMessage,
    alert_from_message,
    answer_from_message,
    event_message,
    finding_part,
    next_seq,
)
from agents.checkpointing import memory_checkpointer
from agents.runner import GraphRun, resume_command
from surveil.events import EventType, ProgressEvent
from surveil.models import Finding
from surveil.settings import Settings, get_settings

log = logging.getLogger(__name__)

GraphFactory = Callable[..., Any]  # build_graph(checkpointer=...) -> compiled graph


class DeliberateFailure(RuntimeError):
    """Raised when SURVEIL_FAIL_SPECIALIST names this specialist (retry tests)."""


@dataclass
class _Publisher:
    """Publishes one task's events in order, numbering them with `seq`."""

    updater: TaskUpdater
    agent: str
    seq: int
    finished: bool = False  # a terminal state was published; nothing may follow it

    async def publish(self, event: ProgressEvent, state: TaskState) -> None:
        event = event.model_copy(update={"seq": self.seq})
        self.seq += 1
        message = event_message(
            event, task_id=self.updater.task_id, context_id=self.updater.context_id
        )
        self.finished = state in TERMINAL_STATES
        await self.updater.update_status(state, message=message)

    async def status(self, state: TaskState, label: str, **data: Any) -> None:
        event = ProgressEvent(
            type=EventType.error if state == TaskState.TASK_STATE_FAILED else EventType.status,
            agent=self.agent,
            text=data.pop("text", None),
            data={"state": label, **data},
        )
        await self.publish(event, state)


@dataclass
class _Running:
    graph_task: asyncio.Task[None]
    publisher: _Publisher


class SpecialistExecutor(AgentExecutor):
    """Serves one specialist graph over A2A; one instance per server process."""

    def __init__(
        self, agent: str, build_graph: GraphFactory, *, settings: Settings | None = None
    ) -> None:
        self.agent = agent
        self.settings = settings or get_settings()
        # Checkpoints let an input-required task resume; they live as long as the
        # process, like the A2A task store.
        self.checkpointer = memory_checkpointer()
        self.graph = build_graph(checkpointer=self.checkpointer)
        self._running: dict[str, _Running] = {}
        # seq to continue from, for tasks waiting for input: the stored task may not
        # yet hold the last event when the answer (or a cancel) arrives.
        self._paused_seq: dict[str, int] = {}

    @property
    def fails_on_purpose(self) -> bool:
        name = (self.settings.fail_specialist or "").replace("-", "_")
        return name == self.agent

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = str(context.task_id), str(context.context_id)
        task = context.current_task
        # SpecialistRequests validated the request; this re-check covers a task whose
        # state changed while the request waited in the task's queue.
        try:
            graph_input = _graph_input(task, context)
        except BadMessage as exc:
            raise InvalidParamsError(message=str(exc)) from None

        if task is None:
            await event_queue.enqueue_event(_new_task(context))
        publisher = self._publisher(event_queue, task_id, context_id, task)
        graph_task = asyncio.create_task(
            self._run_graph(graph_input, task_id, publisher), name=f"graph:{task_id}"
        )
        self._running[task_id] = _Running(graph_task, publisher)
        try:
            # `wait`, not `await`: a cancel() cancels graph_task and then writes the
            # terminal state itself; execute must not die of that CancelledError.
            await asyncio.wait({graph_task})
        finally:
            self._running.pop(task_id, None)
            if not graph_task.done():  # the server cancelled execute itself
                graph_task.cancel()

    async def _run_graph(
        self, graph_input: dict[str, Any] | Command, task_id: str, publisher: _Publisher
    ) -> None:
        run = GraphRun(self.graph, graph_input, agent=self.agent, thread_id=task_id)
        try:
            # events() is an async generator (typed as AsyncIterator): close it on failure.
            async with aclosing(run.events()) as graph_events:  # type: ignore[type-var]
                async for event in graph_events:
                    if event.type == EventType.input_required:
                        await publisher.publish(event, TaskState.TASK_STATE_INPUT_REQUIRED)
                        self._paused_seq[task_id] = publisher.seq
                        return  # the run ends here; the answer starts the next one
                    await publisher.publish(event, TaskState.TASK_STATE_WORKING)
                    if event.type == EventType.step_complete and self.fails_on_purpose:
                        raise DeliberateFailure(
                            f"{self.agent} fails on purpose after its first step "
                            f"(SURVEIL_FAIL_SPECIALIST={self.settings.fail_specialist})"
                        )
            finding = run.values.get("finding")
            if finding is None:
                raise RuntimeError(f"the {self.agent} graph ended without a finding")
            finding = Finding.model_validate(finding)
            await publisher.updater.add_artifact([finding_part(finding)], name=FINDING_ARTIFACT)
            await publisher.status(TaskState.TASK_STATE_COMPLETED, "completed")
        except Exception as exc:
            if isinstance(exc, DeliberateFailure):
                log.warning("%s: task %s: %s", self.agent, task_id, exc)
                text = str(exc)
            else:
                log.exception("%s: task %s failed", self.agent, task_id)
                text = f"{self.agent} failed: {type(exc).__name__}: {exc}"
            await publisher.status(
                TaskState.TASK_STATE_FAILED, "failed", text=text, error=type(exc).__name__
            )
        await self.checkpointer.adelete_thread(task_id)  # a finished task never resumes

    def _publisher(
        self, event_queue: EventQueue, task_id: str, context_id: str, task: Task | None
    ) -> _Publisher:
        seq = max(next_seq(task), self._paused_seq.pop(task_id, 0))
        return _Publisher(TaskUpdater(event_queue, task_id, context_id), self.agent, seq)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id = str(context.task_id)
        running = self._running.pop(task_id, None)
        if running is not None:
            running.graph_task.cancel()
            await asyncio.wait({running.graph_task})
            publisher = running.publisher
            if publisher.finished:  # it completed or failed before the cancel landed
                return
        else:  # waiting for input: no graph runs
            publisher = self._publisher(
                event_queue, task_id, str(context.context_id), context.current_task
            )
        await publisher.status(TaskState.TASK_STATE_CANCELED, "canceled")
        await self.checkpointer.adelete_thread(task_id)


class SpecialistRequests(SimpleRequestContextBuilder):
    """Rejects a malformed request before the SDK creates or queues anything for it.

    A message without a task id must carry an alert; one with a task id is an answer
    and the task must be waiting for input. The caller gets an invalid-params error
    that says what is wrong, and no task is created.
    """

    def __init__(self, task_store: TaskStore) -> None:
        super().__init__()
        self._tasks = task_store

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        if params is not None:
            stored = await self._tasks.get(task_id, context) if task_id else None
            try:
                if task_id and stored is not None:
                    _check_waiting(stored)
                    answer_from_message(params.message)
                elif not task_id:
                    alert_from_message(params.message)
            except BadMessage as exc:
                raise InvalidParamsError(message=str(exc)) from None
        return await super().build(context, params, task_id, context_id, task)


def _check_waiting(task: Task) -> None:
    if task.status.state != TaskState.TASK_STATE_INPUT_REQUIRED:
        state = TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower()
        raise BadMessage(f"task {task.id} is {state}, not waiting for input")


def _graph_input(task: Task | None, context: RequestContext) -> dict[str, Any] | Command:
    """The alert starts the graph; an answer resumes it where it asked."""
    if task is None:
        return {"alert": alert_from_message(context.message)}
    _check_waiting(task)
    return resume_command(answer_from_message(context.message))


def _new_task(context: RequestContext) -> Task:
    """The Task the SDK needs before any status update, with the user's message."""
    task = Task(id=str(context.task_id), context_id=str(context.context_id))
    task.status.state = TaskState.TASK_STATE_SUBMITTED
    if context.message is not None:
        task.history.append(context.message)
    return task
