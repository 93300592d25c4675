"""A client that hangs up while sending its request is not a server error."""

from __future__ import annotations

from typing import Any

from api import metrics
from api.main import create_app
from tests.security.conftest import app_settings
from tests.support.api_client import TOKEN_A
from tests.support.stack import Stack


def errors_of_kind(kind: str) -> float:
    return metrics.ERRORS.labels(kind=kind)._value.get()


async def test_a_submission_cut_off_mid_body_is_counted_as_a_client_that_left(
    stack: Stack, caplog: Any
) -> None:
    app = create_app(app_settings(stack), web_dir=None)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}  # gone before the body arrived

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/alerts",
        "raw_path": b"/api/alerts",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"in-process"),
            (b"authorization", f"Bearer {TOKEN_A}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"500"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("in-process", 80),
    }
    gone, internal = errors_of_kind("client-disconnected"), errors_of_kind("internal")
    await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert errors_of_kind("client-disconnected") == gone + 1
    assert errors_of_kind("internal") == internal  # not a 500
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
