"""The investigation's progress as the workflow sees it, folded from its own stream.

Every event that reaches the stream (published by the workflow itself or relayed by
an activity) passes through `EventFold.apply`, in stream order, so the per-agent step
states in the `snapshot` query and the relay positions that resuming activities ask
for are exactly what the stream says — on replay too. Pure code: no I/O, no clock.
"""

from __future__ import annotations

from pydantic import BaseModel

from activities.contracts import RELAY_KEY, RelayPosition
from surveil.events import EventType, ProgressEvent
from surveil.tasks import AgentState, StepState
from surveil.usage import USAGE_KEY, LLMUsage

_AGENT_STATUS_FOR_STATE = {
    "submitted": "working",
    "working": "working",
    "input_required": "input_required",
    "completed": "done",
    "failed": "failed",
    "canceled": "failed",
    "timed_out": "failed",
}


class EventFold(BaseModel):
    """Per-agent steps and relay positions; carried across continue-as-new."""

    agents: list[AgentState] = []
    positions: dict[str, RelayPosition] = {}
    # Per-tenant admission (workflows/admission.py): "queued" (at queue_position) or
    # "admitted"; None when no cap applies.
    admission: str | None = None
    queue_position: int | None = None

    def position(self, agent: str) -> RelayPosition:
        return self.positions.get(agent) or RelayPosition(agent=agent)

    def apply(self, event: ProgressEvent) -> None:
        self._track_position(event)
        agent = self._agent(event.agent)
        data = event.data or {}
        if event.type == EventType.step_start:
            step = self._step(agent, event.step)
            step.status, step.progress = "running", event.progress or 0.0
            step.title = event.title or step.title
            agent.status = "working"
        elif event.type == EventType.step_progress:
            step = self._step(agent, event.step)
            if event.progress is not None:
                step.progress = event.progress
            agent.status = "working"
            if isinstance(data.get(USAGE_KEY), dict):
                used = LLMUsage.model_validate(data[USAGE_KEY])
                agent.usage = used if agent.usage is None else agent.usage + used
        elif event.type == EventType.step_complete:
            step = self._step(agent, event.step)
            step.status, step.progress = "done", 1.0
        elif event.type == EventType.finding:
            agent.status = "done"
        elif event.type == EventType.input_required:
            agent.status = "input_required"
        elif event.type == EventType.error:
            agent.status = "failed"
            if event.step:
                self._step(agent, event.step).status = "failed"
        elif event.type == EventType.status:
            agent.status = _AGENT_STATUS_FOR_STATE.get(str(data.get("state")), agent.status)
            if data.get("admission") in ("queued", "admitted"):
                self.admission = data["admission"]
                self.queue_position = data.get("position") if self.admission == "queued" else None

    def _track_position(self, event: ProgressEvent) -> None:
        relay = (event.data or {}).get(RELAY_KEY)
        if event.seq is None and not isinstance(relay, dict):
            return
        position = self.positions.setdefault(event.agent, RelayPosition(agent=event.agent))
        if event.seq is not None:
            position.last_seq = max(position.last_seq, event.seq)
        if isinstance(relay, dict):
            position.a2a_task_id = relay.get("a2a_task_id")
            position.a2a_context_id = relay.get("a2a_context_id")
            position.seq_base = int(relay.get("seq_base", position.seq_base))

    def _agent(self, name: str) -> AgentState:
        for agent in self.agents:
            if agent.agent == name:
                return agent
        agent = AgentState(agent=name)
        self.agents.append(agent)
        return agent

    @staticmethod
    def _step(agent: AgentState, name: str | None) -> StepState:
        name = name or "main"
        for step in agent.steps:
            if step.step == name:
                return step
        step = StepState(step=name)
        agent.steps.append(step)
        return step
