"""`run_specialist`: the activity that is an A2A client of one specialist agent.

It streams the specialist's A2A task and relays each event into the workflow's
stream, heartbeating its position. A retried attempt (worker killed, agent
restarted, stream cut) finds where the relay stopped and picks the same A2A task up
again — `tasks/get`, then `tasks/resubscribe` while it still runs — or starts the
analysis over when the agent lost it, relaying nothing twice and saying in the
stream what happened. When the agent asks the analyst a question the activity
returns it; the workflow waits for the answer and runs this activity again with it.

The agent's task keeps only its recent events; whenever the next event the relay
gets is not the one after the last it relayed (a resumed attempt, a snapshot, a
stream that evicted it), it first reads the gap from the agent's event log.

Liveness is not progress: a stream that brings nothing for SURVEIL_AGENT_IDLE_TIMEOUT_S
while the task works counts as stalled; the attempt fails with a retryable error and
the retry resumes the A2A task. A dropped connection to the agent (its process
restarted, say) is reconnected within the attempt, for as long as that timeout.

Cancelling the activity stops the relay only; the A2A task keeps running so a later
attempt (after a continue-as-new, say) can resume it. `cancel_specialist_task`
cancels the analysis itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

import httpx
from a2a.client import A2AClientError, Client, ClientConfig, ClientFactory
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import CancelSpecialistInput, SpecialistInput, SpecialistOutcome
from activities.relay import EventRelay, recovered_position
from agents.a2a_events import (
    EVENT_LOG_PATH,
    PAUSED_STATES,
    TERMINAL_STATES,
    alert_message,
    answer_message,
    events_in,
    finding_in,
    state_of,
)
from agents.event_log import MAX_PAGE
from agents.server import specialist_spec
from agents.tls import agent_http_client
from surveil.events import EventType, ProgressEvent
from surveil.models import Finding
from surveil.settings import get_settings
from surveil.tasks import Question

# Connecting and plain requests time out; a stream may stay silent for as long as the
# agent thinks (the heartbeat timeout, not a read timeout, notices a dead worker).
_HTTP_TIMEOUT = httpx.Timeout(10.0, read=None)
# Pauses between attempts to reach an agent that dropped the connection.
_RECONNECT_BACKOFF_S = (0.5, 1.0, 2.0, 4.0)


@activity.defn
async def run_specialist(inp: SpecialistInput) -> SpecialistOutcome:
    position = inp.position
    if activity.info().attempt > 1:
        position = await recovered_position(position)
    url = specialist_spec(inp.agent).url(get_settings())
    async with EventRelay(position) as relay, _a2a_client(url) as (client, http):
        return await _SpecialistTask(inp, client, _EventLogReader(http, url), relay).follow()


@activity.defn
async def cancel_specialist_task(inp: CancelSpecialistInput) -> None:
    """Ask the specialist to stop an analysis nobody waits for any more."""
    url = specialist_spec(inp.agent).url(get_settings())
    async with _a2a_client(url) as (client, _):
        try:
            await client.cancel_task(CancelTaskRequest(id=inp.a2a_task_id))
        except (TaskNotFoundError, TaskNotCancelableError):
            activity.logger.info("task %s of %s already gone", inp.a2a_task_id, inp.agent)


@asynccontextmanager
async def _a2a_client(url: str) -> AsyncIterator[tuple[Client, httpx.AsyncClient]]:
    """An A2A client of the agent, and the HTTP client it uses (for the event log)."""
    # mTLS to the agents when SURVEIL_AGENT_TLS_* / _CLIENT_* are set (agents/tls.py).
    async with agent_http_client(timeout=_HTTP_TIMEOUT) as http:
        client = await ClientFactory(
            ClientConfig(streaming=True, httpx_client=http)
        ).create_from_url(url)
        try:
            yield client, http
        finally:
            await client.close()


class _EventLogReader:
    """Reads an A2A task's events from the agent's event log (agents/server.py)."""

    def __init__(self, http: httpx.AsyncClient, agent_url: str) -> None:
        self.http = http
        self.base = agent_url.rstrip("/")

    async def between(self, task_id: str, after: int, before: int) -> AsyncIterator[ProgressEvent]:
        """The events with `after < seq < before`, in seq order, a page at a time."""
        while after + 1 < before:
            response = await self.http.get(
                self.base + EVENT_LOG_PATH.format(task_id=task_id),
                params={"after": after, "limit": min(MAX_PAGE, before - after - 1)},
            )
            response.raise_for_status()
            page = [ProgressEvent.model_validate(e) for e in response.json()["events"]]
            if not page or page[0].seq != after + 1:
                # Said out loud rather than skipped: the stream would silently lack them.
                raise ApplicationError(
                    f"the agent's event log of task {task_id} lacks seq {after + 1} to "
                    f"{before - 1}, which the relay has not relayed",
                    type="EventLogGap",
                )
            for event in page:
                assert event.seq is not None
                if event.seq >= before:
                    return
                yield event
                after = event.seq


def _lost_connection(exc: BaseException) -> bool:
    """A transport failure talking to the agent (refused, reset, cut mid-stream)."""
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, A2AClientError) and isinstance(exc.__cause__, httpx.TransportError)


class _SpecialistTask:
    """Follows one specialist's A2A task until it has a finding or a question."""

    def __init__(
        self, inp: SpecialistInput, client: Client, event_log: _EventLogReader, relay: EventRelay
    ) -> None:
        self.inp = inp
        self.client = client
        self.event_log = event_log
        self.relay = relay
        self.idle_timeout_s = get_settings().agent_idle_timeout_s
        self._lost_since: float | None = None  # when the connection to the agent dropped
        self._reconnects = 0
        self.finding: Finding | None = None
        self.question: Question | None = None
        self.error: str | None = None
        self.announced_resume = activity.info().attempt == 1

    @property
    def agent(self) -> str:
        return self.relay.position.agent

    async def follow(self) -> SpecialistOutcome:
        answer_pending = self.inp.answer is not None or self.inp.answer_expired
        while True:
            try:
                outcome, answer_pending = await self._follow_once(answer_pending)
            except Exception as exc:
                if not _lost_connection(exc):
                    raise
                await self._wait_to_reconnect(exc)
                continue
            if outcome is not None:
                return outcome
            # The stream ended without an outcome (agent evicted a slow reader, or the
            # connection dropped): look at the task again.

    async def _follow_once(self, answer_pending: bool) -> tuple[SpecialistOutcome | None, bool]:
        """One look at the task and one stream of it; the outcome if it paused or ended."""
        while True:
            position = self.relay.position
            if position.a2a_task_id is None:
                state = await self._consume(self._start())
            else:
                task = await self._get_task(position.a2a_task_id)
                if task is None:
                    await self.relay.announce(
                        f"{self.agent} lost its analysis (the agent restarted); "
                        "the specialist restarted the analysis",
                        restarted=True,
                    )
                    position.a2a_task_id = None
                    answer_pending = False  # the new task asks its question again
                    continue
                await self._announce_resume()
                state = await self._absorb(task)
                if state == TaskState.TASK_STATE_INPUT_REQUIRED and answer_pending:
                    answer_pending = False
                    state = await self._consume(self._send_answer(task))
                elif state not in TERMINAL_STATES and state not in PAUSED_STATES:
                    state = await self._consume(
                        self.client.subscribe(SubscribeToTaskRequest(id=task.id))
                    )
            if state in TERMINAL_STATES or state in PAUSED_STATES:
                return self._outcome(state), answer_pending
            return None, answer_pending

    async def _wait_to_reconnect(self, exc: BaseException) -> None:
        """Pause before reaching the agent again; give up (retryably) after the idle
        timeout, so the activity's retry policy takes over."""
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
            await self.relay.announce(
                f"lost the connection to the {self.agent} agent ({_reason(exc)}); reconnecting",
                reconnecting=True,
            )
        elif now - self._lost_since > self.idle_timeout_s:
            raise ApplicationError(
                f"cannot reach the {self.agent} agent for {now - self._lost_since:.0f} s: "
                f"{_reason(exc)}",
                type="SpecialistUnreachable",
            ) from exc
        pause = _RECONNECT_BACKOFF_S[min(self._reconnects, len(_RECONNECT_BACKOFF_S) - 1)]
        self._reconnects += 1
        await asyncio.sleep(pause)

    def _start(self) -> AsyncIterator[StreamResponse]:
        position = self.relay.position
        position.seq_base = position.next_base  # a new task numbers its events from 0
        return self.client.send_message(SendMessageRequest(message=alert_message(self.inp.alert)))

    def _send_answer(self, task: Task) -> AsyncIterator[StreamResponse]:
        answer = None if self.inp.answer_expired else self.inp.answer
        message = answer_message(answer, task_id=task.id, context_id=task.context_id)
        return self.client.send_message(SendMessageRequest(message=message))

    async def _get_task(self, task_id: str) -> Task | None:
        try:
            return await self.client.get_task(GetTaskRequest(id=task_id))
        except TaskNotFoundError:
            return None

    async def _announce_resume(self) -> None:
        if self.announced_resume:
            return
        self.announced_resume = True
        step = self.relay.position.last_seq - self.relay.position.seq_base + 1
        # A later attempt: its worker died, or the previous attempt failed (a stalled
        # or unreachable agent, which that attempt said in the stream).
        attempt = activity.info().attempt
        await self.relay.announce(
            f"relay attempt {attempt} resumed {self.agent} at step {step}", resumed_at=step
        )

    async def _consume(self, stream: AsyncIterator[StreamResponse]) -> TaskState | None:
        """Relay a stream until the task pauses or ends; None if the stream is cut.

        A stream that brings nothing for the idle timeout is a stalled agent: say so
        and fail the attempt (retryable), so the retry resumes the task afresh."""
        async with aclosing(stream) as responses:  # type: ignore[type-var]
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout_s):
                        response = await anext(responses)
                except StopAsyncIteration:
                    return None
                except TimeoutError:
                    await self._stalled()
                self._connected()
                state = await self._absorb_response(response)
                if state in TERMINAL_STATES or state in PAUSED_STATES:
                    return state

    async def _stalled(self) -> None:
        text = (
            f"{self.agent} streamed nothing for {self.idle_timeout_s:g} s while working "
            "(SURVEIL_AGENT_IDLE_TIMEOUT_S): treated as stalled; the retry resumes its task"
        )
        await self.relay.announce(text, stalled=True)
        raise ApplicationError(text, type="SpecialistStalled")

    def _connected(self) -> None:
        self._lost_since = None
        self._reconnects = 0

    async def _absorb(self, task: Task) -> TaskState:
        response = StreamResponse()
        response.task.CopyFrom(task)
        state = await self._absorb_response(response)
        assert state is not None
        return state

    async def _absorb_response(self, response: StreamResponse) -> TaskState | None:
        await self._learn_task(response)
        for event in events_in(response):
            await self._take(event)
        finding = finding_in(response)
        if finding is not None:
            self.finding = finding
        return state_of(response)

    async def _learn_task(self, response: StreamResponse) -> None:
        position = self.relay.position
        if position.a2a_task_id is not None:
            return
        if response.HasField("task"):
            task_id, context_id = response.task.id, response.task.context_id
        elif response.HasField("status_update"):
            task_id, context_id = response.status_update.task_id, response.status_update.context_id
        else:
            return
        position.a2a_task_id, position.a2a_context_id = task_id, context_id
        await self.relay.announce(f"{self.agent} started its analysis", started=True)

    async def _take(self, event: ProgressEvent) -> None:
        position = self.relay.position
        relayed = position.last_seq - position.seq_base  # the task's last seq relayed
        if event.seq is not None and event.seq > relayed + 1 and position.a2a_task_id:
            # The task's recent history (or a stream) starts past what was relayed.
            async for missed in self.event_log.between(position.a2a_task_id, relayed, event.seq):
                await self._relay_one(missed)
        await self._relay_one(event)

    async def _relay_one(self, event: ProgressEvent) -> None:
        await self.relay.relay(event)
        # Read even when an earlier attempt relayed it: the outcome depends on it.
        if event.type == EventType.input_required:
            data = event.data or {}
            self.question = Question(
                agent=self.agent,
                text=str(data.get("question") or event.text or ""),
                options=[str(o) for o in data.get("options", [])],
            )
        elif event.type == EventType.error:
            self.error = event.text or "the specialist failed"

    def _outcome(self, state: TaskState) -> SpecialistOutcome:
        position = self.relay.position
        if state == TaskState.TASK_STATE_COMPLETED and self.finding is not None:
            return SpecialistOutcome(finding=self.finding, position=position)
        if state == TaskState.TASK_STATE_INPUT_REQUIRED:
            question = self.question or Question(agent=self.agent, text="(question not relayed)")
            return SpecialistOutcome(question=question, position=position)
        name = TaskState.Name(state).removeprefix("TASK_STATE_").lower()
        # The agent decided; running the same analysis again would decide the same.
        detail = self.error or "no finding"
        # The agent's own error text often names it already ("wash_trade failed: …").
        said = detail.startswith(f"{self.agent} {name}")
        raise ApplicationError(
            detail if said else f"{self.agent} {name}: {detail}",
            type="SpecialistFailed",
            non_retryable=True,
        )


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, A2AClientError) and exc.__cause__ else exc
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
