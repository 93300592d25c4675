"""`surveil data import DIR` and `surveil data demo --seed N --out DIR`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="load market data and alerts, or make demo data")
    commands = data.add_subparsers(dest="data_command", required=True)

    load = commands.add_parser(
        "import",
        help="import accounts, trades, bars, announcements and alerts CSV files (all or nothing)",
    )
    load.add_argument("directory", type=Path, help="folder holding the five CSV files")
    load.set_defaults(func=import_command)

    demo = commands.add_parser("demo", help="write demo CSV files with planted cases")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--out", type=Path, required=True, help="folder to write into")
    demo.set_defaults(func=demo_command)


def import_command(args: argparse.Namespace) -> int:
    from surveil.settings import get_settings
    from surveil.store import ImportFailed, Store

    settings = get_settings()
    store = Store.open(settings)
    try:
        with _terminal_progress() as progress:
            report = store.import_dir(args.directory, progress=progress)
    except ImportFailed as exc:
        print(f"import refused, nothing imported: {exc}", file=sys.stderr)
        return 2
    print(f"imported {args.directory} into {settings.db_path}")
    for line in report.lines():
        print(f"  {line}")
    return 0


@contextmanager
def _terminal_progress() -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar per file on a terminal (stderr); nothing when piped or logged."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True)) as bar:
        tasks: dict[str, object] = {}

        def update(name: str, done: int, size: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=size)
            bar.update(tasks[name], completed=done)  # type: ignore[arg-type]

        yield update


def demo_command(args: argparse.Namespace) -> int:
    from surveil.demo import generate_demo

    generate_demo(args.seed, args.out)
    files = sorted(p.name for p in args.out.glob("*.csv"))
    print(f"wrote demo data for seed {args.seed} to {args.out}: {', '.join(files)}")
    return 0
