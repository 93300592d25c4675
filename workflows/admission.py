"""Per-tenant admission: at most N investigations of a tenant run at once, the rest queue.

Why it is built this way
- A day's backlog submitted at once must not start hundreds of LLM-heavy
  investigations together (the provider would answer 429 to most of them). Each
  investigation is still started at once (so it has its id, its stream and its place
  in the queue listing from the first second) but, before triage, asks its tenant's
  `TenantAdmissionWorkflow` for a slot and waits, publishing "queued: position n".
- One admission workflow per tenant (`admission-<tenant>`) owns the FIFO queue and the
  set of running investigations: Temporal serialises its signals, so there is no race
  between two workers admitting the same slot. The investigation asks through an
  activity (activities/admission.py: signal-with-start, then a position query) and
  releases its slot with a signal when it ends, whatever the outcome. The admission
  workflow tells a waiting investigation its place (`queued` signal, once, when it
  joins the queue) and its turn (`admitted`); the investigation publishes both. No
  Query on the hot path: hundreds of investigations asking one workflow at once
  overflow its consistent-query buffer.
- Requests are idempotent per investigation id (a retried activity, a retry run of
  the same alert while it still holds its slot). A continue-as-new of the
  investigation keeps its slot: the fold carries "admitted" into the next run.
- The admission workflow's history grows with requests and releases; it continues
  as new when the server suggests it, carrying the queue. Idle for an hour, it ends;
  the next request starts it again.
- An investigation terminated from outside (not canceled: terminated) never releases
  its slot; the slot stays taken until an operator signals `release` with its id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.admission import (
        ADMISSION_WORKFLOW,
        ADMITTED_SIGNAL,
        POSITION_QUERY,
        QUEUED_SIGNAL,
        RELEASE_SIGNAL,
        REQUEST_SIGNAL,
        STATE_QUERY,
        AdmissionState,
        SlotRequest,
        admission_workflow_id,
        request_slot,
    )
    from surveil.tasks import TaskState
    from workflows.snapshot import EventFold

IDLE_END = timedelta(hours=1)
MAX_HISTORY_EVENTS = 5_000


@workflow.defn(name=ADMISSION_WORKFLOW)
class TenantAdmissionWorkflow:
    @workflow.init
    def __init__(self, state: AdmissionState) -> None:
        self.state = state.model_copy(deep=True)

    @workflow.run
    async def run(self, state: AdmissionState) -> None:
        while True:
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._admissible() or bool(self.state.unannounced) or self._handoff_due()
                    ),
                    timeout=IDLE_END,
                )
            except TimeoutError:
                if not self.state.queue and not self.state.running:
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return
                continue
            if self._handoff_due():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)
            admitted = []
            while self._admissible():
                workflow_id = self.state.queue.pop(0)
                self.state.running.append(workflow_id)
                admitted.append(workflow_id)
            waiting = [w for w in self.state.unannounced if w in self.state.queue]
            self.state.unannounced.clear()
            # Concurrently: one workflow task for the lot, not one per investigation.
            await asyncio.gather(
                *(self._tell(workflow_id, ADMITTED_SIGNAL) for workflow_id in admitted),
                *(
                    self._tell(workflow_id, QUEUED_SIGNAL, self.state.queue.index(workflow_id) + 1)
                    for workflow_id in waiting
                ),
            )

    async def _tell(self, workflow_id: str, signal: str, *args: object) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(signal, *args)
        except FailureError as err:  # it ended (or was terminated) while it waited
            workflow.logger.warning("admission: %s is gone (%s); slot freed", workflow_id, err)
            self._forget(workflow_id)

    def _admissible(self) -> bool:
        return bool(self.state.queue) and len(self.state.running) < self.state.cap

    def _handoff_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= MAX_HISTORY_EVENTS
        )

    def _forget(self, workflow_id: str) -> None:
        for ids in (self.state.queue, self.state.running):
            if workflow_id in ids:
                ids.remove(workflow_id)

    @workflow.signal(name=REQUEST_SIGNAL)
    def request(self, request: SlotRequest) -> None:
        if request.cap > 0:
            self.state.cap = request.cap  # the settings of the newest worker win
        if request.workflow_id not in self.state.running + self.state.queue:
            self.state.queue.append(request.workflow_id)
            self.state.unannounced.append(request.workflow_id)

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, workflow_id: str) -> None:
        self._forget(workflow_id)

    @workflow.query(name=POSITION_QUERY)
    def position(self, workflow_id: str) -> int:
        """0: running; n >= 1: n-th in the queue; -1: unknown here."""
        if workflow_id in self.state.running:
            return 0
        if workflow_id in self.state.queue:
            return self.state.queue.index(workflow_id) + 1
        return -1

    @workflow.query(name=STATE_QUERY)
    def current(self) -> AdmissionState:
        return self.state


StatusPublisher = Callable[..., None]


class AdmissionTicket:
    """The investigation's side: wait for a slot before the work starts, free it after.

    Lives in AlertInvestigationWorkflow (two hooks: `wait_for_slot` before triage,
    `release` when the run ends). What it did is published as orchestrator status
    events with `data.admission` ("queued" with `position`, or "admitted"), which the
    fold records, so a continued-as-new run knows it holds a slot.
    """

    def __init__(self, tenant: str, fold: EventFold) -> None:
        self.tenant = tenant
        self.fold = fold
        self.admitted = False
        self.position: int | None = None
        workflow.set_signal_handler(ADMITTED_SIGNAL, self._on_admitted)
        workflow.set_signal_handler(QUEUED_SIGNAL, self._on_queued)

    def _on_admitted(self) -> None:
        self.admitted = True

    def _on_queued(self, position: int) -> None:
        self.position = position

    async def wait_for_slot(self, status: StatusPublisher, canceled: Callable[[], bool]) -> bool:
        """True once admitted (at once without a cap); False if canceled while queued."""
        if self.fold.admission == "admitted":  # this run continues one that held a slot
            return True
        grant = await workflow.execute_activity(
            request_slot,
            SlotRequest(tenant=self.tenant, workflow_id=workflow.info().workflow_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
        )
        if not grant.capped:
            return True
        await workflow.wait_condition(
            lambda: self.admitted or self.position is not None or canceled()
        )
        if not self.admitted and self.position is not None:
            status(
                TaskState.submitted,
                f"queued: position {self.position} among tenant {self.tenant}'s investigations "
                f"waiting (at most {grant.cap} run at once)",
                admission="queued",
                position=self.position,
            )
        await workflow.wait_condition(lambda: self.admitted or canceled())
        if not self.admitted:
            return False
        status(TaskState.working, "admitted: a slot is free, the investigation starts",
               admission="admitted")  # fmt: skip
        return True

    async def release(self) -> None:
        """Free the slot (if this run held or asked for one)."""
        if self.fold.admission is None:
            return
        handle = workflow.get_external_workflow_handle(admission_workflow_id(self.tenant))
        try:
            await handle.signal(RELEASE_SIGNAL, workflow.info().workflow_id)
        except FailureError as err:  # the admission workflow ended: nothing to free
            workflow.logger.warning("admission: could not release the slot: %s", err)
