"""`AlertCaseWorkflow`: the human side of one alert — owner, decision, approval, audit trail.

Why it is built this way
- The investigation workflow owns what the agents found; this one owns what people
  did about it. Kept apart so the investigation can be retried, continued-as-new or
  rewritten without touching a decision, and so a case's history stays small: tens
  of Updates (one per action), never the token stream.
- One long-lived workflow per alert, id `case_workflow_id(tenant, alert_id)`, derived
  from the investigation's id. The API starts it with the first action it records
  (update-with-start), so there is no separate "create case" step to forget.
- Every action is an Update whose validator enforces the rules before anything is
  written: who may act (roles), a decision needs a comment, an analyst decides a
  case they own, four-eyes (the approver is a supervisor who is not the decider).
  A rejected Update leaves no trace in history; an accepted one appends exactly one
  audit entry. Nothing edits or removes an entry — there is no handler that could.
- The workflow does no I/O and reads no clock but `workflow.now()`; the API passes
  in what it knows (the person from the token, the recommendation, the run/offset,
  the four-eyes setting in force), and the workflow records it.
- The memo carries a summary (owner, status, verdict, outcome, override) so the
  queue lists cases through Temporal visibility without querying each workflow.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from surveil.cases import (
        ACTING_ROLES,
        Action,
        Actor,
        ApproveInput,
        AssignInput,
        AuditEntry,
        CaseStart,
        CaseState,
        DecideInput,
        Decision,
        RecordInput,
        Role,
        Verdict,
        is_override,
    )
    from workflows.investigation import workflow_id_for

CASE_QUERY = "case"
RECORD_UPDATE = "record"
ASSIGN_UPDATE = "assign"
DECIDE_UPDATE = "decide"
APPROVE_UPDATE = "approve"
REJECT_UPDATE = "reject"
WORKFLOW_TYPE = "AlertCaseWorkflow"

# ApplicationError types the API maps to HTTP statuses.
FORBIDDEN = "Forbidden"  # 403: this person may not do this
INVALID = "Invalid"  # 422: the request itself is incomplete
CONFLICT = "Conflict"  # 409: not possible in the case's current state

_TENANT = SearchAttributeKey.for_keyword("Tenant")
MAX_COMMENT = 4000


def case_workflow_id(tenant: str, alert_id: str) -> str:
    return "case-" + workflow_id_for(tenant, alert_id)


def _refuse(kind: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _must_act(actor: Actor) -> None:
    if actor.role not in ACTING_ROLES:
        raise _refuse(FORBIDDEN, f"a {actor.role.value} cannot act on a case (read only)")


@workflow.defn
class AlertCaseWorkflow:
    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        self.case = start.state or CaseState(tenant=start.tenant, alert_id=start.alert_id)

    @workflow.run
    async def run(self, start: CaseStart) -> CaseState:
        if start.state is None:
            workflow.upsert_search_attributes([_TENANT.value_set(start.tenant)])
        self._upsert_memo()
        # Lives as long as the alert; a case sees tens of actions, but should one see
        # thousands, it carries its state into a new run rather than grow without end.
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            CaseStart(tenant=start.tenant, alert_id=start.alert_id, state=self.case)
        )

    # -- reading -------------------------------------------------------------------

    @workflow.query(name=CASE_QUERY)
    def state(self) -> CaseState:
        return self.case

    # -- actions on the investigation, recorded ------------------------------------

    @workflow.update(name=RECORD_UPDATE)
    def record(self, inp: RecordInput) -> AuditEntry:
        return self._append(inp.actor, inp.action, inp.detail, inp.run, inp.offset)

    @record.validator
    def _validate_record(self, inp: RecordInput) -> None:
        _must_act(inp.actor)
        if inp.action not in (
            Action.submit,
            Action.cancel,
            Action.answer,
            Action.retry,
            Action.rerun,
        ):
            raise _refuse(INVALID, f"{inp.action.value} is not recorded this way")
        if inp.action == Action.cancel and not inp.detail.strip():
            raise _refuse(INVALID, "reason: a cancellation needs a reason")

    # -- ownership -------------------------------------------------------------------

    @workflow.update(name=ASSIGN_UPDATE)
    def assign(self, inp: AssignInput) -> CaseState:
        self.case.owner = inp.assignee
        taken = inp.assignee == inp.actor.user
        detail = "took ownership" if taken else f"assigned to {inp.assignee}"
        self._append(inp.actor, Action.assign, detail, inp.run, inp.offset)
        return self.case

    @assign.validator
    def _validate_assign(self, inp: AssignInput) -> None:
        _must_act(inp.actor)
        if inp.actor.role != Role.supervisor and inp.assignee != inp.actor.user:
            raise _refuse(FORBIDDEN, "only a supervisor assigns a case to someone else")
        if self._decided_finally():
            raise _refuse(CONFLICT, "the case is decided; ownership no longer changes")
        if self.case.owner == inp.assignee:
            raise _refuse(CONFLICT, f"the case is already owned by {inp.assignee}")

    # -- the decision ----------------------------------------------------------------

    @workflow.update(name=DECIDE_UPDATE)
    def decide(self, inp: DecideInput) -> CaseState:
        override = is_override(inp.recommendation, inp.verdict, inp.outcome)
        needs_approval = inp.four_eyes and (inp.verdict == Verdict.escalate or override)
        self.case.decision = Decision(
            verdict=inp.verdict,
            outcome=inp.outcome,
            comment=inp.comment.strip(),
            user=inp.actor.user,
            role=inp.actor.role,
            at=workflow.now(),
            recommendation=inp.recommendation,
            override=override,
            needs_approval=needs_approval,
        )
        words = inp.verdict.value + (f" ({inp.outcome.value})" if inp.outcome else "")
        if override:
            words += f", overriding the recommendation {inp.recommendation.value if inp.recommendation else ''}"
        if needs_approval:
            words += "; awaiting a second person's approval"
        self._append(
            inp.actor, Action.decide, f"{words}: {inp.comment.strip()}", inp.run, inp.offset
        )
        return self.case

    @decide.validator
    def _validate_decide(self, inp: DecideInput) -> None:
        _must_act(inp.actor)
        if not inp.comment.strip():
            raise _refuse(INVALID, "comment: a decision needs a comment")
        if len(inp.comment) > MAX_COMMENT:
            raise _refuse(INVALID, f"comment: at most {MAX_COMMENT} characters")
        if inp.verdict == Verdict.close and inp.outcome is None:
            raise _refuse(
                INVALID,
                "outcome: closing needs an outcome (no_action, informal_action, formal_action)",
            )
        if inp.verdict == Verdict.escalate and inp.outcome is not None:
            raise _refuse(INVALID, "outcome: only a closed case has an outcome")
        if not inp.investigation_finished:
            raise _refuse(
                CONFLICT, "the investigation is still running; decide when it has finished"
            )
        if self.case.decision is not None:
            raise _refuse(CONFLICT, f"the case was already decided by {self.case.decision.user}")
        if inp.actor.role == Role.analyst and self.case.owner != inp.actor.user:
            owner = f"it is owned by {self.case.owner}" if self.case.owner else "nobody owns it"
            raise _refuse(FORBIDDEN, f"take ownership before deciding ({owner})")

    @workflow.update(name=APPROVE_UPDATE)
    def approve(self, inp: ApproveInput) -> CaseState:
        decision = self.case.decision
        assert decision is not None  # the validator saw to it
        decision.approved_by = inp.actor.user
        decision.approved_at = workflow.now()
        decision.approval_comment = inp.comment.strip()
        detail = f"approved {decision.user}'s decision" + (
            f": {inp.comment.strip()}" if inp.comment.strip() else ""
        )
        self._append(inp.actor, Action.approve, detail, inp.run, inp.offset)
        return self.case

    @approve.validator
    def _validate_approve(self, inp: ApproveInput) -> None:
        _must_act(inp.actor)
        decision = self.case.decision
        if decision is None or not decision.needs_approval:
            raise _refuse(CONFLICT, "no decision is waiting for approval")
        if decision.approved_by is not None:
            raise _refuse(CONFLICT, f"already approved by {decision.approved_by}")
        if inp.actor.role != Role.supervisor:
            raise _refuse(FORBIDDEN, "only a supervisor approves a decision")
        if inp.actor.user == decision.user:
            raise _refuse(
                FORBIDDEN, "four-eyes: the person who decided cannot approve their own decision"
            )
        if len(inp.comment) > MAX_COMMENT:
            raise _refuse(INVALID, f"comment: at most {MAX_COMMENT} characters")

    @workflow.update(name=REJECT_UPDATE)
    def reject(self, inp: ApproveInput) -> CaseState:
        decision = self.case.decision
        assert decision is not None  # the validator saw to it
        # The decision no longer stands; it stays in the audit trail, with why it was sent back.
        self.case.decision = None
        detail = f"sent back {decision.user}'s decision ({decision.verdict.value}): {inp.comment.strip()}"
        self._append(inp.actor, Action.reject, detail, inp.run, inp.offset)
        return self.case

    @reject.validator
    def _validate_reject(self, inp: ApproveInput) -> None:
        self._validate_approve(inp)
        if not inp.comment.strip():
            raise _refuse(INVALID, "comment: sending a decision back needs a comment")

    # -- internals -------------------------------------------------------------------

    def _decided_finally(self) -> bool:
        return self.case.decision is not None and self.case.decision.final

    def _append(
        self, actor: Actor, action: Action, detail: str, run: int | None, offset: int | None
    ) -> AuditEntry:
        entry = AuditEntry(
            seq=len(self.case.audit),
            at=workflow.now(),
            user=actor.user,
            role=actor.role,
            action=action,
            detail=detail,
            run=run,
            offset=offset,
        )
        self.case.audit.append(entry)
        self._upsert_memo()
        return entry

    def _upsert_memo(self) -> None:
        decision = self.case.decision
        workflow.upsert_memo(
            {
                "owner": self.case.owner,
                "case_status": self.case.status,
                "verdict": decision.verdict.value if decision else None,
                "outcome": decision.outcome.value if decision and decision.outcome else None,
                "override": decision.override if decision else False,
                "decided_by": decision.user if decision else None,
                "actions": len(self.case.audit),
            }
        )
