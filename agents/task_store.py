"""The specialists' A2A task store: SQLite under SURVEIL_HOME, with a bounded history.

Durable so that a restarted agent still knows its tasks: `tasks/get` answers, an
answer to a question resumes the graph, and a task the process was running when it
died is resumed (agents/server.py).

Why the bound: for every status update the SDK's TaskManager appends the previous
status message to `task.history` of the task it holds, saves that task whole, and
copies it for every subscriber. With one ProgressEvent per status message, a task
that kept them all would cost O(n) per event and O(n²) per task (6,000+ events for a
10-minute analysis). `BoundedHistoryTaskStore.save` therefore trims the history of the
task it is given to the user's messages plus the last `RECENT_EVENTS` agent messages.
It trims that very object, because the TaskManager keeps and grows it between saves;
trimming a copy would bound what is stored but not what is held and copied. Every
event stays in the agent's event log (agents/event_log.py), where a resuming client
reads what it missed.

Why not the SDK's DatabaseTaskStore: it converts the task to JSON and merges it
through the SQLAlchemy ORM on an aiosqlite thread, ~3.5 ms of agent CPU per event
(measured: 3.4–4.6 s per 1,000 events), three times what the whole in-memory path
cost. A save is one task per event, so `SqliteTaskStore` stores the task's protobuf
bytes in one row with the columns `ListTasks` filters and sorts on, through stdlib
sqlite3 on the event loop (WAL, synchronous=NORMAL: a commit is tens of µs).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from a2a.server.context import ServerCallContext
from a2a.server.owner_resolver import OwnerResolver, resolve_user_scope
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Role, Task, TaskState
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import InvalidParamsError
from a2a.utils.task import ListTasksCursor, decode_list_tasks_cursor, encode_list_tasks_cursor

# Agent messages (events) a task keeps in its history: enough for a glance at what
# it did last; older ones are in the event log.
RECENT_EVENTS = 32


def trim_history(task: Task, keep: int = RECENT_EVENTS) -> None:
    """Drop all but the last `keep` agent messages from `task.history`, in place.

    The user's messages (the alert, answers, resume requests) all stay: there are a
    handful per task and the executor reads the alert from them.
    """
    agent_positions = [i for i, m in enumerate(task.history) if m.role != Role.ROLE_USER]
    for index in reversed(agent_positions[:-keep] if keep else agent_positions):
        del task.history[index]


class BoundedHistoryTaskStore(TaskStore):
    """A TaskStore whose tasks keep a bounded history (see the module docstring)."""

    def __init__(self, store: TaskStore, keep: int = RECENT_EVENTS) -> None:
        self._store = store
        self._keep = keep

    async def save(self, task: Task, context: ServerCallContext) -> None:
        trim_history(task, self._keep)
        await self._store.save(task, context)

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        return await self._store.get(task_id, context)

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        return await self._store.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        await self._store.delete(task_id, context)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    owner TEXT NOT NULL,
    id TEXT NOT NULL,
    context_id TEXT NOT NULL,
    state INTEGER NOT NULL,
    has_timestamp INTEGER NOT NULL,
    timestamp_ns INTEGER NOT NULL,
    task BLOB NOT NULL,
    PRIMARY KEY (owner, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_listed ON tasks (owner, has_timestamp, timestamp_ns, id);
"""


class SqliteTaskStore(TaskStore):
    """A2A tasks as protobuf bytes in SQLite, scoped by owner like the SDK's stores."""

    def __init__(self, path: Path | None, owner_resolver: OwnerResolver = resolve_user_scope):
        """`path=None` keeps the tasks in memory (they then die with the process)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._owner = owner_resolver

    async def save(self, task: Task, context: ServerCallContext) -> None:
        has_timestamp = task.status.HasField("timestamp")
        timestamp_ns = task.status.timestamp.ToNanoseconds() if has_timestamp else 0
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self._owner(context),
                    task.id,
                    task.context_id,
                    int(task.status.state),
                    int(has_timestamp),
                    timestamp_ns,
                    task.SerializeToString(),
                ),
            )

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        row = self._db.execute(
            "SELECT task FROM tasks WHERE owner = ? AND id = ?", (self._owner(context), task_id)
        ).fetchone()
        return None if row is None else Task.FromString(row[0])

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Newest first by (has timestamp, timestamp, id), as the SDK's stores list."""
        where: list[str] = ["owner = ?"]
        args: list[str | int] = [self._owner(context)]
        if params.context_id:
            where.append("context_id = ?")
            args.append(params.context_id)
        if params.status:
            where.append("state = ?")
            args.append(int(params.status))
        if params.HasField("status_timestamp_after"):
            where.append("has_timestamp = 1 AND timestamp_ns >= ?")
            args.append(params.status_timestamp_after.ToNanoseconds())
        filtered = " AND ".join(where)
        total = self._db.execute(f"SELECT COUNT(*) FROM tasks WHERE {filtered}", args).fetchone()[0]
        if params.page_token:
            cursor = decode_list_tasks_cursor(params.page_token)
            if cursor is None:
                raise InvalidParamsError(message=f"Invalid page token: {params.page_token}")
            has, ts, last_id = cursor.sort_key()
            filtered += " AND (has_timestamp, timestamp_ns, id) < (?, ?, ?)"
            args += [int(has), ts, last_id]
        page_size = params.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE
        rows = self._db.execute(
            f"SELECT has_timestamp, timestamp_ns, id, task FROM tasks WHERE {filtered} "
            "ORDER BY has_timestamp DESC, timestamp_ns DESC, id DESC LIMIT ?",
            [*args, page_size + 1],
        ).fetchall()
        page = rows[:page_size]
        next_token = None
        if len(rows) > page_size:
            has, ts, last_id, _ = page[-1]
            next_token = encode_list_tasks_cursor(
                ListTasksCursor(timestamp_ns=ts if has else None, task_id=last_id)
            )
        return ListTasksResponse(
            tasks=[Task.FromString(row[3]) for row in page],
            next_page_token=next_token,
            total_size=total,
            page_size=page_size,
        )

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        with self._db:
            self._db.execute(
                "DELETE FROM tasks WHERE owner = ? AND id = ?", (self._owner(context), task_id)
            )

    def forget_finished(self, states: Iterable[TaskState], before_ns: int) -> tuple[str, ...]:
        """Delete tasks (of every owner) in one of `states` whose status is older than
        `before_ns`; their ids."""
        codes = [int(state) for state in states]
        marks = ", ".join("?" * len(codes))
        old = f"state IN ({marks}) AND has_timestamp = 1 AND timestamp_ns < ?"
        with self._db:
            ids = tuple(
                row[0]
                for row in self._db.execute(
                    f"SELECT id FROM tasks WHERE {old}", [*codes, before_ns]
                )
            )
            self._db.execute(f"DELETE FROM tasks WHERE {old}", [*codes, before_ns])
        return ids

    def close(self) -> None:
        self._db.close()
