"""The live tail: the agents' events as the relays see them, served by the worker.

Why it exists: the durable stream batches token frames for up to
`relay_batch_interval_ms` (6 s) so a 10-minute investigation stays inside Temporal's
limits, and even a milestone takes a signal, a workflow task and a reader's Query to
get there; a person watching should see the narrative as the LLM writes it. So every
relay in this process also hands each agent event to `LIVE_FEEDS` at once, and the
worker serves them at `GET /live/{workflow_id}` (SSE, the agents' bearer token) to
the API processes that follow the investigation.

The same feed says when an investigation's durable stream grew (`advanced`, with its
next offset): the workflow tells it after appending, in the worker that ran the
workflow task, so a reader Queries the stream then instead of polling it often.

A new reader first gets the investigation's last `RECENT` events, so what the relays
still hold back from the durable stream reaches a viewer that just joined at once.

The contract stays the durable stream's: live events carry `(agent, seq)` and no
offset. They are a preview; the same events reach the durable stream later, with
offsets, and a reader drops the repeat by `(agent, seq)`. A reader too slow for the
live tail loses live events, never durable ones. A worker restart loses the live
tail of its relays until the retried activities run again (the durable stream loses
nothing).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict, defaultdict, deque
from collections.abc import AsyncIterator

import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from surveil.events import ProgressEvent
from surveil.live import ADVANCED_EVENT, LIVE_EVENT

log = logging.getLogger("surveil.worker.live")

# Items a live reader may be behind before it misses some.
MAX_BEHIND = 1024
# Events of each investigation a new reader gets first: about what the relays hold
# back from the durable stream (token frames wait up to 6 s, ~25 frames a second per
# agent), so a viewer that joins, or an API process that just started following,
# sees the text of the last seconds at once rather than when the batch lands.
RECENT = 512
# Investigations whose recent events are kept, least recently active dropped first:
# above the investigations one worker runs at once (100 in `make load`), and at most
# ~256 × 512 small events (tens of MB) however long the worker lives.
MAX_RECENT_INVESTIGATIONS = 256


# What a live reader gets: an agent event, or the durable stream's new next offset.
LiveItem = ProgressEvent | int


class LiveFeeds:
    """This process's live readers per investigation (workflow id)."""

    def __init__(self) -> None:
        self._readers: dict[str, set[asyncio.Queue[LiveItem]]] = defaultdict(set)
        self._recent: OrderedDict[str, deque[ProgressEvent]] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    def offer(self, workflow_id: str, event: ProgressEvent) -> None:
        recent = self._recent.get(workflow_id)
        if recent is None:
            recent = self._recent[workflow_id] = deque(maxlen=RECENT)
            if len(self._recent) > MAX_RECENT_INVESTIGATIONS:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(workflow_id)
        recent.append(event)
        self._put(workflow_id, event)

    def stream_advanced(self, workflow_id: str, next_offset: int) -> None:
        """The investigation's durable stream now ends before `next_offset`.

        Called by the workflow during its workflow task, on the thread the worker runs
        workflow tasks on, so it hops to the event loop that serves the readers. Not
        during replay: only a task that really appended has news."""
        if self._loop is None or workflow_id not in self._readers:
            return
        try:
            self._loop.call_soon_threadsafe(self._put, workflow_id, next_offset)
        except RuntimeError as exc:  # the loop closed: the worker is stopping
            # A hint must never fail the workflow task that gives it.
            log.debug("stream-grew hint for %s not sent: %s", workflow_id, exc)

    def _put(self, workflow_id: str, item: LiveItem) -> None:
        for queue in self._readers.get(workflow_id, ()):
            if queue.full():
                self.dropped += 1  # the durable stream will bring it
            else:
                queue.put_nowait(item)

    async def follow(self, workflow_id: str) -> AsyncIterator[LiveItem]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[LiveItem] = asyncio.Queue(MAX_BEHIND)
        # The recent events, then what comes: no await in between, so none is missed
        # or repeated at the seam (a reader drops those the durable stream has).
        for event in self._recent.get(workflow_id, ()):
            queue.put_nowait(event)
        self._readers[workflow_id].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            readers = self._readers[workflow_id]
            readers.discard(queue)
            if not readers:
                del self._readers[workflow_id]


LIVE_FEEDS = LiveFeeds()


def live_app(feeds: LiveFeeds, token: str) -> Starlette:
    expected = f"Bearer {token}".encode()

    async def live(request: Request) -> Response:
        presented = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(presented, expected):
            return JSONResponse(
                {"detail": "the live tail serves surveil's API only: send the agent token"},
                status_code=401,
            )
        workflow_id = request.path_params["workflow_id"]

        async def frames() -> AsyncIterator[ServerSentEvent]:
            async for item in feeds.follow(workflow_id):
                if isinstance(item, int):
                    yield ServerSentEvent(data=str(item), event=ADVANCED_EVENT)
                else:
                    yield ServerSentEvent(data=item.model_dump_json(), event=LIVE_EVENT)

        return EventSourceResponse(frames(), ping=15)

    return Starlette(routes=[Route("/live/{workflow_id:path}", live)])


async def serve_live_feeds(host: str, port: int, token: str) -> asyncio.Task[None]:
    """Serve `LIVE_FEEDS` on host:port in this event loop (the worker's)."""
    config = uvicorn.Config(
        live_app(LIVE_FEEDS, token), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="live tail server")
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (a taken port)
        await asyncio.sleep(0.05)
    log.info("live tail on http://%s:%d/live/{workflow_id}", host, port)
    return task
