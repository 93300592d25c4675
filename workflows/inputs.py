"""The investigation workflow's input and the progress a run carries: pydantic models.

They live outside workflows/investigation.py so the worker's sandbox imports them
passed through, once per process: the sandbox re-imports a workflow's module for every
run, and building these pydantic classes again was about 6 % of the worker's CPU with
100 investigations starting (py-spy, docs/benchmarks.md).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from activities.contracts import RelayPosition
from surveil.models import Alert, Finding, Specialist
from surveil.stream import StreamCursor
from surveil.tasks import Question, TaskState
from workflows.snapshot import EventFold

# A run hands off (continue-as-new) at any of these: under half of Temporal's limits.
DEFAULT_MAX_HISTORY_EVENTS = 4_000
DEFAULT_MAX_HISTORY_BYTES = 4_000_000
DEFAULT_MAX_UPDATES = 500
DEFAULT_MAX_RUN_EVENTS = 20_000


class Progress(BaseModel):
    """What a run has achieved; carried by continue-as-new."""

    state: TaskState = TaskState.submitted
    specialists: list[Specialist] | None = None  # None until triage decided
    findings: dict[str, Finding] = {}
    questions: dict[str, Question] = {}
    question_deadlines: dict[str, datetime] = {}
    answers: dict[str, str] = {}  # received, not yet delivered to the specialist
    fold: EventFold = Field(default_factory=EventFold)


class InvestigationInput(BaseModel):
    alert: Alert
    reuse_findings: list[Finding] = []  # from the failed run a retry continues
    stream: StreamCursor = Field(default_factory=StreamCursor)
    published: dict[str, int] = {}  # last batch taken per publisher (BatchDeduper)
    run: int = 1  # 1 + number of retries
    input_timeout_s: float = 120.0
    # This run hands off (continue-as-new) when any of these is reached.
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS
    max_history_bytes: int = DEFAULT_MAX_HISTORY_BYTES
    max_updates: int = DEFAULT_MAX_UPDATES
    max_run_events: int = DEFAULT_MAX_RUN_EVENTS
    # Set by continue-as-new only: the run continues where the previous one stopped.
    progress: Progress | None = None
    # Carried into a retry run so `(agent, seq)` stays unique across runs.
    positions: dict[str, RelayPosition] = {}
