"""The worker's live tail: who gets a frame, what a full reader loses, who may read,
and what the API's reader of it receives."""

from __future__ import annotations

import asyncio
import threading

import httpx
import uvicorn

from activities.live_feed import MAX_BEHIND, RECENT, LiveFeeds, live_app
from api.live_tail import MAY_HAVE_GROWN, LiveTail
from surveil.events import EventType, ProgressEvent
from surveil.processes import free_port


def frame(seq: int) -> ProgressEvent:
    return ProgressEvent(type=EventType.message_delta, agent="wash_trade", seq=seq, text="x")


async def test_a_reader_gets_the_frames_of_its_investigation_only() -> None:
    feeds = LiveFeeds()
    reader = feeds.follow("wf-a")
    first = asyncio.ensure_future(reader.__anext__())
    await asyncio.sleep(0)  # the reader registers
    feeds.offer("wf-b", frame(0))
    feeds.offer("wf-a", frame(1))
    assert (await first).seq == 1
    await reader.aclose()
    feeds.offer("wf-a", frame(2))  # nobody reads it any more: nothing kept
    assert feeds._readers == {}


async def test_a_reader_that_falls_behind_loses_live_frames_not_order() -> None:
    feeds = LiveFeeds()
    reader = feeds.follow("wf")
    first = asyncio.ensure_future(reader.__anext__())
    await asyncio.sleep(0)
    for seq in range(MAX_BEHIND + 10):
        feeds.offer("wf", frame(seq))
    got = [(await first).seq] + [(await reader.__anext__()).seq for _ in range(MAX_BEHIND - 1)]
    assert got == list(range(MAX_BEHIND))
    assert feeds.dropped == 10
    await reader.aclose()


async def test_a_new_reader_gets_the_recent_events_of_its_investigation_first() -> None:
    """What the relays still hold back from the durable stream reaches a reader that
    joins late at once: the last RECENT events, then what comes, each once."""
    feeds = LiveFeeds()
    for seq in range(RECENT + 5):
        feeds.offer("wf", frame(seq))
    feeds.offer("other", frame(999))
    reader = feeds.follow("wf")
    replayed = [(await reader.__anext__()).seq for _ in range(RECENT)]
    assert replayed == list(range(5, RECENT + 5))  # the oldest five fell out
    feeds.offer("wf", frame(RECENT + 5))
    assert (await reader.__anext__()).seq == RECENT + 5
    await reader.aclose()


async def test_the_live_tail_refuses_a_caller_without_the_token() -> None:
    app = live_app(LiveFeeds(), token="secret")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://worker"
    ) as client:
        refused = await client.get("/live/wf", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert "token" in refused.json()["detail"]


async def test_the_api_reads_events_and_stream_grew_hints_over_http() -> None:
    """A worker's live tail and the API's reader of it, over real HTTP: the reader first
    says the stream may have grown (hints before it connected were missed), then passes
    an agent event and a hint the workflow gave from its own thread."""
    feeds = LiveFeeds()
    port = free_port()
    config = uvicorn.Config(
        live_app(feeds, token="secret"), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    tail = LiveTail([f"http://127.0.0.1:{port}"], token="secret")
    items = tail.events("wf")
    try:
        # (The reader retries until the server listens.)
        assert await asyncio.wait_for(items.__anext__(), 10) == MAY_HAVE_GROWN
        for _ in range(1000):  # the worker registers the reader as the body starts
            if "wf" in feeds._readers:
                break
            await asyncio.sleep(0.01)
        feeds.offer("wf", frame(7))
        got = await asyncio.wait_for(items.__anext__(), 10)
        assert isinstance(got, ProgressEvent) and got.seq == 7
        # Workflow tasks run on a thread of their own.
        hint = threading.Thread(target=feeds.stream_advanced, args=("wf", 42))
        hint.start()
        hint.join()
        assert await asyncio.wait_for(items.__anext__(), 10) == 42
    finally:
        await items.aclose()
        await tail.close()
        server.should_exit = True
        await serving


def test_a_hint_given_while_the_worker_stops_does_not_fail_the_workflow_task() -> None:
    feeds = LiveFeeds()
    stopped = asyncio.new_event_loop()
    feeds._loop = stopped  # what follow() records
    feeds._readers["wf"].add(asyncio.Queue())
    stopped.close()
    feeds.stream_advanced("wf", 3)  # the workflow thread's call returns; nothing raised
