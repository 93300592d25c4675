"""Insider-trading analytics: did the account build an unusual position, or dispose of a
holding, timed just before material news that moved the price abnormally, while linked
to an insider?

Each measure is against a baseline of its own: the instrument's own daily returns (or,
with a benchmark, the market model's residuals) for the price move, the account's own
daily trading for the position build-up, the holding reconstructed from its trades for
a disposal. Time is trading time (`trading_time.TradingCalendar`).

Missing data is never "not crossed": without prices on both sides of the news the move
and the profit are `unknown`, with what is missing, so the alert cannot close on them.
No announcement in the window is a fact, not a gap: then timing, move and profit are
not crossed, because there is nothing to trade ahead of.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from agents.tools.trading_time import TradingCalendar
from surveil.models import Account, Alert, Announcement, Evidence
from surveil.settings import Thresholds

MATERIAL_ANNOUNCEMENT = "material_announcement"
ABNORMAL_RETURN = "abnormal_return"
POSITION_BUILD_UP = "position_build_up"
HOLDING_SOLD = "holding_sold"
TRADED_WITH_NEWS = "traded_with_news"
TRADE_TIMING = "trade_timing"
TRADING_PROFIT = "trading_profit"
LOSS_AVOIDED = "loss_avoided"
INSIDER_LINK = "insider_link"

# An account that never traded has no spread of its own; one round lot a day stands in,
# so a first-ever position still scores as the anomaly it is without dividing by zero.
MIN_DAILY_SIGMA_SHARES = 100.0
# Fewer daily returns than this is no baseline to call a move abnormal against.
MIN_BASELINE_SESSIONS = 5
# The market model needs this many days on which both the instrument and its benchmark
# closed; with fewer, the instrument's own history is used and the evidence says so.
MIN_MARKET_MODEL_SESSIONS = 10
# A price this far (in trading hours) from the news does not show what the news did.
MAX_PRICE_GAP_HOURS = 24.0

NO_NEWS = "no announcement for the instrument in the alert window"


def _no_news(name: str, threshold: float, unit: str, consequence: str) -> Evidence:
    """Evidence that needs an announcement to measure against, when the window has none:
    not crossed (there is nothing the trading could have anticipated), saying why."""
    return Evidence(name=name, value=0.0, threshold=threshold, passed=False, unit=unit,
                    description=f"{NO_NEWS}, so {consequence}")  # fmt: skip


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
        else NO_NEWS,
    )


class PricesMissing(LookupError):
    """The bars cannot show the move across the news; the message says which are missing."""


@dataclass(frozen=True)
class PriceMove:
    """Close before the news, the first session close after it, and how unusual that is."""

    pre_close: float
    post_close: float
    log_return: float
    baseline_sigma: float  # of the daily returns, or of the market model's residuals
    baseline_days: int
    benchmark: str = ""  # the market model's benchmark; "" = the instrument's own history
    beta: float = 0.0
    benchmark_return: float = 0.0  # the benchmark's log return across the news
    note: str = ""  # why a configured benchmark was not used

    @property
    def abnormal(self) -> float:
        """The log return the market does not explain (all of it without a benchmark)."""
        return self.log_return - self.beta * self.benchmark_return

    @property
    def z(self) -> float:
        return self.abnormal / self.baseline_sigma if self.baseline_sigma > 0 else 0.0

    @property
    def direction(self) -> int:
        """+1 when the news lifted the price, -1 when it sank it."""
        return 1 if self.abnormal >= 0 else -1

    @property
    def model(self) -> str:
        if self.benchmark:
            return f"market model against {self.benchmark} (beta {self.beta:.2f})"
        return "the instrument's own daily returns (no benchmark)" + (
            f"; {self.note}" if self.note else ""
        )


# Bars further apart than this belong to different sessions (a lunch break is shorter).
SESSION_BREAK = pd.Timedelta(hours=3)


def _sessions(bars: pd.DataFrame, every_day: bool = False) -> pd.DataFrame:
    """One row per session: its last bar's time and close, indexed by that bar's UTC date.

    A session is a run of bars without a break of SESSION_BREAK, so a market whose day
    crosses UTC midnight (Sydney, Tokyo's evening session, US futures) is one session,
    not two halves. An instrument that trades every day has no breaks: its sessions are
    UTC days."""
    stamps = bars["timestamp"]
    session = stamps.dt.normalize() if every_day else (stamps.diff() > SESSION_BREAK).cumsum()
    grouped = bars.groupby(session.to_numpy()).agg(
        last=("timestamp", "max"), close=("close", "last")
    )
    daily = grouped.set_index(grouped["last"].dt.normalize().rename("day"))
    # A gap in the data can split a day; its last close is the day's close.
    return daily[~daily.index.duplicated(keep="last")]


def _when(ts: object) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M UTC")  # type: ignore[arg-type]


def price_move(
    bars: pd.DataFrame,
    at: datetime,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
    benchmark_bars: pd.DataFrame | None = None,
    benchmark: str = "",
) -> PriceMove:
    """The move across `at` against the instrument's own daily returns before it, or
    against a market model on `benchmark` when its bars are given and cover the baseline.

    Raises PricesMissing naming the missing prices when the bars cannot show the move.
    """
    calendar = calendar or TradingCalendar()
    bars = bars.sort_values("timestamp")
    before, after = bars[bars["timestamp"] < at], bars[bars["timestamp"] >= at]
    if bars.empty:
        raise PricesMissing("no price bars for the instrument at all")
    if before.empty:
        raise PricesMissing(f"no price bars before the announcement at {_when(at)}")
    if after.empty:
        raise PricesMissing(f"no price bars after the announcement at {_when(at)}")
    pre_ts, first_after = before["timestamp"].iloc[-1], after["timestamp"].iloc[0]
    if calendar.hours_between(pre_ts, at) > MAX_PRICE_GAP_HOURS:
        raise PricesMissing(
            f"no price bars between {_when(pre_ts)} and the announcement at {_when(at)}"
        )
    if calendar.hours_between(at, first_after) > MAX_PRICE_GAP_HOURS:
        raise PricesMissing(
            f"no price bars between the announcement at {_when(at)} and {_when(first_after)}"
        )
    sessions = _sessions(bars, calendar.every_day)
    post_session = sessions[sessions["last"] >= at].iloc[0]
    baseline_start = pd.Timestamp(calendar.days_before(at, thresholds.insider_baseline_days))
    history = sessions[(sessions["last"] < at) & (sessions.index >= baseline_start.normalize())]
    daily = np.log(history["close"]).diff().dropna()
    if len(daily) < MIN_BASELINE_SESSIONS:
        raise PricesMissing(
            f"only {len(daily)} daily returns before the announcement; at least "
            f"{MIN_BASELINE_SESSIONS} sessions of prices are needed for a baseline"
        )
    pre, post = float(before["close"].iloc[-1]), float(post_session["close"])
    own = PriceMove(
        pre_close=pre,
        post_close=post,
        log_return=float(np.log(post / pre)),
        baseline_sigma=float(daily.std(ddof=1)),
        baseline_days=len(daily),
    )
    if not benchmark:
        return own
    return _market_model(
        own, daily, benchmark_bars, benchmark, at, post_session["last"], calendar.every_day
    )


def _market_model(
    own: PriceMove,
    daily: pd.Series,
    benchmark_bars: pd.DataFrame | None,
    benchmark: str,
    at: datetime,
    post_ts: pd.Timestamp,
    every_day: bool,
) -> PriceMove:
    """The market model r = alpha + beta * r_benchmark fitted over the baseline; the
    abnormal return is what beta times the benchmark's move across the news leaves."""

    def fallback(why: str) -> PriceMove:
        return replace(own, note=f"benchmark {benchmark} {why}")

    if benchmark_bars is None or benchmark_bars.empty:
        return fallback("has no price bars")
    bench = benchmark_bars.sort_values("timestamp")
    bench_daily = np.log(_sessions(bench, every_day)["close"]).diff().dropna()
    both = pd.concat([daily.rename("r"), bench_daily.rename("m")], axis=1, join="inner")
    if len(both) < MIN_MARKET_MODEL_SESSIONS:
        return fallback(f"shares only {len(both)} sessions with the instrument's baseline")
    bench_pre = bench[bench["timestamp"] < at]
    bench_post = bench[(bench["timestamp"] >= at) & (bench["timestamp"] <= post_ts)]
    if bench_pre.empty or bench_post.empty:
        return fallback("has no prices on both sides of the announcement")
    beta, alpha = np.polyfit(both["m"], both["r"], 1)
    residuals = both["r"] - (alpha + beta * both["m"])
    return PriceMove(
        pre_close=own.pre_close,
        post_close=own.post_close,
        log_return=own.log_return,
        baseline_sigma=float(residuals.std(ddof=2)),
        baseline_days=len(both),
        benchmark=benchmark,
        beta=float(beta),
        benchmark_return=float(np.log(bench_post["close"].iloc[-1] / bench_pre["close"].iloc[-1])),
    )


def abnormal_return(
    move: PriceMove | None,
    thresholds: Thresholds,
    *,
    has_news: bool = True,
    missing: str = "",
) -> Evidence:
    """The move across the news in sigmas; unknown when prices are missing around it,
    not crossed when there is no news (`has_news` False) to move the price."""
    name, threshold = ABNORMAL_RETURN, thresholds.insider_abnormal_return_z
    if move is None:
        if not has_news:
            return _no_news(name, threshold, "sigma", "no move to measure")
        return Evidence.missing_data(
            name,
            threshold,
            missing or "price bars on both sides of the announcement",
            unit="sigma",
            description="the price move across the announcement could not be measured",
        )
    z = abs(move.z)
    market = (
        f"; {move.benchmark} moved {np.expm1(move.benchmark_return):+.2%}, of which beta "
        f"{move.beta:.2f} explains {np.expm1(move.beta * move.benchmark_return):+.2%}"
        if move.benchmark
        else ""
    )
    return Evidence(
        name=name,
        value=round(z, 4),
        threshold=threshold,
        passed=z >= threshold,
        unit="sigma",
        description=f"{np.expm1(move.log_return):+.2%} from {move.pre_close:.2f} to "
        f"{move.post_close:.2f} across the announcement{market}; abnormal "
        f"{np.expm1(move.abnormal):+.2%} against a daily sigma of {move.baseline_sigma:.2%} "
        f"over {move.baseline_days} sessions; model: {move.model}",
    )


def position_direction(
    legs: pd.DataFrame,
    at: datetime,
    move: PriceMove | None,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
) -> int:
    """+1 to look at buying, -1 at selling: the way an abnormal move went, else the way the
    account itself traded in the lookback (so its position is judged on its own terms)."""
    if move is not None and abs(move.z) >= thresholds.insider_abnormal_return_z:
        return move.direction
    return -1 if _lookback(legs, at, thresholds, calendar)["signed_quantity"].sum() < 0 else 1


def lookback_start(
    at: datetime, thresholds: Thresholds, calendar: TradingCalendar | None = None
) -> datetime:
    return (calendar or TradingCalendar()).days_before(at, thresholds.insider_lookback_days)


def _lookback(
    legs: pd.DataFrame, at: datetime, thresholds: Thresholds, calendar: TradingCalendar | None
) -> pd.DataFrame:
    start = lookback_start(at, thresholds, calendar)
    return legs[(legs["timestamp"] >= start) & (legs["timestamp"] < at)]


def position_build_up(
    legs: pd.DataFrame,
    at: datetime,
    direction: int,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
) -> Evidence:
    """Net trading in the news' direction over the lookback, as a z-score against the
    account's own daily net trading over the baseline period before it."""
    calendar = calendar or TradingCalendar()
    start = lookback_start(at, thresholds, calendar)
    baseline_start = calendar.days_before(start, thresholds.insider_baseline_days)
    window = _lookback(legs, at, thresholds, calendar)
    built = float((window["signed_quantity"] * direction).sum())

    history = legs[(legs["timestamp"] >= baseline_start) & (legs["timestamp"] < start)]
    baseline_days = calendar.days(baseline_start.date(), (start - pd.Timedelta(days=1)).date())
    daily = (
        (history["signed_quantity"] * direction)
        .groupby(history["timestamp"].dt.tz_localize(None).dt.normalize())
        .sum()
        .reindex(baseline_days, fill_value=0.0)
    )
    days = max(1, thresholds.insider_lookback_days)
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
        f"trading days before the news, against {mean * days:,.0f} ± "
        f"{sigma * np.sqrt(days):,.0f} usual for the account over {len(daily)} prior trading days",
        trade_ids=toward["trade_id"].tolist(),
    )


