"""Insider-trading analytics on hand-built prices and trades, on both sides of every threshold."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from agents.tools import insider_trading as insider
from agents.tools.market_data import LEG_COLUMNS
from surveil.models import Account, Alert, Announcement, Evidence
from surveil.settings import Thresholds

T = Thresholds(
    insider_abnormal_return_z=3,
    insider_position_build_z=3,
    insider_lookback_days=10,
    insider_baseline_days=60,
    insider_min_profit=10_000,
    insider_timing_hours=72,
)
DAYS = pd.bdate_range("2024-01-02", periods=60, tz="UTC")
NEWS_DAY = DAYS[50]
NEWS_AT = NEWS_DAY + pd.Timedelta(hours=17)  # between the 15:00 and 20:00 bars


def bars(jump: float) -> pd.DataFrame:
    """Two bars a day; closes alternate ±1 % a day, and the news day's last bar jumps."""
    day_close = 100 * np.exp(np.cumsum(np.where(np.arange(len(DAYS)) % 2, 0.01, -0.01)))
    rows = []
    for day, close in zip(DAYS, day_close, strict=True):
        rows.append({"timestamp": day + pd.Timedelta(hours=15), "close": close})
        late = close * (1 + jump) if day == NEWS_DAY else close
        rows.append({"timestamp": day + pd.Timedelta(hours=20), "close": late})
    return pd.DataFrame(rows)


def legs(*rows: tuple[pd.Timestamp, float, float]) -> pd.DataFrame:
    """(time, signed quantity, price) -> the account's legs."""
    return pd.DataFrame(
        [
            {
                "trade_id": f"T{i}",
                "timestamp": ts,
                "side": "buy" if qty > 0 else "sell",
                "quantity": abs(qty),
                "price": price,
                "signed_quantity": qty,
                "owner": "O",
                "counterparty": "X",
                "counterparty_owner": "XO",
            }
            for i, (ts, qty, price) in enumerate(rows)
        ],
        columns=LEG_COLUMNS,
    )


@pytest.mark.parametrize(("jump", "passed"), [(0.05, True), (0.02, False), (-0.05, True)])
def test_abnormal_return_is_measured_against_the_instruments_own_daily_moves(
    jump: float, passed: bool
) -> None:
    move = insider.price_move(bars(jump), NEWS_AT, T)
    assert move is not None
    evidence = insider.abnormal_return(move, T)
    assert evidence.passed is passed
    assert move.baseline_sigma == pytest.approx(0.01, rel=0.05)
    assert evidence.value == pytest.approx(abs(np.log1p(jump)) / move.baseline_sigma, rel=1e-3)


def test_price_move_direction_follows_the_news() -> None:
    assert insider.price_move(bars(-0.05), NEWS_AT, T).direction == -1  # type: ignore[union-attr]
    assert insider.price_move(bars(0.05), NEWS_AT, T).direction == 1  # type: ignore[union-attr]


def _habit_and_build(build: float) -> pd.DataFrame:
    """Alternating ±500 a day over the baseline, then `build` bought the day before."""
    history = [(day + pd.Timedelta(hours=16), 500.0 if i % 2 else -500.0, 100.0)
               for i, day in enumerate(DAYS[:40])]  # fmt: skip
    return legs(*history, (NEWS_AT - timedelta(hours=20), build, 100.0))


@pytest.mark.parametrize(("build", "passed"), [(8000.0, True), (2000.0, False), (-8000.0, False)])
def test_position_build_up_is_a_z_score_against_the_accounts_own_habit(
    build: float, passed: bool
) -> None:
    evidence = insider.position_build_up(_habit_and_build(build), NEWS_AT, 1, T)
    assert evidence.passed is passed


def test_a_habitual_large_buyer_does_not_look_unusual() -> None:
    blocks = [(day + pd.Timedelta(hours=16), 20_000.0, 100.0) for day in DAYS[:50:5]]
    before_news = (NEWS_AT - timedelta(hours=20), 20_000.0, 100.0)
    evidence = insider.position_build_up(legs(*blocks, before_news), NEWS_AT, 1, T)
    assert evidence.value < T.insider_position_build_z


def test_selling_ahead_of_bad_news_counts_as_building_a_position() -> None:
    evidence = insider.position_build_up(_habit_and_build(-8000.0), NEWS_AT, -1, T)
    assert evidence.passed


