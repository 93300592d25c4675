"""Resume: time from a reconnect with Last-Event-ID to the first missed event.

Viewers read part of running investigations and hang up; once each stream has grown
past where its viewer stopped (there are missed events to serve: a viewer that had
read to the end would otherwise time how long the investigation stays quiet, which
with live frames counted towards its 20 events was often seconds), new viewers
reconnect with Last-Event-ID. Measured
against the same API process (its fan-out still holds the stream: a dropped Wi-Fi)
and against a second API process that has never seen the investigation (the API
restarted, or a load balancer picked another instance): the first missed event then
comes from Temporal.
"""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks.live_stack import AUTH, LiveStack
from benchmarks.viewers import StreamSpec, ViewerProcess, ViewerSpec
from surveil.stream import NEXT_OFFSET_QUERY
from workflows.client import connect
from workflows.investigation import workflow_id_for

READ_BEFORE_HANGUP = 20  # events each viewer reads before it drops
MISSED_FOR_S = 1.0  # at least
GROWN_WITHIN_S = 60.0


async def _resume_once(live: LiveStack, alert_ids: list[str], api: str) -> dict[str, Any]:
    first = ViewerSpec(
        streams=[StreamSpec(url=live.events_url(a), headers=AUTH) for a in alert_ids],
        stop_after_events=READ_BEFORE_HANGUP,
        reconnect=False,
    )
    read = await (await ViewerProcess(first).start()).result(within_s=120)
    last_ids = read["groups"]["viewers"]["last_ids"]
    await asyncio.sleep(MISSED_FOR_S)
    await _until_grown(live, alert_ids, last_ids)
    again = ViewerSpec(
        streams=[
            StreamSpec(url=live.events_url(a, api), headers=AUTH, last_event_id=last)
            for a, last in zip(alert_ids, last_ids, strict=True)
            if last is not None
        ],
        stop_after_events=1,
        reconnect=False,
    )
    resumed = (await (await ViewerProcess(again).start()).result(within_s=120))["groups"]
    group = resumed["viewers"]
    return {
        "resumes": group["streams"],
        "first_missed_event_ms": group["first_event_ms"],
        "gaps": group["gaps"],
        "errors": group["error_samples"],
    }


async def _until_grown(live: LiveStack, alert_ids: list[str], last_ids: list[int | None]) -> None:
    """Until every stream holds an offset past its viewer's last one (asked of the
    workflow directly, so no API process warms up for it)."""
    client = await connect(live.settings())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GROWN_WITHIN_S
    for alert_id, last in zip(alert_ids, last_ids, strict=True):
        handle = client.get_workflow_handle(workflow_id_for("demo", alert_id))
        while last is not None and loop.time() < deadline:
            if await handle.query(NEXT_OFFSET_QUERY, result_type=int) > last + 1:
                break
            await asyncio.sleep(0.2)


async def measure(live: LiveStack, *, resumes: int) -> dict[str, Any]:
    alerts = live.fresh_alerts(resumes, "resume")
    await live.submit(alerts)
    alert_ids = [a["id"] for a in alerts]
    await asyncio.sleep(1.0)
    warm = await _resume_once(live, alert_ids, "api")
    if "api-2" not in live.stack.children:
        live.stack.start_api("api-2")
    cold = await _resume_once(live, alert_ids, "api-2")
    return {"same_api": warm, "other_api": cold}
