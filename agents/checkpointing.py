"""Checkpointers for graphs that can stop to ask the analyst (`interrupt`) and resume."""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

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
