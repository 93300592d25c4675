"""Clarification tasks: what a message that names no alert gets.

A generic A2A client that says "hello" has started a conversation that needs more
input, not made an error: it gets a Task in INPUT_REQUIRED whose status message asks
which alert to investigate and lists what it may send. Replying on that task
(`taskId`):
- with text that again names no alert keeps it INPUT_REQUIRED and adds both messages
  to its history;
- naming an alert (or sending one as a data part) starts that investigation, whose A2A
  task id is the alert id like every investigation's, and COMPLETES the clarification
  task: its job, finding out which alert, is done. The final status message names the
  investigation's task id (text, a data part and `referenceTaskIds`), so a client
  follows it with GetTask / SubscribeToTask. Reusing the clarification's id for the
  investigation would break "task id = alert id", on which resubmission, REST, SSE and
  the CLI all rely;
- CancelTask makes it CANCELED; a finished one takes no more messages (-32004) and no
  cancel (-32002).

They are not investigations (no workflow runs), so they live in a table of the
project's database (`surveil.db`, shared by every API process, like the alert store)
through a2a-sdk's own `DatabaseTaskStore`, owned by the tenant: another tenant's id is
simply not found.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from a2a.helpers.proto_helpers import new_data_part
from a2a.server.context import ServerCallContext
from a2a.server.models import Base, TaskMixin
from a2a.server.tasks import DatabaseTaskStore
from a2a.types.a2a_pb2 import (
    Message,
    Part,
    Role,
    Task,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from api.a2a_auth import TENANT_SCOPE_KEY

PREFIX = "clarify-"
TABLE = "a2a_clarification_tasks"


class ClarificationTaskModel(TaskMixin, Base):
    """a2a-sdk's task columns, in a table of their own (the SDK's documented way)."""

    __tablename__ = TABLE


FINISHED = frozenset(
    {TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_FAILED,
     TaskState.TASK_STATE_REJECTED}
)  # fmt: skip
# How often a subscriber to a waiting clarification task looks for a change: any API
# process may take the reply, so there is no in-process signal to wait on.
POLL_S = 1.0

WHICH_ALERT = (
    "Which alert should I investigate? Reply on this task with one of: text naming a "
    'stored alert by its id, e.g. "investigate ALR-1001"; a data part '
    '{"id": "<stored alert id>"}; or the alert itself as a data part, with the fields '
    "POST /api/alerts takes (id, type, account, instrument, window_start, window_end, "
    'description), bare or as {"alert": {...}}. Or cancel this task.'
)
STILL_NO_ALERT = "That names no alert I know either. "


def is_clarification_id(task_id: str) -> bool:
    return task_id.startswith(PREFIX)


def _tenant_of(context: ServerCallContext) -> str:
    return str(context.state[TENANT_SCOPE_KEY])


def _reply(task: Task, text: str, **data: object) -> Message:
    """The agent's message; its id is the place it takes in the history once the next
    turn moves it there."""
    parts = [Part(text=text)]
    if data:
        parts.append(new_data_part(dict(data)))
    return Message(
        message_id=f"{task.id}-{len(task.history)}", task_id=task.id, context_id=task.context_id,
        role=Role.ROLE_AGENT, parts=parts,
    )  # fmt: skip


def _set_status(task: Task, state: TaskState, message: Message) -> None:
    status = TaskStatus(state=state, message=message)
    status.timestamp.FromDatetime(datetime.now(UTC))
    task.status.CopyFrom(status)


def _take_turn(task: Task, message: Message | None) -> None:
    """As a2a-sdk's TaskManager.update_with_message: the agent's last status message
    moves to the history, then the user's new message follows it."""
    if task.status.HasField("message"):
        task.history.append(task.status.message)
        task.status.ClearField("message")
    if message is not None:
        sent = task.history.add()
        sent.CopyFrom(message)
        sent.task_id, sent.context_id = task.id, task.context_id


class ClarificationTasks:
    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        # NullPool: a connection per operation, nothing held between requests (SQLite
        # opens in microseconds) and no connection thread left to outlive the process.
        # A 30 s busy timeout, as the alert store's own connections: a CSV import holds
        # the write lock for a while, and a message should wait for it, not fail.
        engine = create_async_engine(
            f"sqlite+aiosqlite:///{db_path}", poolclass=NullPool, connect_args={"timeout": 30}
        )
        self._store = DatabaseTaskStore(engine, owner_resolver=_tenant_of)
        self._store.task_model = ClarificationTaskModel  # its table, not the SDK's `tasks`
        self._ready = False

    async def _ensure_table(self) -> None:
        if self._ready:
            return
        try:
            await self._store.initialize()
        except OperationalError as exc:  # another API process created it a moment before
            if "already exists" not in str(exc):
                raise
        self._ready = True

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The tenant's clarification task `task_id`; None if it has none of that id."""
        if not is_clarification_id(task_id):
            return None
        await self._ensure_table()
        return await self._store.get(task_id, context)

    async def _save(self, task: Task, context: ServerCallContext) -> Task:
        await self._ensure_table()
        await self._store.save(task, context)
        return task

    async def open(self, message: Message, context: ServerCallContext) -> Task:
        """A new task asking which alert to investigate."""
        task_id = PREFIX + uuid.uuid4().hex[: 36 - len(PREFIX)]
        task = Task(id=task_id, context_id=message.context_id or task_id)
        _take_turn(task, message)
        _set_status(task, TaskState.TASK_STATE_INPUT_REQUIRED, _reply(task, WHICH_ALERT))
        return await self._save(task, context)

    async def still_waiting(self, task: Task, message: Message, context: ServerCallContext) -> Task:
        """A reply that names no alert either: asked again, the task keeps waiting."""
        _take_turn(task, message)
        reply = _reply(task, STILL_NO_ALERT + WHICH_ALERT)
        _set_status(task, TaskState.TASK_STATE_INPUT_REQUIRED, reply)
        return await self._save(task, context)

    async def answered(
        self, task: Task, message: Message, alert_id: str, context: ServerCallContext
    ) -> Task:
        """The reply named alert `alert_id`, whose investigation has started."""
        _take_turn(task, message)
        reply = _reply(
            task,
            f"Investigating alert {alert_id}: follow it as A2A task {alert_id!r} "
            "(GetTask or SubscribeToTask). This task, which only asked which alert, is done.",
            investigation_task_id=alert_id,
        )
        reply.reference_task_ids.append(alert_id)
        _set_status(task, TaskState.TASK_STATE_COMPLETED, reply)
        return await self._save(task, context)

    async def cancel(self, task: Task, who: str, context: ServerCallContext) -> Task:
        _take_turn(task, None)
        _set_status(task, TaskState.TASK_STATE_CANCELED, _reply(task, f"Canceled by {who}."))
        return await self._save(task, context)

    async def follow(self, task: Task, context: ServerCallContext) -> AsyncIterator[Task]:
        """The task, then each change of its status until it ends (SubscribeToTask)."""
        yield task
        seen = task.status.SerializeToString(deterministic=True)
        while task.status.state not in FINISHED:
            await asyncio.sleep(POLL_S)
            latest = await self._store.get(task.id, context)
            if latest is None:
                return
            now = latest.status.SerializeToString(deterministic=True)
            if now != seen:
                seen, task = now, latest
                yield task


def status_update(task: Task) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(task_id=task.id, context_id=task.context_id, status=task.status)
