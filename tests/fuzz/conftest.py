"""Reports how many cases the schemathesis fuzz test generated."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("tests.fuzz.test_rest_schemathesis")
    generated = getattr(module, "generated", None)
    if generated:
        terminalreporter.write_line(
            f"schemathesis: {sum(generated.values())} generated cases over "
            f"{len(generated)} operations ("
            + ", ".join(f"{label} {n}" for label, n in sorted(generated.items()))
            + ")"
        )
