"""One Temporal subscription per investigation per process, fanned out to its viewers.

Each subscription pages the workflow with Queries, which a worker answers, so viewers
never poll Temporal themselves: a thousand viewers cost what one does. The
first viewer of an investigation opens a `Channel`: one pump task reads the stream
and appends each item to a bounded replay buffer and to every viewer's bounded queue.

- A late joiner or a resumer whose offset is still in the buffer is served from it,
  with no new Temporal subscription; older offsets are read by a private backfill up
  to the buffer's start, then the viewer joins the channel.
- Joining is synchronous (slice the buffer, register the queue, no await between), so
  no offset is skipped or repeated at the seam. A resumer can be ahead of a channel
  whose subscription is newer than its own (the channel was re-opened from a lower
  offset after a failure): its queue drops the offsets it already has.
- A viewer whose queue fills up is disconnected with `ViewerLagged` after it drained
  what it had; it resumes by id.
- The subscription ends after the terminal event, when the stream ends, or when the
  last viewer has been gone for `linger_s` (a quick reconnect reuses the buffer).
- Every viewer receives the same `StreamItem` object for an offset, so a transport's
  encoding of it (SSE frame, JSON) is computed once, not once per viewer.
- With a live source (api/live_tail.py), the channel also reads the workers' live
  tail and offers each agent event, as a `LiveItem` without offset, to the viewers
  that asked for it — only events whose `(agent, seq)` the durable stream has not
  brought yet. A live event never fills a viewer's queue to lagging: it is dropped.
  The live tail also says when the durable stream grew; the channel then wakes its
  subscription, which reads at once instead of at its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from api import metrics
from surveil.events import ProgressEvent

log = logging.getLogger("surveil.api.fanout")

SourceItem = tuple[int, ProgressEvent]
# (stream key, first offset wanted[, wake]) -> items in offset order; ends when the
# stream ends. `wake` (an asyncio.Event), when given, is set when the stream has grown:
# a polling source reads then rather than at its next poll.
SourceFactory = Callable[..., AsyncIterator[SourceItem]]
# stream key -> live agent events (no offsets) and, as ints, the durable stream's new
# next offset (negative: it may have grown unannounced), until cancelled.
LiveSource = Callable[[str], AsyncIterator[ProgressEvent | int]]
Encoder = Callable[[int, ProgressEvent], Any]


@dataclass(slots=True, eq=False)
class StreamItem:
    """One event at its offset, shared by every viewer of the channel."""

    offset: int
    event: ProgressEvent
    _encodings: dict[Encoder, Any] | None = None

    def __iter__(self) -> Iterator[Any]:  # `offset, event = item`
        return iter((self.offset, self.event))

    def encoded(self, encoder: Encoder) -> Any:
        """encoder(offset, event), computed once for this item however many viewers ask."""
        if self._encodings is None:
            self._encodings = {}
        found = self._encodings.get(encoder)
        if found is None:
            found = self._encodings[encoder] = encoder(self.offset, self.event)
        return found


@dataclass(slots=True, eq=False)
class LiveItem:
    """A live token frame ahead of the durable stream (no offset), shared by viewers."""

    event: ProgressEvent
    _encoded: Any = None

    def encoded(self, encoder: Callable[[ProgressEvent], Any]) -> Any:
        if self._encoded is None:
            self._encoded = encoder(self.event)
        return self._encoded


class ViewerLagged(Exception):
    """The viewer fell too far behind the live stream; it should resume by offset."""


class StreamFailed(Exception):
    """The upstream subscription failed for good (after retries)."""


@dataclass(eq=False)  # identity-hashed: viewers live in a set
class _Viewer:
    max_queue: int
    from_offset: int  # the first offset this viewer wants; lower ones it already has
    live: bool = False  # wants live frames too
    items: deque[StreamItem | LiveItem] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    lagged: bool = False

    def offer(self, item: StreamItem) -> None:
        if self.lagged or item.offset < self.from_offset:
            return
        if len(self.items) >= self.max_queue:
            self.lagged = True
        else:
            self.items.append(item)
        self.wakeup.set()

    def offer_live(self, item: LiveItem) -> None:
        if self.live and not self.lagged and len(self.items) < self.max_queue // 2:
            self.items.append(item)
            self.wakeup.set()


class Channel:
    """The single subscription of one stream in this process, and its viewers."""

    def __init__(self, hub: StreamHub, key: str, start_offset: int) -> None:
        self.hub = hub
        self.key = key
        self.base = start_offset  # lowest offset the buffer can serve
        self.next_offset = start_offset  # where the pump resumes after a transient error
        self.buffer: deque[StreamItem] = deque()
        self.viewers: set[_Viewer] = set()
        self.finished = False
        self.end_reason: str | None = None  # terminal | exhausted | error | idle
        self.error: BaseException | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._durable_seq: dict[str, int] = {}  # highest seq per agent the pump brought
        self._grown = asyncio.Event()  # the live tail says the durable stream grew
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._pump(), name=f"pump {key}")
        self._live_task = (
            loop.create_task(self._follow_live(hub.live_source), name=f"live {key}")
            if hub.live_source is not None
            else None
        )

    # -- viewers -------------------------------------------------------------

    def attach(self, from_offset: int, live: bool = False) -> tuple[list[StreamItem], _Viewer]:
        """Replay from the buffer plus a queue for what comes next (no await: no gap)."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        replay = [item for item in self.buffer if item.offset >= from_offset]
        viewer = _Viewer(self.hub.max_queue, from_offset, live)
        self.viewers.add(viewer)
        return replay, viewer

    def detach(self, viewer: _Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and not self.finished:
            loop = asyncio.get_running_loop()
            self._linger = loop.call_later(self.hub.linger_s, self._close_idle)

    def _close_idle(self) -> None:
        if not self.viewers:
            self._finish("idle")
            self._task.cancel()

    async def _follow_live(self, source: LiveSource) -> None:
        async for event in source(self.key):
            if isinstance(event, int):  # the stream's next offset; < 0: it may have grown
                if event > self.next_offset or event < 0:
                    self._grown.set()
                continue
            if event.seq is not None and event.seq <= self._durable_seq.get(event.agent, -1):
                continue  # the durable stream already brought it
            item = LiveItem(event)
            for viewer in self.viewers:
                viewer.offer_live(item)

    # -- the one subscription ------------------------------------------------

    async def _pump(self) -> None:
        metrics.TEMPORAL_SUBSCRIPTIONS.inc()
        failures = 0
        try:
            while True:
                try:
                    last: ProgressEvent | None = None
                    source = self.hub.source(self.key, self.next_offset, self._grown)
                    async for offset, event in source:
                        failures = 0
                        self._publish(StreamItem(offset, event))
                        last = event
                    # The source ends after the investigation's final terminal event (a
                    # failed run that was retried goes on into its retry).
                    if last is not None and last.is_terminal:
                        self.hub.on_terminal(last)
                        self._finish("terminal")
                    else:
                        self._finish("exhausted")
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the subscription broke: resume where it stopped
                    failures += 1
                    if failures > self.hub.max_retries or not self.hub.is_transient(exc):
                        log.warning("stream subscription of %s failed: %s", self.key, exc)
                        self.error = exc
                        self._finish("error")
                        return
                    await asyncio.sleep(min(0.2 * 2**failures, 5.0))
        finally:
            metrics.TEMPORAL_SUBSCRIPTIONS.dec()

    def _publish(self, item: StreamItem) -> None:
        self.buffer.append(item)
        self.next_offset = item.offset + 1
        seq = item.event.seq
        if seq is not None and seq > self._durable_seq.get(item.event.agent, -1):
            self._durable_seq[item.event.agent] = seq
        if len(self.buffer) > self.hub.replay_limit:
            self.buffer.popleft()
            self.base = self.buffer[0].offset
        for viewer in self.viewers:
            viewer.offer(item)

    def _finish(self, reason: str) -> None:
        if self.finished:
            return
        self.finished = True
        self.end_reason = reason
        if self._live_task is not None:
            self._live_task.cancel()
        self.hub._forget(self)
        for viewer in self.viewers:
            viewer.wakeup.set()

    async def close(self) -> None:
        self._finish("idle")
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # shutting down
            await self._task


class StreamHub:
    """Per-process registry of channels, keyed by stream (workflow id)."""

    def __init__(
        self,
        source: SourceFactory,
        *,
        replay_limit: int = 20_000,
        max_queue: int = 2_000,
        linger_s: float = 10.0,
        max_retries: int = 5,
        is_transient: Callable[[BaseException], bool] = lambda exc: True,
        on_terminal: Callable[[ProgressEvent], None] = lambda event: None,
        live_source: LiveSource | None = None,
    ) -> None:
        self.source = source
        self.live_source = live_source
        self.replay_limit = replay_limit
        self.max_queue = max_queue
        self.linger_s = linger_s
        self.max_retries = max_retries
        self.is_transient = is_transient
        self.on_terminal = on_terminal  # once per subscription (metrics)
        self._channels: dict[str, Channel] = {}

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    def channel(self, key: str) -> Channel | None:
        return self._channels.get(key)

    def _forget(self, channel: Channel) -> None:
        if self._channels.get(channel.key) is channel:
            del self._channels[channel.key]

    def _channel_for(self, key: str, from_offset: int) -> Channel:
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = Channel(self, key, from_offset)
        return channel

    async def subscribe(
        self, key: str, from_offset: int = 0, *, live: bool = False
    ) -> AsyncIterator[StreamItem | LiveItem]:
        """Every item with offset >= from_offset, in order, each exactly once; with
        `live`, live token frames (`LiveItem`, no offset) in between.

        Ends when the stream does (after the investigation's final terminal event); raises ViewerLagged or
        StreamFailed otherwise (the caller resumes from the last offset it received).
        """
        next_offset = from_offset
        while True:
            channel = self._channel_for(key, next_offset)
            if next_offset < channel.base:
                # Older than this process's buffer: read the gap privately, then join.
                reached_base = False
                async for offset, event in self.source(key, next_offset):
                    if offset >= channel.base:
                        reached_base = True
                        break
                    yield StreamItem(offset, event)
                    next_offset = offset + 1
                if not reached_base:
                    return  # the stream ended before the buffer's start
                continue
            replay, viewer = channel.attach(next_offset, live)
            try:
                for item in replay:
                    yield item
                    next_offset = item.offset + 1
                while True:
                    while viewer.items:
                        queued = viewer.items.popleft()
                        yield queued
                        if isinstance(queued, StreamItem):
                            next_offset = queued.offset + 1
                    if viewer.lagged:
                        raise ViewerLagged(f"viewer fell {self.max_queue} events behind")
                    if channel.finished:
                        break
                    viewer.wakeup.clear()
                    await viewer.wakeup.wait()
            finally:
                channel.detach(viewer)
            if channel.end_reason == "error":
                raise StreamFailed(str(channel.error)) from channel.error
            if channel.end_reason in ("terminal", "exhausted"):
                return
            # "idle" cannot happen while we were attached; loop defensively.

    async def close(self) -> None:
        for channel in list(self._channels.values()):
            await channel.close()
