"""The app factory: REST + SSE + A2A + metrics + the web UI, on one FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api import a2a, metrics, problems
from api import logging as api_logging
from api.auth import StreamTokens, TokenRegistry, signing_key
from api.cases import CaseRefused, Cases
from api.deps import Services
from api.fanout import StreamHub
from api.investigations import (
    InvestigationNotFound,
    Investigations,
    NotAllowedNow,
    TemporalUnavailable,
    is_unavailable,
)
from api.limits import BodySizeLimit, RateLimiter, StreamSlots
from api.live_tail import LiveTail
from api.problems import Problem, conflict, not_found, problem_response, temporal_unavailable
from api.routes import alerts, cases, events, meta
from api.routes.events import record_outcome
from surveil.live import live_token
from surveil.settings import Settings, get_settings

log = logging.getLogger("surveil.api")

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def build_services(settings: Settings) -> Services:
    tokens = TokenRegistry.from_settings(settings)
    investigations = Investigations(settings, page_token_key=signing_key(settings, tokens))
    live = LiveTail(settings.worker_live_urls, live_token(settings))
    return Services(
        settings=settings,
        tokens=tokens,
        stream_tokens=StreamTokens.from_settings(settings, tokens),
        investigations=investigations,
        cases=Cases(settings, investigations.client),
        hub=StreamHub(
            investigations.events,
            is_transient=lambda exc: is_unavailable(exc) or isinstance(exc, TemporalUnavailable),
            on_terminal=record_outcome,
            live_source=live.events if live.enabled else None,
        ),
        submissions=RateLimiter(settings.submissions_per_minute),
        streams=StreamSlots(settings.max_streams_per_tenant),
    )


def create_app(settings: Settings | None = None, web_dir: Path | None = WEB_DIR) -> FastAPI:
    settings = settings or get_settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await services.investigations.client()
        except TemporalUnavailable as exc:  # serve anyway: /readyz says so, routes answer 503
            log.warning("%s; will retry on first use", exc)
        yield
        await services.hub.close()

    app = FastAPI(
        title="surveil API",
        version="0.1.0",
        description="Durable AI investigation of trade-surveillance alerts. See docs/api.md.",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: FastAPI's default loads a CDN
    )
    app.state.services = services
    problems.install(app)
    _install_gateway_errors(app)

    app.include_router(alerts.router)
    app.include_router(cases.router)
    app.include_router(events.router)
    app.include_router(meta.router)
    app.add_route("/metrics", metrics.metrics_endpoint, include_in_schema=False)
    app.router.routes.extend(a2a.a2a_routes(services))

    # Order (outermost first): log context, CORS, body size, A2A auth.
    app.add_middleware(a2a.A2AAuth, services_getter=lambda: services)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"],
        )

    app.add_middleware(api_logging.RequestLogContext)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        # web/vendor/swagger-ui comes from npm (`make install`), so /docs works offline.
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="surveil API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    if web_dir is not None and (web_dir / "index.html").exists():
        app.mount("/", StaticFiles(directory=web_dir, html=True), name="web")
    return app


def _install_gateway_errors(app: FastAPI) -> None:
    """Temporal-side outcomes -> problem+json."""

    @app.exception_handler(InvestigationNotFound)
    async def _not_found(request: Request, exc: InvestigationNotFound) -> JSONResponse:
        return problem_response(not_found("alert"), request.url.path)

    @app.exception_handler(NotAllowedNow)
    async def _conflict(request: Request, exc: NotAllowedNow) -> JSONResponse:
        return problem_response(conflict(str(exc)), request.url.path)

    @app.exception_handler(CaseRefused)
    async def _refused(request: Request, exc: CaseRefused) -> JSONResponse:
        title = {403: "Forbidden", 409: "Conflict", 422: "Validation Error"}[exc.status]
        kind = {403: "forbidden", 409: "conflict", 422: "validation-error"}[exc.status]
        return problem_response(Problem(exc.status, title, exc.detail, kind=kind), request.url.path)

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(request: Request, exc: TemporalUnavailable) -> JSONResponse:
        return problem_response(temporal_unavailable(str(exc)), request.url.path)


__all__ = ["Problem", "create_app"]
