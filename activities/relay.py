"""Publishing events into the parent workflow's stream from inside an activity.

`EventRelay` is what every surveil activity publishes through: `(agent, seq)` dedupe
for resumed producers, the attempt number on each event, batching, and a heartbeat
loop that reports the relay position even while the producer is silent.

How it batches (each batch is one `publish` signal, which costs the workflow's
history ~4 events, so batching is what keeps a 10-minute run inside its limits):
- An event that is not an LLM token frame (a step, a finding, a question, a status)
  goes within `relay_milestone_linger_ms` (a few tens of ms), with whatever was
  waiting before it: milestones are never late, and a tool's burst of step events
  shares one signal.
- Token frames (`message_delta`) wait up to `relay_batch_interval_ms` and go
  together; anything past `relay_max_batch_events` or `MAX_BATCH_BYTES` goes at once.
- Sending is serial and in order: the next batch goes when the last one was taken.
- Every agent event (it has a seq) also goes at once to this worker's live tail
  (activities/live_feed.py), which API processes read so a viewer sees tokens as the
  LLM writes them and steps as they happen.
A signal that fails is sent again with the same batch number, so the workflow drops
it if the first one did land.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from types import TracebackType
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import RELAY_KEY, RELAY_POSITION_QUERY, RelayPosition
from activities.live_feed import LIVE_FEEDS
from surveil.events import EventType, ProgressEvent
from surveil.settings import get_settings
from surveil.stream import PUBLISH_SIGNAL, PublishBatch

# A signal payload fails at 2 MB; surveil keeps every payload under 1 MB.
MAX_BATCH_BYTES = 256 * 1024
# One event bigger than this (a finding with a huge chart) loses its `data`, saying so.
MAX_EVENT_BYTES = 128 * 1024
# Heartbeats must come well inside the 8 s heartbeat timeout.
HEARTBEAT_EVERY = timedelta(seconds=2)
# A signal that fails for a transient reason is tried again this many times.
SIGNAL_ATTEMPTS = 8


class EventRelay:
    """One producer's events into the workflow stream, each at most once."""

    def __init__(self, position: RelayPosition) -> None:
        self.position = position.model_copy()
        info = activity.info()
        self.attempt = info.attempt
        assert info.workflow_id is not None
        self._workflow_id = info.workflow_id
        self._workflow: WorkflowHandle = activity.client().get_workflow_handle(info.workflow_id)
        self._publisher = f"{info.workflow_run_id}/{info.activity_id}/{info.attempt}"
        settings = get_settings()
        self._interval = settings.relay_batch_interval_ms / 1000
        self._linger = settings.relay_milestone_linger_ms / 1000
        self._max_events = settings.relay_max_batch_events
        self._pending: list[ProgressEvent] = []
        self._pending_bytes = 0
        self._deadline: float | None = None  # monotonic time the pending batch must go
        self._batch = 0
        self._unacked: PublishBatch | None = None  # sent, not known to have landed
        self._send_lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        # Beats `self.position` as it moves (it is updated in place, never replaced).
        self._heartbeats = heartbeating(self.position)

    async def __aenter__(self) -> EventRelay:
        await self._heartbeats.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._heartbeats.__aexit__(None, None, None)
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        # Also when the activity was cancelled: events the producer already emitted
        # must reach the stream before the workflow moves on (it waits for us).
        await asyncio.shield(self.flush())

    async def relay(self, event: ProgressEvent) -> bool:
        """Relay an event numbered by its producer (`event.seq`); False if the stream
        already holds it (an earlier attempt relayed it)."""
        if event.seq is None:
            raise ValueError(f"event from {event.agent} has no seq: {event!r:.200}")
        seq = self.position.seq_base + event.seq
        if seq <= self.position.last_seq:
            return False
        self.position.last_seq = seq
        await self.publish(event.model_copy(update={"seq": seq, "agent": self.position.agent}))
        return True

    async def announce(self, text: str, *, started: bool = False, **data: Any) -> None:
        """A status event of this relay's agent; `started=True` also records the
        producer it follows, so a later attempt can resume it."""
        payload: dict[str, Any] = {"state": "working", **data}
        if started:
            payload[RELAY_KEY] = {
                "a2a_task_id": self.position.a2a_task_id,
                "a2a_context_id": self.position.a2a_context_id,
                "seq_base": self.position.seq_base,
            }
        event = ProgressEvent(
            type=EventType.status, agent=self.position.agent, text=text, data=payload
        )
        await self.publish(event)

    async def publish(self, event: ProgressEvent) -> None:
        event, size = _within_size(event.model_copy(update={"attempt": self.attempt}))
        if event.seq is not None:  # an agent's event: the live tail, ahead of the batch
            LIVE_FEEDS.offer(self._workflow_id, event)
        if self._pending and self._pending_bytes + size > MAX_BATCH_BYTES:
            await self.flush()
        self._pending.append(event)
        self._pending_bytes += size
        if len(self._pending) >= self._max_events:
            await self.flush()
            return
        wait = self._interval if event.type == EventType.message_delta else self._linger
        deadline = time.monotonic() + wait
        if self._deadline is None or deadline < self._deadline:
            self._deadline = deadline
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_at_deadline())

    async def flush(self) -> None:
        """Send what is pending as one batch (and wait until the workflow has it)."""
        async with self._send_lock:
            # A batch whose signal was cut (cancellation, error) goes again exactly as
            # it was: the workflow drops it whole if the first one landed.
            if self._unacked is not None:
                await self._signal(self._unacked)
                self._unacked = None
            if not self._pending:
                return
            self._unacked = PublishBatch(
                publisher=self._publisher, batch=self._batch, events=self._pending
            )
            self._pending, self._pending_bytes, self._deadline = [], 0, None
            self._batch += 1
            await self._signal(self._unacked)
            self._unacked = None

    async def _flush_at_deadline(self) -> None:
        while self._deadline is not None:
            wait = self._deadline - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                await self.flush()

    async def _signal(self, batch: PublishBatch) -> None:
        for attempt in range(1, SIGNAL_ATTEMPTS + 1):
            try:
                await self._workflow.signal(PUBLISH_SIGNAL, batch)
                return
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND or attempt == SIGNAL_ATTEMPTS:
                    raise  # the investigation is over, or Temporal is gone for good
                activity.logger.warning("publish failed (%s); trying again", exc.message)
                await asyncio.sleep(min(0.2 * 2**attempt, 5.0))


