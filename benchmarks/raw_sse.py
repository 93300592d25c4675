"""The ceiling: sse-starlette + uvicorn alone, no surveil code at all.

A tiny app streams numbered events carrying their emit time; viewers in a separate
process count them. What surveil's API achieves can be no better than this.

`python -m benchmarks.raw_sse serve --port P` runs the app (the measurement starts it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import procstat
from benchmarks.report import Report, Row
from benchmarks.viewers import StreamSpec, ViewerProcess, ViewerSpec
from surveil.processes import free_port, start_process, stop_process, wait_for_port

# About the size of a serialized ProgressEvent carrying one LLM token.
PAYLOAD_BYTES = 250


def build_app() -> Any:
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    async def events(request: Request) -> EventSourceResponse:
        rate = float(request.query_params.get("rate", "0"))  # per stream; 0 = flat out
        padding = "x" * PAYLOAD_BYTES

        async def generate():
            offset, next_at = 0, time.monotonic()
            while True:
                yield ServerSentEvent(data=f"{time.time():.6f} {padding}", id=str(offset))
                offset += 1
                if rate > 0:
                    next_at += 1 / rate
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                else:
                    await asyncio.sleep(0)  # let the other streams have their turn

        return EventSourceResponse(generate(), ping=15)

    return Starlette(routes=[Route("/events", events)])


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(
        build_app(), host="127.0.0.1", port=port, log_level="warning",
        access_log=False, loop="uvloop", http="httptools", backlog=4096,
    )  # fmt: skip


async def _measure(
    url: str, streams: int, seconds: float, server_pid: int, rate: float
) -> dict[str, Any]:
    spec = ViewerSpec(
        streams=[StreamSpec(url=f"{url}/events?rate={rate}") for _ in range(streams)],
        timestamps="epoch",
        stop_on_terminal=False,
    )
    viewers = await ViewerProcess(spec).start()
    server_before, client_before = procstat.usage(server_pid), procstat.usage(viewers.pid)
    await asyncio.sleep(seconds)
    server_after, client_after = procstat.usage(server_pid), procstat.usage(viewers.pid)
    result = await viewers.result(stop=True, within_s=60)
    group = result["groups"]["viewers"]
    return {
        "streams": streams,
        "connected": viewers.ready,
        "events_per_s": result["events_while_reading"] / result["read_s"],
        "server_cpu_pct": server_after.cpu_percent_since(server_before),
        "client_cpu_pct": client_after.cpu_percent_since(client_before),
        "server_rss_bytes": server_after.rss_bytes,
        "latency_ms": group["latency_ms"],
        "gaps": group["gaps"],
        "errors": group["error_samples"],
    }


async def run(report: Report, *, quick: bool, workdir: Path) -> None:
    seconds = 2.0 if quick else 3.0
    many = 200 if quick else 1000
    port = free_port()
    server = start_process(
        [sys.executable, "-m", "benchmarks.raw_sse", "serve", "--port", str(port)],
        log_path=workdir / "raw_sse.log",
    )
    try:
        wait_for_port("127.0.0.1", port, proc=server)
        url = f"http://127.0.0.1:{port}"
        await asyncio.sleep(0.5)
        idle_rss = procstat.usage(server.pid).rss_bytes
        one = await _measure(url, 1, seconds, server.pid, rate=0)
        flat_out = await _measure(url, many, seconds, server.pid, rate=0)
        # Paced streams: steady memory per connection and latency under no pressure.
        paced = await _measure(url, many, seconds, server.pid, rate=2)
    finally:
        stop_process(server)
    kb_per_connection = (paced["server_rss_bytes"] - idle_rss) / many / 1024
    report.details["raw_sse"] = {
        "idle_rss_bytes": idle_rss,
        "one_stream": one,
        "many_streams_flat_out": flat_out,
        "many_streams_paced_2_per_s": paced,
        "payload_bytes": PAYLOAD_BYTES,
    }
    report.metrics |= {
        "raw_events_per_s_1_stream": round(one["events_per_s"]),
        f"raw_events_per_s_{many}_streams": round(flat_out["events_per_s"]),
        "raw_kb_per_connection": round(kb_per_connection, 1),
        "raw_paced_p50_ms": paced["latency_ms"]["p50"],
        "raw_paced_p99_ms": paced["latency_ms"]["p99"],
    }
    s = "raw SSE ceiling"
    cpu = "server {:.0f}% / client {:.0f}% CPU"
    report.add(Row(s, "events/s, 1 stream", one["events_per_s"], "ev/s",
                   note=cpu.format(one["server_cpu_pct"], one["client_cpu_pct"])))  # fmt: skip
    report.add(Row(s, f"events/s, {many} streams", flat_out["events_per_s"], "ev/s",
                   note=cpu.format(flat_out["server_cpu_pct"], flat_out["client_cpu_pct"])))  # fmt: skip
    report.add(Row(s, "server RSS per connection", kb_per_connection, "KB",
                   note=f"{many} streams at 2 ev/s, idle RSS {idle_rss / 2**20:.0f} MB"))  # fmt: skip
    lat = paced["latency_ms"]
    report.add(Row(s, f"emit→receive p50 / p99, {many}×2 ev/s",
                   f"{lat['p50']:.1f} / {lat['p99']:.1f}", "ms"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the tiny SSE app")
    serve_parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)


if __name__ == "__main__":
    main()
