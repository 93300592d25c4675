"""What one specialist agent keeps across restarts, in one folder of SQLite files.

    <SURVEIL_HOME>/agents/<agent>/      (SURVEIL_AGENT_STATE_DIR/<agent> if set)
        tasks.db        A2A tasks, bounded history (agents/task_store.py)
        events.db       every event of every task, by seq (agents/event_log.py)
        checkpoints.db  LangGraph checkpoints, per task (thread id = A2A task id)
        lock            held while a process serves from this folder

One process per folder: a second one would resume the first one's running tasks as
if they were orphaned, so it refuses to start (the lock dies with its process, also
on kill -9).

A finished task (completed, failed, canceled) is kept for SURVEIL_AGENT_RETENTION_HOURS
(a retried relay may still read it), then `prune` deletes it and its events: a
10-minute analysis logs ~2 MB of events, so nothing else would bound the folder.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.a2a_events import TERMINAL_STATES
from agents.checkpointing import sqlite_checkpointer
from agents.event_log import EventLog
from agents.task_store import BoundedHistoryTaskStore, SqliteTaskStore


class StateInUse(RuntimeError):
    """Another live process serves from the same state folder."""


@dataclass
class AgentState:
    directory: Path
    task_store: BoundedHistoryTaskStore
    event_log: EventLog
    _tasks: SqliteTaskStore  # what task_store stores in
    _lock: IO[str]

    @classmethod
    def open(cls, directory: Path) -> AgentState:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / "lock", "a+")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise StateInUse(
                f"{directory} is in use by another agent process (pid {holder}); give each "
                "process of a specialist its own SURVEIL_AGENT_STATE_DIR or SURVEIL_HOME"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        tasks = SqliteTaskStore(directory / "tasks.db")
        return cls(
            directory,
            BoundedHistoryTaskStore(tasks),
            EventLog(directory / "events.db"),
            tasks,
            lock,
        )

    @asynccontextmanager
    async def checkpointer(self) -> AsyncIterator[AsyncSqliteSaver]:
        """Opened on the server's event loop (aiosqlite binds to it)."""
        async with sqlite_checkpointer(self.directory / "checkpoints.db") as saver:
            yield saver

    def prune(self, retention_s: float, now: float | None = None) -> int:
        """Forget the tasks that finished more than `retention_s` ago; how many."""
        cutoff_ns = int(((time.time() if now is None else now) - retention_s) * 1e9)
        finished = self._tasks.forget_finished(TERMINAL_STATES, cutoff_ns)
        for task_id in finished:
            self.event_log.delete(task_id)
        return len(finished)

    async def aclose(self) -> None:
        self._tasks.close()
        self.event_log.close()
        self._lock.close()  # releases the flock
