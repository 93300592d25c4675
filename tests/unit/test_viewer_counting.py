"""The load/bench viewer's bookkeeping: `make load` reports 0 dropped events only if
gaps and repeats are really counted, also across the alerts a viewer moves on to."""

from __future__ import annotations

from benchmarks.viewers import StreamSpec, Viewer, ViewerSpec


def frames(*offsets: int) -> bytes:
    return b"".join(f"id: {o}\nevent: token\ndata: x\n\n".encode() for o in offsets)


def viewer(last_event_id: int | None = None) -> Viewer:
    spec = StreamSpec(url="http://127.0.0.1:9/api/alerts/a/events", last_event_id=last_event_id)
    return Viewer(spec, ViewerSpec(streams=[spec], timestamps="none"))


def test_contiguous_offsets_count_no_gap_or_repeat() -> None:
    v = viewer()
    v.on_body(frames(0, 1, 2) + b": ping\n\n" + frames(3))
    assert (v.result.events, v.result.gaps, v.result.duplicates) == (4, 0, 0)


def test_a_skipped_offset_and_a_repeat_are_both_counted() -> None:
    v = viewer()
    v.on_body(frames(0, 1, 3, 3, 2))
    assert (v.result.gaps, v.result.duplicates) == (1, 2)


def test_a_resumed_stream_must_start_right_after_last_event_id() -> None:
    v = viewer(last_event_id=9)
    v.on_body(frames(12))
    assert v.result.gaps == 2  # 10 and 11 never arrived


def test_frames_split_across_chunks_are_reassembled() -> None:
    v = viewer()
    whole = frames(0, 1)
    v.on_body(whole[:7])
    v.on_body(whole[7:])
    assert (v.result.events, v.result.last_id) == (2, 1)


def test_moving_on_to_the_next_alert_starts_counting_from_zero_again() -> None:
    v = viewer()
    v.on_body(frames(0, 1, 2))
    v._open_stream("http://127.0.0.1:9/api/alerts/b/events", None)
    v.on_body(frames(0, 1))
    assert (v.result.events, v.result.gaps, v.result.duplicates) == (5, 0, 0)
    v._open_stream("http://127.0.0.1:9/api/alerts/c/events", None)
    v.on_body(frames(1))
    assert v.result.gaps == 1  # offset 0 of the third stream is missing
