"""Types of a case: the people who act on an alert, their decision and its audit trail.

Shared by the case workflow (`workflows/case.py`, which owns and enforces them) and
the API (which names the person from the bearer token and reads the case back).
The agents' determination is only a recommendation; a `Decision` is what a person
decided, with a reason, and an `AuditEntry` is one thing a person did.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from surveil.models import Disposition


class Role(StrEnum):
    analyst = "analyst"  # investigates, takes ownership, decides
    supervisor = "supervisor"  # also assigns and approves what needs a second person
    viewer = "viewer"  # reads only


ACTING_ROLES = frozenset({Role.analyst, Role.supervisor})


class Actor(BaseModel):
    """Who did something: named by the API from the bearer token, never by the client."""

    user: str = Field(min_length=1, max_length=128)
    role: Role


class Action(StrEnum):
    submit = "submit"
    cancel = "cancel"
    answer = "answer"
    retry = "retry"
    rerun = "rerun"
    assign = "assign"
    decide = "decide"
    approve = "approve"
    reject = "reject"  # the second person sends a decision back: it no longer stands


class Verdict(StrEnum):
    """What a person decided (the vocabulary of TT's dispositions)."""

    escalate = "escalate"
    close = "close"


class Outcome(StrEnum):
    """How a closed case ended; required when the verdict is `close`."""

    no_action = "no_action"
    informal_action = "informal_action"
    formal_action = "formal_action"


class AuditEntry(BaseModel):
    seq: int  # 0, 1, 2… in the order the case workflow accepted them
    at: datetime
    user: str
    role: Role
    action: Action
    detail: str = ""  # what, in words: the reason, the answer, the comment, the assignee
    run: int | None = None  # the investigation run it applied to
    offset: int | None = None  # the investigation's last stream offset when it happened


class Decision(BaseModel):
    verdict: Verdict
    outcome: Outcome | None = None
    comment: str
    user: str
    role: Role
    at: datetime
    recommendation: Disposition | None = None  # the agents' disposition it was made on
    override: bool = False  # differs from the recommendation
    needs_approval: bool = False  # four-eyes applied when it was made
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_comment: str = ""

    @property
    def final(self) -> bool:
        return not self.needs_approval or self.approved_by is not None


def is_override(
    recommendation: Disposition | None, verdict: Verdict, outcome: Outcome | None
) -> bool:
    """A decision differs from the recommendation unless it escalates what the agents
    escalated or closes without action what they found to be a false positive. A
    `needs_review` (or missing) recommendation recommends nothing, so nothing overrides it."""
    if recommendation == Disposition.escalate:
        return verdict != Verdict.escalate
    if recommendation == Disposition.close_false_positive:
        return not (verdict == Verdict.close and outcome == Outcome.no_action)
    return False


class CaseState(BaseModel):
    """What the case workflow's `case` query answers."""

    tenant: str
    alert_id: str
    owner: str | None = None
    decision: Decision | None = None
    audit: list[AuditEntry] = []

    @property
    def status(self) -> str | None:
        """The case's own status once a person decided; None while the investigation's
        state is what the queue shows."""
        if self.decision is None:
            return None
        if not self.decision.final:
            return "awaiting_approval"
        return "escalated" if self.decision.verdict == Verdict.escalate else "closed"


# -- Update inputs (the API fills `actor` from the token) ----------------------------


class RecordInput(BaseModel):
    """An action taken on the investigation (submit, cancel, answer, retry, rerun)."""

    actor: Actor
    action: Action
    detail: str = ""
    run: int | None = None
    offset: int | None = None


class AssignInput(BaseModel):
    actor: Actor
    assignee: str = Field(min_length=1, max_length=128)
    run: int | None = None
    offset: int | None = None


class DecideInput(BaseModel):
    actor: Actor
    verdict: Verdict
    outcome: Outcome | None = None
    comment: str
    recommendation: Disposition | None = None
    investigation_finished: bool = True
    four_eyes: bool = False  # the setting in force when the decision is made
    run: int | None = None
    offset: int | None = None


class ApproveInput(BaseModel):
    """Approve (or, for `reject`, send back: then `comment` is required)."""

    actor: Actor
    comment: str = ""
    run: int | None = None
    offset: int | None = None


class CaseStart(BaseModel):
    tenant: str
    alert_id: str
    state: CaseState | None = None  # carried by continue-as-new
