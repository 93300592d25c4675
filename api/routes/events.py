"""SSE: an investigation's events, resumable by offset.

Each frame is `id: <offset>`, `event: <type>`, `data: <ProgressEvent json>`. A client
resumes with `Last-Event-ID: N` (or `?after=N`) and receives N+1 onwards, each offset
exactly once. Comments are sent as heartbeats; the response ends after the terminal
event. Reading goes through this process's fan-out, never straight to Temporal.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from api import logging as api_logging
from api import metrics
from api.auth import StreamTokenError
from api.deps import AlertId, Services, ServicesDep, tenant_from_header
from api.fanout import LiveItem
from api.investigations import workflow_id_for
from api.problems import Problem, bad_request, unauthorized
from api.sse import ViewerStreamResponse
from api.stream_metrics import metered_stream
from surveil.events import ProgressEvent
from surveil.live import LIVE_EVENT
from surveil.tasks import TERMINAL_TASK_STATES

router = APIRouter(prefix="/api", tags=["events"])

RECONNECT_MS = 1000  # the browser's EventSource reconnect delay after a cut
SEND_TIMEOUT_S = 30  # a viewer whose socket stays full this long is cut (it resumes)


# Offsets are < 2**63 in Temporal; a longer number is past the end of any stream (and
# int() refuses strings over 4300 digits, which answered a crafted header with a 500).
MAX_OFFSET_DIGITS = 19
_OFFSET = re.compile(r"-?[0-9]+")  # ASCII only: str.isdigit() also takes '²' and '١'


class BadOffset(ValueError):
    pass


def parse_offset(raw: str) -> int:
    """A client's last event offset, or BadOffset saying why it is not one."""
    text = raw.strip()
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not _OFFSET.fullmatch(text):
        raise BadOffset(f"{shown!r} is not an event offset (a non-negative integer)")
    if text.startswith("-"):
        raise BadOffset(f"{shown} is negative; offsets start at 0")
    if len(text.lstrip("0")) > MAX_OFFSET_DIGITS:
        raise BadOffset(f"{shown} is past the end of the stream")
    return int(text)


def parse_resume_point(last_event_id: str | None, after: str | None) -> int | None:
    """The last offset the client has, from Last-Event-ID (preferred) or ?after=."""
    for name, raw in (("Last-Event-ID", last_event_id), ("after", after)):
        if raw is None or raw.strip() == "":
            continue
        try:
            return parse_offset(raw)
        except BadOffset as exc:
            raise bad_request(f"{name}: {exc}") from None
    return None


def authorize_stream(
    services: Services, alert_id: str, authorization: str | None, token: str | None
) -> str:
    tenant = tenant_from_header(services, authorization)
    if tenant is not None:
        return tenant
    if token:
        try:
            return services.stream_tokens.verify(token, alert_id)
        except StreamTokenError as exc:
            if exc.status == 404:
                raise Problem(404, "Not Found", "alert not found", kind="not-found") from exc
            raise unauthorized(exc.detail) from exc
    raise unauthorized("send 'Authorization: Bearer <token>' or ?token=<stream token>")


def frame(offset: int, event: ProgressEvent, *, first: bool) -> ServerSentEvent:
    return ServerSentEvent(
        data=event.model_dump_json(),
        event=event.type.value,
        id=str(offset),
        retry=RECONNECT_MS if first else None,
    )


def encoded_live_frame(event: ProgressEvent) -> bytes:
    """A live token frame: `event: live`, no `id:` (only durable events have offsets,
    so a reconnect resumes from the last durable one). Readers that show text drop
    the durable repeat of a frame by its `(agent, seq)`."""
    return ServerSentEvent(data=event.model_dump_json(), event=LIVE_EVENT).encode()


def encoded_frame(offset: int, event: ProgressEvent) -> bytes:
    """A frame after a stream's first: the same bytes for every viewer (encoded once)."""
    return frame(offset, event, first=False).encode()


@router.get(
    "/alerts/{alert_id}/events",
    summary="Server-Sent Events of the investigation (resume with Last-Event-ID or ?after=)",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        204: {"description": "already finished"},
    },
)
async def stream_events(
    request: Request,
    services: ServicesDep,
    alert_id: AlertId,
    after: Annotated[str | None, Query(description="Resume after this offset")] = None,
    token: Annotated[str | None, Query(description="Stream token (see /stream-token)")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    tenant = authorize_stream(services, alert_id, authorization, token)
    resume_after = parse_resume_point(last_event_id, after)
    workflow_id = workflow_id_for(tenant, alert_id)
    api_logging.bind(tenant=tenant, alert_id=alert_id, workflow_id=workflow_id)

    from_offset = 0 if resume_after is None else resume_after + 1
    # Every viewer: the workflow must be this tenant's (one Describe per workflow and
    # process, then remembered), whatever this process already follows.
    await services.investigations.ensure_exists(tenant, alert_id)  # 404 if unknown or not yours
    channel = services.hub.channel(workflow_id)
    followed = channel is not None and from_offset <= channel.next_offset
    if followed:
        # This process follows the stream already, and the resume point is within
        # what it has seen: no Query, however many viewers connect at once.
        next_offset = channel.next_offset
    elif resume_after is None:
        next_offset = 0  # from the start: offset 0 is always valid
    else:
        next_offset = await services.investigations.next_offset(tenant, alert_id)  # 404 if unknown
    if from_offset > next_offset:
        raise bad_request(
            f"Last-Event-ID: {resume_after} is past the end of the stream "
            f"(the last offset is {next_offset - 1})"
        )
    # A live channel has not seen the terminal event (it closes on it): no need to ask.
    if from_offset == next_offset and resume_after is not None and not followed:
        snapshot = await services.investigations.snapshot(tenant, alert_id)
        if snapshot.state in TERMINAL_TASK_STATES:
            # 204 tells EventSource the stream is over: it stops reconnecting.
            return Response(status_code=204)

    services.streams.reserve(tenant)
    if resume_after is not None:
        metrics.RECONNECTIONS.labels(transport="sse").inc()
    return ViewerStreamResponse(
        _frames(services, tenant, workflow_id, from_offset),
        ping=services.settings.sse_heartbeat_s,
        send_timeout=SEND_TIMEOUT_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _frames(
    services: Services, tenant: str, workflow_id: str, from_offset: int
) -> AsyncIterator[ServerSentEvent | bytes]:
    with metered_stream("sse", services.streams, tenant) as stream:
        async for item in services.hub.subscribe(workflow_id, from_offset, live=True):
            if isinstance(item, LiveItem):  # a token frame ahead of its offset
                yield item.encoded(encoded_live_frame)
                continue
            if stream.written == 0:  # tells EventSource how soon to reconnect
                yield frame(item.offset, item.event, first=True)
            else:
                yield item.encoded(encoded_frame)
            stream.wrote(item.event)
            metrics.EMIT_TO_WRITE.observe(max(0.0, time.time() - item.event.timestamp.timestamp()))


def record_outcome(event: ProgressEvent) -> None:
    data = event.data or {}
    disposition = data.get("disposition") or (data.get("determination") or {}).get("disposition")
    metrics.INVESTIGATIONS.labels(
        status=str(data.get("state")), disposition=str(disposition or "none")
    ).inc()
