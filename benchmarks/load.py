"""`make load`: 100 concurrent investigations watched by 1,000 SSE viewers of one API
process, for LOAD_SECONDS (default 120), then it stops by itself.

The load is sustained: there are 100 queues of alerts, ten viewers on each. When an
investigation ends, its viewers submit the next alert of their queue (idempotently, by
id: ten POSTs start one investigation) and follow it from offset 0, as analysts moving
on to the next alert would; so about 100 investigations run and 1,000 streams stay
open for the whole hold, however fast an investigation is.

Every viewer checks that offsets arrive contiguous from 0 to where it stopped (a gap
or a repeat is a dropped event: there must be none), reconnects with Last-Event-ID
when its stream is cut, and records emit→receive latency. A few viewers are slow
(they pause after every read, like a phone on a bad link): the API must cut them
loose rather than let them hold up the fast ones or grow its memory without bound.

Knobs (env): LOAD_SECONDS, LOAD_INVESTIGATIONS (100), LOAD_VIEWERS (1000),
LOAD_SLOW_VIEWERS (50), LOAD_SLOW_PAUSE_MS (250), LOAD_TOKEN_DELAY_MS (60, about an
LLM's pace), LOAD_QUEUE_LENGTH (alerts per queue, default enough for the hold), LOAD_CONNECT_S (300, how long viewers may take to connect), LOAD_OUT (default
benchmarks/results/load.json), LOAD_WORKDIR (keep the stack's logs there).
Exit status 1 if any event was dropped.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import procstat
from benchmarks.fanout import open_streams
from benchmarks.live_stack import AUTH, LiveStack
from benchmarks.report import RESULTS_DIR, Report, Row, machine_facts
from benchmarks.viewers import NextAlert, StreamSpec, ViewerProcess, ViewerSpec

SAMPLE_EVERY_S = 5.0


@dataclass(frozen=True)
class LoadPlan:
    seconds: float
    investigations: int
    viewers: int
    slow_viewers: int
    slow_pause_ms: float
    token_delay_ms: float
    queue_length: int  # alerts per queue, one after another

    @classmethod
    def from_env(cls) -> LoadPlan:
        env = os.environ
        seconds = float(env.get("LOAD_SECONDS", 120))
        return cls(
            seconds=seconds,
            investigations=int(env.get("LOAD_INVESTIGATIONS", 100)),
            viewers=int(env.get("LOAD_VIEWERS", 1000)),
            slow_viewers=int(env.get("LOAD_SLOW_VIEWERS", 50)),
            slow_pause_ms=float(env.get("LOAD_SLOW_PAUSE_MS", 250)),
            token_delay_ms=float(env.get("LOAD_TOKEN_DELAY_MS", 60)),
            # An investigation lasts 20 s or more at this pace: one per 10 s of hold
            # leaves queues that do not run dry.
            queue_length=int(env.get("LOAD_QUEUE_LENGTH", 0)) or 2 + int(seconds // 10),
        )


def alert_queues(live: LiveStack, plan: LoadPlan) -> list[list[dict[str, Any]]]:
    """One queue of alerts per concurrent investigation; each is a fresh copy of a demo alert."""
    alerts = live.fresh_alerts(plan.investigations * plan.queue_length, "load")
    return [alerts[q :: plan.investigations] for q in range(plan.investigations)]


def viewer_spec(live: LiveStack, queues: list[list[dict[str, Any]]], plan: LoadPlan) -> ViewerSpec:
    streams = []
    stride = max(1, plan.viewers // max(1, plan.slow_viewers))
    submit_url = f"{live.api_url}/api/alerts"
    for i in range(plan.viewers):
        slow = plan.slow_viewers > 0 and i % stride == 0 and i // stride < plan.slow_viewers
        first, *rest = queues[i % len(queues)]
        streams.append(
            StreamSpec(
                url=live.events_url(first["id"]),
                headers=AUTH,
                group="slow" if slow else "fast",
                slow_ms=plan.slow_pause_ms if slow else 0.0,
                then=[NextAlert(submit_url, a, live.events_url(a["id"])) for a in rest],
            )
        )
    return ViewerSpec.following_live_investigations(streams)


async def run_load(plan: LoadPlan, workdir: Path) -> dict[str, Any]:
    live = LiveStack(workdir / "stack")
    live.stack.env_overrides["SURVEIL_OFFLINE_TOKEN_DELAY_MS"] = f"{plan.token_delay_ms:g}"
    print("… starting the stack", flush=True)
    await asyncio.to_thread(live.start)
    try:
        baseline = procstat.usage(live.api_pid)
        queues = alert_queues(live, plan)
        print(f"… submitting {plan.investigations} investigations", flush=True)
        await live.submit([queue[0] for queue in queues])
        print(f"… connecting {plan.viewers} viewers", flush=True)
        connecting = time.monotonic()
        viewers = await ViewerProcess(viewer_spec(live, queues, plan)).start(
            ready_within_s=float(os.environ.get("LOAD_CONNECT_S", 300)), require_ready=False
        )
        connect_s = time.monotonic() - connecting
        print(f"  connected in {connect_s:.0f} s; holding {plan.seconds:.0f} s",
              flush=True)  # fmt: skip
        samples = []
        start = last = procstat.usage(live.api_pid)
        deadline = time.monotonic() + plan.seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, deadline - time.monotonic())))
            now = procstat.usage(live.api_pid)
            samples.append({
                "t_s": round(now.at - start.at, 1),
                "rss_mb": round(now.rss_bytes / 2**20, 1),
                "cpu_pct": round(now.cpu_percent_since(last), 1),
                "open_streams": await open_streams(live),
            })  # fmt: skip
            last = now
            print(f"  t={samples[-1]['t_s']:>5.0f}s  RSS {samples[-1]['rss_mb']:.0f} MB  "
                  f"CPU {samples[-1]['cpu_pct']:.0f}%  open {samples[-1]['open_streams']}",
                  flush=True)  # fmt: skip
        end = procstat.usage(live.api_pid)
        result = await viewers.result(stop=True, within_s=120)
        metrics = await live.metrics()
    finally:
        await asyncio.to_thread(live.stop)
    lagged = sum(
        s.value
        for s in metrics.get("surveil_stream_disconnects_before_end", [])
        if s.labels.get("reason") == "lagged" and s.name.endswith("_total")
    )
    api_errors = {
        s.labels["kind"]: s.value
        for s in metrics.get("surveil_errors", [])
        if s.name.endswith("_total") and s.value
    }
    return {
        "plan": plan.__dict__,
        "api_errors": api_errors,
        "connect_s": connect_s,
        "connected": viewers.ready,
        "baseline_rss_bytes": baseline.rss_bytes,
        "end_rss_bytes": end.rss_bytes,
        "api_cpu_pct": end.cpu_percent_since(start),
        "samples": samples,
        "groups": result["groups"],
        "lagged_disconnects": lagged,
    }


def _reasons(groups: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for g in groups.values():
        for reason, n in g.get("failure_reasons", {}).items():
            counts[reason] = counts.get(reason, 0) + n
    return "(" + ", ".join(f"{r} ×{n}" for r, n in sorted(counts.items())) + ")" if counts else ""


def report_for(out: dict[str, Any]) -> Report:
    plan, groups = out["plan"], out["groups"]
    report = Report(
        f"make load: {plan['investigations']} investigations × {plan['viewers']} viewers, "
        f"{plan['seconds']:.0f} s"
    )
    report.details = out
    dropped = sum(g["gaps"] + g["duplicates"] for g in groups.values())
    rss = [s["rss_mb"] for s in out["samples"]] or [out["end_rss_bytes"] / 2**20]
    kb_per_viewer = (out["end_rss_bytes"] - out["baseline_rss_bytes"]) / plan["viewers"] / 1024
    report.metrics = {
        "dropped_events": dropped,
        "reconnections": sum(g["reconnects"] for g in groups.values()),
        "failed_connects": sum(g["failures"] for g in groups.values()),
        "kb_per_viewer": kb_per_viewer,
        "api_cpu_pct": out["api_cpu_pct"],
        "max_open_streams": max((s["open_streams"] for s in out["samples"]), default=0),
        "min_open_streams": min((s["open_streams"] for s in out["samples"]), default=0),
        "investigations_followed": sum(g["investigations"] for g in groups.values())
        / max(1, plan["viewers"]),
        **{f"{name}_p50_ms": g["latency_ms"]["p50"] for name, g in groups.items()},
        **{f"{name}_p99_ms": g["latency_ms"]["p99"] for name, g in groups.items()},
    }
    s = "load"
    report.add(Row(s, "dropped events (gaps + repeats)", dropped, "", target="0", met=dropped == 0))
    report.add(Row(s, "viewers connected / open streams min–max over the hold",
                   f"{out['connected']} / {report.metrics['min_open_streams']}–{report.metrics['max_open_streams']}",
                   note=f"connect wave took {out['connect_s']:.0f} s, "
                        f"{report.metrics['failed_connects']} refused connects retried "
                        f"{_reasons(groups)}"))  # fmt: skip
    report.add(Row(s, "investigations followed per viewer", report.metrics["investigations_followed"],
                   note="each viewer moves on to the next alert of its queue"))  # fmt: skip
    report.add(Row(s, "reconnections (Last-Event-ID)", report.metrics["reconnections"],
                   note=f"API cut {out['lagged_disconnects']:.0f} lagging viewers"))  # fmt: skip
    report.add(Row(s, "API memory per viewer", kb_per_viewer, "KB", target="≤ 200",
                   met=kb_per_viewer <= 200))  # fmt: skip
    report.add(Row(s, "API RSS first / max / last sample", f"{rss[0]:.0f} / {max(rss):.0f} / {rss[-1]:.0f}",
                   "MB", note="bounded if last ≈ max"))  # fmt: skip
    errors = ", ".join(f"{k} ×{v:.0f}" for k, v in sorted(out.get("api_errors", {}).items()))
    report.add(Row(s, "API errors answered, by kind", errors or "none"))
    report.add(Row(s, "API CPU (avg over the hold)", out["api_cpu_pct"], "% of a core"))
    for name, g in sorted(groups.items()):
        report.add(Row(s, f"emit→receive p50 / p99, {name} viewers ({g['streams']})",
                       f"{g['latency_ms']['p50'] or 0:.0f} / {g['latency_ms']['p99'] or 0:.0f}", "ms",
                       note=f"{g['events']} events, {g['reconnects']} reconnects, "
                            f"gaps {g['gaps']}, dup {g['duplicates']}, errors {g['errors']}"))  # fmt: skip
    return report


def main() -> int:
    plan = LoadPlan.from_env()
    machine = machine_facts()
    keep = os.environ.get("LOAD_WORKDIR")  # keep the stack's logs there for a post-mortem
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        out = asyncio.run(run_load(plan, Path(keep)))
    else:
        with tempfile.TemporaryDirectory(prefix="surveil-load-") as tmp:
            out = asyncio.run(run_load(plan, Path(tmp)))
    report = report_for(out)
    report.print()
    path = Path(os.environ.get("LOAD_OUT", RESULTS_DIR / "load.json"))
    report.write(path, machine)
    print(f"wrote {path}")
    return 0 if report.metrics["dropped_events"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
