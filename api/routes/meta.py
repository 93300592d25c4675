"""Who am I, public config, health and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentPerson, ServicesDep

router = APIRouter(tags=["meta"])


@router.get("/api/me", summary="Who the bearer token belongs to: tenant, user and role")
async def me(person: CurrentPerson) -> dict[str, str]:
    return {"tenant": person.tenant, "user": person.user, "role": person.role.value}


@router.get("/api/config", summary="Public configuration for the UI (no auth)")
async def config(services: ServicesDep) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dev_mode": services.tokens.dev_mode,
        "temporal_ui_url": services.settings.temporal_ui_url,
        "four_eyes": services.settings.four_eyes,
        "case_sla_hours": services.settings.case_sla_hours,
    }
    if services.tokens.dev_mode:
        # Dev mode only: the UI signs itself in. A deployment with tokens never reveals one.
        body["dev_token"] = services.tokens.dev_token
    return body


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Temporal is reachable")
async def readyz(services: ServicesDep) -> JSONResponse:
    if await services.investigations.ping():
        return JSONResponse({"status": "ready", "temporal": "reachable"})
    return JSONResponse({"status": "not ready", "temporal": "unreachable"}, status_code=503)
