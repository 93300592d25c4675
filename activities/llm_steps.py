"""The orchestrator's two LLM steps as activities: triage and synthesis.

Each runs its LangGraph graph here in the worker (through `agents.runner.GraphRun`,
like every other consumer of a graph) and relays the graph's events — LLM tokens as
`message_delta` — into the workflow's stream while it runs, heartbeating.

A retried attempt runs the graph again from the start (an LLM does not resume
mid-answer). Its events get seqs above everything already relayed, and it says in
the stream that the step restarted, so a viewer sees two passes, never a mix.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.contracts import (
    RelayPosition,
    SynthesisInput,
    SynthesisOutcome,
    TriageInput,
    TriageOutcome,
)
from activities.relay import EventRelay, recovered_position
from agents.orchestrator.graph import build_synthesis_graph, build_triage_graph
from agents.runner import GraphRun
from surveil.events import ORCHESTRATOR
from surveil.models import Determination


@activity.defn
async def triage(inp: TriageInput) -> TriageOutcome:
    values = await _run_graph(build_triage_graph(), {"alert": inp.alert}, inp.position, "triage")
    return TriageOutcome(
        specialists=values["specialists"], reasons=list(values.get("routing_reasons", []))
    )


@activity.defn
async def synthesize(inp: SynthesisInput) -> SynthesisOutcome:
    graph_input = {"alert": inp.alert, "findings": inp.findings}
    values = await _run_graph(build_synthesis_graph(), graph_input, inp.position, "synthesis")
    return SynthesisOutcome(determination=Determination.model_validate(values["determination"]))


async def _run_graph(
    graph: Any, graph_input: dict[str, Any], position: RelayPosition, step: str
) -> dict[str, Any]:
    if activity.info().attempt > 1:
        position = await recovered_position(position)
    position = position.model_copy(update={"seq_base": position.next_base})
    async with EventRelay(position) as relay:
        if relay.attempt > 1:
            await relay.announce(f"worker restarted; {step} runs again from the start")
        run = GraphRun(graph, graph_input, agent=ORCHESTRATOR)
        seq = 0
        async for event in run.events():
            await relay.relay(event.model_copy(update={"seq": seq}))
            seq += 1
        return run.values
