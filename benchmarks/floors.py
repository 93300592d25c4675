"""The floors: what the libraries surveil's design is built on cost by themselves.

surveil's stream event passes a LangGraph token stream, an A2A task streamed over
JSON-RPC SSE and a Temporal workflow. This stage measures each of those alone, with
the stock library and no surveil code, on this machine, so the CPU surveil spends per
stream event (durable_path.py) can be read against what its design cannot go below:

- LangGraph: a one-node graph streaming a chat model's tokens (`stream_mode`
  "messages", as agents/runner.py reads it), CPU per token in this process.
- A2A: a2a-sdk's `DefaultRequestHandler` and `InMemoryTaskStore` (the stock server of
  tests/conformance/stock_agent.py) streaming working-status updates, each one data
  part of a frame's size, to the official a2a-sdk client in another process; CPU per
  event of the server and of the client. A task holds `A2A_EVENTS` events, about an
  investigation's. Over JSON-RPC SSE (what surveil speaks) and over gRPC.
- Temporal: the dev server as surveil starts it, and a worker in this process running
  a workflow of surveil's shape (one activity, then two in parallel, then one) with no
  work in them: CPU per workflow of the server and of the worker. Then the same
  workflow taking `SIGNALS` signals, each followed by a Query (what an append and the
  API's read of it cost): CPU per signal + Query.

`python -m benchmarks.floors` prints the table; `make bench` runs it as a stage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import procstat
from benchmarks.report import Report, Row
from surveil.processes import (
    free_port,
    start_process,
    stop_process,
    temporal_dev_server_args,
    wait_for_port,
)

A2A_TASKS = 20  # concurrent tasks
A2A_EVENTS = 200  # events per task
TOKENS = 20_000
WORKFLOWS = 50
SIGNALS = 40
# JSON-RPC over SSE is what surveil's agents and activities speak; gRPC, the other
# streaming binding of A2A, is measured beside it when grpcio is installed.
TRANSPORTS = ("jsonrpc", "grpc")
# About a frame's ProgressEvent: two tokens of text and its bookkeeping.
FRAME = {
    "type": "message_delta",
    "agent": "insider_trading",
    "step": "write_summary",
    "text": " the account",
    "attempt": 1,
}


# -- A2A ---------------------------------------------------------------------------


def _frame_handler(events: int) -> Any:
    """The stock request handler over an executor that streams `events` working
    updates of one frame-sized data part each, then completes."""
    from a2a.helpers.proto_helpers import new_data_message, new_task_from_user_message
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import Role, TaskState

    class FrameExecutor(AgentExecutor):
        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            assert context.message is not None
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
            updater = TaskUpdater(event_queue, task.id, task.context_id)
            for seq in range(events):
                message = new_data_message(
                    {**FRAME, "seq": seq, "ts": time.time()},
                    context_id=task.context_id,
                    task_id=task.id,
                    role=Role.ROLE_AGENT,
                )
                await updater.update_status(TaskState.TASK_STATE_WORKING, message=message)
            await updater.complete()

        async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
            task = context.current_task
            if task is not None:
                await TaskUpdater(event_queue, task.id, task.context_id).cancel()

    return FrameExecutor(), InMemoryTaskStore()


def frame_card(port: int, transport: str) -> Any:
    """The stock agent's card, served over one transport on `port`."""
    from a2a.types import AgentInterface
    from a2a.utils.constants import PROTOCOL_VERSION_1_0, TransportProtocol

    from tests.conformance.stock_agent import agent_card

    card = agent_card(f"http://127.0.0.1:{port}")
    if transport == "grpc":
        del card.supported_interfaces[:]
        card.supported_interfaces.append(
            AgentInterface(
                url=f"127.0.0.1:{port}",
                protocol_binding=TransportProtocol.GRPC.value,
                protocol_version=PROTOCOL_VERSION_1_0,
            )
        )
    return card


