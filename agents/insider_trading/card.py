"""The Insider Trading specialist's agent card."""

from __future__ import annotations

from a2a.types import AgentCard, AgentSkill

from agents.a2a_card import specialist_card

NAME = "surveil Insider Trading specialist"
DESCRIPTION = (
    "Investigates an insider-trading alert: finds the material announcement the alert "
    "is about, measures the abnormal price move around it (against a benchmark when one "
    "is configured), the account's position build-up before it against its own history "
    "and any holding it sold before bad news, the timing of its trades in trading hours "
    "and the profit made or loss avoided, and checks its link to the issuer's insiders. "
    "Missing data is reported as unknown and holds the finding for review. Streams every "
    "step and returns a finding (score 0-1 resting on the computed evidence)."
)
SKILLS = [
    AgentSkill(
        id="investigate_insider_trading",
        name="Investigate an insider-trading alert",
        description=(
            "Given an alert (account, instrument, window), computes the evidence "
            "(material announcement, abnormal return, pre-announcement position "
            "build-up, holding sold, traded with the news, trade timing, trading profit "
            "or loss avoided, insider link) against configurable thresholds, each "
            "crossed, not crossed or unknown, and returns a Finding as the `finding` "
            "artifact."
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
