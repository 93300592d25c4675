"""Reading a user's A2A message: which alert it names, or why it names none.

What a message may hold (docs/api.md, "A2A"):
- a data part with an alert — its fields as in `POST /api/alerts` (without `id`, the
  message's `messageId` is the idempotency key), optionally wrapped as `{"alert": {...}}`
  — validated by the same code as `POST /api/alerts`;
- a data part `{"id": "<stored alert id>"}`;
- text naming a stored alert id ("please investigate ALR-007-04").
A message that names no alert is no error: it gets a Task in INPUT_REQUIRED asking
which alert (api/a2a_clarifications.py). Parts of a media type other than JSON or text are refused with
ContentTypeNotSupported (-32005).

Free text is read within bounds and off the event loop: a message of 256 KB of
words once opened the store per word, on the loop, for two minutes.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from a2a.helpers.proto_helpers import get_data_parts, get_text_parts
from a2a.types.a2a_pb2 import Message
from a2a.utils.errors import ContentTypeNotSupportedError, InvalidParamsError

from api.a2a_card import INPUT_MODES
from api.problems import Problem
from api.routes.alerts import resolve_alert
from surveil.models import Alert
from surveil.store import Store

TEXT_SCANNED = 4096  # characters of the message's text looked at
MAX_CANDIDATES = 64  # distinct words that could be alert ids, asked in one query
_ALERT_ID_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def alert_id_candidates(text: str) -> list[str]:
    """Words of `text` (its first TEXT_SCANNED characters) that could be alert ids, in
    order, each once, at most MAX_CANDIDATES."""
    seen: dict[str, None] = {}
    for match in _ALERT_ID_WORD.finditer(text[:TEXT_SCANNED]):
        word = match.group().rstrip(".:")
        if word:
            seen.setdefault(word, None)
        if len(seen) == MAX_CANDIDATES:
            break
    return list(seen)


def check_media_types(message: Message) -> None:
    """ContentTypeNotSupported for a file, or any part of a media type we do not read."""
    for part in message.parts:
        kind = part.WhichOneof("content")
        media_type = part.media_type.split(";")[0].strip().lower()
        if kind in ("raw", "url") or (media_type and media_type not in INPUT_MODES):
            shown = media_type or ("a file" if kind in ("raw", "url") else kind)
            raise ContentTypeNotSupportedError(
                message=f"this agent reads {' and '.join(INPUT_MODES)} parts, not {shown}"
            )


async def alert_from(tenant: str, message: Message) -> Alert | None:
    """The alert `message` names for `tenant`; None when it names none; InvalidParams
    when it holds an alert that is not valid (the message says which field)."""
    for data in get_data_parts(message.parts):
        if not isinstance(data, dict):
            continue
        payload = data.get("alert", data) if set(data) == {"alert"} else data
        return await asyncio.to_thread(_resolved, tenant, payload, message.message_id)
    text = " ".join(get_text_parts(message.parts)).strip()
    if not text:
        return None
    candidates = alert_id_candidates(text)
    return await asyncio.to_thread(_first_alert_named, tenant, candidates)


def _resolved(tenant: str, payload: Any, message_id: str) -> Alert:
    """As `POST /api/alerts` resolves its body (in a worker thread: it may open the store)."""
    try:
        return resolve_alert(tenant, payload, idempotency_key=message_id or None)
    except Problem as exc:
        raise InvalidParamsError(message=f"invalid alert: {exc.detail}") from None


def _first_alert_named(tenant: str, candidates: list[str]) -> Alert | None:
    return Store.open().first_alert_named(tenant, candidates)
