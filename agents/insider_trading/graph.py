"""The insider-trading specialist as a LangGraph graph.

load_data → announcement → abnormal_return → position_build_up → trade_timing →
trading_profit → insider_link → reason → finding

Each analytic is its own node so the UI shows it as a step. The reference point is
the announcement the alert is about (the first material one in its window); without
one, the end of the alert window stands in and the price move cannot pass. The score
comes from the evidence; the LLM only writes the summary.

Nothing the data lacks crashes the graph: an account the store does not know, no bars
at all, no bars around the news each become `unknown` evidence or a data gap, and the
finding is held for review when that could change the outcome (agents/disposition.py).
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
from agents.tools.specialist import alerted_account, reasoning_step, resolve_store
from agents.tools.trading_time import TradingCalendar
from surveil.events import EventType
from surveil.models import Account, Alert, Announcement, Evidence, Finding, Specialist
from surveil.settings import get_thresholds
from surveil.store import Store

AGENT = Specialist.insider_trading.value
BAR_COLUMNS = ["timestamp", "close"]
# Bars loaded past the alert window, so news near its end still has a next close.
POST_NEWS_MARGIN = timedelta(days=5)


class InsiderTradingState(TypedDict, total=False):
    alert: Alert
    account: Account | None  # None: the store has no record of the alerted account
    data_gaps: list[str]  # missing data that holds the finding for review whatever it scores
    related: list[Account]  # linked either direction, or of the same beneficial owner
    insiders: list[Account]  # insiders of the alert's issuer
    legs: list[dict[str, Any]]  # the account's trades, baseline through alert window
    bars: list[dict[str, Any]]  # closes, baseline through a few days past the window
    benchmark: str  # the instrument's benchmark ("" = none configured)
    benchmark_bars: list[dict[str, Any]]
    every_day: bool  # a 24/7 instrument (its bars include weekends)
    announcements: list[Announcement]
    announcement: Announcement | None
    move: dict[str, Any] | None  # insider.PriceMove fields
    prices_missing: str  # why there is no move, when prices are missing around the news
    direction: int  # +1: judge buying, -1: judge selling (insider.position_direction)
    evidence: Annotated[dict[str, Evidence], merge_evidence]
    score: float
    review_reasons: list[str]
    summary: str
    finding: Finding


def _legs(state: Mapping[str, Any]) -> Any:
    return records_to_frame(state["legs"], LEG_COLUMNS)


def _bars(state: Mapping[str, Any], key: str = "bars") -> Any:
    return records_to_frame(state.get(key, []), BAR_COLUMNS)


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


def _calendar(state: Mapping[str, Any]) -> TradingCalendar:
    return TradingCalendar(every_day=state.get("every_day", False))


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
    # Trading days back, in calendar days with room for weekends (and a 24/7 instrument
    # needs fewer, so this covers both).
    trading_days = thresholds.insider_baseline_days + 2 * thresholds.insider_lookback_days
    history = timedelta(days=trading_days * 7 / 5 + 7)

    @step(AGENT, "load_data", "Load the account, its trades, prices and announcements")
    def load_data(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        alert = Alert.model_validate(state["alert"])
        data = resolve_store(store)
        account, gaps = alerted_account(data, alert)
        related = (
            [
                *data.get_accounts(account.linked_accounts),
                *data.accounts_linking_to(account.id),
                *(
                    a
                    for a in data.accounts_of_owner(account.beneficial_owner)
                    if a.id != account.id
                ),
            ]
            if account
            else []
        )
        progress(0.25, f"{len(related)} related account(s)" if account else gaps[0])
        start = alert.window_start - history
        legs = account_legs(
            data.account_trades(alert.account, alert.instrument, start, alert.window_end),
            alert.account,
        )
        progress(0.5, f"{len(legs)} trades of {alert.account} in {alert.instrument}")
        # Past the window too: news near its end needs the next session's close.
        end = alert.window_end + POST_NEWS_MARGIN
        bars = data.bars(alert.instrument, start, end)
        if bars.empty:  # not one price: whatever else is known, the alert cannot close
            gaps.append(
                f"there are no price bars for {alert.instrument} at all between "
                f"{start:%Y-%m-%d} and {end:%Y-%m-%d}"
            )
        benchmark = data.benchmark_of(alert.instrument) or ""
        benchmark_bars = data.bars(benchmark, start, end) if benchmark else bars.iloc[:0]
        progress(
            0.8,
            f"{len(bars)} price bars"
            + (f", {len(benchmark_bars)} of benchmark {benchmark}" if benchmark else ""),
        )
        return {
            "alert": alert,
            "account": account,
            "data_gaps": gaps,
            "related": related,
            "insiders": data.insiders_of(alert.instrument),
            "legs": frame_to_records(legs),
            "bars": frame_to_records(bars[BAR_COLUMNS]),
            "benchmark": benchmark,
            "benchmark_bars": frame_to_records(benchmark_bars[BAR_COLUMNS]),
            "every_day": TradingCalendar.from_bars(bars["timestamp"]).every_day,
            "announcements": data.announcements(
                alert.instrument, alert.window_start, alert.window_end
            ),
        }

    @step(AGENT, "announcement", "Find the announcement and whether it is material")
    def announcement(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        news = insider.relevant_announcement(state["announcements"], state["alert"])
        evidence = insider.materiality(news)
        return {"announcement": news, "evidence": {evidence.name: evidence}}

    @step(AGENT, "abnormal_return", "Measure the price move against its history or its benchmark")
    def abnormal_return(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        at, news, calendar = _reference_time(state), state.get("announcement"), _calendar(state)
        move, missing = None, ""
        if news is not None:
            try:
                move = insider.price_move(
                    _bars(state), at, thresholds, calendar,
                    benchmark_bars=_bars(state, "benchmark_bars"), benchmark=state["benchmark"],
                )  # fmt: skip
            except insider.PricesMissing as exc:
                missing = f"{exc} ({state['alert'].instrument})"
                progress(0.5, f"prices missing: {missing}")
        evidence = insider.abnormal_return(
            move, thresholds, has_news=news is not None, missing=missing
        )
        return {
            "move": asdict(move) if move else None,
            "prices_missing": missing,
            "direction": insider.position_direction(_legs(state), at, move, thresholds, calendar),
            "evidence": {evidence.name: evidence},
        }

    @step(
        AGENT, "position_build_up", "Compare the pre-announcement position with the account's habit"
    )
    def position_build_up(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        legs, at, calendar = _legs(state), _reference_time(state), _calendar(state)
        found = [
            insider.position_build_up(legs, at, state["direction"], thresholds, calendar),
            insider.traded_with_news(legs, at, state["direction"], thresholds, calendar),
        ]
        if state["direction"] < 0:  # a sale before bad news: did it dispose of a holding?
            found.append(insider.holding_sold(legs, at, thresholds, calendar))
        return {"evidence": {e.name: e for e in found}}

    @step(AGENT, "trade_timing", "Time the trades against the announcement")
    def trade_timing(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = insider.trade_timing(
            _legs(state), _reference_time(state), state["direction"], thresholds,
            _calendar(state), has_news=state.get("announcement") is not None,
        )  # fmt: skip
        return {"evidence": {evidence.name: evidence}}

    @step(AGENT, "trading_profit", "Mark the position to the post-announcement price")
    def trading_profit(state: Mapping[str, Any], progress: Progress) -> dict[str, Any]:
        evidence = insider.trading_profit(
            _legs(state), _reference_time(state), _move(state), thresholds, _calendar(state),
            direction=state["direction"], has_news=state.get("announcement") is not None,
            missing=state.get("prices_missing", ""),
        )  # fmt: skip
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
        reasons = state.get("review_reasons", [])
        result = Finding(
            specialist=Specialist.insider_trading,
            score=state["score"],
            evidence=list(state["evidence"].values()),
            summary=state["summary"],
            needs_review=bool(reasons),
            review_reasons=reasons,
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
