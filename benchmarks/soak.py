"""`make soak`: one long investigation at LLM pace, read every way a user would.

One alert that sends work to both specialists, investigated through the real stack
(Temporal dev server, worker, both agents, three API processes) whose LLM is the
project's local OpenAI-compatible streaming server at 50 tokens a second, with
replies long enough for the investigation to last `SOAK_MINUTES` (default 10).

- Three SSE readers, one per API process, follow it live from offset 0.
- Part-way through, the investigation is canceled and retried (a second run of the
  same stream); the live readers resume with Last-Event-ID and go on to its end.
- At the end: a reader from 0, a reader from a random offset inside an early run,
  and an A2A SubscribeToTask (official a2a-sdk client) with Last-Event-ID.
- Every run's history is read back: events, bytes, Updates, the largest event
  (an upper bound of any payload in it). A run hands off after `SOAK_RUN_MAX_EVENTS`
  (2,500) stream events, so the readers read across hand-offs, not only the retry.

It prints a table and writes `benchmarks/results/soak.json`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from temporalio.api.enums.v1 import EventType

from benchmarks.procstat import usage
from surveil.settings import Settings
from surveil.stream import EVENTS_QUERY, EventPage
from tests.support.openai_server import OpenAICompatibleServer
from tests.support.stack import TEST_TOKENS, Stack
from workflows.client import connect
from workflows.investigation import workflow_id_for

MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
TOKENS_PER_SECOND = 50.0
# Sequential LLM passes of the alert (triage, the specialists in parallel, synthesis).
SEQUENTIAL_LLM_CALLS = 3
ALERT = "ALR-007-08"  # type unknown: triage sends it to both specialists
API_PROCESSES = ("api", "api2", "api3")
TOKEN = next(t for t, tenant in TEST_TOKENS.items() if tenant == "demo")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RESULTS = Path(__file__).parent / "results" / "soak.json"


def narrative(tokens: int) -> str:
    words = "the account bought and sold the same instrument within minutes at matching prices"
    vocabulary = words.split()
    return " ".join(vocabulary[i % len(vocabulary)] for i in range(tokens))


@dataclass
class Reader:
    """One SSE reader: every offset it received, in order, across reconnects."""

    name: str
    url: str
    last_event_id: int | None = None
    offsets: list[int] = field(default_factory=list)
    live_frames: int = 0  # token frames of the live tail (no offsets)
    reconnects: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, final_offset: asyncio.Future[int]) -> None:
        async with httpx.AsyncClient(headers=AUTH, timeout=httpx.Timeout(30, read=None)) as http:
            while True:
                headers = {}
                last = self.offsets[-1] if self.offsets else self.last_event_id
                if last is not None:
                    headers["Last-Event-ID"] = str(last)
                try:
                    async with aconnect_sse(http, "GET", self.url, headers=headers) as source:
                        async for sse in source.aiter_sse():
                            # A heartbeat comment dispatches an empty event that keeps
                            # the last id (the SSE spec), and so does a live frame:
                            # only durable events with data have offsets.
                            if sse.event == "live":
                                self.live_frames += 1
                            elif sse.id and sse.data:
                                self.offsets.append(int(sse.id))
                except (httpx.HTTPError, ValueError) as exc:
                    print(f"  {self.name}: stream cut ({type(exc).__name__}); resuming")
                    await asyncio.sleep(1)
                if (
                    final_offset.done()
                    and self.offsets
                    and self.offsets[-1] >= final_offset.result()
                ):
                    return
                self.reconnects += 1
                await asyncio.sleep(0.5)

    def report(self, first: int, last: int) -> dict[str, Any]:
        counts = Counter(self.offsets)
        expected = set(range(first, last + 1))
        return {
            "reader": self.name,
            "events": len(self.offsets),
            "lost": len(expected - counts.keys()),
            "duplicated": sum(n - 1 for n in counts.values() if n > 1),
            "in_order": self.offsets == sorted(self.offsets),
            "reconnects": self.reconnects,
            "live_frames": self.live_frames,
            "duplicated_offsets": sorted(o for o, n in counts.items() if n > 1)[:20],
        }


async def a2a_reader(api_url: str, alert_id: str, last_event_id: int, last: int) -> list[int]:
    """SubscribeToTask through the A2A façade with the official client, resuming with
    Last-Event-ID whenever the stream ends early (a lagging reader is cut), as a
    careful A2A client would."""
    from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
    from a2a.client.client import ClientCallContext
    from a2a.types import SubscribeToTaskRequest

    offsets: list[int] = []
    async with httpx.AsyncClient(headers=AUTH, timeout=120) as http:
        card = await A2ACardResolver(http, api_url).get_agent_card()
        client = ClientFactory(ClientConfig(httpx_client=http)).create(card)
        try:
            for _ in range(50):
                resume_after = offsets[-1] if offsets else last_event_id
                if resume_after >= last:
                    break
                context = ClientCallContext(service_parameters={"Last-Event-ID": str(resume_after)})
                async for response in client.subscribe(
                    SubscribeToTaskRequest(id=alert_id), context=context
                ):
                    if response.HasField("status_update"):
                        offsets.append(int(response.status_update.metadata["offset"]))
        finally:
            await client.close()
    return offsets


async def history_figures(settings: Settings, workflow_id: str) -> list[dict[str, Any]]:
    client = await connect(settings)
    runs = []
    async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        runs.append(execution)
    figures = []
    for execution in sorted(runs, key=lambda e: e.start_time):
        handle = client.get_workflow_handle(workflow_id, run_id=execution.run_id)
        history = await handle.fetch_history()
        events = history.events
        figures.append(
            {
                "run_id": execution.run_id,
                "status": execution.status.name if execution.status else "?",
                "history_events": len(events),
                "history_bytes": sum(e.ByteSize() for e in events),
                "updates": sum(
                    e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
                    for e in events
                ),
                "signals": sum(
                    e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in events
                ),
                "max_event_bytes": max(e.ByteSize() for e in events),
                "largest_event": EventType.Name(max(events, key=lambda e: e.ByteSize()).event_type),
            }
        )
    return figures


async def offset_inside_an_early_run(settings: Settings, workflow_id: str, last: int) -> int:
    client = await connect(settings)
    page = await client.get_workflow_handle(workflow_id).query(
        EVENTS_QUERY, 0, result_type=EventPage
    )
    if not page.earlier:
        return random.randrange(1, last)
    first = page.earlier[0]
    return random.randrange(max(1, first.first_offset), first.next_offset)


async def api_json(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await http.request(method, path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


async def wait_for_state(
    http: httpx.AsyncClient, alert_id: str, states: set[str], run: int | None = None
) -> dict[str, Any]:
    while True:
        snapshot = await api_json(http, "GET", f"/api/alerts/{alert_id}")
        if snapshot["state"] in states and (run is None or snapshot.get("run") == run):
            return snapshot
        await asyncio.sleep(1)


async def soak(root: Path) -> dict[str, Any]:
    reply_tokens = int(MINUTES * 60 * TOKENS_PER_SECOND / SEQUENTIAL_LLM_CALLS)
    server = OpenAICompatibleServer(
        reply=narrative(reply_tokens), token_delay_s=1 / TOKENS_PER_SECOND
    )
    with server:
        stack = Stack(
            root,
            env_overrides={
                "OPENAI_API_KEY": server.api_key,
                "OPENAI_BASE_URL": server.base_url,
                "SURVEIL_LLM_MODEL": "soak-model",
                "SURVEIL_INPUT_TIMEOUT_S": "5",
                "SURVEIL_SUBMISSIONS_PER_MINUTE": "1000",
                # Hand-offs in a 10-minute run (a run of the defaults holds one): the
                # readers must read across them.
                "SURVEIL_RUN_MAX_EVENTS": os.environ.get("SOAK_RUN_MAX_EVENTS", "2500"),
            },
        )
        try:
            stack.start_all()
            for name in API_PROCESSES[1:]:
                stack.start_api(name)
            return await _drive(stack, server, reply_tokens)
        finally:
            stack.stop_all()


async def _drive(stack: Stack, server: OpenAICompatibleServer, reply_tokens: int) -> dict[str, Any]:
    agents = [stack.children[n].pid for n in ("agent-insider-trading", "agent-wash-trade")]
    cpu_before = sum(usage(pid).cpu_seconds for pid in agents)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=stack.api_url(), headers=AUTH, timeout=60) as http:
        demo = await api_json(http, "GET", "/api/demo-alerts")
        body = next(a for a in demo if a["id"] == ALERT)
        body = {k: v for k, v in body.items() if k != "tenant"}
        body["id"] = f"soak-{int(time.time())}"
        alert_id = body["id"]
        response = await http.post("/api/alerts", json=body)
        response.raise_for_status()
        print(f"soak: {alert_id}, replies of {reply_tokens} tokens at {TOKENS_PER_SECOND:g}/s")

        final: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        live = [
            Reader(f"live via {name}", f"{stack.api_url(name)}/api/alerts/{alert_id}/events")
            for name in API_PROCESSES
        ]
        followers = [asyncio.create_task(r.follow(final)) for r in live]

        # Cancel and retry part-way: the second run continues the same stream.
        await asyncio.sleep(MINUTES * 60 * 0.4)
        reason = {"reason": "soak: cancel part-way, then retry"}
        await api_json(http, "POST", f"/api/alerts/{alert_id}/cancel", reason)
        canceled = await wait_for_state(http, alert_id, {"canceled"})
        print(f"  canceled at offset {canceled['last_offset']}; retrying")
        await api_json(http, "POST", f"/api/alerts/{alert_id}/retry")
        done = await wait_for_state(
            http, alert_id, {"completed", "failed", "timed_out"}, run=canceled["run"] + 1
        )
        last = int(done["last_offset"])
        final.set_result(last)
        await asyncio.wait_for(asyncio.gather(*followers), timeout=600)
        elapsed_min = (time.monotonic() - started) / 60
        cpu_agents = sum(usage(pid).cpu_seconds for pid in agents) - cpu_before

        settings = Settings(temporal_address=stack.temporal_address)
        await asyncio.sleep(2)  # visibility lists the last run a moment after it closes
        workflow_id = workflow_id_for("demo", alert_id)
        runs = await history_figures(settings, workflow_id)
        inside_early_run = await offset_inside_an_early_run(settings, workflow_id, last)
        after = [
            Reader("from 0 at the end", f"{stack.api_url()}/api/alerts/{alert_id}/events"),
            Reader(
                f"from {inside_early_run} (an early run)",
                f"{stack.api_url('api2')}/api/alerts/{alert_id}/events",
                last_event_id=inside_early_run - 1,
            ),
        ]
        await asyncio.gather(*(r.follow(final) for r in after))
        a2a_from = random.randrange(0, last)
        a2a_offsets = await a2a_reader(stack.api_url("api3"), alert_id, a2a_from, last)

    readers = [r.report(0, last) for r in live]
    readers.append(after[0].report(0, last))
    readers.append(after[1].report(inside_early_run, last))
    a2a = Reader(f"A2A from {a2a_from + 1}", "", offsets=a2a_offsets)
    readers.append(a2a.report(a2a_from + 1, last))
    stream_events = last + 1
    history_events = sum(r["history_events"] for r in runs)
    tokens_served = len(server.requests) * reply_tokens
    return {
        "minutes": round(elapsed_min, 2),
        "stream_events": stream_events,
        "runs": len(runs),
        "max_history_events_per_run": max(r["history_events"] for r in runs),
        "max_history_bytes_per_run": max(r["history_bytes"] for r in runs),
        "max_updates_per_run": max(r["updates"] for r in runs),
        "max_payload_bytes": max(r["max_event_bytes"] for r in runs),
        "largest_history_event": max(runs, key=lambda r: r["max_event_bytes"])["largest_event"],
        "history_events_per_stream_event": round(history_events / stream_events, 4),
        "lost": sum(r["lost"] for r in readers),
        "duplicated": sum(r["duplicated"] for r in readers),
        "agent_cpu_s_per_1k_tokens": round(cpu_agents / max(1, tokens_served) * 1000, 4),
        "llm_requests": len(server.requests),
        "tokens_served": tokens_served,
        "final_state": done["state"],
        "readers": readers,
        "per_run": runs,
    }


def print_table(result: dict[str, Any]) -> None:
    print()
    print(f"{'figure':<36}{'value':>14}")
    for key, value in result.items():
        if not isinstance(value, list):
            print(f"{key:<36}{value!s:>14}")
    print()
    print(f"{'reader':<34}{'events':>8}{'lost':>6}{'dup':>5}{'order':>7}{'reconn':>8}")
    for r in result["readers"]:
        print(
            f"{r['reader']:<34}{r['events']:>8}{r['lost']:>6}{r['duplicated']:>5}"
            f"{'yes' if r['in_order'] else 'NO':>7}{r['reconnects']:>8}"
        )
    print()
    print(f"{'run':<10}{'status':<20}{'events':>8}{'bytes':>11}{'updates':>8}{'signals':>8}")
    for r in result["per_run"]:
        print(
            f"{r['run_id'][:8]:<10}{r['status']:<20}{r['history_events']:>8}"
            f"{r['history_bytes']:>11}{r['updates']:>8}{r['signals']:>8}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="surveil-soak-") as tmp:
        result = asyncio.run(soak(Path(tmp)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
