"""The orchestrator's two graphs: triage (which specialists?) and synthesis (what now?).

Both decide with rules over the alert and the computed findings; the LLM only explains
the decision in prose (its tokens stream as `message_delta` events). So the routing and
the disposition are the same with a real LLM, the offline analyst model, or a failing
narrative, and an auditor can re-derive them from the evidence.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.disposition import decide
from agents.llm import attribution_line, get_chat_model, model_label
from agents.prompts import synthesis_messages, triage_messages
from surveil.events import ORCHESTRATOR, EventType, ProgressEvent
from surveil.models import Alert, AlertType, Determination, Disposition, Finding, Specialist
from surveil.settings import get_thresholds

AGENT = ORCHESTRATOR

# Words in an alert's description that call for a specialist the alert type does not.
_MENTIONS: dict[Specialist, re.Pattern[str]] = {
    Specialist.insider_trading: re.compile(
        r"insider|non-public|mnpi|announcement|earnings|takeover|merger|tip-?off", re.I
    ),
    Specialist.wash_trade: re.compile(
        r"wash|self-trad|self trad|round[- ]trip|matched trades|beneficial own", re.I
    ),
}


class TriageState(TypedDict, total=False):
    alert: Alert
    specialists: list[str]
    routing_reasons: list[str]
    rationale: str


class SynthesisState(TypedDict, total=False):
    alert: Alert
    findings: list[Finding]
    disposition: Disposition
    confidence: float
    reasons: list[str]
    determination: Determination


def _emit(type_: EventType, step: str, **fields: Any) -> None:
    get_stream_writer()(
        ProgressEvent(type=type_, agent=AGENT, step=step, **fields).model_dump(mode="json")
    )


def route_alert(alert: Alert) -> tuple[list[str], list[str]]:
    """The specialists an alert needs, in a fixed order, and why each was chosen."""
    chosen: dict[Specialist, str] = {}
    if alert.type == AlertType.unknown:
        for specialist in Specialist:
            chosen[specialist] = "The alert type is unknown, so every specialist looks at it"
    else:
        specialist = Specialist(alert.type.value)
        chosen[specialist] = f"The alert is typed {alert.type.value.replace('_', ' ')}"
    for specialist, pattern in _MENTIONS.items():
        match = pattern.search(alert.description)
        if specialist not in chosen and match:
            chosen[specialist] = (
                f"The description mentions {match.group(0)!r}, "
                f"so the {specialist.value.replace('_', '-')} specialist looks too"
            )
    ordered = [specialist for specialist in Specialist if specialist in chosen]
    return [s.value for s in ordered], [chosen[s] for s in ordered]


def build_triage_graph(
    chat_model: BaseChatModel | None = None, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    """State `{"alert"}` -> `{"specialists": [...], "routing_reasons", "rationale"}`."""

    def route(state: TriageState) -> TriageState:
        _emit(EventType.step_start, "route", title="Choose the specialists", progress=0.0)
        alert = Alert.model_validate(state["alert"])
        specialists, reasons = route_alert(alert)
        _emit(
            EventType.step_complete,
            "route",
            title="Choose the specialists",
            progress=1.0,
            text=", ".join(specialists),
            data={"specialists": specialists, "reasons": reasons},
        )
        return {"alert": alert, "specialists": specialists, "routing_reasons": reasons}

    async def explain_routing(state: TriageState) -> TriageState:
        title = "Explain the routing"
        _emit(EventType.step_start, "explain_routing", title=title, progress=0.0)
        model = chat_model or get_chat_model()
        reply = await model.ainvoke(
            triage_messages(state["alert"], state["specialists"], state["routing_reasons"])
        )
        rationale = str(reply.text)
        _emit(
            EventType.step_complete,
            "explain_routing",
            title=title,
            progress=1.0,
            data={"model": model_label(model)},
        )
        return {"rationale": rationale}

    graph = StateGraph(TriageState).add_sequence([route, explain_routing])
    graph.add_edge(START, "route")
    graph.add_edge("explain_routing", END)
    return graph.compile(checkpointer=checkpointer, name="triage")


def build_synthesis_graph(
    chat_model: BaseChatModel | None = None, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    """State `{"alert", "findings"}` -> `{"determination": Determination}`."""

    def weigh_evidence(state: SynthesisState) -> SynthesisState:
        title = "Weigh the evidence"
        _emit(EventType.step_start, "weigh_evidence", title=title, progress=0.0)
        alert = Alert.model_validate(state["alert"])
        findings = [Finding.model_validate(finding) for finding in state.get("findings", [])]
        disposition, confidence, reasons = decide(alert, findings, get_thresholds())
        _emit(
            EventType.step_complete,
            "weigh_evidence",
            title=title,
            progress=1.0,
            text=f"{disposition.value} ({confidence:.0%})",
            data={"disposition": disposition.value, "confidence": confidence, "reasons": reasons},
        )
        return {
            "alert": alert,
            "findings": findings,
            "disposition": disposition,
            "confidence": confidence,
            "reasons": reasons,
        }

    async def write_narrative(state: SynthesisState) -> SynthesisState:
        title = "Write the determination"
        _emit(EventType.step_start, "write_narrative", title=title, progress=0.0)
        model = chat_model or get_chat_model()
        alert, findings = state["alert"], state["findings"]
        reply = await model.ainvoke(
            synthesis_messages(
                alert, findings, state["disposition"], state["confidence"], state["reasons"]
            )
        )
        # The attribution is part of the narrative, so it streams like the tokens did.
        signature = "\n\n" + attribution_line(model)
        _emit(EventType.message_delta, "write_narrative", text=signature)
        determination = Determination(
            alert_id=alert.id,
            disposition=state["disposition"],
            confidence=state["confidence"],
            reasons=state["reasons"],
            narrative=str(reply.text).rstrip() + signature,
            narrative_model=model_label(model),
            findings=findings,
        )
        _emit(
            EventType.step_complete,
            "write_narrative",
            title=title,
            progress=1.0,
            data={"model": determination.narrative_model},
        )
        return {"determination": determination}

    graph = StateGraph(SynthesisState).add_sequence([weigh_evidence, write_narrative])
    graph.add_edge(START, "weigh_evidence")
    graph.add_edge("write_narrative", END)
    return graph.compile(checkpointer=checkpointer, name="synthesis")
