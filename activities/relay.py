"""Publishing events into the parent workflow's stream from inside an activity.

`EventRelay` wraps the Workflow Streams client with what every surveil activity
needs: batching bounded in bytes, `(agent, seq)` dedupe for resumed producers, the
attempt number on each event, and a heartbeat loop that reports the relay position
even while the producer is silent.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from types import TracebackType
from typing import Any

from temporalio import activity
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from activities.contracts import EVENTS_TOPIC, RELAY_KEY, RELAY_POSITION_QUERY, RelayPosition
from surveil.events import EventType, ProgressEvent
from surveil.settings import get_settings

# A batch is one signal (+ a workflow task). The interval and the batch bound are
# settings (relay_batch_interval_ms, relay_max_batch_events): liveness vs. history cost.
# The library sends its whole buffer as one signal; a signal payload fails at 2 MB.
# The relay flushes (and waits) before a batch would pass this many JSON bytes.
MAX_BATCH_BYTES = 512 * 1024
# One event bigger than this (a finding with a huge chart) loses its `data`, saying so.
MAX_EVENT_BYTES = 256 * 1024
# Heartbeats must be ≤ 10 s apart; the worker's heartbeat throttle is set below this.
HEARTBEAT_EVERY = timedelta(seconds=2)


class EventRelay:
    """One producer's events into the workflow stream, each at most once."""

    def __init__(self, position: RelayPosition) -> None:
        self.position = position.model_copy()
        self.attempt = activity.info().attempt
        settings = get_settings()
        self._client = WorkflowStreamClient.from_within_activity(
            batch_interval=timedelta(milliseconds=settings.relay_batch_interval_ms),
            max_batch_size=settings.relay_max_batch_events,
        )
        self._topic = self._client.topic(EVENTS_TOPIC, type=ProgressEvent)
        self._unflushed_bytes = 0
        self._heartbeats: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventRelay:
        await self._client.__aenter__()
        self._heartbeats = asyncio.create_task(self._heartbeat_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._heartbeats is not None:
            self._heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeats
        # Flushes what is buffered, also when the activity was cancelled: events the
        # producer already emitted must reach the stream before the workflow moves on.
        await self._client.__aexit__(exc_type, exc, tb)

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
        await self.publish(event, force_flush=True)

    async def publish(self, event: ProgressEvent, *, force_flush: bool = False) -> None:
        event = _within_size(event.model_copy(update={"attempt": self.attempt}))
        size = len(event.model_dump_json())
        if self._unflushed_bytes and self._unflushed_bytes + size > MAX_BATCH_BYTES:
            await self._client.flush()
            self._unflushed_bytes = 0
        self._topic.publish(event, force_flush=force_flush)
        self._unflushed_bytes += size

    async def flush(self) -> None:
        await self._client.flush()
        self._unflushed_bytes = 0

    async def _heartbeat_forever(self) -> None:
        while True:
            activity.heartbeat(self.position.model_dump(mode="json"))
            await asyncio.sleep(HEARTBEAT_EVERY.total_seconds())


async def recovered_position(position: RelayPosition) -> RelayPosition:
    """Where a retried attempt resumes: the workflow's stream is the authority on what
    was relayed (a heartbeat can run ahead of an unflushed batch, or lag behind a
    flushed one); the last heartbeat knows a producer task the stream may not."""
    info = activity.info()
    assert info.workflow_id is not None
    handle = activity.client().get_workflow_handle(info.workflow_id)
    recovered = await handle.query(RELAY_POSITION_QUERY, position.agent, result_type=RelayPosition)
    if recovered.a2a_task_id is None and info.heartbeat_details:
        beat = RelayPosition.model_validate(info.heartbeat_details[0])
        if beat.a2a_task_id is not None:
            recovered.a2a_task_id = beat.a2a_task_id
            recovered.a2a_context_id = beat.a2a_context_id
            recovered.seq_base = beat.seq_base
    return recovered


def _within_size(event: ProgressEvent) -> ProgressEvent:
    size = len(event.model_dump_json())
    if size <= MAX_EVENT_BYTES:
        return event
    keys = sorted((event.data or {}).keys())
    return event.model_copy(
        update={
            "data": {"omitted_bytes": size, "omitted_keys": keys},
            "text": (event.text or "")[:2000],
        }
    )
