"""The per-process fan-out (no Temporal: a scripted in-memory stream stands in for it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from api.fanout import LiveItem, SourceItem, StreamFailed, StreamHub, StreamItem, ViewerLagged
from surveil.events import EventType, ProgressEvent


def step(n: int) -> ProgressEvent:
    return ProgressEvent(type=EventType.step_progress, step=f"s{n}")


TERMINAL = ProgressEvent(type=EventType.status, data={"state": "completed"})


class ScriptedStream:
    """An append-only stream; each subscription is counted like a Temporal one."""

    def __init__(self) -> None:
        self.items: list[ProgressEvent] = []
        self.grew = asyncio.Condition()
        self.subscriptions = 0

    async def append(self, *events: ProgressEvent) -> None:
        async with self.grew:
            self.items.extend(events)
            self.grew.notify_all()

    async def source(
        self, key: str, from_offset: int, wake: asyncio.Event | None = None
    ) -> AsyncIterator[SourceItem]:
        self.subscriptions += 1
        offset = from_offset
        while True:
            async with self.grew:
                await self.grew.wait_for(lambda at=offset: len(self.items) > at)
                batch = self.items[offset:]
            for event in batch:
                yield offset, event
                offset += 1
                if event.is_terminal:
                    return


async def collect(hub: StreamHub, from_offset: int = 0) -> list[int]:
    return [offset async for offset, _ in hub.subscribe("wf", from_offset)]


async def test_viewers_share_one_subscription_and_each_sees_every_offset_once() -> None:
    stream = ScriptedStream()
    hub = StreamHub(stream.source)
    viewers = [asyncio.create_task(collect(hub)) for _ in range(5)]
    await asyncio.sleep(0.01)
    for n in range(50):
        await stream.append(step(n))
    late = asyncio.create_task(collect(hub, 10))  # a resumer joining mid-stream
    await asyncio.sleep(0.01)
    await stream.append(step(50), TERMINAL)
    results = await asyncio.wait_for(asyncio.gather(*viewers, late), 5)
    for got in results[:5]:
        assert got == list(range(52))
    assert results[5] == list(range(10, 52))
    assert stream.subscriptions == 1


async def test_each_item_is_encoded_once_however_many_viewers_send_it() -> None:
    stream = ScriptedStream()
    hub = StreamHub(stream.source)
    encoded: list[int] = []

    def encode(offset: int, event: ProgressEvent) -> bytes:
        encoded.append(offset)
        return f"{offset}:{event.step}".encode()

    async def send_all() -> list[bytes]:
        return [item.encoded(encode) async for item in hub.subscribe("wf", 0)]

    viewers = [asyncio.create_task(send_all()) for _ in range(20)]
    await asyncio.sleep(0.01)
    await stream.append(*(step(n) for n in range(10)), TERMINAL)
    results = await asyncio.wait_for(asyncio.gather(*viewers), 5)
    assert all(r == results[0] for r in results) and results[0][3] == b"3:s3"
    assert sorted(encoded) == list(range(11))  # once per offset, not once per viewer


async def test_resumer_older_than_the_buffer_is_backfilled_without_gap_or_repeat() -> None:
    stream = ScriptedStream()
    await stream.append(*(step(n) for n in range(30)))
    hub = StreamHub(stream.source, replay_limit=5)
    first = asyncio.create_task(collect(hub, 20))
    await asyncio.sleep(0.01)
    assert hub.channel("wf").base > 3
    resumer = asyncio.create_task(collect(hub, 3))
    await asyncio.sleep(0.01)
    await stream.append(step(30), TERMINAL)
    assert await asyncio.wait_for(resumer, 5) == list(range(3, 32))
    assert await asyncio.wait_for(first, 5) == list(range(20, 32))


async def test_slow_viewer_is_disconnected_after_draining_what_it_had() -> None:
    stream = ScriptedStream()
    hub = StreamHub(stream.source, max_queue=3)
    received: list[int] = []
    stalled = asyncio.Event()

    async def slow() -> None:
        async for offset, _ in hub.subscribe("wf", 0):
            received.append(offset)
            await stalled.wait()

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.01)
    await stream.append(*(step(n) for n in range(10)))
    await asyncio.sleep(0.01)
    stalled.set()
    with pytest.raises(ViewerLagged):
        await asyncio.wait_for(task, 5)
    assert received == list(range(len(received)))  # in order, nothing skipped before the cut
    resumed = asyncio.create_task(collect(hub, received[-1] + 1))
    await stream.append(TERMINAL)
    assert await asyncio.wait_for(resumed, 5) == list(range(received[-1] + 1, 11))


async def test_subscription_closes_when_the_last_viewer_leaves() -> None:
    stream = ScriptedStream()
    hub = StreamHub(stream.source, linger_s=0.05)
    await stream.append(step(0))
    iterator = hub.subscribe("wf", 0)
    assert (await anext(iterator)).offset == 0
    await iterator.aclose()
    await asyncio.sleep(0.2)
    assert hub.channel_count == 0


async def test_reconnect_within_linger_reuses_the_buffer() -> None:
    stream = ScriptedStream()
    hub = StreamHub(stream.source, linger_s=5)
    await stream.append(step(0), step(1))
    iterator = hub.subscribe("wf", 0)
    await anext(iterator)
    await iterator.aclose()
    again = asyncio.create_task(collect(hub, 0))
    await asyncio.sleep(0.01)
    await stream.append(TERMINAL)
    assert await asyncio.wait_for(again, 5) == [0, 1, 2]
    assert stream.subscriptions == 1


class FlakyStream(ScriptedStream):
    """A scripted stream whose subscriptions break on demand and can be held back,
    as Temporal's do when it refuses the subscriber's poll under load."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False
        self.released = asyncio.Event()
        self.released.set()

    async def source(
        self, key: str, from_offset: int, wake: asyncio.Event | None = None
    ) -> AsyncIterator[SourceItem]:
        await self.released.wait()
        async for offset, event in super().source(key, from_offset):
            if self.broken:
                raise ConnectionError("consistent query buffer is full")
            yield offset, event


