"""Every ProgressEvent a specialist published, per A2A task, addressed by `seq`.

Why a log beside the A2A task: the SDK's TaskManager moves each status message into
`task.history` and the task is saved (and copied to every subscriber) whole on every
event, so a task that kept all its events would cost O(n) per event, O(n²) per task.
The task therefore keeps only its recent history (agents/task_store.py), and this
log keeps everything, so a relay that resumes at any `seq` reads what it missed here
(`GET /tasks/{id}/events?after=SEQ`, agents/server.py) instead of in the task.

The executor appends an event here before it hands it to the SDK, so anything a
client saw (live, in a snapshot or in `tasks/get`) is already in the log, and the
next seq of a task is the log's, also after a restart (the log is a SQLite file
under SURVEIL_HOME). stdlib sqlite3, called on the event loop: an insert is tens of
microseconds in WAL mode with synchronous=NORMAL, cheaper than a thread hop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from surveil.events import ProgressEvent

# One page of `after()`: ~300 bytes an event, so a page stays well under 1 MB.
MAX_PAGE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID
"""


class EventLog:
    """Append-only, seq-addressed events of every task of one agent."""

    def __init__(self, path: Path | None) -> None:
        """`path=None` keeps the log in memory (it then dies with the process)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def append(self, task_id: str, event: ProgressEvent) -> None:
        if event.seq is None:
            raise ValueError(f"an event of task {task_id} has no seq: {event!r:.200}")
        with self._db:
            self._db.execute(
                "INSERT INTO task_events (task_id, seq, event) VALUES (?, ?, ?)",
                (task_id, event.seq, event.model_dump_json(exclude_none=True)),
            )

    def next_seq(self, task_id: str) -> int:
        """The seq the task's next event gets (0 for a task with none yet)."""
        row = self._db.execute(
            "SELECT MAX(seq) FROM task_events WHERE task_id = ?", (task_id,)
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def after(self, task_id: str, seq: int, limit: int = MAX_PAGE) -> list[ProgressEvent]:
        """Up to `limit` events of the task with a seq above `seq`, in seq order."""
        rows = self._db.execute(
            "SELECT event FROM task_events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (task_id, seq, max(1, min(limit, MAX_PAGE))),
        ).fetchall()
        return [ProgressEvent.model_validate_json(row[0]) for row in rows]

    def delete(self, task_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM task_events WHERE task_id = ?", (task_id,))

    def close(self) -> None:
        self._db.close()
