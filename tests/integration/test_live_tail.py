"""The live tail: agent events reach an SSE viewer ahead of the durable stream, and the
durable stream's contract is untouched (every offset once, in order, every event in it).

The stack's token frames are held back from the durable stream for as long as the
step runs (a huge batch interval), so what the viewer sees first can only have come
by the live tail: the test is decided by content, not by timing. And the API never
polls the durable stream on its own (a ten-minute idle poll): it reads it because the
worker's live tail says the stream grew, or the investigation would never end here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import aconnect_sse

from surveil.events import EventType, ProgressEvent
from tests.support.api_client import TOKEN_A, bearer, fresh_alert
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def paced_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        Path(tmp_path_factory.mktemp("live")),
        env_overrides={
            "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "15",
            "SURVEIL_RELAY_BATCH_INTERVAL_MS": "600000",  # frames go with the next milestone
            "SURVEIL_STREAM_POLL_IDLE_MS": "600000",  # the API reads when a worker says so
        },
    ).running() as stack:
        yield stack


async def test_agent_events_arrive_live_before_their_offsets_and_nothing_else_changes(
    paced_stack: Stack,
) -> None:
    headers = bearer(TOKEN_A)
    async with httpx.AsyncClient(
        base_url=paced_stack.api_url(), headers=headers, timeout=httpx.Timeout(30, read=120)
    ) as http:
        demo = (await http.get("/api/demo-alerts")).json()
        body = fresh_alert(demo) | {"id": "LIVE-1"}
        assert (await http.post("/api/alerts", json=body)).status_code == 202

        live: list[ProgressEvent] = []
        durable: list[tuple[int, ProgressEvent]] = []
        live_first = 0  # live frames whose durable copy had not arrived yet
        async with aconnect_sse(http, "GET", "/api/alerts/LIVE-1/events") as source:
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue  # a heartbeat
                event = ProgressEvent.model_validate_json(sse.data)
                if sse.event == "live":
                    live.append(event)
                    known = {(e.agent, e.seq) for _, e in durable}
                    live_first += (event.agent, event.seq) not in known
                else:
                    durable.append((int(sse.id), event))

    assert [offset for offset, _ in durable] == list(range(len(durable)))
    assert durable[-1][1].is_terminal
    frames = {(e.agent, e.seq): e.text for _, e in durable if e.type == EventType.message_delta}
    assert live, "no live frame reached the viewer"
    assert live_first == len(live)  # each came before its offset did
    assert all(e.seq is not None for e in live), [e for e in live if e.seq is None][:3]
    assert {EventType.message_delta, EventType.step_start} <= {e.type for e in live}
    # Every live event is a durable event too, word for word: a preview, nothing more.
    assert all(frames[(e.agent, e.seq)] == e.text for e in live if e.type == "message_delta")
    by_seq = {(e.agent, e.seq): e for _, e in durable if e.seq is not None}
    assert all(
        by_seq[(e.agent, e.seq)].model_dump(exclude={"timestamp"})
        == e.model_dump(exclude={"timestamp"})
        for e in live
    )
