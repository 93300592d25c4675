"""kill -9 at random moments of a running investigation: the worker, the specialist
agent doing the analysis, the API process serving the viewer, the Temporal server.

Each run submits a fresh copy of a demo alert, follows it over SSE like a browser
(reconnecting with Last-Event-ID after every cut, and cutting itself at the moment
of the fault so every run exercises a resume), kills the victim once the viewer has
seen a randomly drawn offset, and starts it again at once. Afterwards the
investigation must have completed with its labelled disposition, and the viewer must
have received every offset exactly once.

    make reliability RUNS=20     # N runs per fault, prints the table
    pytest tests/reliability -k smoke   # one run per fault (make test)
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import runs_per_fault
from tests.reliability.report import RunResult, result_line, table
from tests.reliability.viewer import ResumingViewer
from tests.support.stack import Stack

pytestmark = pytest.mark.reliability

FAULTS = ("worker", "agent", "api", "temporal")
# One alert per specialist, neither of which waits for an analyst's answer.
ALERTS = {"ALR-007-01": "agent-wash-trade", "ALR-007-02": "agent-insider-trading"}
RUN_DEADLINE_S = 240.0
RUNS = runs_per_fault()


@dataclass
class Baseline:
    alert_id: str
    last_offset: int
    seconds: float


async def submit_copy(client: httpx.AsyncClient, source_id: str) -> str:
    """Submit a copy of a stored demo alert under a new id; its id."""
    demo = (await client.get("/api/demo-alerts")).json()
    body: dict[str, Any] = next(a for a in demo if a["id"] == source_id)
    body = {k: v for k, v in body.items() if k != "tenant"}
    body["id"] = f"REL-{source_id}-{uuid.uuid4().hex[:8]}"
    response = await client.post("/api/alerts", json=body)
    assert response.status_code == 202, response.text
    return body["id"]


def disposition_of(viewer: ResumingViewer) -> str | None:
    final = viewer.terminal
    if final is None or (final.data or {}).get("state") != "completed":
        return None
    return (final.data or {})["determination"]["disposition"]


async def undisturbed(client: httpx.AsyncClient, source_id: str) -> Baseline:
    started = time.monotonic()
    viewer = ResumingViewer(client, await submit_copy(client, source_id))
    await viewer.follow(RUN_DEADLINE_S)
    assert viewer.lost() == [] and viewer.duplicated() == []
    assert viewer.last_offset is not None
    return Baseline(source_id, viewer.last_offset, time.monotonic() - started)


async def inject(stack: Stack, victim: str) -> None:
    """kill -9 and start again on the same port (and, for Temporal, the same database)."""
    await asyncio.to_thread(stack.kill, victim)
    await asyncio.to_thread(stack.restart, victim)


async def faulted_run(
    stack: Stack,
    client: httpx.AsyncClient,
    fault: str,
    baseline: Baseline,
    expected: str,
    rng: random.Random,
) -> RunResult:
    # Somewhere between the first events and the synthesis near the end.
    kill_offset = rng.randint(3, max(4, int(baseline.last_offset * 0.8)))
    victim = ALERTS[baseline.alert_id] if fault == "agent" else fault
    viewer = ResumingViewer(client, await submit_copy(client, baseline.alert_id))
    following = asyncio.create_task(viewer.follow(RUN_DEADLINE_S))
    killed_at: tuple[float, float] | None = None  # (monotonic, wall clock)
    detail = ""
    try:
        reached = asyncio.create_task(viewer.reached(kill_offset))
        await asyncio.wait({following, reached}, return_when=asyncio.FIRST_COMPLETED)
        reached.cancel()
        if viewer.terminal is None and not following.done():
            killed_at = (time.monotonic(), time.time())
            viewer.cut()
            await inject(stack, victim)
        await following
    except Exception as exc:  # reported in the table's run details, then asserted on
        following.cancel()
        detail = f"{type(exc).__name__}: {exc}"
    if killed_at is None and not detail:
        detail = f"finished before offset {kill_offset}: nothing was killed"
    recovery = None
    if killed_at is not None:
        fresh = [
            arrival
            for arrival, event in zip(viewer.arrivals, viewer.events, strict=True)
            if event.timestamp.timestamp() > killed_at[1]
        ]
        recovery = fresh[0] - killed_at[0] if fresh else None
    got = disposition_of(viewer)
    if got != expected and not detail:
        detail = f"disposition {got!r}, expected {expected!r}"
    return RunResult(
        fault=fault,
        alert_id=viewer.alert_id,
        kill_offset=kill_offset,
        completed=got == expected and killed_at is not None,
        lost=len(viewer.lost()),
        duplicated=len(viewer.duplicated()),
        recovery_s=recovery,
        detail=detail,
    )


@pytest.mark.timeout(300 + RUNS * len(FAULTS) * 90)
@pytest.mark.parametrize("runs", [RUNS], ids=["smoke" if RUNS == 1 else f"runs-{RUNS}"])
async def test_kill_9_mid_investigation_completes_and_resumes_every_offset_once(
    fault_stack: Stack,
    api_client: httpx.AsyncClient,
    expected_dispositions: dict[str, str],
    fault_rng: random.Random,
    runs: int,
):
    baselines = await asyncio.gather(*(undisturbed(api_client, a) for a in ALERTS))
    for b in baselines:
        print(f"undisturbed {b.alert_id}: offsets 0..{b.last_offset} in {b.seconds:.1f}s")

    results: list[RunResult] = []
    for _ in range(runs):
        for fault in FAULTS:
            baseline = fault_rng.choice(baselines)
            result = await faulted_run(
                fault_stack, api_client, fault, baseline,
                expected_dispositions[baseline.alert_id], fault_rng,
            )  # fmt: skip
            results.append(result)
            print(
                f"  {fault:<8} {result.alert_id} kill@{result.kill_offset:<4} "
                f"completed={result.completed} lost={result.lost} dup={result.duplicated} "
                f"recovery={result.recovery_s if result.recovery_s is None else round(result.recovery_s, 1)}"
                + (f"  {result.detail}" if result.detail else "")
            )

    print()
    print(table(results, FAULTS))
    print(result_line(results))
    failed = [r for r in results if not r.completed or r.lost or r.duplicated]
    assert not failed, "\n".join(f"{r.fault} {r.alert_id}: {r.detail}" for r in failed)
