"""Progress events from graph nodes: every step announces its start, progress and end.

Events go through LangGraph's custom stream (`get_stream_writer()`), which
`agents.runner.GraphRun` turns into ProgressEvents for the A2A server, the CLI and
the workflow stream. Outside a streaming run the writer is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.config import get_stream_writer

from surveil.events import EventType, ProgressEvent
from surveil.models import Evidence

Progress = Callable[[float, str | None], None]
StepBody = Callable[[Mapping[str, Any], Progress], dict[str, Any]]


def emit(event_type: EventType, agent: str, step: str, **fields: Any) -> None:
    event = ProgressEvent(type=event_type, agent=agent, step=step, **fields)
    get_stream_writer()(event.model_dump(mode="json"))


def step(agent: str, name: str, title: str) -> Callable[[StepBody], Callable[..., dict[str, Any]]]:
    """Make `body(state, progress)` a graph node that reports step_start, any
    step_progress the body reports (0–1), and step_complete with the evidence it made."""

    def decorate(body: StepBody) -> Callable[..., dict[str, Any]]:
        def node(state: Mapping[str, Any]) -> dict[str, Any]:
            emit(EventType.step_start, agent, name, title=title, progress=0.0)

            def progress(fraction: float, text: str | None = None) -> None:
                emit(
                    EventType.step_progress, agent, name, title=title, progress=fraction, text=text
                )

            update = body(state, progress)
            made = update.get("evidence") or {}
            emit(
                EventType.step_complete,
                agent,
                name,
                title=title,
                progress=1.0,
                text="; ".join(_evidence_line(e) for e in made.values()) or None,
                data={"evidence": [e.model_dump(mode="json") for e in made.values()]}
                if made
                else None,
            )
            return update

        node.__name__ = name
        node.__doc__ = body.__doc__
        return node

    return decorate


def _evidence_line(evidence: Evidence) -> str:
    if evidence.unknown:
        return f"{evidence.name} unknown ({evidence.missing})"
    mark = "crossed" if evidence.passed else "not crossed"
    return f"{evidence.name} = {evidence.value:g} {evidence.unit} (threshold {evidence.threshold:g}, {mark})"


def merge_evidence(
    current: dict[str, Evidence] | None, update: dict[str, Evidence] | None
) -> dict[str, Evidence]:
    """State reducer: evidence by name, a later step may revise an earlier one."""
    return {**(current or {}), **(update or {})}
