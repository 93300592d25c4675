"""Deterministic demo data: a small market with planted cases and their expected outcome.

`generate_demo(seed, out_dir)` writes accounts.csv, trades.csv, bars.csv,
announcements.csv, alerts.csv (the format in docs/csv-format.md) and labels.csv
(`alert_id,expected_disposition,why`). The same seed always gives the same files.

The market: six instruments, 5-minute bars over 55 trading days (random walks with
an intraday volume smile), a few hundred accounts trading against each other at
random. On top of it, each alert is one planted case:

- wash trades: same beneficial owner on both sides; round trips between accounts
  linked in either direction; an "unknown"-type alert that is really a self-match;
- insider trading: an account linked to an issuer's insider builds a position in
  the days before a material announcement that moves the price (up or down);
- look-alikes a naive rule would flag: a market maker's round trips against
  unrelated owners; two linked accounts buying at the same time from the market; a
  pension fund whose large pre-announcement purchase is its weekly habit; an
  insider-linked account buying before a non-material announcement;
- a borderline case: round trips between two accounts that are not linked but share
  a surname and an address, so the wash-trade specialist must ask the analyst;
- hard cases, each on an instrument of its own (`plant_hard_cases`): no prices around
  the news, no bars at all, an alert for an account the store does not know (all three
  needs_review, never a close), an insider selling a holding before bad news (escalate)
  and before good news (exculpatory: close), purchases up to the Friday before Tuesday
  news (timing counted in trading time), a sale before a market-wide fall that the
  benchmark (`instruments.csv`) explains (close).

labels.csv also names, per alert, the evidence states that decide it
(`expected_evidence`, `name=state;…`). The unknown-account alert cannot be imported
(its account resolves nowhere), so it is written to submitted_alerts.json as the body a
client would POST to /api/alerts.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from surveil.models import Alert, Disposition
from surveil.store import TIMESTAMP_FORMAT, to_db_time

TRADING_DAYS = 55
BAR_MINUTES = 5
BARS_PER_DAY = 78  # 14:30–21:00 UTC, a US equity session
SESSION_OPEN = timedelta(hours=14, minutes=30)
FIRST_DAY = "2024-01-02"
N_ACCOUNTS = 300
BACKGROUND_TRADES_PER_DAY = 18  # per instrument
ALERT_TENANT = "demo"
SUBMITTED_ALERTS = "submitted_alerts.json"

TICKERS = ["ACMR", "BLTX", "CRUX", "DYNQ", "ELMR", "FJRD", "GRYP", "HALX", "IONQ", "JADX"]
# The instruments of the cases added for missing data, disposals, weekends and market
# moves (`plant_hard_cases`); kept apart so the original cases keep their ids per seed.
HARD_TICKERS = ["KSTR", "LUMN", "MRVX", "NOVA", "ORBT"]
NO_BARS_TICKER = "PXLT"  # traded and announced, but not one price bar
INDEX = "MKTX"  # a market index: the benchmark of the market-wide-move case
FIRST_NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Felix", "Grace", "Hugo", "Iris", "Jonas",
               "Kira", "Liam", "Maya", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara"]  # fmt: skip
SURNAMES = ["Abbott", "Brandt", "Castillo", "Dufresne", "Eriksen", "Fontaine", "Gallagher",
            "Hartmann", "Ivanova", "Jaramillo", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
            "Okafor", "Petrov", "Quiroga", "Rasmussen", "Sandoval", "Takahashi", "Underwood",
            "Varga", "Whitfield", "Yilmaz", "Zielinski"]  # fmt: skip
STREETS = ["Harbour St", "Mill Lane", "Cedar Ave", "King's Rd", "Elm Row", "Quay Side"]
VENUES = ["XNAS", "XNYS", "BATS", "IEXG"]

TRADE_COLUMNS = ["trade_id", "order_id", "timestamp", "account", "beneficial_owner",
                 "counterparty_account", "counterparty_owner", "instrument", "side",
                 "quantity", "price", "venue"]  # fmt: skip


@dataclass
class PlantedAlert:
    type: str
    account: str
    instrument: str
    window_start: datetime
    window_end: datetime
    description: str
    expected: Disposition
    why: str
    evidence: str = ""  # expected evidence states, "name=state;name=state" (may be empty)
    submitted: bool = False  # not importable (unknown account): a client POSTs it instead


@dataclass
class DemoMarket:
    """The market being built; planting a case appends trades, announcements and alerts."""

    rng: np.random.Generator
    days: pd.DatetimeIndex
    instruments: list[str]
    closes: dict[str, np.ndarray]  # instrument -> close per bar, shape (days, bars)
    accounts: pd.DataFrame
    trades: list[dict] = field(default_factory=list)
    announcements: list[dict] = field(default_factory=list)
    alerts: list[PlantedAlert] = field(default_factory=list)
    reserved: set[str] = field(default_factory=set)  # accounts given a role
    # The hard cases (`plant_hard_cases`) draw from their own generator and accounts of
    # their own, so the original cases come out exactly as before for every seed.
    fresh_accounts: bool = False  # take_accounts creates new accounts instead
    hard_rng: np.random.Generator | None = None
    hard_instruments: list[str] = field(default_factory=list)  # with bars
    no_bars: list[str] = field(default_factory=list)  # traded, announced, never priced
    benchmarks: dict[str, str] = field(default_factory=dict)  # instrument -> benchmark
    missing_bars: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    hard_alerts: list[PlantedAlert] = field(default_factory=list)

    def bar_time(self, day: int, bar: int) -> datetime:
        return self.days[day].to_pydatetime() + SESSION_OPEN + timedelta(minutes=BAR_MINUTES * bar)

    def price_at(self, instrument: str, when: datetime) -> float:
        day = self.days.get_loc(pd.Timestamp(when.date(), tz=UTC))
        offset = (when - self.days[day].to_pydatetime() - SESSION_OPEN).total_seconds()
        bar = int(np.clip(offset // (BAR_MINUTES * 60), 0, BARS_PER_DAY - 1))
        return float(self.closes[instrument][day, bar])

    def take_accounts(self, count: int) -> list[str]:
        """Fresh background accounts for a role (so no two cases share one)."""
        if self.fresh_accounts:
            return self.new_accounts(count)
        free = [a for a in self.accounts["id"] if a not in self.reserved]
        chosen = [str(a) for a in self.rng.choice(free, size=count, replace=False)]
        self.reserved.update(chosen)
        return chosen

    def new_accounts(self, count: int) -> list[str]:
        """Accounts that did not exist, reserved at once (they never trade in the background)."""
        first = len(self.accounts) + 1
        numbers = range(first, first + count)
        rows = pd.DataFrame(
            {
                "id": [f"ACC{i:04d}" for i in numbers],
                "beneficial_owner": [f"BO{i:04d}" for i in numbers],
                "name": [
                    f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}" for _ in numbers
                ],  # fmt: skip
                "address": [f"{9 + i} {self.rng.choice(STREETS)}, Springfield" for i in numbers],
                "insider_of": "",
                "linked_accounts": "",
            }
        )
        self.accounts = pd.concat([self.accounts, rows], ignore_index=True)
        self.reserved.update(rows["id"])
        return list(rows["id"])

    def account(self, account_id: str) -> pd.Series:
        return self.accounts.loc[self.accounts["id"] == account_id].iloc[0]

    def set_account(self, account_id: str, **values: object) -> None:
        index = self.accounts.index[self.accounts["id"] == account_id][0]
        for column, value in values.items():
            self.accounts.at[index, column] = value

    def trade(
        self,
        when: datetime,
        account: str,
        counterparty: str,
        instrument: str,
        side: str,
        quantity: float,
        price: float | None = None,
    ) -> None:
        price = self.price_at(instrument, when) if price is None else price
        self.trades.append(
            {
                "timestamp": when,
                "account": account,
                "beneficial_owner": self.account(account)["beneficial_owner"],
                "counterparty_account": counterparty,
                "counterparty_owner": self.account(counterparty)["beneficial_owner"],
                "instrument": instrument,
                "side": side,
                "quantity": float(quantity),
                "price": round(price, 2),
                "venue": str(self.rng.choice(VENUES)),
            }
        )

    def alert(self, **values: object) -> None:
        planted = PlantedAlert(**values)  # type: ignore[arg-type]
        (self.hard_alerts if self.fresh_accounts else self.alerts).append(planted)


# --- the market -------------------------------------------------------------------------


def _price_paths(
    rng: np.random.Generator, days: int, jumps: dict[tuple[int, int], float]
) -> np.ndarray:
    """Closes per (day, bar): a log random walk with overnight gaps and planted jumps."""
    daily_sigma = rng.uniform(0.012, 0.02)
    returns = rng.normal(0.0, daily_sigma / np.sqrt(BARS_PER_DAY), size=(days, BARS_PER_DAY))
    returns[:, 0] += rng.normal(0.0, daily_sigma * 0.4, size=days)  # overnight gap
    for (day, bar), jump in jumps.items():
        returns[day, bar] += jump
    start = rng.uniform(20.0, 150.0)
    return start * np.exp(np.cumsum(returns.ravel())).reshape(days, BARS_PER_DAY)


def _bars_frame(
    rng: np.random.Generator, days: pd.DatetimeIndex, instrument: str, closes: np.ndarray
) -> pd.DataFrame:
    flat_close = closes.ravel()
    flat_open = np.concatenate([[flat_close[0]], flat_close[:-1]])
    wiggle = np.abs(rng.normal(0.0, 0.0008, size=(2, flat_close.size)))
    high = np.maximum(flat_open, flat_close) * (1 + wiggle[0])
    low = np.minimum(flat_open, flat_close) * (1 - wiggle[1])
    smile = 1.0 + 1.5 * np.linspace(-1, 1, BARS_PER_DAY) ** 2  # busy open and close
    base = rng.uniform(12_000, 25_000)
    volume = np.round(base * smile * rng.lognormal(0.0, 0.35, size=closes.shape), -1).ravel()
    minutes = np.arange(BARS_PER_DAY) * BAR_MINUTES
    stamps = (
        days.tz_convert(None).to_numpy()[:, None]
        + np.timedelta64(int(SESSION_OPEN.total_seconds()), "s")
        + minutes[None, :].astype("timedelta64[m]")
    ).ravel()
    return pd.DataFrame(
        {
            "instrument": instrument,
            "timestamp": pd.to_datetime(stamps, utc=True),
            "open": flat_open.round(4),
            "high": high.round(4),
            "low": low.round(4),
            "close": flat_close.round(4),
            "volume": volume,
        }
    )


def _accounts(rng: np.random.Generator) -> pd.DataFrame:
    ids = [f"ACC{i:04d}" for i in range(1, N_ACCOUNTS + 1)]
    first = rng.choice(FIRST_NAMES, size=N_ACCOUNTS)
    last = rng.choice(SURNAMES, size=N_ACCOUNTS)
    streets = rng.choice(STREETS, size=N_ACCOUNTS)
    return pd.DataFrame(
        {
            "id": ids,
            "beneficial_owner": [f"BO{i:04d}" for i in range(1, N_ACCOUNTS + 1)],
            "name": [f"{f} {s}" for f, s in zip(first, last, strict=True)],
            # The house number is unique, so only a planted pair shares an address.
            "address": [f"{10 + i} {s}, Springfield" for i, s in enumerate(streets)],
            "insider_of": "",
            "linked_accounts": "",
        }
    )


def _background_trades(
    market: DemoMarket,
    accounts: list[str],
    instruments: list[str] | None = None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Ordinary trading: random accounts against random counterparties at the bar price."""
    rng = rng or market.rng
    frames = []
    owners = market.accounts.set_index("id")["beneficial_owner"]
    for instrument in market.instruments if instruments is None else instruments:
        count = rng.poisson(BACKGROUND_TRADES_PER_DAY * len(market.days))
        day = rng.integers(0, len(market.days), size=count)
        second = rng.integers(0, BARS_PER_DAY * BAR_MINUTES * 60, size=count)
        bar = second // (BAR_MINUTES * 60)
        buyer = rng.choice(accounts, size=count)
        seller = rng.choice(accounts, size=count)
        keep = buyer != seller
        price = market.closes[instrument][day, bar] * (1 + rng.normal(0, 0.0005, size=count))
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": market.days.tz_convert(None).to_numpy()[day]
                    + np.timedelta64(int(SESSION_OPEN.total_seconds()), "s")
                    + second.astype("timedelta64[s]"),
                    "account": buyer,
                    "counterparty_account": seller,
                    "instrument": instrument,
                    "side": rng.choice(["buy", "sell"], size=count),
                    "quantity": np.maximum(10, np.round(rng.lognormal(5.7, 0.8, count), -1)),
                    "price": price.round(2),
                    "venue": rng.choice(VENUES, size=count),
                }
            )[keep]
        )
    if not frames:
        return pd.DataFrame()
    trades = pd.concat(frames, ignore_index=True)
    trades["timestamp"] = pd.to_datetime(trades["timestamp"], utc=True)
    trades["beneficial_owner"] = owners.loc[trades["account"]].to_numpy()
    trades["counterparty_owner"] = owners.loc[trades["counterparty_account"]].to_numpy()
    return trades


