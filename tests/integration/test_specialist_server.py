"""The specialist A2A servers as real processes (`surveil agent … --port`), running the
real graphs on the demo data, driven by the official a2a-sdk client in A2A 1.0 and 0.3.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import A2AError, UnsupportedOperationError

from agents.a2a_events import (
    EVENT_LOG_PATH,
    PAUSED_STATES,
    TERMINAL_STATES,
    alert_message,
    answer_message,
    data_part,
    events_in,
    finding_from_task,
    finding_in,
    state_of,
    task_events,
)
from agents.agent_auth import client_token
from agents.task_store import RECENT_EVENTS
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, Finding
from surveil.processes import free_port, kill_process, start_process, stop_process, wait_for_port
from surveil.settings import Settings
from tests.support.a2a_client import A2AConnections

SURVEIL = [sys.executable, "-m", "surveil"]
PROTOCOLS = ["1.0", "0.3"]
# The JSON-RPC method each protocol version streams a message with.
STREAM_METHOD = {"1.0": "SendStreamingMessage", "0.3": "message/stream"}

pytestmark = pytest.mark.timeout(180)


# -- processes -------------------------------------------------------------------


@dataclass
class Demo:
    home: Path
    alerts: dict[str, Alert]
    expected: dict[str, str]  # alert id -> expected disposition
    why: dict[str, str]  # alert id -> what the planted case is

    def first(self, alert_type: str, disposition: str) -> Alert:
        return next(
            alert
            for alert in self.alerts.values()
            if alert.type == alert_type and self.expected[alert.id] == disposition
        )


@dataclass
class Agent:
    specialist: str
    url: str
    proc: subprocess.Popen
    log: Path
    port: int
    env: dict[str, str]


def surveil(*args: str, env: dict[str, str]) -> None:
    subprocess.run([*SURVEIL, *args], env={**os.environ, **env}, check=True, capture_output=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("specialists")
    env = {"SURVEIL_HOME": str(root / "home")}
    surveil("data", "demo", "--seed", "7", "--out", str(root / "demo"), env=env)
    surveil("data", "import", str(root / "demo"), env=env)
    with open(root / "demo" / "alerts.csv", newline="") as f:
        alerts = {row["id"]: Alert.model_validate(row) for row in csv.DictReader(f)}
    with open(root / "demo" / "labels.csv", newline="") as f:
        labels = list(csv.DictReader(f))
    expected = {row["alert_id"]: row["expected_disposition"] for row in labels}
    return Demo(root / "home", alerts, expected, {row["alert_id"]: row["why"] for row in labels})


@pytest.fixture(scope="module")
def start_agent(demo: Demo) -> Iterator:
    """Starts `surveil agent SPECIALIST --port P` with extra env; stops them all after.

    `start(specialist, **env)` starts a new one; `start(agent)` starts a process of
    `agent` again on its port and state folder (after it was killed)."""
    started: list[Agent] = []

    def start(specialist: str | Agent, **env: str) -> Agent:
        if isinstance(specialist, Agent):
            previous = specialist
            specialist, port, env = previous.specialist, previous.port, previous.env
        else:
            port = free_port()
            env = {
                "SURVEIL_HOME": str(demo.home),
                # Several agents of one specialist run at once: one state folder each.
                "SURVEIL_AGENT_STATE_DIR": str(demo.home.parent / f"agent-state-{port}"),
                "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
                "PYTHONUNBUFFERED": "1",
                **env,
            }
        log = demo.home.parent / f"agent-{specialist}-{port}.log"
        proc = start_process(
            [*SURVEIL, "agent", specialist, "--port", str(port)], log_path=log, env=env
        )
        agent = Agent(specialist, f"http://127.0.0.1:{port}", proc, log, port, env)
        started.append(agent)
        wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        return agent

    yield start
    for agent in started:
        stop_process(agent.proc)


@pytest.fixture(scope="module")
def insider(start_agent) -> Agent:
    # One event per LLM token (no 100 ms frames): at token delay 0 a whole answer would
    # be one frame, and some tests need more events than the task keeps.
    return start_agent("insider-trading", SURVEIL_STREAM_FRAME_MS="0")


@pytest.fixture(scope="module")
def wash(start_agent) -> Agent:
    return start_agent("wash-trade")


@pytest.fixture(scope="module")
def slow_wash(start_agent) -> Agent:
    """Streams its narrative slowly, so a test can act while the task still runs."""
    return start_agent("wash-trade", SURVEIL_OFFLINE_TOKEN_DELAY_MS="25")


# -- client ------------------------------------------------------------------------


@pytest.fixture
async def connect(demo: Demo) -> AsyncIterator:
    """`await connect(agent, protocol)` -> (a2a Client, the methods it sent), presenting
    the agent token as the worker does."""
    headers = {"Authorization": f"Bearer {worker_token(demo)}"}
    async with A2AConnections(headers=headers) as connections:
        yield lambda agent, protocol: connections.open(agent.url, protocol)


@dataclass
class Streamed:
    task_id: str = ""
    context_id: str = ""
    events: list[ProgressEvent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    states: list[TaskState] = field(default_factory=list)

    @property
    def seqs(self) -> list[int | None]:
        return [e.seq for e in self.events]

    def take(self, response: StreamResponse) -> None:
        if response.HasField("task"):
            self.task_id, self.context_id = response.task.id, response.task.context_id
        elif response.HasField("status_update"):
            update = response.status_update
            self.task_id, self.context_id = update.task_id, update.context_id
        self.events += events_in(response)
        finding = finding_in(response)
        if finding is not None:
            self.findings.append(finding)
        state = state_of(response)
        if state is not None:
            self.states.append(state)


async def stream(
    responses: AsyncIterator[StreamResponse],
    *,
    stop_after: int | None = None,
    until: Callable[[ProgressEvent], bool] | None = None,
) -> Streamed:
    """Reads a stream to its end, or stops reading after `stop_after` events or at the
    first event `until` accepts."""
    seen = Streamed()
    try:
        async for response in responses:
            seen.take(response)
            if stop_after is not None and len(seen.events) >= stop_after:
                break
            if until is not None and any(map(until, seen.events)):
                break
    finally:
        await responses.aclose()  # type: ignore[attr-defined]
    return seen


def investigate(alert: Alert) -> SendMessageRequest:
    return SendMessageRequest(message=alert_message(alert))


def seq(event: ProgressEvent) -> int:
    assert event.seq is not None, f"event without seq: {event}"
    return event.seq


def contiguous(seqs: list[int | None]) -> bool:
    return seqs == list(range(len(seqs)))


def worker_token(demo: Demo) -> str:
    token = client_token(Settings(home=demo.home))
    assert token is not None
    return token


def token_header(agent: Agent) -> dict[str, str]:
    """The worker's credentials for an agent's plain HTTP routes (the event log)."""
    token = client_token(Settings(home=Path(agent.env["SURVEIL_HOME"])))
    assert token is not None
    return {"Authorization": f"Bearer {token}"}


async def logged(
    agent: Agent, task_id: str, after: int = -1, limit: int = 50
) -> list[ProgressEvent]:
    """Every event of the task above `after`, from the agent's event log, page by page."""
    events: list[ProgressEvent] = []
    async with httpx.AsyncClient(base_url=agent.url, headers=token_header(agent)) as http:
        while True:
            response = await http.get(
                EVENT_LOG_PATH.format(task_id=task_id), params={"after": after, "limit": limit}
            )
            assert response.status_code == 200, response.text
            page = [ProgressEvent.model_validate(e) for e in response.json()["events"]]
            if not page:
                return events
            events += page
            after = seq(page[-1])


