"""The API's SSE response: sse-starlette's, where a viewer that stopped reading is a
disconnect to count, not a server error to log with a traceback, and whose per-send
timeout is asyncio's rather than an anyio cancel scope per event."""

from __future__ import annotations

import asyncio
import logging

import anyio
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message, Receive, Scope, Send

from api import metrics

log = logging.getLogger("surveil.api.sse")

# Bound on finishing the response after a send timed out: that client reads nothing.
CLOSE_GRACE_S = 1.0


class ViewerStreamResponse(EventSourceResponse):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            # The viewer's socket stayed full for `send_timeout` s (a stalled client,
            # a dead link): cut it; it resumes with Last-Event-ID when it can.
            metrics.SSE_SEND_TIMEOUTS.inc()
            log.info("viewer stopped reading for %s s; stream cut", self.send_timeout)
            with anyio.move_on_after(CLOSE_GRACE_S):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        # sse-starlette opens an anyio cancel scope for every event it sends; with a
        # thousand viewers that was a tenth of the API's CPU under `make load`
        # (current_task, CancelScope._timeout, sniffio in the profile). An asyncio
        # timeout is one timer handle; the contract (SendTimeoutError) is the same.
        if self.send_timeout is None:
            await send(message)
            return
        try:
            async with asyncio.timeout(self.send_timeout):
                await send(message)
        except TimeoutError:
            raise SendTimeoutError() from None
