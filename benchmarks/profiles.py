"""Sampling profiles of the stack's processes while a benchmark runs (py-spy).

`record(pids, seconds, out_dir)` runs one `py-spy record --format raw` per process for
`seconds` (it samples from outside: the measured process is not slowed by an in-process
profiler) and returns, per process, the functions that held the most samples: `self`
(the innermost frame, where the time was spent) and `total` (anywhere on the stack).
The raw collapsed stacks stay in `out_dir` for a flame graph.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

TOP = 25


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def record(pids: dict[str, int], seconds: float, out_dir: Path) -> dict[str, Any]:
    exe = py_spy()
    if exe is None:
        return {"error": "py-spy is not installed (pip install py-spy)"}
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)

    async def one(name: str, pid: int) -> tuple[str, dict[str, Any]]:
        path = out_dir / f"{name}.collapsed"
        proc = await asyncio.create_subprocess_exec(
            exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
            "--rate", "200", "--format", "raw", "--nonblocking", "--subprocesses", "--gil",
            "--output", str(path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        try:
            collapsed = await asyncio.to_thread(path.read_text)
        except OSError:
            collapsed = ""
        if proc.returncode != 0 or not collapsed:
            return name, {"error": err.decode(errors="replace")[-300:] or "no samples"}
        return name, top_frames(collapsed)

    return dict(await asyncio.gather(*(one(n, p) for n, p in pids.items())))


def top_frames(collapsed: str, top: int = TOP) -> dict[str, Any]:
    """Self and total sample shares per function from py-spy's collapsed stacks
    ("frame;frame;frame count" per line, outermost first)."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    share = lambda c: [(f, round(100 * n / samples, 1)) for f, n in c.most_common(top)]  # noqa: E731
    return {"samples": samples, "self": share(own), "total": share(anywhere)}


def _short(frame: str) -> str:
    """'send (httpx/_client.py:1629)' -> 'send (httpx/_client.py)': a function, not a line."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name
