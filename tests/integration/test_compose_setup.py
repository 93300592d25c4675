"""The compose stack's namespace job (deploy/temporal/setup-namespace.sh) against a
real Temporal server: it creates the namespace and every search attribute, and a
second run (every `docker-compose up`) changes nothing and succeeds."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from surveil.processes import (
    free_port,
    start_process,
    stop_process,
    temporal_binary,
    temporal_dev_server_args,
    wait_for_port,
)
from surveil.search_attributes import SEARCH_ATTRIBUTES

REPO = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = REPO / "deploy" / "temporal" / "setup-namespace.sh"
NAMESPACE = "surveil-compose"


@pytest.fixture(scope="module")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("temporal")
    port = free_port()
    args = temporal_dev_server_args(db_file=root / "temporal.db", port=port, ui_port=None)
    proc = start_process(args, log_path=root / "temporal.log")
    try:
        wait_for_port("127.0.0.1", port, timeout=90, proc=proc)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(proc)


def compose_setup_environment() -> dict[str, str]:
    """The job's own settings, read from docker-compose.yml."""
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    environment = services["temporal-setup"]["environment"]
    return {"SURVEIL_SEARCH_ATTRIBUTES": environment["SURVEIL_SEARCH_ATTRIBUTES"]}


def run_setup(temporal_address: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    """Run the job as compose does: only its own variables, the temporal CLI on PATH."""
    temporal_dir = str(Path(temporal_binary()).parent)
    env = {
        "PATH": f"{temporal_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "SURVEIL_TEMPORAL_ADDRESS": temporal_address,
        "SURVEIL_TEMPORAL_NAMESPACE": NAMESPACE,
        **compose_setup_environment(),
        **overrides,
    }
    return subprocess.run(
        ["sh", str(SETUP_SCRIPT)], env=env, capture_output=True, text=True, timeout=180
    )


def registered_search_attributes(temporal_address: str) -> dict[str, str]:
    listing = subprocess.run(
        [
            temporal_binary(), "operator", "search-attribute", "list",
            "--address", temporal_address, "--namespace", NAMESPACE,
        ],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    rows = (line.split() for line in listing.splitlines()[1:])
    return {row[0]: row[1] for row in rows if len(row) == 2}


def test_setup_job_creates_the_namespace_and_search_attributes_idempotently(
    temporal_address: str,
) -> None:
    first = run_setup(temporal_address)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"creating namespace {NAMESPACE}" in first.stdout

    registered = registered_search_attributes(temporal_address)
    assert {name: registered.get(name) for name in SEARCH_ATTRIBUTES} == SEARCH_ATTRIBUTES

    again = run_setup(temporal_address)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"namespace {NAMESPACE} exists" in again.stdout
    for name in SEARCH_ATTRIBUTES:
        assert f"search attribute {name} exists" in again.stdout


def test_setup_job_rejects_a_malformed_attribute_list(temporal_address: str) -> None:
    result = run_setup(temporal_address, SURVEIL_SEARCH_ATTRIBUTES="AlertType")
    assert result.returncode == 2
    assert "bad entry 'AlertType'" in result.stderr
