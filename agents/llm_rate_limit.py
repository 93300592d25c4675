"""One LLM rate limit (requests and tokens per minute) shared by every process that calls it.

Why a SQLite file: LLM calls are made by the worker (triage, synthesis) *and* by the
specialists' A2A servers, so a limit must hold across processes of different kinds.
Temporal's task-queue-wide activity rate limit (`max_task_queue_activities_per_second`)
does not fit: it meters activity starts, and one `run_specialist` activity relays a whole
specialist run whose LLM call happens inside the agent, so it can meter neither requests
nor tokens. Every one of these processes already shares `SURVEIL_HOME` (the market-data
store lives there; in docker-compose it is the shared `surveil-data` volume), so the
buckets live in a SQLite file beside the store and `BEGIN IMMEDIATE` serialises their
updates across processes. On a deployment whose LLM callers share no filesystem (SQLite
must not be used over NFS), this needs a network limiter instead; the callers' Retry-After
handling (agents/llm_guard.py) is the safety net either way.

Two token buckets, refilled continuously at the per-minute rate, each holding at most
`_BURST_S` seconds' worth, so a crowd of callers cannot spend a whole minute's budget in
its first second. A call reserves one request and an estimate of its tokens before it is
sent; after it, the estimate is corrected to what the provider reported. A call bigger
than the token bucket may start once the bucket is full, and leaves it in debt.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Buckets hold this many seconds of the per-minute rate.
_BURST_S = 10.0  # by default
# A prompt's tokens estimated from its characters (English text ~4 per token), plus
# this for the answer, until the provider reports the real counts.
CHARS_PER_TOKEN = 4
ANSWER_ESTIMATE_TOKENS = 300


@dataclass(frozen=True)
class _Bucket:
    name: str
    per_minute: float
    burst_s: float

    @property
    def rate(self) -> float:
        return self.per_minute / 60.0

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * self.burst_s)


class SharedRateLimit:
    """`reserve(tokens)` -> seconds to wait (0: go ahead, the request is counted)."""

    def __init__(
        self,
        path: Path,
        *,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        burst_s: float = _BURST_S,
    ) -> None:
        self.path = Path(path)
        self.buckets = [
            _Bucket(name, float(limit), burst_s)
            for name, limit in (("requests", requests_per_minute), ("tokens", tokens_per_minute))
            if limit
        ]
        self.describe = ", ".join(f"{int(b.per_minute)} {b.name}/min" for b in self.buckets)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS llm_buckets "
                "(name TEXT PRIMARY KEY, level REAL NOT NULL, updated REAL NOT NULL)"
            )

    def reserve(self, tokens: int) -> float:
        """Take one request and `tokens` tokens when every bucket has them; otherwise take
        nothing and return how long until they would."""
        costs = {"requests": 1.0, "tokens": float(tokens)}
        now = time.time()  # wall clock: compared across processes
        with self._transaction() as conn:
            levels = {b.name: self._level(conn, b, now) for b in self.buckets}
            waits = [
                (min(costs[b.name], b.capacity) - levels[b.name]) / b.rate
                for b in self.buckets
                if levels[b.name] < min(costs[b.name], b.capacity)
            ]
            if waits:
                return max(waits)
            for bucket in self.buckets:
                self._store(conn, bucket.name, levels[bucket.name] - costs[bucket.name], now)
        return 0.0

    def correct(self, tokens: int) -> None:
        """Charge (or give back, if negative) the difference between a call's reported
        tokens and its estimate."""
        bucket = next((b for b in self.buckets if b.name == "tokens"), None)
        if bucket is None or tokens == 0:
            return
        now = time.time()
        with self._transaction() as conn:
            self._store(conn, bucket.name, self._level(conn, bucket, now) - tokens, now)

    def _level(self, conn: sqlite3.Connection, bucket: _Bucket, now: float) -> float:
        row = conn.execute(
            "SELECT level, updated FROM llm_buckets WHERE name = ?", (bucket.name,)
        ).fetchone()
        if row is None:
            return bucket.capacity
        level, updated = row
        return min(bucket.capacity, level + max(0.0, now - updated) * bucket.rate)

    @staticmethod
    def _store(conn: sqlite3.Connection, name: str, level: float, now: float) -> None:
        conn.execute(
            "INSERT INTO llm_buckets (name, level, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET level = excluded.level, updated = excluded.updated",
            (name, level, now),
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside BEGIN IMMEDIATE (one writer at a time, across processes);
        committed on success, rolled back on error."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()


def estimate_tokens(prompt_chars: int) -> int:
    return prompt_chars // CHARS_PER_TOKEN + ANSWER_ESTIMATE_TOKENS