def holding_sold(
    legs: pd.DataFrame,
    at: datetime,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
) -> Evidence:
    """The share of the account's holding, reconstructed from all its trades before the
    lookback, that it sold in the lookback before bad news. A flow z-score misses this
    when the purchase that built the holding sits in its own baseline."""
    start = lookback_start(at, thresholds, calendar)
    held = float(legs.loc[legs["timestamp"] < start, "signed_quantity"].sum())
    window = _lookback(legs, at, thresholds, calendar)
    sales = window[window["signed_quantity"] < 0]
    sold = float(-sales["signed_quantity"].sum())
    since = legs["timestamp"].min() if not legs.empty else None
    reconstructed = f"reconstructed from its trades since {_when(since)}" if since else "no trades"
    if held <= 0:
        return Evidence(
            name=HOLDING_SOLD, value=0.0, threshold=thresholds.insider_holding_sold_pct,
            passed=False, unit="%",
            description=f"no long holding before the lookback ({reconstructed}); "
            f"{sold:,.0f} shares sold in it",
        )  # fmt: skip
    share = 100.0 * min(sold, held) / held
    return Evidence(
        name=HOLDING_SOLD,
        value=round(share, 2),
        threshold=thresholds.insider_holding_sold_pct,
        passed=share >= thresholds.insider_holding_sold_pct,
        unit="%",
        description=f"held {held:,.0f} shares before the lookback ({reconstructed}) and sold "
        f"{min(sold, held):,.0f} of them in the {thresholds.insider_lookback_days} trading "
        "days before the bad news",
        trade_ids=sales["trade_id"].tolist(),
    )


