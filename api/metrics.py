"""Prometheus metrics of the API process, served at /metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

ACTIVE_STREAMS = Gauge("surveil_active_streams", "Open event streams (SSE and A2A)", ["transport"])
STREAM_DURATION = Histogram(
    "surveil_stream_duration_seconds", "How long an event stream stayed open", ["transport"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 600, 1800, 3600),
)  # fmt: skip
EVENTS_PER_STREAM = Histogram(
    "surveil_events_per_stream", "Events written to one stream", ["transport"],
    buckets=(0, 1, 10, 50, 100, 500, 1000, 5000, 20000),
)  # fmt: skip
RECONNECTIONS = Counter(
    "surveil_stream_reconnections_total", "Streams opened with Last-Event-ID (a resume)",
    ["transport"],
)  # fmt: skip
EARLY_DISCONNECTS = Counter(
    "surveil_stream_disconnects_before_end_total",
    "Streams that ended before the terminal event (client left, lagged or API stopped)",
    ["transport", "reason"],
)
SSE_SEND_TIMEOUTS = Counter(
    "surveil_sse_send_timeouts_total",
    "SSE streams cut because the viewer stopped reading (socket full for the send timeout)",
)
ERRORS = Counter("surveil_errors_total", "Errors returned to clients, by kind", ["kind"])
INVESTIGATIONS = Counter(
    "surveil_investigations_total",
    "Investigations seen reaching a terminal state, by status and disposition",
    ["status", "disposition"],
)
SUBMISSIONS = Counter(
    "surveil_submissions_total",
    "Alert submissions",
    ["outcome"],  # started | existing
)
EMIT_TO_WRITE = Histogram(
    "surveil_event_emit_to_write_seconds",
    "Latency from an event's timestamp to its SSE write",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60),
)
TEMPORAL_QUERIES = Counter(
    "surveil_temporal_queries_total",
    "Reads sent to Temporal per workflow (concurrent identical reads are sent once)",
    ["query"],  # offset, snapshot (Queries, answered by a worker) | describe (existence)
)
TEMPORAL_SUBSCRIPTIONS = Gauge(
    "surveil_temporal_subscriptions", "Open Temporal stream subscriptions in this process"
)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
