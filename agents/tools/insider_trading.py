"""Insider-trading analytics: did the account build an unusual position, timed just
before material news that moved the price abnormally, while linked to an insider?

Each measure is against a baseline of its own: the instrument's own daily returns
for the price move, the account's own daily trading for the position build-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from surveil.models import Account, Alert, Announcement, Evidence
from surveil.settings import Thresholds

MATERIAL_ANNOUNCEMENT = "material_announcement"
ABNORMAL_RETURN = "abnormal_return"
POSITION_BUILD_UP = "position_build_up"
TRADE_TIMING = "trade_timing"
TRADING_PROFIT = "trading_profit"
INSIDER_LINK = "insider_link"

# An account that never traded has no spread of its own; one round lot a day stands in,
# so a first-ever position still scores as the anomaly it is without dividing by zero.
MIN_DAILY_SIGMA_SHARES = 100.0


def relevant_announcement(
    announcements: Sequence[Announcement], alert: Alert
) -> Announcement | None:
    """The announcement the alert is about: the first material one in the window, else the first."""
    in_window = [a for a in announcements if alert.window_start <= a.timestamp <= alert.window_end]
    material = [a for a in in_window if a.material]
    return (material or in_window or [None])[0]


def materiality(announcement: Announcement | None) -> Evidence:
    return Evidence(
        name=MATERIAL_ANNOUNCEMENT,
        value=1.0 if announcement and announcement.material else 0.0,
        threshold=1.0,
        passed=bool(announcement and announcement.material),
        description=(
            f"'{announcement.headline}' at {announcement.timestamp.isoformat()} is "
            + ("material" if announcement.material else "not material")
        )
        if announcement
        else "no announcement for the instrument in the alert window",
    )


@dataclass(frozen=True)
class PriceMove:
    """Close before the news, the first session close after it, and how unusual that is."""

    pre_close: float
    post_close: float
    log_return: float
    baseline_sigma: float
    baseline_days: int

    @property
    def z(self) -> float:
        return self.log_return / self.baseline_sigma if self.baseline_sigma > 0 else 0.0

    @property
    def direction(self) -> int:
        """+1 when the news lifted the price, -1 when it sank it."""
        return 1 if self.log_return >= 0 else -1


def price_move(bars: pd.DataFrame, at: datetime, thresholds: Thresholds) -> PriceMove | None:
    """The move across `at` against the instrument's daily close-to-close returns before it."""
    bars = bars.sort_values("timestamp")
    before = bars[bars["timestamp"] < at]
    sessions = bars.groupby(bars["timestamp"].dt.normalize()).agg(
        last=("timestamp", "max"), close=("close", "last")
    )
    after = sessions[sessions["last"] >= at]
    if before.empty or after.empty:
        return None
    baseline_start = pd.Timestamp(at - timedelta(days=thresholds.insider_baseline_days))
    history = sessions[(sessions["last"] < at) & (sessions.index >= baseline_start.normalize())]
    daily_returns = np.log(history["close"]).diff().dropna()
    pre, post = float(before["close"].iloc[-1]), float(after["close"].iloc[0])
    return PriceMove(
        pre_close=pre,
        post_close=post,
        log_return=float(np.log(post / pre)),
        baseline_sigma=float(daily_returns.std(ddof=1)) if len(daily_returns) > 1 else 0.0,
        baseline_days=len(daily_returns),
    )


def abnormal_return(move: PriceMove | None, thresholds: Thresholds) -> Evidence:
    if move is None:
        return Evidence(
            name=ABNORMAL_RETURN,
            value=0.0,
            threshold=thresholds.insider_abnormal_return_z,
            passed=False,
            unit="sigma",
            description="no prices on both sides of the announcement",
        )
    z = abs(move.z)
    return Evidence(
        name=ABNORMAL_RETURN,
        value=round(z, 4),
        threshold=thresholds.insider_abnormal_return_z,
        passed=z >= thresholds.insider_abnormal_return_z,
        unit="sigma",
        description=f"{np.expm1(move.log_return):+.2%} from {move.pre_close:.2f} to "
        f"{move.post_close:.2f} across the announcement, against a daily sigma of "
        f"{move.baseline_sigma:.2%} over {move.baseline_days} sessions",
    )


def position_direction(
    legs: pd.DataFrame, at: datetime, move: PriceMove | None, thresholds: Thresholds
) -> int:
    """+1 to look at buying, -1 at selling: the way an abnormal move went, else the way the
    account itself traded in the lookback (so its position is judged on its own terms)."""
    if move is not None and abs(move.z) >= thresholds.insider_abnormal_return_z:
        return move.direction
    return -1 if _lookback(legs, at, thresholds)["signed_quantity"].sum() < 0 else 1


def _lookback(legs: pd.DataFrame, at: datetime, thresholds: Thresholds) -> pd.DataFrame:
    start = at - timedelta(days=thresholds.insider_lookback_days)
    return legs[(legs["timestamp"] >= start) & (legs["timestamp"] < at)]


