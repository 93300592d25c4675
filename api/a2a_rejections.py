"""Rejected tasks: what a message that names no alert gets, without storing anything.

A generic A2A client that says "hello" should get a useful answer, not an error; it
gets a Task in state REJECTED whose status message (and history) says how to name or send an
alert, so that client can also GetTask it, see that CancelTask, SubscribeToTask and
further messages are refused for a finished task, and move on. There is nothing to
keep for such a task, so its id carries all of it: when it was rejected, a nonce, and
an HMAC over both and the tenant. Only this deployment issues ids that verify, and
only for the tenant they were issued to; anyone else gets TaskNotFound. Rejected
tasks are not listed by ListTasks; read back, their history is the agent's reply
alone (the user's message is in the first answer only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime

from a2a.types.a2a_pb2 import Message, Part, Role, Task, TaskState, TaskStatus

PREFIX = "rejected-"
_ID = re.compile(r"rejected-([0-9]{10})-([0-9a-f]{16})-([0-9a-f]{32})")

HOW_TO_NAME_AN_ALERT = (
    "This agent investigates trade-surveillance alerts, and this message names none "
    "that it knows, so this task is rejected. Send the alert as a data part (its fields: "
    "id, type, account, instrument, window_start, window_end, description), or "
    '{"id": "<stored alert id>"} as a data part, or text naming a stored alert id, '
    'e.g. "investigate ALR-007-04".'
)


class RejectedTasks:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, tenant: str, stamp: str, nonce: str) -> str:
        signed = f"{tenant}\n{stamp}\n{nonce}".encode()
        return hmac.new(self._key, signed, hashlib.sha256).hexdigest()[:32]

    def reject(self, tenant: str, message: Message) -> Task:
        stamp, nonce = f"{int(time.time()):010d}", secrets.token_hex(8)
        task = _task(f"{PREFIX}{stamp}-{nonce}-{self._mac(tenant, stamp, nonce)}", int(stamp))
        sent = Message()
        sent.CopyFrom(message)
        sent.task_id, sent.context_id = task.id, task.context_id
        task.history.insert(0, sent)
        return task

    def find(self, tenant: str, task_id: str) -> Task | None:
        """The rejected task `task_id` names for `tenant`; None if it is not one we issued."""
        match = _ID.fullmatch(task_id)
        if match is None:
            return None
        stamp, nonce, mac = match.groups()
        if not hmac.compare_digest(mac, self._mac(tenant, stamp, nonce)):
            return None
        return _task(task_id, int(stamp))


def is_rejected_id(task_id: str) -> bool:
    return task_id.startswith(PREFIX)


def _task(task_id: str, stamp: int) -> Task:
    reply = Message(
        message_id=f"{task_id}-reply", task_id=task_id, context_id=task_id,
        role=Role.ROLE_AGENT, parts=[Part(text=HOW_TO_NAME_AN_ALERT)],
    )  # fmt: skip
    status = TaskStatus(state=TaskState.TASK_STATE_REJECTED, message=reply)
    status.timestamp.FromDatetime(datetime.fromtimestamp(stamp, UTC))
    return Task(id=task_id, context_id=task_id, status=status, history=[reply])
