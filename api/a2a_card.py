"""surveil's own A2A agent card, and the route that serves it (with ETag and
Cache-Control, from the SDK's card route)."""

from __future__ import annotations

from importlib.metadata import version as package_version

from a2a.server.routes import create_agent_card_routes
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol
from starlette.routing import BaseRoute

A2A_PATH = "/a2a"
SKILL_ID = "investigate-alert"
# The card changes only with a deployment; five minutes of caching, then a cheap 304
# against the ETag the SDK computes from the card's content.
CARD_CACHE_CONTROL = "public, max-age=300"
INPUT_MODES = ["application/json", "text/plain"]
OUTPUT_MODES = ["application/json"]


def agent_card(public_url: str) -> AgentCard:
    url = public_url.rstrip("/") + A2A_PATH
    return AgentCard(
        name="surveil",
        description=(
            "Investigates trade-surveillance alerts (insider trading, wash trading) with "
            "specialist agents, durably, and streams every step. Send an alert as a data "
            'part (the fields of an alert, or {"id": "<stored alert id>"}), or text '
            "naming a stored alert id."
        ),
        version=package_version("surveil"),
        supported_interfaces=[
            AgentInterface(
                url=url, protocol_binding=TransportProtocol.JSONRPC.value, protocol_version=v
            )  # fmt: skip
            for v in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        security_schemes={
            "bearer": SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="bearer")
            )
        },
        security_requirements=[SecurityRequirement(schemes={"bearer": StringList(list=[])})],
        default_input_modes=INPUT_MODES,
        default_output_modes=OUTPUT_MODES,
        skills=[
            AgentSkill(
                id=SKILL_ID,
                name="investigate alert",
                description=(
                    "Investigate one alert: triage, specialist analyses, a determination "
                    "(escalate / close as false positive / needs review) with evidence. "
                    "The determination is a recommendation; a person decides."
                ),
                tags=["surveillance", "insider trading", "wash trading"],
                examples=['{"id": "ALERT-0001"}', "investigate ALERT-0001"],
                input_modes=INPUT_MODES,
                output_modes=OUTPUT_MODES,
            )
        ],
    )


def card_routes(public_url: str) -> list[BaseRoute]:
    return create_agent_card_routes(agent_card(public_url), cache_control=CARD_CACHE_CONTROL)
