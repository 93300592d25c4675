"""JSON logs with the investigation's identifiers (alert, workflow, run, A2A task, tenant).

Handlers set them with `bind(...)`; a contextvar carries them to every record logged
while the request runs. Tokens are never bound and never logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "surveil_log_fields", default=None
)

BINDABLE = ("tenant", "user", "alert_id", "workflow_id", "run_id", "a2a_task_id", "request_id")


def bind(**fields: Any) -> None:
    """Attach identifiers to every log record of the current request/task."""
    unknown = set(fields) - set(BINDABLE)
    if unknown:
        raise ValueError(f"unknown log fields: {sorted(unknown)}")
    current = dict(_fields.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    _fields.set(current)


def clear() -> None:
    _fields.set(None)


class RequestLogContext:
    """ASGI middleware: every request starts with no bound identifiers.

    Plain ASGI on purpose: Starlette's BaseHTTPMiddleware wraps an exception raised
    while the body is read (the 413 of BodySizeLimit) in an ExceptionGroup, which
    turned an oversize streamed body into a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        clear()
        await self.app(scope, receive, send)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **(_fields.get() or {}),
        }
        for key in BINDABLE:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    """JSON to stderr for our loggers and uvicorn's; access logs are ours (no query strings)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log prints the query string, which can hold a stream token.
    logging.getLogger("uvicorn.access").disabled = True
