"""A stock a2a-sdk server: the SDK's DefaultRequestHandler and in-memory task store
behind an echo agent. The A2A conformance suite runs against it beside surveil's
façade and specialists, as the yardstick (tests/conformance/run_tck.py).

    python -m tests.conformance.stock_agent --port 9999
"""

from __future__ import annotations

import argparse

import uvicorn
from a2a.helpers.proto_helpers import get_text_parts, new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Role
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol
from starlette.applications import Starlette


class EchoExecutor(AgentExecutor):
    """Answers every message with its text, and completes the task."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is None and context.message is not None:
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        assert task is not None
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        text = " ".join(get_text_parts(context.message.parts)) if context.message else ""
        await updater.start_work()
        await updater.complete(
            new_text_message(f"echo: {text}", context_id=task.context_id, task_id=task.id,
                             role=Role.ROLE_AGENT)
        )  # fmt: skip

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None:
            await TaskUpdater(event_queue, task.id, task.context_id).cancel()


def agent_card(url: str) -> AgentCard:
    return AgentCard(
        name="stock echo agent",
        description="a2a-sdk's DefaultRequestHandler with an echo executor",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url=url, protocol_binding=TransportProtocol.JSONRPC.value, protocol_version=version
            )
            for version in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        ],  # fmt: skip
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echoes text", tags=["echo"])],
    )


def build_app(url: str) -> Starlette:
    card = agent_card(url)
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=[
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url="/", enable_v0_3_compat=True),
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    uvicorn.run(build_app(url), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
