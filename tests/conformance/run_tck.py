"""Run the A2A conformance suite (a2aproject/a2a-tck) against surveil's A2A façade, a
specialist agent and a stock a2a-sdk server, in one run, and print a pass/fail table.

Not part of `make test`: the suite lives outside this repository. Check it out and
give each branch its own virtualenv (see docs/api.md, "A2A conformance"):

    TCK_10=/tmp/tck-1.0-dev TCK_03=/tmp/tck-0.3.x \\
    TCK_10_PYTHON=/tmp/tck-venv10/bin/python TCK_03_PYTHON=/tmp/tck-venv03/bin/python \\
    .venv/bin/python -m tests.conformance.run_tck [--out DIR] [--only facade,insider,stock]

It starts the real stack (Temporal dev server, both agents, worker, API) as the tests
do, plus tests/conformance/stock_agent.py; runs the 1.0 suite's MUST level and the 0.3
suite's mandatory category over JSON-RPC against each; keeps each JUnit XML in --out;
and prints, per target, passed / failed / skipped and every failed test with its
first line of reason. The suite has no auth option: tests/conformance/tck_bearer.py
adds the target's bearer token to every HTTP client it opens.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from agents.agent_auth import client_token
from surveil.processes import free_port, start_process, stop_process, wait_for_port
from surveil.settings import Settings
from tests.support.api_client import TOKEN_A
from tests.support.stack import Stack

HERE = Path(__file__).resolve().parent


@dataclass
class Target:
    name: str
    base_url: str  # where its agent card is
    rpc_url: str  # its JSON-RPC endpoint (the 0.3 suite wants this one)
    token: str | None


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rate(self) -> str:
        ran = self.passed + self.failed
        return f"{100 * self.passed / ran:.1f} %" if ran else "—"


def junit_outcome(path: Path) -> Outcome:
    outcome = Outcome()
    if not path.exists():
        outcome.failures.append(("(no report)", "the suite did not run"))
        return outcome
    for case in ET.parse(path).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            outcome.failed += 1
            reason = (problem.get("message") or problem.text or "").strip().splitlines()
            outcome.failures.append((case.get("name", "?"), reason[0][:200] if reason else ""))
        elif case.find("skipped") is not None:
            outcome.skipped += 1
        else:
            outcome.passed += 1
    return outcome


def run_suite(version: str, target: Target, out: Path) -> Outcome:
    report = out / f"{target.name}-{version}.xml"
    if version == "1.0":
        cwd, python = os.environ["TCK_10"], os.environ["TCK_10_PYTHON"]
        args = ["tests/compatibility/", f"--sut-host={target.base_url}", "--transport=jsonrpc",
                "-m", "must", f"--compatibility-report={out / f'{target.name}-1.0-compat'}"]  # fmt: skip
    else:
        cwd, python = os.environ["TCK_03"], os.environ["TCK_03_PYTHON"]
        args = ["tests/mandatory/", f"--sut-url={target.rpc_url}", "--test-scope=all",
                "--transports", "jsonrpc", "-m", "mandatory_jsonrpc or mandatory_protocol"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(HERE), "TCK_BEARER_TOKEN": target.token or ""}
    command = [python, "-m", "pytest", *args, "-p", "tck_bearer", "-q", "--tb=line",
               f"--junitxml={report}", "-p", "no:cacheprovider"]  # fmt: skip
    with open(out / f"{target.name}-{version}.log", "w") as log:
        subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                       timeout=1800, check=False)  # fmt: skip
    return junit_outcome(report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="tck-")))
    parser.add_argument("--only", default="facade,insider,stock")
    parser.add_argument("--versions", default="1.0,0.3")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only.split(","))

    # A conformance run sends hundreds of messages in a minute.
    stack = Stack(args.out / "stack", env_overrides={"SURVEIL_SUBMISSIONS_PER_MINUTE": "100000"})
    stock_port = free_port()
    stock = None
    try:
        stack.start_all()
        stock = start_process(
            [sys.executable, "-m", "tests.conformance.stock_agent", "--port", str(stock_port)],
            log_path=args.out / "stock-agent.log", env={"PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        wait_for_port("127.0.0.1", stock_port, timeout=60, proc=stock)
        insider = f"http://127.0.0.1:{stack.insider_port}"
        targets = [
            Target("facade", stack.api_url(), stack.api_url() + "/a2a", TOKEN_A),
            Target("insider", insider, insider + "/", client_token(Settings(home=stack.home))),
            Target(
                "stock", f"http://127.0.0.1:{stock_port}", f"http://127.0.0.1:{stock_port}/", None
            ),  # fmt: skip
        ]
        results = {
            (target.name, version): run_suite(version, target, args.out)
            for target in targets
            if target.name in wanted
            for version in args.versions.split(",")
        }
    finally:
        if stock is not None:
            stop_process(stock)
        stack.stop_all()

    print(f"reports in {args.out}\n")
    print("| target | suite | passed | failed | skipped | pass rate |")
    print("|---|---|---|---|---|---|")
    for (name, version), outcome in results.items():
        level = "1.0 MUST" if version == "1.0" else "0.3 mandatory"
        print(f"| {name} | {level} | {outcome.passed} | {outcome.failed} | "
              f"{outcome.skipped} | {outcome.rate} |")  # fmt: skip
    for (name, version), outcome in results.items():
        for test, reason in outcome.failures:
            print(f"- {name} {version}: {test}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
