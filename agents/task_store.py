"""The specialists' A2A task store: in SQLite under SURVEIL_HOME, with a bounded history.

Durable so that a restarted agent still knows its tasks: `tasks/get` answers, an
answer to a question resumes the graph, and a task the process was running when it
died is resumed (agents/server.py). The SDK's own `DatabaseTaskStore` does the
storing (SQLAlchemy on aiosqlite); this module adds the bound.

Why the bound: for every status update the SDK's TaskManager appends the previous
status message to `task.history` of the task it holds, saves that task whole, and
copies it for every subscriber. With one ProgressEvent per status message, a task
that kept them all would cost O(n) per event and O(n²) per task (6,000+ events for a
10-minute analysis). `save` therefore trims the history of the task it is given to
the user's messages plus the last `RECENT_EVENTS` agent messages. It trims that very
object, because the TaskManager keeps and grows it between saves; trimming a copy
would bound what is stored but not what is held and copied. Every event stays in
the agent's event log (agents/event_log.py), which is where a resuming client reads
what it missed.
"""

from __future__ import annotations

from pathlib import Path

from a2a.server.context import ServerCallContext
from a2a.server.tasks import DatabaseTaskStore, InMemoryTaskStore, TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Role, Task
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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

    def __init__(
        self, store: TaskStore, keep: int = RECENT_EVENTS, engine: AsyncEngine | None = None
    ) -> None:
        self._store = store
        self._keep = keep
        self._engine = engine

    async def aclose(self) -> None:
        """Close the database connections (the store is unusable afterwards)."""
        if self._engine is not None:
            await self._engine.dispose()

    async def save(self, task: Task, context: ServerCallContext) -> None:
        trim_history(task, self._keep)
        await self._store.save(task, context)

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        return await self._store.get(task_id, context)

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        return await self._store.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        await self._store.delete(task_id, context)


def sqlite_task_store(path: Path) -> BoundedHistoryTaskStore:
    """The SDK's DatabaseTaskStore on a SQLite file (created on first use)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
        # WAL: a reader (tasks/get) never waits for the writer (the event stream).
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return BoundedHistoryTaskStore(DatabaseTaskStore(engine), engine=engine)


def memory_task_store() -> BoundedHistoryTaskStore:
    return BoundedHistoryTaskStore(InMemoryTaskStore())