def traded_with_news(
    legs: pd.DataFrame,
    at: datetime,
    direction: int,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
) -> Evidence:
    """Net shares traded in the news' direction in the lookback. At or below zero the
    account traded against its supposed information (sold before good news, bought
    before bad news) or not at all: that is exculpatory, not a reason to review."""
    window = _lookback(legs, at, thresholds, calendar)
    net = float((window["signed_quantity"] * direction).sum())
    news = "good" if direction > 0 else "bad"
    if net > 0:
        text = f"net {net:,.0f} shares {'bought' if direction > 0 else 'sold'} before {news} news"
    elif window.empty:
        text = "no trades in the lookback before the news"
    else:
        text = (
            f"net {-net:,.0f} shares {'sold' if direction > 0 else 'bought'} before {news} "
            "news: the account traded against the news, which is exculpatory"
        )
    return Evidence(
        name=TRADED_WITH_NEWS,
        value=round(net, 2),
        threshold=0.0,
        passed=net > 0,
        unit="shares",
        description=text,
        trade_ids=window["trade_id"].tolist(),
    )


def trade_timing(
    legs: pd.DataFrame,
    at: datetime,
    direction: int,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
    *,
    has_news: bool = True,
) -> Evidence:
    """Trading hours from the last trade in the news' direction to the announcement.

    `has_news` False: there was none in the window, so nothing to time against."""
    calendar = calendar or TradingCalendar()
    name, threshold = TRADE_TIMING, thresholds.insider_timing_hours
    if not has_news:
        return _no_news(name, threshold, "hours", "no trade can be timed against one")
    toward = _lookback(legs, at, thresholds, calendar)
    toward = toward[toward["signed_quantity"] * direction > 0]
    if toward.empty:
        return Evidence(
            name=name,
            value=float(thresholds.insider_lookback_days * 24),
            threshold=threshold,
            passed=False,
            unit="hours",
            description="no trade in the direction of the news during the lookback",
        )
    last = toward["timestamp"].max()
    hours = calendar.hours_between(last, at)
    calendar_hours = (at - last).total_seconds() / 3600
    return Evidence(
        name=name,
        value=round(hours, 2),
        threshold=threshold,
        passed=hours <= threshold,
        unit="hours",
        description=f"last {'purchase' if direction > 0 else 'sale'} {hours:.1f} trading hours "
        f"({calendar.name}; {calendar_hours:.1f} calendar hours) before the news",
        trade_ids=[str(toward.loc[toward["timestamp"].idxmax(), "trade_id"])],
    )


