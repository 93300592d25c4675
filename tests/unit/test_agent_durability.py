"""The specialists' bounded task history and their seq-addressed event log."""

from __future__ import annotations

from pathlib import Path

import pytest
from a2a.types import Message, Role, Task

from agents.a2a_events import alert_message, event_message
from agents.agent_state import AgentState, StateInUse
from agents.event_log import MAX_PAGE, EventLog
from agents.task_store import trim_history
from surveil.events import EventType, ProgressEvent


def event(seq: int) -> ProgressEvent:
    return ProgressEvent(type=EventType.message_delta, agent="wash_trade", text=f"t{seq}", seq=seq)


def test_trim_keeps_every_user_message_and_the_last_agent_messages(wash_alert) -> None:
    task = Task(id="t", context_id="c")
    task.history.append(alert_message(wash_alert, task_id="t", context_id="c"))
    for seq in range(10):
        task.history.append(event_message(event(seq), task_id="t", context_id="c"))
    task.history.append(Message(message_id="answer", role=Role.ROLE_USER, task_id="t"))
    task.history.append(event_message(event(10), task_id="t", context_id="c"))

    trim_history(task, keep=3)

    roles = [m.role for m in task.history]
    assert roles == [
        Role.ROLE_USER,
        Role.ROLE_AGENT,
        Role.ROLE_AGENT,
        Role.ROLE_USER,
        Role.ROLE_AGENT,
    ]
    assert task.history[0].parts == alert_message(wash_alert).parts


def test_event_log_numbers_pages_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    log = EventLog(path)
    assert log.next_seq("a") == 0
    appended = [event(seq) for seq in range(5)]
    for each in appended:
        log.append("a", each)
    log.append("b", event(0))
    log.close()

    reopened = EventLog(path)
    assert reopened.next_seq("a") == 5 and reopened.next_seq("b") == 1
    assert [e.seq for e in reopened.after("a", 1, limit=2)] == [2, 3]
    assert [e.seq for e in reopened.after("a", -1)] == [0, 1, 2, 3, 4]
    assert reopened.after("a", 4) == []
    assert reopened.after("a", -1, limit=10 * MAX_PAGE) == reopened.after("a", -1)
    assert reopened.after("a", -1) == appended  # the events as they were appended
    with pytest.raises(ValueError, match="no seq"):
        reopened.append("a", event(5).model_copy(update={"seq": None}))


def test_a_state_folder_serves_one_process_at_a_time(tmp_path: Path) -> None:
    first = AgentState.open(tmp_path / "wash_trade")
    with pytest.raises(StateInUse, match="in use by another agent process"):
        AgentState.open(tmp_path / "wash_trade")
    first._lock.close()  # what the process's death does
    AgentState.open(tmp_path / "wash_trade")._lock.close()