@contextlib.asynccontextmanager
async def heartbeating(position: RelayPosition) -> AsyncIterator[None]:
    """Heartbeat `position` every HEARTBEAT_EVERY while the block runs."""

    async def beat() -> None:
        while True:
            activity.heartbeat(position.model_dump(mode="json"))
            await asyncio.sleep(HEARTBEAT_EVERY.total_seconds())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def recovered_position(position: RelayPosition) -> RelayPosition:
    """Where a retried attempt resumes: the workflow's stream is the authority on what
    was relayed (a heartbeat can run ahead of an unflushed batch, or lag behind a
    flushed one); the last heartbeat knows a producer task the stream may not."""
    info = activity.info()
    assert info.workflow_id is not None
    handle = activity.client().get_workflow_handle(info.workflow_id)
    # A Query can wait ~10 s after a worker died (the workflow's sticky queue pointed at
    # it): heartbeat meanwhile, or this attempt would time out before it began.
    async with heartbeating(position):
        recovered = await handle.query(
            RELAY_POSITION_QUERY, position.agent, result_type=RelayPosition
        )
    if recovered.a2a_task_id is None and info.heartbeat_details:
        beat = RelayPosition.model_validate(info.heartbeat_details[0])
        if beat.a2a_task_id is not None:
            recovered.a2a_task_id = beat.a2a_task_id
            recovered.a2a_context_id = beat.a2a_context_id
            recovered.seq_base = beat.seq_base
    return recovered


def _within_size(event: ProgressEvent) -> tuple[ProgressEvent, int]:
    """The event (without its `data` if it is too big, saying so) and its JSON size."""
    size = len(event.model_dump_json())
    if size <= MAX_EVENT_BYTES:
        return event, size
    keys = sorted((event.data or {}).keys())
    smaller = event.model_copy(
        update={
            "data": {"omitted_bytes": size, "omitted_keys": keys},
            "text": (event.text or "")[:2000],
        }
    )
    return smaller, len(smaller.model_dump_json())
