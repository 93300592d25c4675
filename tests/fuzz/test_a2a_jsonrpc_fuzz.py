"""Malformed and hostile JSON-RPC to /a2a: a JSON-RPC error with the spec's code,
never a 5xx, and no investigation started."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.security.conftest import TOKEN_A, bearer
from tests.support.stack import Stack

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SEND = "message/send"
VALID_MESSAGE = {
    "message": {"role": "user", "messageId": "m-1", "parts": [{"kind": "text", "text": "hi"}]}
}


def rpc(**fields: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, **fields}).encode()


HOSTILE: dict[str, tuple[bytes, set[int]]] = {
    "not JSON": (b"{this is not json", {PARSE_ERROR}),
    "not UTF-8": (b'{"jsonrpc": "2.0", "id": 1, "method": "\xff\xfe"}', {PARSE_ERROR}),
    "empty body": (b"", {PARSE_ERROR, INVALID_REQUEST}),
    "JSON scalar": (b"42", {INVALID_REQUEST}),
    "jsonrpc 1.0": (json.dumps({"jsonrpc": "1.0", "id": 1, "method": SEND}).encode(),
                    {INVALID_REQUEST}),
    "jsonrpc 3.0 as a number": (json.dumps({"jsonrpc": 3.0, "id": 1, "method": SEND}).encode(),
                                {INVALID_REQUEST}),
    "no jsonrpc member": (json.dumps({"id": 1, "method": SEND}).encode(), {INVALID_REQUEST}),
    "no method": (rpc(params=VALID_MESSAGE), {INVALID_REQUEST}),
    "method is a number": (rpc(method=7), {INVALID_REQUEST, METHOD_NOT_FOUND}),
    "unknown method": (rpc(method="tasks/explode", params={}), {METHOD_NOT_FOUND}),
    "unknown 1.0 method": (rpc(method="ExplodeTask", params={}), {METHOD_NOT_FOUND}),
    "missing params": (rpc(method=SEND), {INVALID_PARAMS, INVALID_REQUEST}),
    "params is a string": (rpc(method=SEND, params="alert please"),
                           {INVALID_PARAMS, INVALID_REQUEST}),
    "message without parts": (rpc(method=SEND, params={"message": {"role": "user"}}),
                              {INVALID_PARAMS, INVALID_REQUEST}),
    "tasks/get without id": (rpc(method="tasks/get", params={}), {INVALID_PARAMS, INVALID_REQUEST}),
    "huge integer id": (rpc(id=10**80, method="tasks/explode"),
                        {INVALID_REQUEST, METHOD_NOT_FOUND}),
    "100 kB string id": (rpc(id="x" * 100_000, method="tasks/explode"),
                         {INVALID_REQUEST, METHOD_NOT_FOUND}),
    "object id": (rpc(id={"a": 1}, method="tasks/get", params={"id": "x"}), {INVALID_REQUEST}),
    "batch of two": (json.dumps([json.loads(rpc(method="tasks/get", params={"id": "x"}))] * 2)
                     .encode(), {INVALID_REQUEST}),
    "empty batch": (b"[]", {INVALID_REQUEST}),
    "deeply nested params": (b'{"jsonrpc":"2.0","id":1,"method":"message/send","params":'
                             + b"[" * 50_000 + b"]" * 50_000 + b"}", {PARSE_ERROR, INVALID_REQUEST,
                                                                     INVALID_PARAMS}),
    "nested 80 levels in a data part": (
        rpc(method=SEND, params={"message": {"role": "user", "messageId": "m-2", "parts": [
            {"kind": "data", "data": json.loads('{"a":' * 80 + "1" + "}" * 80)}]}}),
        {PARSE_ERROR}),
    "deeply nested body": (b"[" * 100_000 + b"]" * 100_000, {PARSE_ERROR, INVALID_REQUEST}),
}  # fmt: skip


async def alert_ids(client: httpx.AsyncClient) -> set[str]:
    response = await client.get("/api/alerts", params={"page_size": 200})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
async def a2a(stack: Stack):
    async with httpx.AsyncClient(
        base_url=stack.api_url(),
        headers={**bearer(TOKEN_A), "Content-Type": "application/json"},
        timeout=60,
    ) as client:
        yield client


@pytest.mark.parametrize("body, codes", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_hostile_json_rpc_gets_a_spec_error_code_and_changes_nothing(
    a2a: httpx.AsyncClient, body: bytes, codes: set[int]
):
    before = await alert_ids(a2a)

    response = await a2a.post("/a2a", content=body)

    assert response.status_code < 500, response.text[:500]
    answer = response.json()
    if isinstance(answer, list):  # a server may answer a batch item by item
        errors = [item["error"]["code"] for item in answer]
    else:
        errors = [answer["error"]["code"]]
    assert errors and set(errors) <= codes, response.text[:500]
    assert all(isinstance(e, int) for e in errors)
    assert await alert_ids(a2a) == before
