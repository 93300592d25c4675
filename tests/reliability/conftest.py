"""A stack of its own for fault injection (its processes get killed), paced so an
investigation lasts several seconds and there is a middle to kill in."""

from __future__ import annotations

import csv
import os
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.stack import TEST_TOKENS, Stack

# Offline model pacing: ~10-20 s per investigation on this machine.
TOKEN_DELAY_MS = os.environ.get("RELIABILITY_TOKEN_DELAY_MS", "20")
DEMO_SEED = 7


def runs_per_fault() -> int:
    return max(1, int(os.environ.get("RUNS", "1")))


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        Path(tmp_path_factory.mktemp("faults")),
        env_overrides={"SURVEIL_OFFLINE_TOKEN_DELAY_MS": TOKEN_DELAY_MS},
    ).running(api=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def expected_dispositions(fault_stack: Stack) -> dict[str, str]:
    """labels.csv of the demo data the stack imported: alert id -> disposition."""
    with open(fault_stack.root / f"demo-{DEMO_SEED}" / "labels.csv", newline="") as f:
        return {row["alert_id"]: row["expected_disposition"] for row in csv.DictReader(f)}


@pytest.fixture
async def api_client(fault_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    token = next(iter(TEST_TOKENS))  # tenant "demo", which owns the demo alerts
    async with httpx.AsyncClient(
        base_url=fault_stack.api_url(), headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="module")
def fault_rng() -> random.Random:
    """Seeded, and the seed printed, so a failing schedule can be replayed
    (RELIABILITY_SEED=<seed> make reliability)."""
    seed = int(os.environ.get("RELIABILITY_SEED", str(int(time.time()))))
    print(f"\nfault injection seed: {seed} (replay with RELIABILITY_SEED={seed})")
    return random.Random(seed)
