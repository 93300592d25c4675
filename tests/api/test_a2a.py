"""The A2A façade, driven by the official a2a-sdk client in protocol 1.0 and 0.3."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from a2a.client import ClientCallContext
from a2a.helpers.proto_helpers import get_data_parts, new_data_part
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
from a2a.utils.errors import (
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from tests.api.conftest import TOKEN_A, TOKEN_B, bearer, fresh_alert
from tests.support.a2a_client import A2AConnections, SseIds

PROTOCOLS = ["1.0", "0.3"]


@pytest.fixture
async def connect(stack) -> AsyncIterator:
    """`await connect(protocol[, transport])` -> (a2a Client of the API's façade, the
    methods it sent)."""
    async with A2AConnections(headers=bearer(TOKEN_A)) as connections:
        yield lambda protocol, transport=None: connections.open(
            stack.api_url(), protocol, transport
        )


def rpc(method: str, params: dict, version: str = "1.0") -> tuple[dict, dict]:
    """(JSON-RPC body, headers) of one raw call, as a generic client sends it."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return body, {**bearer(TOKEN_A), "A2A-Version": version}


def alert_message(alert: dict) -> Message:
    return Message(
        message_id=f"m-{alert['id']}", role=Role.ROLE_USER, parts=[new_data_part({"alert": alert})]
    )


@dataclass
class Seen:
    offsets: list[int] = field(default_factory=list)
    states: list[int] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    task_id: str = ""

    def take(self, response: StreamResponse) -> None:
        if response.HasField("task"):
            self.task_id = response.task.id
        elif response.HasField("status_update"):
            offset = response.status_update.metadata["offset"]
            assert isinstance(offset, str) and offset.isdigit(), offset  # never 30.0
            self.offsets.append(int(offset))
            self.states.append(response.status_update.status.state)
            self.message_ids.append(response.status_update.status.message.message_id)
        elif response.HasField("artifact_update"):
            self.artifacts.append(response.artifact_update.artifact.name)


async def test_agent_card_advertises_streaming_and_the_investigate_skill(stack) -> None:
    async with httpx.AsyncClient() as http:
        card = (await http.get(f"{stack.api_url()}/.well-known/agent-card.json")).json()
    assert card["capabilities"]["streaming"] is True
    assert [s["name"] for s in card["skills"]] == ["investigate alert"]
    assert {i["protocolVersion"] for i in card["supportedInterfaces"]} == {"1.0", "0.3"}
    assert card["url"] == f"{stack.api_url()}/a2a"  # the 0.3 field


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streaming_send_then_resubscribe_after_a_drop_loses_nothing(
    connect, demo_alerts, protocol
) -> None:
    """The official client drops a stream, then resumes with Last-Event-ID set to the
    last SSE `id:` it received: no gap, no repeat (issue 14)."""
    sse = SseIds()
    client, recorded = await connect(protocol, sse)
    alert = fresh_alert(demo_alerts)
    first = Seen()
    async for response in client.send_message(SendMessageRequest(message=alert_message(alert))):
        first.take(response)
        if len(first.offsets) == 15:
            break  # the connection drops
    assert first.task_id == alert["id"]
    assert first.offsets == list(range(15))
    # Each status update's frame carried its offset as the SSE id (the transport may
    # have read a few frames past the 15th before the drop: those were never delivered).
    assert sse.ids[:15] == [str(o) for o in first.offsets]
    last_id_seen = sse.ids[len(first.offsets) - 1]

    resumed = Seen()
    context = ClientCallContext(service_parameters={"Last-Event-ID": last_id_seen})
    async for response in client.subscribe(SubscribeToTaskRequest(id=alert["id"]), context=context):
        resumed.take(response)
    offsets = first.offsets + resumed.offsets
    assert offsets == list(range(len(offsets)))
    message_ids = first.message_ids + resumed.message_ids
    assert message_ids == [f"{alert['id']}-{o}" for o in offsets]  # unique, from the offset
    assert resumed.states[-1] == TaskState.TASK_STATE_COMPLETED
    assert "determination" in resumed.artifacts

    task = await client.get_task(GetTaskRequest(id=alert["id"]))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    names = [a.name for a in task.artifacts]
    assert "finding" in names and "determination" in names
    determination = get_data_parts(task.artifacts[names.index("determination")].parts)[0]
    assert determination["alert_id"] == alert["id"]
    expected = ("SendStreamingMessage", "SubscribeToTask", "GetTask") if protocol == "1.0" else (
        "message/stream", "tasks/resubscribe", "tasks/get")  # fmt: skip
    assert tuple(recorded.methods) == expected


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_cancel_and_its_errors(connect, demo_alerts, protocol) -> None:
    client, _ = await connect(protocol)
    alert = fresh_alert(demo_alerts, "insider_trading")
    sent = await client.send_message(SendMessageRequest(message=alert_message(alert))).__anext__()
    assert sent.task.id == alert["id"]
    try:
        canceled = await client.cancel_task(CancelTaskRequest(id=alert["id"]))
        assert canceled.status.state in (
            TaskState.TASK_STATE_CANCELED,
            TaskState.TASK_STATE_COMPLETED,
        )
    except TaskNotCancelableError:  # it finished before the cancel arrived
        pass
    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=alert["id"]))  # now terminal
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="NO-SUCH-TASK"))


