"""`surveil dev --api-procs 2 --workers 2`: several API processes behind one address,
several workers on one task queue, and kill -9 of one of each mid-investigation.

A viewer follows an investigation over SSE through the shared address. Once the wash
trade specialist is streaming, the test kills the API process that holds the viewer's
connection (found through /proc: which process owns the server end of that TCP
connection) and the worker running the specialist activity (found through Temporal:
the pending activity's worker identity, `pid@host`). The viewer reconnects with
Last-Event-ID through the same address, is served by the other API process, and must
see every offset exactly once; `surveil dev` restarts both victims.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from surveil.settings import Settings
from tests.reliability.viewer import ResumingViewer
from tests.support.stack import TEST_TOKENS, DevCommand
from workflows.client import connect

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="SO_REUSEPORT spreads connections and /proc shows their owners on Linux only",
)

WASH = "ALR-007-01"
WORKFLOW_ID = f"alert-demo-{WASH}"
TOKEN = next(t for t, tenant in TEST_TOKENS.items() if tenant == "demo")
KILL_AFTER_RELAYED = 4  # wash_trade events in the stream before the kills
DEADLINE_S = 90.0


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCommand]:
    command = DevCommand(
        Path(tmp_path_factory.mktemp("multi")),
        args=["--api-procs", "2", "--workers", "2"],
        env_overrides={
            "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "20",  # a specialist step long enough to kill in
            "SURVEIL_SSE_HEARTBEAT_S": "5",
        },
    )
    try:
        yield command.start()
    finally:
        command.stop()
        print(command.logs())  # shown by pytest only when a test failed


# -- who holds a TCP connection (Linux /proc) ----------------------------------------


def established_tcp() -> list[tuple[int, int, int]]:
    """(local port, remote port, socket inode) of every established IPv4 connection."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    found = []
    for row in rows:
        fields = row.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state == "01":  # TCP_ESTABLISHED
            found.append((int(local.split(":")[1], 16), int(remote.split(":")[1], 16), int(inode)))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process is gone
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def processes_serving_us(port: int, candidates: list[int]) -> list[int]:
    """Which of `candidates` hold the server end of a connection this process has open
    to `port`."""
    connections = established_tcp()
    ours = socket_inodes(os.getpid())
    our_ports = {local for local, remote, inode in connections if remote == port and inode in ours}
    server_ends = {
        inode for local, remote, inode in connections if local == port and remote in our_ports
    }
    return [pid for pid in candidates if socket_inodes(pid) & server_ends]


async def api_serving(
    viewer: ResumingViewer, dev: DevCommand, api_pids: list[int], *, connection: int
) -> int:
    """The API process serving the viewer's `connection`-th connection (1 = the first),
    once that connection is up."""
    serving: list[int] = []
    for _ in range(200):  # 10 s
        serving = processes_serving_us(dev.ports["api"], api_pids)
        if viewer.connections >= connection and len(serving) == 1:
            return serving[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the viewer's connection is not served by one of {api_pids}: {serving}")


# -- the investigation ---------------------------------------------------------------


def relayed(viewer: ResumingViewer, agent: str) -> int:
    return sum(1 for e in viewer.events if e.agent == agent and e.seq is not None)


def pid_of(identity: str) -> int:
    """A worker's default identity is `pid@host`."""
    return int(identity.partition("@")[0])


async def worker_running(client: Client, activity: str) -> tuple[int, str]:
    """(worker PID, activity id) of the running `activity`."""
    description = await client.get_workflow_handle(WORKFLOW_ID).describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name == activity and pending.last_worker_identity:
            return pid_of(pending.last_worker_identity), pending.activity_id
    raise AssertionError(f"no worker is running {activity}: {description.raw_description}")


async def worker_that_completed(client: Client, activity_id: str) -> int:
    """PID of the worker whose attempt of the activity completed (history records
    only the last attempt's start)."""
    history = await client.get_workflow_handle(WORKFLOW_ID).fetch_history()
    scheduled = next(
        e.event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_id == activity_id
    )
    started = next(
        e.activity_task_started_event_attributes
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.scheduled_event_id == scheduled
    )
    return pid_of(started.identity)


async def test_killed_api_process_and_worker_lose_no_event_behind_one_address(dev: DevCommand):
    pids = dev.pids()
    api_names = {pids[name]: name for name in ("api-1", "api-2")}
    worker_names = {pids[name]: name for name in ("worker-1", "worker-2")}
    temporal = await connect(Settings(temporal_address=dev.temporal_address))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=dev.api_url, headers=auth) as rest:
        response = await rest.post("/api/alerts", json={"id": WASH})
        assert response.status_code == 202, response.text

    async with httpx.AsyncClient(base_url=dev.api_url, headers=auth) as stream:
        viewer = ResumingViewer(stream, WASH)
        following = asyncio.create_task(viewer.follow(DEADLINE_S))
        async with asyncio.timeout(60):
            while relayed(viewer, "wash_trade") < KILL_AFTER_RELAYED:
                await asyncio.wait({following}, timeout=0.02)
                assert not following.done(), "the investigation ended before the kills"

        api_victim = await api_serving(viewer, dev, list(api_names), connection=1)
        worker_victim, specialist_activity = await worker_running(temporal, "run_specialist")
        assert worker_victim in worker_names
        os.kill(api_victim, signal.SIGKILL)
        os.kill(worker_victim, signal.SIGKILL)
        offset_at_kill = viewer.last_offset

        # The viewer reconnects through the same address, where only the other API
        # process listens until `surveil dev` has the victim back (seconds later).
        (survivor,) = set(api_names) - {api_victim}
        assert await api_serving(viewer, dev, list(api_names), connection=2) == survivor

        await following

    # Every offset exactly once across the cut, and the investigation completed.
    assert viewer.duplicated() == []
    assert viewer.offsets == list(range(len(viewer.offsets)))
    assert offset_at_kill is not None and viewer.last_offset is not None
    assert viewer.last_offset > offset_at_kill
    final = viewer.terminal
    assert final is not None and (final.data or {}).get("state") == "completed", final

    # `surveil dev` restarted both victims under new PIDs, and the specialist activity
    # the killed worker was running completed on another worker process.
    dev.wait_for_restart(api_names[api_victim], api_victim)
    restarted_worker = dev.wait_for_restart(worker_names[worker_victim], worker_victim)
    completed_on = await worker_that_completed(temporal, specialist_activity)
    assert completed_on in (set(worker_names) - {worker_victim}) | {restarted_worker}
