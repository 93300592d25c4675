"""The insider-trading specialist as a LangGraph graph.

load_data → announcement → abnormal_return → position_build_up → trade_timing →
trading_profit → insider_link → reason → finding

Each analytic is its own node so the UI shows it as a step. The reference point is
the announcement the alert is about (the first material one in its window); without
one, the end of the alert window stands in and the price move cannot pass. The score
comes from the evidence; the LLM only writes the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any, TypedDict

import pandas as pd
from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from agents.tools import insider_trading as insider
from agents.tools.market_data import (
    LEG_COLUMNS,
    account_legs,
    chart_data,
    frame_to_records,
    records_to_frame,
)
from agents.tools.progress import Progress, emit, merge_evidence, step
from agents.tools.specialist import MissingData, alerted_account, reasoning_step, resolve_store
from surveil.events import EventType
from surveil.models import Account, Alert, Announcement, Evidence, Finding, Specialist
from surveil.settings import get_thresholds
from surveil.store import Store

AGENT = Specialist.insider_trading.value
BAR_COLUMNS = ["timestamp", "close"]


class InsiderTradingState(TypedDict, total=False):
    alert: Alert
    account: Account
    related: list[Account]  # linked either direction, or of the same beneficial owner
    insiders: list[Account]  # insiders of the alert's issuer
    legs: list[dict[str, Any]]  # the account's trades, baseline through alert window
    bars: list[dict[str, Any]]  # closes, baseline through alert window
    announcements: list[Announcement]
    announcement: Announcement | None
    move: dict[str, float] | None  # insider.PriceMove fields
    direction: int  # +1: judge buying, -1: judge selling (insider.position_direction)
    evidence: Annotated[dict[str, Evidence], merge_evidence]
    score: float
    summary: str
    finding: Finding


def _legs(state: Mapping[str, Any]) -> Any:
    return records_to_frame(state["legs"], LEG_COLUMNS)


def _bars(state: Mapping[str, Any]) -> Any:
    return records_to_frame(state["bars"], BAR_COLUMNS)


def _within(frame: pd.DataFrame, alert: Alert) -> pd.DataFrame:
    return frame[
        (frame["timestamp"] >= alert.window_start) & (frame["timestamp"] <= alert.window_end)
    ]


def _reference_time(state: Mapping[str, Any]) -> datetime:
    announcement: Announcement | None = state.get("announcement")
    return announcement.timestamp if announcement else state["alert"].window_end


def _move(state: Mapping[str, Any]) -> insider.PriceMove | None:
    move = state.get("move")
    return insider.PriceMove(**move) if move else None


def build_graph(
    store: Store | None = None,
    checkpointer: Any = None,
    llm: BaseChatModel | None = None,
) -> Any:
    """The compiled insider-trading graph. Input `{"alert": Alert}`; output has `finding`.

    `store` defaults to the configured one and `llm` to `agents.llm.get_chat_model()`,
    both resolved when the graph runs.
    """
    thresholds = get_thresholds()
    history = timedelta(days=thresholds.insider_baseline_days + thresholds.insider_lookback_days)

    @step(AGENT, "load_data", "Load the account, its trades, prices and announcements")
    def load_data(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        alert = Alert.model_validate(state["alert"])
        data = resolve_store(store)
        account = alerted_account(data, alert)
        related = [
            *data.get_accounts(account.linked_accounts),
            *data.accounts_linking_to(account.id),
            *(a for a in data.accounts_of_owner(account.beneficial_owner) if a.id != account.id),
        ]
        progress(0.25, f"{len(related)} related account(s)")
        start = alert.window_start - history
        legs = account_legs(
            data.account_trades(account.id, alert.instrument, start, alert.window_end), account.id
        )
        progress(0.5, f"{len(legs)} trades of {account.id} in {alert.instrument}")
        bars = data.bars(alert.instrument, start, alert.window_end)
        if bars.empty:
            raise MissingData(
                f"no price bars for {alert.instrument} between {start:%Y-%m-%d} and "
                f"{alert.window_end:%Y-%m-%d}"
            )
        progress(0.8, f"{len(bars)} price bars")
        return {
            "alert": alert,
            "account": account,
            "related": related,
            "insiders": data.insiders_of(alert.instrument),
            "legs": frame_to_records(legs),
            "bars": frame_to_records(bars[BAR_COLUMNS]),
            "announcements": data.announcements(
                alert.instrument, alert.window_start, alert.window_end
            ),
        }

    @step(AGENT, "announcement", "Find the announcement and whether it is material")
    def announcement(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        news = insider.relevant_announcement(state["announcements"], state["alert"])
        evidence = insider.materiality(news)
        return {"announcement": news, "evidence": {evidence.name: evidence}}

    @step(AGENT, "abnormal_return", "Measure the price move against its own history")
    def abnormal_return(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        at = _reference_time(state)
        move = insider.price_move(_bars(state), at, thresholds)
        evidence = insider.abnormal_return(move, thresholds)
        return {
            "move": asdict(move) if move else None,
            "direction": insider.position_direction(_legs(state), at, move, thresholds),
            "evidence": {evidence.name: evidence},
        }

    @step(
        AGENT, "position_build_up", "Compare the pre-announcement position with the account's habit"
    )
    def position_build_up(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = insider.position_build_up(
            _legs(state), _reference_time(state), state["direction"], thresholds
        )
        return {"evidence": {evidence.name: evidence}}

    @step(AGENT, "trade_timing", "Time the trades against the announcement")
    def trade_timing(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = insider.trade_timing(
            _legs(state), _reference_time(state), state["direction"], thresholds
        )
        return {"evidence": {evidence.name: evidence}}

    @step(AGENT, "trading_profit", "Mark the position to the post-announcement price")
    def trading_profit(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = insider.trading_profit(
            _legs(state), _reference_time(state), _move(state), thresholds
        )
        return {"evidence": {evidence.name: evidence}}

    @step(AGENT, "insider_link", "Look for a link to an insider of the issuer")
    def insider_link(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = insider.insider_link(state["account"], state["related"], state["insiders"])
        return {"evidence": {evidence.name: evidence}}

    reason = reasoning_step(
        AGENT, "Write the insider-trading assessment", insider.score_insider, llm
    )

    @step(AGENT, "finding", "Report the finding")
    def finding(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        alert: Alert = state["alert"]
        bars, legs = _bars(state), _legs(state)
        result = Finding(
            specialist=Specialist.insider_trading,
            score=state["score"],
            evidence=list(state["evidence"].values()),
            summary=state["summary"],
            chart=chart_data(
                _within(bars, alert), _within(legs, alert), alert.account, state.get("announcement")
            ),
        )
        emit(EventType.finding, AGENT, "finding", data=result.model_dump(mode="json"))
        return {"finding": result}

    nodes = [load_data, announcement, abnormal_return, position_build_up, trade_timing,
             trading_profit, insider_link, reason, finding]  # fmt: skip
    graph = StateGraph(InsiderTradingState).add_sequence(nodes)
    graph.add_edge(START, nodes[0].__name__)
    graph.add_edge(nodes[-1].__name__, END)
    return graph.compile(checkpointer=checkpointer, name=AGENT)
