"""Retry after a specialist failure: completed findings are reused, the stream goes on."""

from __future__ import annotations

from tests.api.conftest import fresh_alert, problem, read_sse, submit

FAILING = "wash_trade"
AGENT = "agent-wash-trade"


async def test_retry_after_a_specialist_failure_reuses_the_completed_finding(
    stack, api, demo_alerts
) -> None:
    both = fresh_alert(demo_alerts, "unknown")  # triage sends it to both specialists
    # The wash-trade agent is down until the insider finding is in, then comes back
    # failing on purpose: the run fails with one finding completed.
    stack.stop(AGENT)
    try:
        accepted = await submit(api, both)
        events = accepted["links"]["events"]
        before = await read_sse(api, events, until=lambda f: f.event == "finding")
        assert before.frames[-1].data.agent == "insider_trading"
        stack.env_overrides["SURVEIL_FAIL_SPECIALIST"] = FAILING
        stack.restart(AGENT)
        failed = await read_sse(api, events, headers={"Last-Event-ID": str(before.offsets[-1])})
    finally:
        stack.env_overrides.pop("SURVEIL_FAIL_SPECIALIST", None)
        stack.stop(AGENT)
        stack.restart(AGENT)
    assert failed.frames[-1].data.data["state"] == "failed"
    run1 = before.offsets + failed.offsets
    assert run1 == list(range(len(run1)))

    retry = await api.post(f"{accepted['links']['self']}/retry")
    assert retry.status_code == 202, retry.text
    rest = await read_sse(api, events, headers={"Last-Event-ID": str(run1[-1])})
    offsets = run1 + rest.offsets
    assert offsets == list(range(len(offsets)))  # strictly increasing across the retry
    assert rest.frames[-1].data.data["state"] == "completed"
    recomputed = [
        f for f in rest.frames if f.data.agent == "insider_trading" and f.event != "status"
    ]
    assert recomputed == []  # reused, not recomputed
    assert any(f.data.agent == FAILING and f.event == "finding" for f in rest.frames)

    detail = (await api.get(accepted["links"]["self"])).json()
    assert detail["run"] == 2
    assert {f["specialist"] for f in detail["findings"]} == {"insider_trading", FAILING}
    again = await api.post(f"{accepted['links']['self']}/retry")
    assert again.status_code == 409 and "completed" in problem(again)["detail"]
