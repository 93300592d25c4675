"""Fan-out: what one SSE viewer of a running investigation costs the API process.

Investigations are started, then viewers join in two waves (spread evenly over them,
each replaying from offset 0 and following live). After each wave the API's RSS and
CPU are sampled over a window, and its own gauge says how many streams were open.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks import procstat
from benchmarks.live_stack import AUTH, LiveStack
from benchmarks.viewers import StreamSpec, ViewerProcess, ViewerSpec

WINDOW_S = 4.0  # CPU sampling window after a wave has connected


def _spec(live: LiveStack, alert_ids: list[str], count: int, group: str) -> ViewerSpec:
    streams = [
        StreamSpec(url=live.events_url(alert_ids[i % len(alert_ids)]), headers=AUTH, group=group)
        for i in range(count)
    ]
    return ViewerSpec.following_live_investigations(streams)


async def open_streams(live: LiveStack) -> int:
    samples = (await live.metrics()).get("surveil_active_streams", [])
    return int(sum(s.value for s in samples if s.labels.get("transport") == "sse"))


async def measure(
    live: LiveStack, waves: tuple[int, ...], *, investigations: int, limit_s: float
) -> dict[str, Any]:
    alerts = live.fresh_alerts(investigations, "fanout")
    await live.submit(alerts)
    alert_ids = [a["id"] for a in alerts]
    await asyncio.sleep(1.0)
    baseline = procstat.usage(live.api_pid)
    processes: list[ViewerProcess] = []
    samples: list[dict[str, Any]] = []
    try:
        connected = 0
        for wave, total in enumerate(waves):
            spec = _spec(live, alert_ids, total - connected, f"wave{wave}")
            wave_started = time.monotonic()
            # A wave that has not fully connected by the limit is measured as it is:
            # the API's gauge says how many streams were really open.
            processes.append(
                await ViewerProcess(spec).start(ready_within_s=limit_s, require_ready=False)
            )
            connect_s = time.monotonic() - wave_started
            connected = total
            await asyncio.sleep(1.0)
            start = procstat.usage(live.api_pid)
            await asyncio.sleep(WINDOW_S)
            end = procstat.usage(live.api_pid)
            samples.append({
                "viewers": total,
                "connect_wave_s": connect_s,
                "open_streams": await open_streams(live),
                "rss_bytes": end.rss_bytes,
                "cpu_pct": end.cpu_percent_since(start),
                "kb_per_viewer": (end.rss_bytes - baseline.rss_bytes) / total / 1024,
            })  # fmt: skip
        results = [await p.result(stop=True, within_s=60) for p in processes]
    finally:
        for p in processes:
            await p.kill()
    groups = {name: g for r in results for name, g in r["groups"].items()}
    return {
        "investigations": investigations,
        "baseline_rss_bytes": baseline.rss_bytes,
        "waves": samples,
        "gaps": sum(g["gaps"] for g in groups.values()),
        "duplicates": sum(g["duplicates"] for g in groups.values()),
        "errors": [e for g in groups.values() for e in g["error_samples"]],
        "failed_connects": sum(g["failures"] for g in groups.values()),
        "connect_ms": {name: g["connect_ms"] for name, g in groups.items()},
        "latency_ms": {name: g["latency_ms"] for name, g in groups.items()},
    }
