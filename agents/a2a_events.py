"""surveil's events and findings inside A2A messages, for both ends of the wire.

The specialist's executor (server) and the `run_specialist` activity (client) share
these helpers, so the encoding lives in one place. Only a2a's protobuf types are
imported: no server or HTTP dependencies.

Encoding
- A ProgressEvent travels as the single data part of an agent `Message`, carried by a
  `TaskStatusUpdateEvent`. Its `seq` is its position in the A2A task (0, 1, 2 …,
  continuing across an input-required pause) and is the dedupe key on reconnect.
- The Finding travels as the data part of an artifact named `finding`.
- The alert goes in as a user message with a data part `{"alert": Alert json}`; the
  analyst's answer as text (`"yes"`) or a data part `{"answer": "yes" | null}`, where
  `null` means nobody answered in time.

Data parts are `google.protobuf.Value`s, so whole numbers come back as floats
(`3` -> `3.0`); the pydantic models accept that for their int fields.

What the SDK's server keeps (a2a-sdk 1.3) and what surveil's agents add
- When a new status arrives, the SDK moves the previous status message into
  `task.history` and saves the task whole. surveil's agents keep only the last
  `agents.task_store.RECENT_EVENTS` agent messages there (and every user message):
  a task holding all its events would cost O(n) per event. Every event stays in the
  agent's event log, read with `GET <agent url>/tasks/{id}/events?after=SEQ&limit=N`
  (`EVENT_LOG_PATH`; JSON `{"task_id", "events": [ProgressEvent json, ...]}`, at most
  1,000 a page, in seq order). The log holds an event before any client can see it.
- `tasks/get` returns the task with that recent history plus the event in
  `status.message`; `task_events(task)` returns those in `seq` order.
- `tasks/resubscribe` (`SubscribeToTask`) first sends the whole Task as it is now,
  then the live events. The live tap is opened before that snapshot is read, so
  nothing falls in between, but an event can arrive twice (in the snapshot and live).
- Resubscribing to a task in a terminal state (completed, failed, canceled) is an
  error (`UnsupportedOperationError`); the task's log and artifacts are then final.
- A stream can end without a terminal or input-required state: the client
  disconnected, the agent process died, or the server evicted a reader that fell
  1024 events behind.
- Tasks, the log and the graphs' checkpoints are SQLite files under SURVEIL_HOME: a
  restarted agent still knows its tasks and resumes those it was running from their
  last checkpoint, saying so in a status event (the request that resumes them is a
  user message `{"resume": ...}`, `resume_message`).

So a client that lost its stream, having seen events up to `last_seq`:
1. `tasks/get(id)`; if the task is unknown the agent lost it (another SURVEIL_HOME,
   say): start a new task.
2. Relay events with `seq > last_seq` in seq order, from `task_events(task)`, and
   whenever the next one is not `last_seq + 1`, first read the gap from the log.
   Take the finding from `finding_from_task(task)`. If the state is terminal or
   input-required, stop here.
3. Otherwise `tasks/resubscribe(id)`; drop every event with `seq <= last_seq`
   (`events_in(response)` reads events from a Task snapshot and from status updates
   alike), fill gaps from the log as in 2, and repeat from 1 if this stream is cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from a2a.helpers.proto_helpers import new_data_message
from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    StreamResponse,
    Task,
    TaskState,
)
from google.protobuf import json_format, struct_pb2
from pydantic import ValidationError

from surveil.events import ProgressEvent
from surveil.models import Alert, Finding

FINDING_ARTIFACT = "finding"
# The agent's event log of one task (agents/server.py); query: after=SEQ, limit=N.
EVENT_LOG_PATH = "/tasks/{task_id}/events"

TERMINAL_STATES = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
# The task waits for a new message; the stream of the current request ends here.
PAUSED_STATES = frozenset({TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED})


class BadMessage(ValueError):
    """A message does not carry what this agent expects (its text says what)."""


# -- parts -------------------------------------------------------------------


def data_part(data: dict[str, Any]) -> Part:
    return Part(data=json_format.ParseDict(data, struct_pb2.Value()))


def part_data(part: Part) -> Any:
    """The JSON value of a data part (None for other parts)."""
    if not part.HasField("data"):
        return None
    return json_format.MessageToDict(part.data)


def _data_parts(parts: Iterable[Part]) -> list[Any]:
    return [part_data(p) for p in parts if p.HasField("data")]


def _data_message(
    data: dict[str, Any], role: Role, task_id: str, context_id: str, message_id: str | None = None
) -> Message:
    """A message of one data part, under a fresh id unless the caller names one."""
    message = new_data_message(data, context_id=context_id, task_id=task_id, role=role)
    if message_id:
        message.message_id = message_id
    return message


# -- progress events ---------------------------------------------------------


def event_message(event: ProgressEvent, *, task_id: str, context_id: str) -> Message:
    """The agent message that carries one ProgressEvent."""
    data = event.model_dump(mode="json", exclude_none=True)
    return _data_message(data, Role.ROLE_AGENT, task_id, context_id)


def event_from_message(message: Message) -> ProgressEvent | None:
    """The ProgressEvent in an agent message, or None if it carries none."""
    if message.role != Role.ROLE_AGENT:
        return None
    for data in _data_parts(message.parts):
        if isinstance(data, dict) and "type" in data:
            try:
                return ProgressEvent.model_validate(data)
            except ValidationError:
                continue
    return None


def task_events(task: Task) -> list[ProgressEvent]:
    """Every ProgressEvent recorded in a task (history + current status), by seq."""
    messages = list(task.history)
    if task.status.HasField("message"):
        messages.append(task.status.message)
    events = [e for e in map(event_from_message, messages) if e is not None]
    return sorted(events, key=lambda e: -1 if e.seq is None else e.seq)


def events_in(response: StreamResponse) -> list[ProgressEvent]:
    """ProgressEvents in one streamed response (a Task snapshot holds many)."""
    if response.HasField("task"):
        return task_events(response.task)
    if response.HasField("status_update") and response.status_update.status.HasField("message"):
        event = event_from_message(response.status_update.status.message)
        return [event] if event is not None else []
    return []


def state_of(response: StreamResponse) -> TaskState | None:
    """The task state a streamed response reports, if it reports one."""
    if response.HasField("task"):
        return response.task.status.state
    if response.HasField("status_update"):
        return response.status_update.status.state
    return None


# -- findings ----------------------------------------------------------------


def finding_part(finding: Finding) -> Part:
    return data_part(finding.model_dump(mode="json"))


def finding_from_artifact(artifact: Artifact) -> Finding | None:
    if artifact.name != FINDING_ARTIFACT:
        return None
    for data in _data_parts(artifact.parts):
        if isinstance(data, dict):
            return Finding.model_validate(data)
    return None


def finding_from_task(task: Task) -> Finding | None:
    for artifact in task.artifacts:
        finding = finding_from_artifact(artifact)
        if finding is not None:
            return finding
    return None


def finding_in(response: StreamResponse) -> Finding | None:
    if response.HasField("artifact_update"):
        return finding_from_artifact(response.artifact_update.artifact)
    if response.HasField("task"):
        return finding_from_task(response.task)
    return None


# -- requests: the alert and the analyst's answer -----------------------------


def alert_message(
    alert: Alert, *, task_id: str = "", context_id: str = "", message_id: str | None = None
) -> Message:
    """The user message that starts an investigation of `alert`."""
    data = {"alert": alert.model_dump(mode="json")}
    return _data_message(data, Role.ROLE_USER, task_id, context_id, message_id)


def alert_from_message(message: Message | None) -> Alert:
    """The alert a request carries; BadMessage says what is wrong with it."""
    if message is None:
        raise BadMessage("the request has no message")
    for data in _data_parts(message.parts):
        if isinstance(data, dict) and "alert" in data:
            try:
                return Alert.model_validate(data["alert"])
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, err['loc'])) or 'alert'}: {err['msg']}"
                    for err in exc.errors()
                )
                raise BadMessage(f"invalid alert: {problems}") from None
    raise BadMessage('expected a data part {"alert": {...}} holding the alert to investigate')


def resume_message(task_id: str, context_id: str, reason: str) -> Message:
    """The user message asking an agent to resume a task nobody runs any more."""
    return _data_message({"resume": reason}, Role.ROLE_USER, task_id, context_id)


def is_resume_message(message: Message | None) -> bool:
    if message is None or message.role != Role.ROLE_USER:
        return False
    return any(isinstance(d, dict) and "resume" in d for d in _data_parts(message.parts))


def answer_message(
    answer: str | None, *, task_id: str, context_id: str, message_id: str | None = None
) -> Message:
    """The user message that answers the agent's question (None: no answer in time)."""
    return _data_message({"answer": answer}, Role.ROLE_USER, task_id, context_id, message_id)


def answer_from_message(message: Message | None) -> str | None:
    """The analyst's answer: a data part {"answer": str | null} or plain text."""
    if message is None:
        raise BadMessage("the request has no message")
    for data in _data_parts(message.parts):
        if isinstance(data, dict) and "answer" in data:
            answer = data["answer"]
            if answer is None or isinstance(answer, str):
                return answer
            raise BadMessage(f'"answer" must be a string or null, not {type(answer).__name__}')
    texts = [p.text for p in message.parts if p.HasField("text") and p.text.strip()]
    if texts:
        return "\n".join(texts).strip()
    raise BadMessage('expected the answer as text or as a data part {"answer": "..." | null}')
