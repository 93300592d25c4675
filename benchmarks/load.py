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
benchmarks/results/load.json), LOAD_WORKDIR (keep the stack's logs there),
LOAD_PROFILE_S (30: py-spy samples every process for that long mid-hold; 0 = off).
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

from benchmarks import procstat, profiles
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
    profile_s: float  # py-spy each process for this long mid-hold (0: no profiles)

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
            profile_s=float(env.get("LOAD_PROFILE_S", 30)),
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
        # CPU is counted over the same window as the events the viewers count.
        processes_at_start = procstat.stack_usage(live.stack)
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
        profiling = (
            asyncio.create_task(_profile_mid_hold(live, plan, workdir / "profiles"))
            if plan.profile_s > 0
            else None
        )
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
        profile = await profiling if profiling is not None else None
        result = await viewers.result(stop=True, within_s=120)
        processes_cpu_s = procstat.stack_cpu_since(live.stack, processes_at_start)
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
        "processes_cpu_s": processes_cpu_s,
        "profile": profile,
    }


async def _profile_mid_hold(live: LiveStack, plan: LoadPlan, out_dir: Path) -> dict[str, Any]:
    """py-spy every process of the stack for `profile_s`, centred in the hold."""
    await asyncio.sleep(max(0.0, (plan.seconds - plan.profile_s) / 2))
    pids = {
        name: pid for name, pid in procstat.running_pids(live.stack).items() if name != "temporal"
    }
    return await profiles.record(pids, min(plan.profile_s, plan.seconds), out_dir)


def _reasons(groups: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for g in groups.values():
        for reason, n in g.get("failure_reasons", {}).items():
            counts[reason] = counts.get(reason, 0) + n
    return "(" + ", ".join(f"{r} ×{n}" for r, n in sorted(counts.items())) + ")" if counts else ""


def cpu_ms_per_event(out: dict[str, Any]) -> dict[str, float]:
    """CPU of each process per distinct stream event, over the viewers' whole window.

    Viewers of one investigation receive the same events, so the distinct events are
    what the viewers received (each offset once: a live frame and its durable copy are
    one event) divided by the viewers per investigation.
    """
    plan, groups = out["plan"], out["groups"]
    received = sum(g["events"] - g.get("live", 0) for g in groups.values())
    distinct = received / max(1.0, plan["viewers"] / plan["investigations"])
    cpu = out.get("processes_cpu_s") or {}
    if not cpu or distinct <= 0:
        return {}
    return procstat.ms_per_event(cpu, distinct)


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
    for name, value in cpu_ms_per_event(out).items():
        report.metrics[f"cpu_ms_per_event_{name}"] = value
        report.add(Row(s, f"CPU per stream event, {name}", value, "ms",
                       target="≤ 1" if name == "total" else "", met=value <= 1 if name == "total" else None,
                       note="each event once (viewers of one investigation share it)"
                       if name == "total" else ""))  # fmt: skip
    for name, g in sorted(groups.items()):
        report.add(Row(s, f"emit→receive p50 / p99, {name} viewers ({g['streams']})",
                       f"{g['latency_ms']['p50'] or 0:.0f} / {g['latency_ms']['p99'] or 0:.0f}", "ms",
                       note=f"{g['events']} events, {g['reconnects']} reconnects, "
                            f"gaps {g['gaps']}, dup {g['duplicates']}, errors {g['errors']}"))  # fmt: skip
    return report


def print_profiles(profile: dict[str, Any] | None) -> None:
    """The top frames of each process's py-spy profile (self time, then on-stack)."""
    for name, top in sorted((profile or {}).items()):
        if "error" in top:
            print(f"profile {name}: {top['error']}")
            continue
        print(f"\nprofile {name} ({top['samples']} samples): self time")
        for frame, pct in top["self"]:
            print(f"  {pct:5.1f} %  {frame}")


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
    print_profiles(out.get("profile"))
    path = Path(os.environ.get("LOAD_OUT", RESULTS_DIR / "load.json"))
    report.write(path, machine)
    print(f"wrote {path}")
    return 0 if report.metrics["dropped_events"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
