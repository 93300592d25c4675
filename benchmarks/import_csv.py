"""The CSV import at scale: peak memory and time of `surveil data import` for a big
trades.csv (504,786 rows, ~50 MB by default, the size of the reported 1.22 GB case).

The demo's accounts, bars, announcements and alerts, plus a trades.csv of N rows drawn
among the demo's accounts and instruments, go into a temporary directory; the import
runs as its own process (the CLI, as a user runs it) and its peak RSS is read from
getrusage(RUSAGE_CHILDREN). A second import of the same files measures a re-import,
where every row is unchanged.

`python -m benchmarks.import_csv [--rows N]`
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from surveil.demo import generate_demo

DEFAULT_ROWS = 504_786


def write_trades(directory: Path, rows: int, seed: int = 1) -> None:
    """Replace the demo's trades.csv with `rows` random trades among its accounts."""
    with (directory / "accounts.csv").open(newline="") as handle:
        accounts = [(row["id"], row["beneficial_owner"]) for row in csv.DictReader(handle)]
    with (directory / "trades.csv").open(newline="") as handle:
        instruments = sorted({row["instrument"] for row in csv.DictReader(handle)})
    rng = np.random.default_rng(seed)
    with (directory / "trades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trade_id", "order_id", "timestamp", "account", "beneficial_owner",
                         "counterparty_account", "counterparty_owner", "instrument", "side",
                         "quantity", "price", "venue"])  # fmt: skip
        start = np.datetime64("2024-01-02T14:30:00")
        for first in range(0, rows, 50_000):
            n = min(50_000, rows - first)
            buyer, seller = rng.integers(0, len(accounts), size=(2, n))
            seconds = rng.integers(0, 55 * 86_400, size=n)
            for i in range(n):
                a, c = accounts[buyer[i]], accounts[seller[i]]
                writer.writerow([
                    f"BT{first + i:07d}", f"BO{first + i:07d}",
                    f"{start + np.timedelta64(int(seconds[i]), 's')}Z", a[0], a[1], c[0], c[1],
                    instruments[i % len(instruments)], "buy" if i % 2 else "sell",
                    int(100 + i % 900), f"{20 + (i % 1000) / 10:.2f}", "XNAS",
                ])  # fmt: skip


# ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so each import is measured
# by a fresh little parent of its own.
_MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)"
)


def timed_import(directory: Path, home: Path) -> tuple[float, int, str]:
    """(seconds, peak RSS in bytes, stdout) of one `surveil data import` process."""
    env = {**os.environ, "SURVEIL_HOME": str(home)}
    surveil = str(Path(sys.executable).parent / "surveil")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, surveil, "data", "import", str(directory)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return seconds, peak_kib * 1024, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_demo(7, root / "csv")
        write_trades(root / "csv", args.rows)
        size = (root / "csv" / "trades.csv").stat().st_size
        print(f"trades.csv: {args.rows:,} rows, {size / 1e6:.1f} MB")
        for label in ("first import", "re-import"):
            seconds, peak, out = timed_import(root / "csv", root / "home")
            trades = next(line.strip() for line in out.splitlines() if "trades.csv" in line)
            print(f"{label}: {seconds:.1f} s, peak RSS {peak / 2**20:.0f} MiB — {trades}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
