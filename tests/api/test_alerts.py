"""REST: submit, inspect, list, steer. Real stack (Temporal, agents, worker, API)."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.conftest import fresh_alert, problem, read_sse, submit


async def test_submitted_alert_streams_every_event_to_the_terminal_one(api, demo_alerts) -> None:
    alert = fresh_alert(demo_alerts)
    accepted = await submit(api, alert)
    assert accepted["id"] == alert["id"] and accepted["created"] is True
    assert accepted["links"]["events"] == f"/api/alerts/{alert['id']}/events"
    assert accepted["links"]["temporal_ui"].endswith(f"/workflows/alert-demo-{alert['id']}")

    stream = await read_sse(api, accepted["links"]["events"])
    assert stream.status == 200
    assert stream.offsets == list(range(len(stream.frames)))
    assert all(f.event == f.data.type.value for f in stream.frames)
    assert stream.frames[-1].data.is_terminal
    assert stream.frames[-1].data.data["state"] == "completed"
    assert any(f.event == "finding" for f in stream.frames)

    detail = (await api.get(accepted["links"]["self"])).json()
    assert detail["status"] == "completed"
    assert detail["determination"]["alert_id"] == alert["id"]
    assert detail["last_offset"] == stream.offsets[-1]


async def test_same_alert_twice_is_one_investigation(api, demo_alerts) -> None:
    alert = fresh_alert(demo_alerts)
    first = await submit(api, alert)
    second = await submit(api, alert)
    assert (first["created"], second["created"]) == (True, False)
    stream = await read_sse(api, first["links"]["events"])
    submitted = [
        f for f in stream.frames if f.data.data and f.data.data.get("state") == "submitted"
    ]
    assert len(submitted) == 1  # one workflow, one run
    again = await submit(api, alert)  # also after it finished
    assert again["created"] is False


async def test_idempotency_key_stands_in_for_a_missing_id(api, demo_alerts) -> None:
    body = fresh_alert(demo_alerts)
    del body["id"]
    key = {"Idempotency-Key": f"key-{asyncio.get_running_loop().time()}"}
    first = await submit(api, body, headers=key)
    second = await submit(api, body, headers=key)
    assert first["id"] == second["id"] and second["created"] is False
    missing = await api.post("/api/alerts", json=body)
    assert missing.status_code == 422 and "id" in problem(missing)["detail"]


async def test_stored_alert_is_submitted_by_id_and_listed_with_filters(api, demo_alerts) -> None:
    stored = next(a for a in demo_alerts if a["type"] == "insider_trading")
    accepted = await submit(api, {"id": stored["id"]})
    await read_sse(api, accepted["links"]["events"])

    listed = (
        await api.get(
            "/api/alerts", params={"status": "awaiting_review", "type": "insider_trading"}
        )
    ).json()
    assert stored["id"] in [i["id"] for i in listed["items"]]
    assert all(
        i["type"] == "insider_trading" and i["status"] == "awaiting_review" for i in listed["items"]
    )
    none = (await api.get("/api/alerts", params={"q": "no-such-alert-anywhere"})).json()
    assert none["items"] == []
    wrong = await api.get("/api/alerts", params={"status": "terminated"})
    assert wrong.status_code == 422


async def test_listing_pages_with_next_page_token(api, demo_alerts) -> None:
    for _ in range(3):
        await submit(api, fresh_alert(demo_alerts))
    seen: list[str] = []
    page = (await api.get("/api/alerts", params={"page_size": 2})).json()
    assert len(page["items"]) == 2 and page["next_page_token"]
    seen += [i["id"] for i in page["items"]]
    page = (
        await api.get(
            "/api/alerts", params={"page_size": 2, "next_page_token": page["next_page_token"]}
        )
    ).json()
    seen += [i["id"] for i in page["items"]]
    assert len(seen) == len(set(seen)) >= 3


async def test_answer_cancel_and_retry_conflict_with_a_completed_investigation(
    api, demo_alerts
) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    await read_sse(api, accepted["links"]["events"])
    base = accepted["links"]["self"]
    answer = await api.post(f"{base}/answer", json={"agent": "wash_trade", "text": "yes"})
    assert answer.status_code == 409 and "no question" in problem(answer)["detail"]
    cancel = await api.post(f"{base}/cancel", json={"reason": "duplicate"})
    assert cancel.status_code == 409 and "completed" in problem(cancel)["detail"]
    retry = await api.post(f"{base}/retry")
    assert retry.status_code == 409 and "completed" in problem(retry)["detail"]


async def test_cancel_ends_the_stream_with_a_canceled_status(api, demo_alerts) -> None:
    alert = fresh_alert(demo_alerts, "insider_trading")
    alert["id"] = alert["id"] + "-cancel"
    accepted = await submit(api, alert)
    response = await api.post(f"{accepted['links']['self']}/cancel", json={"reason": "test"})
    assert response.status_code in (202, 409), response.text  # 409 only if it already finished
    stream = await read_sse(api, accepted["links"]["events"])
    final = stream.frames[-1].data
    assert final.is_terminal
    if response.status_code == 202:
        assert final.data["state"] == "canceled"


async def test_config_is_public_and_reveals_no_token_outside_dev_mode(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url()) as anonymous:
        config = (await anonymous.get("/api/config")).json()
        assert config == {
            "dev_mode": False, "temporal_ui_url": config["temporal_ui_url"],
            "four_eyes": False, "case_sla_hours": 24.0,
        }  # fmt: skip
        assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
        assert (await anonymous.get("/readyz")).status_code == 200
        docs = await anonymous.get("/docs")
        assert docs.status_code == 200
        # Swagger UI from the API's own assets: /docs works without internet.
        assert "cdn" not in docs.text and "/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
        assert (await anonymous.get("/vendor/swagger-ui/swagger-ui-bundle.js")).status_code == 200
        metrics = (await anonymous.get("/metrics")).text
        assert (
            "surveil_active_streams" in metrics and "surveil_event_emit_to_write_seconds" in metrics
        )


async def test_me_names_the_tokens_person(api, other) -> None:
    assert (await api.get("/api/me")).json() == {
        "tenant": "demo",
        "user": "alice",
        "role": "analyst",
    }
    assert (await other.get("/api/me")).json() == {
        "tenant": "other",
        "user": "oscar",
        "role": "analyst",
    }
