"""Bad input gets a clear 4xx problem+json and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import TOKEN_A, bearer, fresh_alert, problem, submit
from tests.support.stack import Stack


async def test_malformed_json_is_400(api) -> None:
    response = await api.post(
        "/api/alerts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "not valid JSON" in problem(response)["detail"]


async def test_invalid_alert_is_422_naming_each_field(api, demo_alerts) -> None:
    body = fresh_alert(demo_alerts)
    body["type"] = "spoofing"
    body["window_end"] = "yesterday"
    response = await api.post("/api/alerts", json=body)
    assert response.status_code == 422
    fields = {e["field"] for e in problem(response)["errors"]}
    assert fields == {"type", "window_end"}
    assert (await api.get(f"/api/alerts/{body['id']}")).status_code == 404  # nothing started


async def test_tenant_in_the_body_is_refused(api, demo_alerts) -> None:
    body = {**fresh_alert(demo_alerts), "tenant": "other"}
    response = await api.post("/api/alerts", json=body)
    assert response.status_code == 422 and "tenant" in problem(response)["detail"]


async def test_unknown_alerts_are_404(api) -> None:
    assert (await api.post("/api/alerts", json={"id": "NOPE-1"})).status_code == 404
    for path in ("/api/alerts/NOPE-1", "/api/alerts/NOPE-1/events"):
        response = await api.get(path)
        assert response.status_code == 404 and problem(response)["title"] == "Not Found"


async def test_oversize_body_is_413(api) -> None:
    response = await api.post(
        "/api/alerts", content=b"x" * 300_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and problem(response)["title"] == "Payload Too Large"


async def test_bad_list_parameters_are_4xx(api) -> None:
    assert (await api.get("/api/alerts", params={"status": "bogus"})).status_code == 422
    assert (await api.get("/api/alerts", params={"page_size": "0"})).status_code == 422
    bad = await api.get("/api/alerts", params={"next_page_token": "bm90LWEtdG9rZW4="})
    assert bad.status_code == 400 and "next_page_token" in problem(bad)["detail"]


async def test_bad_answer_body_is_422(api) -> None:
    response = await api.post("/api/alerts/NOPE-1/answer", json={"agent": "wash_trade"})
    assert response.status_code == 422 and "text" in problem(response)["detail"]


@pytest.fixture(scope="module")
def limited_api(stack: Stack) -> Iterator[str]:
    """A second API process on the same stack with tight per-tenant limits."""
    stack.env_overrides.update(
        {"SURVEIL_SUBMISSIONS_PER_MINUTE": "2", "SURVEIL_MAX_STREAMS_PER_TENANT": "1"}
    )
    try:
        stack.start_api("api-limited")
    finally:
        for key in ("SURVEIL_SUBMISSIONS_PER_MINUTE", "SURVEIL_MAX_STREAMS_PER_TENANT"):
            stack.env_overrides.pop(key)
    yield stack.api_url("api-limited")
    stack.stop("api-limited")


async def test_submissions_over_the_rate_limit_are_429_with_retry_after(
    limited_api, demo_alerts
) -> None:
    async with httpx.AsyncClient(base_url=limited_api, headers=bearer(TOKEN_A), timeout=60) as api:
        body = fresh_alert(demo_alerts)
        await submit(api, body)
        await submit(api, body)
        response = await api.post("/api/alerts", json=body)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert "per minute" in problem(response)["detail"]


async def test_streams_over_the_tenant_cap_are_429(limited_api, stack) -> None:
    async with httpx.AsyncClient(base_url=limited_api, headers=bearer(TOKEN_A), timeout=60) as api:
        listed = (await api.get("/api/alerts", params={"page_size": 1})).json()["items"]
        url = f"/api/alerts/{listed[0]['id']}/events"
        async with api.stream("GET", url, headers={"Last-Event-ID": "0"}) as first:
            assert first.status_code == 200
            second = await api.get(url, headers={"Last-Event-ID": "0"})
            assert second.status_code == 429 and problem(second)["title"] == "Too Many Requests"
