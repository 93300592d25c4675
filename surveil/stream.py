"""The durable event stream's wire types: what producers send and what readers get.

One investigation is one stream of `ProgressEvent`s at offsets 0, 1, 2 … up to its
final terminal event, however many workflow runs (hand-offs and retries) hold it.
Each run holds one contiguous segment; the runs before it are named by
`RunSegment`s, so a reader finds any offset in the run that holds it.

Every type here crosses Temporal as plain JSON (the pydantic data converter), so an
operator reading a history in the Temporal Web UI sees the events themselves, not
base64 inside JSON.
"""

from __future__ import annotations

from pydantic import BaseModel

from surveil.events import ProgressEvent

# The signal producers publish with, the query readers page with, and the query
# that answers "how many events so far" without returning any.
PUBLISH_SIGNAL = "publish"
EVENTS_QUERY = "events"
NEXT_OFFSET_QUERY = "next_offset"

# A page of events stays well under Temporal's 2 MB payload limit (and the 1 MB
# budget surveil sets itself for every payload).
MAX_PAGE_BYTES = 512 * 1024


class PublishBatch(BaseModel):
    """Events one producer publishes in one signal.

    `publisher` names the producing activity attempt and `batch` numbers its
    batches from 0: a batch the workflow has already taken (a signal retried after a
    timeout) is dropped whole. Each relayed event also carries its `(agent, seq)`,
    which the workflow checks one by one (a zombie attempt re-sending old events).
    """

    publisher: str
    batch: int
    events: list[ProgressEvent]


class RunSegment(BaseModel):
    """The offsets [first_offset, next_offset) that one closed workflow run holds."""

    run_id: str
    first_offset: int
    next_offset: int

    def holds(self, offset: int) -> bool:
        return self.first_offset <= offset < self.next_offset


class StreamCursor(BaseModel):
    """What a run hands to the next (continue-as-new or retry): O(runs), never O(events)."""

    next_offset: int = 0
    segments: list[RunSegment] = []


class EventPage(BaseModel):
    """Events from `first_offset` on, as many as fit in `MAX_PAGE_BYTES`.

    - `run_first_offset`: the lowest offset this run holds; a lower offset is in
      one of `earlier` (the closed runs before this one, oldest first).
    - `next_offset`: where the next page starts (= first_offset + len(events)).
    - `more`: the page was cut by size; ask again at once.
    - `run_closed`: this run will not grow any more (it emitted its terminal event or
      handed off), so the page never changes and may be cached.
    - `ended`: this run emitted its terminal event (as its last one).
    """

    first_offset: int
    events: list[ProgressEvent] = []
    next_offset: int
    run_first_offset: int
    more: bool = False
    run_closed: bool = False
    ended: bool = False
    earlier: list[RunSegment] = []

    def segment_for(self, offset: int) -> RunSegment | None:
        return next((s for s in self.earlier if s.holds(offset)), None)
