"""SSE: resume by offset across an API crash, bad resume points, the end of a stream."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.investigations import TemporalUnavailable, translate_rpc_error
from surveil.tasks import TERMINAL_TASK_STATES
from tests.api.conftest import fresh_alert, problem, read_sse, submit


async def test_resume_after_api_crash_delivers_every_offset_exactly_once(
    stack, api, demo_alerts
) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    url = accepted["links"]["events"]
    first = await read_sse(api, url, limit=20)
    assert first.offsets == list(range(20))

    stack.kill("api")  # kill -9: no goodbye to anyone
    stack.restart("api")

    rest = await read_sse(api, url, headers={"Last-Event-ID": str(first.offsets[-1])})
    offsets = first.offsets + rest.offsets
    assert offsets == list(range(len(offsets)))  # nothing skipped, nothing repeated
    assert rest.frames[-1].data.is_terminal
    again = await read_sse(api, url, params={"after": "9"})  # ?after= is the same resume point
    assert again.offsets == offsets[10:]


async def test_resuming_a_finished_stream_at_its_end_says_204(api, demo_alerts) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    whole = await read_sse(api, accepted["links"]["events"])
    end = await api.get(
        accepted["links"]["events"], headers={"Last-Event-ID": str(whole.offsets[-1])}
    )
    assert end.status_code == 204  # EventSource stops reconnecting on 204


@pytest.mark.parametrize(
    ("header", "expected"),
    [("-1", "negative"), ("abc", "not an event offset"), ("1.5", "not an event offset"),
     ("999999", "past the end")],
)  # fmt: skip
async def test_bad_last_event_id_is_400_with_a_clear_detail(
    api, demo_alerts, header, expected
) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    response = await api.get(accepted["links"]["events"], headers={"Last-Event-ID": header})
    assert response.status_code == 400
    assert expected in problem(response)["detail"]


async def test_stream_token_opens_only_its_own_alerts_stream(stack, api, demo_alerts) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    other = await submit(api, fresh_alert(demo_alerts))
    minted = (await api.post(accepted["links"]["stream_token"])).json()
    assert set(minted) == {"token", "expires_at"}
    async with httpx.AsyncClient(base_url=stack.api_url(), timeout=60) as browser:  # no header
        stream = await read_sse(
            browser, accepted["links"]["events"], params={"token": minted["token"]}
        )
        assert stream.status == 200 and stream.frames[-1].data.is_terminal
        foreign = await browser.get(other["links"]["events"], params={"token": minted["token"]})
        assert foreign.status_code == 404
        forged = await browser.get(
            accepted["links"]["events"], params={"token": minted["token"] + "x"}
        )
        assert forged.status_code == 401
        detail = await browser.get(accepted["links"]["self"], params={"token": minted["token"]})
        assert detail.status_code == 401  # accepted on the SSE route only


async def test_a_crowd_connecting_at_once_costs_one_describe_and_no_query(api, demo_alerts) -> None:
    # Each connect used to run its own offset Query; Temporal refuses a burst of those
    # ("consistent query buffer is full") and, with a hundred busy workflows, a Query
    # waits for a worker until it times out: the API answered 500. A connect from the
    # start needs no offset, only to know the investigation exists (a Describe).
    accepted = await submit(api, fresh_alert(demo_alerts))
    url = accepted["links"]["events"]
    queries, describes = await temporal_reads(api, "offset"), await temporal_reads(api, "describe")
    streams = await asyncio.gather(*(read_sse(api, url, limit=5) for _ in range(40)))
    assert [s.status for s in streams] == [200] * 40
    assert all(s.offsets == list(range(5)) for s in streams)
    assert await temporal_reads(api, "offset") == queries
    # Coalesced; none at all here, as this process started it and remembers its owner.
    assert await temporal_reads(api, "describe") - describes <= 3


async def test_connecting_to_an_unknown_alert_is_404(api) -> None:
    response = await api.get("/api/alerts/no-such-alert/events")
    assert response.status_code == 404
    assert problem(response)["title"] == "Not Found"


async def test_viewers_of_a_followed_stream_connect_and_resume_without_a_query(
    api, demo_alerts
) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    url = accepted["links"]["events"]
    await read_sse(api, url, limit=1)  # opens this process's channel (it lingers 10 s)
    before = await temporal_reads(api, "offset")
    for _ in range(5):
        fresh = await read_sse(api, url, limit=3)
        resumed = await read_sse(api, url, headers={"Last-Event-ID": "1"}, limit=2)
        assert fresh.offsets == [0, 1, 2] and resumed.offsets == [2, 3]
    state = (await api.get(accepted["links"]["self"])).json()["status"]
    if (
        state not in TERMINAL_TASK_STATES
    ):  # the channel closes on the terminal event; later connects must ask
        assert await temporal_reads(api, "offset") == before


async def temporal_reads(api: httpx.AsyncClient, kind: str) -> float:
    text = (await api.get("/metrics")).text
    found = re.search(rf'^surveil_temporal_queries_total{{query="{kind}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_temporal_shedding_load_is_unavailable_not_an_error() -> None:
    busy = RPCError("consistent query buffer is full", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
    assert isinstance(translate_rpc_error(busy), TemporalUnavailable)
    too_big = RPCError(
        "grpc: received message larger than max", RPCStatusCode.RESOURCE_EXHAUSTED, b""
    )
    assert not isinstance(translate_rpc_error(too_big), TemporalUnavailable)
    # The client's own RPC deadline (a Query no worker answered in time).
    timed_out = RPCError("Timeout expired", RPCStatusCode.CANCELLED, b"")
    assert isinstance(translate_rpc_error(timed_out), TemporalUnavailable)