# --- planted cases ----------------------------------------------------------------------


def _minutes(start: datetime, *offsets: float) -> list[datetime]:
    return [start + timedelta(minutes=float(m)) for m in offsets]


def _whole_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _wash_window(market: DemoMarket) -> tuple[str, datetime]:
    """A random instrument and a start time mid-session in the last weeks of data."""
    instrument = str(market.rng.choice(market.instruments))
    day = int(market.rng.integers(TRADING_DAYS - 20, TRADING_DAYS))
    return instrument, market.bar_time(day, int(market.rng.integers(8, 50)))


def _round_trips(
    market: DemoMarket,
    account: str,
    counterparty: str,
    instrument: str,
    start: datetime,
    trips: int,
) -> datetime:
    """`account` buys from and sells back to `counterparty`, near-equal price and size."""
    rng = market.rng
    when = start
    quantity = float(rng.integers(50, 90) * 100)
    for _ in range(trips):
        price = market.price_at(instrument, when)
        market.trade(when, account, counterparty, instrument, "buy", quantity, price)
        back = when + timedelta(minutes=float(rng.uniform(1.5, 4.0)))
        drift = 1 + rng.uniform(-0.001, 0.001)
        size = quantity * (1 + rng.uniform(-0.02, 0.02))
        market.trade(
            back, account, counterparty, instrument, "sell", round(size, -1), price * drift
        )
        when = back + timedelta(minutes=float(rng.uniform(4.0, 9.0)))
    return when


