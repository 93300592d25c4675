"""The alert queue: one row per alert whatever its runs, with the status a person acts on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import read_sse, submit

ASKS_ANALYST = "ALR-007-12"  # the wash-trade specialist asks about common control


async def queue_until(
    client: httpx.AsyncClient,
    params: dict[str, Any],
    matches: Callable[[list[dict[str, Any]]], bool],
    within_s: float = 30,
) -> list[dict[str, Any]]:
    """The queue's rows once `matches` holds (Temporal visibility lags a workflow's state
    by a moment); fails with the last rows seen."""
    deadline = time.monotonic() + within_s
    while True:
        response = await client.get("/api/alerts", params={"page_size": 200, **params})
        assert response.status_code == 200, response.text
        rows = response.json()["items"]
        if matches(rows):
            return rows
        assert time.monotonic() < deadline, f"queue never matched; last rows: {rows}"
        await asyncio.sleep(0.2)


def rows_for(rows: list[dict[str, Any]], alert_id: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["id"] == alert_id]


def one(alert_id: str, **expected: Any) -> Callable[[list[dict[str, Any]]], bool]:
    def check(rows: list[dict[str, Any]]) -> bool:
        mine = rows_for(rows, alert_id)
        return len(mine) == 1 and all(mine[0][k] == v for k, v in expected.items())

    return check


async def test_stored_alerts_not_investigated_are_in_the_queue(api) -> None:
    rows = await queue_until(api, {"status": "not_investigated", "q": "ALR-007"}, bool)
    assert all(r["status"] == "not_investigated" and r["runs"] == 0 for r in rows)
    assert all("ALR-007" in r["id"] for r in rows)


async def test_a_canceled_and_retried_alert_is_one_row_with_the_status_to_act_on(
    api, demo_alerts
) -> None:
    base_alert = next(a for a in demo_alerts if a["id"] == ASKS_ANALYST)
    alert = {k: v for k, v in base_alert.items() if k != "tenant"}
    alert["id"] = f"Q-{uuid.uuid4().hex[:10]}"
    accepted = await submit(api, alert)
    events, path = accepted["links"]["events"], accepted["links"]["self"]

    def asks(frame: Any) -> bool:  # the workflow's own status: the question is open
        return frame.event == "status" and (frame.data.data or {}).get("state") == "input_required"

    asked = await read_sse(api, events, until=asks)
    assert any(f.event == "input_required" for f in asked.frames)
    # The workflow says until when the question waits (the UI shows it on the question card).
    status = asked.frames[-1].data
    expires = datetime.fromisoformat(status.data["expires_at"])
    assert timedelta(seconds=30) < expires - status.timestamp <= timedelta(seconds=120)

    await queue_until(api, {"awaiting_my_input": "true"}, one(alert["id"], status="awaiting_input"))

    canceled = await api.post(f"{path}/cancel", json={"reason": "wrong account"})
    assert canceled.status_code == 202, canceled.text
    await read_sse(api, events, headers={"Last-Event-ID": str(asked.offsets[-1])})
    rows = await queue_until(api, {"status": "canceled"}, one(alert["id"], runs=1))
    assert all(r["status"] == "canceled" for r in rows)

    retried = await api.post(f"{path}/retry")
    assert retried.status_code == 202, retried.text
    await queue_until(api, {"q": alert["id"]}, one(alert["id"], runs=2, status="awaiting_input"))
    answered = await api.post(f"{path}/answer", json={"agent": "wash_trade", "text": "no"})
    assert answered.status_code == 200, answered.text
    await read_sse(api, events, until=lambda f: f.data.is_terminal and f.data.data.get("run") == 2)
    rows = await queue_until(api, {"q": alert["id"]}, one(alert["id"], status="awaiting_review"))
    assert rows_for(rows, alert["id"])[0]["runs"] == 2
    assert (await api.get("/api/alerts", params={"status": "canceled", "q": alert["id"]})).json()[
        "items"
    ] == []

    # Taking ownership shows in "assigned to me"; deciding moves it to closed.
    assert (await api.post(f"{path}/assign")).status_code == 200
    await queue_until(api, {"assigned_to_me": "true"}, one(alert["id"], owner="alice"))
    decided = await api.post(
        f"{path}/decision",
        json={"verdict": "close", "outcome": "no_action", "comment": "Not common control."},
    )
    assert decided.status_code == 200, decided.text
    await queue_until(
        api, {"status": "closed"}, one(alert["id"], outcome="no_action", sla_breached=False)
    )
    audit = (await api.get(f"{path}/audit")).json()
    assert [(e["action"], e["run"]) for e in audit] == [
        ("submit", 1), ("cancel", 1), ("retry", 2), ("answer", 2), ("assign", 2), ("decide", 2),
    ]  # fmt: skip


async def test_queue_sorts_and_pages(api) -> None:
    first = (await api.get("/api/alerts", params={"sort": "id", "page_size": 3})).json()
    assert [r["id"] for r in first["items"]] == sorted(r["id"] for r in first["items"])
    second = (
        await api.get(
            "/api/alerts",
            params={"sort": "id", "page_size": 3, "next_page_token": first["next_page_token"]},
        )
    ).json()
    assert first["items"][-1]["id"] < second["items"][0]["id"]
    forged = await api.get("/api/alerts", params={"next_page_token": "abc.def"})
    assert forged.status_code == 400
