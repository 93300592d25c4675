"""One viewer's event stream as the stream metrics count it, the same for SSE and A2A."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from api import metrics
from api.fanout import StreamFailed, ViewerLagged
from api.limits import StreamSlots
from surveil.events import ProgressEvent


@dataclass
class ViewerStream:
    written: int = 0
    # Why the stream ended: "terminal" and "stream-ended" are normal ends; anything
    # else ("client" hung up, "lagged", "upstream") counts as an early disconnect.
    ended: str = "client"

    def wrote(self, event: ProgressEvent) -> None:
        self.written += 1
        if event.is_terminal:
            self.ended = "terminal"


@contextmanager
def metered_stream(transport: str, slots: StreamSlots, tenant: str) -> Iterator[ViewerStream]:
    """Counts the stream as open while the block runs, then releases the tenant's slot
    (reserved by the caller) and records how long it ran, what it wrote and why it ended.

    A viewer that fell behind or an upstream that failed for good ends the stream
    quietly: the client resumes from its last offset."""
    metrics.ACTIVE_STREAMS.labels(transport=transport).inc()
    opened = time.monotonic()
    stream = ViewerStream()
    try:
        yield stream
        if stream.ended != "terminal":
            stream.ended = "stream-ended"
    except ViewerLagged:
        stream.ended = "lagged"
    except StreamFailed:
        stream.ended = "upstream"
    finally:
        slots.release(tenant)
        metrics.ACTIVE_STREAMS.labels(transport=transport).dec()
        metrics.STREAM_DURATION.labels(transport=transport).observe(time.monotonic() - opened)
        metrics.EVENTS_PER_STREAM.labels(transport=transport).observe(stream.written)
        if stream.ended not in ("terminal", "stream-ended"):
            metrics.EARLY_DISCONNECTS.labels(transport=transport, reason=stream.ended).inc()