@pytest.mark.parametrize(
    ("hours_before", "trading_hours", "passed"),
    [(10, 10, True), (20, 20, True), (104, 56, True), (150, 102, False)],
)  # NEWS_AT is a Tuesday 17:00: 104 calendar hours back is Friday 09:00, a weekend between
def test_timing_passes_when_the_last_trade_is_close_to_the_news_in_trading_hours(
    hours_before: float, trading_hours: float, passed: bool
) -> None:
    frame = legs((NEWS_AT - timedelta(hours=hours_before), 1000.0, 100.0))
    evidence = insider.trade_timing(frame, NEWS_AT, 1, T)
    assert evidence.passed is passed
    assert evidence.value == pytest.approx(trading_hours)


def test_timing_fails_without_a_trade_in_the_direction_of_the_news() -> None:
    frame = legs((NEWS_AT - timedelta(hours=10), -1000.0, 100.0))
    assert not insider.trade_timing(frame, NEWS_AT, 1, T).passed


@pytest.mark.parametrize(("quantity", "passed"), [(1000.0, True), (500.0, False)])
def test_profit_marks_the_position_at_the_post_news_close(quantity: float, passed: bool) -> None:
    move = insider.PriceMove(pre_close=100, post_close=115, log_return=0.14, baseline_sigma=0.01,
                             baseline_days=40)  # fmt: skip
    frame = legs((NEWS_AT - timedelta(hours=5), quantity, 100.0))
    evidence = insider.trading_profit(frame, NEWS_AT, move, T)
    assert evidence.value == pytest.approx(quantity * 15)
    assert evidence.passed is passed


def _account(account_id: str, **extra: object) -> Account:
    return Account(id=account_id, beneficial_owner=f"BO-{account_id}", name=account_id, **extra)  # type: ignore[arg-type]


def test_insider_link_passes_for_a_linked_insider_or_the_insider_itself() -> None:
    cfo = _account("CFO", insider_of=["ACME"])
    spouse = _account("SPOUSE", linked_accounts=["CFO"])
    assert insider.insider_link(spouse, [cfo], [cfo]).passed
    assert insider.insider_link(cfo, [], [cfo]).passed
    assert not insider.insider_link(_account("STRANGER"), [], [cfo]).passed


def _news(hours: float, material: bool) -> Announcement:
    return Announcement(instrument="ACME", timestamp=NEWS_AT + timedelta(hours=hours),
                        headline=f"news {hours}", material=material)  # fmt: skip


def test_the_relevant_announcement_is_the_first_material_one_in_the_window() -> None:
    alert = Alert(id="A1", type="insider_trading", account="X", instrument="ACME",
                  window_start=NEWS_AT - timedelta(days=10), window_end=NEWS_AT + timedelta(days=1))  # fmt: skip
    routine, material = _news(-5, False), _news(0, True)
    assert insider.relevant_announcement([routine, material], alert) == material
    assert insider.relevant_announcement([routine], alert) == routine
    assert insider.relevant_announcement([_news(48, True)], alert) is None
    assert insider.materiality(material).passed
    assert not insider.materiality(routine).passed
    assert not insider.materiality(None).passed


def test_without_an_abnormal_move_the_accounts_own_direction_is_judged() -> None:
    quiet = insider.price_move(bars(0.001), NEWS_AT, T)
    selling = legs((NEWS_AT - timedelta(hours=5), -1000.0, 100.0))
    assert insider.position_direction(selling, NEWS_AT, quiet, T) == -1
    crash = insider.price_move(bars(-0.08), NEWS_AT, T)
    buying = legs((NEWS_AT - timedelta(hours=5), 1000.0, 100.0))
    assert insider.position_direction(buying, NEWS_AT, crash, T) == -1


def _evidence(**passed: bool) -> list[Evidence]:
    return [Evidence(name=n, value=1, threshold=1, passed=p) for n, p in passed.items()]


def test_insider_score_needs_material_news_that_moved_the_price() -> None:
    everything = dict(position_build_up=True, insider_link=True, trade_timing=True,
                      trading_profit=True)  # fmt: skip
    news = dict(material_announcement=True, abnormal_return=True)
    assert insider.score_insider(_evidence(**news, **everything)) >= T.escalate_score
    no_move = dict(material_announcement=True, abnormal_return=False)
    assert insider.score_insider(_evidence(**no_move, **everything)) < T.close_score
    habit = dict(
        position_build_up=False, insider_link=False, trade_timing=True, trading_profit=True
    )
    assert insider.score_insider(_evidence(**news, **habit)) < T.close_score
    unlinked_build = dict(everything, insider_link=False)
    assert T.close_score <= insider.score_insider(_evidence(**news, **unlinked_build)) < 0.7