def position_build_up(
    legs: pd.DataFrame, at: datetime, direction: int, thresholds: Thresholds
) -> Evidence:
    """Net trading in the news' direction over the lookback, as a z-score against the
    account's own daily net trading over the baseline period before it."""
    lookback_start = at - timedelta(days=thresholds.insider_lookback_days)
    baseline_start = lookback_start - timedelta(days=thresholds.insider_baseline_days)
    window = _lookback(legs, at, thresholds)
    built = float((window["signed_quantity"] * direction).sum())

    history = legs[(legs["timestamp"] >= baseline_start) & (legs["timestamp"] < lookback_start)]
    baseline_days = pd.bdate_range(
        baseline_start.date(), (lookback_start - timedelta(days=1)).date()
    )
    daily = (
        (history["signed_quantity"] * direction)
        .groupby(history["timestamp"].dt.tz_localize(None).dt.normalize())
        .sum()
        .reindex(baseline_days, fill_value=0.0)
    )
    days = max(1, len(pd.bdate_range(lookback_start.date(), at.date())))
    mean = float(daily.mean()) if len(daily) else 0.0
    sigma = max(float(daily.std(ddof=0)) if len(daily) else 0.0, MIN_DAILY_SIGMA_SHARES)
    z = (built - days * mean) / (np.sqrt(days) * sigma)
    toward = window[window["signed_quantity"] * direction > 0]
    word = "bought" if direction > 0 else "sold"
    return Evidence(
        name=POSITION_BUILD_UP,
        value=round(float(z), 4),
        threshold=thresholds.insider_position_build_z,
        passed=built > 0 and z >= thresholds.insider_position_build_z,
        unit="z",
        description=f"net {built:,.0f} shares {word} in the {thresholds.insider_lookback_days} "
        f"days before the news, against {mean * days:,.0f} ± {sigma * np.sqrt(days):,.0f} "
        f"usual for the account over {len(daily)} prior trading days",
        trade_ids=toward["trade_id"].tolist(),
    )


def trade_timing(
    legs: pd.DataFrame, at: datetime, direction: int, thresholds: Thresholds
) -> Evidence:
    """Hours from the last trade in the news' direction to the announcement."""
    toward = _lookback(legs, at, thresholds)
    toward = toward[toward["signed_quantity"] * direction > 0]
    if toward.empty:
        return Evidence(
            name=TRADE_TIMING,
            value=float(thresholds.insider_lookback_days * 24),
            threshold=thresholds.insider_timing_hours,
            passed=False,
            unit="hours",
            description="no trade in the direction of the news during the lookback",
        )
    hours = (at - toward["timestamp"].max()).total_seconds() / 3600
    return Evidence(
        name=TRADE_TIMING,
        value=round(hours, 2),
        threshold=thresholds.insider_timing_hours,
        passed=hours <= thresholds.insider_timing_hours,
        unit="hours",
        description=f"last {'purchase' if direction > 0 else 'sale'} {hours:.1f} h before the news",
        trade_ids=[str(toward.loc[toward["timestamp"].idxmax(), "trade_id"])],
    )


def trading_profit(
    legs: pd.DataFrame, at: datetime, move: PriceMove | None, thresholds: Thresholds
) -> Evidence:
    """Realised plus unrealised profit of the lookback trades, marked at the post-news close."""
    window = _lookback(legs, at, thresholds)
    mark = move.post_close if move else float("nan")
    profit = float((window["signed_quantity"] * (mark - window["price"])).sum()) if move else 0.0
    return Evidence(
        name=TRADING_PROFIT,
        value=round(profit, 2),
        threshold=thresholds.insider_min_profit,
        passed=profit >= thresholds.insider_min_profit,
        unit="currency",
        description=f"lookback trades marked at the post-news close of {mark:.2f}"
        if move
        else "no post-news price to mark the trades at",
        trade_ids=window["trade_id"].tolist(),
    )


def insider_link(
    account: Account, related: Iterable[Account], insiders: Iterable[Account]
) -> Evidence:
    """Is the account an insider of the issuer, or linked to (or owned with) one?"""
    insider_ids = {a.id for a in insiders}
    related_ids = {a.id for a in related} | {account.id}
    hits = sorted(insider_ids & related_ids)
    return Evidence(
        name=INSIDER_LINK,
        value=float(len(hits)),
        threshold=1.0,
        passed=bool(hits),
        unit="insiders",
        description=f"linked to insider account(s) {', '.join(hits)}"
        if hits
        else "no link to any insider of the issuer",
    )


def score_insider(evidence: Iterable[Evidence]) -> float:
    """0..1 from the evidence. Without material news that moved the price abnormally
    there is nothing to trade on, and the score stays below the close score. With it,
    an unusual build-up and a link to an insider carry the weight; timing and profit
    add the rest."""
    passed = {item.name: item.passed for item in evidence}
    build = passed.get(POSITION_BUILD_UP, False)
    link = passed.get(INSIDER_LINK, False)
    if not (passed.get(MATERIAL_ANNOUNCEMENT, False) and passed.get(ABNORMAL_RETURN, False)):
        return 0.1 * build + 0.1 * link
    extra = 0.1 * passed.get(TRADE_TIMING, False) + 0.1 * passed.get(TRADING_PROFIT, False)
    return 0.45 * build + 0.35 * link + extra