# -- tests -------------------------------------------------------------------------


async def test_agent_refuses_calls_without_the_workers_token(insider: Agent, demo: Demo) -> None:
    """Issue 14: with mTLS off, the specialists answered anyone."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "no-such-task"}}
    async with httpx.AsyncClient(headers={"A2A-Version": "1.0"}) as http:
        for presented in ({}, {"Authorization": "Bearer guess"}, {"Authorization": "guess"}):
            refused = await http.post(f"{insider.url}/", json=call, headers=presented)
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"] == "Bearer"
        worker = {"Authorization": f"Bearer {worker_token(demo)}"}
        admitted = await http.post(f"{insider.url}/", json=call, headers=worker)
        assert admitted.json()["error"]["code"] == -32001  # in, and the task is unknown
        assert (await http.get(f"{insider.url}/.well-known/agent-card.json")).status_code == 200


async def test_card_describes_the_specialist_in_both_protocol_versions(
    insider: Agent, wash: Agent
) -> None:
    async with httpx.AsyncClient() as http:
        for agent, skill_id in (
            (insider, "investigate_insider_trading"),
            (wash, "investigate_wash_trade"),
        ):
            card = (await http.get(f"{agent.url}/.well-known/agent-card.json")).json()
            assert card["capabilities"]["streaming"] is True
            versions = {i["protocolVersion"]: i["url"] for i in card["supportedInterfaces"]}
            assert versions == {"1.0": agent.url, "0.3": agent.url}
            assert (card["url"], card["protocolVersion"]) == (agent.url, "0.3")  # 0.3 fields
            (skill,) = card["skills"]
            assert skill["id"] == skill_id
            assert skill["name"] and skill["description"] and skill["tags"] and skill["examples"]
            health = (await http.get(f"{agent.url}/healthz")).json()
            assert health == {"status": "ok", "agent": agent.specialist.replace("-", "_")}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streamed_investigation_numbers_every_event_and_ends_with_a_finding(
    protocol: str, demo: Demo, insider: Agent, connect
) -> None:
    alert = demo.first("insider_trading", "escalate")
    client, sent = await connect(insider, protocol)

    seen = await stream(client.send_message(investigate(alert)))

    assert sent.methods == [STREAM_METHOD[protocol]]
    assert contiguous(seen.seqs) and len(seen.events) > 5
    assert {e.type for e in seen.events} >= {EventType.step_start, EventType.step_complete}
    assert all(e.agent == "insider_trading" for e in seen.events)
    assert seen.states[-1] == TaskState.TASK_STATE_COMPLETED
    assert seen.events[-1].type == EventType.status
    assert seen.events[-1].data == {"state": "completed"}
    (finding,) = seen.findings
    assert finding.specialist == "insider_trading" and finding.score >= 0.7

    task = await client.get_task(GetTaskRequest(id=seen.task_id))

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert finding_from_task(task) == finding
    # The task keeps its recent events (bounded: it is saved whole on every event);
    # the agent's log keeps every one, unchanged.
    assert len(seen.events) > RECENT_EVENTS + 1
    assert task_events(task) == seen.events[-(RECENT_EVENTS + 1) :]
    assert len(task.history) == RECENT_EVENTS + 1  # + the user's alert message
    assert await logged(insider, seen.task_id) == seen.events
    recent = await client.get_task(GetTaskRequest(id=seen.task_id, history_length=3))
    assert len(recent.history) == 3  # history_length trims the oldest entries
    assert task_events(recent) == seen.events[-4:]  # 3 from history + the final status


async def test_an_alert_without_prices_around_the_news_ends_in_review_over_a2a(
    demo: Demo, insider: Agent, connect
) -> None:
    """The planted "no price bars around the announcement" case, through the real agent:
    the task completes (no crash) and the finding names the missing prices."""
    alert = next(a for a in demo.alerts.values() if "no price bars around" in demo.why[a.id])
    client, _ = await connect(insider, PROTOCOLS[0])

    seen = await stream(client.send_message(investigate(alert)))

    assert seen.states[-1] == TaskState.TASK_STATE_COMPLETED
    (finding,) = seen.findings
    assert finding.needs_review
    move = next(e for e in finding.evidence if e.name == "abnormal_return")
    assert move.unknown and move.missing.startswith("no price bars between")
    assert any(reason.startswith("abnormal_return is unknown") for reason in finding.review_reasons)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reconnecting_client_recovers_every_event_exactly_once(
    protocol: str, demo: Demo, slow_wash: Agent, connect
) -> None:
    alert = demo.first("wash_trade", "escalate")
    client, sent = await connect(slow_wash, protocol)
    first = await stream(client.send_message(investigate(alert)), stop_after=3)
    relayed = list(first.events)

    # The recipe in agents/a2a_events.py: get the task, relay what was missed (from
    # the agent's log), then resubscribe and drop what was already relayed.
    task = await client.get_task(GetTaskRequest(id=first.task_id))
    assert task.status.state == TaskState.TASK_STATE_WORKING  # still running: a real resume
    relayed += await logged(slow_wash, first.task_id, after=seq(relayed[-1]))
    resumed = await stream(client.subscribe(SubscribeToTaskRequest(id=first.task_id)))
    duplicates: list[ProgressEvent] = []
    for event in resumed.events:  # the snapshot, then live events that may repeat it
        (relayed if seq(event) > seq(relayed[-1]) else duplicates).append(event)

    assert duplicates  # the resubscription starts with a snapshot of what exists
    assert contiguous([e.seq for e in relayed])
    assert relayed[-1].data == {"state": "completed"}
    assert resumed.states[-1] == TaskState.TASK_STATE_COMPLETED and resumed.findings
    final = await client.get_task(GetTaskRequest(id=first.task_id))
    assert final.status.state == TaskState.TASK_STATE_COMPLETED
    assert await logged(slow_wash, first.task_id) == relayed
    get, subscribe = (
        ("GetTask", "SubscribeToTask") if protocol == "1.0" else ("tasks/get", "tasks/resubscribe")
    )
    assert sent.methods == [STREAM_METHOD[protocol], get, subscribe, get]

    # A finished task cannot be resubscribed to: its history is final, get suffices.
    with pytest.raises(A2AError, match="terminal state"):
        await stream(client.subscribe(SubscribeToTaskRequest(id=first.task_id)))


@pytest.mark.parametrize(
    ("protocol", "answer", "needs_review"),
    [("1.0", Part(text="yes"), False), ("0.3", data_part({"answer": None}), True)],
    ids=["1.0-text-yes", "0.3-no-answer-in-time"],
)
async def test_question_pauses_the_task_until_the_answer_resumes_it(
    protocol: str, answer: Part, needs_review: bool, demo: Demo, wash: Agent, connect
) -> None:
    alert = demo.first("wash_trade", "needs_review")
    client, _ = await connect(wash, protocol)

    asked = await stream(client.send_message(investigate(alert)))

    assert asked.states[-1] == TaskState.TASK_STATE_INPUT_REQUIRED
    question = asked.events[-1]
    assert question.type == EventType.input_required
    assert question.data and question.data["question"] and question.data["options"]
    assert not asked.findings
    paused = await client.get_task(GetTaskRequest(id=asked.task_id))
    assert paused.status.state in PAUSED_STATES

    reply = Message(
        message_id=f"answer-{protocol}",
        task_id=asked.task_id,
        context_id=asked.context_id,
        role=Role.ROLE_USER,
        parts=[answer],
    )
    resumed = await stream(client.send_message(SendMessageRequest(message=reply)))

    assert contiguous(asked.seqs + resumed.seqs)  # numbering continues across the pause
    assert resumed.states[-1] == TaskState.TASK_STATE_COMPLETED
    (finding,) = resumed.findings
    assert finding.needs_review is needs_review
    assert await logged(wash, asked.task_id) == asked.events + resumed.events


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_text_without_an_alert_gets_a_task_asking_for_one(
    protocol: str, demo: Demo, wash: Agent, connect
) -> None:
    """A generic A2A client's "hello" is a conversation that needs input (issue 14):
    INPUT_REQUIRED asking for the alert; text again keeps it waiting, in its history;
    the alert, sent on the same task, starts the analysis there; cancel ends one."""
    client, _ = await connect(wash, protocol)
    hello = Message(message_id="h1", role=Role.ROLE_USER, parts=[Part(text="look at ACC1")])
    asked = [r async for r in client.send_message(SendMessageRequest(message=hello))]
    task_id = asked[0].task.id
    assert [state_of(r) for r in asked][-1] == TaskState.TASK_STATE_INPUT_REQUIRED
    read = await client.get_task(GetTaskRequest(id=task_id))
    assert read.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert read.status.message.parts[0].text.startswith("Which alert should I analyse?")
    assert '{"alert": {...}}' in read.status.message.parts[0].text

    again = Message(message_id="h2", role=Role.ROLE_USER, task_id=task_id, parts=[Part(text="?")])
    await stream(client.send_message(SendMessageRequest(message=again)))
    read = await client.get_task(GetTaskRequest(id=task_id))
    assert read.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert read.status.message.parts[0].text.startswith("That message holds no alert either.")
    assert [(m.role, m.message_id) for m in read.history if m.role == Role.ROLE_USER] == [
        (Role.ROLE_USER, "h1"), (Role.ROLE_USER, "h2"),
    ]  # fmt: skip
    assert any(m.role == Role.ROLE_AGENT for m in read.history)  # the first question

    alert = alert_message(demo.first("wash_trade", "escalate"))
    alert.task_id = task_id
    analysed = await stream(client.send_message(SendMessageRequest(message=alert)))
    assert analysed.task_id == task_id
    assert analysed.states[-1] == TaskState.TASK_STATE_COMPLETED and analysed.findings

    other = Message(message_id="h3", role=Role.ROLE_USER, parts=[Part(text="hi")])
    waiting = [r async for r in client.send_message(SendMessageRequest(message=other))]
    canceled = await client.cancel_task(CancelTaskRequest(id=waiting[0].task.id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_bad_requests_get_a_clear_invalid_params_error(
    protocol: str, demo: Demo, wash: Agent, connect
) -> None:
    client, _ = await connect(wash, protocol)
    no_alert = Message(message_id="m2", role=Role.ROLE_USER, parts=[data_part({"x": 1})])
    with pytest.raises(A2AError, match=r'expected a data part \{"alert"'):
        await stream(client.send_message(SendMessageRequest(message=no_alert)))

    broken = alert_message(demo.first("wash_trade", "escalate"))
    del broken.parts[0].data.struct_value.fields["alert"].struct_value.fields["account"]
    with pytest.raises(A2AError, match="invalid alert: account: Field required"):
        await stream(client.send_message(SendMessageRequest(message=broken)))

    done = await stream(client.send_message(investigate(demo.first("wash_trade", "escalate"))))
    late = answer_message("yes", task_id=done.task_id, context_id=done.context_id)
    with pytest.raises(UnsupportedOperationError, match="is completed; it takes no more messages"):
        await stream(client.send_message(SendMessageRequest(message=late)))
    # The agent still serves normally afterwards.
    assert (await client.get_task(GetTaskRequest(id=done.task_id))).status.state == (
        TaskState.TASK_STATE_COMPLETED
    )


async def test_cancel_stops_a_running_investigation(demo: Demo, slow_wash: Agent, connect) -> None:
    client, _ = await connect(slow_wash, "1.0")
    started = await stream(
        client.send_message(investigate(demo.first("wash_trade", "escalate"))), stop_after=2
    )

    canceled = await client.cancel_task(CancelTaskRequest(id=started.task_id))

    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    task = await client.get_task(GetTaskRequest(id=started.task_id))
    events = await logged(slow_wash, started.task_id)
    assert task.status.state == TaskState.TASK_STATE_CANCELED
    assert contiguous([e.seq for e in events])
    assert events[-1].data == {"state": "canceled"}
    assert finding_from_task(task) is None


async def test_specialist_named_in_fail_setting_fails_after_its_first_step(
    demo: Demo, start_agent, connect
) -> None:
    failing = start_agent("insider-trading", SURVEIL_FAIL_SPECIALIST="insider_trading")
    client, _ = await connect(failing, "1.0")

    seen = await stream(client.send_message(investigate(demo.first("insider_trading", "escalate"))))

    assert seen.states[-1] == TaskState.TASK_STATE_FAILED
    assert contiguous(seen.seqs) and not seen.findings
    error = seen.events[-1]
    assert error.type == EventType.error and error.data and error.data["state"] == "failed"
    assert error.text and "SURVEIL_FAIL_SPECIALIST" in error.text
    step_completions = [e for e in seen.events if e.type == EventType.step_complete]
    assert step_completions == [seen.events[-2]]  # it failed right after its first step


async def test_event_log_route_rejects_bad_positions_and_unknown_tasks(wash: Agent) -> None:
    path = EVENT_LOG_PATH.format(task_id="no-such-task")
    async with httpx.AsyncClient(base_url=wash.url) as anonymous:
        assert (await anonymous.get(path)).status_code == 401  # the worker's token only
    async with httpx.AsyncClient(base_url=wash.url, headers=token_header(wash)) as http:
        missing = await http.get(path)
        assert missing.status_code == 404 and "not found" in missing.json()["error"]
        for params in ({"after": "x"}, {"after": -2}, {"limit": 0}, {"limit": 5000}):
            bad = await http.get(path, params=params)
            assert bad.status_code == 400, params
            assert "after" in bad.json()["error"]


async def test_agent_killed_mid_task_resumes_it_from_its_last_checkpoint(
    demo: Demo, start_agent, connect
) -> None:
    # Paced so the narrative (step "reason", after every analytic step) lasts seconds.
    agent = start_agent("wash-trade", SURVEIL_OFFLINE_TOKEN_DELAY_MS="30")
    client, _ = await connect(agent, "1.0")
    alert = demo.first("wash_trade", "escalate")
    before = await stream(
        client.send_message(investigate(alert)),
        until=lambda e: e.type == EventType.message_delta and e.step == "reason",
    )

    kill_process(agent.proc)  # kill -9, by PID, mid-narrative
    restarted = start_agent(agent)  # same port, same state folder

    client, _ = await connect(restarted, "1.0")
    task = await client.get_task(GetTaskRequest(id=before.task_id))  # the store kept it
    if task.status.state not in TERMINAL_STATES:  # the agent resumed it on its own
        resumed = await stream(client.subscribe(SubscribeToTaskRequest(id=before.task_id)))
        assert resumed.states[-1] == TaskState.TASK_STATE_COMPLETED
    task = await client.get_task(GetTaskRequest(id=before.task_id))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert finding_from_task(task) is not None

    events = await logged(restarted, before.task_id)
    assert contiguous([e.seq for e in events])  # numbering goes on across the restart
    assert events[: len(before.events)] == before.events
    (resume,) = [e for e in events if (e.data or {}).get("resumed")]
    assert resume.type == EventType.status and resume.data
    assert resume.data["from_checkpoint"] is True
    assert resume.text and "restarted" in resume.text and "step reason runs again" in resume.text
    # The analytic steps finished before the kill are not run again; "reason" is.
    after_resume = events[events.index(resume) :]
    rerun = [e.step for e in after_resume if e.type == EventType.step_start]
    assert rerun[0] == "reason" and "load_data" not in rerun and "round_trips" not in rerun
    assert events[-1].data == {"state": "completed"}


async def test_question_outlives_an_agent_restart_and_the_answer_resumes_the_graph(
    demo: Demo, start_agent, connect
) -> None:
    agent = start_agent("wash-trade")
    client, _ = await connect(agent, "1.0")
    asked = await stream(client.send_message(investigate(demo.first("wash_trade", "needs_review"))))
    assert asked.states[-1] == TaskState.TASK_STATE_INPUT_REQUIRED

    kill_process(agent.proc)  # kill -9 while the question waits for the analyst
    restarted = start_agent(agent)

    client, _ = await connect(restarted, "1.0")
    paused = await client.get_task(GetTaskRequest(id=asked.task_id))
    assert paused.status.state == TaskState.TASK_STATE_INPUT_REQUIRED  # not resumed: it waits
    answer = answer_message("yes", task_id=asked.task_id, context_id=asked.context_id)
    resumed = await stream(client.send_message(SendMessageRequest(message=answer)))

    assert resumed.states[-1] == TaskState.TASK_STATE_COMPLETED
    (finding,) = resumed.findings
    assert finding.needs_review is False  # the graph read the answer where it had asked
    assert contiguous(asked.seqs + resumed.seqs)
    starts = [e.step for e in resumed.events if e.type == EventType.step_start]
    assert "load_data" not in starts  # it went on from its checkpoint, not from the start
    assert await logged(restarted, asked.task_id) == asked.events + resumed.events
