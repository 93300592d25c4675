"""REST resource: the case of an alert — ownership, the decision, its approval, the audit trail.

The agents' determination is a recommendation; these routes record what a person
decided. The person comes from the bearer token. The rules (roles, mandatory
comment, four-eyes) are enforced by the case workflow's Update validators, so they
hold whichever API process (or other client) sends the action. The audit trail is
read-only: there is no route that edits or deletes an entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api import evidence_pack
from api.auth import Principal
from api.deps import ActingPerson, AlertId, CurrentPerson, Services, ServicesDep
from api.evidence_pack import EvidencePack
from api.investigations import InvestigationNotFound, bind_alert_logs
from api.problems import not_found
from api.report_render import render_html, render_pdf
from surveil.cases import (
    ApproveInput,
    AssignInput,
    AuditEntry,
    CaseState,
    DecideInput,
    Outcome,
    Verdict,
)
from surveil.store import Store
from surveil.tasks import TERMINAL_TASK_STATES
from workflows import case as wf_case

router = APIRouter(prefix="/api", tags=["cases"])


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="Who owns the case from now on; omit it to take ownership yourself. "
        "Only a supervisor assigns to someone else.",
    )  # fmt: skip


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    outcome: Outcome | None = Field(
        default=None, description="Required when the verdict is close; none for escalate."
    )
    comment: str = Field(max_length=4000, description="Why. Required (not blank).")


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=4000)


class Case(BaseModel):
    """The case as the API shows it: its own status plus the state of the decision."""

    id: str
    status: str | None = Field(
        description="awaiting_approval | escalated | closed once someone decided; "
        "null while the investigation's state is the status"
    )
    owner: str | None
    decision: dict[str, Any] | None
    audit: list[AuditEntry]


def case_view(alert_id: str, case: CaseState) -> Case:
    decision = case.decision.model_dump(mode="json") if case.decision else None
    if decision is not None and case.decision is not None:
        decision["final"] = case.decision.final
    return Case(
        id=alert_id, status=case.status, owner=case.owner, decision=decision, audit=case.audit
    )


async def _position(
    services: Services, tenant: str, alert_id: str
) -> tuple[int | None, int | None]:
    """The investigation's (run, last offset) an action applies to: (None, None) for
    an alert in the store not investigated yet; 404 for an alert nobody knows."""
    try:
        snapshot = await services.investigations.snapshot(tenant, alert_id)
    except InvestigationNotFound:
        stored = Store.open(services.settings).get_alert(alert_id, tenant=tenant)
        if stored is None:
            raise not_found("alert") from None
        return None, None
    return snapshot.run, snapshot.last_offset


async def _act(
    services: Services, person: Principal, alert_id: str, update: str, inp: BaseModel
) -> Case:
    """Send one action to the alert's case workflow and answer with the case it left."""
    state = await services.cases.update(person.tenant, alert_id, update, inp, result_type=CaseState)
    return case_view(alert_id, state)


@router.get(
    "/alerts/{alert_id}/case",
    response_model=Case,
    summary="The alert's case: owner, decision, audit trail",
)
async def get_case(services: ServicesDep, person: CurrentPerson, alert_id: AlertId) -> Case:
    bind_alert_logs(person.tenant, alert_id)
    return case_view(alert_id, await _known_case(services, person.tenant, alert_id))


@router.get(
    "/alerts/{alert_id}/audit", response_model=list[AuditEntry],
    summary="Every action on the alert: who, when, what, and the run/offset it applied to (read-only)",
)  # fmt: skip
async def get_audit(
    services: ServicesDep, person: CurrentPerson, alert_id: AlertId
) -> list[AuditEntry]:
    bind_alert_logs(person.tenant, alert_id)
    return (await _known_case(services, person.tenant, alert_id)).audit


async def _known_case(services: Services, tenant: str, alert_id: str) -> CaseState:
    """The case of an alert this tenant knows (stored or investigated); 404 otherwise,
    like every other alert route: another tenant's alert does not exist here."""
    state = await services.cases.state(tenant, alert_id)
    if state.audit:  # somebody acted on it: it exists
        return state
    if await asyncio.to_thread(Store.open().get_alert, alert_id, tenant=tenant) is not None:
        return state
    try:
        await services.investigations.ensure_exists(tenant, alert_id)
    except InvestigationNotFound:
        raise not_found("alert") from None
    return state


