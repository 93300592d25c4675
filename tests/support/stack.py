"""The real surveil stack as child processes, for integration and end-to-end tests.

Every process listens on 127.0.0.1 on a free port, logs to a file in the stack's
directory (printed when a test fails), and is stopped by PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
        tokens = ",".join(f"{t}:{tenant}" for t, tenant in TEST_TOKENS.items())
        return {
            "SURVEIL_HOME": str(self.home),
            "SURVEIL_TEMPORAL_ADDRESS": self.temporal_address,
            "SURVEIL_TEMPORAL_NAMESPACE": "default",
            "SURVEIL_INSIDER_AGENT_URL": f"http://127.0.0.1:{self.insider_port}",
            "SURVEIL_WASH_AGENT_URL": f"http://127.0.0.1:{self.wash_port}",
            "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
            "SURVEIL_API_TOKENS": tokens,
            "SURVEIL_STREAM_TOKEN_SECRET": "test-stream-secret",
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
        # The worker has no port; it is ready once it polls (tests wait on results).
        return self._start(name, [*SURVEIL, "worker"], None)

    def start_api(self, name: str = "api", port: int | None = None) -> Child:
        existing = self.children.get(name)
        port = port or (existing.port if existing else None) or free_port()
        return self._start(name, [*SURVEIL, "api", "--port", str(port)], port)

    def api_url(self, name: str = "api") -> str:
        return f"http://127.0.0.1:{self.children[name].port}"

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