def _wash_alert(
    market: DemoMarket,
    account: str,
    instrument: str,
    start: datetime,
    end: datetime,
    **rest: object,
) -> None:
    market.alert(
        type=rest.pop("type", "wash_trade"),
        account=account,
        instrument=instrument,
        window_start=_whole_minute(start) - timedelta(minutes=15),
        window_end=_whole_minute(end) + timedelta(minutes=16),
        **rest,
    )


def _planted_round_trips(
    market: DemoMarket, account: str, counterparty: str, trips: int, **alert: object
) -> None:
    """Round trips between two accounts somewhere in the recent data, and their alert."""
    instrument, start = _wash_window(market)
    end = _round_trips(market, account, counterparty, instrument, start, trips=trips)
    _wash_alert(market, account, instrument, start, end, **alert)


def plant_self_match(market: DemoMarket, alert_type: str = "wash_trade") -> None:
    first, second = market.take_accounts(2)
    market.set_account(second, beneficial_owner=market.account(first)["beneficial_owner"])
    instrument, start = _wash_window(market)
    end = _round_trips(market, first, second, instrument, start, trips=3)
    _wash_alert(
        market,
        first,
        instrument,
        start,
        end,
        type=alert_type,
        description=f"Matched trades between {first} and {second} within minutes"
        if alert_type == "wash_trade"
        else f"Unusual back-and-forth activity in {instrument}",
        expected=Disposition.escalate,
        why=f"{first} and {second} share beneficial owner; three round trips, flat position",
    )


