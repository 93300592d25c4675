"""Who may call a specialist agent.

A specialist runs analyses on the market-data store and answers with findings, so
it serves only the worker. With mTLS (agents/tls.py: the agent requires client
certificates signed by SURVEIL_AGENT_TLS_CA) the certificate is the proof. Without
it, the agent requires `Authorization: Bearer <agent token>` on its JSON-RPC endpoint
and answers anything else 401; the worker presents the token on every call.

The token is SURVEIL_AGENT_TOKEN when set (always required then, mTLS or not); else,
when mTLS is off, one created in SURVEIL_HOME/agent-token, which the worker and the
agents of one machine or compose volume share. The agent card and /healthz stay open:
discovery and liveness checks carry no data.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from surveil.secret_file import shared_secret
from surveil.settings import Settings, get_settings

OPEN_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json", "/healthz")


def server_token(settings: Settings | None = None) -> str | None:
    """The token an agent requires; None when mTLS with client certificates stands in."""
    settings = settings or get_settings()
    if settings.agent_token is not None:
        return settings.agent_token.get_secret_value()
    if settings.agent_tls_cert is not None and settings.agent_tls_ca is not None:
        return None  # the agent requires client certificates (agents/tls.py)
    return shared_secret(settings.home / "agent-token", prefix="agent-")


def client_token(settings: Settings | None = None) -> str | None:
    """The token the worker presents; None when it presents a client certificate."""
    settings = settings or get_settings()
    if settings.agent_token is not None:
        return settings.agent_token.get_secret_value()
    if settings.agent_client_cert is not None:
        return None
    return shared_secret(settings.home / "agent-token", prefix="agent-")


class RequireAgentToken:
    """401 for a call without the agent token (ASGI middleware in front of the SDK)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        presented = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(presented, self.expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({
            "jsonrpc": "2.0", "id": None,
            "error": {"code": -32600, "message": "this agent serves the surveil worker only: "
                      "send 'Authorization: Bearer <SURVEIL_AGENT_TOKEN>'"},
        }).encode()  # fmt: skip
        await send({
            "type": "http.response.start", "status": 401,
            "headers": [(b"content-type", b"application/json"),
                        (b"www-authenticate", b"Bearer"),
                        (b"content-length", str(len(body)).encode())],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})
