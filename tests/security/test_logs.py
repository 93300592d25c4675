"""No token or secret reaches a log: bearer tokens (right and wrong), stream tokens
(used, refused, on the query string) and the stream-token secret, in the logs of
every process of the stack."""

from __future__ import annotations

import asyncio

import httpx

from tests.security.conftest import (
    STREAM_SECRET,
    TOKEN_A,
    TOKEN_B,
    bearer,
    stream_status,
    submit_fresh_alert,
)
from tests.support.stack import Stack

WRONG_TOKEN = "tenant-a-tokem"  # one character off TOKEN_A


async def test_no_token_or_secret_appears_in_any_log(stack: Stack, api: httpx.AsyncClient):
    alert_id = await submit_fresh_alert(api)
    other_alert = await submit_fresh_alert(api)
    token = (await api.post(f"/api/alerts/{alert_id}/stream-token")).json()["token"]
    # Used where it works, and where it is refused (error paths log more).
    assert (await stream_status(api, alert_id, token=token))[0] == 200
    assert (await stream_status(api, other_alert, token=token))[0] == 404
    assert (await stream_status(api, alert_id, token=token + "x"))[0] == 401
    async with httpx.AsyncClient(base_url=stack.api_url(), timeout=30) as anonymous:
        for presented in (TOKEN_B, WRONG_TOKEN):
            await anonymous.get("/api/me", headers=bearer(presented))
            await anonymous.post(
                "/a2a", headers=bearer(presented),
                json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get",
                      "params": {"id": alert_id}},
            )  # fmt: skip
        await anonymous.get(f"/api/alerts/{alert_id}", params={"token": token})
    await asyncio.sleep(0.5)  # let the processes write their logs

    secrets = {
        "tenant A's token": TOKEN_A,
        "tenant B's token": TOKEN_B,
        "a wrong token": WRONG_TOKEN,
        "the stream token": token,
        "the stream token's signature": token.partition(".")[2],
        "the stream-token secret": STREAM_SECRET,
    }
    logs = {p.name: p.read_text(errors="replace") for p in (stack.root / "logs").glob("*.log")}
    assert "api.log" in logs and logs["api.log"]
    leaks = [
        f"{what} in {name}" for name, text in logs.items()
        for what, secret in secrets.items() if secret in text
    ]  # fmt: skip
    assert leaks == []
