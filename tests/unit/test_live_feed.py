"""The worker's live tail: who gets a frame, what a full reader loses, who may read."""

from __future__ import annotations

import asyncio

import httpx

from activities.live_feed import MAX_BEHIND, LiveFeeds, live_app
from surveil.events import EventType, ProgressEvent


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


async def test_the_live_tail_refuses_a_caller_without_the_token() -> None:
    app = live_app(LiveFeeds(), token="secret")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://worker"
    ) as client:
        refused = await client.get("/live/wf", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert "token" in refused.json()["detail"]
