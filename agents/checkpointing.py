"""Checkpointers for graphs that can stop to ask the analyst (`interrupt`) and resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from surveil import models

# Graph state holds surveil's pydantic models; naming them lets LangGraph restore them
# from a checkpoint without its "unregistered type" warning (and keeps working once
# LangGraph blocks unregistered types by default).
STATE_TYPES: tuple[type, ...] = (
    models.Alert,
    models.AlertType,
    models.Account,
    models.Announcement,
    models.Determination,
    models.Disposition,
    models.Evidence,
    models.EvidenceState,
    models.Finding,
    models.Side,
    models.Specialist,
)


def state_serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


def memory_checkpointer() -> InMemorySaver:
    """An in-process checkpointer: enough to interrupt and resume within one process."""
    return InMemorySaver(serde=state_serializer())


@asynccontextmanager
async def sqlite_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """Checkpoints in a SQLite file: a graph resumes from its last completed node (or
    its question) in a process started after the one that ran it died."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn, serde=state_serializer())
        await saver.setup()
        yield saver
