"""Per-tenant admission against a real Temporal dev server and real agents: with a cap
of one, a tenant's investigations queue visibly and run one at a time; another
tenant's do not wait behind them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from surveil.events import ProgressEvent
from surveil.models import Alert
from surveil.store import Store
from surveil.tasks import TaskSnapshot
from tests.support.api_client import TOKEN_B, api_client
from tests.support.investigations import client_for, terminal
from tests.support.stack import Stack
from workflows.client import events, start_investigation
from workflows.investigation import SNAPSHOT_QUERY, workflow_id_for

WASH = "ALR-007-01"


@pytest.fixture(scope="module")
def capped_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        Path(tmp_path_factory.mktemp("capped-stack")),
        env_overrides={
            "SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT": "1",
            # Long enough that three investigations would overlap without the cap.
            "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "5",
        },
    ).running() as stack:
        yield stack


def alerts(stack: Stack, tenant: str, n: int) -> list[Alert]:
    found = Store(stack.home / "surveil.db").get_alert(WASH)
    assert found is not None
    return [found.model_copy(update={"tenant": tenant, "id": f"{WASH}-{i}"}) for i in range(n)]


async def follow(stack: Stack, workflow_id: str) -> list[ProgressEvent]:
    client = await client_for(stack)
    cooldown = timedelta(milliseconds=50)
    return [event async for _, event in events(client, workflow_id, 0, poll_interval=cooldown)]


def admission_of(items: list[ProgressEvent]) -> list[dict]:
    return [e.data for e in items if e.data and e.data.get("admission")]


def working_span(items: list[ProgressEvent]) -> tuple[float, float]:
    """From admission to the terminal event, in seconds since the epoch."""
    admitted = next(e for e in items if (e.data or {}).get("admission") == "admitted")
    return admitted.timestamp.timestamp(), terminal([(0, items[-1])]).timestamp.timestamp()


async def test_a_tenants_backlog_queues_and_runs_one_at_a_time(capped_stack: Stack) -> None:
    client = await client_for(capped_stack)
    tenant, other = f"t{uuid.uuid4().hex[:6]}", f"t{uuid.uuid4().hex[:6]}"
    handles = [await start_investigation(client, a) for a in alerts(capped_stack, tenant, 3)]
    other_handle = await start_investigation(client, alerts(capped_stack, other, 1)[0])
    streams = await asyncio.gather(*(follow(capped_stack, h.id) for h in [*handles, other_handle]))
    for items in streams:
        assert terminal([(0, items[-1])]).data["state"] == "completed"

    mine, theirs = streams[:3], streams[3]
    queued = sorted(
        data["position"] for items in mine for data in admission_of(items)
        if data["admission"] == "queued"
    )  # fmt: skip
    assert queued == [1, 2]  # the first ran at once; the others waited, each told its place
    spans = sorted(working_span(items) for items in mine)
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))
    # The other tenant has its own slots: it never queued behind this tenant's backlog.
    assert [d["admission"] for d in admission_of(theirs)] == ["admitted"]

    snapshot = await handles[-1].query(SNAPSHOT_QUERY, result_type=TaskSnapshot)
    assert snapshot.queue_position is None  # admitted, then done


async def test_the_queue_lists_queued_investigations_with_their_place(capped_stack: Stack) -> None:
    client = await client_for(capped_stack)
    backlog = alerts(capped_stack, "other", 4)  # the tenant of TOKEN_B
    for alert in backlog:
        await start_investigation(client, alert)
    last = workflow_id_for("other", backlog[-1].id)
    cooldown = timedelta(milliseconds=50)
    async for _, event in events(client, last, 0, poll_interval=cooldown):
        if (event.data or {}).get("admission") == "queued":
            break  # it waits behind the others: the queue must show it now
    async with api_client(capped_stack, TOKEN_B) as api:
        listing = (await api.get("/api/alerts", params={"status": "queued"})).json()
    places = {row["id"]: row["queue_position"] for row in listing["items"]}
    assert backlog[-1].id in places
    assert sorted(places.values()) == list(range(1, len(places) + 1))
    for alert in backlog:  # let them end before the stack stops
        await follow(capped_stack, workflow_id_for("other", alert.id))
