"""One A2A AgentExecutor for every specialist: it runs the specialist's LangGraph graph
and maps what the graph does onto the A2A task.

- each ProgressEvent -> `TaskStatusUpdateEvent(working)` whose message carries the
  event (with `seq` = its position in the task) as a data part;
- the graph's question -> `input-required` carrying the `input_required` event; the
  next message on the task (the answer) resumes the graph on the same thread
  (thread_id = A2A task id, state kept by the graph's checkpointer);
- the finding -> an artifact named `finding`, then `completed` with a status event;
- an exception -> `failed` with an `error` event; a cancel -> `canceled`;
- a resume request (`{"resume": ...}`, sent by the server for the tasks a dead
  process was running) -> a `working` status event saying how the task resumes, then
  the graph continues from its last checkpoint (the node that was running runs
  again), or from the alert when no checkpoint was saved.

Every event is appended to the agent's event log (agents/event_log.py) before the
SDK sees it; the log numbers the task's events, also across restarts.

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

from a2a.helpers.proto_helpers import get_data_parts
from a2a.server.agent_execution import AgentExecutor, RequestContext, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskStore, TaskUpdater
from a2a.types import Message, Part, SendMessageRequest, Task, TaskState
from a2a.utils.errors import InvalidParamsError, UnsupportedOperationError
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from agents.a2a_events import (
    FINDING_ARTIFACT,
    TERMINAL_STATES,
    BadMessage,
    alert_from_message,
    answer_from_message,
    event_message,
    finding_part,
    is_resume_message,
)
from agents.checkpointing import memory_checkpointer
from agents.event_log import EventLog
from agents.runner import GraphRun, resume_command
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, Finding
from surveil.settings import Settings, get_settings

log = logging.getLogger(__name__)

GraphFactory = Callable[..., Any]  # build_graph(checkpointer=...) -> compiled graph


class DeliberateFailure(RuntimeError):
    """Raised when SURVEIL_FAIL_SPECIALIST names this specialist (retry tests)."""


# What a task started by a message without an alert (a generic client's "hello") asks
# for, in INPUT_REQUIRED; the reply that carries the alert starts the analysis on it.
WHICH_ALERT = (
    "Which alert should I analyse? This agent analyses one trade-surveillance alert per "
    'task. Reply on this task with the alert as a data part {"alert": {...}} (id, type, '
    "account, instrument, window_start, window_end), or cancel it."
)
STILL_NO_ALERT = "That message holds no alert either. "

# Task states a dead process may have left behind while it ran the task.
RESUMABLE_STATES = frozenset({TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING})


@dataclass
class _Publisher:
    """Publishes one task's events in order, numbering them with `seq` and logging
    each before the SDK (and so any client) sees it."""

    updater: TaskUpdater
    agent: str
    log: EventLog
    finished: bool = False  # a terminal state was published; nothing may follow it

    def __post_init__(self) -> None:
        self.seq = self.log.next_seq(self.updater.task_id)

    async def publish(self, event: ProgressEvent, state: TaskState) -> None:
        event = event.model_copy(update={"seq": self.seq})
        self.log.append(self.updater.task_id, event)
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


class _CommittedSteps:
    """A compiled graph whose runs commit each step's checkpoint before the next step
    starts (LangGraph's `durability="sync"`). By default ("async") checkpoints are
    written while the next steps run; seen lagging several steps behind on a busy
    machine, so a process killed mid-narrative had saved no checkpoint at all and its
    successor started over. A commit per step costs milliseconds; a step, seconds."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph

    def astream(self, *args: Any, **kwargs: Any) -> Any:
        return self._graph.astream(*args, durability="sync", **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


class SpecialistExecutor(AgentExecutor):
    """Serves one specialist graph over A2A; one instance per server process."""

    def __init__(
        self,
        agent: str,
        build_graph: GraphFactory,
        *,
        settings: Settings | None = None,
        event_log: EventLog | None = None,
    ) -> None:
        self.agent = agent
        self.settings = settings or get_settings()
        self.event_log = event_log or EventLog(None)
        self._build_graph = build_graph
        # Checkpoints let an input-required task resume, and a restarted process
        # resume a task: in memory until the server hands over a durable one
        # (`use_checkpointer`, on the server's event loop, before it serves).
        self.checkpointer: BaseCheckpointSaver = memory_checkpointer()
        self._graph: Any = None
        self._running: dict[str, _Running] = {}
        self._stalled: set[str] = set()  # tasks that went silent on purpose already

    @property
    def graph(self) -> Any:
        if self._graph is None:
            self._graph = _CommittedSteps(self._build_graph(checkpointer=self.checkpointer))
        return self._graph

    def use_checkpointer(self, checkpointer: BaseCheckpointSaver) -> None:
        self.checkpointer = checkpointer
        self._graph = None

    def is_running(self, task_id: str) -> bool:
        return task_id in self._running

    @property
    def fails_on_purpose(self) -> bool:
        name = (self.settings.fail_specialist or "").replace("-", "_")
        return name == self.agent

    def _stall_on_purpose(self, task_id: str) -> float:
        """Seconds to go silent now (SURVEIL_STALL_SPECIALIST, relay idle-timeout tests)."""
        name = (self.settings.stall_specialist or "").replace("-", "_")
        if name != self.agent or task_id in self._stalled:
            return 0.0
        self._stalled.add(task_id)
        return self.settings.stall_specialist_s

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = str(context.task_id), str(context.context_id)
        task = context.current_task
        # SpecialistRequests validated the request; this re-check covers a task whose
        # state changed while the request waited in the task's queue.
        try:
            graph_input: dict[str, Any] | Command | None = _graph_input(task, context)
        except BadMessage as exc:
            raise InvalidParamsError(message=str(exc)) from None

        if task is None:
            await event_queue.enqueue_event(_new_task(context))
        if graph_input is _ASK_FOR_ALERT:
            await self._ask_for_alert(event_queue, task_id, context_id, again=task is not None)
            return
        publisher = self._publisher(event_queue, task_id, context_id)
        if graph_input is _RESUME:
            assert task is not None
            graph_input = await self._resume(task, publisher)
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

    async def _ask_for_alert(
        self, event_queue: EventQueue, task_id: str, context_id: str, *, again: bool
    ) -> None:
        """INPUT_REQUIRED, asking for the alert, in words (no graph ran: nothing goes
        to the event log, which numbers an analysis's events)."""
        updater = TaskUpdater(event_queue, task_id, context_id)
        text = (STILL_NO_ALERT if again else "") + WHICH_ALERT
        await updater.requires_input(message=updater.new_agent_message([Part(text=text)]))

    async def _resume(self, task: Task, publisher: _Publisher) -> dict[str, Any] | None:
        """Where a task a dead process was running goes on; says so in the stream."""
        saved = await self.graph.aget_state({"configurable": {"thread_id": task.id}})
        if saved.next:
            steps = ", ".join(saved.next)
            how = f"continues from its last checkpoint; step {steps} runs again"
            graph_input: dict[str, Any] | None = None  # None: go on from the checkpoint
        elif saved.values.get("finding") is not None:  # died between the end and `completed`
            how = "its analysis had finished; the finding is published from the checkpoint"
            graph_input = None
        else:
            how = "no checkpoint was saved, so the analysis starts over"
            graph_input = {"alert": _alert_of(task)}
        log.warning("%s: resuming task %s: %s", self.agent, task.id, how)
        await publisher.status(
            TaskState.TASK_STATE_WORKING,
            "working",
            text=f"the {self.agent} agent restarted; {how}",
            resumed=True,
            from_checkpoint=graph_input is None,
        )
        return graph_input

    async def _run_graph(
        self, graph_input: dict[str, Any] | Command | None, task_id: str, publisher: _Publisher
    ) -> None:
        run = GraphRun(self.graph, graph_input, agent=self.agent, thread_id=task_id)
        try:
            # events() is an async generator (typed as AsyncIterator): close it on failure.
            async with aclosing(run.events()) as graph_events:  # type: ignore[type-var]
                async for event in graph_events:
                    if event.type == EventType.input_required:
                        await publisher.publish(event, TaskState.TASK_STATE_INPUT_REQUIRED)
                        return  # the run ends here; the answer starts the next one
                    await publisher.publish(event, TaskState.TASK_STATE_WORKING)
                    if event.type == EventType.step_complete and self.fails_on_purpose:
                        raise DeliberateFailure(
                            f"{self.agent} fails on purpose after its first step "
                            f"(SURVEIL_FAIL_SPECIALIST={self.settings.fail_specialist})"
                        )
                    stall = (
                        self._stall_on_purpose(task_id)
                        if event.type == EventType.step_complete
                        else 0.0
                    )
                    if stall:
                        log.warning(
                            "%s: task %s: silent %g s on purpose", self.agent, task_id, stall
                        )
                        await asyncio.sleep(stall)
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

    def _publisher(self, event_queue: EventQueue, task_id: str, context_id: str) -> _Publisher:
        updater = TaskUpdater(event_queue, task_id, context_id)
        return _Publisher(updater, self.agent, self.event_log)

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
            publisher = self._publisher(event_queue, task_id, str(context.context_id))
        await publisher.status(TaskState.TASK_STATE_CANCELED, "canceled")
        await self.checkpointer.adelete_thread(task_id)


class SpecialistRequests(SimpleRequestContextBuilder):
    """Rejects a malformed request before the SDK creates or queues anything for it.

    A message without a task id must carry an alert; one with a task id is an answer
    and the task must be waiting for input, or a resume request for a task that is
    working but that no request of this process runs. The caller gets an
    invalid-params error that says what is wrong, and no task is created.
    """

    def __init__(self, task_store: TaskStore, executor: SpecialistExecutor) -> None:
        super().__init__()
        self._tasks = task_store
        self._executor = executor

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
            message = params.message
            if stored is not None and stored.status.state in TERMINAL_STATES:
                raise UnsupportedOperationError(
                    message=f"task {task_id} is {_state_name(stored)}; it takes no more messages"
                )
            try:
                if task_id and stored is not None and is_resume_message(message):
                    _check_resumable(stored)
                    if self._executor.is_running(task_id):
                        raise BadMessage(f"task {task_id} is running; nothing to resume")
                elif task_id and stored is not None:
                    _check_waiting(stored)
                    if _has_alert(stored, message):
                        answer_from_message(message)
                    elif get_data_parts(message.parts):
                        alert_from_message(message)
                elif not task_id and get_data_parts(message.parts):
                    alert_from_message(message)  # text alone asks which alert
            except BadMessage as exc:
                raise InvalidParamsError(message=str(exc)) from None
            if stored is not None and not context_id:
                context_id = stored.context_id  # a reply naming only its task is in its context
        return await super().build(context, params, task_id, context_id, task)


def _state_name(task: Task) -> str:
    return TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower()


def _check_waiting(task: Task) -> None:
    if task.status.state != TaskState.TASK_STATE_INPUT_REQUIRED:
        raise BadMessage(f"task {task.id} is {_state_name(task)}, not waiting for input")


def _check_resumable(task: Task) -> None:
    if task.status.state not in RESUMABLE_STATES:
        raise BadMessage(f"task {task.id} is {_state_name(task)}; only a working task resumes")


# `_graph_input` for a resume request: where it goes on is read from the checkpoint.
_RESUME: dict[str, Any] = {}
# `_graph_input` for a message without an alert on a task that has none: ask for one.
_ASK_FOR_ALERT: dict[str, Any] = {}


def _has_alert(task: Task, current: Message | None) -> bool:
    """Whether a message before `current` gave the task its alert."""
    for message in task.history:
        if current is not None and message.message_id == current.message_id:
            continue
        try:
            alert_from_message(message)
            return True
        except BadMessage:
            continue
    return False


def _graph_input(task: Task | None, context: RequestContext) -> dict[str, Any] | Command:
    """The alert starts the graph; an answer resumes it where it asked; a resume
    request continues a task a dead process was running; text on a task that has no
    alert yet asks for one."""
    message = context.message
    if task is None or (not is_resume_message(message) and not _has_alert(task, message)):
        if task is not None:
            _check_waiting(task)
        if message is None or not get_data_parts(message.parts):
            return _ASK_FOR_ALERT
        return {"alert": alert_from_message(message)}
    if is_resume_message(context.message):
        _check_resumable(task)
        return _RESUME
    _check_waiting(task)
    return resume_command(answer_from_message(context.message))


def _alert_of(task: Task) -> Alert:
    """The alert that started a task (its first user message carrying one)."""
    for message in task.history:
        try:
            return alert_from_message(message)
        except BadMessage:
            continue
    raise BadMessage(f"task {task.id} holds no alert to start over from")


def _new_task(context: RequestContext) -> Task:
    """The Task the SDK needs before any status update, with the user's message."""
    task = Task(id=str(context.task_id), context_id=str(context.context_id))
    task.status.state = TaskState.TASK_STATE_SUBMITTED
    if context.message is not None:
        task.history.append(context.message)
    return task
