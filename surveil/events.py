"""The one progress-event model, end to end.

Created by a tool or a graph node, carried inside A2A events between a specialist
and the activity, stored in the workflow stream and written as an SSE frame. Each
layer adds (agent, attempt, seq, offset) and never drops information.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class EventType(StrEnum):
    status = "status"
    step_start = "step_start"
    step_progress = "step_progress"
    step_complete = "step_complete"
    message_delta = "message_delta"  # LLM tokens
    finding = "finding"
    artifact = "artifact"
    error = "error"
    input_required = "input_required"


# Terminal `status` events carry data={"state": one of these}.
TERMINAL_STATES = frozenset({"completed", "failed", "canceled", "timed_out"})

ORCHESTRATOR = "orchestrator"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ProgressEvent(BaseModel):
    type: EventType
    agent: str = ORCHESTRATOR
    step: str | None = None
    title: str | None = None
    progress: float | None = Field(default=None, ge=0.0, le=1.0)
    text: str | None = None
    data: dict[str, Any] | None = None
    timestamp: datetime = Field(default_factory=utcnow)
    # Added along the path:
    seq: int | None = None  # position in the producing agent's own A2A task (dedupe key on resume)
    attempt: int | None = None  # Temporal activity attempt that relayed it

    @property
    def is_terminal(self) -> bool:
        return (
            self.type == EventType.status
            and self.agent == ORCHESTRATOR
            and (self.data or {}).get("state") in TERMINAL_STATES
        )
