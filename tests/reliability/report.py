"""The fault-injection report: one row per fault, and a last line a script can grep."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class RunResult:
    fault: str
    alert_id: str
    kill_offset: int
    completed: bool  # terminal state completed with the labelled disposition
    lost: int  # offsets the resuming viewer never received
    duplicated: int  # offsets it received more than once
    recovery_s: float | None  # kill -> first event created after the kill reached the viewer
    detail: str = ""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def table(results: Iterable[RunResult], faults: Iterable[str]) -> str:
    results = list(results)
    header = ("fault", "runs", "completed", "lost offsets", "duplicated offsets",
              "recovery p50", "recovery max")  # fmt: skip
    rows = [header]
    for fault in faults:
        mine = [r for r in results if r.fault == fault]
        recoveries = [r.recovery_s for r in mine if r.recovery_s is not None]
        rows.append((
            fault, str(len(mine)), str(sum(r.completed for r in mine)),
            str(sum(r.lost for r in mine)), str(sum(r.duplicated for r in mine)),
            _seconds(statistics.median(recoveries) if recoveries else None),
            _seconds(max(recoveries) if recoveries else None),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def result_line(results: Iterable[RunResult]) -> str:
    results = list(results)
    return (
        f"RESULT runs={len(results)} completed={sum(r.completed for r in results)} "
        f"lost={sum(r.lost for r in results)} duplicated={sum(r.duplicated for r in results)}"
    )
