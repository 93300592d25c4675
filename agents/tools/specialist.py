"""What both specialist graphs need besides the analytics: the store, the summary writer,
and the rule that missing data holds a finding for review instead of closing it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.disposition import missing_reason, unknowns_that_matter
from agents.llm import attribution_line, get_chat_model
from agents.prompts import specialist_messages
from agents.tools.progress import Progress, step
from surveil.models import Account, Alert, Evidence
from surveil.settings import Thresholds, get_thresholds
from surveil.store import Store


def resolve_store(store: Store | None) -> Store:
    """The store a graph was built with, or the configured one (opened when a run needs it)."""
    return store if store is not None else Store.open()


def alerted_account(data: Store, alert: Alert) -> tuple[Account | None, list[str]]:
    """The account the alert is about, and the data gap when the store does not know it.

    An alert can name an account the store has no record of (one submitted through the
    API, say). Its trades may still be there; what cannot be known is who it is linked to.
    That is said in the finding, never raised as a crash.
    """
    account = data.get_account(alert.account)
    if account is None:
        return None, [
            f"account {alert.account} is not in the store, so its owner and its links "
            "to other accounts are unknown"
        ]
    return account, []


def review_reasons(
    evidence: Sequence[Evidence],
    score: Callable[[list[Evidence]], float],
    data_gaps: Sequence[str],
    thresholds: Thresholds,
) -> list[str]:
    """Why this finding cannot settle the alert: gaps in the data that always matter (an
    unknown account), and unknown evidence that could change the outcome."""
    mattering = unknowns_that_matter(evidence, score, thresholds)
    reasons = list(data_gaps)
    if mattering:
        reasons += [missing_reason(e) for e in mattering]
        reasons.append("with that data the outcome could differ, so it is not closed")
    return reasons


def write_summary(
    llm: BaseChatModel | None,
    specialist: str,
    alert: Alert,
    evidence: list[Evidence],
    score: float,
    reasons: Sequence[str] = (),
) -> str:
    """The finding's narrative from the LLM. Called inside a graph node, so its tokens
    reach LangGraph's "messages" stream as they are written."""
    model = llm if llm is not None else get_chat_model()
    response = model.invoke(
        specialist_messages(specialist, alert, evidence, score, review_reasons=reasons)
    )
    # Every narrative names its author, so a reader can tell an LLM's words from the
    # offline model's templated ones.
    return f"{str(response.text).strip()}\n\n{attribution_line(model)}"


def reasoning_step(
    agent: str, title: str, score: Callable[[list[Evidence]], float], llm: BaseChatModel | None
) -> Callable[..., dict[str, Any]]:
    """The node both specialists end their analytics with: the score comes from the
    evidence alone (an unknown counts for nothing), then whether missing data could
    change the outcome, then the LLM writes the summary around both."""

    @step(agent, "reason", title)
    def reason(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = list(state["evidence"].values())
        value = score(evidence)
        reasons = review_reasons(evidence, score, state.get("data_gaps", []), get_thresholds())
        return {
            "score": value,
            "review_reasons": reasons,
            "summary": write_summary(llm, agent, state["alert"], evidence, value, reasons),
        }

    return reason
