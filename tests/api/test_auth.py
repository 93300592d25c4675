"""Tenancy and tokens: another tenant's alert does not exist, on every route."""

from __future__ import annotations

import time

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import CancelTaskRequest, GetTaskRequest, SubscribeToTaskRequest
from a2a.utils.errors import TaskNotFoundError
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from api.auth import InvalidTokenConfig, Principal, StreamTokens, TokenRegistry, parse_tokens
from surveil.cases import Role
from surveil.models import Alert
from surveil.settings import Settings
from tests.api.conftest import TOKEN_B, bearer, fresh_alert, problem, read_sse, submit
from workflows.client import connect, investigation_input
from workflows.investigation import workflow_id_for


async def assert_not_found_on_every_route(client: httpx.AsyncClient, base: str) -> None:
    """Every REST and SSE route of the alert at `base` answers 404 (a problem document)
    to `client`, whose tenant does not own it: reads, actions and the report alike."""
    for method, path, body in [
        ("GET", base, None),
        ("GET", f"{base}/events", None),
        ("GET", f"{base}/events?after=0", None),
        ("POST", f"{base}/cancel", {"reason": "not mine"}),
        ("POST", f"{base}/answer", {"agent": "wash_trade", "text": "yes"}),
        ("POST", f"{base}/retry", None),
        ("POST", f"{base}/stream-token", None),
        ("POST", f"{base}/assign", None),
        ("POST", f"{base}/decision", {"verdict": "escalate", "comment": "not mine"}),
        ("POST", f"{base}/approval", None),
        ("GET", f"{base}/report.html", None),
        ("GET", f"{base}/case", None),
        ("GET", f"{base}/audit", None),
    ]:
        response = await client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        problem(response)


async def test_another_tenants_alert_is_404_on_every_rest_and_sse_route(
    api, other, demo_alerts
) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    await assert_not_found_on_every_route(other, accepted["links"]["self"])
    listed = (await other.get("/api/alerts")).json()["items"]
    assert accepted["id"] not in [i["id"] for i in listed]
    # Stored alerts belong to tenant demo: invisible and unsubmittable for "other".
    assert (await other.get("/api/demo-alerts")).json() == []
    assert (await other.post("/api/alerts", json={"id": demo_alerts[0]["id"]})).status_code == 404
    await read_sse(api, accepted["links"]["events"])


async def test_another_tenants_task_is_not_found_over_a2a(stack, api, demo_alerts) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    async with httpx.AsyncClient(headers=bearer(TOKEN_B), timeout=60) as http:
        card = await A2ACardResolver(http, stack.api_url()).get_agent_card()
        client = ClientFactory(ClientConfig(httpx_client=http)).create(card)
        for call in (
            lambda: client.get_task(GetTaskRequest(id=accepted["id"])),
            lambda: client.cancel_task(CancelTaskRequest(id=accepted["id"])),
        ):
            try:
                await call()
            except TaskNotFoundError:
                pass
            else:
                raise AssertionError("another tenant's task was visible")
        try:
            async for _ in client.subscribe(SubscribeToTaskRequest(id=accepted["id"])):
                raise AssertionError("another tenant's task streamed")
        except TaskNotFoundError:
            pass
        await client.close()


async def test_requests_without_a_valid_token_are_401(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url()) as anonymous:
        for method, path in [("GET", "/api/alerts"), ("POST", "/api/alerts"), ("GET", "/api/me"),
                             ("GET", "/api/alerts/x/events"), ("POST", "/a2a")]:  # fmt: skip
            response = await anonymous.request(method, path, headers=bearer("wrong"))
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_stream_token_is_401(stack, api, demo_alerts) -> None:
    accepted = await submit(api, fresh_alert(demo_alerts))
    # Minted with the stack's secret an hour ago: as any API process would have.
    tokens = StreamTokens(b"test-stream-secret", ttl_s=60)
    token, _ = tokens.mint("demo", accepted["id"], now=time.time() - 3600)
    async with httpx.AsyncClient(base_url=stack.api_url()) as browser:
        response = await browser.get(accepted["links"]["events"], params={"token": token})
        assert response.status_code == 401 and "expired" in problem(response)["detail"]
        fresh, _ = tokens.mint("demo", accepted["id"])
        assert (
            await browser.get(accepted["links"]["events"], params={"token": fresh, "after": "0"})
        ).status_code == 200
    await read_sse(api, accepted["links"]["events"])


