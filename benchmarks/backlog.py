"""`make backlog`: a day's backlog submitted at once, through a per-tenant cap and a shared
LLM rate limit, against a provider that enforces its own limit.

    python -m benchmarks.backlog                     # 500 alerts, cap 20, LLM 240/min
    python -m benchmarks.backlog --alerts 100        # smaller, for a shared machine

What runs: the real stack (Temporal dev server, both agents, one worker) with
SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT=<cap> and
SURVEIL_LLM_REQUESTS_PER_MINUTE=<llm-rpm>. The LLM is the project's OpenAI-compatible
test server (tests/support/openai_server.py) answering as the offline analyst model
(same narratives, same determinations) and enforcing a provider-style limit of
<provider-rpm> requests per rolling minute with 429 + Retry-After: the offline model
alone makes no HTTP requests, so nothing could count a 429 storm. All alerts (copies of
the demo alerts, one tenant) are started at once; the benchmark waits for every one to
end, samples the admission workflow's queue, and reads the stack's CPU from /proc.

Reported: alerts ended by state, wall time, investigations per hour, per core of the
machine and per CPU-hour the stack used, the most investigations running at once (must
not pass the cap) and queued, the provider's requests and rejections, and tokens
(the investigations' own usage sums against the provider's count).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.procstat import usage
from benchmarks.report import RESULTS_DIR
from surveil.models import Alert
from surveil.settings import Settings
from surveil.store import Store
from surveil.tasks import TaskSnapshot
from tests.support.openai_server import OpenAICompatibleServer
from tests.support.stack import Stack
from workflows.client import connect, result_snapshot, start_investigation

TENANT = "demo"
STACK_PROCESSES = ("temporal", "agent-insider-trading", "agent-wash-trade", "worker")
SAMPLE_EVERY_S = 2.0  # one Query each: the admission workflow is busy enough


@dataclass
class Result:
    alerts: int
    cap: int
    llm_rpm: int
    provider_rpm: int
    states: dict[str, int] = field(default_factory=dict)
    submit_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    max_running: int = 0
    max_queued: int = 0
    provider_requests: int = 0
    provider_rejections: int = 0
    provider_prompt_tokens: int = 0
    provider_completion_tokens: int = 0
    usage_prompt_tokens: int = 0
    usage_completion_tokens: int = 0
    usage_requests: int = 0
    usage_retries: int = 0
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def per_hour(self) -> float:
        return self.alerts / self.wall_s * 3600 if self.wall_s else 0.0

    @property
    def per_cpu_hour(self) -> float:
        total = sum(self.cpu_s.values())
        return self.alerts / total * 3600 if total else 0.0


def backlog_alerts(home: Path, n: int) -> list[Alert]:
    """n copies of the tenant's demo alerts under new ids, cycling through them."""
    stored = [a for a in Store(home / "surveil.db").list_alerts() if a.tenant == TENANT]
    return [
        stored[i % len(stored)].model_copy(update={"id": f"BL{i:04d}-{stored[i % len(stored)].id}"})
        for i in range(n)
    ]


async def sample_admission(client: Any, result: Result, done: asyncio.Event) -> None:
    handle = client.get_workflow_handle(f"admission-{TENANT}")
    while not done.is_set():
        try:
            state = await handle.query("state")
            result.max_running = max(result.max_running, len(state["running"]))
            result.max_queued = max(result.max_queued, len(state["queue"]))
        except Exception as exc:  # noqa: BLE001 - not started yet / ended: keep sampling
            if "not found" not in str(exc).lower():
                print(f"  (admission query: {type(exc).__name__}: {exc})")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), SAMPLE_EVERY_S)