def plant_linked_round_trips(market: DemoMarket, reverse_link: bool) -> None:
    first, second = market.take_accounts(2)
    if reverse_link:
        market.set_account(second, linked_accounts=first)
    else:
        market.set_account(first, linked_accounts=second)
    trips = 4 if reverse_link else 3
    _planted_round_trips(
        market,
        first,
        second,
        trips,
        description=f"Repeated round trips between {first} and {second}",
        expected=Disposition.escalate,
        why=f"{first} and {second} are linked accounts; {trips} pre-arranged round trips",
    )


def plant_market_maker(market: DemoMarket) -> None:
    (maker,) = market.take_accounts(1)
    market.set_account(maker, name="Keystone Liquidity LLC", beneficial_owner="KEYSTONE")
    instrument, start = _wash_window(market)
    counterparties = market.take_accounts(8)
    when = start
    for buy_from, sell_to in zip(counterparties[::2], counterparties[1::2], strict=True):
        price = market.price_at(instrument, when)
        quantity = float(market.rng.integers(10, 30) * 100)
        market.trade(when, maker, buy_from, instrument, "buy", quantity, price)
        back = when + timedelta(minutes=float(market.rng.uniform(1.0, 3.0)))
        market.trade(back, maker, sell_to, instrument, "sell", quantity, price * 1.0005)
        when = back + timedelta(minutes=float(market.rng.uniform(3.0, 8.0)))
    _wash_alert(
        market,
        maker,
        instrument,
        start,
        when,
        description=f"{maker} bought and sold the same size at the same price within minutes",
        expected=Disposition.close_false_positive,
        why="market maker's round trips are against unrelated owners",
    )


def plant_linked_same_direction(market: DemoMarket) -> None:
    first, second = market.take_accounts(2)
    market.set_account(first, linked_accounts=second)
    instrument, start = _wash_window(market)
    sellers = market.take_accounts(4)
    for index, seller in enumerate(sellers):
        buyer = first if index % 2 == 0 else second
        when = start + timedelta(minutes=3 * index)
        market.trade(when, buyer, seller, instrument, "buy", 2000)
    _wash_alert(
        market,
        first,
        instrument,
        start,
        start + timedelta(minutes=12),
        description=f"Linked accounts {first} and {second} traded {instrument} minutes apart",
        expected=Disposition.close_false_positive,
        why="linked accounts bought from unrelated sellers; no trades between them",
    )


def plant_common_control(market: DemoMarket) -> None:
    first, second = market.take_accounts(2)
    surname = str(market.account(first)["name"]).split()[-1]
    market.set_account(
        second,
        name=f"{market.rng.choice(FIRST_NAMES)} {surname}",
        address=market.account(first)["address"],
    )
    _planted_round_trips(
        market,
        first,
        second,
        trips=3,
        description=f"Round trips between {first} and {second}",
        expected=Disposition.needs_review,
        why=f"{first} and {second} are not linked but share surname and address; "
        "the analyst must confirm common control (no answer -> needs review)",
    )


@dataclass
class Announced:
    instrument: str
    day: int
    when: datetime


def _light_history(market: DemoMarket, account: str, instrument: str, before_day: int) -> None:
    """A handful of small trades, so the account has a baseline of its own."""
    partners = market.take_accounts(1)
    for day in market.rng.choice(np.arange(2, before_day - 12), size=5, replace=False):
        when = market.bar_time(int(day), int(market.rng.integers(0, BARS_PER_DAY)))
        side = str(market.rng.choice(["buy", "sell"]))
        market.trade(when, account, partners[0], instrument, side, 100 * market.rng.integers(1, 4))


def _build_position(
    market: DemoMarket, account: str, news: Announced, side: str, tranches: int
) -> None:
    """Tranches on the business days before the announcement, last one the day before."""
    sellers = market.take_accounts(tranches)
    for index, seller in enumerate(sellers):
        day = news.day - (tranches - index)
        when = market.bar_time(day, int(market.rng.integers(5, 70)))
        quantity = float(market.rng.integers(40, 80) * 100)
        market.trade(when, account, seller, news.instrument, side, quantity)


def _insider_alert(
    market: DemoMarket, account: str, news: Announced, *, days_before: int = 10, **rest: object
) -> None:
    """An insider-trading alert on `account` whose window runs from `days_before` calendar
    days before the news to a day after it."""
    market.alert(
        type="insider_trading",
        account=account,
        instrument=news.instrument,
        window_start=news.when - timedelta(days=days_before),
        window_end=news.when + timedelta(days=1),
        **rest,
    )


