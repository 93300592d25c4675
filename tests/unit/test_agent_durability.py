"""The specialists' bounded task history and their seq-addressed event log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.types import ListTasksRequest, Message, Role, Task, TaskState
from a2a.utils.errors import InvalidParamsError

from agents.a2a_events import alert_message, event_message
from agents.agent_state import AgentState, StateInUse
from agents.event_log import MAX_PAGE, EventLog
from agents.task_store import SqliteTaskStore, trim_history
from surveil.events import EventType, ProgressEvent


class SimpleUser(User):
    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def user_name(self) -> str:
        return self._name


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


def task(task_id: str, context_id: str, state: TaskState, minute: int | None) -> Task:
    found = Task(id=task_id, context_id=context_id)
    found.status.state = state
    if minute is not None:
        found.status.timestamp.FromDatetime(datetime(2026, 1, 1, 9, minute, tzinfo=UTC))
    return found


async def test_sqlite_task_store_keeps_lists_and_pages_tasks_like_the_sdk(tmp_path: Path) -> None:
    path, me = tmp_path / "tasks.db", ServerCallContext()
    store = SqliteTaskStore(path)
    working, paused = TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_INPUT_REQUIRED
    for t in (
        task("a", "c1", working, 1),
        task("b", "c1", paused, 3),
        task("c", "c2", working, 2),
        task("d", "c2", working, None),
    ):
        await store.save(t, me)
    await store.save(task("a", "c1", working, 4), me)  # an update replaces the task
    store.close()

    store = SqliteTaskStore(path)  # what a restarted agent finds
    assert await store.get("a", me) == task("a", "c1", working, 4)
    someone_else = ServerCallContext(user=SimpleUser("mallory"))
    assert await store.get("a", someone_else) is None

    pages, token = [], ""
    while True:
        page = await store.list(ListTasksRequest(page_size=3, page_token=token), me)
        assert page.total_size == 4
        pages.append([t.id for t in page.tasks])
        if not (token := page.next_page_token):
            break
    assert pages == [["a", "b", "c"], ["d"]]  # newest first, no timestamp last
    by_state = await store.list(ListTasksRequest(status=working, context_id="c2"), me)
    assert [t.id for t in by_state.tasks] == ["c", "d"]
    with pytest.raises(InvalidParamsError):
        await store.list(ListTasksRequest(page_token="not a token"), me)
    await store.delete("b", me)
    assert await store.get("b", me) is None


async def test_prune_forgets_tasks_finished_longer_ago_than_the_retention(tmp_path: Path) -> None:
    state = AgentState.open(tmp_path / "wash_trade")
    me = ServerCallContext()
    completed, working = TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_WORKING
    for task_id, status, minute in (("old-done", completed, 0), ("new-done", completed, 50)):
        await state.task_store.save(task(task_id, "c", status, minute), me)
    await state.task_store.save(task("old-working", "c", working, 0), me)  # still running
    for task_id in ("old-done", "new-done", "old-working"):
        state.event_log.append(task_id, event(0))
    an_hour_after_nine = datetime(2026, 1, 1, 10, tzinfo=UTC).timestamp()

    assert state.prune(retention_s=30 * 60, now=an_hour_after_nine) == 1

    assert await state.task_store.get("old-done", me) is None
    assert state.event_log.next_seq("old-done") == 0
    for kept in ("new-done", "old-working"):
        assert await state.task_store.get(kept, me) is not None
        assert state.event_log.next_seq(kept) == 1
    await state.aclose()
