"""The Insider Trading specialist's agent card."""

from __future__ import annotations

from a2a.types import AgentCard, AgentSkill

from agents.a2a_card import specialist_card

NAME = "surveil Insider Trading specialist"
DESCRIPTION = (
    "Investigates an insider-trading alert: checks the account's link to the issuer, "
    "the abnormal price move around the material announcement, the account's position "
    "build-up before it against its own history, and the profit it made. Streams every "
    "step and returns a finding (score 0-1 with the computed evidence). May ask the "
    "analyst a question when the evidence is borderline."
)
SKILLS = [
    AgentSkill(
        id="investigate_insider_trading",
        name="Investigate an insider-trading alert",
        description=(
            "Given an alert (account, instrument, window), computes the evidence "
            "(abnormal return z-score, pre-announcement position build-up z-score, "
            "insider relationship, profit) against configurable thresholds and "
            "returns a Finding as the `finding` artifact."
        ),
        tags=["trade-surveillance", "insider-trading", "market-abuse", "MAR"],
        examples=[
            '{"alert": {"id": "A-1001", "type": "insider_trading", "account": "ACC-17", '
            '"instrument": "NOVA", "window_start": "2024-03-01T00:00:00Z", '
            '"window_end": "2024-03-15T00:00:00Z"}}',
            "Did account ACC-17 buy NOVA ahead of the takeover announcement?",
        ],
        input_modes=["application/json"],
        output_modes=["application/json"],
    ),
]


def build_card(url: str) -> AgentCard:
    return specialist_card(name=NAME, description=DESCRIPTION, skills=SKILLS, url=url)