def _insider_pair(market: DemoMarket, instrument: str) -> tuple[str, str]:
    """A suspect account linked to an insider of `instrument`."""
    suspect, insider = market.take_accounts(2)
    market.set_account(insider, insider_of=instrument)
    market.set_account(suspect, linked_accounts=insider)
    return suspect, insider


def plant_insider(
    market: DemoMarket, instrument: str, news: Announced, good_news: bool, reverse_link: bool
) -> None:
    suspect, insider = market.take_accounts(2)
    market.set_account(insider, insider_of=instrument)
    if reverse_link:
        market.set_account(insider, linked_accounts=suspect)
    else:
        market.set_account(suspect, linked_accounts=insider)
    _light_history(market, suspect, instrument, news.day)
    side = "buy" if good_news else "sell"
    _build_position(market, suspect, news, side, tranches=int(market.rng.integers(3, 5)))
    _insider_alert(
        market,
        suspect,
        news,
        description=f"Position built in {instrument} before a price-moving announcement",
        expected=Disposition.escalate,
        why=f"{suspect} is linked to {instrument} insider {insider}; unusual "
        f"{'buying' if good_news else 'selling'} before material news and an abnormal move",
    )


def plant_habitual_buyer(market: DemoMarket, news: Announced) -> None:
    (fund,) = market.take_accounts(1)
    market.set_account(fund, name="Meridian Pension Fund", beneficial_owner="MERIDIAN")
    sellers = market.take_accounts(1)
    # The fund buys a large block every fifth trading day; one lands the day before the news.
    for day in range(news.day - 1, 0, -5):
        when = market.bar_time(day, int(market.rng.integers(10, 60)))
        quantity = float(market.rng.integers(180, 220) * 100)
        market.trade(when, fund, sellers[0], news.instrument, "buy", quantity)
    _insider_alert(
        market,
        fund,
        news,
        description=f"Large purchase of {news.instrument} the day before material news",
        expected=Disposition.close_false_positive,
        why="unlinked fund; the pre-announcement block matches its weekly buying habit",
    )


def plant_non_material(market: DemoMarket, instrument: str, news: Announced) -> None:
    suspect, _ = _insider_pair(market, instrument)
    _light_history(market, suspect, instrument, news.day)
    _build_position(market, suspect, news, "buy", tranches=3)
    _insider_alert(
        market,
        suspect,
        news,
        description=f"Insider-linked account bought {instrument} before an announcement",
        expected=Disposition.close_false_positive,
        why="the announcement was not material and the price did not move abnormally",
    )


# --- hard cases: what the first analytics got wrong ------------------------------------


def _announce(
    market: DemoMarket, instrument: str, day: int, bar: int, headline: str, material: bool = True
) -> Announced:
    when = market.bar_time(day, bar)
    market.announcements.append(
        {"instrument": instrument, "timestamp": when, "headline": headline, "material": material}
    )
    return Announced(instrument, day, when)


def _holding(market: DemoMarket, account: str, news: Announced, quantity: float) -> None:
    """A block bought five to seven weeks before the news: a holding, not a flow."""
    (seller,) = market.take_accounts(1)
    day = news.day - int(market.rng.integers(25, 35))
    market.trade(market.bar_time(day, int(market.rng.integers(5, 70))), account, seller,
                 news.instrument, "buy", quantity)  # fmt: skip


def plant_missing_prices(market: DemoMarket, news: Announced, no_bars: bool) -> None:
    """The reported unsafe close: a position before news, but no prices around it."""
    suspect, insider = _insider_pair(market, news.instrument)
    _light_history(market, suspect, news.instrument, news.day)
    _build_position(market, suspect, news, "buy", tranches=3)
    if not no_bars:  # the session before the news and the news day are missing
        market.missing_bars.append(
            (news.instrument, market.bar_time(news.day - 1, 0),
             market.bar_time(news.day, BARS_PER_DAY - 1))
        )  # fmt: skip
    gap = "no price bars at all" if no_bars else "no price bars around the announcement"
    _insider_alert(
        market,
        suspect,
        news,
        description=f"Insider-linked account bought {news.instrument} before an announcement",
        expected=Disposition.needs_review,
        why=f"{suspect} is linked to insider {insider} and built a position, but there are "
        f"{gap}: the move and the profit are unknown, so the alert cannot close",
        evidence="abnormal_return=unknown;insider_link=crossed",
    )


def plant_holding_sold(market: DemoMarket, news: Announced) -> None:
    """An insider sells a holding built weeks earlier, a day before bad news."""
    (insider,) = market.take_accounts(1)
    market.set_account(insider, insider_of=news.instrument)
    quantity = float(market.rng.integers(100, 200) * 100)
    _holding(market, insider, news, quantity)
    (buyer,) = market.take_accounts(1)
    bar = int(market.rng.integers(0, 6))
    market.trade(market.bar_time(news.day - 1, bar), insider, buyer, news.instrument, "sell",
                 quantity)  # fmt: skip
    _insider_alert(
        market,
        insider,
        news,
        description=f"Insider sold {news.instrument} the day before a profit warning",
        expected=Disposition.escalate,
        why=f"{insider} is an insider of {news.instrument}; sold the whole holding it had "
        "built weeks before, a day before material bad news: a loss avoided",
        evidence="holding_sold=crossed;loss_avoided=crossed;insider_link=crossed",
    )