async def test_text_naming_a_stored_alert_starts_it_and_hello_gets_a_useful_answer(
    stack, demo_alerts
) -> None:
    rpc = f"{stack.api_url()}/a2a"
    headers = {**bearer(TOKEN_A), "A2A-Version": "1.0"}
    stored = next(a for a in demo_alerts if a["type"] == "unknown")
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": f"please investigate {stored['id']}"}]}}}  # fmt: skip
    async with httpx.AsyncClient(timeout=60) as http:
        sent = (await http.post(rpc, json=body, headers=headers)).json()
        assert sent["result"]["task"]["id"] == stored["id"]
        body["params"]["message"]["parts"] = [{"text": "hello"}]
        hello = (await http.post(rpc, json=body, headers=headers)).json()
        asked = hello["result"]["task"]  # a Task asking which alert, not -32602 (issue 14)
        assert asked["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
        assert "data part" in asked["status"]["message"]["parts"][0]["text"]
        garbage = await http.post(rpc, content=b"{nope", headers=headers)
        assert garbage.json()["error"]["code"] == -32700
        bad_resume = {"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": "NOPE"}}
        assert (await http.post(rpc, json=bad_resume, headers=headers)).json()["error"][
            "code"
        ] == -32001


def text(task_id: str, words: str, message_id: str, **fields: str) -> Message:
    return Message(message_id=message_id, role=Role.ROLE_USER, task_id=task_id,
                   parts=[Part(text=words)], **fields)  # fmt: skip


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_message_naming_no_alert_gets_a_task_asking_which_alert(
    stack, second_api, connect, protocol
) -> None:
    """Issue 14: "hello" is a conversation that needs input, not an error and not a
    finished task: INPUT_REQUIRED, asking which alert; replies that name none keep it
    waiting and go into its history; another API process serves it; another tenant
    does not find it; a subscriber sees its cancel; cancel ends it for good."""
    client, _ = await connect(protocol)
    answers = [
        r async for r in client.send_message(SendMessageRequest(message=text("", "hello", "hi-1")))
    ]
    assert [r.WhichOneof("payload") for r in answers] == ["task"]
    asked = answers[0].task
    assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    question = asked.status.message.parts[0].text
    assert question.startswith("Which alert should I investigate?")
    assert "ALR-1001" in question and "data part" in question
    assert [m.message_id for m in asked.history] == ["hi-1"]

    # A reply that names no alert, through a second API process: still waiting, history grows.
    async with A2AConnections(headers=bearer(TOKEN_A)) as elsewhere:
        second, _ = await elsewhere.open(stack.api_url("api-a2a-second"), protocol)
        reply = text(asked.id, "what can you do?", "hi-2")
        again = [r async for r in second.send_message(SendMessageRequest(message=reply))]
        assert again[0].task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        assert again[0].task.status.message.parts[0].text.startswith("That names no alert")
        read = await client.get_task(GetTaskRequest(id=asked.id))
        assert [(m.role, m.message_id) for m in read.history] == [
            (Role.ROLE_USER, "hi-1"), (Role.ROLE_AGENT, f"{asked.id}-1"), (Role.ROLE_USER, "hi-2"),
        ]  # fmt: skip
        last = await second.get_task(GetTaskRequest(id=asked.id, history_length=1))
        assert [m.message_id for m in last.history] == ["hi-2"]
        with pytest.raises(InvalidParamsError):
            wrong = text(asked.id, "hello", "hi-3", context_id="another-context")
            await client.send_message(SendMessageRequest(message=wrong)).__anext__()

    async with A2AConnections(headers=bearer(TOKEN_B)) as others:
        other, _ = await others.open(stack.api_url(), protocol)
        with pytest.raises(TaskNotFoundError):
            await other.get_task(GetTaskRequest(id=asked.id))
        with pytest.raises(TaskNotFoundError):
            await other.cancel_task(CancelTaskRequest(id=asked.id))

    subscription = client.subscribe(SubscribeToTaskRequest(id=asked.id))
    first = await subscription.__anext__()
    assert first.task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    canceled = await client.cancel_task(CancelTaskRequest(id=asked.id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert "Canceled by" in canceled.status.message.parts[0].text
    seen = [r async for r in subscription]
    assert [r.status_update.status.state for r in seen] == [TaskState.TASK_STATE_CANCELED]

    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=asked.id))
    with pytest.raises(UnsupportedOperationError):
        async for _ in client.subscribe(SubscribeToTaskRequest(id=asked.id)):
            pass
    with pytest.raises(UnsupportedOperationError):
        late = text(asked.id, "investigate ALR-1001", "hi-4")
        await client.send_message(SendMessageRequest(message=late)).__anext__()


