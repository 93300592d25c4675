"""SSE viewers in their own process, so their CPU never counts against the server's.

Run as `python -m benchmarks.viewers`: it reads one JSON `ViewerSpec` line on stdin,
opens every stream, prints `{"ready": n}` once all have their response headers,
reads until each stream's stop condition (or a `stop` line on stdin), and prints one
JSON result line. Each viewer checks that SSE ids (workflow-stream offsets) arrive
contiguous, reconnects with Last-Event-ID when a stream drops early, and records
emit→receive latency from the timestamp inside each event.

`ViewerProcess` is the parent's handle on such a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httptools
import httpx
import numpy as np

TimestampFormat = Literal["progress_event", "epoch", "none"]
TERMINAL_STATES = {"completed", "failed", "canceled", "timed_out"}


@dataclass
class NextAlert:
    """An alert a viewer submits (idempotently, by id) and follows once its current
    investigation has ended: an analyst moving on to the next alert in the queue."""

    submit_url: str
    body: dict[str, Any]
    events_url: str


@dataclass
class StreamSpec:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    group: str = "viewers"
    last_event_id: int | None = None  # resume after this offset
    slow_ms: float = 0.0  # pause after each received chunk: a viewer on a slow link
    then: list[NextAlert] = field(default_factory=list)


@dataclass
class ViewerSpec:
    streams: list[StreamSpec]
    timestamps: TimestampFormat = "progress_event"
    stop_on_terminal: bool = True  # a terminal orchestrator status ends the stream
    stop_after_events: int | None = None  # per stream
    stop_after_s: float | None = None  # overall
    reconnect: bool = True
    # Count latency only for events emitted after the viewer connected: a replay of
    # what happened before is not emit→receive latency.
    live_only: bool = False
    # Retry a refused or failed connection (HTTP error, reset) after a second, as a
    # resilient client would; each failure is still counted in `failures`.
    retry_failures: bool = False
    max_connects_in_flight: int = 100  # do not SYN-flood a 2-core box

    @classmethod
    def following_live_investigations(cls, streams: list[StreamSpec]) -> ViewerSpec:
        """Viewers that join running investigations through the API and time live events.

        Every SSE connect costs the API a workflow Query (the stream's next offset), and
        Temporal refuses queries beyond a small per-workflow buffer: ramp up, and retry.
        """
        return cls(
            streams=streams,
            timestamps="progress_event",
            live_only=True,
            retry_failures=True,
            max_connects_in_flight=20,
        )

    @classmethod
    def from_json(cls, raw: str) -> ViewerSpec:
        data = json.loads(raw)
        data["streams"] = [
            StreamSpec(**{**s, "then": [NextAlert(**n) for n in s.get("then", [])]})
            for s in data["streams"]
        ]
        return cls(**data)

    def to_json(self) -> str:
        from dataclasses import asdict

        return json.dumps(asdict(self))


@dataclass
class StreamResult:
    group: str
    events: int = 0
    first_id: int | None = None
    last_id: int | None = None
    gaps: int = 0  # offsets skipped
    duplicates: int = 0  # offsets delivered twice
    reconnects: int = 0
    terminal: bool = False
    connect_ms: float | None = None  # request sent -> response headers (first connect)
    first_event_ms: float | None = None  # request sent -> first event (first connect)
    error: str | None = None
    replayed: int = 0  # events emitted before this viewer connected (live_only)
    failures: int = 0  # connections refused or broken (retried with retry_failures)
    live: int = 0  # agent events of the live tail (no id), counted in `events` too
    investigations: int = 1  # streams followed to their end, one after another (`then`)
    failure_reasons: Counter[str] = field(default_factory=Counter)  # "HTTP 503", "OSError", …
    latencies_ms: array = field(default_factory=lambda: array("d"))
    # The same latencies by how the event came: a token frame first seen live, a token
    # frame first seen in the durable stream, another agent event, a workflow event.
    latencies_by_kind: dict[str, array] = field(default_factory=dict)


def _event_time(
    data: bytes, fmt: TimestampFormat
) -> tuple[float | None, bool, tuple[str, int] | None, str]:
    """(emit time as epoch seconds, is terminal, (agent, seq) of an agent's event, kind)
    from one SSE data field; kind is "frame" (a token frame), "agent" (another event
    an agent sent) or "workflow" (one the workflow or a relay wrote: no seq)."""
    if fmt == "none" or not data:
        return None, False, None, "other"
    if fmt == "epoch":  # "<epoch seconds> <padding>"
        return float(data.split(b" ", 1)[0]), False, None, "other"
    event = json.loads(data)
    emitted = datetime.fromisoformat(event["timestamp"]).timestamp()
    terminal = (
        event.get("type") == "status"
        and event.get("agent") == "orchestrator"
        and (event.get("data") or {}).get("state") in TERMINAL_STATES
    )
    has_seq = event.get("seq") is not None
    kind = "frame" if event.get("type") == "message_delta" else "agent" if has_seq else "workflow"
    return emitted, terminal, (event["agent"], event["seq"]) if has_seq else None, kind


def _parse_frame(frame: bytes) -> tuple[int | None, bytes, bool]:
    """(id, data, is comment-only) of one SSE frame (fields separated by \\n)."""
    event_id: int | None = None
    data: list[bytes] = []
    fields = 0
    for line in frame.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        fields += 1
        name, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if name == b"id" and value:
            event_id = int(value)
        elif name == b"data":
            data.append(value)
    return event_id, b"\n".join(data), fields == 0


class _SSEConnection(asyncio.Protocol):
    """One HTTP/1.1 GET parsed by httptools (C): cheap enough that one client process
    can read a thousand streams without becoming the bottleneck it measures."""

    def __init__(self, viewer: Viewer, request: bytes) -> None:
        self.viewer, self.request = viewer, request
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.status: int | None = None
        self.error_body = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is duck-typed
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.close(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(exc)

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status == 200:
            self.viewer.on_connected()

    def on_body(self, body: bytes) -> None:
        if self.status != 200:
            self.error_body += body
            return
        if self.viewer.on_body(body):
            self.close(None)
        elif self.viewer.spec.slow_ms and self.transport is not None:
            # A slow link: stop reading so the server's socket buffer fills up.
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(
                self.viewer.spec.slow_ms / 1000, self._resume_reading
            )

    def on_message_complete(self) -> None:
        self.close(None)

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def close(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.closed.done():
            if exc is None and self.status not in (None, 200):
                text = self.error_body[:200].decode(errors="replace")
                exc = RuntimeError(f"HTTP {self.status}: {text}")
            if exc is None:
                self.closed.set_result(None)
            else:
                self.closed.set_exception(exc)


class Viewer:
    """One viewer: (re)connects with Last-Event-ID until its stop condition, then
    moves on to the alerts in `then`, if any."""

    def __init__(self, spec: StreamSpec, run: ViewerSpec) -> None:
        self.spec, self.run = spec, run
        self.result = StreamResult(group=spec.group)
        self.connected = asyncio.Event()
        self._successors = list(spec.then)
        self._buffer = b""
        self._live_first: set[tuple[str, int]] = set()  # shown live, offset not yet seen
        self._sent = 0.0
        self._first_connection = True
        self._open_stream(spec.url, spec.last_event_id)

    def _open_stream(self, url: str, last_event_id: int | None) -> None:
        """Start following a stream: offsets are checked from where it should start."""
        self._last_id = last_event_id
        self._expected_first = 0 if last_event_id is None else last_event_id + 1
        self._seen_any = False  # an event of this stream has arrived
        self._stream_connected = False  # a connection of this stream got its headers
        self._connected_at = 0.0  # wall clock, comparable with event timestamps
        self.result.terminal = False
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._target = parts.path + (f"?{parts.query}" if parts.query else "")

    def _done(self) -> bool:
        r = self.result
        limit = self.run.stop_after_events
        return (self.run.stop_on_terminal and r.terminal) or (
            limit is not None and r.events >= limit
        )

    def _request(self) -> bytes:
        headers = {
            "Host": f"{self._host}:{self._port}",
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            **self.spec.headers,
        }
        if self._last_id is not None:
            headers["Last-Event-ID"] = str(self._last_id)
        lines = [f"GET {self._target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def run_until_done(self, gate: asyncio.Semaphore) -> None:
        try:
            await self._follow(gate)
            while self._successors and self.result.terminal and self.result.error is None:
                await self._move_on(self._successors.pop(0))
                await self._follow(gate)
        except Exception as exc:  # recorded, reported, and counted as a failed viewer
            self.result.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.connected.set()

    async def _follow(self, gate: asyncio.Semaphore) -> None:
        """The current stream, to its stop condition, resuming after every cut."""
        loop = asyncio.get_running_loop()
        while not self._done():
            if self._stream_connected:  # a stream we had was cut
                self.result.reconnects += 1
                await asyncio.sleep(0.2)
            self._buffer, self._sent = b"", time.monotonic()
            connection = _SSEConnection(self, self._request())
            try:
                async with gate:
                    await loop.create_connection(lambda c=connection: c, self._host, self._port)
                await connection.closed
            except Exception as exc:
                self.result.failures += 1
                self.result.failure_reasons[_reason(exc)] += 1
                if not self.run.retry_failures:
                    raise
                await asyncio.sleep(1.0)
            finally:
                connection.close(None)
            self._first_connection = False
            if not self.run.reconnect:
                break

    async def _move_on(self, alert: NextAlert) -> None:
        """Submit the next alert (the POST is idempotent by id: every viewer of this
        queue may send it) and follow its investigation from offset 0."""
        for attempt in range(5):
            try:
                response = await _http().post(
                    alert.submit_url, json=alert.body, headers=self.spec.headers
                )
            except httpx.HTTPError as exc:
                failure = type(exc).__name__
            else:
                if response.status_code in (200, 201, 202):
                    break
                failure = f"HTTP {response.status_code}"
            self.result.failures += 1
            self.result.failure_reasons[f"submit {failure}"] += 1
            await asyncio.sleep(1.0 + attempt)
        else:
            raise RuntimeError(f"could not submit {alert.body.get('id')}")
        self.result.investigations += 1
        self._open_stream(alert.events_url, None)

    def on_connected(self) -> None:
        if self._first_connection:
            self.result.connect_ms = (time.monotonic() - self._sent) * 1000
        if not self._stream_connected:
            self._stream_connected = True
            self._connected_at = time.time()
        self.connected.set()

    def on_body(self, chunk: bytes) -> bool:
        """Consume a body chunk; True once this viewer's stop condition is reached."""
        received = time.time()
        r, fmt = self.result, self.run.timestamps
        buffer = (self._buffer + chunk).replace(b"\r\n", b"\n")
        *frames, self._buffer = buffer.split(b"\n\n")
        for frame in frames:
            event_id, data, comment_only = _parse_frame(frame)
            if comment_only:
                continue  # heartbeat
            self._count(event_id)
            if self._first_connection and r.first_event_ms is None:
                r.first_event_ms = (time.monotonic() - self._sent) * 1000
            emitted, terminal, frame_key, kind = _event_time(data, fmt)
            # An agent's event may come twice: live (no id) and then with its offset.
            # What a viewer waits for is its first arrival.
            shown_live = False
            if frame_key is not None:
                if event_id is None:
                    self._live_first.add(frame_key)
                    r.live += 1
                    kind = f"live {kind}"
                elif frame_key in self._live_first:
                    self._live_first.discard(frame_key)
                    shown_live = True
            if emitted is not None and not shown_live:
                if self.run.live_only and emitted < self._connected_at:
                    r.replayed += 1
                else:
                    latency_ms = (received - emitted) * 1000
                    r.latencies_ms.append(latency_ms)
                    by_kind = r.latencies_by_kind.get(kind)
                    if by_kind is None:
                        by_kind = r.latencies_by_kind[kind] = array("d")
                    by_kind.append(latency_ms)
            r.terminal = r.terminal or terminal
            if self._done():
                return True
        return False

    def _count(self, event_id: int | None) -> None:
        r = self.result
        r.events += 1
        if event_id is None:
            return
        if r.first_id is None:
            r.first_id = event_id
        if not self._seen_any:
            self._seen_any = True
            if event_id > self._expected_first:
                r.gaps += event_id - self._expected_first
        elif self._last_id is not None:
            if event_id <= self._last_id:
                r.duplicates += 1
                return
            r.gaps += event_id - self._last_id - 1
        self._last_id = event_id
        r.last_id = event_id


_client: httpx.AsyncClient | None = None


def _http() -> httpx.AsyncClient:
    """One HTTP client for the submissions of every viewer in this process."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50))
    return _client


def _reason(exc: Exception) -> str:
    """A short, countable name for why a connection failed."""
    text = str(exc)
    return text[: text.index(":")] if text.startswith("HTTP ") else type(exc).__name__


def summarize(results: list[StreamResult]) -> dict[str, Any]:
    """Per group: counts, offset integrity and latency percentiles."""
    groups: dict[str, dict[str, Any]] = {}
    for name in sorted({r.group for r in results}):
        members = [r for r in results if r.group == name]
        latencies = np.concatenate(
            [np.frombuffer(r.latencies_ms, dtype=np.float64) for r in members] or [np.zeros(0)]
        )
        connects = [r.connect_ms for r in members if r.connect_ms is not None]
        firsts = [r.first_event_ms for r in members if r.first_event_ms is not None]
        groups[name] = {
            "streams": len(members),
            "events": sum(r.events for r in members),
            "gaps": sum(r.gaps for r in members),
            "duplicates": sum(r.duplicates for r in members),
            "reconnects": sum(r.reconnects for r in members),
            "terminal": sum(r.terminal for r in members),
            "replayed": sum(r.replayed for r in members),
            "live": sum(r.live for r in members),
            "errors": sum(r.error is not None for r in members),
            "failures": sum(r.failures for r in members),
            "investigations": sum(r.investigations for r in members),
            "failure_reasons": dict(sum((r.failure_reasons for r in members), Counter())),
            "error_samples": sorted({r.error for r in members if r.error})[:5],
            "latency_ms": percentiles(latencies),
            "latency_ms_by_kind": {
                kind: percentiles(
                    np.concatenate(
                        [
                            np.frombuffer(r.latencies_by_kind[kind], dtype=np.float64)
                            for r in members
                            if kind in r.latencies_by_kind
                        ]
                    )
                )
                for kind in sorted({k for r in members for k in r.latencies_by_kind})
            },  # fmt: skip
            "connect_ms": percentiles(np.array(connects)),
            "first_event_ms": percentiles(np.array(firsts)),
            "last_ids": [r.last_id for r in members],
        }
    return groups


def percentiles(values: np.ndarray) -> dict[str, float | int | None]:
    if values.size == 0:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "n": int(values.size),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(values.max()),
        "mean": float(values.mean()),
    }


async def _watch_stdin_for_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "stop":
            stop.set()
            return


async def run_viewers(spec: ViewerSpec, stop: asyncio.Event) -> dict[str, Any]:
    started = time.monotonic()
    viewers = [Viewer(s, spec) for s in spec.streams]
    gate = asyncio.Semaphore(spec.max_connects_in_flight)
    tasks = [asyncio.create_task(v.run_until_done(gate)) for v in viewers]
    all_connected = asyncio.ensure_future(asyncio.gather(*(v.connected.wait() for v in viewers)))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([all_connected, stopped], return_when=asyncio.FIRST_COMPLETED)
    all_connected.cancel()
    stopped.cancel()
    ready_s = time.monotonic() - started
    ready = sum(v.result.connect_ms is not None and v.result.error is None for v in viewers)
    print(json.dumps({"ready": ready}), flush=True)
    reading = time.monotonic()
    events_before_reading = sum(v.result.events for v in viewers)
    waits = [asyncio.ensure_future(asyncio.gather(*tasks)), asyncio.ensure_future(stop.wait())]
    if spec.stop_after_s is not None:
        waits.append(asyncio.ensure_future(asyncio.sleep(spec.stop_after_s)))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    read_s = time.monotonic() - reading
    events_while_reading = sum(v.result.events for v in viewers) - events_before_reading
    for future in [*tasks, *waits]:
        future.cancel()
    await asyncio.gather(*tasks, *waits, return_exceptions=True)
    return {
        "connect_all_s": ready_s,
        "read_s": read_s,
        "events_while_reading": events_while_reading,
        "groups": summarize([v.result for v in viewers]),
    }


async def _main() -> None:
    with contextlib.suppress(BrokenPipeError):  # the parent stopped listening
        await _serve_parent()


async def _serve_parent() -> None:
    spec = ViewerSpec.from_json(sys.stdin.readline())
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_stdin_for_stop(stop))
    result = await run_viewers(spec, stop)
    if _client is not None:
        await _client.aclose()
    print(json.dumps({"result": result}), flush=True)
    watcher.cancel()


class ViewerProcess:
    """The parent's handle: start viewers, wait until connected, stop, collect."""

    def __init__(self, spec: ViewerSpec) -> None:
        self.spec = spec
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = 0
        self._ready: asyncio.Future[dict[str, Any]] | None = None

    async def start(
        self, ready_within_s: float = 120, *, require_ready: bool = True
    ) -> ViewerProcess:
        """Launch; wait until every stream has connected (or, without `require_ready`,
        until the deadline, leaving the stragglers connecting)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.viewers",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )  # fmt: skip
        assert self.proc.stdin is not None
        self.proc.stdin.write(self.spec.to_json().encode() + b"\n")
        await self.proc.stdin.drain()
        try:
            line = await asyncio.wait_for(asyncio.shield(self._ready_line()), ready_within_s)
        except TimeoutError:
            if require_ready:
                await self.kill()
                raise
            return self
        self.ready = int(line["ready"])
        return self

    async def _ready_line(self) -> dict[str, Any]:
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._line())
        return await self._ready

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _line(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        raw = await self.proc.stdout.readline()
        if not raw:
            code = await self.proc.wait()
            raise RuntimeError(f"viewer process exited with {code} before reporting")
        return json.loads(raw)

    async def result(self, within_s: float | None = None, stop: bool = False) -> dict[str, Any]:
        """The summary; with `stop`, end all streams now rather than at their stop condition."""
        assert self.proc is not None and self.proc.stdin is not None
        if self._ready is not None and not self._ready.done():
            await self._send_stop()  # still connecting: the ready line comes first
            self.ready = int((await asyncio.wait_for(self._ready, 60))["ready"])
        if stop:
            await self._send_stop()
        try:
            try:
                line = await asyncio.wait_for(self._line(), within_s)
            except TimeoutError:  # report what was read so far rather than nothing
                await self._send_stop()
                line = await asyncio.wait_for(self._line(), 60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                self.proc.stdin.close()
            if self.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
            await self.proc.wait()
        return line["result"]

    async def _send_stop(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(b"stop\n")
            await self.proc.stdin.drain()

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(_main())
    else:
        uvloop.run(_main())
