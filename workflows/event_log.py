"""The workflow's side of the durable stream: this run's segment of events.

Why surveil owns this instead of using `temporalio.contrib.workflow_streams`
(used up to session 2; see docs/design.md, "The durable stream"):
- Workflow Streams carries its whole log through continue-as-new, so a long
  investigation's hand-off input passed Temporal's 2 MB payload limit and wedged the
  workflow for good. Here a run keeps only its own segment; the next run gets a
  `StreamCursor` (next offset + the closed runs' segments), and readers page older
  offsets from the run that holds them.
- Its wire format nests base64 protobuf inside JSON, so the Temporal Web UI shows
  nothing an operator can read. `PublishBatch` is plain JSON.
- Its subscribers long-poll with Updates: one per batch per API process, which wrote
  most of the history and ran into the 2,000-Updates-per-run cap. Readers here page
  with a Query, which writes no history at all.
- Its dedupe is per batch only; here every relayed event is also checked by its
  `(agent, seq)`, so a zombie activity attempt cannot duplicate what a newer one sent.

Pure workflow code: no I/O, no clock (the caller stamps timestamps).
"""

from __future__ import annotations

from surveil.events import ProgressEvent
from surveil.stream import MAX_PAGE_BYTES, EventPage, RunSegment, StreamCursor


class EventLog:
    """Offsets `[first_offset, next_offset)` of one investigation, held by this run."""

    def __init__(self, cursor: StreamCursor, run_id: str) -> None:
        self.first_offset = cursor.next_offset
        self.earlier = list(cursor.segments)
        self.run_id = run_id
        self._events: list[ProgressEvent] = []
        self._sizes: list[int] = []
        self.bytes = 0
        self.closed = False  # terminal event emitted, or handed off
        self.ended = False  # terminal event emitted

    @property
    def next_offset(self) -> int:
        return self.first_offset + len(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def append(self, event: ProgressEvent) -> int:
        if self.closed:
            raise RuntimeError(f"event after the run closed its segment: {event!r:.200}")
        size = len(event.model_dump_json())
        self._events.append(event)
        self._sizes.append(size)
        self.bytes += size
        if event.is_terminal:
            self.closed = self.ended = True
        return self.next_offset - 1

    def page(self, from_offset: int, max_bytes: int = MAX_PAGE_BYTES) -> EventPage:
        """Events from `from_offset`, cut by size (never below one event)."""
        start = max(from_offset, self.first_offset) - self.first_offset
        end, size = start, 0
        while end < len(self._events) and (end == start or size + self._sizes[end] <= max_bytes):
            size += self._sizes[end]
            end += 1
        return EventPage(
            first_offset=self.first_offset + start,
            events=self._events[start:end],
            next_offset=self.first_offset + end,
            run_first_offset=self.first_offset,
            more=end < len(self._events),
            run_closed=self.closed,
            ended=self.ended,
            earlier=self.earlier,
        )

    def cursor_after(self) -> StreamCursor:
        """The cursor of the run after this one: this run's segment joins the closed
        ones. Pure (queries call it too); `close()` stops the segment growing."""
        segments = list(self.earlier)
        if self._events:
            segments.append(
                RunSegment(
                    run_id=self.run_id, first_offset=self.first_offset, next_offset=self.next_offset
                )
            )
        return StreamCursor(next_offset=self.next_offset, segments=segments)

    def close(self) -> None:
        self.closed = True


class BatchDeduper:
    """Which `PublishBatch`es this investigation has taken: the last batch number per
    publisher (one activity attempt). Carried across runs; O(attempts), capped to the
    most recent publishers (an attempt that old is long over)."""

    MAX_PUBLISHERS = 200

    def __init__(self, last_batches: dict[str, int]) -> None:
        self.last = dict(last_batches)

    def is_new(self, publisher: str, batch: int) -> bool:
        if batch <= self.last.get(publisher, -1):
            return False
        self.last.pop(publisher, None)  # re-insert: dict order = recency
        self.last[publisher] = batch
        return True

    def carried(self) -> dict[str, int]:
        return dict(list(self.last.items())[-self.MAX_PUBLISHERS :])
