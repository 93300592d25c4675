"""An LLM endpoint that answers 429 for minutes in the middle of an investigation.

    python -m benchmarks.llm_outage                  # 120 s of 429 with Retry-After 20
    python -m benchmarks.llm_outage --outage-s 30 --retry-after 5

The issue-18 scenario, end to end: the real stack (Temporal dev server, both agents,
one worker) on the project's OpenAI-compatible test server answering as the offline
model. One investigation runs undisturbed; a second one runs while, from the moment
triage has written its rationale, the endpoint answers every request with 429 and
`Retry-After` for `--outage-s`. Reported: whether it completed with the same
determination, every offset once, the "waiting for the LLM" events it streamed, how
long it waited and how many requests the endpoint refused.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from surveil.events import EventType, ProgressEvent
from surveil.models import Determination
from surveil.settings import Settings
from surveil.store import Store
from surveil.usage import LLMUsage, total_usage
from tests.support.openai_server import OpenAICompatibleServer
from tests.support.stack import Stack
from workflows.client import connect, events, start_investigation

WASH = "ALR-007-01"


async def investigate(stack: Stack, on_event=None) -> tuple[list[tuple[int, ProgressEvent]], float]:  # type: ignore[no-untyped-def]
    client = await connect(Settings(temporal_address=stack.temporal_address))
    alert = Store(stack.home / "surveil.db").get_alert(WASH)
    assert alert is not None
    alert = alert.model_copy(update={"tenant": f"t{uuid.uuid4().hex[:8]}"})
    started = time.monotonic()
    handle = await start_investigation(client, alert)
    items = []
    cooldown = timedelta(milliseconds=100)
    async for offset, event in events(client, handle.id, 0, poll_interval=cooldown):
        items.append((offset, event))
        if on_event is not None:
            on_event(event)
    return items, time.monotonic() - started


def determination(items: list[tuple[int, ProgressEvent]]) -> Determination | None:
    data = items[-1][1].data or {}
    found = data.get("determination")
    return Determination.model_validate(found) if found else None


async def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="surveil-llm-outage-"))
    with OpenAICompatibleServer(reply=None, token_delay_s=0.01) as llm:
        stack = Stack(
            root, env_overrides={"OPENAI_API_KEY": llm.api_key, "OPENAI_BASE_URL": llm.base_url}
        )
        try:
            stack.start_all(api=False)
            calm, calm_s = await investigate(stack)
            outage: dict[str, float] = {}

            def outage_after_triage(event: ProgressEvent) -> None:
                if (
                    not outage
                    and event.type == EventType.step_complete
                    and event.step == "explain_routing"
                ):
                    llm.rate_limit_for(args.outage_s, retry_after=args.retry_after)
                    outage["from"] = time.monotonic()

            print(f"undisturbed: {calm_s:.1f} s; now with a {args.outage_s:g} s outage")
            items, stormy_s = await investigate(stack, outage_after_triage)
        finally:
            stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)  # kept (logs) only when the run failed
        rejections = llm.counts.rejections

    offsets = [offset for offset, _ in items]
    relayed = Counter((e.agent, e.seq) for _, e in items if e.seq is not None)
    waits = [e for _, e in items if (e.data or {}).get("llm_wait")]
    usages = [
        LLMUsage.model_validate(e.data["llm_usage"])
        for _, e in items
        if e.data and "llm_usage" in e.data
    ]
    used = total_usage(usages) or LLMUsage()
    same = (
        determination(items) is not None
        and determination(items).model_dump(exclude={"alert_id"})  # type: ignore[union-attr]
        == determination(calm).model_dump(exclude={"alert_id"})  # type: ignore[union-attr]
    )
    rows = [
        (
            "outage",
            f"429 + Retry-After {args.retry_after:g} s for {args.outage_s:g} s, "
            "from the end of triage",
        ),  # fmt: skip
        ("final state", str((items[-1][1].data or {}).get("state"))),
        ("same determination as undisturbed", "yes" if same else "NO"),
        (
            "every offset once",
            "yes"
            if offsets == list(range(len(items))) and max(relayed.values(), default=1) == 1
            else "NO",
        ),  # fmt: skip
        ("wall time undisturbed / with outage", f"{calm_s:.1f} s / {stormy_s:.1f} s"),
        ("requests refused by the endpoint", str(rejections)),
        (
            "LLM requests / retries / waited",
            f"{used.requests} / {used.retries} / {used.waited_s:.0f} s",
        ),  # fmt: skip
        (
            "'waiting for the LLM' events",
            f"{len(waits)} (steps: {sorted({f'{e.agent}.{e.step}' for e in waits})})",
        ),  # fmt: skip
        ("first / last wait shown", f"{waits[0].text!r} / {waits[-1].text!r}" if waits else "-"),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-s", type=float, default=120)
    parser.add_argument("--retry-after", type=float, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
