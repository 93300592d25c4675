"""The wash-trade specialist as a LangGraph graph.

load_data → self_matches → round_trips → [ask_analyst] → volume_share →
net_position → reason → finding

Each analytic is its own node so the UI shows it as a step. When round trips run
against an account that is not linked to the alerted one but shares its surname or
address, only a person can say whether one controller stands behind both: the graph
asks (`interrupt`) before the volume share, which depends on the answer. No answer
in time (`Command(resume=None)`) leaves the link unproven and the finding marked for
review. The score comes from the evidence; the LLM only writes the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, TypedDict

import pandas as pd
from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agents.tools import wash_trade as wash
from agents.tools.market_data import (
    LEG_COLUMNS,
    account_legs,
    chart_data,
    frame_to_records,
    records_to_frame,
)
from agents.tools.progress import Progress, emit, merge_evidence, step
from agents.tools.specialist import alerted_account, reasoning_step, resolve_store
from surveil.events import EventType
from surveil.models import Account, Alert, Evidence, Finding, Specialist
from surveil.settings import get_thresholds
from surveil.store import Store

AGENT = Specialist.wash_trade.value
YES_ANSWERS = frozenset({"yes", "y", "true", "confirmed", "common control"})
BAR_COLUMNS = ["timestamp", "close", "volume"]
# Prices shown around the alert window so the chart has context.
CHART_MARGIN = timedelta(minutes=30)


class WashTradeState(TypedDict, total=False):
    alert: Alert
    account: Account | None  # None: the store has no record of the alerted account
    data_gaps: list[str]  # missing data that holds the finding for review whatever it scores
    linked: list[str]  # accounts linked to the alerted one (either direction, same owner)
    counterparties: list[Account]
    legs: list[dict[str, Any]]  # the account's trades in the window (market_data.account_legs)
    bars: list[dict[str, Any]]
    round_trips: list[dict[str, Any]]
    suspects: dict[str, list[str]]  # unlinked counterparty -> shared identity details
    confirmed: list[str]  # suspects the analyst confirmed as under common control
    unanswered: bool  # a question got no answer in time
    evidence: Annotated[dict[str, Evidence], merge_evidence]
    score: float
    review_reasons: list[str]
    summary: str
    finding: Finding


def answer_text(resume: Any) -> str | None:
    """The analyst's answer from a resume value: text, or None for no answer in time.

    LangGraph treats `Command(resume=None)` as "no resume at all", so "no answer" also
    arrives as `{"answer": None}` (or an empty string).
    """
    if isinstance(resume, Mapping):
        resume = resume.get("answer")
    text = str(resume).strip() if resume is not None else ""
    return text or None


def _legs(state: Mapping[str, Any]) -> Any:
    return records_to_frame(state["legs"], LEG_COLUMNS)


def _round_trips(state: Mapping[str, Any]) -> Any:
    return records_to_frame(state["round_trips"], wash.ROUND_TRIP_COLUMNS)


def _chart_trips(*frames: pd.DataFrame) -> list[dict[str, Any]]:
    """Round trips to draw: every one found, each once."""
    trips = pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)
    return frame_to_records(trips.drop_duplicates("buy_trade").sort_values("buy_ts"))


def build_graph(
    store: Store | None = None,
    checkpointer: Any = None,
    llm: BaseChatModel | None = None,
) -> Any:
    """The compiled wash-trade graph. Input `{"alert": Alert}`; output has `finding`.

    `store` defaults to the configured one and `llm` to `agents.llm.get_chat_model()`,
    both resolved when the graph runs. Asking the analyst needs a `checkpointer`.
    """
    thresholds = get_thresholds()

    @step(AGENT, "load_data", "Load the account's trades and market volume")
    def load_data(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        alert = Alert.model_validate(state["alert"])
        data = resolve_store(store)
        account, gaps = alerted_account(data, alert)
        linked = (
            (
                set(account.linked_accounts)
                | {a.id for a in data.accounts_linking_to(account.id)}
                | {a.id for a in data.accounts_of_owner(account.beneficial_owner)}
            )
            - {account.id}
            if account
            else set()
        )
        progress(0.3, f"{len(linked)} linked account(s)" if account else gaps[0])
        trades = data.account_trades(
            alert.account, alert.instrument, alert.window_start, alert.window_end
        )
        legs = account_legs(trades, alert.account)
        progress(0.7, f"{len(legs)} trades of {alert.account} in {alert.instrument}")
        bars = data.bars(
            alert.instrument, alert.window_start - CHART_MARGIN, alert.window_end + CHART_MARGIN
        )
        if bars.empty:  # not one price or volume figure: the alert cannot close
            gaps.append(
                f"there are no price bars for {alert.instrument} in the alert window "
                f"({alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%Y-%m-%d %H:%M} UTC)"
            )
        counterparties = data.get_accounts(sorted(set(legs["counterparty"])))
        return {
            "alert": alert,
            "account": account,
            "data_gaps": gaps,
            "linked": sorted(linked),
            "counterparties": counterparties,
            "legs": frame_to_records(legs),
            "bars": frame_to_records(bars[BAR_COLUMNS]),
            "confirmed": [],
            "unanswered": False,
        }

    @step(AGENT, "self_matches", "Look for trades with the same owner on both sides")
    def self_matches(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = wash.self_matches(_legs(state), thresholds)
        return {"evidence": {evidence.name: evidence}}

    @step(AGENT, "round_trips", "Pair buys and sells into round trips")
    def round_trips(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        legs = _legs(state)
        trips = wash.find_round_trips(legs, thresholds)
        linked_trips = wash.round_trips_with(legs, state["linked"], thresholds)
        progress(0.5, f"{len(trips)} round trip(s), {len(linked_trips)} against linked accounts")
        suspects = (
            wash.suspected_common_control(
                legs, state["account"], state["counterparties"], state["linked"], thresholds
            )
            if state.get("account")
            else {}
        )
        found = [
            wash.round_trip_count(trips, thresholds),
            wash.linked_round_trips(legs, state["linked"], thresholds)
            if state.get("account")
            else Evidence.missing_data(
                wash.LINKED_ROUND_TRIPS,
                float(thresholds.wash_min_round_trips),
                f"the record of account {state['alert'].account} (which accounts are linked to it)",
                unit="round trips",
            ),
        ]
        return {
            "round_trips": _chart_trips(trips, linked_trips),
            "suspects": suspects,
            "evidence": {e.name: e for e in found},
        }

    def needs_analyst(state: Mapping[str, Any]) -> str:
        linked_proven = state["evidence"][wash.LINKED_ROUND_TRIPS].passed
        known = state.get("account") is not None  # no record: nothing to compare identities to
        return (
            "ask_analyst" if known and state["suspects"] and not linked_proven else "volume_share"
        )

    @step(AGENT, "ask_analyst", "Ask the analyst about common control")
    def ask_analyst(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        account: Account = state["account"]
        confirmed, answers = [], []
        unanswered = False
        for other, hints in state["suspects"].items():
            answer = interrupt(
                {
                    "question": f"Are accounts {account.id} and {other} under common control? "
                    f"They are not linked in the account records but share {' and '.join(hints)}.",
                    "options": ["yes", "no"],
                }
            )
            answer = answer_text(answer)
            if answer is None:
                unanswered = True
                answers.append(f"{other}: no answer in time")
            elif answer.lower() in YES_ANSWERS:
                confirmed.append(other)
                answers.append(f"{other}: analyst confirmed common control")
            else:
                answers.append(f"{other}: analyst said not under common control")
        accounts = [*state["linked"], *confirmed]
        legs = _legs(state)
        linked_trips = wash.round_trips_with(legs, accounts, thresholds)
        linked = wash.linked_round_trips(legs, accounts, thresholds)
        common_control = Evidence(
            name="common_control_confirmed",
            value=float(len(confirmed)),
            threshold=1.0,
            passed=bool(confirmed),
            unit="accounts",
            description="; ".join(answers),
        )
        return {
            "round_trips": _chart_trips(_round_trips(state), linked_trips),
            "confirmed": confirmed,
            "unanswered": unanswered,
            "evidence": {linked.name: linked, common_control.name: common_control},
        }

    @step(AGENT, "volume_share", "Measure the share of market volume")
    def volume_share(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = state["evidence"]
        suspicious = {
            *evidence[wash.SELF_MATCHES].trade_ids,
            *evidence[wash.LINKED_ROUND_TRIPS].trade_ids,
        }
        alert: Alert = state["alert"]
        bars = records_to_frame(state["bars"], BAR_COLUMNS)
        in_window = bars[
            (bars["timestamp"] >= alert.window_start) & (bars["timestamp"] <= alert.window_end)
        ]
        share = wash.volume_share(suspicious, _legs(state), in_window, thresholds)
        return {"evidence": {share.name: share}}

    @step(AGENT, "net_position", "Check whether the account ended flat")
    def net_position(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = wash.net_position_change(_legs(state), thresholds)
        return {"evidence": {evidence.name: evidence}}

    reason = reasoning_step(AGENT, "Write the wash-trade assessment", wash.score_wash, llm)

    @step(AGENT, "finding", "Report the finding")
    def finding(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        alert: Alert = state["alert"]
        chart = chart_data(
            records_to_frame(state["bars"], BAR_COLUMNS),
            _legs(state),
            alert.account,
            round_trips=_round_trips(state),
        )
        reasons = state.get("review_reasons", [])
        result = Finding(
            specialist=Specialist.wash_trade,
            score=state["score"],
            evidence=list(state["evidence"].values()),
            summary=state["summary"],
            needs_review=state.get("unanswered", False) or bool(reasons),
            review_reasons=reasons,
            chart=chart,
        )
        emit(EventType.finding, AGENT, "finding", data=result.model_dump(mode="json"))
        return {"finding": result}

    graph = StateGraph(WashTradeState)
    nodes = [load_data, self_matches, round_trips, ask_analyst, volume_share, net_position,
             reason, finding]  # fmt: skip
    for node in nodes:
        graph.add_node(node.__name__, node)
    graph.add_edge(START, "load_data")
    graph.add_edge("load_data", "self_matches")
    graph.add_edge("self_matches", "round_trips")
    graph.add_conditional_edges("round_trips", needs_analyst, ["ask_analyst", "volume_share"])
    graph.add_edge("ask_analyst", "volume_share")
    graph.add_edge("volume_share", "net_position")
    graph.add_edge("net_position", "reason")
    graph.add_edge("reason", "finding")
    graph.add_edge("finding", END)
    return graph.compile(checkpointer=checkpointer, name=AGENT)