def trading_profit(
    legs: pd.DataFrame,
    at: datetime,
    move: PriceMove | None,
    thresholds: Thresholds,
    calendar: TradingCalendar | None = None,
    *,
    direction: int = 1,
    has_news: bool = True,
    missing: str = "",
) -> Evidence:
    """What the lookback trades gained by the news, marked at the post-news close: the
    profit of a purchase before good news, or the loss a sale before bad news avoided
    (`loss_avoided`, the same arithmetic: sold shares × (sale price − post-news close))."""
    name = LOSS_AVOIDED if direction < 0 else TRADING_PROFIT
    threshold = thresholds.insider_min_profit
    if move is None:
        if not has_news:
            return _no_news(name, threshold, "currency", "nothing to mark at")
        return Evidence.missing_data(
            name,
            threshold,
            missing or "a post-announcement price to mark the trades at",
            unit="currency",
        )
    window = _lookback(legs, at, thresholds, calendar)
    if direction < 0:
        window = window[window["signed_quantity"] < 0]
    profit = float((window["signed_quantity"] * (move.post_close - window["price"])).sum())
    what = (
        f"loss avoided by the {len(window)} sale(s) before the news"
        if direction < 0
        else "profit of the lookback trades"
    )
    return Evidence(
        name=name,
        value=round(profit, 2),
        threshold=threshold,
        passed=profit >= threshold,
        unit="currency",
        description=f"{what}, marked at the post-news close of {move.post_close:.2f}",
        trade_ids=window["trade_id"].tolist(),
    )


