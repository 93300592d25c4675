"""One investigation in this process: triage, the specialists in parallel, synthesis.

The baseline the durable path (Temporal workflow + A2A specialists) is measured
against, and what `surveil investigate` runs. It yields the same ProgressEvents the
durable path streams, ending with exactly one terminal status event, but nothing
survives the process: a crash loses the investigation.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from agents.checkpointing import memory_checkpointer
from agents.orchestrator.graph import build_synthesis_graph, build_triage_graph
from agents.runner import GraphRun, resume_command
from surveil.events import ORCHESTRATOR, EventType, ProgressEvent
from surveil.models import Alert, Determination, Finding
from surveil.settings import get_settings
from surveil.tasks import Question

log = logging.getLogger(__name__)

AnswerProvider = Callable[[Question], Awaitable[str | None]]
"""Asks the analyst a specialist's question; None means nobody answered."""

SPECIALIST_GRAPHS = {
    "insider_trading": "agents.insider_trading.graph",
    "wash_trade": "agents.wash_trade.graph",
}


async def no_answer(question: Question) -> str | None:
    return None


@dataclass
class _SpecialistDone:
    agent: str
    finding: Finding | None = None
    error: BaseException | None = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _status(state: str, text: str, agent: str = ORCHESTRATOR, **data: Any) -> ProgressEvent:
    return ProgressEvent(
        type=EventType.status, agent=agent, text=text, data={"state": state, **data}
    )


async def investigate(
    alert: Alert, *, store: Any = None, answer_provider: AnswerProvider | None = None
) -> AsyncGenerator[ProgressEvent, None]:
    """Investigate `alert`, yielding every progress event; the last one is terminal."""
    yield _status("working", f"Investigating alert {alert.id}")
    try:
        triage = GraphRun(build_triage_graph(), {"alert": alert}, agent=ORCHESTRATOR)
        async for event in triage.events():
            yield event
        specialists: list[str] = triage.values["specialists"]

        findings: dict[str, Finding] = {}
        specialist_events = _run_specialists(
            alert, specialists, store, answer_provider or no_answer, findings
        )
        async with aclosing(specialist_events):
            async for event in specialist_events:
                yield event
        ordered = [findings[name] for name in specialists]

        synthesis = GraphRun(
            build_synthesis_graph(), {"alert": alert, "findings": ordered}, agent=ORCHESTRATOR
        )
        async for event in synthesis.events():
            yield event
        determination = Determination.model_validate(synthesis.values["determination"])
    except Exception as exc:  # the stream must still end with a terminal event
        log.exception("investigation of alert %s failed", alert.id)
        message = _describe(exc)
        yield ProgressEvent(type=EventType.error, agent=ORCHESTRATOR, text=message)
        yield _status("failed", f"Investigation of alert {alert.id} failed", error=message)
        return
    yield _status(
        "completed",
        f"{determination.disposition.value} ({determination.confidence:.0%})",
        determination=determination.model_dump(mode="json"),
    )


async def _run_specialists(
    alert: Alert,
    specialists: list[str],
    store: Any,
    answer_provider: AnswerProvider,
    findings: dict[str, Finding],
) -> AsyncGenerator[ProgressEvent, None]:
    """Run the specialists concurrently and merge their events as they come."""
    queue: asyncio.Queue[ProgressEvent | _SpecialistDone] = asyncio.Queue()
    tasks = [
        asyncio.create_task(
            _run_specialist(alert, name, store, answer_provider, queue), name=f"specialist-{name}"
        )
        for name in specialists
    ]
    try:
        running = len(tasks)
        while running:
            item = await queue.get()
            if isinstance(item, ProgressEvent):
                yield item
                continue
            running -= 1
            if item.error is not None:
                raise RuntimeError(
                    f"specialist {item.agent} failed: {_describe(item.error)}"
                ) from item.error
            assert item.finding is not None
            findings[item.agent] = item.finding
    finally:
        # The consumer stopped early or a specialist failed: stop the others too.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _run_specialist(
    alert: Alert,
    agent: str,
    store: Any,
    answer_provider: AnswerProvider,
    queue: asyncio.Queue[ProgressEvent | _SpecialistDone],
) -> None:
    try:
        finding = await _specialist_finding(alert, agent, store, answer_provider, queue.put)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        await queue.put(ProgressEvent(type=EventType.error, agent=agent, text=_describe(exc)))
        await queue.put(_SpecialistDone(agent, error=exc))
        return
    await queue.put(_SpecialistDone(agent, finding=finding))


async def _specialist_finding(
    alert: Alert,
    agent: str,
    store: Any,
    answer_provider: AnswerProvider,
    emit: Callable[[ProgressEvent], Awaitable[None]],
) -> Finding:
    """Run one specialist graph to its finding, asking the analyst whenever it asks."""
    build_graph = importlib.import_module(SPECIALIST_GRAPHS[agent]).build_graph
    graph = build_graph(store=store, checkpointer=memory_checkpointer())
    thread_id = f"{alert.tenant}-{alert.id}-{agent}"
    graph_input: Any = {"alert": alert}
    finding_emitted = False
    timeout = get_settings().input_timeout_s
    while True:
        run = GraphRun(graph, graph_input, agent=agent, thread_id=thread_id)
        async for event in run.events():
            finding_emitted |= event.type == EventType.finding
            await emit(event)
        if run.question is None:
            break
        question = Question(
            agent=agent, text=run.question["question"], options=run.question["options"]
        )
        try:
            answer = await asyncio.wait_for(answer_provider(question), timeout)
        except TimeoutError:
            answer = None
        await emit(
            _status(
                "working",
                f"Analyst answered: {answer}"
                if answer is not None
                else "No answer from the analyst; the finding will need review",
                agent=agent,
                answer=answer,
            )
        )
        graph_input = resume_command(answer)
    finding = Finding.model_validate(run.values["finding"])
    if not finding_emitted:  # every consumer expects the finding as an event
        await emit(
            ProgressEvent(
                type=EventType.finding,
                agent=agent,
                title="Finding",
                data=finding.model_dump(mode="json"),
            )
        )
    return finding