@pytest.fixture
def second_api(stack):
    stack.start_api("api-a2a-second")
    yield
    stack.stop("api-a2a-second")


async def test_a_reply_naming_an_alert_starts_its_investigation_and_says_where(
    connect, demo_alerts
) -> None:
    client, _ = await connect("1.0")
    hello = SendMessageRequest(message=text("", "hello", "hello-then-alert"))
    asked = await client.send_message(hello).__anext__()
    alert = fresh_alert(demo_alerts)
    reply = alert_message(alert)
    reply.task_id = asked.task.id
    done = (await client.send_message(SendMessageRequest(message=reply)).__anext__()).task
    assert done.id == asked.task.id
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert list(done.status.message.reference_task_ids) == [alert["id"]]
    assert get_data_parts(done.status.message.parts) == [{"investigation_task_id": alert["id"]}]
    investigation = await client.get_task(GetTaskRequest(id=alert["id"]))
    assert investigation.id == alert["id"]
    assert investigation.history[0].message_id == f"m-{alert['id']}"


async def test_conformance_details_of_the_jsonrpc_endpoint(stack, api, demo_alerts) -> None:
    """Issue 14: /a2a/ answered 405; a file part answered -32602; the card had no
    caching headers; Last-Event-ID "0.0" was refused."""
    alert = fresh_alert(demo_alerts)
    body, headers = rpc("SendMessage", {"message": {
        "messageId": f"m-{alert['id']}", "role": "ROLE_USER", "parts": [{"data": alert}]}})  # fmt: skip
    sent = await api.post("/a2a/", json=body, headers=headers)  # trailing slash
    assert sent.json()["result"]["task"]["id"] == alert["id"], sent.text

    image = {"raw": "iVBORw0KGgo=", "mediaType": "image/png", "filename": "chart.png"}
    body, headers = rpc("SendMessage", {"message": {
        "messageId": "img", "role": "ROLE_USER", "parts": [image]}})  # fmt: skip
    refused = (await api.post("/a2a", json=body, headers=headers)).json()
    assert refused["error"]["code"] == -32005, refused  # ContentTypeNotSupported
    as_text = await api.post(
        "/a2a", content=str(body).encode(), headers={**headers, "Content-Type": "text/plain"}
    )
    assert as_text.json()["error"]["code"] == -32005, as_text.text  # the HTTP media type too

    card = await api.get("/.well-known/agent-card.json")
    assert card.headers["cache-control"] == "public, max-age=300" and card.headers["etag"]
    again = await api.get(
        "/.well-known/agent-card.json", headers={"If-None-Match": card.headers["etag"]}
    )
    assert again.status_code == 304

    body, headers = rpc("SubscribeToTask", {"id": alert["id"]})
    async with api.stream("POST", "/a2a", json=body,
                          headers={**headers, "Last-Event-ID": "0.0"}) as resumed:  # fmt: skip
        assert resumed.headers["content-type"].startswith("text/event-stream")
        lines = []
        async for line in resumed.aiter_lines():
            lines.append(line)
            if line.startswith("id:"):
                break
    assert lines[-1] == "id: 1", lines  # a float-looking id resumes after 0


