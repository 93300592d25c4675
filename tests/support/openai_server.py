"""A small OpenAI-compatible chat-completions server for tests of the real-LLM path.

It speaks the wire format the `openai` client expects (JSON, or SSE chunks ending in
`data: [DONE]` when `stream: true`), checks the bearer key, records every request, and
replies with a scripted text, so a test can prove which path a call took without
mocking the client library. Runs uvicorn in a thread on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from surveil.processes import free_port, wait_for_port

_TOKEN = re.compile(r"\s*\S+")


class OpenAICompatibleServer:
    """`with OpenAICompatibleServer(reply="...") as server:` then use `server.base_url`."""

    def __init__(
        self, *, reply: str, api_key: str = "test-key", token_delay_s: float = 0.0
    ) -> None:
        self.reply = reply
        self.api_key = api_key
        self.token_delay_s = token_delay_s
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server = uvicorn.Server(
            uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> OpenAICompatibleServer:
        self._thread.start()
        wait_for_port("127.0.0.1", self.port, timeout=15)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Any:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse(
                    {"error": {"message": "invalid api key", "type": "invalid_request_error"}},
                    status_code=401,
                )
            body = await request.json()
            self.requests.append(body)
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    self._chunks(body["model"], include_usage), media_type="text/event-stream"
                )
            return self._completion(body["model"])

        return app

    def _completion(self, model: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": self._usage(),
        }

    async def _chunks(self, model: str, include_usage: bool) -> AsyncIterator[str]:
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
        for token in _TOKEN.findall(self.reply):
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield chunk([{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        yield chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if include_usage:
            yield chunk([], usage=self._usage())
        yield "data: [DONE]\n\n"

    def _usage(self) -> dict[str, int]:
        completion_tokens = len(_TOKEN.findall(self.reply))
        return {
            "prompt_tokens": 100,
            "completion_tokens": completion_tokens,
            "total_tokens": 100 + completion_tokens,
        }