def insider_link(
    account: Account | None, related: Iterable[Account], insiders: Iterable[Account]
) -> Evidence:
    """Is the account an insider of the issuer, or linked to (or owned with) one?"""
    if account is None:
        return Evidence.missing_data(
            INSIDER_LINK, 1.0, "the alerted account's record (its links and owner)",
            unit="insiders",
        )  # fmt: skip
    insider_ids = {a.id for a in insiders}
    itself = account.id in insider_ids
    linked = sorted((insider_ids & {a.id for a in related}) - {account.id})
    parts = (["the account itself is an insider of the issuer"] if itself else []) + (
        [f"linked to insider account(s) {', '.join(linked)}"] if linked else []
    )
    return Evidence(
        name=INSIDER_LINK,
        value=float(itself + len(linked)),
        threshold=1.0,
        passed=bool(parts),
        unit="insiders",
        description="; ".join(parts) if parts else "no link to any insider of the issuer",
    )


def score_insider(evidence: Iterable[Evidence]) -> float:
    """0..1 from the evidence. Without material news that moved the price abnormally
    there is nothing to trade on, and the score stays below the close score. With it,
    an unusual position (built up, or a holding sold before bad news) and a link to an
    insider carry the weight; timing and profit (or loss avoided) add the rest. An
    account that traded against the news (sold before good news) is exculpated: its
    score stays below the close score whatever its links."""
    passed = {item.name: item.passed for item in evidence}
    build = passed.get(POSITION_BUILD_UP, False) or passed.get(HOLDING_SOLD, False)
    link = passed.get(INSIDER_LINK, False)
    if not (passed.get(MATERIAL_ANNOUNCEMENT, False) and passed.get(ABNORMAL_RETURN, False)):
        return 0.1 * build + 0.1 * link
    if TRADED_WITH_NEWS in passed and not passed[TRADED_WITH_NEWS]:
        return 0.1 * link
    gain = passed.get(TRADING_PROFIT, False) or passed.get(LOSS_AVOIDED, False)
    return 0.45 * build + 0.35 * link + 0.1 * passed.get(TRADE_TIMING, False) + 0.1 * gain
