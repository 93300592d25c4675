"""The real surveil stack for measurements: tests.support.stack plus what a
benchmark needs (limits raised, pacing switched, alerts submitted, /metrics read)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from surveil.settings import Settings
from tests.support.stack import TEST_TOKENS, Stack

TOKEN = next(t for t, tenant in TEST_TOKENS.items() if tenant == "demo")
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# The API's own guards would (rightly) throttle a benchmark's burst of submissions.
BENCH_ENV = {
    "SURVEIL_SUBMISSIONS_PER_MINUTE": "100000",
    "SURVEIL_MAX_STREAMS_PER_TENANT": "100000",
    "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
    # Some demo alerts make a specialist ask the analyst; nobody answers in a benchmark,
    # so do not wait the default two minutes (the direct path does not wait either).
    "SURVEIL_INPUT_TIMEOUT_S": "1",
}
# Processes that run the offline model and so read its token delay.
MODEL_PROCESSES = ("agent-insider-trading", "agent-wash-trade", "worker")


@dataclass
class LiveStack:
    root: Path
    stack: Stack = field(init=False)
    demo_alerts: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.stack = Stack(self.root, env_overrides=dict(BENCH_ENV))

    def start(self) -> LiveStack:
        self.stack.start_all()
        response = httpx.get(f"{self.api_url}/api/demo-alerts", headers=AUTH, timeout=30)
        response.raise_for_status()
        self.demo_alerts = response.json()
        return self

    def stop(self) -> None:
        self.stack.stop_all()

    @property
    def api_url(self) -> str:
        return self.stack.api_url()

    @property
    def api_pid(self) -> int:
        return self.stack.children["api"].pid

    @property
    def home(self) -> Path:
        return self.stack.home

    @property
    def token_delay_ms(self) -> float:
        return float(self.stack.env["SURVEIL_OFFLINE_TOKEN_DELAY_MS"])

    def settings(self) -> Settings:
        return Settings(temporal_address=self.stack.temporal_address, home=self.home)

    def set_token_delay(self, delay_ms: float) -> None:
        """Pace the offline model's tokens: restart the processes that run it."""
        if delay_ms == self.token_delay_ms:
            return
        self.stack.env_overrides["SURVEIL_OFFLINE_TOKEN_DELAY_MS"] = f"{delay_ms:g}"
        for name in MODEL_PROCESSES:
            self.stack.stop(name)
        for name in MODEL_PROCESSES:
            self.stack.restart(name)

    def fresh_alerts(self, count: int, tag: str) -> list[dict[str, Any]]:
        """Copies of the demo alerts under new ids: each starts its own investigation."""
        alerts = []
        for demo in itertools.islice(itertools.cycle(self.demo_alerts), count):
            body = {k: v for k, v in demo.items() if k != "tenant"}
            body["id"] = f"bench-{tag}-{next(self._ids):05d}"
            alerts.append(body)
        return alerts

    async def submit(self, alerts: list[dict[str, Any]], concurrency: int = 20) -> None:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=self.api_url, headers=AUTH, timeout=60) as client:

            async def one(alert: dict[str, Any]) -> None:
                async with gate:
                    response = await client.post("/api/alerts", json=alert)
                if response.status_code != 202:
                    raise RuntimeError(
                        f"submit {alert['id']}: {response.status_code} {response.text}"
                    )

            await asyncio.gather(*(one(a) for a in alerts))

    async def cancel(self, alert_ids: list[str]) -> None:
        """Cancel investigations (a level cut short must not load the next stage)."""
        async with httpx.AsyncClient(base_url=self.api_url, headers=AUTH, timeout=60) as client:
            await asyncio.gather(
                *(
                    client.post(
                        f"/api/alerts/{a}/cancel", json={"reason": "benchmark level cut short"}
                    )
                    for a in alert_ids
                ),
                return_exceptions=True,
            )

    def events_url(self, alert_id: str, api: str = "api") -> str:
        return f"{self.stack.api_url(api)}/api/alerts/{alert_id}/events"

    async def metrics(self) -> dict[str, list[Any]]:
        """The API's Prometheus samples by metric family name."""
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.get(f"{self.api_url}/metrics")
        response.raise_for_status()
        return {f.name: f.samples for f in text_string_to_metric_families(response.text)}
