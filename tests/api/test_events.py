"""SSE: resume by offset across an API crash, bad resume points, the end of a stream."""

from __future__ import annotations

import httpx
import pytest

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
