"""The A2A façade's request handler: each A2A method answered from Temporal.

The SDK does the protocol (JSON-RPC parsing, v1.0 and v0.3 methods, SSE framing,
error codes, history-length rules); this handler answers each method from Temporal
instead of an in-memory task store, so any API process can serve any task and a
restart loses nothing. Sending a message again for the same alert attaches to the
same investigation. `SubscribeToTask` / `tasks/resubscribe` honours a
`Last-Event-ID: <offset>` header: the stream resumes at offset + 1, nothing lost and
nothing repeated.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator

from a2a.helpers.proto_helpers import get_text_parts
from a2a.server.context import ServerCallContext
from a2a.server.events.event_queue import Event
from a2a.server.request_handlers.request_handler import RequestHandler, validate_request_params
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatus,
)
from a2a.utils.errors import (
    ExtendedAgentCardNotConfiguredError,
    InvalidParamsError,
    InvalidRequestError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from a2a.utils.task import apply_history_length, validate_history_length
from google.protobuf.json_format import MessageToDict

from api import logging as api_logging
from api import metrics
from api.a2a_auth import PERSON_SCOPE_KEY, TENANT_SCOPE_KEY
from api.a2a_clarifications import FINISHED, ClarificationTasks, is_clarification_id, status_update
from api.a2a_mapping import (
    determination_event,
    events_for,
    listed_task,
    task_from_snapshot,
    user_message,
)
from api.a2a_messages import alert_from, check_media_types
from api.auth import Principal
from api.deps import Services
from api.investigations import InvestigationNotFound, ListStatus, NotAllowedNow, workflow_id_for
from api.problems import Problem
from api.routes.events import BadOffset, parse_offset
from api.stream_metrics import metered_stream
from surveil.cases import ACTING_ROLES, Action
from surveil.events import ProgressEvent
from surveil.tasks import TERMINAL_TASK_STATES, Answer, TaskSnapshot

log = logging.getLogger("surveil.api.a2a")

_LIST_STATUS = {
    TaskState.TASK_STATE_WORKING: ListStatus.running,
    TaskState.TASK_STATE_COMPLETED: ListStatus.completed,
    TaskState.TASK_STATE_FAILED: ListStatus.failed,
    TaskState.TASK_STATE_CANCELED: ListStatus.canceled,
}
# "30.0": what clients that read `metadata.offset` as a number (it was one) send back.
_INTEGRAL_FLOAT = re.compile(r"\s*([0-9]+)\.0*\s*")


def _state_name(task: Task) -> str:
    return TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower()


def _tenant(context: ServerCallContext) -> str:
    tenant = context.state.get(TENANT_SCOPE_KEY)
    if not tenant:  # the auth middleware guarantees it; never serve without one
        raise InvalidParamsError(message="no tenant for this request")
    return tenant


def _acting_person(context: ServerCallContext) -> Principal:
    """The person behind a request that changes something (message/send, tasks/cancel):
    a viewer reads (tasks/get, tasks/list, subscribe) but does not act, as on REST."""
    person = context.state.get(PERSON_SCOPE_KEY)
    if not isinstance(person, Principal):  # the auth middleware guarantees it
        raise InvalidParamsError(message="no person for this request")
    if person.role not in ACTING_ROLES:
        raise InvalidRequestError(message=f"a {person.role.value} can read but not act")
    return person


def last_event_id(context: ServerCallContext) -> int | None:
    headers = {k.lower(): v for k, v in (context.state.get("headers") or {}).items()}
    raw = headers.get("last-event-id")
    if raw is None or raw.strip() == "":
        return None
    integral = _INTEGRAL_FLOAT.fullmatch(raw)
    try:
        return parse_offset(integral.group(1) if integral else raw)
    except BadOffset as exc:
        raise InvalidParamsError(message=f"Last-Event-ID: {exc}") from None


class TemporalRequestHandler(RequestHandler):
    def __init__(self, services: Services) -> None:
        self.services = services
        self.investigations = services.investigations
        self.clarifications = ClarificationTasks(services.settings.db_path)

    # -- helpers -----------------------------------------------------------------

    async def _clarification(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The tenant's clarification task of that id (api/a2a_clarifications.py), if any."""
        return await self.clarifications.get(task_id, context)

    async def _snapshot(self, tenant: str, alert_id: str) -> TaskSnapshot:
        try:
            return await self.investigations.snapshot(tenant, alert_id)
        except InvestigationNotFound as exc:
            raise TaskNotFoundError(message=f"task {alert_id!r} not found") from exc

    async def _task(self, tenant: str, alert_id: str, snapshot: TaskSnapshot) -> Task:
        """The task with its history: the message that started it."""
        sent = await self.investigations.a2a_message(tenant, alert_id)
        history = [user_message(alert_id, snapshot.alert, sent)]
        return task_from_snapshot(alert_id, snapshot, history)

    async def _continuation(self, person: Principal, message: Message) -> Task | None:
        """A message on an existing task answers its question; a task waits for no
        other message (a new alert is a new task: send it without a taskId)."""
        tenant = person.tenant
        if not message.task_id:
            return None
        if message.context_id and message.context_id != message.task_id:
            raise InvalidParamsError(
                message=f"contextId {message.context_id!r} is not the context of task "
                f"{message.task_id!r} (a task's context id is its id)"
            )
        snapshot = await self._snapshot(tenant, message.task_id)
        if snapshot.state in TERMINAL_TASK_STATES:
            raise UnsupportedOperationError(
                message=f"task {message.task_id!r} is {snapshot.state.value}; it takes no more "
                "messages (retry it with POST /api/alerts/{id}/retry)"
            )
        if snapshot.question is None:
            raise InvalidParamsError(
                message=f"task {message.task_id!r} is {snapshot.state.value}, not waiting for input"
            )
        text = " ".join(get_text_parts(message.parts)).strip()
        if not text:
            raise InvalidParamsError(message="answer the question with a text part")
        try:
            await self.investigations.answer(
                tenant, message.task_id, Answer(agent=snapshot.question.agent, text=text)
            )
        except NotAllowedNow as exc:
            raise InvalidParamsError(message=str(exc)) from exc
        snapshot = await self._snapshot(tenant, message.task_id)
        await self.services.cases.record(
            person, message.task_id, Action.answer, f"{snapshot.question.agent if snapshot.question else 'agent'}: {text} (over A2A)",
            run=snapshot.run, offset=snapshot.last_offset,
        )  # fmt: skip
        return await self._task(tenant, message.task_id, snapshot)

    async def _clarified(
        self, person: Principal, task: Task, message: Message, context: ServerCallContext
    ) -> Task:
        """A reply on a task that asked which alert to investigate."""
        if task.status.state in FINISHED:
            raise UnsupportedOperationError(
                message=f"task {task.id!r} is {_state_name(task)}; it takes no more messages "
                "(send a new message without taskId)"
            )
        if message.context_id and message.context_id != task.context_id:
            raise InvalidParamsError(
                message=f"contextId {message.context_id!r} is not the context of task {task.id!r}"
            )
        alert_id = await self._start(person, message)
        if alert_id is None:
            return await self.clarifications.still_waiting(task, message, context)
        return await self.clarifications.answered(task, message, alert_id, context)

    async def _start(self, person: Principal, message: Message) -> str | None:
        """Start (or attach to) the investigation the message names; None if it names none."""
        tenant = person.tenant
        # The rate limit comes before any reading: a flood of messages costs nothing.
        try:
            self.services.submissions.acquire(tenant)
        except Problem as exc:  # A2A has no rate-limit code; the message says when to retry
            raise InvalidRequestError(message=exc.detail) from exc
        alert = await alert_from(tenant, message)
        if alert is None:
            return None
        api_logging.bind(alert_id=alert.id, a2a_task_id=alert.id,
                         workflow_id=workflow_id_for(tenant, alert.id))  # fmt: skip
        try:
            started = await self.investigations.start(alert, a2a_message=MessageToDict(message))
        except NotAllowedNow as exc:
            raise InvalidParamsError(message=str(exc)) from exc
        metrics.SUBMISSIONS.labels(outcome="started" if started.created else "existing").inc()
        if started.created:
            await self.services.cases.record(
                person, alert.id, Action.submit, "investigation started (over A2A)", run=1
            )
        return alert.id

    async def _initial_task(self, tenant: str, alert_id: str) -> Task:
        try:
            snapshot = await asyncio.wait_for(self.investigations.snapshot(tenant, alert_id), 10)
        except (TimeoutError, InvestigationNotFound):
            return Task(id=alert_id, context_id=alert_id,
                        status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED))  # fmt: skip
        return await self._task(tenant, alert_id, snapshot)

    async def _answer(
        self, person: Principal, params: SendMessageRequest, context: ServerCallContext
    ) -> Task:
        tenant = person.tenant
        message = params.message
        check_media_types(message)
        validate_history_length(params.configuration)
        asked = await self._clarification(message.task_id, context) if message.task_id else None
        if asked is not None:
            task = await self._clarified(person, asked, message, context)
            return apply_history_length(task, params.configuration)
        continued = await self._continuation(person, message)
        if continued is not None:
            return apply_history_length(continued, params.configuration)
        alert_id = await self._start(person, message)
        if alert_id is None:  # names no alert: ask which one
            task = await self.clarifications.open(message, context)
            return apply_history_length(task, params.configuration)
        task = await self._initial_task(tenant, alert_id)
        return apply_history_length(task, params.configuration)

    # -- methods -----------------------------------------------------------------

    @validate_request_params
    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        # Investigations take minutes: answer at once; follow with GetTask or SubscribeToTask.
        return await self._answer(_acting_person(context), params, context)

    @validate_request_params
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        person = _acting_person(context)
        tenant = person.tenant
        first = await self._answer(person, params, context)
        yield first
        if is_clarification_id(first.id):
            return  # it asks which alert (or said which one started): nothing more follows
        async for event in self._stream(tenant, first.id, from_offset=0, resumed=False):
            yield event

    @validate_request_params
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        tenant = _tenant(context)
        api_logging.bind(alert_id=params.id, a2a_task_id=params.id)
        asked = await self._clarification(params.id, context)
        if asked is not None:
            async for event in self._follow_clarification(tenant, asked, context):
                yield event
            return
        last = last_event_id(context)
        snapshot = await self._snapshot(tenant, params.id)
        next_offset = await self.investigations.next_offset(tenant, params.id)
        if last is not None and last >= next_offset:
            raise InvalidParamsError(
                message=f"Last-Event-ID {last} is past the end of the stream (last offset {next_offset - 1})"
            )
        yield await self._task(tenant, params.id, snapshot)
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

    async def _follow_clarification(
        self, tenant: str, task: Task, context: ServerCallContext
    ) -> AsyncIterator[Event]:
        if task.status.state in FINISHED:
            raise UnsupportedOperationError(
                message=f"task {task.id!r} is {_state_name(task)}; nothing more streams"
            )
        try:
            self.services.streams.reserve(tenant)
        except Problem as exc:
            raise InvalidParamsError(message=exc.detail) from exc
        with metered_stream("a2a", self.services.streams, tenant):
            first = True
            async for current in self.clarifications.follow(task, context):
                yield current if first else status_update(current)
                first = False

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
            # A terminal event is held until the next event or the stream's end: the
            # stream goes on past a run's end only when a retry or re-run followed it,
            # and then that end is not the task's (A2A clients stop at a final state).
            held: tuple[int, ProgressEvent] | None = None
            async for offset, event in self.services.hub.subscribe(workflow_id, from_offset):
                if held is not None:
                    for a2a_event in events_for(alert_id, *held, run_ended=True):
                        yield a2a_event
                    held = None
                if event.is_terminal and (event.data or {}).get("state") == "completed":
                    determination = await self._determination(tenant, alert_id, offset)
                    if determination is not None:
                        yield determination
                if event.is_terminal:
                    held = (offset, event)
                else:
                    for a2a_event in events_for(alert_id, offset, event):
                        yield a2a_event
                stream.wrote(event)
            if held is not None:
                for a2a_event in events_for(alert_id, *held):
                    yield a2a_event

    async def _determination(self, tenant: str, alert_id: str, offset: int) -> Event | None:
        try:
            snapshot = await self.investigations.snapshot(tenant, alert_id)
        except Exception as exc:  # the stream still ends with its status; tasks/get has it
            log.warning("no determination artifact for %s: %s", alert_id, exc)
            return None
        if snapshot.determination is None:
            return None
        return determination_event(alert_id, offset, snapshot.determination.model_dump(mode="json"))

    @validate_request_params
    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        tenant = _tenant(context)
        api_logging.bind(alert_id=params.id, a2a_task_id=params.id)
        validate_history_length(params)
        asked = await self._clarification(params.id, context)
        if asked is not None:
            return apply_history_length(asked, params)
        task = await self._task(tenant, params.id, await self._snapshot(tenant, params.id))
        return apply_history_length(task, params)

    @validate_request_params
    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        person = _acting_person(context)
        tenant = person.tenant
        api_logging.bind(alert_id=params.id, a2a_task_id=params.id)
        asked = await self._clarification(params.id, context)
        if asked is not None:
            if asked.status.state in FINISHED:
                raise TaskNotCancelableError(message=f"task {params.id!r} is {_state_name(asked)}")
            return await self.clarifications.cancel(asked, person.user, context)
        try:
            canceled = await self.investigations.cancel(tenant, params.id)
        except InvestigationNotFound as exc:
            raise TaskNotFoundError(message=f"task {params.id!r} not found") from exc
        except NotAllowedNow as exc:
            raise TaskNotCancelableError(message=str(exc)) from exc
        await self.services.cases.record(
            person, params.id, Action.cancel, "canceled over A2A (tasks/cancel carries no reason)",
            run=canceled.run, offset=canceled.last_offset,
        )  # fmt: skip
        # The workflow acknowledges the signal within moments; report the state it reaches.
        deadline = time.monotonic() + 10
        snapshot = await self._snapshot(tenant, params.id)
        while snapshot.state not in TERMINAL_TASK_STATES and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            snapshot = await self._snapshot(tenant, params.id)
        return await self._task(tenant, params.id, snapshot)

    @validate_request_params
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
            listing, total = await asyncio.gather(
                self.investigations.list(
                    tenant, status=status, alert_type=None, disposition=None,
                    page_size=page_size, page_token=params.page_token or None,
                ),
                self.investigations.count(tenant, status=status),
            )  # fmt: skip
        except ValueError as exc:
            raise InvalidParamsError(message=f"pageToken: {exc}") from exc
        return ListTasksResponse(
            tasks=[listed_task(item) for item in listing.items],
            next_page_token=listing.next_page_token or "",
            page_size=page_size, total_size=total,
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
