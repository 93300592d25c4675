"""Durable investigations against an OpenAI-compatible endpoint that misbehaves.

The stack (Temporal dev server, both agents, the worker) talks real HTTP to the
project's test LLM server, which this test process runs and scripts: a rate limit in
the middle of an investigation, a dropped stream, a revoked key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from agents.agent_auth import client_token
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, Determination
from surveil.settings import Settings
from surveil.store import Store
from surveil.tasks import TaskSnapshot
from tests.support.investigations import client_for, duplicated_relays, terminal
from tests.support.openai_server import OpenAICompatibleServer
from tests.support.stack import Stack
from workflows.client import events, start_investigation
from workflows.investigation import SNAPSHOT_QUERY

WASH = "ALR-007-01"  # triage sends it to the wash-trade specialist
REPLY = "The computed evidence supports the disposition; see the checks above."


@pytest.fixture(scope="module")
def llm() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(reply=REPLY, token_delay_s=0.01) as server:
        yield server


@pytest.fixture(scope="module")
def llm_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: OpenAICompatibleServer
) -> Iterator[Stack]:
    with Stack(
        Path(tmp_path_factory.mktemp("llm-stack")),
        env_overrides={
            "OPENAI_API_KEY": llm.api_key,
            "OPENAI_BASE_URL": llm.base_url,
            "SURVEIL_LLM_BACKOFF_INITIAL_S": "0.2",
            "SURVEIL_LLM_REQUEST_TIMEOUT_S": "10",
        },
    ).running(api=False) as stack:
        yield stack


def fresh_alert(stack: Stack) -> Alert:
    found = Store(stack.home / "surveil.db").get_alert(WASH)
    assert found is not None
    return found.model_copy(update={"tenant": f"t{uuid.uuid4().hex[:8]}"})


async def investigate(stack: Stack) -> tuple[list[tuple[int, ProgressEvent]], str]:
    client = await client_for(stack)
    handle = await start_investigation(client, fresh_alert(stack))
    cooldown = timedelta(milliseconds=50)
    items = [item async for item in events(client, handle.id, 0, poll_interval=cooldown)]
    return items, handle.id


def determination(items: list[tuple[int, ProgressEvent]]) -> Determination:
    final = terminal(items)
    assert final.data is not None and final.data["state"] == "completed", final
    return Determination.model_validate(final.data["determination"])


def once_each(items: list[tuple[int, ProgressEvent]]) -> None:
    assert [offset for offset, _ in items] == list(range(len(items)))
    assert duplicated_relays(items) == []


async def test_usage_per_investigation_matches_the_servers_count(
    llm_stack: Stack, llm: OpenAICompatibleServer
) -> None:
    before = (llm.counts.prompt_tokens, llm.counts.completion_tokens, llm.counts.requests)
    items, workflow_id = await investigate(llm_stack)
    determination(items)
    client = await client_for(llm_stack)
    snapshot = await client.get_workflow_handle(workflow_id).query(
        SNAPSHOT_QUERY, result_type=TaskSnapshot
    )
    assert snapshot.usage is not None
    # triage, the wash-trade summary, synthesis: three answers, every token counted.
    assert snapshot.usage.requests == llm.counts.requests - before[2] == 3
    assert (snapshot.usage.prompt_tokens, snapshot.usage.completion_tokens) == (
        llm.counts.prompt_tokens - before[0],
        llm.counts.completion_tokens - before[1],
    )
    by_agent = {agent.agent: agent.usage for agent in snapshot.agents}
    wash = by_agent["wash_trade"]
    assert wash is not None and wash.requests == 1
    # The wash-trade agent's Prometheus counters, by model and tenant, say the same.
    tenant = snapshot.alert.tenant
    token = client_token(Settings(_env_file=None, home=llm_stack.home))
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        text = (await http.get(f"http://127.0.0.1:{llm_stack.wash_port}/metrics")).text
    labels = f'kind="completion",model="gpt-4o-mini",tenant="{tenant}"'
    assert f"surveil_llm_tokens_total{{{labels}}} {float(wash.completion_tokens)}" in text


async def test_rate_limit_mid_investigation_is_ridden_out_with_the_same_determination(
    llm_stack: Stack, llm: OpenAICompatibleServer
) -> None:
    undisturbed, _ = await investigate(llm_stack)
    rejections = llm.counts.rejections
    # The specialist's summary, mid-investigation, is refused three times (Retry-After 1 s).
    llm.fail_next(3, "429", retry_after=1, matching='"task": "specialist"')
    items, _ = await investigate(llm_stack)
    once_each(items)
    assert llm.counts.rejections == rejections + 3
    waits = [e for _, e in items if (e.data or {}).get("llm_wait")]
    assert [(e.agent, e.step) for e in waits] == [("wash_trade", "reason")] * 3
    assert all(
        (e.text or "").startswith("waiting for the LLM: rate limited (429), next try in")
        for e in waits
    )
    got, expected = determination(items), determination(undisturbed)
    assert got.model_dump(exclude={"alert_id"}) == expected.model_dump(exclude={"alert_id"})


async def test_a_dropped_stream_restarts_that_step_cleanly(
    llm_stack: Stack, llm: OpenAICompatibleServer
) -> None:
    llm.fail_next(1, "disconnect", matching='"task": "specialist"')  # the wash-trade summary
    items, _ = await investigate(llm_stack)
    once_each(items)
    restarts = [
        e for _, e in items if e.type == EventType.step_start and (e.data or {}).get("restart")
    ]
    assert [(e.agent, e.step) for e in restarts] == [("wash_trade", "reason")]
    # What a viewer shows for the step: the text after the restart, the full answer once.
    after = items[[e for _, e in items].index(restarts[0]) + 1 :]
    shown = "".join(
        e.text or ""
        for _, e in after
        if e.type == EventType.message_delta and e.agent == "wash_trade" and e.step == "reason"
    )
    assert shown.startswith(REPLY) and shown.count(REPLY) == 1
    determination(items)


async def test_a_rejected_key_fails_within_seconds_naming_openai_api_key(
    llm_stack: Stack, llm: OpenAICompatibleServer
) -> None:
    key, refused = llm.api_key, llm.counts.errors[401]
    llm.api_key = "revoked"
    try:
        items, _ = await investigate(llm_stack)
    finally:
        llm.api_key = key
    final = terminal(items)
    assert final.data is not None and final.data["state"] == "failed"
    assert "OPENAI_API_KEY" in final.data["error"]
    elapsed = final.timestamp - items[0][1].timestamp
    assert elapsed < timedelta(seconds=15)
    assert llm.counts.errors[401] == refused + 1  # asked once: a retry would be refused too
