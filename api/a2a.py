"""The A2A façade: surveil itself as an A2A agent, backed by Temporal.

The SDK does the protocol (JSON-RPC parsing, v1.0 and v0.3 methods, SSE framing,
error codes); `TemporalRequestHandler` answers each method from Temporal instead of
an in-memory task store, so any API process can serve any task and a restart loses
nothing.

- A2A task id = context id = alert id. The alert goes in as a data part (an alert
  object, `{"alert": {...}}`, or `{"id": "<stored alert>"}`) or as text naming a
  stored alert id. Sending a message again for the same alert attaches to the same
  investigation.
- Every ProgressEvent becomes a `TaskStatusUpdateEvent` whose message holds the event
  as a data part; findings and the determination also arrive as artifacts. Each
  event's metadata carries `offset`, its position in the investigation's stream.
- `SubscribeToTask` / `tasks/resubscribe` honours a `Last-Event-ID: <offset>` header:
  the stream resumes at offset + 1, nothing lost and nothing repeated.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from importlib.metadata import version as package_version
from typing import Any

from a2a.helpers.proto_helpers import get_data_parts, get_text_parts, new_data_part
from a2a.server.context import ServerCallContext
from a2a.server.events.event_queue import Event
from a2a.server.request_handlers.request_handler import RequestHandler
from a2a.server.routes import (
    DefaultServerCallContextBuilder,
    create_agent_card_routes,
    create_jsonrpc_routes,
)
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Artifact,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    HTTPAuthSecurityScheme,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    Role,
    SecurityRequirement,
    SecurityScheme,
    SendMessageRequest,
    StringList,
    SubscribeToTaskRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol
from a2a.utils.errors import (
    ExtendedAgentCardNotConfiguredError,
    InvalidParamsError,
    InvalidRequestError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
)
from google.protobuf.struct_pb2 import Struct
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from api import logging as api_logging
from api import metrics
from api.deps import Services, tenant_from_header
from api.investigations import (
    InvestigationNotFound,
    ListStatus,
    NotAllowedNow,
    workflow_id_for,
)
from api.problems import Problem, problem_response, unauthorized
from api.routes.events import BadOffset, parse_offset
from api.stream_metrics import metered_stream
from surveil.events import ProgressEvent
from surveil.models import Alert
from surveil.store import Store
from surveil.tasks import TERMINAL_TASK_STATES, Answer, TaskSnapshot
from surveil.tasks import TaskState as SurveilState

log = logging.getLogger("surveil.api.a2a")

A2A_PATH = "/a2a"
SKILL_ID = "investigate-alert"

_STATE = {
    SurveilState.submitted: TaskState.TASK_STATE_SUBMITTED,
    SurveilState.working: TaskState.TASK_STATE_WORKING,
    SurveilState.input_required: TaskState.TASK_STATE_INPUT_REQUIRED,
    SurveilState.completed: TaskState.TASK_STATE_COMPLETED,
    SurveilState.failed: TaskState.TASK_STATE_FAILED,
    SurveilState.canceled: TaskState.TASK_STATE_CANCELED,
    SurveilState.timed_out: TaskState.TASK_STATE_FAILED,  # A2A has no timed-out state
}
_LIST_STATUS = {
    TaskState.TASK_STATE_WORKING: ListStatus.running,
    TaskState.TASK_STATE_COMPLETED: ListStatus.completed,
    TaskState.TASK_STATE_FAILED: ListStatus.failed,
    TaskState.TASK_STATE_CANCELED: ListStatus.canceled,
}
_LISTED_STATE = {
    "running": TaskState.TASK_STATE_WORKING,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "canceled": TaskState.TASK_STATE_CANCELED,
    "timed_out": TaskState.TASK_STATE_FAILED,
    "terminated": TaskState.TASK_STATE_FAILED,
}


def agent_card(public_url: str) -> AgentCard:
    url = public_url.rstrip("/") + A2A_PATH
    return AgentCard(
        name="surveil",
        description=(
            "Investigates trade-surveillance alerts (insider trading, wash trading) with "
            "specialist agents, durably, and streams every step."
        ),
        version=package_version("surveil"),
        supported_interfaces=[
            AgentInterface(
                url=url, protocol_binding=TransportProtocol.JSONRPC.value, protocol_version=v
            )  # fmt: skip
            for v in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        security_schemes={
            "bearer": SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="bearer")
            )
        },
        security_requirements=[SecurityRequirement(schemes={"bearer": StringList(list=[])})],
        default_input_modes=["application/json", "text/plain"],
        default_output_modes=["application/json"],
        skills=[
            AgentSkill(
                id=SKILL_ID,
                name="investigate alert",
                description=(
                    "Investigate one alert: triage, specialist analyses, a determination "
                    "(escalate / close as false positive / needs review) with evidence."
                ),
                tags=["surveillance", "insider trading", "wash trading"],
                examples=['{"id": "ALERT-0001"}', "investigate ALERT-0001"],
                input_modes=["application/json", "text/plain"],
                output_modes=["application/json"],
            )
        ],
    )


# -- mapping surveil -> A2A ------------------------------------------------------


def _struct(data: dict[str, Any]) -> Struct:
    struct = Struct()
    struct.update(data)
    return struct


def _event_message(alert_id: str, event: ProgressEvent) -> Message:
    return Message(
        message_id=f"{alert_id}-{event.timestamp.timestamp():.6f}-{event.type.value}",
        task_id=alert_id,
        context_id=alert_id,
        role=Role.ROLE_AGENT,
        parts=[new_data_part(event.model_dump(mode="json"))],
    )


def _event_state(event: ProgressEvent) -> TaskState:
    if event.is_terminal:
        return _STATE[SurveilState((event.data or {})["state"])]
    if event.type == "input_required":
        return TaskState.TASK_STATE_INPUT_REQUIRED
    return TaskState.TASK_STATE_WORKING


def events_for(alert_id: str, offset: int, event: ProgressEvent) -> list[Event]:
    """A2A events for one ProgressEvent (a finding also arrives as an artifact)."""
    meta = _struct({"offset": offset, "type": event.type.value, "agent": event.agent})
    out: list[Event] = []
    if event.type == "finding" and event.data:
        out.append(TaskArtifactUpdateEvent(
            task_id=alert_id, context_id=alert_id, metadata=meta,
            artifact=Artifact(artifact_id=f"finding-{event.agent}", name="finding",
                              parts=[new_data_part(event.data)]),
        ))  # fmt: skip
    out.append(TaskStatusUpdateEvent(
        task_id=alert_id, context_id=alert_id, metadata=meta,
        status=TaskStatus(state=_event_state(event), message=_event_message(alert_id, event),
                          timestamp=event.timestamp),
    ))  # fmt: skip
    return out


def task_from_snapshot(alert_id: str, snapshot: TaskSnapshot) -> Task:
    artifacts = [
        Artifact(artifact_id=f"finding-{f.specialist.value}", name="finding",
                 parts=[new_data_part(f.model_dump(mode="json"))])
        for f in snapshot.findings
    ]  # fmt: skip
    if snapshot.determination is not None:
        artifacts.append(Artifact(
            artifact_id="determination", name="determination",
            parts=[new_data_part(snapshot.determination.model_dump(mode="json"))],
        ))  # fmt: skip
    status = TaskStatus(state=_STATE[snapshot.state])
    if snapshot.question is not None:
        status.message.CopyFrom(Message(
            message_id=f"{alert_id}-question", task_id=alert_id, context_id=alert_id,
            role=Role.ROLE_AGENT, parts=[new_data_part(snapshot.question.model_dump(mode="json"))],
        ))  # fmt: skip
    elif snapshot.error:
        status.message.CopyFrom(Message(
            message_id=f"{alert_id}-error", task_id=alert_id, context_id=alert_id,
            role=Role.ROLE_AGENT, parts=[new_data_part({"error": snapshot.error})],
        ))  # fmt: skip
    return Task(
        id=alert_id, context_id=alert_id, status=status, artifacts=artifacts,
        metadata=_struct({"state": snapshot.state.value, "run": snapshot.run,
                          "last_offset": snapshot.last_offset}),
    )  # fmt: skip


# -- the handler -------------------------------------------------------------------


def _tenant(context: ServerCallContext) -> str:
    tenant = context.state.get("surveil_tenant")
    if not tenant:  # the auth middleware guarantees it; never serve without one
        raise InvalidParamsError(message="no tenant for this request")
    return tenant


def _last_event_id(context: ServerCallContext) -> int | None:
    headers = {k.lower(): v for k, v in (context.state.get("headers") or {}).items()}
    raw = headers.get("last-event-id")
    if raw is None or raw.strip() == "":
        return None
    try:
        return parse_offset(raw)
    except BadOffset as exc:
        raise InvalidParamsError(message=f"Last-Event-ID: {exc}") from None


# Free text is read for alert ids within bounds: a message of 256 KB of words once
# opened the store per word, on the event loop, for two minutes.
TEXT_SCANNED = 4096  # characters of the message's text looked at
MAX_CANDIDATES = 64  # distinct words that could be alert ids, asked in one query
_ALERT_ID_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def alert_id_candidates(text: str) -> list[str]:
    """Words of `text` (its first TEXT_SCANNED characters) that could be alert ids, in
    order, each once, at most MAX_CANDIDATES."""
    seen: dict[str, None] = {}
    for match in _ALERT_ID_WORD.finditer(text[:TEXT_SCANNED]):
        seen.setdefault(match.group().rstrip(".:"), None)
        if len(seen) == MAX_CANDIDATES:
            break
    return [word for word in seen if word]


def _first_alert_named(tenant: str, candidates: list[str]) -> Alert | None:
    return Store.open().first_alert_named(tenant, candidates)  # in a worker thread


def _stored_alert_of(tenant: str, alert_id: str) -> Alert | None:
    return Store.open().get_alert(alert_id, tenant=tenant)  # in a worker thread


class TemporalRequestHandler(RequestHandler):
    def __init__(self, services: Services) -> None:
        self.services = services
        self.investigations = services.investigations

    # -- reading the message ---------------------------------------------------

    async def _alert_from(self, tenant: str, message: Message) -> Alert:
        for data in get_data_parts(message.parts):
            if not isinstance(data, dict):
                continue
            payload = data.get("alert", data)
            if isinstance(payload, dict) and set(payload) == {"id"}:
                return await self._stored_alert(tenant, str(payload["id"]))
            if isinstance(payload, dict):
                try:
                    return Alert.model_validate({**payload, "tenant": tenant})
                except ValidationError as exc:
                    fields = "; ".join(
                        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                    )
                    raise InvalidParamsError(message=f"invalid alert: {fields}") from exc
        text = " ".join(get_text_parts(message.parts)).strip()
        if text:
            candidates = alert_id_candidates(text)
            stored = await asyncio.to_thread(_first_alert_named, tenant, candidates)
            if stored is not None:
                return stored
            raise InvalidParamsError(message="the text names no alert id known to this tenant")
        raise InvalidParamsError(
            message="send the alert as a data part (an alert, or {'id': '<stored alert id>'}) "
            "or as text naming a stored alert id"
        )

    async def _stored_alert(self, tenant: str, alert_id: str) -> Alert:
        stored = await asyncio.to_thread(_stored_alert_of, tenant, alert_id)
        if stored is None:
            raise InvalidParamsError(message=f"no stored alert with id {alert_id!r}")
        return stored

    async def _snapshot(self, tenant: str, alert_id: str) -> TaskSnapshot:
        try:
            return await self.investigations.snapshot(tenant, alert_id)
        except InvestigationNotFound as exc:
            raise TaskNotFoundError(message=f"task {alert_id!r} not found") from exc

    async def _continuation(self, tenant: str, message: Message) -> Task | None:
        """A message on an existing task that waits for input answers its question."""
        if not message.task_id:
            return None
        snapshot = await self._snapshot(tenant, message.task_id)
        if snapshot.question is None:
            return None
        text = " ".join(get_text_parts(message.parts)).strip()
        if not text:
            raise InvalidParamsError(message="answer the question with a text part")
        try:
            await self.investigations.answer(
                tenant, message.task_id, Answer(agent=snapshot.question.agent, text=text)
            )
        except NotAllowedNow as exc:
            raise InvalidParamsError(message=str(exc)) from exc
        return task_from_snapshot(message.task_id, await self._snapshot(tenant, message.task_id))

    async def _start(self, tenant: str, message: Message) -> str:
        # The rate limit comes before any reading: a flood of messages costs nothing.
        try:
            self.services.submissions.acquire(tenant)
        except Problem as exc:  # A2A has no rate-limit code; the message says when to retry
            raise InvalidRequestError(message=exc.detail) from exc
        alert = await self._alert_from(tenant, message)
        api_logging.bind(alert_id=alert.id, a2a_task_id=alert.id,
                         workflow_id=workflow_id_for(tenant, alert.id))  # fmt: skip
        started = await self.investigations.start(alert)
        metrics.SUBMISSIONS.labels(outcome="started" if started.created else "existing").inc()
        return alert.id

    async def _initial_task(self, tenant: str, alert_id: str) -> Task:
        try:
            snapshot = await asyncio.wait_for(self.investigations.snapshot(tenant, alert_id), 10)
        except (TimeoutError, InvestigationNotFound):
            return Task(id=alert_id, context_id=alert_id,
                        status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED))  # fmt: skip
        return task_from_snapshot(alert_id, snapshot)

    # -- methods -----------------------------------------------------------------

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        tenant = _tenant(context)
        continued = await self._continuation(tenant, params.message)
        if continued is not None:
            return continued
        alert_id = await self._start(tenant, params.message)
        # Investigations take minutes: answer at once; follow with GetTask or SubscribeToTask.
        return await self._initial_task(tenant, alert_id)

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        tenant = _tenant(context)
        continued = await self._continuation(tenant, params.message)
        alert_id = (
            continued.id if continued is not None else await self._start(tenant, params.message)
        )
        yield continued or await self._initial_task(tenant, alert_id)
        async for event in self._stream(tenant, alert_id, from_offset=0, resumed=False):
            yield event

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        tenant = _tenant(context)
        api_logging.bind(alert_id=params.id, a2a_task_id=params.id)
        last = _last_event_id(context)
        snapshot = await self._snapshot(tenant, params.id)
        next_offset = await self.investigations.next_offset(tenant, params.id)
        if last is not None and last >= next_offset:
            raise InvalidParamsError(
                message=f"Last-Event-ID {last} is past the end of the stream (last offset {next_offset - 1})"
            )
        yield task_from_snapshot(params.id, snapshot)
        from_offset = 0 if last is None else last + 1
        if (
            last is not None
            and from_offset == next_offset
            and snapshot.state in TERMINAL_TASK_STATES
        ):
            return
        async for event in self._stream(
            tenant, params.id, from_offset=from_offset, resumed=last is not None
        ):
            yield event

    async def _stream(
        self, tenant: str, alert_id: str, *, from_offset: int, resumed: bool
    ) -> AsyncIterator[Event]:
        try:
            self.services.streams.reserve(tenant)
        except Problem as exc:
            raise InvalidParamsError(message=exc.detail) from exc
        if resumed:
            metrics.RECONNECTIONS.labels(transport="a2a").inc()
        workflow_id = workflow_id_for(tenant, alert_id)
        with metered_stream("a2a", self.services.streams, tenant) as stream:
            async for offset, event in self.services.hub.subscribe(workflow_id, from_offset):
                if event.is_terminal and (event.data or {}).get("state") == "completed":
                    determination = await self._determination(tenant, alert_id, offset)
                    if determination is not None:
                        yield determination
                for a2a_event in events_for(alert_id, offset, event):
                    yield a2a_event
                stream.wrote(event)

    async def _determination(self, tenant: str, alert_id: str, offset: int) -> Event | None:
        try:
            snapshot = await self.investigations.snapshot(tenant, alert_id)
        except Exception as exc:  # the stream still ends with its status; tasks/get has it
            log.warning("no determination artifact for %s: %s", alert_id, exc)
            return None
        if snapshot.determination is None:
            return None
        return TaskArtifactUpdateEvent(
            task_id=alert_id, context_id=alert_id,
            metadata=_struct({"offset": offset, "type": "determination"}),
            artifact=Artifact(artifact_id="determination", name="determination",
                              parts=[new_data_part(snapshot.determination.model_dump(mode="json"))]),
        )  # fmt: skip

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        tenant = _tenant(context)
        api_logging.bind(alert_id=params.id, a2a_task_id=params.id)
        return task_from_snapshot(params.id, await self._snapshot(tenant, params.id))

    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        tenant = _tenant(context)
        api_logging.bind(alert_id=params.id, a2a_task_id=params.id)
        try:
            await self.investigations.cancel(tenant, params.id)
        except InvestigationNotFound as exc:
            raise TaskNotFoundError(message=f"task {params.id!r} not found") from exc
        except NotAllowedNow as exc:
            raise TaskNotCancelableError(message=str(exc)) from exc
        # The workflow acknowledges the signal within moments; report the state it reaches.
        deadline = time.monotonic() + 10
        snapshot = await self._snapshot(tenant, params.id)
        while snapshot.state not in TERMINAL_TASK_STATES and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            snapshot = await self._snapshot(tenant, params.id)
        return task_from_snapshot(params.id, snapshot)

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        tenant = _tenant(context)
        status = None
        if params.status:
            status = _LIST_STATUS.get(params.status)
            if status is None:
                raise InvalidParamsError(
                    message="status: filter by working, completed, failed or canceled"
                )
        page_size = params.page_size or 50
        if not 1 <= page_size <= 200:
            raise InvalidParamsError(message="pageSize: must be between 1 and 200")
        try:
            listing = await self.investigations.list(
                tenant, status=status, alert_type=None, disposition=None,
                page_size=page_size, page_token=params.page_token or None,
            )  # fmt: skip
        except ValueError as exc:
            raise InvalidParamsError(message=f"pageToken: {exc}") from exc
        tasks = [
            Task(id=item["id"], context_id=item["id"],
                 status=TaskStatus(state=_LISTED_STATE.get(item["status"], TaskState.TASK_STATE_WORKING)),
                 metadata=_struct({k: v for k, v in item.items() if v is not None}))
            for item in listing.items
        ]  # fmt: skip
        return ListTasksResponse(
            tasks=tasks, next_page_token=listing.next_page_token or "",
            page_size=page_size, total_size=len(tasks),
        )  # fmt: skip

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError()

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError()

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        raise PushNotificationNotSupportedError()

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        raise PushNotificationNotSupportedError()

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        raise ExtendedAgentCardNotConfiguredError()


# -- wiring ------------------------------------------------------------------------


class TenantContextBuilder(DefaultServerCallContextBuilder):
    """Puts the tenant the auth middleware resolved into the call context."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state["surveil_tenant"] = request.scope.get("surveil_tenant")
        return context


