"""surveil -> A2A: states, events, tasks and their history.

- A2A task id = context id = alert id.
- Every ProgressEvent becomes a `TaskStatusUpdateEvent` whose message holds the event
  as a data part; findings and the determination also arrive as artifacts.
- Offsets (an event's position in the investigation's stream) travel as decimal
  strings in `metadata.offset`: protobuf's Struct holds numbers as doubles, which
  printed `30.0` and cannot carry every int64 offset exactly. The same text is the SSE
  `id:` of the status update and what `Last-Event-ID` takes back.
- A status message's `messageId` is `<alert id>-<offset>`: unique within the task and
  the same whoever reads it, live or resumed.
"""

from __future__ import annotations

from typing import Any

from a2a.helpers.proto_helpers import new_data_part
from a2a.server.events.event_queue import Event
from a2a.types.a2a_pb2 import (
    Artifact,
    Message,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf.json_format import ParseDict
from google.protobuf.struct_pb2 import Struct

from surveil.events import ProgressEvent
from surveil.models import Alert
from surveil.tasks import TaskSnapshot
from surveil.tasks import TaskState as SurveilState

STATE = {
    SurveilState.submitted: TaskState.TASK_STATE_SUBMITTED,
    SurveilState.working: TaskState.TASK_STATE_WORKING,
    SurveilState.input_required: TaskState.TASK_STATE_INPUT_REQUIRED,
    SurveilState.completed: TaskState.TASK_STATE_COMPLETED,
    SurveilState.failed: TaskState.TASK_STATE_FAILED,
    SurveilState.canceled: TaskState.TASK_STATE_CANCELED,
    SurveilState.timed_out: TaskState.TASK_STATE_FAILED,  # A2A has no timed-out state
}
# A listed investigation's status (api/investigations.py `list`) -> A2A state.
LISTED_STATE = {
    "running": TaskState.TASK_STATE_WORKING,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "canceled": TaskState.TASK_STATE_CANCELED,
    "timed_out": TaskState.TASK_STATE_FAILED,
    "terminated": TaskState.TASK_STATE_FAILED,
}


def struct(data: dict[str, Any]) -> Struct:
    value = Struct()
    value.update(data)
    return value


def event_message(alert_id: str, offset: int, event: ProgressEvent) -> Message:
    return Message(
        message_id=f"{alert_id}-{offset}",
        task_id=alert_id,
        context_id=alert_id,
        role=Role.ROLE_AGENT,
        parts=[new_data_part(event.model_dump(mode="json"))],
    )


def _event_state(event: ProgressEvent, *, run_ended: bool = False) -> TaskState:
    if event.is_terminal and run_ended:
        # A run's end that a retry or re-run followed: the task goes on. Its message
        # still says how that run ended (`data.state`).
        return TaskState.TASK_STATE_WORKING
    if event.is_terminal:
        return STATE[SurveilState((event.data or {})["state"])]
    if event.type == "input_required":
        return TaskState.TASK_STATE_INPUT_REQUIRED
    return TaskState.TASK_STATE_WORKING


def events_for(
    alert_id: str, offset: int, event: ProgressEvent, *, run_ended: bool = False
) -> list[Event]:
    """A2A events for one ProgressEvent (a finding also arrives as an artifact, before
    its status update: the status update is the one that carries the SSE id).
    `run_ended`: a terminal event that later events followed (a retry, a re-run) is
    WORKING, so an A2A client does not stop at it."""
    meta = struct({"offset": str(offset), "type": event.type.value, "agent": event.agent})
    out: list[Event] = []
    if event.type == "finding" and event.data:
        out.append(TaskArtifactUpdateEvent(
            task_id=alert_id, context_id=alert_id, metadata=meta,
            artifact=Artifact(artifact_id=f"finding-{event.agent}", name="finding",
                              parts=[new_data_part(event.data)]),
        ))  # fmt: skip
    out.append(TaskStatusUpdateEvent(
        task_id=alert_id, context_id=alert_id, metadata=meta,
        status=TaskStatus(state=_event_state(event, run_ended=run_ended),
                          message=event_message(alert_id, offset, event),
                          timestamp=event.timestamp),
    ))  # fmt: skip
    return out


def determination_event(alert_id: str, offset: int, determination: dict[str, Any]) -> Event:
    return TaskArtifactUpdateEvent(
        task_id=alert_id, context_id=alert_id,
        metadata=struct({"offset": str(offset), "type": "determination"}),
        artifact=Artifact(artifact_id="determination", name="determination",
                          parts=[new_data_part(determination)]),
    )  # fmt: skip


def user_message(alert_id: str, alert: Alert, sent: dict[str, Any] | None) -> Message:
    """The message that started the task: as the client sent it over A2A (kept in the
    workflow's memo), else the alert as a data part (submitted over REST or the CLI)."""
    message = Message()
    if sent is not None:
        ParseDict(sent, message, ignore_unknown_fields=True)
    else:
        message.message_id = f"{alert_id}-alert"
        message.role = Role.ROLE_USER
        message.parts.append(
            new_data_part({"alert": alert.model_dump(mode="json", exclude={"tenant"})})
        )
    message.task_id, message.context_id = alert_id, alert_id
    return message


def task_from_snapshot(
    alert_id: str, snapshot: TaskSnapshot, history: list[Message] | None = None
) -> Task:
    artifacts = [
        Artifact(artifact_id=f"finding-{f.specialist.value}", name="finding",
                 parts=[new_data_part(f.model_dump(mode="json"))])
        for f in snapshot.findings
    ]  # fmt: skip
    if snapshot.determination is not None:
        artifacts.append(Artifact(
            artifact_id="determination", name="determination",
            parts=[new_data_part(snapshot.determination.model_dump(mode="json"))],
        ))  # fmt: skip
    status = TaskStatus(state=STATE[snapshot.state])
    if snapshot.question is not None:
        status.message.CopyFrom(Message(
            message_id=f"{alert_id}-question", task_id=alert_id, context_id=alert_id,
            role=Role.ROLE_AGENT, parts=[new_data_part(snapshot.question.model_dump(mode="json"))],
        ))  # fmt: skip
    elif snapshot.error:
        status.message.CopyFrom(Message(
            message_id=f"{alert_id}-error", task_id=alert_id, context_id=alert_id,
            role=Role.ROLE_AGENT, parts=[new_data_part({"error": snapshot.error})],
        ))  # fmt: skip
    return Task(
        id=alert_id, context_id=alert_id, status=status, artifacts=artifacts,
        history=history or [],
        metadata=struct({"state": snapshot.state.value, "run": snapshot.run,
                         "last_offset": str(snapshot.last_offset)}),
    )  # fmt: skip


def listed_task(item: dict[str, Any]) -> Task:
    return Task(
        id=item["id"], context_id=item["id"],
        status=TaskStatus(state=LISTED_STATE.get(item["status"], TaskState.TASK_STATE_WORKING)),
        metadata=struct({k: v for k, v in item.items() if v is not None}),
    )  # fmt: skip
