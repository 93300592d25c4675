"""HTTP helpers for tests that call the session stack's API: the two test tenants'
tokens, bearer headers, a client per tenant, and fresh copies of demo alerts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.stack import TEST_TOKENS, Stack

TOKEN_A, TOKEN_B = TEST_TOKENS  # tenants "demo" (owns the demo alerts) and "other"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_client(stack: Stack, token: str = TOKEN_A, timeout: float = 60) -> httpx.AsyncClient:
    """A client of the stack's API process that presents `token` on every request."""
    return httpx.AsyncClient(base_url=stack.api_url(), headers=bearer(token), timeout=timeout)


def fresh_alert(
    demo_alerts: list[dict[str, Any]], alert_type: str = "wash_trade", id_prefix: str = "T"
) -> dict[str, Any]:
    """A copy of a demo alert of that type under a new id (tenant comes from the token).

    Demo alerts can be investigated once per stack, so tests submit copies."""
    base = next(a for a in demo_alerts if a["type"] == alert_type)
    body = {k: v for k, v in base.items() if k != "tenant"}
    body["id"] = f"{id_prefix}-{uuid.uuid4().hex[:12]}"
    return body
