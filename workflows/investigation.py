"""`AlertInvestigationWorkflow`: one alert, investigated durably and streamed live.

Why it is built this way
- The workflow owns the task's state and its event stream (`workflows.event_log`:
  `ProgressEvent`s at contiguous offsets, surveil's own replacement for Workflow
  Streams, whose hand-off carried the whole log and whose wire format is base64). The
  stream's offset is the SSE id everywhere, so any number of API processes can serve
  the same task and a viewer resumes exactly where it left off. The workflow itself
  does no I/O: triage and synthesis (LLM graphs) and each specialist (an A2A agent)
  run in activities, which publish their events straight into this stream in batches
  (the `publish` signal, plain JSON), not through activity results — a 10-minute
  analysis is visible as it happens. Readers page it with the `events` Query, which
  writes no history.
- Every event that reaches the stream is folded (`EventFold`) into the per-agent step
  states of the `snapshot` query and into relay positions: for each agent, the A2A
  task it runs and the highest `(agent, seq)` already in the stream. A retried
  activity asks for its position (`relay_position` query) and relays only what is
  not there yet, so a killed worker or agent never duplicates an event.
- Exactly once: a batch already taken (same publisher and batch number) is dropped,
  and so is every relayed event whose `(agent, seq)` the stream already holds.
- Runs are bounded in every phase: when the server suggests it, or this run's history
  events, history bytes, Updates or stream events pass the input's limits (set well
  under half of Temporal's), the workflow stops its producers — the relays of running
  specialists (not the agents' tasks), or an LLM step, which the next run starts
  again — waits for them to flush, and continues-as-new. What it carries grows with
  agents, steps and runs, never with events: the progress, the relay positions and a
  `StreamCursor` (next offset + the closed runs' segments). Older offsets are read
  from the closed run that holds them (the same Query, answered by replay).
- Triggers are counts (`max_run_events` counts this run's stream events), so a test
  can force a hand-off by content, whatever the scheduler did.
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
  next run — same alert, `run + 1`, the completed findings to reuse, the stream
  cursor (so offsets continue above the failed run's, whose segment stays readable)
  and the relay positions (so seqs stay unique). The helper starts that run under the
  same workflow id. A reader from 0 then reads through the failed run's terminal
  event to the final one: only the newest run's terminal event ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        CANCEL_SPECIALIST_TASK,
        RELAY_POSITION_QUERY,
        RUN_SPECIALIST,
        SYNTHESIZE,
        TRIAGE,
        CancelSpecialistInput,
        RelayPosition,
        SpecialistInput,
        SpecialistOutcome,
        SynthesisInput,
        SynthesisOutcome,
        TriageInput,
        TriageOutcome,
    )
    from activities.live_feed import LIVE_FEEDS
    from surveil.events import ORCHESTRATOR, EventType, ProgressEvent
    from surveil.models import Determination, Finding, Specialist
    from surveil.stream import (
        EVENTS_QUERY,
        NEXT_OFFSET_QUERY,
        PUBLISH_SIGNAL,
        EventPage,
        PublishBatch,
    )
    from surveil.tasks import Answer, TaskSnapshot, TaskState
    from surveil.tenants import validate_tenant
    from workflows.admission import AdmissionTicket
    from workflows.event_log import BatchDeduper, EventLog
    from workflows.inputs import (
        InvestigationInput,
        Progress,
    )
    from workflows.snapshot import EventFold

__all__ = [
    "ANSWER_UPDATE",
    "CANCEL_SIGNAL",
    "EVENTS_QUERY",
    "NEXT_OFFSET_QUERY",
    "PUBLISH_SIGNAL",
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

# Per-run limits (workflows/inputs.py), each well under half of Temporal's (51,200
# events, 50 MB, 2,000 Updates; warnings at 10,240 events / 10 MB): a run hands off
# long before any.
# An LLM step is not started in a run that has used this share of a limit: it would
# likely have to hand off mid-answer and start again (paying the LLM twice).
_EARLY_HANDOFF = 0.6

# Activities heartbeat every 2 s: a killed worker is noticed within this timeout and
# its activities resume on another worker within ~10 s.
_HEARTBEAT_TIMEOUT = timedelta(seconds=8)

_LLM_STEP = {
    # Room for SURVEIL_LLM_MAX_WAIT_S (default 15 min) of riding out the endpoint.
    "start_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": _HEARTBEAT_TIMEOUT,
    "retry_policy": RetryPolicy(
        maximum_attempts=3,
        initial_interval=timedelta(seconds=1),
        # agents/llm_errors.py: the endpoint refused for good (a setting to fix), or stayed
        # down for the whole wait budget; another attempt would only repeat that.
        non_retryable_error_types=["LLMSettingsError", "LLMUnavailable"],
    ),
}
_SPECIALIST = {
    "start_to_close_timeout": timedelta(minutes=60),
    "heartbeat_timeout": _HEARTBEAT_TIMEOUT,
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


class _Canceled(Exception):
    pass


class _HandOff(Exception):
    """History is getting long: continue as new."""


@workflow.defn
class AlertInvestigationWorkflow:
    @workflow.init
    def __init__(self, inp: InvestigationInput) -> None:
        self.inp = inp
        self.log = EventLog(inp.stream, workflow.info().run_id)
        self.batches = BatchDeduper(inp.published)
        self.updates = 0  # Updates this run accepted (each is history)
        self.progress = inp.progress or Progress(
            findings={f.specialist.value: f for f in inp.reuse_findings},
            fold=EventFold(positions=dict(inp.positions)),
        )
        self.determination: Determination | None = None
        self.error: str | None = None
        self.cancel_requested = False
        # Per-tenant cap on running investigations (workflows/admission.py).
        self.admission = AdmissionTicket(inp.alert.tenant, self.progress.fold)

    # -- the investigation ---------------------------------------------------

    @workflow.run
    async def run(self, inp: InvestigationInput) -> TaskSnapshot:
        """The investigation, stoppable by a Temporal cancellation request (what the API
        sends) as gracefully as by the `cancel` signal: the request only sets
        `cancel_requested` (the work runs in its own, shielded task, so the request does
        not cut an activity or a relay mid-flush), the investigation ends with its
        `canceled` terminal event, and then the execution closes as CANCELED, so the
        Temporal Web UI and visibility say canceled too."""
        work = asyncio.create_task(self._investigate(inp))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            if work.done():
                raise
            self.cancel_requested = True
            await work
            raise  # the run closes as CANCELED

    async def _investigate(self, inp: InvestigationInput) -> TaskSnapshot:
        if inp.progress is None:
            self._start()
        try:
            if workflow.patched("tenant-admission") and not await self.admission.wait_for_slot(
                self._status, lambda: self.cancel_requested
            ):
                raise _Canceled
            if self.progress.specialists is None:
                await self._llm_step(self._triage, "triage")
            await self._specialists()
            self.determination = await self._llm_step(self._synthesize, "synthesis")
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
            TRIAGE,
            TriageInput(alert=self.inp.alert, position=self._position(ORCHESTRATOR)),
            result_type=TriageOutcome,
            summary="triage: which specialists?",
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
            outcome = await workflow.execute_activity(
                RUN_SPECIALIST,
                SpecialistInput(
                    alert=self.inp.alert,
                    agent=agent,
                    position=self._position(name),
                    answer=answer,
                    answer_expired=expired,
                ),
                result_type=SpecialistOutcome,
                summary=f"{name} specialist" + (" (with the analyst's answer)" if answer else ""),
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
            SYNTHESIZE,
            SynthesisInput(
                alert=self.inp.alert,
                findings=self._findings(),
                position=self._position(ORCHESTRATOR),
            ),
            result_type=SynthesisOutcome,
            summary="synthesis: the determination and its narrative",
            **_LLM_STEP,
        )
        return outcome.determination

    async def _llm_step(self, step, name: str):  # type: ignore[no-untyped-def]
        """Run an LLM pass, unless canceled or the run must hand off.

        An LLM does not resume mid-answer: a step cut by a hand-off runs again in the
        next run (its events so far stay in the stream; the restart says so). So a
        step is not started in a run that is already well into its limits.
        """
        if self._handoff_due(share=_EARLY_HANDOFF):
            raise _HandOff
        # A step that a run starts with is not cut by this run's own limits: it would
        # start over in the next run and be cut again, for ever. Only Temporal's own
        # suggestion (near its hard limits) hands it off.
        first_in_run = len(self.log) == 0
        task = asyncio.create_task(step())
        await workflow.wait_condition(
            lambda: (
                task.done()
                or self.cancel_requested
                or (
                    workflow.info().is_continue_as_new_suggested()
                    if first_in_run
                    else self._handoff_due()
                )
            )
        )
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self.cancel_requested:
            raise _Canceled
        self._status(
            TaskState.working, f"{name} continues in the next run of the workflow", restarts=name
        )
        raise _HandOff

    async def _cancel_specialist_tasks(self) -> None:
        for agent in self.progress.specialists or []:
            position = self._position(agent.value)
            if position.a2a_task_id and agent.value not in self.progress.findings:
                try:
                    await workflow.execute_activity(
                        CANCEL_SPECIALIST_TASK,
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
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _continue_as_new(self) -> None:
        info = workflow.info()
        workflow.logger.info(
            "handing off at %d history events, %d bytes, %d updates, %d stream events",
            info.get_current_history_length(),
            info.get_current_history_size(),
            self.updates,
            len(self.log),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        cursor = self.log.cursor_after()
        self.log.close()
        workflow.continue_as_new(
            self.inp.model_copy(
                update={
                    "stream": cursor,
                    "published": self.batches.carried(),
                    "progress": self.progress,
                }
            )
        )

    def _handoff_due(self, share: float = 1.0) -> bool:
        """Has this run used `share` of any of its limits?"""
        info, inp = workflow.info(), self.inp
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= share * inp.max_history_events
            or info.get_current_history_size() >= share * inp.max_history_bytes
            or self.updates >= share * inp.max_updates
            or len(self.log) >= share * inp.max_run_events
        )

    # -- the stream -------------------------------------------------------------

    def _status(self, state: TaskState, text: str, **data: object) -> None:
        waiting = state == TaskState.working and self.progress.questions
        self.progress.state = TaskState.input_required if waiting else state
        # What the Temporal Web UI shows as the workflow's current details.
        workflow.set_current_details(
            f"**{self.progress.state.value}** (run {self.inp.run}, offset "
            f"{self.log.next_offset}): {text}"
        )
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
        self.log.append(event)
        self._stream_advanced()

    def _stream_advanced(self) -> None:
        """Tell this worker's live tail (activities/live_feed.py) that the stream grew,
        so the API processes following it read it now. A hint outside the workflow's
        state and commands; a replay has no news, so it stays silent."""
        if not workflow.unsafe.is_replaying():
            LIVE_FEEDS.stream_advanced(workflow.info().workflow_id, self.log.next_offset)

    def _findings(self) -> list[Finding]:
        """In triage's order, not in the order the parallel specialists finished."""
        order = [a.value for a in self.progress.specialists or []]
        ranked = sorted(self.progress.findings, key=lambda a: order.index(a) if a in order else 99)
        return [self.progress.findings[a] for a in ranked]

    def _position(self, agent: str) -> RelayPosition:
        return self.progress.fold.position(agent)

    # -- queries, signals, updates ---------------------------------------------

    @workflow.signal(name=PUBLISH_SIGNAL)
    def publish(self, batch: PublishBatch) -> None:
        """Take a producer's batch: each event once, in arrival order."""
        if not self.batches.is_new(batch.publisher, batch.batch):
            return
        for event in batch.events:
            if event.seq is not None and event.seq <= self._position(event.agent).last_seq:
                continue  # already in the stream (a zombie attempt re-sending it)
            if self.log.closed:
                workflow.logger.warning("dropped an event after the run closed: %.200r", event)
                continue
            self.progress.fold.apply(event)
            self.log.append(event)
        self._stream_advanced()

    @workflow.query(name=EVENTS_QUERY)
    def events_page(self, from_offset: int) -> EventPage:
        return self.log.page(from_offset)

    @workflow.query(name=NEXT_OFFSET_QUERY)
    def next_offset(self) -> int:
        return self.log.next_offset

    @workflow.query(name=SNAPSHOT_QUERY)
    def snapshot(self) -> TaskSnapshot:
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
            last_offset=self.log.next_offset - 1,
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
                "stream": self.log.cursor_after(),
                "published": self.batches.carried(),
                "progress": None,
                "positions": positions,
            }
        )

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self) -> None:
        self.cancel_requested = True

    @workflow.update(name=ANSWER_UPDATE)
    def answer(self, answer: Answer) -> None:
        self.updates += 1
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
