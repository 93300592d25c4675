"""Types the workflow, the activities and the API share about one investigation."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, computed_field

from surveil.models import Alert, Determination, Finding
from surveil.usage import LLMUsage, total_usage


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
    usage: LLMUsage | None = None  # its LLM calls, summed; None until one reported


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
    # Waiting for one of the tenant's slots (SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT):
    # the position it was given in the queue; None once admitted, or with no cap.
    queue_position: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usage(self) -> LLMUsage | None:
        """The investigation's LLM usage (and cost, with a price table): its agents' sum."""
        return total_usage([agent.usage for agent in self.agents if agent.usage is not None])


class Answer(BaseModel):
    agent: str
    text: str
