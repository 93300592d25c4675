"""The in-process investigation: event order and completeness, questions, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from agents.investigation import investigate
from surveil.demo import generate_demo
from surveil.events import ORCHESTRATOR, EventType, ProgressEvent
from surveil.models import Alert, Determination, Disposition
from surveil.store import Store
from surveil.tasks import Question


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    home = tmp_path_factory.mktemp("investigation")
    generate_demo(7, home / "csv")
    demo = Store(home / "surveil.db")
    demo.import_dir(home / "csv")
    return demo


def demo_alert(store: Store, alert_id: str) -> Alert:
    alert = store.get_alert(alert_id)
    assert alert is not None
    return alert


async def collect(alert: Alert, store: Store, **kwargs: object) -> list[ProgressEvent]:
    return [event async for event in investigate(alert, store=store, **kwargs)]  # type: ignore[arg-type]


def assert_well_formed(events: list[ProgressEvent]) -> None:
    """What every consumer relies on, whatever the alert."""
    assert [e.is_terminal for e in events].count(True) == 1
    assert events[-1].is_terminal
    opened: dict[tuple[str, str | None], float] = {}
    closed: set[tuple[str, str | None]] = set()
    for event in events:
        key = (event.agent, event.step)
        if event.type == EventType.input_required:
            # A node that asked runs again from its start when it resumes.
            opened.pop(key, None)
        elif event.type == EventType.step_start:
            assert key not in opened, f"{key} started twice"
            opened[key] = event.progress or 0.0
        elif event.type in (EventType.step_progress, EventType.step_complete):
            assert key in opened, f"{key} progressed before it started"
            assert key not in closed, f"{key} progressed after it completed"
            progress = 1.0 if event.type == EventType.step_complete else event.progress or 0.0
            assert progress >= opened[key], f"{key} went back from {opened[key]} to {progress}"
            opened[key] = progress
            if event.type == EventType.step_complete:
                closed.add(key)
    assert set(opened) == closed, f"never completed: {set(opened) - closed}"


def index_of(
    events: list[ProgressEvent], agent: str, type_: EventType, step: str | None = None
) -> int:
    return next(
        i
        for i, e in enumerate(events)
        if e.agent == agent and e.type == type_ and (step is None or e.step == step)
    )


async def test_investigation_streams_triage_findings_then_synthesis(store: Store) -> None:
    events = await collect(demo_alert(store, "ALR-007-08"), store)  # unknown type: both specialists
    assert_well_formed(events)
    assert events[-1].data["state"] == "completed"
    determination = Determination.model_validate(events[-1].data["determination"])
    assert [f.specialist.value for f in determination.findings] == ["insider_trading", "wash_trade"]

    synthesis_start = index_of(events, ORCHESTRATOR, EventType.step_start, "weigh_evidence")
    for agent in ("insider_trading", "wash_trade"):
        assert index_of(events, ORCHESTRATOR, EventType.step_complete, "route") < index_of(
            events, agent, EventType.step_start
        )
        assert [e.type for e in events if e.agent == agent].count(EventType.finding) == 1
        assert index_of(events, agent, EventType.finding) < synthesis_start
    narrative = "".join(
        e.text or ""
        for e in events
        if e.type == EventType.message_delta and e.step == "write_narrative"
    )
    assert narrative.rstrip() == determination.narrative


async def test_specialists_run_concurrently(store: Store) -> None:
    events = await collect(demo_alert(store, "ALR-007-08"), store)
    agents = [e.agent for e in events if e.agent != ORCHESTRATOR]
    first_wash, last_insider = (
        agents.index("wash_trade"),
        len(agents) - 1 - agents[::-1].index("insider_trading"),
    )
    assert first_wash < last_insider  # their events interleave


async def test_unanswered_question_makes_the_finding_need_review(store: Store) -> None:
    events = await collect(demo_alert(store, "ALR-007-12"), store)
    assert_well_formed(events)
    question = events[index_of(events, "wash_trade", EventType.input_required)]
    assert question.data["question"]
    determination = Determination.model_validate(events[-1].data["determination"])
    assert determination.findings[0].needs_review
    assert determination.disposition == Disposition.needs_review


async def test_the_analysts_answer_resumes_the_specialist(store: Store) -> None:
    asked: list[Question] = []

    async def analyst(question: Question) -> str:
        asked.append(question)
        return question.options[0] if question.options else "yes"

    events = await collect(demo_alert(store, "ALR-007-12"), store, answer_provider=analyst)
    assert_well_formed(events)
    assert [q.agent for q in asked] == ["wash_trade"]
    answered = index_of(events, "wash_trade", EventType.status)
    assert events[answered].data["answer"] == (asked[0].options or ["yes"])[0]
    assert answered < index_of(events, "wash_trade", EventType.finding)
    determination = Determination.model_validate(events[-1].data["determination"])
    assert not determination.findings[0].needs_review


async def test_stopping_early_cancels_the_specialists(store: Store) -> None:
    events = investigate(demo_alert(store, "ALR-007-08"), store=store)
    async for event in events:
        if event.agent == "wash_trade":
            break
    await events.aclose()
    await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("specialist-")]


async def test_a_failing_specialist_fails_the_investigation_with_its_reason(
    tmp_path: pytest.TempPathFactory, store: Store
) -> None:
    broken = Store(tmp_path / "broken.db")  # type: ignore[operator]
    broken.path.write_bytes(b"not a database " * 100)  # a store that cannot be read
    events = await collect(demo_alert(store, "ALR-007-04"), broken)
    assert events[-1].is_terminal and events[-1].data["state"] == "failed"
    assert "not a database" in events[-1].data["error"]
    assert any(e.type == EventType.error and e.agent == "wash_trade" for e in events)
    assert not any(e.step == "weigh_evidence" for e in events)  # no determination without it


async def test_an_alert_for_an_unknown_account_completes_and_needs_review(store: Store) -> None:
    unknown_account = demo_alert(store, "ALR-007-04").model_copy(update={"account": "NOBODY"})
    events = await collect(unknown_account, store)
    assert_well_formed(events)
    assert events[-1].data["state"] == "completed"
    determination = Determination.model_validate(events[-1].data["determination"])
    assert determination.disposition == Disposition.needs_review
    assert "account NOBODY is not in the store" in determination.narrative