def serve_a2a(port: int, events: int, transport: str) -> None:
    from a2a.server.request_handlers import DefaultRequestHandler

    executor, store = _frame_handler(events)
    card = frame_card(port, transport)
    handler = DefaultRequestHandler(agent_executor=executor, task_store=store, agent_card=card)
    if transport == "grpc":
        asyncio.run(_serve_grpc(handler, port))
        return
    import uvicorn
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from starlette.applications import Starlette

    app = Starlette(
        routes=[
            *create_agent_card_routes(card),
            *create_jsonrpc_routes(handler, rpc_url="/", enable_v0_3_compat=True),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _serve_grpc(handler: Any, port: int) -> None:
    import grpc.aio
    from a2a.server.request_handlers import GrpcHandler
    from a2a.types import a2a_pb2_grpc

    server = grpc.aio.server()
    a2a_pb2_grpc.add_A2AServiceServicer_to_server(GrpcHandler(handler), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def read_a2a(port: int, tasks: int, transport: str) -> dict[str, Any]:
    """Stream `tasks` tasks at once with the official client; count what came."""
    import httpx
    from a2a.client import ClientConfig, ClientFactory
    from a2a.helpers.proto_helpers import new_text_message
    from a2a.types import Role, SendMessageRequest

    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None)) as http:
        if transport == "grpc":
            import grpc.aio
            from a2a.utils.constants import TransportProtocol

            config = ClientConfig(
                streaming=True,
                supported_protocol_bindings=[TransportProtocol.GRPC.value],
                grpc_channel_factory=grpc.aio.insecure_channel,
            )
            client = ClientFactory(config).create(frame_card(port, transport))
        else:
            config = ClientConfig(streaming=True, httpx_client=http)
            client = await ClientFactory(config).create_from_url(f"http://127.0.0.1:{port}")
        counts: list[int] = []

        async def one() -> None:
            request = SendMessageRequest(message=new_text_message("go", role=Role.ROLE_USER))
            n = 0
            async for response in client.send_message(request):
                if response.HasField("status_update") and response.status_update.status.HasField(
                    "message"
                ):
                    n += 1
            counts.append(n)

        await one()  # warm: the first request's imports and connections are not per event
        counts.clear()
        # The parent reads the server's CPU between these two lines.
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(one() for _ in range(tasks)))
        result = {
            "events": sum(counts),
            "client_cpu_s": time.process_time() - cpu,
            "wall_s": time.monotonic() - wall,
        }
        await client.close()
        return result


async def a2a_floor(workdir: Path, transport: str = "jsonrpc") -> dict[str, Any]:
    port = free_port()
    server = start_process(
        [sys.executable, "-m", "benchmarks.floors", "serve-a2a", "--port", str(port),
         "--events", str(A2A_EVENTS), "--transport", transport],
        log_path=workdir / f"floor-a2a-{transport}.log",
    )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, proc=server)
        reader = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.floors", "read-a2a", "--port", str(port),
            "--tasks", str(A2A_TASKS), "--transport", transport,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert reader.stdin is not None and reader.stdout is not None
        ready = await asyncio.wait_for(reader.stdout.readline(), 120)
        if ready.strip() != b"ready":
            raise RuntimeError(f"the A2A reader did not get ready: {ready!r}")
        before = procstat.usage(server.pid)  # after the reader's warm-up task
        out, _ = await asyncio.wait_for(reader.communicate(b"go\n"), 300)
        after = procstat.usage(server.pid)
    finally:
        stop_process(server)
    result = json.loads(out)
    result["server_cpu_s"] = after.cpu_seconds - before.cpu_seconds
    return result


# -- LangGraph -----------------------------------------------------------------


