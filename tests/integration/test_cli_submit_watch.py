"""`surveil submit` and `surveil watch` against the real stack."""

from __future__ import annotations

import json

from tests.support.investigations import parse_watch, terminal
from tests.support.stack import Stack

INSIDER = "ALR-007-02"


def test_submitting_an_alert_twice_attaches_to_the_same_investigation(stack: Stack):
    submitted = [stack.surveil("submit", INSIDER, "--json", check=False) for _ in range(2)]
    assert [r.returncode for r in submitted] == [0, 0], [r.stderr[-2000:] for r in submitted]
    first, second = (json.loads(r.stdout) for r in submitted)

    assert first["workflow_id"] == second["workflow_id"] == f"alert-demo-{INSIDER}"
    runs = json.loads(
        stack.temporal_cli(
            "workflow", "list", "--query", f'WorkflowId="{first["workflow_id"]}"', "-o", "json"
        )
        or "[]"
    )
    assert len(runs) <= 1  # visibility may lag; never two runs
    done = stack.surveil("submit", INSIDER, "--wait", "--json")
    waited = json.loads(done.stdout)  # stdout stays the result
    assert waited["state"] == "completed" and waited["determination"]["alert_id"] == INSIDER
    # --wait shows progress on stderr while it waits, step by step.
    assert "[0] orchestrator: status" in done.stderr and "step_complete" in done.stderr


def test_watch_from_offset_prints_exactly_that_offset_to_the_end(stack: Stack):
    stack.surveil("submit", INSIDER, "--wait")
    everything = parse_watch(stack.surveil("watch", INSIDER).stdout)
    start = len(everything) // 2
    rest = parse_watch(stack.surveil("watch", INSIDER, "--from", str(start)).stdout)

    assert [offset for offset, _ in everything] == list(range(len(everything)))
    assert [offset for offset, _ in rest] == list(range(start, len(everything)))
    assert [e for _, e in rest] == [e for _, e in everything[start:]]
    assert terminal(rest).data["state"] == "completed"


def test_watch_of_an_alert_never_submitted_says_so(stack: Stack):
    result = stack.surveil("watch", "NO-SUCH-ALERT", check=False)

    assert result.returncode == 2
    assert "no investigation alert-demo-NO-SUCH-ALERT" in result.stderr


def test_submit_of_an_unknown_alert_says_so(stack: Stack):
    result = stack.surveil("submit", "NO-SUCH-ALERT", check=False)

    assert result.returncode == 2
    assert "no alert 'NO-SUCH-ALERT' in the store" in result.stderr
