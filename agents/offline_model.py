"""The offline analyst model: a deterministic LangChain chat model for runs without an LLM.

It reads the facts block that `agents.prompts` puts at the end of the last human message
and writes the narrative from those facts alone, so it cannot contradict the computed
evidence or disposition: it states them. Its text streams token by token like a real
LLM's (paced by `offline_token_delay_ms`), so the UI, the A2A relay and the workflow
stream are exercised the same way with or without an endpoint.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from agents.prompts import SPECIALIST_TASK, SYNTHESIS_TASK, TRIAGE_TASK, extract_facts

OFFLINE_MODEL_LABEL = "surveil offline analyst model (deterministic, no LLM)"
OFFLINE_MODEL_ID = "surveil-offline-analyst"

# A token is a run of non-space characters with the whitespace before it, like the
# " word" tokens of BPE models; joining the tokens gives back the text exactly.
_TOKEN = re.compile(r"\s*\S+|\s+$")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


class OfflineAnalystModel(BaseChatModel):
    """Writes surveillance narratives from the prompt's JSON facts, deterministically."""

    token_delay_ms: float = 0.0

    @property
    def _llm_type(self) -> str:
        return OFFLINE_MODEL_ID

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": OFFLINE_MODEL_ID, "token_delay_ms": self.token_delay_ms}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = write_narrative(messages)
        message = AIMessage(content=text, usage_metadata=usage_of(messages, tokenize(text)))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # The base class reports each chunk to the callbacks (LangGraph's "messages" mode).
        tokens = tokenize(write_narrative(messages))
        for index, token in enumerate(tokens):
            if index and self.token_delay_ms > 0:
                time.sleep(self.token_delay_ms / 1000)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        yield _usage_chunk(messages, tokens)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        tokens = tokenize(write_narrative(messages))
        for index, token in enumerate(tokens):
            if index and self.token_delay_ms > 0:
                await asyncio.sleep(self.token_delay_ms / 1000)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        yield _usage_chunk(messages, tokens)


def usage_of(messages: list[BaseMessage], completion: list[str]) -> UsageMetadata:
    """The offline model's own count, in its own tokens (runs of non-space characters),
    like an LLM's usage data: every message of the prompt in, the narrative out."""
    prompt = sum(len(tokenize(str(message.content))) for message in messages)
    return UsageMetadata(
        input_tokens=prompt, output_tokens=len(completion), total_tokens=prompt + len(completion)
    )


def _usage_chunk(messages: list[BaseMessage], tokens: list[str]) -> ChatGenerationChunk:
    # Like a streamed usage report: no text, only the counts (they add up on merge).
    return ChatGenerationChunk(
        message=AIMessageChunk(content="", usage_metadata=usage_of(messages, tokens))
    )


def write_narrative(messages: list[BaseMessage]) -> str:
    """The narrative for the facts block in the last human message."""
    human = [message for message in messages if isinstance(message, HumanMessage)]
    facts = extract_facts(str(human[-1].content)) if human else None
    if facts is None:
        raise ValueError(
            "the offline analyst model writes only from a fenced ```json facts block in the "
            "last human message (build prompts with agents.prompts)"
        )
    writer = _WRITERS.get(str(facts.get("task")))
    if writer is None:
        raise ValueError(
            f"the offline analyst model cannot write task {facts.get('task')!r}; "
            f"known tasks: {', '.join(sorted(_WRITERS))}"
        )
    return writer(facts)


def _agent_title(name: str) -> str:
    return name.replace("_", "-") + " specialist"


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _is_unknown(item: dict[str, Any]) -> bool:
    return item.get("state") == "unknown"


def _describe_evidence(item: dict[str, Any]) -> str:
    unit = str(item.get("unit") or "")
    unit = unit if unit in ("", "%") else f" {unit}"
    if _is_unknown(item):  # never a number: the fact could not be computed
        missing = str(item.get("missing") or "its data is missing").rstrip(".")
        return f"{item['name']} is unknown: {missing}."
    verdict = "crossed" if item.get("passed") else "not crossed"
    sentence = (
        f"{item['name']} is {_number(float(item['value']))}{unit} against a threshold of "
        f"{_number(float(item['threshold']))}{unit}: {verdict}."
    )
    description = str(item.get("description") or "").strip().rstrip(".")
    if description:
        sentence += f" {description[0].upper()}{description[1:]}."
    return sentence