def plant_sale_before_good_news(market: DemoMarket, news: Announced) -> None:
    """An insider who sold before good news traded against the news: exculpatory."""
    suspect, insider = _insider_pair(market, news.instrument)
    quantity = float(market.rng.integers(60, 120) * 100)
    _holding(market, suspect, news, quantity)
    (buyer,) = market.take_accounts(1)
    market.trade(market.bar_time(news.day - 2, int(market.rng.integers(5, 70))), suspect, buyer,
                 news.instrument, "sell", round(quantity / 2, -2))  # fmt: skip
    _insider_alert(
        market,
        suspect,
        news,
        description=f"Insider-linked account traded {news.instrument} before an announcement",
        expected=Disposition.close_false_positive,
        why=f"{suspect} (linked to insider {insider}) sold before good news: it traded "
        "against the news, which is exculpatory",
        evidence="traded_with_news=not_crossed;insider_link=crossed",
    )


def plant_weekend_gap(market: DemoMarket, news: Announced) -> None:
    """Purchases spread over two calendar weeks, the last on the Friday before Tuesday
    news: inside ten trading days and 72 trading hours, outside ten calendar days and
    72 calendar hours."""
    suspect, insider = _insider_pair(market, news.instrument)
    _light_history(market, suspect, news.instrument, news.day)
    for back in (9, 7, 5, 2):  # business days before a Tuesday: the last is a Friday
        (seller,) = market.take_accounts(1)
        when = market.bar_time(news.day - back, int(market.rng.integers(30, 70)))
        quantity = float(market.rng.integers(40, 80) * 100)
        market.trade(when, suspect, seller, news.instrument, "buy", quantity)
    _insider_alert(
        market,
        suspect,
        news,
        days_before=16,
        description=f"Purchases of {news.instrument} before news after a weekend",
        expected=Disposition.escalate,
        why=f"{suspect} is linked to insider {insider}; bought over nine trading days, the "
        "last on the Friday before Tuesday's news (counted in trading time)",
        evidence="trade_timing=crossed;position_build_up=crossed",
    )


def plant_market_move(market: DemoMarket, news: Announced) -> None:
    """Selling before news on a day the whole market fell: not abnormal for the stock."""
    suspect, insider = _insider_pair(market, news.instrument)
    _light_history(market, suspect, news.instrument, news.day)
    _build_position(market, suspect, news, "sell", tranches=3)
    _insider_alert(
        market,
        suspect,
        news,
        description=f"Insider-linked account sold {news.instrument} before a price fall",
        expected=Disposition.close_false_positive,
        why=f"{news.instrument} fell with the market ({INDEX}) that day: against its "
        "benchmark the move is not abnormal",
        evidence="abnormal_return=not_crossed",
    )


def plant_unknown_account(market: DemoMarket, news: Announced) -> None:
    """An alert for an account the store has no record of (submitted through the API)."""
    _insider_alert(
        market,
        "ACC9001",
        news,
        description=f"Unusual trading in {news.instrument} by an account outside our records",
        expected=Disposition.needs_review,
        why="the account is not in the store: its links are unknown, so it cannot close",
        evidence="insider_link=unknown",
        submitted=True,
    )


def _index_linked_path(rng: np.random.Generator, index: np.ndarray, beta: float) -> np.ndarray:
    """Closes that follow the index with `beta`, plus a little noise of their own."""
    flat = np.log(index.ravel())
    returns = beta * np.diff(flat, prepend=flat[0])
    returns += rng.normal(0.0, 0.005 / np.sqrt(BARS_PER_DAY), size=returns.size)
    return (rng.uniform(20.0, 150.0) * np.exp(np.cumsum(returns))).reshape(index.shape)


