"""`surveil dev`: the whole local stack as supervised child processes.

Temporal dev server (persistent SQLite under SURVEIL_HOME, Web UI, search attributes
registered), demo data on first start, both specialist agents, M workers and N API
processes. N > 1 API processes all listen on the one API address (`surveil api
--reuse-port`, SO_REUSEPORT): the kernel spreads new connections over the live ones,
so multi-process behaviour (a viewer resuming on another process) is tested without a
proxy. A child that dies is restarted with backoff (and the console says so, with its
new PID); Ctrl-C or SIGTERM stops every child by PID, in reverse start order. A
`surveil dev` killed with SIGKILL takes its children with it (PR_SET_PDEATHSIG on
Linux), so nothing runs on unsupervised and starting it again finds its ports free.

Only the standard library and surveil's own process helpers: the children import the
heavy things.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from surveil.processes import (
    port_open,
    start_process,
    stop_process,
    temporal_dev_server_args,
    wait_for_port,
)
from surveil.search_attributes import SEARCH_ATTRIBUTES
from surveil.settings import Settings

SURVEIL = [sys.executable, "-m", "surveil"]
DEMO_SEED = 7
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 60.0  # a child that ran this long starts its backoff over
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Child:
    name: str
    args: list[str]
    port: int | None = None
    url: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None  # set while waiting to restart


@dataclass
class DevStack:
    settings: Settings
    workers: int = 1
    api_procs: int = 1
    children: list[Child] = field(default_factory=list)
    _stopping: bool = False

    @property
    def home(self) -> Path:
        return self.settings.home.resolve()

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    # -- what runs ------------------------------------------------------------

    def temporal_is_local(self) -> bool:
        host, _, _ = self.settings.temporal_address.rpartition(":")
        remote_auth = self.settings.temporal_tls_cert or self.settings.temporal_api_key
        return host in LOCAL_HOSTS and not remote_auth

    def plan(self) -> list[Child]:
        s = self.settings
        plan: list[Child] = []
        if self.temporal_is_local():
            port = int(s.temporal_address.rpartition(":")[2])
            args = temporal_dev_server_args(
                db_file=self.home / "temporal.db",
                port=port,
                ui_port=s.temporal_ui_port,
                namespace=s.temporal_namespace,
                search_attributes=SEARCH_ATTRIBUTES,
            )
            plan.append(Child("temporal", args, port, s.temporal_ui_url))  # URL: its Web UI
        for specialist, port, url in (
            ("insider-trading", s.insider_agent_port, s.insider_agent_url),
            ("wash-trade", s.wash_agent_port, s.wash_agent_url),
        ):
            args = [*SURVEIL, "agent", specialist, "--port", str(port)]
            plan.append(Child(f"agent-{specialist}", args, port, url))
        # Each worker serves the live tail of its relays; every API process reads them all.
        live_urls = []
        for index, name in enumerate(numbered("worker", self.workers)):
            live_port = s.worker_live_port + index
            live_urls.append(f"http://127.0.0.1:{live_port}")
            args = [*SURVEIL, "worker", "--live-port", str(live_port)]
            plan.append(Child(name, args, live_port))
        api_args = [*SURVEIL, "api", "--port", str(s.api_port)]
        if self.api_procs > 1:
            api_args.append("--reuse-port")
        api_env = {"SURVEIL_WORKER_LIVE_URLS": json.dumps(live_urls)}
        for name in numbered("api", self.api_procs):
            plan.append(Child(name, api_args, s.api_port, s.public_url, env=api_env))
        return plan

    # -- lifecycle ------------------------------------------------------------

    def run(self) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        try:
            plan = self.plan()
            refuse_taken_ports(plan)
            for child in plan:
                self._start(child, wait=True)
                self.children.append(child)
                if child.name == "temporal":
                    self._import_demo_data_if_empty()
            self._print_urls()
            self._supervise()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop_all()
        return 0

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def _start(self, child: Child, *, wait: bool) -> None:
        child.proc = start_process(
            child.args,
            log_path=self.logs / f"{child.name}.log",
            env={**os.environ, **child.env} if child.env else None,
            die_with_parent=True,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        # For the second and later API processes the shared port is already open: they
        # join when they listen, and until then the kernel routes around them.
        if wait and child.port is not None:
            wait_for_port("127.0.0.1", child.port, timeout=90, proc=child.proc)

    def _supervise(self) -> None:
        while True:
            now = time.monotonic()
            for child in self.children:
                assert child.proc is not None
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        self._start(child, wait=False)
                        self._say(f"restarted {child.name} (pid {child.proc.pid})")
                    continue
                code = child.proc.poll()
                if code is None:
                    continue
                if now - child.started_at >= HEALTHY_AFTER_S:
                    child.backoff_s = FIRST_BACKOFF_S
                child.restart_at = now + child.backoff_s
                self._say(
                    f"{child.name} exited with {code}; restarting in {child.backoff_s:.0f}s "
                    f"(log: {self.logs / (child.name + '.log')})"
                )
                child.backoff_s = min(child.backoff_s * 2, MAX_BACKOFF_S)
            time.sleep(0.5)

    def stop_all(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan children
        for child in reversed(self.children):
            if child.proc is not None and child.proc.poll() is None:
                self._say(f"stopping {child.name} (pid {child.proc.pid})")
                stop_process(child.proc)

    # -- helpers ---------------------------------------------------------------

    def _import_demo_data_if_empty(self) -> None:
        from surveil.store import Store

        if not Store.open(self.settings).is_empty():
            return
        demo_dir = self.home / f"demo-{DEMO_SEED}"
        self._say(f"store is empty: importing demo data (seed {DEMO_SEED}) from {demo_dir}")
        log = self.logs / "data.log"
        for args in (
            [*SURVEIL, "data", "demo", "--seed", str(DEMO_SEED), "--out", str(demo_dir)],
            [*SURVEIL, "data", "import", str(demo_dir)],
        ):
            proc = start_process(args, log_path=log, die_with_parent=True)
            if proc.wait() != 0:
                raise SystemExit(f"surveil dev: {' '.join(args[2:])} failed; see {log}")

    def _print_urls(self) -> None:
        lines = ["", "surveil is running:"]
        for child in self.children:
            assert child.proc is not None
            label = "Temporal Web UI" if child.name == "temporal" else child.name
            lines.append(f"  {label:<24} {child.url or '':<28} pid {child.proc.pid}")
        lines.append(f"  {'Temporal (gRPC)':<24} {self.settings.temporal_address}")
        if self.api_procs > 1:
            lines.append(
                f"  {'API':<24} {self.settings.public_url:<28} "
                f"{self.api_procs} processes on one port (SO_REUSEPORT)"
            )
        token = self._api_token_hint()
        if token:
            lines.append(f"  {'API token':<24} {token}")
        lines += [f"  {'logs':<24} {self.logs}", "Ctrl-C stops everything.", ""]
        print("\n".join(lines), flush=True)

    def _api_token_hint(self) -> str | None:
        if self.settings.api_tokens.get_secret_value():
            return "from SURVEIL_API_TOKENS"
        # The API writes its dev-mode token here on start (api/auth.py: dev_token).
        path = self.home / "dev-token"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().strip():
                return f"Authorization: Bearer {path.read_text().strip()}"
            time.sleep(0.2)
        return None

    @staticmethod
    def _say(message: str) -> None:
        print(f"[surveil dev] {message}", flush=True)


def numbered(role: str, count: int) -> list[str]:
    """`worker` alone; `worker-1`, `worker-2`, ... when there are several."""
    return [role] if count == 1 else [f"{role}-{n}" for n in range(1, count + 1)]


def refuse_taken_ports(plan: list[Child]) -> None:
    """Stop before starting anything when a port of the plan is taken: waiting for it
    would mistake the stranger for our child (and API processes given --reuse-port
    could share the port with another stack's API)."""
    checked: set[int] = set()
    for child in plan:
        if child.port is None or child.port in checked:
            continue  # API processes after the first share its port
        checked.add(child.port)
        if port_open("127.0.0.1", child.port):
            raise SystemExit(
                f"surveil dev: port {child.port} (for {child.name}) is already in use; "
                "stop what holds it or choose other ports (SURVEIL_*_PORT)"
            )
