"""What the workflow and its activities exchange: inputs, outcomes, relay positions.

The workflow imports this module (names and types only); the activities import it
too. Nothing here does I/O.
"""

from __future__ import annotations

from pydantic import BaseModel

from surveil.models import Alert, Determination, Finding, Specialist
from surveil.tasks import Question

# The activities' names: the workflow schedules them by name, so it (and the API,
# which imports the workflow module) never loads the agents' libraries.
TRIAGE = "triage"
SYNTHESIZE = "synthesize"
RUN_SPECIALIST = "run_specialist"
CANCEL_SPECIALIST_TASK = "cancel_specialist_task"
# Query a retried activity asks the workflow: where did my agent's relay stop?
RELAY_POSITION_QUERY = "relay_position"
# Key in the `data` of the status event a relay publishes when it (re)connects to its
# producer: {"a2a_task_id", "a2a_context_id", "seq_base"}. The workflow folds it into
# the agent's RelayPosition.
RELAY_KEY = "relay"


class RelayPosition(BaseModel):
    """How far one agent's events have reached the workflow stream.

    `(agent, seq)` identifies an event in the stream. A relayed event gets
    `seq = seq_base + <its seq in the producing A2A task or graph run>`; a restarted
    producer starts numbering at 0 again, so it gets a new `seq_base` above
    everything already in the stream. `last_seq` is the highest seq of this agent
    that the stream holds: an attempt that resumes skips every event at or below it.
    """

    agent: str
    a2a_task_id: str | None = None
    a2a_context_id: str | None = None
    seq_base: int = 0
    last_seq: int = -1

    @property
    def next_base(self) -> int:
        """The seq_base for a producer that starts numbering from 0 again."""
        return self.last_seq + 1


class SpecialistInput(BaseModel):
    alert: Alert
    agent: Specialist
    position: RelayPosition
    # Set when the specialist asked a question: the analyst's answer, or None with
    # `answer_expired` when nobody answered in time (the finding then needs review).
    answer: str | None = None
    answer_expired: bool = False


class SpecialistOutcome(BaseModel):
    """Either the finding, or the question the specialist is waiting on."""

    finding: Finding | None = None
    question: Question | None = None
    position: RelayPosition


class CancelSpecialistInput(BaseModel):
    agent: Specialist
    a2a_task_id: str


class TriageInput(BaseModel):
    alert: Alert
    position: RelayPosition


class TriageOutcome(BaseModel):
    specialists: list[Specialist]
    reasons: list[str] = []


class SynthesisInput(BaseModel):
    alert: Alert
    findings: list[Finding]
    position: RelayPosition


class SynthesisOutcome(BaseModel):
    determination: Determination
