"""The direct path: the investigation graph in-process → SSE, no Temporal, no A2A.

A tiny app runs `agents.investigation.investigate()` per request and writes each
ProgressEvent as the API would (`id:` offset, `event:` type, `data:` json) through
sse-starlette; viewers in a separate process measure emit→receive exactly as for the
durable path, so the two are comparable hop for hop.

`python -m benchmarks.direct_path serve --port P` runs the app (reads SURVEIL_HOME).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from benchmarks import procstat
from benchmarks.live_stack import LiveStack
from benchmarks.viewers import StreamSpec, ViewerProcess, ViewerSpec
from surveil.processes import free_port, start_process, stop_process, wait_for_port


def build_app() -> Any:
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from agents.investigation import investigate
    from surveil.store import Store

    store = Store.open()

    async def events(request: Request) -> Response:
        alert = store.get_alert(request.path_params["alert_id"])
        if alert is None:
            return PlainTextResponse("no such alert in the store", status_code=404)

        async def frames():
            offset = 0
            async for event in investigate(alert, store=store):
                yield ServerSentEvent(
                    data=event.model_dump_json(), event=event.type.value, id=str(offset)
                )
                offset += 1

        return EventSourceResponse(frames(), ping=15)

    return Starlette(routes=[Route("/direct/{alert_id}", events)])


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def measure(live: LiveStack, concurrency: int, *, limit_s: float) -> dict[str, Any]:
    """`concurrency` investigations of the demo alerts at once, in one process."""
    port = free_port()
    env = {**live.stack.env, "SURVEIL_LOG_LEVEL": "WARNING"}
    server = start_process(
        [sys.executable, "-m", "benchmarks.direct_path", "serve", "--port", str(port)],
        log_path=live.root / "logs" / "direct_path.log",
        env=env,
    )
    try:
        wait_for_port("127.0.0.1", port, proc=server)
        alert_ids = [live.demo_alerts[i % len(live.demo_alerts)]["id"] for i in range(concurrency)]
        spec = ViewerSpec(
            streams=[StreamSpec(url=f"http://127.0.0.1:{port}/direct/{a}") for a in alert_ids],
            timestamps="progress_event",
            reconnect=False,  # a rerun would be a new investigation
        )
        before = procstat.usage(server.pid)
        started = time.monotonic()
        viewers = await ViewerProcess(spec).start()
        result = await viewers.result(within_s=limit_s)
        wall_s = time.monotonic() - started
        after = procstat.usage(server.pid)
    finally:
        stop_process(server)
    group = result["groups"]["viewers"]
    return {
        "concurrency": concurrency,
        "token_delay_ms": live.token_delay_ms,
        "wall_s": wall_s,
        "events": group["events"],
        "completed": group["terminal"],
        "errors": group["error_samples"],
        "client": group["latency_ms"],
        "server_cpu_s": after.cpu_seconds - before.cpu_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the direct-path SSE app")
    serve_parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.port)


if __name__ == "__main__":
    main()
