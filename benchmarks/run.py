"""`make bench`: every measurement in one bounded run, a table, and results/latest.json.

    python -m benchmarks.run            # full run (≈ 15 min on 2 cores)
    python -m benchmarks.run --quick    # smoke variant (≈ 3 min); also BENCH_QUICK=1

Knobs (env): BENCH_BUDGET_S (wall-clock budget; stages that would not fit are skipped
and say so), BENCH_LEVEL_CAP_S (longest a durable level may run, 240), BENCH_PACED_DELAY_MS (token delay of the paced variant, default 20),
BENCH_FANOUT_DELAY_MS (token delay while viewers are counted, default 150, so the
investigations are still running), BENCH_OUT (where the JSON goes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import (
    direct_path,
    durable_path,
    fanout,
    floors,
    raw_sse,
    resume,
    summary,
    temporal_cost,
)
from benchmarks.live_stack import LiveStack
from benchmarks.report import RESULTS_DIR, Report, machine_facts
from benchmarks.summary import TARGET_LEVEL

RESERVE_S = 170  # kept for the paced ×1, fan-out and resume stages
LEVEL_CAP_S = float(os.environ.get("BENCH_LEVEL_CAP_S", 240))


@dataclass(frozen=True)
class Plan:
    quick: bool
    budget_s: float
    durable_levels: tuple[int, ...]
    paced_levels: tuple[int, ...]
    direct_levels: tuple[int, ...]
    fanout_waves: tuple[int, ...]
    fanout_investigations: int
    resumes: int
    paced_delay_ms: float
    fanout_delay_ms: float

    @classmethod
    def from_env(cls, quick: bool) -> Plan:
        env = os.environ
        return cls(
            quick=quick,
            budget_s=float(env.get("BENCH_BUDGET_S", 300 if quick else 900)),
            durable_levels=(1, 5) if quick else (1, 10, TARGET_LEVEL),
            # ×100 at LLM pace: what the product promises (100 live investigations).
            paced_levels=(1,) if quick else (1, 10, TARGET_LEVEL),
            direct_levels=(1,) if quick else (1, 10),
            fanout_waves=(20, 100) if quick else (100, 1000),
            fanout_investigations=4 if quick else 10,
            resumes=4 if quick else 10,
            paced_delay_ms=float(env.get("BENCH_PACED_DELAY_MS", 20)),
            fanout_delay_ms=float(env.get("BENCH_FANOUT_DELAY_MS", 150)),
        )


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    @property
    def left_s(self) -> float:
        return self.deadline - time.monotonic()

    def allows(self, estimate_s: float) -> bool:
        return self.left_s > estimate_s


class Bench:
    def __init__(self, plan: Plan, report: Report, workdir: Path) -> None:
        self.plan, self.report, self.workdir = plan, report, workdir
        self.budget = Budget(plan.budget_s)
        self.results: dict[str, Any] = report.details
        self.cpu_per_investigation = 3.0  # seconds; refined by the first durable level

    async def stage(
        self, name: str, estimate_s: float, work: Callable[[], Awaitable[Any]]
    ) -> Any | None:
        if not self.budget.allows(estimate_s):
            self.report.notes.append(
                f"skipped {name}: ~{estimate_s:.0f} s needed, {self.budget.left_s:.0f} s of budget left"
            )
            return None
        started = time.monotonic()
        print(f"… {name}", flush=True)
        try:
            # Never past the budget: a stage that overruns is cut and says so.
            result = await asyncio.wait_for(work(), max(10.0, self.budget.left_s))
        except Exception as exc:  # one broken stage must not lose the others' numbers
            traceback.print_exc()
            self.report.notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
            return None
        print(f"  {name}: {time.monotonic() - started:.0f} s", flush=True)
        return result

    def level_limit_s(self) -> float:
        """A level may run until only the reserve for the later stages is left, and
        never longer than LEVEL_CAP_S (then it is cut, and the table says how many
        investigations had finished)."""
        return min(LEVEL_CAP_S, max(30.0, self.budget.left_s - RESERVE_S))

    def level_estimate_s(self, concurrency: int) -> float:
        cores = os.cpu_count() or 2
        return 10 + 1.5 * concurrency * self.cpu_per_investigation / cores

    async def run(self) -> None:
        plan = self.plan
        await self.stage(
            "raw SSE ceiling",
            100,
            lambda: raw_sse.run(self.report, quick=plan.quick, workdir=self.workdir),
        )
        await self.stage("floors", 90, lambda: floors.run(self.report, workdir=self.workdir))
        live = LiveStack(self.workdir / "stack")
        print("… starting the stack (Temporal dev server, agents, worker, API)", flush=True)
        await asyncio.to_thread(live.start)
        try:
            await self.latency_levels(live, "delay0")
            durable = self.results.get("durable", {})
            # The largest unpaced level whose investigations all finished.
            finished = [
                r
                for r in durable.values()
                if r.get("token_delay_ms") == 0 and r["completed"] == r["concurrency"]
            ]
            biggest = max(finished, key=lambda r: r["concurrency"], default=None)  # fmt: skip
            if biggest is not None:
                self.results["temporal_cost"] = await self.stage(
                    "Temporal cost",
                    30,
                    lambda: temporal_cost.measure(live.settings(), biggest["workflow_ids"]),
                )
            if self.budget.allows(100):  # keep time for fan-out and resume
                await asyncio.to_thread(live.set_token_delay, plan.paced_delay_ms)
                await self.latency_levels(live, f"paced{plan.paced_delay_ms:g}")
            else:
                self.report.notes.append("skipped the paced variant: out of budget")
            if self.budget.allows(60):
                await asyncio.to_thread(live.set_token_delay, plan.fanout_delay_ms)
                self.results["fanout"] = await self.stage(
                    "fan-out",
                    45,
                    lambda: fanout.measure(
                        live, plan.fanout_waves,
                        investigations=plan.fanout_investigations,
                        limit_s=min(60, self.budget.left_s / 3),
                    ),
                )  # fmt: skip
                self.results["resume"] = await self.stage(
                    "resume", 30, lambda: resume.measure(live, resumes=plan.resumes)
                )
            else:
                self.report.notes.append("skipped fan-out and resume: out of budget")
        finally:
            await asyncio.to_thread(live.stop)
        for result in self.results.get("durable", {}).values():
            result.pop("workflow_ids", None)

    async def latency_levels(self, live: LiveStack, variant: str) -> None:
        plan = self.plan
        direct = self.results.setdefault("direct", {})
        durable = self.results.setdefault("durable", {})
        levels = plan.durable_levels if variant == "delay0" else plan.paced_levels
        for n in plan.direct_levels if variant == "delay0" else plan.direct_levels[:1]:
            result = await self.stage(
                f"direct path ×{n} ({variant})",
                self.level_estimate_s(n),
                lambda n=n: direct_path.measure(live, n, limit_s=min(300, self.budget.left_s)),
            )
            if result:
                direct[f"{variant}@{n}"] = result
        for n in levels:
            result = await self.stage(
                f"durable path ×{n} ({variant})",
                self.level_estimate_s(n),
                lambda n=n: durable_path.measure(
                    live, n, tag=f"{variant}-{n}", limit_s=self.level_limit_s()
                ),
            )
            if result:
                durable[f"{variant}@{n}"] = result
                self.cpu_per_investigation = max(1.0, result["stack_cpu_s_per_investigation"])


async def bench(plan: Plan) -> Report:
    report = Report(f"surveil benchmarks{' (quick)' if plan.quick else ''}")
    with tempfile.TemporaryDirectory(prefix="surveil-bench-") as tmp:
        await Bench(plan, report, Path(tmp)).run()
    summary.add_rows(report, plan_delay_ms=plan.paced_delay_ms)
    load = RESULTS_DIR / "load.json"
    summary.add_load(report, json.loads(load.read_text()) if load.exists() else None)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke variant")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON path (default results/latest.json, quick: results/quick.json)",
    )
    args = parser.parse_args()
    quick = args.quick or os.environ.get("BENCH_QUICK") == "1"
    plan = Plan.from_env(quick)
    machine = machine_facts()
    started = time.monotonic()
    report = asyncio.run(bench(plan))
    report.details["plan"] = plan.__dict__
    report.details["wall_s"] = time.monotonic() - started
    report.print()
    default = RESULTS_DIR / ("quick.json" if quick else "latest.json")
    out = args.out or Path(os.environ.get("BENCH_OUT", default))
    report.write(out, machine)
    print(f"wrote {out} in {report.details['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
