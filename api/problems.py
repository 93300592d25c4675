"""RFC 9457 problem+json errors for the REST routes.

Every error a client can cause is raised as `Problem(status, title, detail)`;
validation errors name the offending field. Nothing a client sends ends as a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from api import metrics

log = logging.getLogger("surveil.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
# What access logs call a request the client abandoned (nginx's code): never sent.
CLIENT_CLOSED_REQUEST = 499
PROBLEM_BASE = "https://surveil.dev/problems/"


class Problem(Exception):
    """An error response described by RFC 9457 (type, title, status, detail)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        return {**body, **self.extra}


def not_found(what: str) -> Problem:
    return Problem(404, "Not Found", f"{what} not found", kind="not-found")


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail, kind="conflict")


def bad_request(detail: str) -> Problem:
    return Problem(400, "Bad Request", detail, kind="bad-request")


def unauthorized(detail: str) -> Problem:
    return Problem(
        401, "Unauthorized", detail, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"}
    )


def temporal_unavailable(detail: str = "the Temporal service is unreachable") -> Problem:
    return Problem(503, "Service Unavailable", detail, kind="temporal-unavailable",
                   headers={"Retry-After": "5"})  # fmt: skip


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    metrics.ERRORS.labels(kind=problem.kind).inc()
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "alert", "window_start") -> "alert.window_start"; keep "query"/"header" context.
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        {"field": _field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return Problem(422, "Validation Error", detail, kind="validation-error",
                   extra={"errors": errors})  # fmt: skip


def install(app: FastAPI) -> None:
    """Route every error raised in a REST handler through problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large",
        }.get(exc.status_code, "Error")  # fmt: skip
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        problem = Problem(exc.status_code, title, detail, headers=dict(exc.headers or {}))
        return problem_response(problem, request.url.path)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client hung up while sending its request (a viewer process stopping
        # mid-POST): nothing was done and nobody is left to answer. Not a server error.
        log.info("client went away while sending %s %s", request.method, request.url.path)
        metrics.ERRORS.labels(kind="client-disconnected").inc()
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        problem = Problem(500, "Internal Server Error", "an unexpected error occurred; it was logged",
                          kind="internal")  # fmt: skip
        return problem_response(problem, request.url.path)
