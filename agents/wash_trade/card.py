"""The Wash Trade specialist's agent card."""

from __future__ import annotations

from a2a.types import AgentCard, AgentSkill

from agents.a2a_card import specialist_card

NAME = "surveil Wash Trade specialist"
DESCRIPTION = (
    "Investigates a wash-trading alert: finds round trips between the account and "
    "accounts with the same beneficial owner or linked to it, self-matched orders, the "
    "share of the instrument's volume they make up and whether the account's net "
    "position stayed flat. Streams every step and returns a finding (score 0-1 with the "
    "computed evidence). May ask the analyst a question when the evidence is borderline."
)
SKILLS = [
    AgentSkill(
        id="investigate_wash_trade",
        name="Investigate a wash-trading alert",
        description=(
            "Given an alert (account, instrument, window), pairs buy and sell legs "
            "within the configured time, price and quantity tolerances, counts "
            "linked-account round trips and same-owner matches, measures their volume "
            "share and the net position, and returns a Finding as the `finding` artifact."
        ),
        tags=["trade-surveillance", "wash-trade", "market-manipulation", "MAR"],
        examples=[
            '{"alert": {"id": "A-2001", "type": "wash_trade", "account": "ACC-42", '
            '"instrument": "ZETA", "window_start": "2024-03-04T09:00:00Z", '
            '"window_end": "2024-03-04T17:30:00Z"}}',
            "Are ACC-42's ZETA trades with its linked accounts wash trades?",
        ],
        input_modes=["application/json"],
        output_modes=["application/json"],
    ),
]


def build_card(url: str) -> AgentCard:
    return specialist_card(name=NAME, description=DESCRIPTION, skills=SKILLS, url=url)
