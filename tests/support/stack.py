"""The real surveil stack as child processes, for integration and end-to-end tests.

Every process listens on 127.0.0.1 on a free port, logs to a file in the stack's
directory (printed when a test fails), and is stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from surveil.processes import (
    free_port,
    kill_process,
    start_process,
    stop_process,
    temporal_binary,
    temporal_dev_server_args,
    wait_for_port,
)
from surveil.search_attributes import SEARCH_ATTRIBUTES

SURVEIL = [sys.executable, "-m", "surveil"]
TEST_TOKENS = {"tenant-a-token": "demo", "tenant-b-token": "other"}
# Every test token's person: token -> (tenant, user, role). The first two are TEST_TOKENS.
TEST_PEOPLE = {
    "tenant-a-token": ("demo", "alice", "analyst"),
    "tenant-b-token": ("other", "oscar", "analyst"),
    "tenant-a-bob": ("demo", "bob", "analyst"),
    "tenant-a-sam": ("demo", "sam", "supervisor"),
    "tenant-a-vic": ("demo", "vic", "viewer"),
}


def token_spec() -> str:
    """SURVEIL_API_TOKENS for the test people."""
    return ",".join(":".join((token, *person)) for token, person in TEST_PEOPLE.items())


@dataclass
class Child:
    name: str
    args: list[str]
    port: int | None
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@dataclass
class Stack:
    """Start/stop/kill the pieces independently so tests can inject faults."""

    root: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    temporal_port: int = field(default_factory=free_port)
    insider_port: int = field(default_factory=free_port)
    wash_port: int = field(default_factory=free_port)
    worker_live_port: int = field(default_factory=free_port)  # the first worker's live tail
    children: dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def env(self) -> dict[str, str]:
        tokens = token_spec()
        return {
            "SURVEIL_HOME": str(self.home),
            "SURVEIL_TEMPORAL_ADDRESS": self.temporal_address,
            "SURVEIL_TEMPORAL_NAMESPACE": "default",
            "SURVEIL_INSIDER_AGENT_URL": f"http://127.0.0.1:{self.insider_port}",
            "SURVEIL_WASH_AGENT_URL": f"http://127.0.0.1:{self.wash_port}",
            "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
            "SURVEIL_API_TOKENS": tokens,
            "SURVEIL_STREAM_TOKEN_SECRET": "test-stream-secret",
            "SURVEIL_WORKER_LIVE_URLS": json.dumps([f"http://127.0.0.1:{self.worker_live_port}"]),
            "PYTHONUNBUFFERED": "1",
            **self.env_overrides,
        }

    def surveil(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """Run a one-shot `surveil` command against this stack."""
        return subprocess.run(
            [*SURVEIL, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def temporal_cli(self, *args: str) -> str:
        """Run the `temporal` CLI against this stack's server; its stdout."""
        return subprocess.run(
            [
                temporal_binary(),
                *args,
                "--address",
                self.temporal_address,
                "--namespace",
                "default",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout

    # -- individual pieces -------------------------------------------------

    def _start(self, name: str, args: list[str], port: int | None, timeout: float = 60) -> Child:
        child = self.children.get(name) or Child(
            name, args, port, self.root / "logs" / f"{name}.log"
        )
        child.proc = start_process(child.args, log_path=child.log, env=self.env)
        self.children[name] = child
        if port is not None:
            wait_for_port("127.0.0.1", port, timeout=timeout, proc=child.proc)
        return child

    def start_temporal(self) -> Child:
        args = temporal_dev_server_args(
            db_file=self.root / "temporal.db",
            port=self.temporal_port,
            ui_port=None,
            search_attributes=SEARCH_ATTRIBUTES,
        )
        return self._start("temporal", args, self.temporal_port, timeout=90)

    def import_demo(self, seed: int = 7) -> Path:
        data = self.root / f"demo-{seed}"
        self.surveil("data", "demo", "--seed", str(seed), "--out", str(data))
        self.surveil("data", "import", str(data))
        return data

    def start_agent(self, specialist: str) -> Child:
        port = self.insider_port if specialist == "insider-trading" else self.wash_port
        return self._start(
            f"agent-{specialist}", [*SURVEIL, "agent", specialist, "--port", str(port)], port
        )

    def start_worker(self, name: str = "worker") -> Child:
        # Ready once it polls (tests wait on results); the first one serves the live tail.
        if name == "worker":
            port = self.worker_live_port
            return self._start(name, [*SURVEIL, "worker", "--live-port", str(port)], port)
        return self._start(name, [*SURVEIL, "worker"], None)

    def start_api(self, name: str = "api", port: int | None = None) -> Child:
        existing = self.children.get(name)
        port = port or (existing.port if existing else None) or free_port()
        return self._start(name, [*SURVEIL, "api", "--port", str(port)], port)

    def api_url(self, name: str = "api") -> str:
        return f"http://127.0.0.1:{self.children[name].port}"

    @contextlib.contextmanager
    def running(self, *, api: bool = True) -> Iterator[Stack]:
        """The whole stack started, and stopped on leaving (also when a start failed)."""
        try:
            yield self.start_all(api=api)
        finally:
            self.stop_all()

    def start_all(self, *, api: bool = True) -> Stack:
        self.start_temporal()
        self.import_demo()
        self.start_agent("insider-trading")
        self.start_agent("wash-trade")
        self.start_worker()
        if api:
            self.start_api()
        return self

    def restart(self, name: str) -> Child:
        child = self.children[name]
        return self._start(name, child.args, child.port)

    def kill(self, name: str) -> None:
        """kill -9, as a crash would."""
        proc = self.children[name].proc
        assert proc is not None
        kill_process(proc)

    def stop(self, name: str) -> None:
        proc = self.children[name].proc
        if proc is not None:
            stop_process(proc)

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            self.stop(name)

    def logs(self) -> str:
        parts = []
        for child in self.children.values():
            text = child.log.read_text(errors="replace") if child.log.exists() else ""
            parts.append(
                f"===== {child.name} (last 60 lines) =====\n" + "\n".join(text.splitlines()[-60:])
            )
        return "\n".join(parts)


@dataclass
class DevCommand:
    """`surveil dev` itself as one child process, on free ports under `root`.

    Its children's PIDs are read from what it prints (the "surveil is running" table
    and its "restarted NAME (pid N)" lines), which is what a developer reads too.
    """

    root: Path
    args: list[str] = field(default_factory=list)  # e.g. ["--api-procs", "2"]
    env_overrides: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(
        default_factory=lambda: {
            name: free_port() for name in ("temporal", "temporal_ui", "insider", "wash", "api")
        }
    )
    proc: subprocess.Popen | None = None

    READY_LINE = "Ctrl-C stops everything."

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def output_path(self) -> Path:
        return self.root / "dev.out"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['temporal']}"

    @property
    def env(self) -> dict[str, str]:
        p = self.ports
        tokens = token_spec()
        return {
            "SURVEIL_HOME": str(self.home),
            "SURVEIL_TEMPORAL_ADDRESS": self.temporal_address,
            "SURVEIL_TEMPORAL_UI_PORT": str(p["temporal_ui"]),
            "SURVEIL_TEMPORAL_UI_URL": f"http://127.0.0.1:{p['temporal_ui']}",
            "SURVEIL_INSIDER_AGENT_PORT": str(p["insider"]),
            "SURVEIL_INSIDER_AGENT_URL": f"http://127.0.0.1:{p['insider']}",
            "SURVEIL_WASH_AGENT_PORT": str(p["wash"]),
            "SURVEIL_WASH_AGENT_URL": f"http://127.0.0.1:{p['wash']}",
            "SURVEIL_API_PORT": str(p["api"]),
            "SURVEIL_PUBLIC_URL": self.api_url,
            "SURVEIL_API_TOKENS": tokens,
            "SURVEIL_STREAM_TOKEN_SECRET": "test-stream-secret",
            "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
            "PYTHONUNBUFFERED": "1",
            **self.env_overrides,
        }

    def start(self, timeout: float = 180) -> DevCommand:
        """Start `surveil dev` and return once it printed that everything is up."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = start_process(
            [*SURVEIL, "dev", *self.args], log_path=self.output_path, env=self.env
        )
        deadline = time.monotonic() + timeout
        while self.READY_LINE not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"surveil dev did not come up:\n{self.output()}")
            time.sleep(0.2)
        return self

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def pids(self) -> dict[str, int]:
        """Each child's current PID, by name (api-1, worker-2, ...)."""
        found: dict[str, int] = {}
        for line in self.output().splitlines():
            if match := _PID_LINE.match(line) or _RESTART_LINE.search(line):
                found[match["name"]] = int(match["pid"])
        return found

    def wait_for_restart(self, name: str, old_pid: int, timeout: float = 60) -> int:
        """The PID of `name` once `surveil dev` has started it again."""
        deadline = time.monotonic() + timeout
        while (pid := self.pids().get(name)) == old_pid:
            if time.monotonic() > deadline:
                raise TimeoutError(f"surveil dev did not restart {name}:\n{self.output()}")
            time.sleep(0.2)
        assert pid is not None
        return pid

    def stop(self) -> None:
        """SIGTERM `surveil dev` (it stops its children by PID). Had it to be killed
        itself, kill -9 the children it may have left, by the PIDs it printed."""
        if self.proc is None:
            return
        stop_process(self.proc, timeout=90)
        if self.proc.returncode != -signal.SIGKILL:
            return
        for pid in self.all_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def all_pids(self) -> set[int]:
        """Every child PID it ever printed (restarts included)."""
        return {
            int(match["pid"])
            for line in self.output().splitlines()
            if (match := _PID_LINE.match(line) or _RESTART_LINE.search(line))
        }

    def logs(self) -> str:
        parts = [f"===== surveil dev =====\n{self.output()}"]
        for log in sorted((self.home / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"===== {log.name} (last 40 lines) =====\n" + "\n".join(lines))
        return "\n".join(parts)


# "  api-1                    http://127.0.0.1:8000        pid 1234"
_PID_LINE = re.compile(r"^  (?P<name>[\w-]+)\s.*\bpid (?P<pid>\d+)$")
# "[surveil dev] restarted api-1 (pid 1235)"
_RESTART_LINE = re.compile(r"restarted (?P<name>[\w-]+) \(pid (?P<pid>\d+)\)")
