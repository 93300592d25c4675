"""Bearer tokens and stream tokens: compared in constant time, near misses refused,
stream tokens short-lived and bound to one alert of one tenant."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json

import httpx
import pytest

from api.auth import StreamTokens, TokenRegistry
from tests.security.conftest import (
    TOKEN_A,
    TOKEN_B,
    app_settings,
    bearer,
    in_process_client,
    stream_status,
    submit_fresh_alert,
)
from tests.support.stack import Stack


def near_misses(token: str) -> list[str]:
    """Wrong tokens of the same length (first, middle, last character changed), and
    the token's prefix and extension."""

    def flip(i: int) -> str:
        return token[:i] + ("x" if token[i] != "x" else "y") + token[i + 1 :]

    return [flip(0), flip(len(token) // 2), flip(len(token) - 1), token[:-1], token + "a"]


@pytest.mark.parametrize(
    "function", [TokenRegistry.principal_for, StreamTokens.verify], ids=["bearer", "stream"]
)
def test_tokens_are_compared_with_hmac_compare_digest(function):
    source = inspect.getsource(function)
    assert "hmac.compare_digest(" in source
    assert "==" not in source.replace("!=", "")  # no early-exit string comparison


@pytest.mark.parametrize("token", [TOKEN_A, TOKEN_B])
async def test_wrong_bearer_tokens_of_equal_length_are_refused(stack: Stack, token: str):
    async with httpx.AsyncClient(base_url=stack.api_url(), timeout=30) as client:
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 200
        for wrong in near_misses(token):
            response = await client.get("/api/me", headers=bearer(wrong))
            assert response.status_code == 401, wrong
            a2a = await client.post(
                "/a2a", headers=bearer(wrong),
                json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "x"}},
            )  # fmt: skip
            assert a2a.status_code == 401, wrong


async def test_stream_token_expires_after_the_configured_ttl(stack: Stack, api: httpx.AsyncClient):
    alert_id = await submit_fresh_alert(api)
    async with in_process_client(app_settings(stack, stream_token_ttl_s=1)) as short_lived:
        minted = (await short_lived.post(f"/api/alerts/{alert_id}/stream-token")).json()
    token = minted["token"]

    assert (await stream_status(api, alert_id, token=token))[0] == 200  # any API process
    await asyncio.sleep(2.1)  # expiry has one-second resolution
    status, body = await stream_status(api, alert_id, token=token)
    assert status == 401
    assert "expired" in body


async def test_stream_token_opens_only_the_alert_it_was_minted_for(api: httpx.AsyncClient):
    mine, other = await submit_fresh_alert(api), await submit_fresh_alert(api)
    token = (await api.post(f"/api/alerts/{mine}/stream-token")).json()["token"]

    assert (await stream_status(api, other, token=token))[0] == 404


async def test_stream_token_cannot_be_minted_or_forged_for_another_tenant(
    stack: Stack, api: httpx.AsyncClient
):
    alert_id = await submit_fresh_alert(api)
    async with httpx.AsyncClient(
        base_url=stack.api_url(), headers=bearer(TOKEN_B), timeout=30
    ) as other_tenant:
        refused = await other_tenant.post(f"/api/alerts/{alert_id}/stream-token")
    assert refused.status_code == 404

    token = (await api.post(f"/api/alerts/{alert_id}/stream-token")).json()["token"]
    encoded, _, signature = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    claims["t"] = "other"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    status, body = await stream_status(api, alert_id, token=f"{forged}.{signature}")
    assert status == 401
    assert "invalid stream token" in body


async def test_stream_token_is_not_a_bearer_token(api: httpx.AsyncClient):
    alert_id = await submit_fresh_alert(api)
    token = (await api.post(f"/api/alerts/{alert_id}/stream-token")).json()["token"]

    as_bearer = await api.get(f"/api/alerts/{alert_id}", headers=bearer(token))
    as_query = await api.get(
        f"/api/alerts/{alert_id}", params={"token": token}, headers={"Authorization": ""}
    )
    assert (as_bearer.status_code, as_query.status_code) == (401, 401)
