"""Memory and CPU of a process tree, read from /proc (Linux), no extra dependency."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (a CLI entry point may fork its server)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the parenthesised command name; utime and stime are 14th and 15th.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclass(frozen=True)
class Usage:
    rss_bytes: int
    cpu_seconds: float
    at: float  # time.monotonic()

    def cpu_percent_since(self, earlier: Usage) -> float:
        """CPU over the interval, as % of one core (200% = both cores of a 2-core box)."""
        wall = self.at - earlier.at
        return 100.0 * (self.cpu_seconds - earlier.cpu_seconds) / wall if wall > 0 else 0.0


def usage(pid: int) -> Usage:
    pids = process_tree(pid)
    return Usage(
        rss_bytes=sum(_rss_bytes(p) for p in pids),
        cpu_seconds=sum(_cpu_seconds(p) for p in pids),
        at=time.monotonic(),
    )


def running_pids(stack: Any) -> dict[str, int]:
    """The pid of each running process of a test stack (`stack.children`: name -> Child)."""
    return {
        name: child.proc.pid
        for name, child in stack.children.items()
        if child.proc is not None and child.proc.poll() is None
    }


def stack_usage(stack: Any) -> dict[str, Usage]:
    """Usage of each running process of a test stack."""
    return {name: usage(pid) for name, pid in running_pids(stack).items()}


def stack_cpu_since(stack: Any, before: dict[str, Usage]) -> dict[str, float]:
    """CPU seconds each process of the stack used since `before` (a process restarted
    in between counts from zero)."""
    now = stack_usage(stack)
    return {
        name: max(0.0, u.cpu_seconds - (before[name].cpu_seconds if name in before else 0.0))
        for name, u in now.items()
    }


def ms_per_event(cpu_s: dict[str, float], events: float) -> dict[str, float]:
    """CPU milliseconds per event (`events` > 0) of each process, and of all ("total")."""
    per_process = {name: 1000 * seconds / events for name, seconds in sorted(cpu_s.items())}
    return {**per_process, "total": sum(per_process.values())}
