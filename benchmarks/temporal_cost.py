"""What durability costs in Temporal: history events, Updates, signals and bytes per
investigation and per stream event, read from the finished workflows' histories."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType

from surveil.stream import NEXT_OFFSET_QUERY
from workflows.client import connect

KIND = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow_tasks",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continue_as_new",
}


async def _one(client: Any, workflow_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    kinds: Counter[str] = Counter()
    for event in history.events:
        kinds[KIND.get(event.event_type, "other")] += 1
    # The stream's next offset (a Query: writes no history).
    stream_events = await handle.query(NEXT_OFFSET_QUERY, result_type=int)
    return {
        "history_events": len(history.events),
        "history_bytes": sum(e.ByteSize() for e in history.events),
        "signal_bytes": sum(
            e.ByteSize()
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ),
        "stream_events": stream_events,
        **kinds,
    }


async def measure(settings: Any, workflow_ids: list[str]) -> dict[str, Any]:
    client = await connect(settings)
    runs = await asyncio.gather(*(_one(client, w) for w in workflow_ids))
    n = len(runs)
    total = lambda key: sum(r.get(key, 0) for r in runs)  # noqa: E731
    stream_events = total("stream_events")
    return {
        "workflows": n,
        "history_events_per_investigation": total("history_events") / n,
        "history_bytes_per_investigation": total("history_bytes") / n,
        "signal_bytes_per_investigation": total("signal_bytes") / n,
        "signals_per_investigation": total("signals") / n,
        "updates_per_investigation": total("updates") / n,
        "activities_per_investigation": total("activities") / n,
        "workflow_tasks_per_investigation": total("workflow_tasks") / n,
        "stream_events_per_investigation": stream_events / n,
        "history_events_per_stream_event": total("history_events") / max(1, stream_events),
        "stream_events_per_history_event": stream_events / max(1, total("history_events")),
        "history_bytes_per_stream_event": total("history_bytes") / max(1, stream_events),
    }
