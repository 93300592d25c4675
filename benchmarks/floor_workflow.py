"""The workflow of benchmarks/floors.py: surveil's shape, no work. Its own module so
the worker's sandbox imports only this."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

FLOOR_SIGNAL = "publish"
FLOOR_QUERY = "next_offset"


@activity.defn
async def nothing(step: str) -> str:
    return step


@workflow.defn
class FloorWorkflow:
    """One activity, two at once, one more (triage, specialists, synthesis); ends when
    it has taken `signals` signals, each a batch to append."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    @workflow.run
    async def run(self, signals: int) -> int:
        timeout = timedelta(seconds=60)
        await workflow.execute_activity(nothing, "triage", start_to_close_timeout=timeout)
        await asyncio.gather(
            workflow.execute_activity(nothing, "one", start_to_close_timeout=timeout),
            workflow.execute_activity(nothing, "two", start_to_close_timeout=timeout),
        )
        await workflow.execute_activity(nothing, "synthesis", start_to_close_timeout=timeout)
        await workflow.wait_condition(lambda: len(self.events) >= signals)
        return len(self.events)

    @workflow.signal(name=FLOOR_SIGNAL)
    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    @workflow.query(name=FLOOR_QUERY)
    def next_offset(self) -> int:
        return len(self.events)
