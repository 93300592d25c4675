"""POST /api/alerts with a list: a backlog at once, each alert idempotent. Real stack."""

from __future__ import annotations

from tests.api.conftest import fresh_alert, problem, read_sse


async def test_a_list_starts_each_alert_once_and_a_repeat_starts_none(api, demo_alerts) -> None:
    alerts = [fresh_alert(demo_alerts, id_prefix="B") for _ in range(3)]
    first = await api.post("/api/alerts", json=[*alerts, alerts[0]])  # one repeated inside
    assert first.status_code == 202, first.text
    body = first.json()
    assert (body["created"], body["existing"]) == (3, 0)
    assert [item["id"] for item in body["items"]] == [a["id"] for a in alerts]

    again = (await api.post("/api/alerts", json=alerts[:2])).json()
    assert (again["created"], again["existing"]) == (0, 2)
    for item in body["items"]:
        stream = await read_sse(api, item["links"]["events"])
        assert stream.frames[-1].data.data["state"] == "completed"
        starts = [f for f in stream.frames if (f.data.data or {}).get("state") == "submitted"]
        assert len(starts) == 1  # one workflow, one run, whatever was posted twice


async def test_one_bad_item_rejects_the_list_naming_it_and_starts_nothing(api, demo_alerts) -> None:
    good = fresh_alert(demo_alerts, id_prefix="B")
    bad = {**fresh_alert(demo_alerts, id_prefix="B"), "type": "spoofing"}
    response = await api.post("/api/alerts", json=[good, bad])
    assert response.status_code == 422
    assert problem(response)["detail"].startswith("[1] ")
    assert (await api.get(f"/api/alerts/{good['id']}")).status_code == 404
    empty = await api.post("/api/alerts", json=[])
    assert empty.status_code == 422 and "1 to 1000" in problem(empty)["detail"]