async def test_an_alert_data_part_is_validated_like_post_api_alerts(api, demo_alerts) -> None:
    alert = {**fresh_alert(demo_alerts), "window_end": "2020-01-01T00:00:00Z"}
    body, headers = rpc("SendMessage", {"message": {
        "messageId": "bad-window", "role": "ROLE_USER", "parts": [{"data": alert}]}})  # fmt: skip
    invalid = (await api.post("/a2a", json=body, headers=headers)).json()
    assert invalid["error"]["code"] == -32602 and "window_end" in invalid["error"]["message"]
    # Without an id, the messageId is the idempotency key: a resent message attaches.
    no_id = {k: v for k, v in fresh_alert(demo_alerts).items() if k != "id"}
    body, headers = rpc("SendMessage", {"message": {
        "messageId": f"resend-{uuid.uuid4().hex}", "role": "ROLE_USER",
        "parts": [{"data": no_id}]}})  # fmt: skip
    first = (await api.post("/a2a", json=body, headers=headers)).json()["result"]["task"]
    second = (await api.post("/a2a", json=body, headers=headers)).json()["result"]["task"]
    assert first["id"] == second["id"] and first["id"].startswith("idem-")
    await api.post(f"/api/alerts/{first['id']}/cancel", json={"reason": "test over"})


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_history_holds_the_users_message_and_honours_history_length(
    connect, demo_alerts, protocol
) -> None:
    client, _ = await connect(protocol)
    alert = fresh_alert(demo_alerts, "insider_trading")
    message = alert_message(alert)
    await client.send_message(SendMessageRequest(message=message)).__anext__()
    task = await client.get_task(GetTaskRequest(id=alert["id"]))
    assert [m.message_id for m in task.history] == [message.message_id]
    assert task.history[0].role == Role.ROLE_USER
    assert get_data_parts(task.history[0].parts)[0]["alert"]["id"] == alert["id"]
    if protocol == "1.0":  # a2a-sdk's 0.3 adapter reads historyLength 0 as "not given"
        none = await client.get_task(GetTaskRequest(id=alert["id"], history_length=0))
        assert list(none.history) == []
    # Clean up; the investigation may well have finished by now.
    with contextlib.suppress(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=alert["id"]))


