"""The A2A façade, driven by the official a2a-sdk client in protocol 1.0 and 0.3."""

from __future__ import annotations

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
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError

from tests.api.conftest import TOKEN_A, bearer, fresh_alert
from tests.support.a2a_client import A2AConnections

PROTOCOLS = ["1.0", "0.3"]


@pytest.fixture
async def connect(stack) -> AsyncIterator:
    """`await connect(protocol)` -> (a2a Client of the API's façade, the methods it sent)."""
    async with A2AConnections(headers=bearer(TOKEN_A)) as connections:
        yield lambda protocol: connections.open(stack.api_url(), protocol)


def alert_message(alert: dict) -> Message:
    return Message(
        message_id=f"m-{alert['id']}", role=Role.ROLE_USER, parts=[new_data_part({"alert": alert})]
    )


@dataclass
class Seen:
    offsets: list[int] = field(default_factory=list)
    states: list[int] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    task_id: str = ""

    def take(self, response: StreamResponse) -> None:
        if response.HasField("task"):
            self.task_id = response.task.id
        elif response.HasField("status_update"):
            self.offsets.append(int(response.status_update.metadata["offset"]))
            self.states.append(response.status_update.status.state)
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
    client, recorded = await connect(protocol)
    alert = fresh_alert(demo_alerts)
    first = Seen()
    async for response in client.send_message(SendMessageRequest(message=alert_message(alert))):
        first.take(response)
        if len(first.offsets) == 15:
            break  # the connection drops
    assert first.task_id == alert["id"]
    assert first.offsets == list(range(15))

    resumed = Seen()
    context = ClientCallContext(service_parameters={"Last-Event-ID": str(first.offsets[-1])})
    async for response in client.subscribe(SubscribeToTaskRequest(id=alert["id"]), context=context):
        resumed.take(response)
    offsets = first.offsets + resumed.offsets
    assert offsets == list(range(len(offsets)))
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


async def test_text_naming_a_stored_alert_starts_it_and_nonsense_is_invalid_params(
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
        invalid = (await http.post(rpc, json=body, headers=headers)).json()
        assert invalid["error"]["code"] == -32602
        garbage = await http.post(rpc, content=b"{nope", headers=headers)
        assert garbage.json()["error"]["code"] == -32700
        bad_resume = {"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": "NOPE"}}
        assert (await http.post(rpc, json=bad_resume, headers=headers)).json()["error"][
            "code"
        ] == -32001