def langgraph_floor(tokens: int = TOKENS) -> dict[str, Any]:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    text = " ".join(["word"] * tokens)
    model = GenericFakeChatModel(messages=iter([AIMessage(content=text)]))

    async def speak(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("speak", speak)
    builder.add_edge(START, "speak")
    builder.add_edge("speak", END)
    graph = builder.compile()

    async def run() -> int:
        seen = 0
        modes = ["custom", "updates", "messages", "values"]  # as agents/runner.py asks
        async for mode, _chunk in graph.astream({"messages": [("user", "go")]}, stream_mode=modes):
            seen += mode == "messages"
        return seen

    cpu = time.process_time()
    seen = asyncio.run(run())
    return {"tokens": seen, "cpu_s": time.process_time() - cpu}


# -- Temporal ------------------------------------------------------------------


async def temporal_floor(workdir: Path) -> dict[str, Any]:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker

    from benchmarks.floor_workflow import (
        FLOOR_QUERY,
        FLOOR_SIGNAL,
        FloorWorkflow,
        nothing,
    )

    port = free_port()
    server = start_process(
        temporal_dev_server_args(db_file=workdir / "floor-temporal.db", port=port, ui_port=None),
        log_path=workdir / "floor-temporal.log",
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=90, proc=server)
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
        queue = f"floor-{uuid.uuid4().hex[:8]}"
        async with Worker(
            client, task_queue=queue, workflows=[FloorWorkflow], activities=[nothing]
        ):

            async def workflows(count: int, signals: int) -> tuple[float, float]:
                server_before, cpu = procstat.usage(server.pid), time.process_time()
                handles = [
                    await client.start_workflow(
                        FloorWorkflow.run,
                        signals,
                        id=f"{queue}-{uuid.uuid4().hex}",
                        task_queue=queue,
                    )
                    for _ in range(count)
                ]

                async def feed(handle: Any) -> None:
                    for n in range(signals):
                        await handle.signal(FLOOR_SIGNAL, {**FRAME, "seq": n, "text": "x" * 800})
                        await handle.query(FLOOR_QUERY)
                    await handle.result()

                await asyncio.gather(*(feed(h) for h in handles))
                return (
                    procstat.usage(server.pid).cpu_seconds - server_before.cpu_seconds,
                    time.process_time() - cpu,
                )

            await workflows(3, 2)  # warm
            plain_server, plain_worker = await workflows(WORKFLOWS, 0)
            signal_server, signal_worker = await workflows(WORKFLOWS, SIGNALS)
    finally:
        stop_process(server)
    per_signal = WORKFLOWS * SIGNALS
    return {
        "workflows": WORKFLOWS,
        "signals_per_workflow": SIGNALS,
        "server_ms_per_workflow": 1000 * plain_server / WORKFLOWS,
        "worker_ms_per_workflow": 1000 * plain_worker / WORKFLOWS,
        "server_ms_per_signal_and_query": 1000 * (signal_server - plain_server) / per_signal,
        "worker_ms_per_signal_and_query": 1000 * (signal_worker - plain_worker) / per_signal,
    }


# -- the stage -------------------------------------------------------------------


async def run(report: Report, *, workdir: Path) -> dict[str, Any]:
    langgraph = await asyncio.to_thread(langgraph_floor)
    a2a = {"jsonrpc": await a2a_floor(workdir, "jsonrpc")}
    if importlib.util.find_spec("grpc") is not None:
        a2a["grpc"] = await a2a_floor(workdir, "grpc")
    temporal = await temporal_floor(workdir)
    results = {"langgraph": langgraph, "a2a": a2a, "temporal": temporal}
    report.details["floors"] = results
    s = "floors (stock libraries)"
    token_ms = 1000 * langgraph["cpu_s"] / max(1, langgraph["tokens"])
    report.add(Row(s, "LangGraph: CPU per streamed token", token_ms, "ms",
                   note=f"{langgraph['tokens']} tokens, one node, stream_mode messages"))  # fmt: skip
    a2a_ms = {}
    for transport, label in (("jsonrpc", "JSON-RPC SSE"), ("grpc", "gRPC")):
        if transport not in a2a:
            report.notes.append(f"A2A over {label} not measured: grpcio is not installed")
            continue
        r = a2a[transport]
        events = max(1, r["events"])
        server_ms, client_ms = 1000 * r["server_cpu_s"] / events, 1000 * r["client_cpu_s"] / events
        a2a_ms[transport] = server_ms + client_ms
        report.add(Row(s, f"A2A over {label}: CPU per status event, server + client",
                       server_ms + client_ms, "ms",
                       note=f"server {server_ms:.2f} + client {client_ms:.2f}; "
                       f"{A2A_TASKS} tasks × {A2A_EVENTS} events, a2a-sdk stock"))  # fmt: skip
    t = temporal
    report.add(Row(s, "Temporal: CPU per workflow of 4 empty activities",
                   t["server_ms_per_workflow"] + t["worker_ms_per_workflow"], "ms",
                   note=f"server {t['server_ms_per_workflow']:.0f} + worker "
                   f"{t['worker_ms_per_workflow']:.0f}; {WORKFLOWS} at once"))  # fmt: skip
    report.add(Row(s, "Temporal: CPU per signal + Query",
                   t["server_ms_per_signal_and_query"] + t["worker_ms_per_signal_and_query"], "ms",
                   note=f"server {t['server_ms_per_signal_and_query']:.2f} + worker and client "
                   f"{t['worker_ms_per_signal_and_query']:.2f}"))  # fmt: skip
    report.metrics |= {
        "floor_langgraph_ms_per_token": token_ms,
        "floor_a2a_ms_per_event": a2a_ms.get("jsonrpc"),
        "floor_a2a_grpc_ms_per_event": a2a_ms.get("grpc"),
        "floor_temporal_ms_per_workflow": t["server_ms_per_workflow"] + t["worker_ms_per_workflow"],
        "floor_temporal_ms_per_signal_query": t["server_ms_per_signal_and_query"]
        + t["worker_ms_per_signal_and_query"],
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve-a2a", help="the stock A2A server streaming frames")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--events", type=int, required=True)
    serve.add_argument("--transport", choices=TRANSPORTS, default="jsonrpc")
    read = sub.add_parser("read-a2a", help="the official client reading tasks at once")
    read.add_argument("--port", type=int, required=True)
    read.add_argument("--tasks", type=int, required=True)
    read.add_argument("--transport", choices=TRANSPORTS, default="jsonrpc")
    args = parser.parse_args()
    if args.command == "serve-a2a":
        serve_a2a(args.port, args.events, args.transport)
    elif args.command == "read-a2a":
        print(json.dumps(asyncio.run(read_a2a(args.port, args.tasks, args.transport))))
    else:
        report = Report("surveil floors")
        with tempfile.TemporaryDirectory(prefix="surveil-floors-") as tmp:
            asyncio.run(run(report, workdir=Path(tmp)))
        report.print()


if __name__ == "__main__":
    main()
