"""Listeners placed part-way along the durable path, for a per-hop breakdown.

Each reads the same ProgressEvents a later hop will see and records, per event,
receive time minus the event's own timestamp (set where the agent emitted it):

- `a2a_hop`: an A2A client of a specialist, as the `run_specialist` activity is one
  (agent emit → activity's receive).
- `workflow_stream_hop`: a direct Workflow Streams subscriber (agent emit → relay
  batch signal → workflow → Query page), what the API's fan-out receives.
- `api_write_hop`: the API's own emit→write histogram, read from /metrics.

None of them changes the code under test.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from a2a.client import ClientConfig, ClientFactory

from agents.a2a_events import alert_message, events_in
from agents.tls import agent_http_client
from benchmarks.viewers import percentiles
from surveil.models import Alert
from workflows.client import connect, events


async def a2a_hop(agent_url: str, alert: Alert, settings: Any) -> dict[str, Any]:
    latencies: list[float] = []
    # The agents serve the worker only: present its token (agents/agent_auth.py).
    async with agent_http_client(settings, timeout=300) as http:
        client = await ClientFactory(
            ClientConfig(streaming=True, httpx_client=http)
        ).create_from_url(agent_url)
        try:
            async for response in client.send_message(_request(alert)):
                received = time.time()
                latencies += [
                    (received - e.timestamp.timestamp()) * 1000 for e in events_in(response)
                ]
        finally:
            await client.close()
    return percentiles(np.array(latencies))


def _request(alert: Alert) -> Any:
    from a2a.types import SendMessageRequest

    return SendMessageRequest(message=alert_message(alert))


async def workflow_stream_hop(settings: Any, workflow_ids: list[str]) -> dict[str, Any]:
    """Latency of live events at a direct subscriber of each workflow's stream."""
    import asyncio

    client = await connect(settings)
    latencies: list[float] = []

    async def follow(workflow_id: str) -> None:
        subscribed = time.time()
        async for _, event in events(client, workflow_id):
            received, emitted = time.time(), event.timestamp.timestamp()
            if emitted >= subscribed:  # replayed history is not latency
                latencies.append((received - emitted) * 1000)

    await asyncio.gather(*(follow(w) for w in workflow_ids))
    return percentiles(np.array(latencies))


def histogram_delta(before: list[Any], after: list[Any]) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) buckets of a Prometheus histogram between scrapes."""

    def buckets(samples: list[Any]) -> dict[float, float]:
        return {float(s.labels["le"]): s.value for s in samples if s.name.endswith("_bucket")}

    old, new = buckets(before), buckets(after)
    return sorted((le, new[le] - old.get(le, 0.0)) for le in new)


def histogram_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Prometheus-style linear interpolation inside the bucket holding quantile q."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return None


def api_write_hop(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> dict[str, Any]:
    name = "surveil_event_emit_to_write_seconds"
    if name not in after:
        return {"n": 0, "p50": None, "p99": None}
    buckets = histogram_delta(before.get(name, []), after[name])
    to_ms = lambda v: None if v is None else v * 1000  # noqa: E731
    return {
        "n": int(buckets[-1][1]) if buckets else 0,
        "p50": to_ms(histogram_quantile(buckets, 0.5)),
        "p99": to_ms(histogram_quantile(buckets, 0.99)),
        "buckets": buckets,
    }
