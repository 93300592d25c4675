"""Official a2a-sdk clients pinned to one A2A protocol version, for tests that must prove
which version was spoken (the JSON-RPC method names differ between 1.0 and 0.3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType

import httpx
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.types import AgentCard


@dataclass
class Recorded:
    """JSON-RPC methods the client sent (to prove which protocol version was spoken)."""

    methods: list[str] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> None:
        if request.method == "POST":
            self.methods.append(json.loads(request.content)["method"])


def speaking(card: AgentCard, protocol: str) -> AgentCard:
    """The card with only the interface of one protocol version, to force the client's choice."""
    chosen = AgentCard()
    chosen.CopyFrom(card)
    del chosen.supported_interfaces[:]
    chosen.supported_interfaces.extend(
        i for i in card.supported_interfaces if i.protocol_version == protocol
    )
    return chosen


class _IdTee(httpx.AsyncByteStream):
    """An SSE response body passed through unchanged, recording each `id:` line."""

    def __init__(self, inner: httpx.AsyncByteStream, ids: list[str]) -> None:
        self.inner = inner
        self.ids = ids

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self.inner:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            self.ids += [ln[3:].strip().decode() for ln in lines if ln.startswith(b"id:")]
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class SseIds(httpx.AsyncBaseTransport):
    """httpx transport recording the SSE `id:` lines of every stream, in order: what a
    generic SSE client would keep as its last event id."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.ids: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _IdTee(response.stream, self.ids)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class A2AConnections:
    """Opens clients that speak one protocol version; closes them all on exit."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self._headers = headers
        self._opened: list[tuple[Client, httpx.AsyncClient]] = []

    async def open(
        self, url: str, protocol: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> tuple[Client, Recorded]:
        """A client of the agent at `url` speaking `protocol`, and the methods it sends."""
        recorded = Recorded()
        http = httpx.AsyncClient(
            headers=self._headers, timeout=60, event_hooks={"request": [recorded]},
            transport=transport,
        )  # fmt: skip
        card = await A2ACardResolver(http, url).get_agent_card()
        client = ClientFactory(ClientConfig(httpx_client=http)).create(speaking(card, protocol))
        self._opened.append((client, http))
        return client, recorded

    async def __aenter__(self) -> A2AConnections:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for client, http in self._opened:
            await client.close()
            await http.aclose()
