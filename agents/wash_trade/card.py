"""The Wash Trade specialist's agent card."""

from __future__ import annotations

from a2a.types import AgentCard, AgentSkill

from agents.a2a_card import specialist_card

NAME = "surveil Wash Trade specialist"
DESCRIPTION = (
    "Investigates a wash-trading alert: finds self-matched trades (the same beneficial "
    "owner on both sides) and round trips with linked accounts, measures the share of "
    "the instrument's volume they make up and whether the account's net position "
    "stayed flat. When round trips run against an unlinked account that shares a "
    "surname or address, it asks the analyst whether one controller stands behind "
    "both (A2A input-required). Streams every step and returns a finding (score 0-1 "
    "resting on the computed evidence)."
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
