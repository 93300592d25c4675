"""Reading the workers' live tails of one investigation (activities/live_feed.py).

The fan-out (api/fanout.py) opens one `LiveTail.events(workflow_id)` per followed
investigation beside its durable reader, and hands the agent events to the viewers
that asked for them (the SSE route does; A2A and the CLI read durable events only),
and the "stream grew" hints (ints: the new next offset) to its durable reader. Every
configured worker is followed, because any of them may run a relay of the
investigation; a worker that is down is tried again with backoff. A URL whose host
name resolves to several addresses (a compose service scaled to N workers) is followed
at each of them. Nothing here is needed for correctness: the durable stream carries
every frame too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import ValidationError

from surveil.events import ProgressEvent
from surveil.live import ADVANCED_EVENT, LIVE_EVENT

log = logging.getLogger("surveil.api.live")

# Said to the fan-out when a worker's tail (re)connects: the stream may have grown
# meanwhile, unannounced.
MAY_HAVE_GROWN = -1
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0


class LiveTail:
    def __init__(self, urls: list[str], token: str) -> None:
        self.urls = [url.rstrip("/") for url in urls]
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        self._http: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
            self._http = httpx.AsyncClient(
                headers=self._headers, timeout=httpx.Timeout(10.0, read=None), limits=limits
            )
        return self._http

    async def events(self, workflow_id: str) -> AsyncIterator[ProgressEvent | int]:
        """Live agent events of the investigation from every worker, and the durable
        stream's next offset whenever a worker says it grew, until cancelled."""
        frames: asyncio.Queue[ProgressEvent | int] = asyncio.Queue(maxsize=1024)
        urls = [url for configured in self.urls for url in await _each_address(configured)]
        readers = [
            asyncio.create_task(self._follow(url, workflow_id, frames), name=f"live {url}")
            for url in urls
        ]
        try:
            while True:
                yield await frames.get()
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _follow(
        self, url: str, workflow_id: str, frames: asyncio.Queue[ProgressEvent | int]
    ) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                async with aconnect_sse(
                    self._client(), "GET", f"{url}/live/{workflow_id}"
                ) as source:
                    source.response.raise_for_status()
                    backoff = FIRST_BACKOFF_S
                    # Hints sent before this connection were missed: read once now.
                    if not frames.full():
                        frames.put_nowait(MAY_HAVE_GROWN)
                    async for sse in source.aiter_sse():
                        if frames.full() or not sse.data:
                            continue  # a slow consumer: the durable stream brings it
                        if sse.event == LIVE_EVENT:
                            frames.put_nowait(ProgressEvent.model_validate_json(sse.data))
                        elif sse.event == ADVANCED_EVENT:
                            frames.put_nowait(int(sse.data))
            except (httpx.HTTPError, SSEError, ValidationError, ValueError) as exc:
                log.debug("live tail %s of %s: %s", url, workflow_id, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()


async def _each_address(url: str) -> list[str]:
    """`url` once per address its host name resolves to (itself if it is an address or
    does not resolve: the reader's retries will say so)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ipaddress.ip_address(host)
        return [url]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return [url]
    addresses = sorted({info[4][0] for info in infos})
    if len(addresses) <= 1 or parts.scheme == "https":  # TLS needs the name, not an address
        return [url]
    return [
        urlunsplit(parts._replace(netloc=f"[{a}]:{port}" if ":" in a else f"{a}:{port}"))
        for a in addresses
    ]
