"""Concurrent identical reads share one call.

Temporal buffers only a few Queries per workflow while a workflow task is running and
refuses the rest ("consistent query buffer is full"). A thousand viewers opening one
investigation at once must cost one Query, not a thousand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SingleFlight:
    """At most one call in flight per key; callers that arrive meanwhile await its outcome."""

    def __init__(self) -> None:
        self._calls: dict[Hashable, asyncio.Future[Any]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        future = self._calls.get(key)
        if future is None:
            future = self._calls[key] = asyncio.ensure_future(call())
            future.add_done_callback(lambda done: self._settle(key, done))
        # A caller that goes away (client hung up) must not cancel the others' call.
        return await asyncio.shield(future)

    def _settle(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        if self._calls.get(key) is done:
            del self._calls[key]
        if not done.cancelled():
            done.exception()  # retrieved: no "never retrieved" warning when every caller left
