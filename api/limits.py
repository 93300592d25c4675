"""Per-tenant limits: submission rate, concurrent streams, and request body size."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, Problem


class RateLimiter:
    """Token bucket per tenant: `per_minute` submissions, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(max(per_minute, 1))
        self.rate = self.capacity / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, updated)

    def acquire(self, tenant: str, now: float | None = None, *, count: int = 1) -> None:
        """Take `count` submissions (a batch takes one per alert, all or none)."""
        now = time.monotonic() if now is None else now
        if count > self.capacity:
            raise Problem(
                422, "Unprocessable Content",
                f"a batch of {count} alerts exceeds the {int(self.capacity)} submissions per "
                "minute a tenant may make (SURVEIL_SUBMISSIONS_PER_MINUTE); send smaller lists",
                kind="batch-too-large",
            )  # fmt: skip
        tokens, updated = self._buckets.get(tenant, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - updated) * self.rate)
        if tokens < count:
            retry_after = math.ceil((count - tokens) / self.rate)
            self._buckets[tenant] = (tokens, now)
            raise Problem(
                429, "Too Many Requests",
                f"tenant submitted more than {int(self.capacity)} alerts per minute; "
                f"retry in {retry_after}s",
                kind="rate-limited", headers={"Retry-After": str(retry_after)},
            )  # fmt: skip
        self._buckets[tenant] = (tokens - count, now)


class StreamSlots:
    """Caps concurrent event streams per tenant (SSE and A2A together)."""

    def __init__(self, per_tenant: int) -> None:
        self.per_tenant = per_tenant
        self._open: dict[str, int] = {}

    def open_count(self, tenant: str) -> int:
        return self._open.get(tenant, 0)

    def reserve(self, tenant: str) -> None:
        if self._open.get(tenant, 0) >= self.per_tenant:
            raise Problem(
                429, "Too Many Requests",
                f"tenant has {self.per_tenant} streams open, the maximum; close one and retry",
                kind="too-many-streams", headers={"Retry-After": "5"},
            )  # fmt: skip
        self._open[tenant] = self._open.get(tenant, 0) + 1

    def release(self, tenant: str) -> None:
        left = self._open.get(tenant, 0) - 1
        if left > 0:
            self._open[tenant] = left
        else:
            self._open.pop(tenant, None)

    @contextmanager
    def hold(self, tenant: str) -> Iterator[None]:
        self.reserve(tenant)
        try:
            yield
        finally:
            self.release(tenant)


class BodySizeLimit:
    """ASGI middleware: 413 problem+json for bodies above `max_bytes`, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        metrics.ERRORS.labels(kind="payload-too-large").inc()
        body = json.dumps({
            "type": PROBLEM_BASE + "payload-too-large",
            "title": "Payload Too Large",
            "status": 413,
            "detail": f"request body exceeds {self.max_bytes} bytes",
        }).encode()  # fmt: skip
        await send({
            "type": "http.response.start", "status": 413,
            "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                        (b"content-length", str(len(body)).encode())],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """An HTTPException so FastAPI and the A2A dispatcher answer 413 rather than 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_bytes} bytes")
