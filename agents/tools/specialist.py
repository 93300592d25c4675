"""What both specialist graphs need besides the analytics: the store, the summary writer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.llm import attribution_line, get_chat_model
from agents.prompts import specialist_messages
from agents.tools.progress import Progress, step
from surveil.models import Account, Alert, Evidence
from surveil.store import Store


class MissingData(LookupError):
    """The alert names an account or instrument the store has no data for."""


def resolve_store(store: Store | None) -> Store:
    """The store a graph was built with, or the configured one (opened when a run needs it)."""
    return store if store is not None else Store.open()


def alerted_account(data: Store, alert: Alert) -> Account:
    """The account the alert is about; MissingData if the store does not know it."""
    account = data.get_account(alert.account)
    if account is None:
        raise MissingData(f"account {alert.account!r} of alert {alert.id} is not in the store")
    return account


def write_summary(
    llm: BaseChatModel | None, specialist: str, alert: Alert, evidence: list[Evidence], score: float
) -> str:
    """The finding's narrative from the LLM. Called inside a graph node, so its tokens
    reach LangGraph's "messages" stream as they are written."""
    model = llm if llm is not None else get_chat_model()
    response = model.invoke(specialist_messages(specialist, alert, evidence, score))
    # Every narrative names its author, so a reader can tell an LLM's words from the
    # offline model's templated ones.
    return f"{str(response.text).strip()}\n\n{attribution_line(model)}"


def reasoning_step(
    agent: str, title: str, score: Callable[[list[Evidence]], float], llm: BaseChatModel | None
) -> Callable[..., dict[str, Any]]:
    """The node both specialists end their analytics with: the score comes from the
    evidence alone, then the LLM writes the summary around it."""

    @step(agent, "reason", title)
    def reason(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = list(state["evidence"].values())
        value = score(evidence)
        return {
            "score": value,
            "summary": write_summary(llm, agent, state["alert"], evidence, value),
        }

    return reason