def test_tokens_never_reach_the_logs(stack) -> None:
    logs = stack.children["api"].log.read_text()
    assert "tenant-a-token" not in logs and "tenant-b-token" not in logs
    assert "token=" not in logs


def test_dev_token_is_created_once_and_kept_in_surveil_home(tmp_path) -> None:
    first = TokenRegistry.from_settings(Settings(home=tmp_path))
    second = TokenRegistry.from_settings(Settings(home=tmp_path))
    assert first.dev_mode and first.dev_token == second.dev_token
    assert (tmp_path / "dev-token").read_text().strip() == first.dev_token
    assert first.tenant_for(first.dev_token) == "demo" and first.tenant_for("guess") is None
    # The dev token is an analyst.
    assert first.principal_for(first.dev_token) == Principal("demo", "dev", Role.analyst)


def test_tokens_name_a_person_with_a_role_and_old_tenant_only_tokens_still_work() -> None:
    tokens = parse_tokens(
        "a:demo:alice:analyst, s:demo:sam:supervisor, v:demo:vic:viewer, b:other,"
    )
    assert tokens == {
        "a": Principal("demo", "alice", Role.analyst),
        "s": Principal("demo", "sam", Role.supervisor),
        "v": Principal("demo", "vic", Role.viewer),
        "b": Principal("other", "other-analyst", Role.analyst),  # the older 'token:tenant' form
    }


def test_malformed_token_config_is_refused() -> None:
    with pytest.raises(InvalidTokenConfig):
        parse_tokens("just-a-token")
    with pytest.raises(InvalidTokenConfig):
        parse_tokens(":demo:alice:analyst")


def test_api_processes_starting_together_agree_on_one_dev_token(tmp_path) -> None:
    """Regression: two processes creating the dev token at once got different tokens."""
    import subprocess
    import sys

    code = "import sys; from pathlib import Path; from api.auth import dev_token; print(dev_token(Path(sys.argv[1])))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    tokens = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(tokens) == 1
    assert tokens == {(tmp_path / "dev-token").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["dev-token"]  # no candidate left behind


async def test_a_workflow_whose_id_names_one_tenant_but_belongs_to_another_is_not_found(
    stack, api, other, demo_alerts
) -> None:
    """Ids made before tenant names were validated could collide across tenants (issue
    14): every read and action checks the run's Tenant, not just its id."""
    settings = Settings(temporal_address=stack.temporal_address)
    alert = Alert.model_validate({**fresh_alert(demo_alerts), "tenant": "demo"})
    client = await connect(settings)
    handle = await client.start_workflow(
        "AlertInvestigationWorkflow", investigation_input(alert, settings),
        id=workflow_id_for("other", alert.id),  # claimed under other's id, owned by demo
        task_queue=settings.temporal_task_queue,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(SearchAttributeKey.for_keyword("Tenant"), "demo")]
        ),
    )  # fmt: skip
    try:
        await assert_not_found_on_every_route(other, f"/api/alerts/{alert.id}")
        rpc = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": alert.id}}
        answer = await other.post("/a2a", json=rpc, headers={"A2A-Version": "1.0"})
        assert answer.json()["error"]["code"] == -32001  # TaskNotFound
        # Submitting that id as "other" does not attach to demo's run either.
        taken = await other.post("/api/alerts", json={**fresh_alert(demo_alerts), "id": alert.id})
        assert taken.status_code == 409, taken.text
    finally:
        await handle.terminate("test over")


async def test_a_huge_text_message_is_answered_at_once_without_stalling_the_api(stack, api) -> None:
    """Issue 14: the façade opened the store once per word of the text, on the event
    loop (20 KB of words blocked every stream of the process for 10 s)."""
    words = " ".join(f"W{i:06d}" for i in range(28_000))  # ~224 KB, under the body limit
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "huge", "role": "ROLE_USER", "parts": [{"text": words}]}}}  # fmt: skip
    started = time.monotonic()
    answer = await api.post("/a2a", json=rpc, headers={"A2A-Version": "1.0"}, timeout=120)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert elapsed < 10, f"took {elapsed:.1f}s"  # before the fix: minutes
