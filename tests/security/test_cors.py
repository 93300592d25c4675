"""CORS is closed unless origins are configured, and then open to those only."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import app_settings, in_process_client
from tests.support.stack import Stack

FOREIGN = "https://evil.example"
ALLOWED = "https://surveil-ui.example"


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


@pytest.mark.parametrize(
    "method, path", [("GET", "/api/me"), ("GET", "/api/alerts"), ("POST", "/a2a")]
)
async def test_default_api_sends_no_cors_headers_to_a_foreign_origin(
    api: httpx.AsyncClient, method: str, path: str
):
    simple = await api.request(method, path, headers={"Origin": FOREIGN}, json={})
    options = await api.options(path, headers=preflight(FOREIGN, method))
    for response in (simple, options):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


async def test_configured_origins_are_allowed_and_no_other(stack: Stack):
    settings = app_settings(stack, cors_origins=[ALLOWED])
    async with in_process_client(settings) as client:
        allowed = await client.options("/api/alerts", headers=preflight(ALLOWED))
        foreign = await client.options("/api/alerts", headers=preflight(FOREIGN))
        read = await client.get("/api/me", headers={"Origin": ALLOWED})
        foreign_read = await client.get("/api/me", headers={"Origin": FOREIGN})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-origin" not in foreign.headers
    assert read.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-origin" not in foreign_read.headers
