"""Clients of the session's real API per tenant, fresh alerts, and an in-process app
on the same Temporal for settings the shared API process was not started with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from api.main import create_app
from surveil.settings import Settings
from tests.support.api_client import TOKEN_A, api_client, bearer, fresh_alert
from tests.support.api_client import TOKEN_B as TOKEN_B  # re-exported for security/fuzz tests
from tests.support.stack import TEST_TOKENS, Stack

STREAM_SECRET = "test-stream-secret"  # the stack's SURVEIL_STREAM_TOKEN_SECRET


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack, TOKEN_A) as client:
        yield client


def app_settings(stack: Stack, **overrides: Any) -> Settings:
    """The settings of the stack's API process, with `overrides`."""
    tokens = ",".join(f"{t}:{tenant}" for t, tenant in TEST_TOKENS.items())
    return Settings(
        home=stack.home,
        temporal_address=stack.temporal_address,
        api_tokens=SecretStr(tokens),
        stream_token_secret=SecretStr(STREAM_SECRET),
        **overrides,
    )


def in_process_client(settings: Settings, token: str | None = TOKEN_A) -> httpx.AsyncClient:
    app = create_app(settings, web_dir=None)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://in-process",
        headers=bearer(token) if token else {},
        timeout=60,
    )


async def submit_fresh_alert(api: httpx.AsyncClient, alert_type: str = "wash_trade") -> str:
    """A copy of a demo alert under a new id, submitted; its id."""
    demo = (await api.get("/api/demo-alerts")).json()
    body = fresh_alert(demo, alert_type, id_prefix="SEC")
    response = await api.post("/api/alerts", json=body)
    assert response.status_code == 202, response.text
    return body["id"]


async def stream_status(client: httpx.AsyncClient, alert_id: str, **params: str) -> tuple[int, str]:
    """Open the SSE route and hang up at once: (status, body of a refusal)."""
    async with client.stream(
        "GET", f"/api/alerts/{alert_id}/events", params=params, headers={"Authorization": ""}
    ) as response:
        if response.status_code != 200:
            return response.status_code, (await response.aread()).decode()
        return 200, ""