async def run(args: argparse.Namespace) -> Result:
    result = Result(args.alerts, args.cap, args.llm_rpm, args.provider_rpm)
    root = Path(tempfile.mkdtemp(prefix="surveil-backlog-"))
    with OpenAICompatibleServer(reply=None, requests_per_minute=args.provider_rpm) as llm:
        stack = Stack(
            root,
            env_overrides={
                "OPENAI_API_KEY": llm.api_key,
                "OPENAI_BASE_URL": llm.base_url,
                "SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT": str(args.cap),
                "SURVEIL_LLM_REQUESTS_PER_MINUTE": str(args.llm_rpm),
                # Some demo alerts make a specialist ask the analyst; nobody answers here.
                "SURVEIL_INPUT_TIMEOUT_S": "1",
            },
        )
        try:
            stack.start_all(api=False)
            client = await connect(Settings(temporal_address=stack.temporal_address))
            alerts = backlog_alerts(stack.home, args.alerts)
            before = {name: usage(stack.children[name].pid) for name in STACK_PROCESSES}
            done = asyncio.Event()
            sampler = asyncio.create_task(sample_admission(client, result, done))
            started = time.monotonic()
            gate = asyncio.Semaphore(50)

            async def start(alert: Alert) -> Any:
                async with gate:
                    return await start_investigation(client, alert)

            handles = await asyncio.gather(*(start(alert) for alert in alerts))
            result.submit_s = time.monotonic() - started
            print(f"submitted {len(handles)} alerts in {result.submit_s:.1f} s; waiting")
            snapshots: list[TaskSnapshot] = await asyncio.gather(
                *(result_snapshot(handle) for handle in handles)
            )
            result.wall_s = time.monotonic() - started
            done.set()
            await sampler
            after = {name: usage(stack.children[name].pid) for name in STACK_PROCESSES}
            result.cpu_s = {
                name: round(after[name].cpu_seconds - before[name].cpu_seconds, 1)
                for name in STACK_PROCESSES
            }
        finally:
            stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)  # kept (logs) only when the run failed
        for snapshot in snapshots:
            result.states[snapshot.state.value] = result.states.get(snapshot.state.value, 0) + 1
            if snapshot.usage is not None:
                result.usage_prompt_tokens += snapshot.usage.prompt_tokens
                result.usage_completion_tokens += snapshot.usage.completion_tokens
                result.usage_requests += snapshot.usage.requests
                result.usage_retries += snapshot.usage.retries
        counts = llm.counts
        result.provider_requests = counts.requests
        result.provider_rejections = counts.rejections
        result.provider_prompt_tokens = counts.prompt_tokens
        result.provider_completion_tokens = counts.completion_tokens
    return result


def table(r: Result) -> str:
    rows = [
        ("alerts submitted at once", f"{r.alerts} (one tenant), submitted in {r.submit_s:.1f} s"),
        ("ended", ", ".join(f"{n} {state}" for state, n in sorted(r.states.items()))),
        ("cap per tenant / most running at once", f"{r.cap} / {r.max_running}"),
        ("most queued at once", str(r.max_queued)),
        ("shared LLM limit / provider's limit", f"{r.llm_rpm} / {r.provider_rpm} requests/min"),
        ("provider: requests / 429 rejections", f"{r.provider_requests} / {r.provider_rejections}"),
        ("investigations: LLM requests / retries", f"{r.usage_requests} / {r.usage_retries}"),
        (
            "tokens: investigations' usage vs provider's count",
            f"{r.usage_prompt_tokens}+{r.usage_completion_tokens} vs "
            f"{r.provider_prompt_tokens}+{r.provider_completion_tokens}",
        ),
        ("wall time", f"{r.wall_s:.0f} s"),
        ("investigations per hour", f"{r.per_hour:,.0f}"),
        (f"  per core of this {r.cores}-core machine", f"{r.per_hour / r.cores:,.0f}"),
        ("  per CPU-hour the stack used", f"{r.per_cpu_hour:,.0f}"),
        ("stack CPU seconds", ", ".join(f"{k} {v:g}" for k, v in r.cpu_s.items())),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=int(os.environ.get("BACKLOG_ALERTS", 500)))
    parser.add_argument("--cap", type=int, default=20)
    parser.add_argument("--llm-rpm", type=int, default=240)
    parser.add_argument("--provider-rpm", type=int, default=300)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(table(result))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "backlog-latest.json"
    out.write_text(json.dumps({**asdict(result), "per_hour": result.per_hour,
                               "per_cpu_hour": result.per_cpu_hour}, indent=2))  # fmt: skip
    print(f"written to {out}")


if __name__ == "__main__":
    main()
