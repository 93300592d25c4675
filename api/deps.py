"""Shared dependencies as `Annotated` types, so each route says what it needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from api import logging as api_logging
from api.auth import Principal, StreamTokens, TokenRegistry, bearer_token
from api.cases import Cases
from api.fanout import StreamHub
from api.investigations import Investigations
from api.limits import RateLimiter, StreamSlots
from api.problems import Problem, unauthorized
from surveil.cases import ACTING_ROLES
from surveil.settings import Settings

ALERT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"


@dataclass
class Services:
    """Everything the routes share, built once per app."""

    settings: Settings
    tokens: TokenRegistry
    stream_tokens: StreamTokens
    investigations: Investigations
    cases: Cases
    hub: StreamHub
    submissions: RateLimiter
    streams: StreamSlots


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def tenant_from_header(services: Services, authorization: str | None) -> str | None:
    token = bearer_token(authorization)
    return services.tokens.tenant_for(token) if token else None


def person_from_header(services: Services, authorization: str | None) -> Principal | None:
    token = bearer_token(authorization)
    return services.tokens.principal_for(token) if token else None


def current_tenant(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    tenant = tenant_from_header(services, authorization)
    if tenant is None:
        raise unauthorized("missing or unknown bearer token (send 'Authorization: Bearer <token>')")
    api_logging.bind(tenant=tenant)
    return tenant


CurrentTenant = Annotated[str, Depends(current_tenant)]


def current_person(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    token = bearer_token(authorization)
    principal = services.tokens.principal_for(token) if token else None
    if principal is None:
        raise unauthorized("missing or unknown bearer token (send 'Authorization: Bearer <token>')")
    api_logging.bind(tenant=principal.tenant, user=principal.user)
    return principal


def acting_person(person: Annotated[Principal, Depends(current_person)]) -> Principal:
    """A person who may change something: an analyst or a supervisor, not a viewer."""
    if person.role not in ACTING_ROLES:
        raise Problem(403, "Forbidden", f"a {person.role.value} can read but not act",
                      kind="forbidden")  # fmt: skip
    return person


CurrentPerson = Annotated[Principal, Depends(current_person)]
ActingPerson = Annotated[Principal, Depends(acting_person)]

AlertId = Annotated[
    str,
    Path(
        min_length=1, max_length=128, pattern=ALERT_ID_PATTERN,
        description="The alert's id (also the A2A task id).",
    ),
]  # fmt: skip
