"""Types the workflow, the activities and the API share about one investigation."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from surveil.models import Alert, Determination, Finding


class TaskState(StrEnum):
    submitted = "submitted"
    working = "working"
    input_required = "input_required"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"
    timed_out = "timed_out"


TERMINAL_TASK_STATES = frozenset(
    {TaskState.completed, TaskState.failed, TaskState.canceled, TaskState.timed_out}
)


class StepState(BaseModel):
    step: str
    title: str = ""
    status: str = "running"  # running | done | failed
    progress: float = 0.0


class AgentState(BaseModel):
    agent: str
    status: str = "pending"  # pending | working | input_required | done | failed
    steps: list[StepState] = []


class Question(BaseModel):
    agent: str
    text: str
    options: list[str] = []


class TaskSnapshot(BaseModel):
    alert: Alert
    state: TaskState = TaskState.submitted
    agents: list[AgentState] = []
    findings: list[Finding] = []
    determination: Determination | None = None
    question: Question | None = None
    error: str | None = None
    run: int = 1  # 1 + number of retries
    last_offset: int = -1


class Answer(BaseModel):
    agent: str
    text: str
