"""People and decisions: roles, ownership, the mandatory comment, four-eyes, the audit trail.

Real stack; the case lives in its Temporal workflow, so every assertion about the
trail reads what Temporal holds.
"""

from __future__ import annotations

import hashlib
import html
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pypdf
import pytest

from surveil.usage import LLMUsage, describe_usage
from tests.api.conftest import fresh_alert, problem, read_sse, submit
from tests.support.api_client import api_client, bearer
from tests.support.stack import Stack

BOB, SAM, VIC = "tenant-a-bob", "tenant-a-sam", "tenant-a-vic"  # analyst, supervisor, viewer


@pytest.fixture
async def people(stack: Stack) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with (
        api_client(stack, BOB) as bob,
        api_client(stack, SAM) as sam,
        api_client(stack, VIC) as vic,
    ):
        yield {"bob": bob, "sam": sam, "vic": vic}


async def finished(api: httpx.AsyncClient, demo_alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """A fresh alert investigated to the end; its snapshot."""
    accepted = await submit(api, fresh_alert(demo_alerts))
    await read_sse(api, accepted["links"]["events"])
    return (await api.get(accepted["links"]["self"])).json()


def overriding(recommendation: str) -> dict[str, Any]:
    """A decision that differs from the agents' recommendation."""
    if recommendation == "escalate":
        return {"verdict": "close", "outcome": "no_action"}
    return {"verdict": "close", "outcome": "formal_action"}


async def test_a_viewer_reads_the_case_but_cannot_act(api, people, demo_alerts) -> None:
    snapshot = await finished(api, demo_alerts)
    base = f"/api/alerts/{snapshot['id']}"
    vic = people["vic"]
    assert (await vic.get(f"{base}/audit")).status_code == 200
    assert (await vic.get("/api/me")).json()["role"] == "viewer"
    for path, body in [
        (f"{base}/decision", {"verdict": "escalate", "comment": "looks bad"}),
        (f"{base}/assign", None),
        (f"{base}/approval", None),
        (f"{base}/cancel", {"reason": "no"}),
        (f"{base}/retry", None),
        ("/api/alerts", fresh_alert(demo_alerts)),
    ]:
        response = await vic.post(path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert "viewer" in problem(response)["detail"]
    assert (await api.get(f"{base}/case")).json()["decision"] is None


async def test_a_decision_needs_ownership_and_a_comment_and_marks_an_override(
    api, people, demo_alerts
) -> None:
    snapshot = await finished(api, demo_alerts)
    base = f"/api/alerts/{snapshot['id']}"
    recommendation = snapshot["determination"]["disposition"]
    decision = {**overriding(recommendation), "comment": "Known market maker; hedging flow."}

    not_owner = await api.post(f"{base}/decision", json=decision)
    assert not_owner.status_code == 403 and "ownership" in problem(not_owner)["detail"]
    owned = await api.post(f"{base}/assign")
    assert owned.status_code == 200 and owned.json()["owner"] == "alice"
    # Bob (another analyst) may take his own cases, not hand Alice's around.
    handed = await people["bob"].post(f"{base}/assign", json={"assignee": "carol"})
    assert handed.status_code == 403

    blank = await api.post(f"{base}/decision", json={**decision, "comment": "   "})
    assert blank.status_code == 422 and "comment" in problem(blank)["detail"]
    missing = await api.post(f"{base}/decision", json={"verdict": "close", "outcome": "no_action"})
    assert missing.status_code == 422 and "comment" in problem(missing)["detail"]
    no_outcome = await api.post(f"{base}/decision", json={"verdict": "close", "comment": "ok"})
    assert no_outcome.status_code == 422 and "outcome" in problem(no_outcome)["detail"]

    decided = await api.post(f"{base}/decision", json=decision)
    assert decided.status_code == 200, decided.text
    case = decided.json()
    assert case["status"] == "closed"  # four-eyes is off on this API
    assert case["decision"]["override"] is True
    assert case["decision"]["recommendation"] == recommendation
    assert (
        case["decision"]["user"] == "alice" and case["decision"]["comment"] == decision["comment"]
    )
    again = await api.post(
        f"{base}/decision", json={"verdict": "escalate", "comment": "changed my mind"}
    )
    assert again.status_code == 409

    audit = (await api.get(f"{base}/audit")).json()
    assert [(e["action"], e["user"]) for e in audit] == [
        ("submit", "alice"), ("assign", "alice"), ("decide", "alice"),
    ]  # fmt: skip
    assert audit[2]["run"] == snapshot["run"] and audit[2]["offset"] == snapshot["last_offset"]
    assert "overriding" in audit[2]["detail"] and decision["comment"] in audit[2]["detail"]


@pytest.fixture
async def four_eyes_api(stack: Stack) -> AsyncIterator[str]:
    """A second API process on the same stack with four-eyes on."""
    stack.env_overrides["SURVEIL_FOUR_EYES"] = "true"
    try:
        stack.start_api("api-four-eyes")
    finally:
        stack.env_overrides.pop("SURVEIL_FOUR_EYES")
    try:
        yield stack.api_url("api-four-eyes")
    finally:
        stack.stop("api-four-eyes")


async def test_with_four_eyes_an_override_waits_for_a_supervisor_other_than_the_decider(
    api, demo_alerts, four_eyes_api
) -> None:
    snapshot = await finished(api, demo_alerts)
    path = f"/api/alerts/{snapshot['id']}"
    decision = {**overriding(snapshot["determination"]["disposition"]), "comment": "Override."}
    async with httpx.AsyncClient(base_url=four_eyes_api, timeout=60) as client:
        alice, bob, sam = bearer("tenant-a-token"), bearer(BOB), bearer(SAM)
        assert (await client.post(f"{path}/assign", headers=alice)).status_code == 200
        decided = await client.post(f"{path}/decision", json=decision, headers=alice)
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "awaiting_approval"
        assert decided.json()["decision"]["final"] is False

        own = await client.post(f"{path}/approval", json={"comment": "fine"}, headers=alice)
        assert own.status_code == 403, own.text
        analyst = await client.post(f"{path}/approval", headers=bob)
        assert analyst.status_code == 403 and "supervisor" in problem(analyst)["detail"]

        approved = await client.post(f"{path}/approval", json={"comment": "Agreed."}, headers=sam)
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "closed"
        assert approved.json()["decision"]["approved_by"] == "sam"
        twice = await client.post(f"{path}/approval", headers=sam)
        assert twice.status_code == 409

    audit = (await api.get(f"{path}/audit")).json()
    assert [(e["action"], e["user"], e["role"]) for e in audit] == [
        ("submit", "alice", "analyst"), ("assign", "alice", "analyst"),
        ("decide", "alice", "analyst"), ("approve", "sam", "supervisor"),
    ]  # fmt: skip


async def test_the_audit_trail_cannot_be_edited_through_the_api(api, people, demo_alerts) -> None:
    snapshot = await finished(api, demo_alerts)
    base = f"/api/alerts/{snapshot['id']}"
    assert (await people["sam"].post(f"{base}/assign", json={"assignee": "bob"})).status_code == 200
    before = (await api.get(f"{base}/audit")).json()
    assert [(e["action"], e["user"], e["detail"]) for e in before] == [
        ("submit", "alice", "investigation started"), ("assign", "sam", "assigned to bob"),
    ]  # fmt: skip
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await people["sam"].request(method, f"{base}/audit", json=[])
        assert response.status_code == 405, (method, response.text)
        response = await people["sam"].request(method, f"{base}/audit/0", json={})
        assert response.status_code in (404, 405), (method, response.text)
    assert (await api.get(f"{base}/audit")).json() == before


async def test_cancel_needs_a_reason_and_the_trail_names_who_canceled(api, demo_alerts) -> None:
    alert = fresh_alert(demo_alerts, "insider_trading")
    accepted = await submit(api, alert)
    base = accepted["links"]["self"]
    missing = await api.post(f"{base}/cancel")
    assert missing.status_code == 422
    blank = await api.post(f"{base}/cancel", json={"reason": ""})
    assert blank.status_code == 422
    response = await api.post(f"{base}/cancel", json={"reason": "Duplicate of ALR-1"})
    await read_sse(api, accepted["links"]["events"])
    audit = (await api.get(f"{base}/audit")).json()
    if response.status_code == 202:
        assert [(e["action"], e["user"], e["detail"]) for e in audit][-1] == (
            "cancel", "alice", "Duplicate of ALR-1",
        )  # fmt: skip
    else:  # it finished before the cancel reached it: nothing was canceled, nothing recorded
        assert response.status_code == 409 and [e["action"] for e in audit] == ["submit"]


async def test_the_evidence_pack_renders_the_record_as_html_and_pdf(
    api, people, demo_alerts
) -> None:
    snapshot = await finished(api, demo_alerts)
    base = f"/api/alerts/{snapshot['id']}"
    await api.post(f"{base}/assign")
    comment = "Reviewed the round trips with the desk head."
    decided = await api.post(f"{base}/decision", json={"verdict": "escalate", "comment": comment})
    assert decided.status_code == 200, decided.text
    model = snapshot["determination"]["narrative_model"]

    page = await people["vic"].get(f"{base}/report.html")  # a viewer may read the pack
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"Narrative written by the model {model}" in page.text
    assert comment in page.text and "alice (analyst)" in page.text
    # What the LLM calls used (the offline model counts its own tokens), as the snapshot says.
    usage = LLMUsage.model_validate(snapshot["usage"])
    assert usage.requests >= 3 and usage.completion_tokens > 0
    assert html.escape(describe_usage(usage, "USD")) in page.text

    response = await api.get(f"{base}/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert f"Evidence pack - alert {snapshot['id']}" in text
    assert f"Narrative written by the model {model}" in text
    assert "Recommendation of the agents" in text
    assert comment in text
    assert "alice (analyst)" in text and "decide" in text
    # The digest names the offset it covers and matches the stream the API serves.
    digest = hashlib.sha256()
    stream = await read_sse(api, f"{base}/events")
    for frame in stream.frames:
        digest.update(f"{frame.id}\n{frame.data.model_dump_json()}\n".encode())
    assert f"Last offset {snapshot['last_offset']}" in text
    assert digest.hexdigest() in text.replace(" ", "")  # a table cell may wrap the hash
    assert digest.hexdigest() in page.text


async def test_a_finished_investigation_is_rerun_from_scratch_until_a_person_decides(
    api, people, demo_alerts
) -> None:
    snapshot = await finished(api, demo_alerts)
    base = f"/api/alerts/{snapshot['id']}"
    assert (await api.post(f"{base}/rerun")).status_code == 422  # a reason is required
    assert (await people["vic"].post(f"{base}/rerun", json={"reason": "x"})).status_code == 403

    rerun = await api.post(f"{base}/rerun", json={"reason": "new trades imported"})
    assert rerun.status_code == 202, rerun.text
    assert rerun.json()["run"] == 2
    rest = await read_sse(
        api, f"{base}/events", headers={"Last-Event-ID": str(snapshot["last_offset"])}
    )
    assert rest.offsets[0] == snapshot["last_offset"] + 1  # the same stream goes on
    assert rest.frames[-1].data.data == {
        **rest.frames[-1].data.data,
        "state": "completed",
        "run": 2,
    }
    # Nothing was reused: the specialist ran again and found again.
    assert any(f.event == "finding" for f in rest.frames)
    assert (await api.get(base)).json()["run"] == 2

    audit = (await api.get(f"{base}/audit")).json()
    assert [(e["action"], e["user"], e["run"]) for e in audit] == [
        ("submit", "alice", 1), ("rerun", "alice", 2),
    ]  # fmt: skip
    assert "new trades imported" in audit[1]["detail"]

    await api.post(f"{base}/assign")
    decided = await api.post(f"{base}/decision", json={"verdict": "escalate", "comment": "ok"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["audit"][-1]["run"] == 2
    again = await api.post(f"{base}/rerun", json={"reason": "one more"})
    assert again.status_code == 409 and "decided" in problem(again)["detail"]


async def test_over_a2a_a_viewer_cannot_act_and_an_analysts_actions_are_audited(
    api, people, demo_alerts
) -> None:
    alert = fresh_alert(demo_alerts, "insider_trading")

    def send(message_id: str) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
            "messageId": message_id, "role": "ROLE_USER", "parts": [{"data": alert}]}}}  # fmt: skip

    version = {"A2A-Version": "1.0"}
    refused = (await people["vic"].post("/a2a", json=send("by-vic"), headers=version)).json()
    assert refused["error"]["code"] == -32600 and "viewer" in refused["error"]["message"]
    assert (await api.get(f"/api/alerts/{alert['id']}")).status_code == 404  # nothing started

    sent = (await api.post("/a2a", json=send("by-alice"), headers=version)).json()
    assert sent["result"]["task"]["id"] == alert["id"], sent
    cancel = {"jsonrpc": "2.0", "id": 2, "method": "CancelTask", "params": {"id": alert["id"]}}
    not_vic = (await people["vic"].post("/a2a", json=cancel, headers=version)).json()
    assert not_vic["error"]["code"] == -32600
    by_bob = (await people["bob"].post("/a2a", json=cancel, headers=version)).json()
    await read_sse(api, f"/api/alerts/{alert['id']}/events")
    audit = (await api.get(f"/api/alerts/{alert['id']}/audit")).json()
    expected = [("submit", "alice")] + ([("cancel", "bob")] if "result" in by_bob else [])
    assert [(e["action"], e["user"]) for e in audit] == expected, by_bob
    assert all("A2A" in e["detail"] for e in audit)


async def test_with_four_eyes_a_supervisor_sends_a_decision_back_with_a_reason(
    api, demo_alerts, four_eyes_api
) -> None:
    snapshot = await finished(api, demo_alerts)
    path = f"/api/alerts/{snapshot['id']}"
    async with httpx.AsyncClient(base_url=four_eyes_api, timeout=60) as client:
        alice, sam = bearer("tenant-a-token"), bearer(SAM)
        await client.post(f"{path}/assign", headers=alice)
        first = {"verdict": "escalate", "comment": "Looks like layering."}
        assert (await client.post(f"{path}/decision", json=first, headers=alice)).status_code == 200
        silent = await client.post(f"{path}/rejection", json={"comment": " "}, headers=sam)
        assert silent.status_code == 422 and "comment" in problem(silent)["detail"]
        own = await client.post(f"{path}/rejection", json={"comment": "no"}, headers=alice)
        assert own.status_code == 403
        back = await client.post(
            f"{path}/rejection", json={"comment": "Check the linked accounts first."}, headers=sam
        )
        assert back.status_code == 200, back.text
        assert back.json()["decision"] is None and back.json()["owner"] == "alice"
        # The analyst decides again; the sent-back decision stays in the trail.
        second = {**overriding(snapshot["determination"]["disposition"]), "comment": "Checked."}
        again = await client.post(f"{path}/decision", json=second, headers=alice)
        assert again.status_code == 200, again.text
    audit = (await api.get(f"{path}/audit")).json()
    assert [(e["action"], e["user"]) for e in audit] == [
        ("submit", "alice"), ("assign", "alice"), ("decide", "alice"),
        ("reject", "sam"), ("decide", "alice"),
    ]  # fmt: skip
    assert "Check the linked accounts first." in audit[3]["detail"]
