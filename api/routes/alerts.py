"""REST resource: alerts and their investigations."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import logging as api_logging
from api import metrics
from api.auth import Principal
from api.deps import (
    ALERT_ID_PATTERN,
    ActingPerson,
    AlertId,
    CurrentPerson,
    CurrentTenant,
    Services,
    ServicesDep,
)
from api.investigations import InvalidPageToken, bind_alert_logs, workflow_id_for
from api.problems import Problem, bad_request, conflict, not_found
from api.queue import CaseStatus, Queue, QueueFilter, QueueSort, sort_rows
from surveil.cases import Action
from surveil.models import Alert, AlertType, Disposition
from surveil.store import Store
from surveil.tasks import Answer

router = APIRouter(prefix="/api", tags=["alerts"])


class AlertIn(BaseModel):
    """An alert to investigate: `surveil.models.Alert` without `tenant` (it comes from the token)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=ALERT_ID_PATTERN,
        description="Required unless an Idempotency-Key header is sent (the id is then derived from it).",
    )  # fmt: skip
    type: AlertType
    account: str = Field(min_length=1, max_length=64)
    instrument: str = Field(min_length=1, max_length=32)
    window_start: datetime
    window_end: datetime
    description: str = Field(default="", max_length=4000)


class AlertRef(BaseModel):
    """Investigate an alert already in the store (the demo data)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, pattern=ALERT_ID_PATTERN)


class Links(BaseModel):
    self: str
    events: str
    stream_token: str
    temporal_ui: str


class Submitted(BaseModel):
    id: str
    status: str
    created: bool = Field(description="False when this alert was already being investigated.")
    links: Links


class StreamToken(BaseModel):
    token: str
    expires_at: datetime


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000, description="Why; kept in the audit trail.")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=4000)


def links_for(services: Services, tenant: str, alert_id: str) -> Links:
    s = services.settings
    workflow_id = workflow_id_for(tenant, alert_id)
    return Links(
        self=f"/api/alerts/{alert_id}",
        events=f"/api/alerts/{alert_id}/events",
        stream_token=f"/api/alerts/{alert_id}/stream-token",
        temporal_ui=f"{s.temporal_ui_url.rstrip('/')}/namespaces/{s.temporal_namespace}/workflows/{workflow_id}",
    )


def _validation_problem(exc: ValidationError) -> Problem:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(
        422, "Validation Error", detail, kind="validation-error", extra={"errors": errors}
    )


def resolve_alert(tenant: str, payload: Any, idempotency_key: str | None) -> Alert:
    """The body is an alert, or {"id"} naming a stored alert of this tenant."""
    if not isinstance(payload, dict):
        raise Problem(422, "Validation Error", "body: must be a JSON object (an alert or {\"id\": ...})",
                      kind="validation-error")  # fmt: skip
    if set(payload) == {"id"}:
        try:
            ref = AlertRef.model_validate(payload)
        except ValidationError as exc:
            raise _validation_problem(exc) from exc
        stored = Store.open().get_alert(ref.id, tenant=tenant)  # two tenants may share an id
        if stored is None:
            raise not_found(f"alert {ref.id!r} in the store")
        return stored
    try:
        alert_in = AlertIn.model_validate(payload)
    except ValidationError as exc:
        raise _validation_problem(exc) from exc
    alert_id = alert_in.id
    if alert_id is None:
        if not idempotency_key:
            raise Problem(422, "Validation Error",
                          "id: required (or send an Idempotency-Key header)",
                          kind="validation-error")  # fmt: skip
        alert_id = "idem-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
    if alert_in.window_end <= alert_in.window_start:
        raise Problem(422, "Validation Error", "window_end: must be after window_start",
                      kind="validation-error")  # fmt: skip
    return Alert(tenant=tenant, **{**alert_in.model_dump(), "id": alert_id})


ALERT_BODY_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/AlertIn"},
        {"$ref": "#/components/schemas/AlertRef"},
        {
            "type": "array",
            "description": "A backlog: many alerts (or refs) at once, each idempotent.",
            "minItems": 1,
            "maxItems": 1000,
            "items": {
                "oneOf": [
                    {"$ref": "#/components/schemas/AlertIn"},
                    {"$ref": "#/components/schemas/AlertRef"},
                ]
            },
        },
    ]
}

MAX_BATCH = 1000
# Starts sent to Temporal at once for one batch.
BATCH_CONCURRENCY = 20


class BatchSubmitted(BaseModel):
    items: list[Submitted]
    created: int = Field(description="Investigations this request started.")
    existing: int = Field(description="Alerts already investigated (nothing new started).")


@router.post(
    "/alerts",
    status_code=202,
    response_model=Submitted | BatchSubmitted,
    summary="Investigate an alert, or a list of alerts (idempotent: the same alert id never "
    "starts a second workflow)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ALERT_BODY_SCHEMA}},
        }
    },
)
async def submit_alert(
    services: ServicesDep,
    person: ActingPerson,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=256)] = None,
) -> Submitted | BatchSubmitted:
    try:
        payload = await request.json()
    except ValueError as exc:  # JSONDecodeError and undecodable bytes
        raise bad_request(f"body: not valid JSON ({exc})") from exc
    tenant = person.tenant
    if isinstance(payload, list):
        return await submit_batch(services, person, payload)
    alert = resolve_alert(tenant, payload, idempotency_key)
    bind_alert_logs(tenant, alert.id)
    services.submissions.acquire(tenant)
    started = await services.investigations.start(alert)
    metrics.SUBMISSIONS.labels(outcome="started" if started.created else "existing").inc()
    api_logging.bind(run_id=started.run_id)
    if started.created:
        await services.cases.record(person, alert.id, Action.submit, "investigation started", run=1)
    return Submitted(
        id=alert.id,
        status="submitted" if started.created else "existing",
        created=started.created,
        links=links_for(services, tenant, alert.id),
    )


async def submit_batch(services: Services, person: Principal, payload: list[Any]) -> BatchSubmitted:
    """Every alert of the list is validated first (one bad item rejects the request,
    naming its index, and starts nothing); then each is started, or attached to when
    it already is investigated. With SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT
    set, the ones over the cap queue (workflows/admission.py)."""
    tenant = person.tenant
    if not payload or len(payload) > MAX_BATCH:
        raise Problem(422, "Validation Error",
                      f"body: a list of 1 to {MAX_BATCH} alerts, got {len(payload)}",
                      kind="validation-error")  # fmt: skip
    alerts: dict[str, Alert] = {}
    for index, item in enumerate(payload):
        try:
            alert = resolve_alert(tenant, item, None)
        except Problem as problem:
            problem.detail = f"[{index}] {problem.detail}"
            raise
        alerts.setdefault(alert.id, alert)  # the same alert twice in one list: once
    services.submissions.acquire(tenant, count=len(alerts))
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def submit(alert: Alert) -> Submitted:
        async with gate:
            started = await services.investigations.start(alert)
            metrics.SUBMISSIONS.labels(outcome="started" if started.created else "existing").inc()
            if started.created:
                await services.cases.record(person, alert.id, Action.submit,
                             "investigation started (batch)", run=1)  # fmt: skip
        return Submitted(
            id=alert.id,
            status="submitted" if started.created else "existing",
            created=started.created,
            links=links_for(services, tenant, alert.id),
        )

    items = await asyncio.gather(*(submit(alert) for alert in alerts.values()))
    created = sum(item.created for item in items)
    return BatchSubmitted(items=list(items), created=created, existing=len(items) - created)


@router.get(
    "/alerts",
    summary="The alert queue: one row per alert (stored or submitted), whatever its runs",
)
async def list_alerts(
    services: ServicesDep,
    person: CurrentPerson,
    status: CaseStatus | None = None,
    type: AlertType | None = None,
    disposition: Annotated[
        Disposition | None, Query(description="The agents' recommendation.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=128, description="Search in alert id, account, instrument.")
    ] = None,
    assigned_to_me: bool = False,
    awaiting_my_input: Annotated[
        bool, Query(description="Waiting for an answer, owned by me or by nobody.")
    ] = False,
    sla_breached: Annotated[
        bool | None, Query(description="Undecided and older than SURVEIL_CASE_SLA_HOURS.")
    ] = None,
    sort: QueueSort = QueueSort.newest,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    next_page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> dict[str, Any]:
    tenant = person.tenant
    start = 0
    if next_page_token:
        try:
            start = int(services.investigations.page_tokens.unwrap(tenant, next_page_token))
        except (InvalidPageToken, ValueError) as exc:
            raise bad_request("next_page_token: not a token this API returned") from exc
    stored = [a for a in Store.open(services.settings).list_alerts() if a.tenant == tenant]
    rows = await Queue(services.investigations).rows(tenant, stored)
    now = datetime.now(UTC)
    sla = timedelta(hours=services.settings.case_sla_hours)
    keep = QueueFilter(
        status=status, type=type.value if type else None,
        recommendation=disposition.value if disposition else None, search=q,
        assigned_to=person.user if assigned_to_me else None,
        awaiting_input_of=person.user if awaiting_my_input else None,
        sla_breached=sla_breached,
    )  # fmt: skip
    listed = sort_rows([r for r in rows if keep.keep(r, now, sla)], sort)
    page = listed[start : start + page_size]
    more = start + page_size < len(listed)
    token = services.investigations.page_tokens.wrap(tenant, str(start + page_size).encode())
    return {
        "items": [r.json(now, sla) for r in page],
        "total": len(listed),
        "next_page_token": token if more else None,
    }


@router.get("/demo-alerts", summary="Alerts in the store, for the UI's picker")
async def demo_alerts(tenant: CurrentTenant) -> list[Alert]:
    return Store.open().list_alerts(tenant=tenant)


@router.get(
    "/alerts/{alert_id}", summary="The investigation's current state (TaskSnapshot) and links"
)
async def get_alert(
    services: ServicesDep, tenant: CurrentTenant, alert_id: AlertId
) -> dict[str, Any]:
    bind_alert_logs(tenant, alert_id)
    snapshot = await services.investigations.snapshot(tenant, alert_id)
    return {
        "id": alert_id,
        "status": snapshot.state.value,
        **snapshot.model_dump(mode="json"),
        "links": links_for(services, tenant, alert_id).model_dump(),
    }


@router.post(
    "/alerts/{alert_id}/cancel", status_code=202,
    summary="Cancel a running investigation (a reason is required and audited)",
)  # fmt: skip
async def cancel_alert(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: CancelIn
) -> dict[str, Any]:
    tenant = person.tenant
    bind_alert_logs(tenant, alert_id)
    snapshot = await services.investigations.cancel(tenant, alert_id)
    await services.cases.record(person, alert_id, Action.cancel, body.reason.strip(),
                 run=snapshot.run, offset=snapshot.last_offset)  # fmt: skip
    return {"id": alert_id, "status": "canceling"}


@router.post("/alerts/{alert_id}/answer", summary="Answer the question a specialist is waiting on")
async def answer_alert(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: AnswerIn
) -> dict[str, Any]:
    tenant = person.tenant
    bind_alert_logs(tenant, alert_id)
    await services.investigations.answer(tenant, alert_id, Answer(agent=body.agent, text=body.text))
    snapshot = await services.investigations.snapshot(tenant, alert_id)
    await services.cases.record(person, alert_id, Action.answer, f"{body.agent}: {body.text}",
                 run=snapshot.run, offset=snapshot.last_offset)  # fmt: skip
    return {"id": alert_id, "status": "answered"}


@router.post(
    "/alerts/{alert_id}/retry", status_code=202,
    summary="Retry a failed, canceled or timed-out investigation (completed findings are reused)",
)  # fmt: skip
async def retry_alert(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId
) -> dict[str, Any]:
    tenant = person.tenant
    bind_alert_logs(tenant, alert_id)
    services.submissions.acquire(tenant)
    snapshot = await services.investigations.retry(tenant, alert_id)
    await services.cases.record(person, alert_id, Action.retry,
                 f"run {snapshot.run + 1} after a {snapshot.state.value} run {snapshot.run}",
                 run=snapshot.run + 1, offset=snapshot.last_offset)  # fmt: skip
    return {"id": alert_id, "status": "retrying", "run": snapshot.run + 1}


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=4000,
        description="Why (new data imported, a question answered late); kept in the audit trail.",
    )  # fmt: skip


@router.post(
    "/alerts/{alert_id}/rerun", status_code=202,
    summary="Re-run a finished investigation from scratch (a new run of the same stream), "
    "e.g. after new data was imported; not once a person decided the case",
)  # fmt: skip
async def rerun_alert(
    services: ServicesDep, person: ActingPerson, alert_id: AlertId, body: RerunIn
) -> dict[str, Any]:
    tenant = person.tenant
    bind_alert_logs(tenant, alert_id)
    await services.investigations.snapshot(tenant, alert_id)  # 404 before anything else
    case = await services.cases.state(tenant, alert_id)
    if case.decision is not None:
        raise conflict(
            f"the case was decided by {case.decision.user}; a decided case is not re-run"
        )
    services.submissions.acquire(tenant)
    snapshot = await services.investigations.retry(tenant, alert_id, fresh=True)
    await services.cases.record(person, alert_id, Action.rerun,
                 f"run {snapshot.run + 1} from scratch after a {snapshot.state.value} "
                 f"run {snapshot.run}: {body.reason.strip()}",
                 run=snapshot.run + 1, offset=snapshot.last_offset)  # fmt: skip
    return {"id": alert_id, "status": "rerunning", "run": snapshot.run + 1}


@router.post(
    "/alerts/{alert_id}/stream-token", response_model=StreamToken,
    summary="A short-lived token for ?token= on the events route (EventSource cannot send headers)",
)  # fmt: skip
async def stream_token(
    services: ServicesDep, tenant: CurrentTenant, alert_id: AlertId
) -> StreamToken:
    await services.investigations.describe(tenant, alert_id)  # 404 for unknown/foreign alerts
    token, expires = services.stream_tokens.mint(tenant, alert_id)
    return StreamToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))