class A2AAuth:
    """401 before the SDK sees a request without a valid bearer token."""

    def __init__(self, app: ASGIApp, services_getter: Any) -> None:
        self.app = app
        self.services_getter = services_getter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == A2A_PATH:
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
            tenant = tenant_from_header(self.services_getter(), headers.get("authorization"))
            if tenant is None:
                response = problem_response(
                    unauthorized("A2A requires 'Authorization: Bearer <token>'")
                )
                await response(scope, receive, send)
                return
            scope["surveil_tenant"] = tenant
            api_logging.bind(tenant=tenant)
            await self._parsed_or_refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _parsed_or_refused(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a body that is not JSON-RPC-parseable with -32700 here: the SDK turns
        undecodable bytes and recursion-deep JSON into -32603 "internal error" with
        Python's message (found by tests/fuzz/test_a2a_jsonrpc_fuzz.py)."""
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its request
            body += message.get("body", b"")
            more = message.get("more_body", False)
        problem = _unparseable(body)
        if problem is not None:
            refusal = JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": problem}}
            )
            await refusal(scope, receive, send)
            return
        replayed = False

        async def replay() -> ASGIMessage:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect, for streaming responses
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


MAX_JSON_DEPTH = 64  # an A2A message nests a handful of levels; far deeper is an attack


def _unparseable(body: bytes) -> str | None:
    """Why `body` is not parseable JSON (None when it is; the SDK validates the rest)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"Parse error: body is not UTF-8 (byte {exc.start})"
    depth = deepest = 0
    in_string = escaped = False
    for char in text:  # bounded by the body-size limit; json.loads would recurse instead
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return f"Parse error: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        elif char in "]}":
            depth -= 1
    return None


def a2a_routes(services: Services) -> list[BaseRoute]:
    handler = TemporalRequestHandler(services)
    return [
        *create_agent_card_routes(agent_card(services.settings.public_url)),
        *create_jsonrpc_routes(
            handler, A2A_PATH, context_builder=TenantContextBuilder(), enable_v0_3_compat=True
        ),
    ]
