"""`kill -9` of `surveil dev` itself: its children die with it, and starting it again
on the same ports and SURVEIL_HOME comes up (nothing left holding a port)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import DevCommand

pytestmark = [
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only"
    ),
    pytest.mark.timeout(300),
]


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as dead: it holds no port)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_until_dead(pids: set[int], timeout: float = 30) -> set[int]:
    """The PIDs still alive after `timeout` (the kernel's kill is asynchronous)."""
    deadline = time.monotonic() + timeout
    while (left := {pid for pid in pids if alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevCommand]:
    command = DevCommand(tmp_path)
    try:
        yield command
    finally:
        command.stop()
        print(command.logs())  # shown by pytest only when the test failed


def test_kill_9_of_surveil_dev_takes_its_children_and_a_restart_recovers(
    dev: DevCommand,
) -> None:
    dev.start()
    children = dev.pids()  # the Temporal dev server is listed as its Web UI
    assert set(children) == {
        "Temporal",
        "agent-insider-trading",
        "agent-wash-trade",
        "worker",
        "api",
    }
    assert all(alive(pid) for pid in children.values())
    assert dev.proc is not None

    os.kill(dev.proc.pid, signal.SIGKILL)  # the supervisor only, not its process group
    dev.proc.wait(timeout=10)

    assert wait_until_dead(set(children.values())) == set()

    # Same ports, same SURVEIL_HOME: a second `surveil dev` comes up.
    dev.output_path.unlink()
    dev.start()
    restarted = dev.pids()
    assert set(restarted) == set(children)
    assert not set(restarted.values()) & set(children.values())
    assert all(alive(pid) for pid in restarted.values())
