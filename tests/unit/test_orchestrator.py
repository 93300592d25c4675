"""The orchestrator's triage and synthesis graphs, with the offline model and a real HTTP LLM."""

from __future__ import annotations

from datetime import datetime

import pytest

from agents.disposition import decide
from agents.llm import get_chat_model
from agents.offline_model import OFFLINE_MODEL_LABEL, OfflineAnalystModel
from agents.orchestrator.graph import build_synthesis_graph, build_triage_graph, route_alert
from agents.runner import GraphRun
from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, AlertType, Determination, Evidence, Finding, Specialist
from surveil.settings import Settings, get_thresholds
from tests.support.openai_server import OpenAICompatibleServer


def alert(type_: AlertType, description: str = "") -> Alert:
    return Alert(
        id="A-1",
        type=type_,
        account="ACC-7",
        instrument="ACME",
        window_start=datetime(2024, 3, 1, 9),
        window_end=datetime(2024, 3, 1, 17),
        description=description,
    )


WASH_FINDING = Finding(
    specialist=Specialist.wash_trade,
    score=0.9,
    evidence=[
        Evidence(name="linked_round_trips", value=4, threshold=2, passed=True),
        Evidence(name="net_position_pct", value=1.5, threshold=10, passed=True, unit="%"),
    ],
)


@pytest.mark.parametrize(
    ("type_", "description", "expected"),
    [
        (AlertType.insider_trading, "Position built before earnings", ["insider_trading"]),
        (AlertType.wash_trade, "Round trips between two accounts", ["wash_trade"]),
        (AlertType.unknown, "Unusual activity", ["insider_trading", "wash_trade"]),
        (
            AlertType.wash_trade,
            "Round trips just before a takeover announcement",
            ["insider_trading", "wash_trade"],
        ),
    ],
    ids=["insider", "wash", "unknown", "wash mentioning insider signs"],
)
def test_triage_routes_by_type_and_by_what_the_description_mentions(
    type_: AlertType, description: str, expected: list[str]
) -> None:
    specialists, reasons = route_alert(alert(type_, description))
    assert specialists == expected
    assert len(reasons) == len(specialists)


async def test_triage_graph_streams_its_steps_and_rationale() -> None:
    run = GraphRun(
        build_triage_graph(OfflineAnalystModel()),
        {"alert": alert(AlertType.unknown)},
        agent="orchestrator",
        frame_ms=0,  # one event per token, to see them stream
    )
    events = [event async for event in run.events()]
    steps = [(e.type, e.step) for e in events if e.type != EventType.message_delta]
    assert steps == [
        (EventType.step_start, "route"),
        (EventType.step_complete, "route"),
        (EventType.step_start, "explain_routing"),
        (EventType.step_complete, "explain_routing"),
    ]
    tokens = [e for e in events if e.type == EventType.message_delta]
    assert len(tokens) > 10 and {e.step for e in tokens} == {"explain_routing"}
    assert "".join(e.text or "" for e in tokens) == run.values["rationale"]
    assert run.values["specialists"] == ["insider_trading", "wash_trade"]


async def synthesize(model: object) -> tuple[list[ProgressEvent], Determination]:
    graph = build_synthesis_graph(model)  # type: ignore[arg-type]
    the_alert = alert(AlertType.wash_trade)
    run = GraphRun(
        graph, {"alert": the_alert, "findings": [WASH_FINDING]}, agent="orchestrator", frame_ms=0
    )
    events = [event async for event in run.events()]
    return events, run.values["determination"]


async def test_synthesis_disposition_is_the_evidence_decision_and_names_its_writer() -> None:
    events, determination = await synthesize(OfflineAnalystModel())
    disposition, confidence, reasons = decide(
        alert(AlertType.wash_trade), [WASH_FINDING], get_thresholds()
    )
    assert (determination.disposition, determination.confidence) == (disposition, confidence)
    assert determination.reasons == reasons
    assert determination.findings == [WASH_FINDING]
    assert determination.narrative_model == OFFLINE_MODEL_LABEL
    assert determination.narrative.endswith(f"Narrative written by {OFFLINE_MODEL_LABEL}.")
    assert disposition.value.replace("_", " ").upper() in determination.narrative
    streamed = "".join(e.text or "" for e in events if e.type == EventType.message_delta)
    assert streamed.rstrip() == determination.narrative


async def test_synthesis_with_a_real_llm_endpoint_records_that_model() -> None:
    reply = "The evidence supports the disposition."
    with OpenAICompatibleServer(reply=reply) as server:
        model = get_chat_model(
            Settings(_env_file=None, openai_api_key=server.api_key, openai_base_url=server.base_url)
        )
        events, determination = await synthesize(model)
    assert determination.narrative_model == f"gpt-4o-mini via {server.base_url}"
    assert determination.narrative == (
        f"{reply}\n\nNarrative written by gpt-4o-mini via {server.base_url}."
    )
    tokens = [e.text for e in events if e.type == EventType.message_delta]
    assert len(tokens) == len(reply.split()) + 1  # the tokens, then the attribution
