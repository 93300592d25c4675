"""The durable path: agent → A2A → activity → workflow stream → API → SSE client.

At each concurrency level, that many distinct alerts are submitted at once through
the API and one SSE viewer per investigation (in a separate process) follows it to
its terminal event. Latency is the viewer's receive time minus the event's timestamp,
for events emitted after the viewer connected. Probes (see probes.py) give the same
number at earlier hops.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks import probes, procstat
from benchmarks.live_stack import AUTH, LiveStack
from benchmarks.viewers import StreamSpec, ViewerProcess, ViewerSpec
from surveil.models import Alert
from workflows.investigation import workflow_id_for

STREAM_PROBES = 3  # direct Workflow Streams subscribers per level (each is a poller)


async def measure(live: LiveStack, concurrency: int, *, tag: str, limit_s: float) -> dict[str, Any]:
    alerts = live.fresh_alerts(concurrency, tag)
    metrics_before = await live.metrics()
    cpu_before = procstat.stack_usage(live.stack)
    started = time.monotonic()
    await live.submit(alerts)
    submitted_s = time.monotonic() - started
    workflow_ids = [workflow_id_for("demo", a["id"]) for a in alerts]
    spec = ViewerSpec(
        streams=[StreamSpec(url=live.events_url(a["id"]), headers=AUTH) for a in alerts],
        timestamps="progress_event",
        live_only=True,
    )
    viewers = await ViewerProcess(spec).start()
    probe_alert = Alert(tenant="demo", **{**alerts[0], "id": f"{alerts[0]['id']}-a2a"})
    agent_url = (
        live.stack.env["SURVEIL_WASH_AGENT_URL"]
        if probe_alert.type == "wash_trade"
        else live.stack.env["SURVEIL_INSIDER_AGENT_URL"]
    )
    stream_hop, a2a_hop = await asyncio.gather(
        asyncio.wait_for(
            probes.workflow_stream_hop(live.settings(), workflow_ids[:STREAM_PROBES]), limit_s
        ),
        asyncio.wait_for(probes.a2a_hop(agent_url, probe_alert, live.settings()), limit_s),
        return_exceptions=True,
    )
    result = await viewers.result(within_s=limit_s)
    wall_s = time.monotonic() - started
    group = result["groups"]["viewers"]
    if group["terminal"] < concurrency:  # cut short by the time limit
        await live.cancel([a["id"] for a in alerts])
    metrics_after = await live.metrics()
    cpu_by_process = procstat.stack_cpu_since(live.stack, cpu_before)
    cpu_s = sum(cpu_by_process.values())
    # Each stream event once: the offsets the viewers received (a live frame and its
    # durable copy are one event).
    stream_events = group["events"] - group["live"]
    return {
        "concurrency": concurrency,
        "token_delay_ms": live.token_delay_ms,
        "submit_s": submitted_s,
        "wall_s": wall_s,
        "stack_cpu_s_per_investigation": cpu_s / concurrency,
        "stream_events": stream_events,
        "cpu_ms_per_event": procstat.ms_per_event(cpu_by_process, max(1, stream_events)),
        "events": group["events"],
        "completed": group["terminal"],
        "gaps": group["gaps"],
        "duplicates": group["duplicates"],
        "reconnects": group["reconnects"],
        "errors": group["error_samples"],
        "replayed": group["replayed"],
        "client": group["latency_ms"],
        "client_by_kind": group["latency_ms_by_kind"],
        "hops": {
            "a2a": _or_error(a2a_hop),
            "workflow_stream": _or_error(stream_hop),
            "api_write": probes.api_write_hop(metrics_before, metrics_after),
        },
        "workflow_ids": workflow_ids,
    }


def _or_error(value: Any) -> Any:
    if isinstance(value, BaseException):
        return {"n": 0, "p50": None, "p99": None, "error": f"{type(value).__name__}: {value}"}
    return value