def plant_hard_cases(market: DemoMarket, seed: int) -> None:
    """One case of each kind the first analytics got wrong, on instruments of their own."""
    main_rng = market.rng
    market.rng = rng = market.hard_rng = np.random.default_rng([seed, 15])
    market.fresh_accounts = True
    try:
        names = [str(t) for t in rng.permutation(HARD_TICKERS)]
        missing, sold, good, weekend, crash = names
        tuesdays = [d for d in range(TRADING_DAYS - 12, TRADING_DAYS - 1)
                    if market.days[d].day_of_week == 1]  # fmt: skip

        def day() -> int:
            return int(rng.integers(TRADING_DAYS - 10, TRADING_DAYS - 1))

        plan = {  # instrument -> (day, bar, jump)
            missing: (day(), int(rng.integers(6, 40)), float(rng.uniform(0.09, 0.14))),
            sold: (day(), int(rng.integers(6, 40)), -float(rng.uniform(0.15, 0.4))),
            good: (day(), int(rng.integers(6, 40)), float(rng.uniform(0.09, 0.14))),
            weekend: (
                int(rng.choice(tuesdays)),
                int(rng.integers(1, 8)),
                float(rng.uniform(0.09, 0.14)),
            ),  # fmt: skip
            crash: (day(), int(rng.integers(6, 40)), 0.0),
            NO_BARS_TICKER: (day(), int(rng.integers(6, 40)), float(rng.uniform(0.09, 0.14))),
        }
        for instrument, (d, bar, jump) in plan.items():
            if instrument != crash:
                market.closes[instrument] = _price_paths(rng, TRADING_DAYS, {(d, bar): jump})
        crash_day, crash_bar, _ = plan[crash]
        market.closes[INDEX] = _price_paths(
            rng, TRADING_DAYS, {(crash_day, crash_bar): -float(rng.uniform(0.08, 0.12))}
        )
        market.closes[crash] = _index_linked_path(rng, market.closes[INDEX], rng.uniform(0.9, 1.3))
        market.hard_instruments = [*names, INDEX]
        market.no_bars = [NO_BARS_TICKER]
        market.benchmarks = {crash: INDEX}

        def news(instrument: str, headline: str) -> Announced:
            d, bar, _ = plan[instrument]
            return _announce(market, instrument, d, bar, headline)

        plant_missing_prices(market, news(missing, f"{missing} raises guidance"), no_bars=False)
        plant_missing_prices(
            market, news(NO_BARS_TICKER, f"{NO_BARS_TICKER} wins a contract"), no_bars=True
        )
        sold_news = news(sold, f"{sold} issues a profit warning")
        plant_holding_sold(market, sold_news)
        plant_sale_before_good_news(market, news(good, f"{good} agrees to a takeover"))
        plant_weekend_gap(market, news(weekend, f"{weekend} reports record orders"))
        plant_market_move(market, news(crash, f"{crash} confirms its annual results"))
        plant_unknown_account(market, sold_news)
    finally:
        market.rng, market.fresh_accounts = main_rng, False


# --- assembly ---------------------------------------------------------------------------


def _plan_news(rng: np.random.Generator, instruments: list[str]) -> dict[str, tuple[int, float]]:
    """instrument -> (announcement day, jump) for the five insider-type cases."""
    plan = {}
    for index, instrument in enumerate(instruments[:5]):
        day = int(rng.integers(TRADING_DAYS - 10, TRADING_DAYS - 1))
        magnitude = float(rng.uniform(0.09, 0.14))
        jump = {0: magnitude, 1: -magnitude, 2: magnitude, 3: magnitude, 4: 0.0}[index]
        plan[instrument] = (day, jump)
    return plan


def build_market(seed: int) -> DemoMarket:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(FIRST_DAY, periods=TRADING_DAYS, tz=UTC)
    instruments = sorted(str(t) for t in rng.choice(TICKERS, size=6, replace=False))
    order = [str(t) for t in rng.permutation(instruments)]
    news_plan = _plan_news(rng, order)
    news_bars = {i: (day, int(rng.integers(6, 40))) for i, (day, _) in news_plan.items()}
    closes = {
        instrument: _price_paths(
            rng,
            TRADING_DAYS,
            {news_bars[instrument]: news_plan[instrument][1]} if instrument in news_plan else {},
        )
        for instrument in instruments
    }
    market = DemoMarket(rng, days, instruments, closes, _accounts(rng))

    def news(instrument: str, headline: str, material: bool) -> Announced:
        day, bar = news_bars[instrument]
        when = market.bar_time(day, bar)
        market.announcements.append(
            {
                "instrument": instrument,
                "timestamp": when,
                "headline": headline,
                "material": material,
            }
        )
        return Announced(instrument, day, when)

    first, second, third, fourth, fifth, _ = order
    plant_insider(market, first, news(first, f"{first} agrees to be acquired at a premium", True),
                  good_news=True, reverse_link=False)  # fmt: skip
    plant_insider(market, second, news(second, f"{second} withdraws full-year guidance", True),
                  good_news=False, reverse_link=True)  # fmt: skip
    plant_insider(market, third, news(third, f"{third} wins regulatory approval", True),
                  good_news=True, reverse_link=False)  # fmt: skip
    plant_habitual_buyer(market, news(fourth, f"{fourth} beats earnings estimates", True))
    plant_non_material(
        market, fifth, news(fifth, f"{fifth} to present at industry conference", False)
    )
    for reverse in (False, True):
        plant_linked_round_trips(market, reverse_link=reverse)
    plant_self_match(market)
    plant_self_match(market, alert_type="unknown")
    plant_market_maker(market)
    plant_linked_same_direction(market)
    plant_common_control(market)
    plant_hard_cases(market, seed)
    return market


def _all_trades(market: DemoMarket) -> pd.DataFrame:
    background_accounts = [a for a in market.accounts["id"] if a not in market.reserved]
    hard = [i for i in market.hard_instruments + market.no_bars if i != INDEX]  # no trading
    trades = pd.concat(
        [
            _background_trades(market, background_accounts),
            _background_trades(market, background_accounts, hard, market.hard_rng),
            pd.DataFrame(market.trades),
        ],
        ignore_index=True,
    )
    trades["timestamp"] = pd.to_datetime(trades["timestamp"], utc=True).dt.floor("s")
    trades = trades.sort_values(["timestamp", "account"], kind="stable", ignore_index=True)
    trades["trade_id"] = [f"T{i:06d}" for i in range(1, len(trades) + 1)]
    trades["order_id"] = [f"O{i:06d}" for i in range(1, len(trades) + 1)]
    return trades[TRADE_COLUMNS]


