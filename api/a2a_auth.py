"""What stands in front of the SDK on `/a2a`: the bearer token (401 without one),
`/a2a/` answered like `/a2a`, a Content-Type other than JSON refused with -32005
(ContentTypeNotSupported; no Content-Type is read as JSON), bodies that are not
parseable JSON refused with -32700, and `id:` lines added to its SSE streams
(api/a2a_event_ids.py)."""

from __future__ import annotations

from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.routes import DefaultServerCallContextBuilder
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from api import logging as api_logging
from api.a2a_card import A2A_PATH
from api.a2a_event_ids import send_with_offset_ids
from api.deps import person_from_header
from api.problems import problem_response, unauthorized

TENANT_SCOPE_KEY = "surveil_tenant"
PERSON_SCOPE_KEY = "surveil_person"  # the api.auth.Principal: who acts, with which role


class TenantContextBuilder(DefaultServerCallContextBuilder):
    """Puts the tenant the auth middleware resolved into the call context."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state[TENANT_SCOPE_KEY] = request.scope.get(TENANT_SCOPE_KEY)
        context.state[PERSON_SCOPE_KEY] = request.scope.get(PERSON_SCOPE_KEY)
        return context


class A2AAuth:
    """401 before the SDK sees a request without a valid bearer token."""

    def __init__(self, app: ASGIApp, services_getter: Any) -> None:
        self.app = app
        self.services_getter = services_getter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != A2A_PATH:
            await self.app(scope, receive, send)
            return
        # Clients that join the card's URL with "/" reach "/a2a/": the same endpoint.
        scope = {**scope, "path": A2A_PATH, "raw_path": A2A_PATH.encode()}
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        person = person_from_header(self.services_getter(), headers.get("authorization"))
        if person is None:
            response = problem_response(
                unauthorized("A2A requires 'Authorization: Bearer <token>'")
            )
            await response(scope, receive, send)
            return
        scope[TENANT_SCOPE_KEY] = person.tenant
        scope[PERSON_SCOPE_KEY] = person
        api_logging.bind(tenant=person.tenant, user=person.user)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] == "POST" and content_type and not _is_json(content_type):
            refusal = JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32005,  # ContentTypeNotSupported, as the A2A JSON-RPC binding reads it
                "message": f"send JSON-RPC as application/json, not {content_type[:80]}"}})  # fmt: skip
            await refusal(scope, receive, send)
            return
        await self._parsed_or_refused(scope, receive, send_with_offset_ids(send))

    async def _parsed_or_refused(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a body that is not JSON-RPC-parseable with -32700 here: the SDK turns
        undecodable bytes and recursion-deep JSON into -32603 "internal error" with
        Python's message (found by tests/fuzz/test_a2a_jsonrpc_fuzz.py)."""
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its request
            body += message.get("body", b"")
            more = message.get("more_body", False)
        problem = _unparseable(body)
        if problem is not None:
            refusal = JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": problem}}
            )
            await refusal(scope, receive, send)
            return
        replayed = False

        async def replay() -> ASGIMessage:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect, for streaming responses
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


MAX_JSON_DEPTH = 64  # an A2A message nests a handful of levels; far deeper is an attack


def _unparseable(body: bytes) -> str | None:
    """Why `body` is not parseable JSON (None when it is; the SDK validates the rest)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"Parse error: body is not UTF-8 (byte {exc.start})"
    depth = deepest = 0
    in_string = escaped = False
    for char in text:  # bounded by the body-size limit; json.loads would recurse instead
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return f"Parse error: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        elif char in "]}":
            depth -= 1
    return None