async def test_list_tasks_shows_canceled_tasks_and_counts_them_all(api, demo_alerts) -> None:
    """Issue 14: canceled tasks were listed as COMPLETED; totalSize counted the page."""
    alert = fresh_alert(demo_alerts, "insider_trading")
    body, headers = rpc("SendMessage", {"message": {
        "messageId": f"m-{alert['id']}", "role": "ROLE_USER", "parts": [{"data": alert}]}})  # fmt: skip
    await api.post("/a2a", json=body, headers=headers)
    body, headers = rpc("CancelTask", {"id": alert["id"]})
    canceled = (await api.post("/a2a", json=body, headers=headers)).json()["result"]
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"

    body, headers = rpc("ListTasks", {"status": "TASK_STATE_CANCELED", "pageSize": 200})
    for _ in range(100):  # visibility is eventually consistent: wait for the close to show
        listed = (await api.post("/a2a", json=body, headers=headers)).json()["result"]
        if alert["id"] in [t["id"] for t in listed.get("tasks", [])]:
            break
        await asyncio.sleep(0.1)
    states = {t["status"]["state"] for t in listed["tasks"]}
    assert alert["id"] in [t["id"] for t in listed["tasks"]] and states == {"TASK_STATE_CANCELED"}
    rest = (await api.get("/api/alerts", params={"status": "canceled", "page_size": 200})).json()
    assert alert["id"] in [i["id"] for i in rest["items"]]
    assert {i["status"] for i in rest["items"]} == {"canceled"}

    body, headers = rpc("ListTasks", {"pageSize": 1})
    page = (await api.post("/a2a", json=body, headers=headers)).json()["result"]
    assert len(page["tasks"]) == 1 and page["totalSize"] > 1  # the total, not the page


ASKS_ANALYST = "ALR-007-12"  # the wash-trade specialist asks about common control
FINAL_STATES = {TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED,
                TaskState.TASK_STATE_CANCELED}  # fmt: skip


async def test_a_subscriber_reads_through_a_canceled_run_into_its_retry(
    api, connect, demo_alerts
) -> None:
    """A run's end that a retry followed is not the task's end: an A2A client reading
    through it sees it as WORKING (its message still says the run was canceled) and only
    the last run's end as final."""
    client, _ = await connect("1.0")
    alert = fresh_alert(demo_alerts)
    alert.update({k: v for k, v in next(a for a in demo_alerts if a["id"] == ASKS_ANALYST).items()
                  if k not in ("id", "tenant")})  # fmt: skip
    sent = client.send_message(SendMessageRequest(message=alert_message(alert)))
    async for response in sent:
        if response.status_update.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            break
    await sent.aclose()
    canceled = await client.cancel_task(CancelTaskRequest(id=alert["id"]))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert (await api.post(f"/api/alerts/{alert['id']}/retry")).status_code == 202

    states: list[int] = []
    run_ends: list[tuple[int, str]] = []
    async for response in client.subscribe(SubscribeToTaskRequest(id=alert["id"])):
        if not response.HasField("status_update"):
            continue
        status = response.status_update.status
        states.append(status.state)
        event = get_data_parts(status.message.parts)[0]
        if (
            event["agent"] == "orchestrator"
            and event["type"] == "status"
            and event.get("data", {}).get("state") in ("canceled", "completed")
        ):  # a run's end
            run_ends.append((status.state, event["data"]["state"]))
        if status.state == TaskState.TASK_STATE_INPUT_REQUIRED and run_ends:  # asked again
            answer = text(alert["id"], "no", f"answer-{len(states)}")
            await client.send_message(SendMessageRequest(message=answer)).__anext__()
    assert run_ends == [
        (TaskState.TASK_STATE_WORKING, "canceled"), (TaskState.TASK_STATE_COMPLETED, "completed")
    ]  # fmt: skip
    assert [s for s in states if s in FINAL_STATES] == [TaskState.TASK_STATE_COMPLETED]
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
