"""An SSE viewer that survives cuts by resuming with Last-Event-ID, as a browser does.

It records every offset it receives, so a test can count what was lost or repeated
across the cuts, and when the stream started flowing again after a fault.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from httpx_sse import EventSource

from surveil.events import ProgressEvent
from surveil.live import LIVE_EVENT

RECONNECT_DELAY_S = 0.25


@dataclass
class ResumingViewer:
    client: httpx.AsyncClient  # base_url = the API, bearer auth set
    alert_id: str
    offsets: list[int] = field(default_factory=list)
    events: list[ProgressEvent] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # monotonic time of each frame
    connections: int = 0
    refusals: list[int] = field(default_factory=list)  # non-200 answers while reconnecting
    _connection: asyncio.Task[None] | None = None
    _progress: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def terminal(self) -> ProgressEvent | None:
        return self.events[-1] if self.events and self.events[-1].is_terminal else None

    @property
    def last_offset(self) -> int | None:
        return self.offsets[-1] if self.offsets else None

    def lost(self) -> list[int]:
        """Offsets below the terminal one that never arrived."""
        if not self.offsets:
            return []
        return sorted(set(range(max(self.offsets) + 1)) - set(self.offsets))

    def duplicated(self) -> list[int]:
        return sorted(o for o, n in Counter(self.offsets).items() if n > 1)

    def first_arrival_after(self, moment: float) -> float | None:
        return next((t for t in self.arrivals if t > moment), None)

    async def reached(self, offset: int) -> None:
        """Returns once a frame at or past `offset` arrived (or the stream ended)."""
        while (self.last_offset is None or self.last_offset < offset) and self.terminal is None:
            self._progress.clear()
            await self._progress.wait()

    def cut(self) -> None:
        """Drop the current connection (the viewer reconnects on its own)."""
        if self._connection is not None:
            self._connection.cancel()

    async def follow(self, deadline_s: float) -> None:
        """Read until the terminal event, reconnecting after every cut."""
        deadline = time.monotonic() + deadline_s
        while self.terminal is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.alert_id}: no terminal event after {deadline_s:.0f}s")
            self._connection = asyncio.create_task(self._read_once())
            await asyncio.wait({self._connection})
            if not self._connection.cancelled() and self._connection.exception() is None:
                continue  # the server ended the response; resume if it was not the end
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _read_once(self) -> None:
        headers = {}
        if self.last_offset is not None:
            headers["Last-Event-ID"] = str(self.last_offset)
        self.connections += 1
        url = f"/api/alerts/{self.alert_id}/events"
        try:
            async with self.client.stream("GET", url, headers=headers, timeout=30) as response:
                if response.status_code != 200:
                    self.refusals.append(response.status_code)
                    await response.aread()
                    raise ConnectionError(f"{response.status_code}: {response.text[:200]}")
                await self._frames(response)
        except httpx.HTTPError as exc:  # the API died, or refused while starting
            raise ConnectionError(str(exc)) from exc

    async def _frames(self, response: httpx.Response) -> None:
        async for sse in EventSource(response).aiter_sse():
            # Live token frames have no offset, and a heartbeat dispatches no data:
            # only durable events count (each once its whole frame has arrived).
            if sse.event == LIVE_EVENT or not sse.data:
                continue
            self.offsets.append(int(sse.id))
            self.events.append(ProgressEvent.model_validate_json(sse.data))
            self.arrivals.append(time.monotonic())
            self._progress.set()
            if self.events[-1].is_terminal:
                return
