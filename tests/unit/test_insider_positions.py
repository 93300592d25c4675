"""Insider analytics on the cases the first version got wrong: a holding sold before bad
news, a sale before good news, weekends, a market-wide move, self-contradicting evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from agents.tools import insider_trading as insider
from agents.tools.trading_time import TradingCalendar
from surveil.models import Account, Evidence
from tests.unit.test_insider_analytics import DAYS, NEWS_AT, T, bars, legs

MOVE_DOWN = insider.PriceMove(pre_close=100, post_close=62.4, log_return=float(np.log(0.624)),
                              baseline_sigma=0.018, baseline_days=55)  # fmt: skip


def holding_then_sale() -> pd.DataFrame:
    """A 12,000-share purchase weeks before, sold 25 h before the news; nothing else."""
    return legs((pd.Timestamp(DAYS[20]) + pd.Timedelta(hours=15), 12_000.0, 100.0),
                (NEWS_AT - timedelta(hours=25), -12_000.0, 99.0))  # fmt: skip


def test_selling_a_holding_before_bad_news_is_a_disposal_with_the_loss_avoided() -> None:
    frame = holding_then_sale()
    sold = insider.holding_sold(frame, NEWS_AT, T)
    assert sold.passed and sold.value == 100.0
    assert "held 12,000 shares" in sold.description
    avoided = insider.trading_profit(frame, NEWS_AT, MOVE_DOWN, T, direction=-1)
    assert avoided.name == insider.LOSS_AVOIDED
    assert avoided.value == pytest.approx(12_000 * (99.0 - 62.4))
    assert avoided.passed


def test_an_insider_selling_a_holding_before_bad_news_escalates() -> None:
    frame = holding_then_sale()
    insider_account = Account(id="CEO", beneficial_owner="B", name="C", insider_of=["ACME"])
    evidence = [
        Evidence(name=insider.MATERIAL_ANNOUNCEMENT, value=1, threshold=1, passed=True),
        insider.abnormal_return(MOVE_DOWN, T),
        insider.position_build_up(frame, NEWS_AT, -1, T),
        insider.holding_sold(frame, NEWS_AT, T),
        insider.traded_with_news(frame, NEWS_AT, -1, T),
        insider.trade_timing(frame, NEWS_AT, -1, T),
        insider.trading_profit(frame, NEWS_AT, MOVE_DOWN, T, direction=-1),
        insider.insider_link(insider_account, [], [insider_account]),
    ]
    assert insider.score_insider(evidence) >= T.escalate_score


def test_an_insider_selling_before_good_news_is_exculpated() -> None:
    frame = legs((NEWS_AT - timedelta(hours=25), -5_000.0, 100.0))
    against = insider.traded_with_news(frame, NEWS_AT, 1, T)
    assert not against.passed and "exculpatory" in against.description
    evidence = [
        Evidence(name=insider.MATERIAL_ANNOUNCEMENT, value=1, threshold=1, passed=True),
        Evidence(name=insider.ABNORMAL_RETURN, value=9, threshold=3, passed=True),
        Evidence(name=insider.INSIDER_LINK, value=1, threshold=1, passed=True),
        insider.position_build_up(frame, NEWS_AT, 1, T),
        against,
    ]
    assert insider.score_insider(evidence) < T.close_score


def test_the_account_itself_being_the_insider_is_not_called_a_link_to_itself() -> None:
    ceo = Account(id="CEO", beneficial_owner="B", name="C", insider_of=["ACME"])
    evidence = insider.insider_link(ceo, [ceo], [ceo])
    assert evidence.passed
    assert evidence.description == "the account itself is an insider of the issuer"
    assert "linked to" not in evidence.description
    assert insider.insider_link(None, [], [ceo]).unknown


def test_without_an_announcement_timing_move_and_profit_are_not_crossed_nor_unknown() -> None:
    frame = legs((NEWS_AT - timedelta(hours=2), 5_000.0, 100.0))
    timing = insider.trade_timing(frame, NEWS_AT, 1, T, has_news=False)
    assert timing.state == "not_crossed" and "no announcement" in timing.description
    assert insider.abnormal_return(None, T, has_news=False).state == "not_crossed"
    assert insider.trading_profit(frame, NEWS_AT, None, T, has_news=False).state == "not_crossed"
    assert insider.abnormal_return(None, T, missing="no bars").unknown


def test_missing_prices_around_the_news_are_named() -> None:
    full = bars(0.05)
    gap = full[(full["timestamp"] < NEWS_AT - timedelta(days=2)) | (full["timestamp"] > NEWS_AT)]
    with pytest.raises(
        insider.PricesMissing, match="no price bars between .* and the announcement"
    ):
        insider.price_move(gap, NEWS_AT, T)
    with pytest.raises(insider.PricesMissing, match="no price bars for the instrument at all"):
        insider.price_move(full.iloc[:0], NEWS_AT, T)
    with pytest.raises(insider.PricesMissing, match="after the announcement"):
        insider.price_move(full[full["timestamp"] < NEWS_AT], NEWS_AT, T)


def test_trading_time_skips_weekends_unless_the_instrument_trades_every_day() -> None:
    friday = datetime(2024, 3, 8, 14, 0, tzinfo=UTC)
    tuesday = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
    assert TradingCalendar().hours_between(friday, tuesday) == pytest.approx(44.0)
    assert TradingCalendar(every_day=True).hours_between(friday, tuesday) == pytest.approx(92.0)
    assert TradingCalendar().days_before(tuesday, 2) == datetime(2024, 3, 8, 10, 0, tzinfo=UTC)
    weekend = [pd.Timestamp("2024-03-09T10:00Z"), pd.Timestamp("2024-03-10T10:00Z"),
               pd.Timestamp("2024-03-11T10:00Z")]  # fmt: skip
    assert TradingCalendar.from_bars(weekend).every_day
    assert not TradingCalendar.from_bars(weekend[2:]).every_day
    sydney_monday = weekend[1:]  # a session that opens on Sunday, UTC, is no weekend trading
    assert not TradingCalendar.from_bars(sydney_monday).every_day


def test_a_market_wide_move_is_not_abnormal_against_the_benchmark() -> None:
    rng = np.random.default_rng(5)
    market = np.cumsum(rng.normal(0, 0.01, len(DAYS)))
    market[50:] -= 0.08  # the whole market falls 8 % on the news day
    own = market * 1.2 + np.cumsum(rng.normal(0, 0.002, len(DAYS)))

    def frame(log_prices: np.ndarray) -> pd.DataFrame:
        rows = []
        for day, price in zip(DAYS, log_prices, strict=True):
            before = log_prices[49] if day == DAYS[50] else price
            rows.append({"timestamp": day + pd.Timedelta(hours=15), "close": 50 * np.exp(before)})
            rows.append({"timestamp": day + pd.Timedelta(hours=20), "close": 50 * np.exp(price)})
        return pd.DataFrame(rows)

    alone = insider.price_move(frame(own), NEWS_AT, T)
    assert insider.abnormal_return(alone, T).passed  # a naive reading: a 9 % drop is abnormal
    adjusted = insider.price_move(frame(own), NEWS_AT, T, benchmark_bars=frame(market),
                                  benchmark="MKT")  # fmt: skip
    evidence = insider.abnormal_return(adjusted, T)
    assert not evidence.passed
    assert adjusted.beta == pytest.approx(1.2, abs=0.1)
    assert "model: market model against MKT (beta 1.2" in evidence.description
    assert (
        "model: the instrument's own daily returns" in insider.abnormal_return(alone, T).description
    )


def test_a_benchmark_without_bars_falls_back_to_own_history_and_says_so() -> None:
    move = insider.price_move(bars(0.05), NEWS_AT, T, benchmark_bars=bars(0.0).iloc[:0],
                              benchmark="SPX")  # fmt: skip
    description = insider.abnormal_return(move, T).description
    assert description.endswith(
        "model: the instrument's own daily returns (no benchmark); benchmark SPX has no price bars"
    )


def test_a_session_across_utc_midnight_is_one_session() -> None:
    """Bars 22:00-04:00 UTC each weekday night (a session across midnight): the move
    across news at 02:00 runs from the 01:30 bar to that session's close at 04:00, and
    the baseline has one return per session, not two half-sessions a night."""
    nights = pd.bdate_range("2024-01-01", periods=40, tz="UTC")
    rows, price = [], 100.0
    for n, night in enumerate(nights):
        for k in range(13):  # 22:00, 22:30, ... 04:00
            price *= 1.0 + (0.004 if (n + k) % 2 else -0.004)
            rows.append({"timestamp": night + pd.Timedelta(hours=22, minutes=30 * k),
                         "close": price})  # fmt: skip
    frame = pd.DataFrame(rows)
    news = nights[30] + pd.Timedelta(hours=26)  # 02:00 the next UTC day, mid-session
    frame.loc[frame["timestamp"] > news, "close"] *= 1.08
    move = insider.price_move(frame, news.to_pydatetime(), T)
    session_close = frame.loc[frame["timestamp"] == nights[30] + pd.Timedelta(hours=28), "close"]
    assert move.post_close == pytest.approx(float(session_close.iloc[0]))
    assert move.baseline_days == 29  # 30 sessions before the news' session: 29 returns
    assert not TradingCalendar.from_bars(frame["timestamp"]).every_day
