"""`id: <offset>` lines on the /a2a SSE streams, so any SSE client can resume.

The SDK writes each A2A stream event as one `data:` frame and no `id:`. A status
update carries its offset in `metadata.offset` (api/a2a_mapping.py); this wraps the
ASGI `send` of an /a2a response and prefixes that frame with `id: <offset>`, which a
client sends back as `Last-Event-ID` to resume at offset + 1 (1.0 `SubscribeToTask`,
0.3 `tasks/resubscribe`). Artifact updates and the first Task get no id: an artifact
shares its offset with the status update that follows it, and an SSE client keeps the
last id it saw, so a drop between the two resends the artifact rather than losing
the status update.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Send


def _status_offset(frame: dict[str, Any]) -> str | None:
    result = frame.get("result")
    if not isinstance(result, dict):
        return None
    update = result.get("statusUpdate")  # 1.0: a StreamResponse
    if update is None and result.get("kind") == "status-update":  # 0.3: the event itself
        update = result
    if not isinstance(update, dict):
        return None
    offset = (update.get("metadata") or {}).get("offset")
    return offset if isinstance(offset, str) and offset.isdigit() else None


def with_offset_id(body: bytes) -> bytes:
    """`body` (one SSE frame) with `id: <offset>` first, when it is a status update."""
    if not body.startswith(b"data: "):
        return body  # comments (pings), error frames
    line_end = body.find(b"\n")
    data = body[len(b"data: ") : line_end if line_end != -1 else len(body)].rstrip(b"\r")
    try:
        offset = _status_offset(json.loads(data))
    except ValueError:
        return body
    if offset is None:
        return body
    separator = b"\r\n" if b"\r\n" in body else b"\n"
    return b"id: " + offset.encode() + separator + body


def send_with_offset_ids(send: Send) -> Send:
    """`send`, adding `id:` lines to the frames of an SSE response."""
    streaming = False

    async def wrapped(message: Message) -> None:
        nonlocal streaming
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            streaming = content_type.startswith(b"text/event-stream")
        elif streaming and message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": with_offset_id(message["body"])}
        await send(message)

    return wrapped