@router.post(
    "/alerts/{alert_id}/assign", response_model=Case,
    summary="Take ownership of the case (no assignee), or assign it (supervisors)",
)  # fmt: skip
async def assign(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: AssignIn | None = None
) -> Case:
    bind_alert_logs(person.tenant, alert_id)
    run, offset = await _position(services, person.tenant, alert_id)
    assignee = (body.assignee if body else None) or person.user
    return await _act(
        services, person, alert_id, wf_case.ASSIGN_UPDATE,
        AssignInput(actor=person.actor, assignee=assignee, run=run, offset=offset),
    )  # fmt: skip


@router.post(
    "/alerts/{alert_id}/decision", response_model=Case,
    summary="Decide: escalate, or close with an outcome; a comment is required",
)  # fmt: skip
async def decide(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: DecisionIn
) -> Case:
    bind_alert_logs(person.tenant, alert_id)
    # A decision rests on a finished investigation; 404 if there is none.
    snapshot = await services.investigations.snapshot(person.tenant, alert_id)
    recommendation = snapshot.determination.disposition if snapshot.determination else None
    return await _act(
        services, person, alert_id, wf_case.DECIDE_UPDATE,
        DecideInput(
            actor=person.actor, verdict=body.verdict, outcome=body.outcome, comment=body.comment,
            recommendation=recommendation,
            investigation_finished=snapshot.state in TERMINAL_TASK_STATES,
            four_eyes=services.settings.four_eyes, run=snapshot.run, offset=snapshot.last_offset,
        ),
    )  # fmt: skip


@router.post(
    "/alerts/{alert_id}/rejection", response_model=Case,
    summary="Send back a decision that waits for approval (four-eyes; supervisors; comment required)",
)  # fmt: skip
async def reject(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: ApprovalIn
) -> Case:
    bind_alert_logs(person.tenant, alert_id)
    run, offset = await _position(services, person.tenant, alert_id)
    return await _act(
        services, person, alert_id, wf_case.REJECT_UPDATE,
        ApproveInput(actor=person.actor, comment=body.comment, run=run, offset=offset),
    )  # fmt: skip


@router.post(
    "/alerts/{alert_id}/approval", response_model=Case,
    summary="Approve a decision that needs a second person (four-eyes; supervisors)",
)  # fmt: skip
async def approve(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: ApprovalIn | None = None
) -> Case:
    bind_alert_logs(person.tenant, alert_id)
    run, offset = await _position(services, person.tenant, alert_id)
    return await _act(
        services, person, alert_id, wf_case.APPROVE_UPDATE,
        ApproveInput(actor=person.actor, comment=body.comment if body else "", run=run, offset=offset),
    )  # fmt: skip


async def _pack(services: Services, person: Principal, alert_id: str) -> EvidencePack:
    bind_alert_logs(person.tenant, alert_id)
    snapshot = await services.investigations.snapshot(person.tenant, alert_id)
    case = await services.cases.state(person.tenant, alert_id)
    client = await services.investigations.client()
    return await evidence_pack.gather(client, snapshot, case, person.tenant, person.user)


@router.get(
    "/alerts/{alert_id}/report.html", response_class=HTMLResponse,
    summary="The evidence pack as HTML: alert, evidence, recommendation, decision, audit trail, stream digest",
)  # fmt: skip
async def report_html(
    services: ServicesDep, person: CurrentPerson, alert_id: AlertId
) -> HTMLResponse:
    pack = await _pack(services, person, alert_id)
    return HTMLResponse(render_html(pack), headers={"Cache-Control": "no-store"})


@router.get(
    "/alerts/{alert_id}/report.pdf", response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The evidence pack as PDF (the same content as report.html)",
)  # fmt: skip
async def report_pdf(services: ServicesDep, person: CurrentPerson, alert_id: AlertId) -> Response:
    pack = await _pack(services, person, alert_id)
    return Response(
        render_pdf(pack),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-pack-{alert_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )
