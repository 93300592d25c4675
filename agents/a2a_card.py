"""The agent card every specialist serves: the same transports and capabilities,
its own name, description and skills (from `agents/<specialist>/card.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version as package_version

from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

# The alert goes in as a data part; events, questions and the finding come out as
# data parts, and the analyst's answer may be plain text.
INPUT_MODES = ["application/json", "text/plain"]
OUTPUT_MODES = ["application/json"]


def specialist_card(
    *, name: str, description: str, skills: Sequence[AgentSkill], url: str
) -> AgentCard:
    """A card advertising JSON-RPC at `url` in both protocol versions the server speaks.

    Clients of A2A 1.0 pick the 1.0 interface; 0.3 clients read the legacy fields
    (`url`, `protocolVersion`, …) that the SDK derives from the 0.3 interface.
    """
    return AgentCard(
        name=name,
        description=description,
        version=package_version("surveil"),
        supported_interfaces=[
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=version,
            )
            for version in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=INPUT_MODES,
        default_output_modes=OUTPUT_MODES,
        skills=list(skills),
    )
