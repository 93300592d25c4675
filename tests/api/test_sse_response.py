"""A viewer that stops reading is cut and counted, not logged as a server error."""

from __future__ import annotations

import asyncio
from typing import Any

from api import metrics
from api.sse import ViewerStreamResponse


async def events() -> Any:
    n = 0
    while True:
        yield {"id": str(n), "data": "x"}
        n += 1
        await asyncio.sleep(0)


async def test_a_stalled_viewer_is_cut_and_counted_without_an_error() -> None:
    sent: list[dict[str, Any]] = []
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await never.wait()  # the client never hangs up
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("more_body"):
            await never.wait()  # its socket is full: the first body write never returns

    before = metrics.SSE_SEND_TIMEOUTS._value.get()
    response = ViewerStreamResponse(events(), send_timeout=0.05, ping=600)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "asgi": {"version": "3.0"},
    }
    await asyncio.wait_for(response(scope, receive, send), 5)  # returns; raises nothing

    assert metrics.SSE_SEND_TIMEOUTS._value.get() == before + 1
    assert sent[0]["type"] == "http.response.start"
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
