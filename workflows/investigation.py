"""`AlertInvestigationWorkflow`: one alert, investigated durably and streamed live.

Why it is built this way
- The workflow owns the task's state and its event stream (Workflow Streams, topic
  `events`, items `ProgressEvent`). The stream's offset is the SSE id everywhere, so
  any number of API processes can serve the same task and a viewer resumes exactly
  where it left off. The workflow itself does no I/O: triage and synthesis (LLM
  graphs) and each specialist (an A2A agent) run in activities, which publish their
  events straight into this stream in batches (signals), not through activity
  results — a 5-minute analysis is visible as it happens.
- Every event that reaches the stream is folded (`EventFold`) into the per-agent step
  states of the `snapshot` query and into relay positions: for each agent, the A2A
  task it runs and the highest `(agent, seq)` already in the stream. A retried
  activity asks for its position (`relay_position` query) and relays only what is
  not there yet, so a killed worker or agent never duplicates an event.
- History is bounded: a long specialist phase with token streaming and live viewers
  (each long-poll is an Update) would outgrow a run. When the server suggests it, or
  the history passes `max_history_events`, the workflow cancels the relays (not the
  agents' tasks), waits for them to flush, and continues-as-new carrying the stream
  state, the progress and the relay positions; the next run resumes the same A2A
  tasks. Offsets keep increasing across runs.
- A question from a specialist (A2A input-required) pauses that specialist: the
  workflow shows it (snapshot + `input_required` status), waits for the `answer`
  Update up to `input_timeout_s` (from the input, so replay is deterministic), then
  runs the specialist again with the answer on the same A2A task — or with "no
  answer", which makes the finding `needs_review`.
- Terminal state is always one last orchestrator `status` event with
  `data.state` in completed | failed | canceled | timed_out. A failed or timed-out
  investigation also fails the workflow execution (red in the Temporal UI).
- Retry (`retry_investigation` in `workflows.client`): a failed, canceled or
  timed-out run stays queryable; its `retry_input` query returns the input of the
  next run — same alert, `run + 1`, the completed findings to reuse, the stream state
  (so offsets continue above the failed run's) and the relay positions (so seqs stay
  unique). The helper starts that run under the same workflow id.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.contrib.workflow_streams import PublishInput, WorkflowStream, WorkflowStreamState
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        EVENTS_TOPIC,
        RELAY_POSITION_QUERY,
        CancelSpecialistInput,
        RelayPosition,
        SpecialistInput,
        SpecialistOutcome,
        SynthesisInput,
        TriageInput,
    )
    from activities.llm_steps import synthesize, triage
    from activities.specialist import cancel_specialist_task, run_specialist
    from surveil.events import ORCHESTRATOR, EventType, ProgressEvent
    from surveil.models import Alert, Determination, Finding, Specialist
    from surveil.tasks import Answer, Question, TaskSnapshot, TaskState
    from surveil.tenants import validate_tenant
    from workflows.admission import AdmissionTicket
    from workflows.snapshot import EventFold

__all__ = [
    "ANSWER_UPDATE",
    "CANCEL_SIGNAL",
    "EVENTS_TOPIC",
    "RELAY_POSITION_QUERY",
    "RETRY_INPUT_QUERY",
    "SNAPSHOT_QUERY",
    "AlertInvestigationWorkflow",
    "InvestigationInput",
    "workflow_id_for",
]

SNAPSHOT_QUERY = "snapshot"
CANCEL_SIGNAL = "cancel"
ANSWER_UPDATE = "answer"
RETRY_INPUT_QUERY = "retry_input"

# Workflow Streams' own handler names (its wire protocol, documented in its README).
_STREAM_PUBLISH_SIGNAL = "__temporal_workflow_stream_publish"
_STREAM_OFFSET_QUERY = "__temporal_workflow_stream_offset"

DEFAULT_MAX_HISTORY_EVENTS = 8_000  # continue-as-new well before the 10,240 warning

_LLM_STEP = {
    # Room for SURVEIL_LLM_MAX_WAIT_S (default 15 min) of riding out the endpoint.
    "start_to_close_timeout": timedelta(minutes=20),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        maximum_attempts=3,
        initial_interval=timedelta(seconds=1),
        # agents/llm_errors.py: the endpoint refused for good (a setting to fix), or stayed
        # down for the whole wait budget; another attempt would only repeat that.
        non_retryable_error_types=["LLMSettingsError", "LLMUnavailable"],
    ),
}
_SPECIALIST = {
    "start_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": timedelta(seconds=30),
    # An agent killed and restarted within ~half a minute is picked up again.
    "retry_policy": RetryPolicy(
        maximum_attempts=8,
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=8),
    ),
    # The relay flushes what it buffered before the workflow moves on.
    "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
}

_ALERT_TYPE = SearchAttributeKey.for_keyword("AlertType")
_ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
_INSTRUMENT = SearchAttributeKey.for_keyword("Instrument")
_TENANT = SearchAttributeKey.for_keyword("Tenant")
_DISPOSITION = SearchAttributeKey.for_keyword("Disposition")


def workflow_id_for(tenant: str, alert_id: str) -> str:
    """Unambiguous because a tenant name has no `-` (surveil/tenants.py says why)."""
    return f"alert-{validate_tenant(tenant)}-{alert_id}"


class Progress(BaseModel):
    """What a run has achieved; carried by continue-as-new."""

    state: TaskState = TaskState.submitted
    specialists: list[Specialist] | None = None  # None until triage decided
    findings: dict[str, Finding] = {}
    questions: dict[str, Question] = {}
    question_deadlines: dict[str, datetime] = {}
    answers: dict[str, str] = {}  # received, not yet delivered to the specialist
    fold: EventFold = Field(default_factory=EventFold)


class InvestigationInput(BaseModel):
    alert: Alert
    reuse_findings: list[Finding] = []  # from the failed run a retry continues
    stream_state: WorkflowStreamState | None = None
    run: int = 1  # 1 + number of retries
    input_timeout_s: float = 120.0
    max_history_events: int = DEFAULT_MAX_HISTORY_EVENTS
    # Set by continue-as-new only: the run continues where the previous one stopped.
    progress: Progress | None = None
    # Carried into a retry run so `(agent, seq)` stays unique across runs.
    positions: dict[str, RelayPosition] = {}


class _Canceled(Exception):
    pass


class _HandOff(Exception):
    """History is getting long: continue as new."""


@workflow.defn
class AlertInvestigationWorkflow:
    @workflow.init
    def __init__(self, inp: InvestigationInput) -> None:
        self.inp = inp
        self.stream = WorkflowStream(prior_state=inp.stream_state)
        self.events = self.stream.topic(EVENTS_TOPIC, type=ProgressEvent)
        self.progress = inp.progress or Progress(
            findings={f.specialist.value: f for f in inp.reuse_findings},
            fold=EventFold(positions=dict(inp.positions)),
        )
        self.determination: Determination | None = None
        self.error: str | None = None
        self.cancel_requested = False
        # Per-tenant cap on running investigations (workflows/admission.py).
        self.admission = AdmissionTicket(inp.alert.tenant, self.progress.fold)
        self._fold_published_events()

    # -- the investigation ---------------------------------------------------

    @workflow.run
    async def run(self, inp: InvestigationInput) -> TaskSnapshot:
        if inp.progress is None:
            self._start()
        try:
            if workflow.patched("tenant-admission") and not await self.admission.wait_for_slot(
                self._status, lambda: self.cancel_requested
            ):
                raise _Canceled
            if self.progress.specialists is None:
                await self._until_done(self._triage())
            await self._specialists()
            self.determination = await self._until_done(self._synthesize())
        except _HandOff:
            await self._continue_as_new()
        except (_Canceled, asyncio.CancelledError):
            await self._finish(TaskState.canceled, "investigation canceled")
            return self.snapshot()
        except ActivityError as err:
            timed_out = isinstance(err.cause, ActivityTimeout)
            self.error = str(err.cause.message if err.cause else err)  # type: ignore[attr-defined]
            state = TaskState.timed_out if timed_out else TaskState.failed
            await self._finish(state, self.error)
            raise ApplicationError(f"investigation {state.value}: {self.error}") from err
        await self._finish(TaskState.completed, "investigation completed")
        return self.snapshot()

    def _start(self) -> None:
        alert = self.inp.alert
        workflow.upsert_search_attributes(
            [
                _ALERT_TYPE.value_set(alert.type.value),
                _ACCOUNT_ID.value_set(alert.account),
                _INSTRUMENT.value_set(alert.instrument),
                _TENANT.value_set(alert.tenant),
            ]
        )
        retried = f" (retry, run {self.inp.run})" if self.inp.run > 1 else ""
        self._status(TaskState.submitted, f"alert {alert.id} submitted{retried}")

    async def _triage(self) -> None:
        self._status(TaskState.working, "triage: choosing specialists")
        outcome = await workflow.execute_activity(
            triage,
            TriageInput(alert=self.inp.alert, position=self._position(ORCHESTRATOR)),
            **_LLM_STEP,
        )
        self.progress.specialists = outcome.specialists
        names = ", ".join(outcome.specialists) or "none"
        self._status(TaskState.working, f"specialists: {names}", specialists=outcome.specialists)

    async def _specialists(self) -> None:
        assert self.progress.specialists is not None
        for agent in self.progress.specialists:
            if agent.value in self.progress.findings and self.inp.progress is None:
                self._status(
                    TaskState.working, f"{agent.value}: reusing the finding of the previous run"
                )
        drivers = [
            asyncio.create_task(self._drive(agent))
            for agent in self.progress.specialists
            if agent.value not in self.progress.findings
        ]
        if not drivers:
            return

        def failure() -> BaseException | None:
            return next(
                (
                    d.exception()
                    for d in drivers
                    if d.done() and not d.cancelled() and d.exception()
                ),
                None,
            )

        await workflow.wait_condition(
            lambda: (
                all(d.done() for d in drivers)
                or failure() is not None
                or self.cancel_requested
                or self._handoff_due()
            )
        )
        # Decided before cancelling: a relay we cancel ends in an error too.
        failed, finished = failure(), all(d.done() for d in drivers)
        if finished and failed is None:
            return
        for driver in drivers:
            driver.cancel()
        # Each relay acknowledges its cancellation after flushing its events.
        await asyncio.gather(*drivers, return_exceptions=True)
        if failed is not None or self.cancel_requested:
            await self._cancel_specialist_tasks()
        if failed is not None:
            raise failed
        if self.cancel_requested:
            raise _Canceled
        raise _HandOff

    async def _drive(self, agent: Specialist) -> None:
        """Run one specialist to its finding, through any questions it asks."""
        name = agent.value
        while True:
            answer, expired = None, False
            if name in self.progress.questions:
                answer, expired = await self._wait_for_answer(name)
            outcome: SpecialistOutcome = await workflow.execute_activity(
                run_specialist,
                SpecialistInput(
                    alert=self.inp.alert,
                    agent=agent,
                    position=self._position(name),
                    answer=answer,
                    answer_expired=expired,
                ),
                **_SPECIALIST,
            )
            if outcome.finding is not None:
                self.progress.findings[name] = outcome.finding
                return
            assert outcome.question is not None
            self.progress.questions[name] = outcome.question
            self.progress.question_deadlines[name] = workflow.now() + timedelta(
                seconds=self.inp.input_timeout_s
            )
            self._status(
                TaskState.input_required,
                f"{name} asks: {outcome.question.text}",
                agent=name,
                question=outcome.question.text,
                expires_at=self.progress.question_deadlines[name].isoformat(),
                options=outcome.question.options,
            )

    async def _wait_for_answer(self, agent: str) -> tuple[str | None, bool]:
        remaining = (self.progress.question_deadlines[agent] - workflow.now()).total_seconds()
        if remaining > 0 and agent not in self.progress.answers:
            # wait_condition raises TimeoutError at the deadline: no answer came.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: agent in self.progress.answers, timeout=remaining
                )
        self.progress.questions.pop(agent, None)
        self.progress.question_deadlines.pop(agent, None)
        answer = self.progress.answers.pop(agent, None)
        if answer is None:
            self._status(
                TaskState.working,
                f"no answer for {agent} in time; its finding will need review",
                agent=agent,
            )
            return None, True
        self._status(TaskState.working, f"analyst answered {agent}: {answer}", agent=agent)
        return answer, False

    async def _synthesize(self) -> Determination:
        self._status(TaskState.working, "synthesis: weighing the findings")
        outcome = await workflow.execute_activity(
            synthesize,
            SynthesisInput(
                alert=self.inp.alert,
                findings=self._findings(),
                position=self._position(ORCHESTRATOR),
            ),
            **_LLM_STEP,
        )
        return outcome.determination

    async def _until_done(self, step):  # type: ignore[no-untyped-def]
        """Run a step that cannot be handed off (an LLM pass), unless canceled."""
        task = asyncio.create_task(step)
        await workflow.wait_condition(lambda: task.done() or self.cancel_requested)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise _Canceled
        return task.result()

    async def _cancel_specialist_tasks(self) -> None:
        for agent in self.progress.specialists or []:
            position = self._position(agent.value)
            if position.a2a_task_id and agent.value not in self.progress.findings:
                try:
                    await workflow.execute_activity(
                        cancel_specialist_task,
                        CancelSpecialistInput(agent=agent, a2a_task_id=position.a2a_task_id),
                        start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=RetryPolicy(maximum_attempts=3),
                    )
                except ActivityError as err:
                    workflow.logger.warning("could not cancel %s: %s", agent.value, err)

    async def _finish(self, state: TaskState, text: str) -> None:
        self.progress.state = state
        data: dict = {}
        if self.determination is not None:
            data["determination"] = self.determination.model_dump(mode="json")
            workflow.upsert_search_attributes(
                [_DISPOSITION.value_set(self.determination.disposition.value)]
            )
        if self.error:
            data["error"] = self.error
        self._status(state, text, **data)
        await self.admission.release()
        # Release long-polling viewers with the terminal event before the run closes.
        self.stream.detach_pollers()
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _continue_as_new(self) -> None:
        workflow.logger.info("continuing as new at %d events", self._history_length())
        await self.stream.continue_as_new(
            lambda state: [
                self.inp.model_copy(update={"stream_state": state, "progress": self.progress})
            ]
        )

    def _handoff_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.inp.max_history_events
        )

    @staticmethod
    def _history_length() -> int:
        return workflow.info().get_current_history_length()

    # -- the stream -------------------------------------------------------------

    def _status(self, state: TaskState, text: str, **data: object) -> None:
        waiting = state == TaskState.working and self.progress.questions
        self.progress.state = TaskState.input_required if waiting else state
        self._publish(
            ProgressEvent(
                type=EventType.status,
                agent=ORCHESTRATOR,
                text=text,
                data={"state": state.value, "run": self.inp.run, **data},
            )
        )

    def _publish(self, event: ProgressEvent) -> None:
        # The default timestamp reads the wall clock; in a workflow only workflow.now()
        # is deterministic.
        event = event.model_copy(update={"timestamp": workflow.now()})
        self.progress.fold.apply(event)
        self.events.publish(event)

    def _findings(self) -> list[Finding]:
        """In triage's order, not in the order the parallel specialists finished."""
        order = [a.value for a in self.progress.specialists or []]
        ranked = sorted(self.progress.findings, key=lambda a: order.index(a) if a in order else 99)
        return [self.progress.findings[a] for a in ranked]

    def _position(self, agent: str) -> RelayPosition:
        return self.progress.fold.position(agent)

    def _fold_published_events(self) -> None:
        """Fold every batch activities publish, after the stream's own handler (which
        drops a batch it has already seen) appended it."""
        append = workflow.get_signal_handler(_STREAM_PUBLISH_SIGNAL)
        offset = workflow.get_query_handler(_STREAM_OFFSET_QUERY)
        assert append is not None and offset is not None
        converter = workflow.payload_converter()

        def on_publish(batch: PublishInput) -> None:
            before = offset()
            append(batch)
            if offset() == before:
                return
            for entry in batch.items:
                if entry.topic == EVENTS_TOPIC:
                    payload = Payload.FromString(base64.b64decode(entry.data))
                    self.progress.fold.apply(converter.from_payload(payload, ProgressEvent))

        workflow.set_signal_handler(_STREAM_PUBLISH_SIGNAL, on_publish)

    # -- queries, signals, updates ---------------------------------------------

    @workflow.query(name=SNAPSHOT_QUERY)
    def snapshot(self) -> TaskSnapshot:
        offset = workflow.get_query_handler(_STREAM_OFFSET_QUERY)
        assert offset is not None
        questions = list(self.progress.questions.values())
        return TaskSnapshot(
            alert=self.inp.alert,
            state=self.progress.state,
            agents=self.progress.fold.agents,
            findings=self._findings(),
            determination=self.determination,
            question=questions[0] if questions else None,
            error=self.error,
            run=self.inp.run,
            last_offset=offset() - 1,
            queue_position=self.progress.fold.queue_position,
        )

    @workflow.query(name=RELAY_POSITION_QUERY)
    def relay_position(self, agent: str) -> RelayPosition:
        return self._position(agent)

    @workflow.query(name=RETRY_INPUT_QUERY)
    def retry_input(self, fresh: bool = False) -> InvestigationInput:
        """The input of the run that retries this one (see the module docstring).

        `fresh` (a re-run, e.g. after new data was imported or a question was answered
        too late): also after a completed run, and nothing is reused — every specialist
        runs again; the stream and the relay positions still go on."""
        finished: tuple[TaskState, ...] = (
            TaskState.failed,
            TaskState.canceled,
            TaskState.timed_out,
        )
        if fresh:
            finished = (*finished, TaskState.completed)
        if self.progress.state not in finished:
            raise ApplicationError(
                f"only a failed, canceled or timed-out investigation can be retried; "
                f"this one is {self.progress.state.value}",
                type="NotRetryable",
            )
        positions = {
            agent: position.model_copy(update={"a2a_task_id": None, "a2a_context_id": None})
            for agent, position in self.progress.fold.positions.items()
        }
        return self.inp.model_copy(
            update={
                "run": self.inp.run + 1,
                "reuse_findings": [] if fresh else list(self.progress.findings.values()),
                "stream_state": self.stream.get_state(),
                "progress": None,
                "positions": positions,
            }
        )

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self) -> None:
        self.cancel_requested = True

    @workflow.update(name=ANSWER_UPDATE)
    def answer(self, answer: Answer) -> None:
        agent = self._question_for(answer)
        self.progress.answers[agent] = answer.text

    @answer.validator
    def _validate_answer(self, answer: Answer) -> None:
        self._question_for(answer)

    def _question_for(self, answer: Answer) -> str:
        """The agent whose question this answers ("" = the only open question)."""
        open_questions = [a for a in self.progress.questions if a not in self.progress.answers]
        if answer.agent:
            if answer.agent not in open_questions:
                raise ValueError(f"no question from {answer.agent!r} is waiting for an answer")
            return answer.agent
        if len(open_questions) != 1:
            raise ValueError(
                "no question is waiting for an answer"
                if not open_questions
                else f"several agents wait for an answer ({', '.join(open_questions)}); "
                "name the agent"
            )
        return open_questions[0]