def _with_traded_volume(bars: pd.DataFrame, trades: pd.DataFrame) -> pd.DataFrame:
    """Bar volume includes the planted and background trades, as an exchange's would."""
    traded = (
        trades.assign(timestamp=trades["timestamp"].dt.floor(f"{BAR_MINUTES}min"))
        .groupby(["instrument", "timestamp"])["quantity"]
        .sum()
    )
    keyed = bars.set_index(["instrument", "timestamp"])
    keyed["volume"] = keyed["volume"].add(traded, fill_value=0).loc[keyed.index]
    return keyed.reset_index()


def _iso(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.strftime(TIMESTAMP_FORMAT)
    return frame


def _hard_bars(market: DemoMarket) -> pd.DataFrame:
    """Bars of the hard cases' instruments and the index, minus the planted gaps."""
    rng = market.hard_rng
    assert rng is not None
    bars = pd.concat(
        [_bars_frame(rng, market.days, i, market.closes[i]) for i in market.hard_instruments],
        ignore_index=True,
    )
    for instrument, start, end in market.missing_bars:
        gap = (bars["instrument"] == instrument) & bars["timestamp"].between(start, end)
        bars = bars[~gap]
    return bars


def _alert_rows(alerts: list[PlantedAlert], ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ids,
            "tenant": ALERT_TENANT,
            "type": [a.type for a in alerts],
            "account": [a.account for a in alerts],
            "instrument": [a.instrument for a in alerts],
            "window_start": [to_db_time(a.window_start) for a in alerts],
            "window_end": [to_db_time(a.window_end) for a in alerts],
            "description": [a.description for a in alerts],
        }
    )


def generate_demo(seed: int, out_dir: Path) -> None:
    """Write the demo CSV files, labels.csv and submitted_alerts.json for `seed` into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    market = build_market(seed)
    trades = _all_trades(market)
    bars = pd.concat(
        [_bars_frame(market.rng, market.days, i, market.closes[i]) for i in market.instruments],
        ignore_index=True,
    )
    bars = _with_traded_volume(pd.concat([bars, _hard_bars(market)], ignore_index=True), trades)

    market.accounts.to_csv(out_dir / "accounts.csv", index=False)
    _iso(trades, "timestamp").to_csv(out_dir / "trades.csv", index=False)
    _iso(bars, "timestamp").to_csv(out_dir / "bars.csv", index=False, float_format="%.4f")
    announcements = pd.DataFrame(market.announcements).sort_values("timestamp")
    announcements["material"] = announcements["material"].map({True: "true", False: "false"})
    _iso(announcements, "timestamp").to_csv(out_dir / "announcements.csv", index=False)
    pd.DataFrame(
        {"instrument": list(market.benchmarks), "benchmark": list(market.benchmarks.values())}
    ).to_csv(out_dir / "instruments.csv", index=False)

    # The original cases keep their ids per seed (tests and docs name them); the hard
    # cases follow them.
    order = market.rng.permutation(len(market.alerts))
    alerts = [market.alerts[i] for i in order] + market.hard_alerts
    ids = [f"ALR-{seed:03d}-{n:02d}" for n in range(1, len(alerts) + 1)]
    rows = _alert_rows(alerts, ids)
    submitted = [a.submitted for a in alerts]
    rows[[not s for s in submitted]].to_csv(out_dir / "alerts.csv", index=False)
    # An alert the import would refuse (its account is in no accounts.csv row) reaches
    # an investigation only through the API: written as the bodies a client would POST.
    (out_dir / SUBMITTED_ALERTS).write_text(
        rows[submitted].to_json(orient="records", indent=2) + "\n"
    )
    with (out_dir / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["alert_id", "expected_disposition", "why", "expected_evidence"])
        for alert_id, alert in zip(ids, alerts, strict=True):
            writer.writerow([alert_id, str(alert.expected), alert.why, alert.evidence])


def read_labels(directory: Path) -> dict[str, Disposition]:
    """alert id -> expected disposition, from a demo directory's labels.csv."""
    with (Path(directory) / "labels.csv").open(newline="") as handle:
        return {
            row["alert_id"]: Disposition(row["expected_disposition"])
            for row in csv.DictReader(handle)
        }


def read_expected_evidence(directory: Path) -> dict[str, dict[str, str]]:
    """alert id -> {evidence name: expected state}, from labels.csv's expected_evidence."""
    with (Path(directory) / "labels.csv").open(newline="") as handle:
        return {
            row["alert_id"]: dict(
                part.split("=", 1)
                for part in (row.get("expected_evidence") or "").split(";")
                if part
            )
            for row in csv.DictReader(handle)
        }


def read_submitted_alerts(directory: Path) -> list[Alert]:
    """The alerts a client would submit through the API (not importable), if any."""
    path = Path(directory) / SUBMITTED_ALERTS
    if not path.is_file():
        return []
    return [Alert.model_validate(row) for row in json.loads(path.read_text())]