def _strength(score: float, facts: dict[str, Any]) -> str:
    if score >= float(facts.get("escalate_score", 0.7)):
        return "strong: at or above the escalation score"
    if score < float(facts.get("close_score", 0.3)):
        return "weak: below the score at which an alert closes as a false positive"
    return "mixed: between the closing and the escalation scores"


def _write_triage(facts: dict[str, Any]) -> str:
    alert = facts["alert"]
    specialists = " and the ".join(_agent_title(name) for name in facts["specialists"])
    reasons = " ".join(f"{reason.rstrip('.')}." for reason in facts.get("routing_reasons", []))
    return (
        f"Alert {alert['id']} is a {str(alert['type']).replace('_', ' ')} alert on account "
        f"{alert['account']} in {alert['instrument']}. {reasons} "
        f"It goes to the {specialists}."
    )


def _write_specialist(facts: dict[str, Any]) -> str:
    alert = facts["alert"]
    evidence = facts.get("evidence", [])
    crossed = [item["name"] for item in evidence if item.get("passed")]
    score = float(facts["score"])
    lines = [
        f"The {_agent_title(facts['specialist'])} scores alert {alert['id']} "
        f"({alert['account']} in {alert['instrument']}) at {score:.2f}; "
        f"{len(crossed)} of {len(evidence)} checks crossed their thresholds.",
        *(_describe_evidence(item) for item in evidence),
    ]
    reasons = [str(r).rstrip(".") for r in facts.get("review_reasons", [])]
    if reasons:
        lines.append(
            "The alert cannot be closed on this evidence, because data is missing: "
            + "; ".join(reasons)
            + ". An analyst must obtain that data or review the alert."
        )
    else:
        lines.append(f"The evidence is {_strength(score, facts)}.")
    return " ".join(lines)


_NEXT_STEP = {
    "escalate": "Escalate to compliance for a formal review of the account and the trades cited.",
    "close_false_positive": "Close the alert as a false positive; no further action is needed.",
    "needs_review": "Hold the alert for an analyst: the evidence alone does not settle it.",
}


def _write_synthesis(facts: dict[str, Any]) -> str:
    alert = facts["alert"]
    disposition = str(facts["disposition"])
    paragraphs = [
        f"Determination for alert {alert['id']} ({alert['account']} in {alert['instrument']}): "
        f"{disposition.replace('_', ' ').upper()}, confidence {float(facts['confidence']):.0%}."
    ]
    reasons = facts.get("reasons", [])
    if reasons:
        paragraphs.append("Why: " + " ".join(f"{reason.rstrip('.')}." for reason in reasons))
    for finding in facts.get("findings", []):
        evidence = finding.get("evidence", [])
        crossed = [item["name"] for item in evidence if item.get("passed")]
        sentence = (
            f"The {_agent_title(finding['specialist'])} scored {float(finding['score']):.2f} "
            f"with {len(crossed)} of {len(evidence)} checks crossed"
        )
        sentence += f" ({', '.join(crossed)})." if crossed else "."
        unknown = [item for item in evidence if _is_unknown(item)]
        if unknown:
            sentence += (
                " Could not be computed: "
                + "; ".join(
                    f"{item['name']} (missing {str(item.get('missing') or 'data').rstrip('.')})"
                    for item in unknown
                )
                + "."
            )
        if finding.get("needs_review"):
            sentence += " Its finding is marked for analyst review."
        paragraphs.append(sentence)
    paragraphs.append(_NEXT_STEP.get(disposition, "Review the alert."))
    return "\n\n".join(paragraphs)


_WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    TRIAGE_TASK: _write_triage,
    SPECIALIST_TASK: _write_specialist,
    SYNTHESIS_TASK: _write_synthesis,
}
