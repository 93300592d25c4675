"""Helpers for the API tests: clients per tenant, fresh alerts, an SSE reader.

All tests share the session's real stack (Temporal, agents, worker, `surveil api`).
Demo alerts can be investigated once per stack, so each test makes fresh alerts
(copies of demo alerts under new ids) unless it needs a stored one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from surveil.events import ProgressEvent
from surveil.live import LIVE_EVENT
from tests.support.api_client import TOKEN_A, TOKEN_B, api_client
from tests.support.api_client import bearer as bearer  # re-exported for the API tests
from tests.support.api_client import fresh_alert as fresh_alert
from tests.support.stack import Stack


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack, TOKEN_A) as client:
        yield client


@pytest.fixture
async def other(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack, TOKEN_B) as client:
        yield client


@pytest.fixture
async def demo_alerts(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await api.get("/api/demo-alerts")
    assert response.status_code == 200
    return response.json()


@dataclass
class Frame:
    id: int
    event: str
    data: ProgressEvent


@dataclass
class Stream:
    status: int
    frames: list[Frame] = field(default_factory=list)
    live: list[ProgressEvent] = field(default_factory=list)  # live token frames (no ids)

    @property
    def offsets(self) -> list[int]:
        return [f.id for f in self.frames]


async def read_sse(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    limit: int | None = None,
    until: Callable[[Frame], bool] | None = None,
) -> Stream:
    """Read frames until the server closes (or `limit` were read, or one matched `until`)."""
    async with client.stream("GET", url, headers=headers, params=params, timeout=120) as response:
        stream = Stream(response.status_code)
        if response.status_code != 200:
            await response.aread()
            return stream
        async for sse in EventSource(response).aiter_sse():
            if sse.event == LIVE_EVENT:  # a live token frame: no offset, counted apart
                stream.live.append(ProgressEvent.model_validate_json(sse.data))
                continue
            if not sse.data:  # a heartbeat comment ends in an empty dispatch
                continue
            stream.frames.append(
                Frame(int(sse.id), sse.event, ProgressEvent.model_validate_json(sse.data))
            )
            if limit is not None and len(stream.frames) >= limit:
                return stream
            if until is not None and until(stream.frames[-1]):
                return stream
        return stream


async def submit(client: httpx.AsyncClient, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response = await client.post("/api/alerts", json=body, **kwargs)
    assert response.status_code == 202, response.text
    return response.json()


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = json.loads(response.text)
    assert body["status"] == response.status_code
    return body
