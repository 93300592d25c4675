"""Prompts for every LLM step: triage rationale, specialist narrative, synthesis narrative.

Each prompt ends with the facts as a fenced ```json block in the last human message.
A real LLM and the offline analyst model read the same block, so switching between them
changes the prose, never the facts. The `task` key tells the offline model which kind
of text to write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from surveil.models import Alert, Disposition, Evidence, Finding
from surveil.settings import get_thresholds

TRIAGE_TASK = "triage"
SPECIALIST_TASK = "specialist"
SYNTHESIS_TASK = "synthesis"

_FACTS_BLOCK = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)

_GROUND_RULES = (
    "You are a trade-surveillance analyst writing for a compliance officer. "
    "The facts in the JSON block were computed by deterministic analytics over the market "
    "data; they are final. You may not contradict them: never change a number, a score, "
    "whether a threshold was crossed, or the disposition, and never add facts that are not "
    "in the block. Cite evidence by its name. Plain prose, no headings, no markdown."
)


def facts_block(facts: dict[str, Any]) -> str:
    """The facts as the fenced JSON block every prompt ends with."""
    return "```json\n" + json.dumps(facts, indent=2, sort_keys=True, default=str) + "\n```"


def extract_facts(text: str) -> dict[str, Any] | None:
    """The last fenced JSON block in `text`, or None when there is none."""
    blocks = _FACTS_BLOCK.findall(text)
    if not blocks:
        return None
    facts = json.loads(blocks[-1])
    return facts if isinstance(facts, dict) else None


def triage_messages(
    alert: Alert, specialists: Sequence[str], routing_reasons: Sequence[str]
) -> list[BaseMessage]:
    """Ask for a short rationale of a routing decision the triage graph already made."""
    facts = {
        "task": TRIAGE_TASK,
        "alert": alert.model_dump(mode="json"),
        "specialists": list(specialists),
        "routing_reasons": list(routing_reasons),
    }
    return [
        SystemMessage(
            _GROUND_RULES + " The routing decision is made; explain it, do not revise it."
        ),
        HumanMessage(
            "In two or three sentences, explain why this alert goes to the listed "
            "specialists.\n\n" + facts_block(facts)
        ),
    ]


def specialist_messages(
    specialist: str,
    alert: Alert,
    evidence: list[Evidence],
    score: float,
    review_reasons: Sequence[str] = (),
) -> list[BaseMessage]:
    """Ask a specialist's narrative: what each piece of evidence shows and what the score
    means; `review_reasons` (missing data that could change the outcome) must be said."""
    thresholds = get_thresholds()
    facts = {
        "task": SPECIALIST_TASK,
        "specialist": specialist,
        "alert": alert.model_dump(mode="json"),
        "score": round(score, 4),
        "escalate_score": thresholds.escalate_score,
        "close_score": thresholds.close_score,
        "evidence": [item.model_dump(mode="json") for item in evidence],
        "review_reasons": list(review_reasons),
    }
    return [
        SystemMessage(
            _GROUND_RULES + f" You are the {specialist.replace('_', ' ')} specialist. "
            "The score is final; describe what the evidence shows."
        ),
        HumanMessage(
            "Write the specialist narrative for this alert in one short paragraph: state the "
            "score, then each piece of evidence with its value and threshold and whether it "
            "was crossed (or unknown, and which data is missing), then what that means for "
            "the alert; if there are review_reasons, say that the alert cannot be closed "
            "without that data.\n\n" + facts_block(facts)
        ),
    ]


def synthesis_messages(
    alert: Alert,
    findings: Sequence[Finding],
    disposition: Disposition,
    confidence: float,
    reasons: Sequence[str],
) -> list[BaseMessage]:
    """Ask the determination narrative for a disposition the evidence already decided."""
    facts = {
        "task": SYNTHESIS_TASK,
        "alert": alert.model_dump(mode="json"),
        "disposition": str(disposition),
        "confidence": round(confidence, 4),
        "reasons": list(reasons),
        "findings": [
            {
                "specialist": str(finding.specialist),
                "score": round(finding.score, 4),
                "needs_review": finding.needs_review,
                "review_reasons": list(finding.review_reasons),
                "evidence": [item.model_dump(mode="json") for item in finding.evidence],
            }
            for finding in findings
        ],
    }
    return [
        SystemMessage(
            _GROUND_RULES + " The disposition and confidence are final; state them as given "
            "and explain them from the reasons and the findings."
        ),
        HumanMessage(
            "Write the determination narrative for the compliance officer: the disposition "
            "and confidence first, then the reasons, then each specialist's finding (name "
            "any evidence that is unknown and the data it is missing), then the recommended "
            "next step.\n\n" + facts_block(facts)
        ),
    ]
