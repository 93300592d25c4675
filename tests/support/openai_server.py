"""A small OpenAI-compatible chat-completions server for tests of the real-LLM path.

It speaks the wire format the `openai` client expects (JSON, or SSE chunks ending in
`data: [DONE]` when `stream: true`), checks the bearer key, records every request, and
replies with a scripted text, so a test can prove which path a call took without
mocking the client library. Runs uvicorn in a thread on 127.0.0.1 and a free port.

It also misbehaves the way hosted LLMs do, on request, so the retry path is tested
against real HTTP:

- `rate_limit_for(seconds, retry_after=20)`: every request in that window gets
  429 with a `Retry-After` header (counted as a rejection);
- `fail_next(n, mode)`: the next n requests fail with `mode` — `"429"`, `"500"`,
  `"503"`, `"400"`, `"401"`, `"403"`, `"404"` (an error body and that status;
  `retry_after=` adds the header to 429s),
  `"hang"` (nothing at all for `hang_s` seconds before the first byte) or
  `"disconnect"` (a few tokens of a streamed answer, then the connection drops).

It can also enforce a provider-style limit, `requests_per_minute=N`: a request beyond N
in the last 60 s gets 429 with Retry-After (the time until the oldest one ages out), and
answer like the offline analyst model (`reply=None`: the narrative for the prompt's
facts block), so a run through it decides and writes exactly like an offline run.

`counts` is the server's own ledger: requests, rejections (429s), errors by status,
answers completed, and the prompt/completion tokens it reported as usage — what a
test compares the client's usage accounting with. Tokens are counted like the offline
model counts them: runs of non-space characters.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from surveil.processes import free_port, wait_for_port

_TOKEN = re.compile(r"\s*\S+")

FAULT_MODES = ("429", "500", "503", "400", "401", "403", "404", "hang", "disconnect")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_denied",
    404: "model_not_found",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


class _Disconnect(Exception):
    """Raised inside a streamed answer: uvicorn drops the connection mid-body."""


@dataclass
class ServerCounts:
    requests: int = 0
    rejections: int = 0  # 429s
    errors: Counter[int] = field(default_factory=Counter)  # by HTTP status, 429 included
    disconnects: int = 0
    hangs: int = 0
    completed: int = 0  # answers sent in full
    prompt_tokens: int = 0  # as reported in usage (only for completed answers)
    completion_tokens: int = 0


class OpenAICompatibleServer:
    """`with OpenAICompatibleServer(reply="...") as server:` then use `server.base_url`."""

    def __init__(
        self,
        *,
        reply: str | None,
        api_key: str = "test-key",
        token_delay_s: float = 0.0,
        hang_s: float = 30.0,
        known_models: set[str] | None = None,
        requests_per_minute: int | None = None,
        limit_window_s: float = 60.0,
    ) -> None:
        self.reply = reply
        self.api_key = api_key
        self.token_delay_s = token_delay_s
        self.hang_s = hang_s
        self.known_models = known_models  # None: every model name is served
        self.requests_per_minute = requests_per_minute  # per limit_window_s, really
        self.limit_window_s = limit_window_s
        self._recent: deque[float] = deque()  # accepted requests' times, for the limit
        self.requests: list[dict[str, Any]] = []
        self.counts = ServerCounts()
        self._faults: deque[tuple[str, str | None]] = deque()
        self._rate_limited_until = 0.0
        self._retry_after_s: float | None = None
        self._lock = threading.Lock()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server = uvicorn.Server(
            uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="critical")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> OpenAICompatibleServer:
        self._thread.start()
        wait_for_port("127.0.0.1", self.port, timeout=15)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # -- faults -----------------------------------------------------------------

    def fail_next(
        self, n: int, mode: str, *, retry_after: float | None = None, matching: str | None = None
    ) -> None:
        """The next n requests fail with `mode`; a 429 says `Retry-After: retry_after`.
        With `matching`, only requests whose last message contains that text count (so
        a test can aim at one LLM step of an investigation, e.g. '"task": "specialist"')."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; known: {', '.join(FAULT_MODES)}")
        with self._lock:
            self._faults.extend([(mode, matching)] * n)
            self._retry_after_s = retry_after

    def rate_limit_for(self, seconds: float, *, retry_after: float | None = 20) -> None:
        """Answer 429 to everything for `seconds` from now (Retry-After if not None)."""
        with self._lock:
            self._rate_limited_until = time.monotonic() + seconds
            self._retry_after_s = retry_after

    def stop_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._rate_limited_until = 0.0

    def _over_limit(self) -> float | None:
        """Seconds until a request would be within requests_per_minute, or None if it is."""
        if self.requests_per_minute is None:
            return None
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - self.limit_window_s:
            self._recent.popleft()
        if len(self._recent) < self.requests_per_minute:
            self._recent.append(now)
            return None
        return self._recent[0] + self.limit_window_s - now

    def _next_fault(self, body: dict[str, Any]) -> str | None:
        with self._lock:
            if time.monotonic() < self._rate_limited_until:
                return "429"
            wait = self._over_limit()
            if wait is not None:
                self._retry_after_s = round(wait, 2)
                return "429"
            if not self._faults:
                return None
            mode, matching = self._faults[0]
            messages = body.get("messages") or [{}]
            if matching is not None and matching not in str(messages[-1].get("content") or ""):
                return None
            self._faults.popleft()
            return mode

    # -- the endpoint -------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Any:
            self.counts.requests += 1
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return self._error(401, "invalid api key")
            body = await request.json()
            self.requests.append(body)
            fault = self._next_fault(body)
            if fault is not None and fault.isdigit():
                return self._error(int(fault), f"scripted fault {fault}")
            if self.known_models is not None and body["model"] not in self.known_models:
                return self._error(404, f"The model `{body['model']}` does not exist")
            if fault == "hang":
                self.counts.hangs += 1
                await asyncio.sleep(self.hang_s)
            prompt_tokens = sum(
                count_tokens(str(message.get("content") or ""))
                for message in body.get("messages", [])
            )
            reply = self.reply if self.reply is not None else _offline_reply(body)
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    self._chunks(
                        body["model"], reply, prompt_tokens, include_usage, fault == "disconnect"
                    ),
                    media_type="text/event-stream",
                )
            return self._completion(body["model"], reply, prompt_tokens)

        return app

    def _error(self, status: int, message: str) -> JSONResponse:
        self.counts.errors[status] += 1
        headers = {}
        if status == 429:
            self.counts.rejections += 1
            if self._retry_after_s is not None:
                headers["retry-after"] = f"{self._retry_after_s:g}"
        error = {"message": message, "type": _ERROR_TYPES.get(status, "error"), "code": None}
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    def _completion(self, model: str, reply: str, prompt_tokens: int) -> dict[str, Any]:
        usage = self._usage(reply, prompt_tokens)
        self.counts.completed += 1
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }

    async def _chunks(
        self, model: str, reply: str, prompt_tokens: int, include_usage: bool, disconnect: bool
    ) -> AsyncIterator[str]:
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
                **extra,
            }
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}}])
        tokens = _TOKEN.findall(reply)
        for index, token in enumerate(tokens):
            if disconnect and index == min(3, len(tokens) - 1):
                self.counts.disconnects += 1
                raise _Disconnect("scripted mid-stream disconnect")
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield chunk([{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        yield chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if include_usage:
            yield chunk([], usage=self._usage(reply, prompt_tokens))
        self.counts.completed += 1
        yield "data: [DONE]\n\n"

    def _usage(self, reply: str, prompt_tokens: int) -> dict[str, int]:
        completion_tokens = count_tokens(reply)
        self.counts.prompt_tokens += prompt_tokens
        self.counts.completion_tokens += completion_tokens
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }


def _offline_reply(body: dict[str, Any]) -> str:
    """What the offline analyst model writes for this prompt (its facts block)."""
    from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

    from agents.offline_model import write_narrative

    messages: list[BaseMessage] = [
        HumanMessage(content=str(m.get("content") or ""))
        if m.get("role") == "user"
        else SystemMessage(content=str(m.get("content") or ""))
        for m in body.get("messages", [])
    ]
    return write_narrative(messages)
