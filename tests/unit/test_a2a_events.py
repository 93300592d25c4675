"""The encoding of surveil's events, findings, alerts and answers in A2A messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from a2a.compat.v0_3 import conversions
from a2a.types import (
    Message,
    Part,
    Role,
    StreamResponse,
    Task,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)

from agents.a2a_events import (
    FINDING_ARTIFACT,
    BadMessage,
    alert_from_message,
    alert_message,
    answer_from_message,
    answer_message,
    data_part,
    event_from_message,
    event_message,
    events_in,
    finding_from_task,
    finding_in,
    finding_part,
    task_events,
)
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, AlertType, Evidence, Finding, Specialist

ALERT = Alert(
    id="A-1",
    type=AlertType.wash_trade,
    account="ACC-1",
    instrument="ZETA",
    window_start=datetime(2024, 3, 4, 9, tzinfo=UTC),
    window_end=datetime(2024, 3, 4, 17, tzinfo=UTC),
)


def progress(seq: int, type: EventType = EventType.step_progress) -> ProgressEvent:
    return ProgressEvent(
        type=type, agent="wash_trade", step="pairs", progress=0.25, data={"pairs": 3}, seq=seq
    )


def task_with(events: list[ProgressEvent]) -> Task:
    """A task as the SDK stores it: earlier status messages in history, the last in status."""
    messages = [event_message(e, task_id="t", context_id="c") for e in events]
    task = Task(id="t", context_id="c", history=[alert_message(ALERT), *messages[:-1]])
    task.status.CopyFrom(TaskStatus(state=TaskState.TASK_STATE_WORKING, message=messages[-1]))
    return task


def test_progress_event_round_trips_through_a_message() -> None:
    event = progress(7)
    decoded = event_from_message(event_message(event, task_id="t", context_id="c"))
    assert decoded == event
    assert decoded is not None and decoded.seq == 7 and decoded.data == {"pairs": 3}


def test_progress_event_survives_the_a2a_0_3_wire_format() -> None:
    event = progress(3)
    legacy = conversions.to_compat_message(event_message(event, task_id="t", context_id="c"))
    assert event_from_message(conversions.to_core_message(legacy)) == event


def test_user_messages_and_foreign_data_parts_carry_no_event() -> None:
    assert event_from_message(alert_message(ALERT)) is None
    foreign = Message(message_id="m", role=Role.ROLE_AGENT, parts=[data_part({"type": "nope"})])
    assert event_from_message(foreign) is None


def test_task_events_lists_history_and_status_in_seq_order() -> None:
    task = task_with([progress(0), progress(1), progress(2, EventType.step_complete)])
    assert [e.seq for e in task_events(task)] == [0, 1, 2]


def test_events_in_reads_a_task_snapshot_and_a_status_update() -> None:
    snapshot = StreamResponse(task=task_with([progress(0), progress(1)]))
    assert [e.seq for e in events_in(snapshot)] == [0, 1]
    update = StreamResponse(
        status_update=TaskStatusUpdateEvent(
            task_id="t",
            context_id="c",
            status=TaskStatus(
                state=TaskState.TASK_STATE_WORKING,
                message=event_message(progress(5), task_id="t", context_id="c"),
            ),
        )
    )
    assert [e.seq for e in events_in(update)] == [5]


def test_finding_round_trips_through_an_artifact() -> None:
    finding = Finding(
        specialist=Specialist.wash_trade,
        score=0.82,
        evidence=[Evidence(name="round_trips", value=4, threshold=2, passed=True)],
        summary="four round trips",
    )
    task = task_with([progress(0)])
    task.artifacts.add(artifact_id="a", name=FINDING_ARTIFACT, parts=[finding_part(finding)])
    assert finding_from_task(task) == finding
    assert finding_in(StreamResponse(task=task)) == finding


def test_alert_round_trips_through_a_user_message() -> None:
    message = alert_message(ALERT)
    assert message.role == Role.ROLE_USER
    assert alert_from_message(message) == ALERT


@pytest.mark.parametrize(
    ("parts", "complaint"),
    [
        ([Part(text="investigate A-1 please")], 'expected a data part {"alert"'),
        ([data_part({"alert": {"id": "A-1"}})], "invalid alert: type: Field required"),
        (
            [data_part({"alert": {**ALERT.model_dump(mode="json"), "colour": "red"}})],
            "colour: Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_alert_is_rejected_with_the_reason(parts: list[Part], complaint: str) -> None:
    message = Message(message_id="m", role=Role.ROLE_USER, parts=parts)
    with pytest.raises(BadMessage) as caught:
        alert_from_message(message)
    assert complaint in str(caught.value)


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        (answer_message("yes", task_id="t", context_id="c"), "yes"),
        (answer_message(None, task_id="t", context_id="c"), None),
        (Message(message_id="m", role=Role.ROLE_USER, parts=[Part(text=" no \n")]), "no"),
    ],
)
def test_answer_is_read_from_data_or_text(message: Message, answer: str | None) -> None:
    assert answer_from_message(message) == answer


def test_answer_of_the_wrong_shape_is_rejected() -> None:
    with pytest.raises(BadMessage, match="string or null"):
        answer_from_message(
            Message(message_id="m", role=Role.ROLE_USER, parts=[data_part({"answer": 3})])
        )
    with pytest.raises(BadMessage, match="expected the answer"):
        answer_from_message(Message(message_id="m", role=Role.ROLE_USER))
