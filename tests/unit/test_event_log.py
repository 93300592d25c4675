"""The workflow's segment of the stream: offsets, pages cut by bytes, hand-off cursors,
batch dedupe — pure code, no Temporal."""

from __future__ import annotations

from surveil.events import ORCHESTRATOR, EventType, ProgressEvent
from surveil.stream import EventPage, RunSegment, StreamCursor
from workflows.event_log import BatchDeduper, EventLog


def delta(text: str) -> ProgressEvent:
    return ProgressEvent(type=EventType.message_delta, agent="wash_trade", text=text)


def terminal() -> ProgressEvent:
    return ProgressEvent(type=EventType.status, agent=ORCHESTRATOR, data={"state": "completed"})


def test_offsets_continue_from_the_cursor_of_the_runs_before() -> None:
    earlier = [RunSegment(run_id="r1", first_offset=0, next_offset=40)]
    log = EventLog(StreamCursor(next_offset=40, segments=earlier), run_id="r2")
    assert log.append(delta("a")) == 40
    assert log.append(delta("b")) == 41
    page = log.page(0)
    assert page.run_first_offset == 40 and page.first_offset == 40
    assert page.segment_for(39) == earlier[0] and page.segment_for(40) is None


def test_a_page_is_cut_by_bytes_but_never_empty_and_says_more() -> None:
    log = EventLog(StreamCursor(), run_id="r1")
    for _ in range(10):
        log.append(delta("x" * 1000))
    size = len(delta("x" * 1000).model_dump_json())
    page = log.page(0, max_bytes=3 * size + size // 2)
    assert len(page.events) == 3 and page.more and page.next_offset == 3
    huge = EventLog(StreamCursor(), run_id="r1")
    huge.append(delta("y" * 10_000))
    one = huge.page(0, max_bytes=100)
    assert len(one.events) == 1 and not one.more


def test_the_page_payload_of_a_long_run_stays_under_the_budget() -> None:
    log = EventLog(StreamCursor(), run_id="r1")
    for _ in range(20_000):
        log.append(delta("tokens " * 20))
    page = log.page(0)
    assert len(page.model_dump_json()) < 600 * 1024


def test_hand_off_carries_segments_not_events() -> None:
    log = EventLog(StreamCursor(), run_id="r1")
    for _ in range(5_000):
        log.append(delta("x" * 300))
    cursor = log.cursor_after()
    assert cursor.next_offset == 5_000
    assert cursor.segments == [RunSegment(run_id="r1", first_offset=0, next_offset=5_000)]
    assert len(cursor.model_dump_json()) < 200
    nxt = EventLog(cursor, run_id="r2")
    nxt.append(delta("z"))
    assert nxt.cursor_after().segments[-1] == RunSegment(
        run_id="r2", first_offset=5_000, next_offset=5_001
    )


def test_the_terminal_event_ends_and_closes_the_run() -> None:
    log = EventLog(StreamCursor(), run_id="r1")
    log.append(delta("a"))
    assert not log.page(0).ended
    log.append(terminal())
    page: EventPage = log.page(0)
    assert page.ended and page.run_closed and page.next_offset == 2


def test_a_batch_is_taken_once_per_publisher_and_number() -> None:
    seen = BatchDeduper({"p1": 3})
    assert not seen.is_new("p1", 3) and not seen.is_new("p1", 0)
    assert seen.is_new("p1", 4) and seen.is_new("p2", 0)
    assert not seen.is_new("p2", 0)
    assert seen.carried() == {"p1": 4, "p2": 0}