async def test_resumer_ahead_of_a_resubscribing_channel_gets_no_repeats() -> None:
    stream = FlakyStream()
    await stream.append(*(step(n) for n in range(30)))
    hub = StreamHub(stream.source, max_retries=0)
    watched = asyncio.create_task(collect(hub, 0))
    await asyncio.sleep(0.01)
    stream.broken = True  # the shared subscription fails: its viewers are cut
    await stream.append(step(30))
    with pytest.raises(StreamFailed):
        await asyncio.wait_for(watched, 5)
    stream.broken = False
    stream.released.clear()  # the next subscription takes a while to deliver
    behind = asyncio.create_task(collect(hub, 6))  # a viewer that had read up to 5
    await asyncio.sleep(0.01)
    ahead = asyncio.create_task(collect(hub, 21))  # Last-Event-ID: 20, same channel
    await asyncio.sleep(0.01)
    stream.released.set()
    await stream.append(TERMINAL)
    assert await asyncio.wait_for(ahead, 5) == list(range(21, 32))
    assert await asyncio.wait_for(behind, 5) == list(range(6, 32))
    assert stream.subscriptions == 2


def frame(seq: int) -> ProgressEvent:
    return ProgressEvent(type=EventType.message_delta, agent="wash_trade", seq=seq, text=f"t{seq}")


async def until(condition) -> None:  # type: ignore[no-untyped-def]
    """Yield to the loop until `condition()` holds (what the test waits for is content)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_live_frames_go_to_viewers_that_ask_and_never_after_their_durable_copy() -> None:
    stream = ScriptedStream()
    live: asyncio.Queue[ProgressEvent] = asyncio.Queue()

    async def live_source(key: str) -> AsyncIterator[ProgressEvent]:
        while True:
            yield await live.get()

    hub = StreamHub(stream.source, live_source=live_source)
    with_live: list[StreamItem | LiveItem] = []
    durable_only: list[StreamItem | LiveItem] = []

    async def watch(wants_live: bool, out: list[StreamItem | LiveItem]) -> None:
        async for item in hub.subscribe("wf", 0, live=wants_live):
            out.append(item)

    viewers = [
        asyncio.create_task(watch(True, with_live)),
        asyncio.create_task(watch(False, durable_only)),
    ]
    await stream.append(frame(0))
    await until(lambda: len(with_live) == 1 and len(durable_only) == 1)
    await live.put(frame(0))  # its durable copy is there already: dropped
    await live.put(frame(1))  # ahead of the durable stream: shown
    await until(lambda: len(with_live) == 2)
    await stream.append(frame(1), TERMINAL)
    await asyncio.wait_for(asyncio.gather(*viewers), 5)

    def shape(items: list[StreamItem | LiveItem]) -> list[tuple[str, int | None]]:
        return [
            ("live", i.event.seq) if isinstance(i, LiveItem) else ("offset", i.offset)
            for i in items
        ]

    assert shape(with_live) == [("offset", 0), ("live", 1), ("offset", 1), ("offset", 2)]
    assert shape(durable_only) == [("offset", 0), ("offset", 1), ("offset", 2)]


async def test_a_live_tail_saying_the_stream_grew_wakes_the_subscription() -> None:
    """The source below never polls on its own: it reads only when woken, so the
    viewer gets offset 1 only because the live tail said the stream reached it."""
    items = [step(0)]
    reads = 0

    async def woken_source(
        key: str, from_offset: int, wake: asyncio.Event | None = None
    ) -> AsyncIterator[SourceItem]:
        nonlocal reads
        assert wake is not None
        offset = from_offset
        while True:
            wake.clear()
            reads += 1
            for event in items[offset:]:
                yield offset, event
                offset += 1
                if event.is_terminal:
                    return
            await wake.wait()

    live: asyncio.Queue[ProgressEvent | int] = asyncio.Queue()

    async def live_source(key: str) -> AsyncIterator[ProgressEvent | int]:
        while True:
            yield await live.get()

    hub = StreamHub(woken_source, live_source=live_source)
    received: list[int] = []

    async def watch() -> None:
        async for item in hub.subscribe("wf", 0, live=True):
            if isinstance(item, StreamItem):
                received.append(item.offset)

    viewer = asyncio.create_task(watch())
    await until(lambda: received == [0])
    items.extend([step(1), TERMINAL])
    await live.put(1)  # not news: the channel has read up to offset 1 already
    await until(lambda: live.empty())
    await asyncio.sleep(0)
    assert received == [0] and reads == 1
    await live.put(3)  # the stream now ends before offset 3
    await asyncio.wait_for(viewer, 5)
    assert received == [0, 1, 2]
