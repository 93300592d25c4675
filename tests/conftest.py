"""Shared fixtures. The real stack (Temporal dev server, agents, worker, API) is
started once per test session when a test asks for it, and torn down by PID."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack

os.environ.setdefault("SURVEIL_OFFLINE_TOKEN_DELAY_MS", "0")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Temporal + demo data + both agents + worker + API, shared by the session."""
    with Stack(tmp_path_factory.mktemp("stack")).running() as s:
        yield s


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On failure, attach the stack's process logs to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for name in ("stack", "own_stack"):
            s = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(s, Stack):
                report.sections.append((f"{name} logs", s.logs()))


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path
