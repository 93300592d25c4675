"""A specialist as an A2A server: its graph behind the shared executor, its card, and
the SDK's JSON-RPC routes (A2A 1.0 and 0.3 on the same endpoint) in a Starlette app.

    uvicorn: `surveil agent insider-trading --port 8101`

Its tasks, their events and the graphs' checkpoints are SQLite files under
SURVEIL_HOME (agents/agent_state.py). On start it resumes the tasks a previous
process was running when it died (the graph goes on from its last checkpoint), by
sending itself a resume request per task through the SDK's request handler, so the
resumed run is an ordinary A2A request any client can subscribe to. Beside JSON-RPC
it serves each task's event log (`EVENT_LOG_PATH`), from which a client that resumes
at any seq reads what the task's bounded history no longer holds.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import TaskStore
from a2a.types import AgentCard, ListTasksRequest, SendMessageRequest
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agents.a2a_events import EVENT_LOG_PATH, resume_message
from agents.a2a_executor import (
    RESUMABLE_STATES,
    GraphFactory,
    SpecialistExecutor,
    SpecialistRequests,
)
from agents.agent_auth import RequireAgentToken, server_token
from agents.agent_state import AgentState
from agents.event_log import MAX_PAGE, EventLog
from surveil.settings import Settings, get_settings

log = logging.getLogger(__name__)

RPC_PATH = "/"
# A card changes only with a deployment: cached five minutes, then a 304 on its ETag.
CARD_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class SpecialistSpec:
    agent: str  # the name in events, snapshots and URLs
    url_setting: str  # Settings field with the URL clients use to reach it
    port_setting: str

    def url(self, settings: Settings) -> str:
        return str(getattr(settings, self.url_setting))

    def port(self, settings: Settings) -> int:
        return int(getattr(settings, self.port_setting))

    def build_graph(self) -> GraphFactory:
        return importlib.import_module(f"agents.{self.agent}.graph").build_graph

    def build_card(self, url: str) -> AgentCard:
        return importlib.import_module(f"agents.{self.agent}.card").build_card(url)


SPECIALISTS = {
    "insider_trading": SpecialistSpec("insider_trading", "insider_agent_url", "insider_agent_port"),
    "wash_trade": SpecialistSpec("wash_trade", "wash_agent_url", "wash_agent_port"),
}


def specialist_spec(name: str) -> SpecialistSpec:
    """Accepts the CLI spelling (insider-trading) and the agent name (insider_trading)."""
    spec = SPECIALISTS.get(name.replace("-", "_"))
    if spec is None:
        known = ", ".join(sorted(n.replace("_", "-") for n in SPECIALISTS))
        raise ValueError(f"unknown specialist {name!r}; expected one of: {known}")
    return spec


class JsonContentType:
    """-32005 (ContentTypeNotSupported) for a JSON-RPC call sent as anything but JSON
    (no Content-Type is read as JSON); the SDK would answer -32700."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == RPC_PATH:
            raw = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            media_type = raw.split(";")[0].strip().lower()
            if media_type and media_type != "application/json" and not media_type.endswith("+json"):
                refusal = JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                    "code": -32005, "message": "send JSON-RPC as application/json"}})  # fmt: skip
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_app(
    specialist: str,
    *,
    public_url: str | None = None,
    settings: Settings | None = None,
    build_graph: GraphFactory | None = None,
) -> Starlette:
    """The ASGI app of one specialist.

    `public_url` is the URL advertised in the agent card (default: the one in the
    settings); `build_graph` replaces the specialist's graph (tests).
    """
    settings = settings or get_settings()
    spec = specialist_spec(specialist)
    card = spec.build_card(public_url or spec.url(settings))
    state = AgentState.open(settings.agent_state_path(spec.agent))
    executor = SpecialistExecutor(
        spec.agent,
        build_graph or spec.build_graph(),
        settings=settings,
        event_log=state.event_log,
    )
    handler = DefaultRequestHandler(
        agent_executor=executor,
        task_store=state.task_store,
        agent_card=card,
        request_context_builder=SpecialistRequests(state.task_store, executor),
    )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "agent": spec.agent})

    async def metrics(request: Request) -> Response:
        # This process's LLM counters (agents/llm_metrics.py), by model and tenant.
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def task_events(request: Request) -> JSONResponse:
        return await _task_events(request, state.task_store, state.event_log)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with state.checkpointer() as checkpointer:
            executor.use_checkpointer(checkpointer)
            resuming = await _resume_orphaned_tasks(handler, state.task_store)
            pruning = asyncio.create_task(_prune_forever(state, settings.agent_retention_hours))
            try:
                yield
            finally:
                for run in [*resuming, pruning]:
                    run.cancel()
                await asyncio.gather(*resuming, pruning, return_exceptions=True)
                await handler.aclose()  # no task left pending when the loop stops
        await state.aclose()

    routes = [
        *create_agent_card_routes(card, cache_control=CARD_CACHE_CONTROL),
        *create_jsonrpc_routes(handler, rpc_url=RPC_PATH, enable_v0_3_compat=True),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route(EVENT_LOG_PATH, task_events, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(JsonContentType)
    token = server_token(settings)
    if token is not None:  # without mTLS, only the worker's bearer token gets in
        app.add_middleware(RequireAgentToken, token=token)
    return app


async def _resume_orphaned_tasks(
    handler: DefaultRequestHandler, task_store: TaskStore
) -> list[asyncio.Task[object]]:
    """Resume every task the store says is working: no process runs it any more (this
    one just started, and the state folder is locked to it)."""
    runs: list[asyncio.Task[object]] = []
    context = ServerCallContext()
    for state in RESUMABLE_STATES:
        page_token = ""
        while True:
            page = await task_store.list(
                ListTasksRequest(status=state, page_size=100, page_token=page_token), context
            )
            for task in page.tasks:
                message = resume_message(task.id, task.context_id, "the agent restarted")
                request = SendMessageRequest(message=message)
                runs.append(
                    asyncio.create_task(
                        _run_logged(handler.on_message_send(request, context), task.id),
                        name=f"resume:{task.id}",
                    )
                )
            if not page.next_page_token:
                break
            page_token = page.next_page_token
    return runs


PRUNE_EVERY_S = 3600.0


async def _prune_forever(state: AgentState, retention_hours: float) -> None:
    """Forget finished tasks past their retention, now and every hour."""
    while True:
        forgotten = state.prune(retention_hours * 3600)
        if forgotten:
            log.info("forgot %d tasks finished over %g h ago", forgotten, retention_hours)
        await asyncio.sleep(PRUNE_EVERY_S)


async def _run_logged(request: Awaitable[object], task_id: str) -> object:
    """Await a resume request; a failure is logged (the task stays as it was)."""
    try:
        return await request
    except Exception:
        log.exception("resuming task %s failed", task_id)
        return None


async def _task_events(request: Request, tasks: TaskStore, events: EventLog) -> JSONResponse:
    """`GET /tasks/{id}/events?after=SEQ&limit=N`: the task's events above SEQ."""
    task_id = request.path_params["task_id"]
    try:
        after = int(request.query_params.get("after", "-1"))
        limit = int(request.query_params.get("limit", str(MAX_PAGE)))
    except ValueError:
        return JSONResponse(
            {"error": "after and limit must be whole numbers (after=-1 reads from the start)"},
            status_code=400,
        )
    if after < -1 or not 1 <= limit <= MAX_PAGE:
        return JSONResponse(
            {"error": f"after must be at least -1 and limit between 1 and {MAX_PAGE}"},
            status_code=400,
        )
    if await tasks.get(task_id, ServerCallContext()) is None:
        return JSONResponse({"error": f"task {task_id} not found"}, status_code=404)
    page = events.after(task_id, after, limit)
    return JSONResponse(
        {"task_id": task_id, "events": [e.model_dump(mode="json", exclude_none=True) for e in page]}
    )
