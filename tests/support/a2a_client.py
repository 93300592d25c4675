"""Official a2a-sdk clients pinned to one A2A protocol version, for tests that must prove
which version was spoken (the JSON-RPC method names differ between 1.0 and 0.3)."""

from __future__ import annotations

import json
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


class A2AConnections:
    """Opens clients that speak one protocol version; closes them all on exit."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self._headers = headers
        self._opened: list[tuple[Client, httpx.AsyncClient]] = []

    async def open(self, url: str, protocol: str) -> tuple[Client, Recorded]:
        """A client of the agent at `url` speaking `protocol`, and the methods it sends."""
        recorded = Recorded()
        http = httpx.AsyncClient(
            headers=self._headers, timeout=60, event_hooks={"request": [recorded]}
        )
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
