"""Helpers for tests that drive investigations through Temporal."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from temporalio.client import Client

from surveil.events import ProgressEvent
from surveil.settings import Settings
from tests.support.stack import Stack
from workflows.client import connect, events


async def client_for(stack: Stack) -> Client:
    return await connect(Settings(temporal_address=stack.temporal_address))


async def collect(
    client: Client, workflow_id: str, from_offset: int = 0
) -> list[tuple[int, ProgressEvent]]:
    """Every (offset, event) from `from_offset` through the terminal event."""
    return [
        item
        async for item in events(
            client, workflow_id, from_offset, poll_interval=timedelta(milliseconds=50)
        )
    ]


def parse_watch(stdout: str) -> list[tuple[int, ProgressEvent]]:
    """`surveil watch` output: one `OFFSET JSON` per line."""
    items = []
    for line in stdout.splitlines():
        offset, _, payload = line.partition(" ")
        items.append((int(offset), ProgressEvent.model_validate(json.loads(payload))))
    return items


def duplicated_relays(items: list[tuple[int, ProgressEvent]]) -> list[tuple[str, int]]:
    """(agent, seq) pairs that occur more than once: an event relayed twice."""
    counts = Counter((e.agent, e.seq) for _, e in items if e.seq is not None)
    return [key for key, n in counts.items() if n > 1]


def terminal(items: list[tuple[int, ProgressEvent]]) -> ProgressEvent:
    last = items[-1][1]
    assert last.is_terminal, f"stream ended without a terminal event: {last!r}"
    return last
