"""How the labeled cases in this folder were written (kept so they can be re-derived).

They are a user's data, not the demo's: 30-minute bars stamped in New York time with
their UTC offset, a 24/7 token with 6-hourly bars every day, account ids and names in
another scheme, counterparties that are a market maker, a relative's account, news
before the open. Each case is one alert; labels.csv says what it should come to and
which evidence decides it. `python tests/data/labeled_cases/write_cases.py` rewrites
the CSV files (deterministic).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
NY = timezone(
    timedelta(hours=-4)
)  # EDT (early March is stamped -04:00 too; offsets are what count)
DAYS = pd.bdate_range("2024-03-04", "2024-06-14")  # 75 sessions
rng = np.random.default_rng(2024)


def at(day: pd.Timestamp, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day.date(), time(hh, mm), tzinfo=NY)


def stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def day_index(date: str) -> int:
    return int(DAYS.get_loc(pd.Timestamp(date)))


class Market:
    def __init__(self) -> None:
        self.bars: list[list[object]] = []
        self.trades: list[list[object]] = []
        self.news: list[list[object]] = []
        self.alerts: list[list[object]] = []
        self.labels: list[list[str]] = []
        self.submitted: list[dict[str, str]] = []
        self.owners: dict[str, str] = {}
        self.accounts: list[list[str]] = []
        self.prices: dict[str, dict[datetime, float]] = {}
        self.benchmarks: list[list[str]] = []  # instruments.csv rows

    def account(self, id_: str, owner: str, name: str, address: str = "",
                insider_of: str = "", linked: str = "") -> str:  # fmt: skip
        self.owners[id_] = owner
        self.accounts.append([id_, owner, name, address, insider_of, linked])
        return id_

    def equity(self, ticker: str, start: float, sigma: float,
               jumps: dict[datetime, float], skip: tuple[str, str] | None = None,
               follow: tuple[str, float] | None = None) -> None:  # fmt: skip
        """30-minute bars 09:30-16:00 New York; `jumps` at bar times; `skip` leaves a
        date range out; `follow` = (index, beta) makes it move with an index."""
        stamps = [at(d, 9, 30) + timedelta(minutes=30 * i) for d in DAYS for i in range(13)]
        returns = rng.normal(0, sigma / np.sqrt(13), len(stamps))
        if follow:
            index = [self.prices[follow[0]][s] for s in stamps]
            returns = follow[1] * np.diff(np.log(index), prepend=np.log(index[0])) + returns / 4
        for when, jump in jumps.items():
            returns[stamps.index(when)] += jump
        closes = start * np.exp(np.cumsum(returns))
        self.prices[ticker] = dict(zip(stamps, closes, strict=True))
        opens = np.concatenate([[closes[0]], closes[:-1]])
        for when, o, c in zip(stamps, opens, closes, strict=True):
            if skip and skip[0] <= when.date().isoformat() <= skip[1]:
                continue
            self.bars.append([ticker, stamp(when), f"{o:.3f}", f"{max(o, c) * 1.001:.3f}",
                              f"{min(o, c) * 0.999:.3f}", f"{c:.3f}",
                              int(rng.integers(20, 90)) * 1000])  # fmt: skip

    def token(self, ticker: str, start: float, jump_at: datetime, jump: float) -> None:
        """A 24/7 token: 6-hourly bars every calendar day, UTC."""
        first = datetime(2024, 3, 4, tzinfo=UTC)
        stamps = [first + timedelta(hours=6 * i) for i in range(4 * 103)]
        returns = rng.normal(0, 0.03 / 2, len(stamps))
        returns[stamps.index(jump_at)] += jump
        closes = start * np.exp(np.cumsum(returns))
        self.prices[ticker] = dict(zip(stamps, closes, strict=True))
        for when, c in zip(stamps, closes, strict=True):
            self.bars.append([ticker, stamp(when), f"{c:.4f}", f"{c * 1.002:.4f}",
                              f"{c * 0.998:.4f}", f"{c:.4f}", 500])  # fmt: skip

    def price(self, ticker: str, when: datetime) -> float:
        series = self.prices[ticker]
        before = [t for t in series if t <= when]
        return float(series[max(before)] if before else series[min(series)])

    def trade(self, when: datetime, account: str, other: str, ticker: str, side: str,
              qty: int) -> None:  # fmt: skip
        n = len(self.trades) + 1
        self.trades.append([f"X-{n:05d}", f"ORD-{n:05d}", stamp(when), account,
                            self.owners[account], other, self.owners[other], ticker, side, qty,
                            f"{self.price(ticker, when):.2f}", "XNYS"])  # fmt: skip

    def announce(self, ticker: str, when: datetime, headline: str, material: bool = True) -> None:
        self.news.append([ticker, stamp(when), headline, "true" if material else "false"])

    def alert(self, id_: str, account: str, ticker: str, news: datetime, expected: str,
              why: str, evidence: str, api: bool = False, days_before: int = 12) -> None:  # fmt: skip
        row = [id_, "demo", "insider_trading", account, ticker,
               stamp(news - timedelta(days=days_before)), stamp(news + timedelta(days=2)),
               f"Trading in {ticker} ahead of news"]  # fmt: skip
        if api:
            keys = ["id", "tenant", "type", "account", "instrument", "window_start",
                    "window_end", "description"]  # fmt: skip
            self.submitted.append(dict(zip(keys, map(str, row), strict=True)))
        else:
            self.alerts.append(row)
        self.labels.append([id_, expected, why, evidence])


def build() -> Market:
    m = Market()
    mm = m.account("MM-0100", "HARBOR", "Harbor Liquidity LLC", "1 Wall Plaza, New York")
    # The market index and instruments.
    crash = at(DAYS[day_index("2024-06-05")], 11, 0)
    m.equity("IDXW", 4800, 0.009, {crash: -0.07})
    m.equity("MKM", 61, 0.004, {}, follow=("IDXW", 1.1))
    news_nwx = at(DAYS[day_index("2024-06-04")], 12, 0)
    m.equity("NWX", 33, 0.015, {news_nwx: 0.12}, skip=("2024-06-03", "2024-06-04"))
    news_vlt = at(DAYS[day_index("2024-06-06")], 10, 30)
    m.equity("VLT", 88, 0.014, {news_vlt: -0.45})
    news_brk = at(DAYS[day_index("2024-06-07")], 13, 0)
    m.equity("BRK", 17, 0.018, {news_brk: 0.22})
    news_wkd = at(DAYS[day_index("2024-06-11")], 9, 0)  # Tuesday, before the open
    m.equity("WKD", 140, 0.012, {at(DAYS[day_index("2024-06-11")], 9, 30): 0.10})
    news_tkn = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)  # a Monday
    m.token("TKN", 2.4, news_tkn, 0.35)
    news_qrt = at(DAYS[day_index("2024-06-05")], 14, 0)
    m.prices["QRT"] = {at(d, 9, 30): 12.0 for d in DAYS}  # traded, never barred

    # 1. Missing prices around the news.
    ceo = m.account("CEO-0005", "P-CEO5", "Rhea Lindgren", "4 Birch Ct, Stamford", "NWX")
    ret = m.account("RET-0004", "P-RET4", "Tobias Marlow", "88 Elm St, Hartford", "", ceo)
    for date, qty in [("2024-05-24", 3000), ("2024-05-29", 4500), ("2024-05-31", 5200)]:
        m.trade(at(DAYS[day_index(date)], 14, 10), ret, mm, "NWX", "buy", qty)
    m.announce("NWX", news_nwx, "NWX raises full-year guidance")
    m.alert("UC-01", ret, "NWX", news_nwx, "needs_review",
            "linked to NWX's CEO, bought before guidance; no prices the day before or the day "
            "of the news", "abnormal_return=unknown;trading_profit=unknown;insider_link=crossed")  # fmt: skip

    # 2. No bars at all.
    ceo = m.account("CEO-0007", "P-CEO7", "Ilse Navarro", "12 Pine Rd, Albany", "QRT")
    ret = m.account("RET-0006", "P-RET6", "Owen Castellano", "3 Lake Dr, Utica", "", ceo)
    for date, qty in [("2024-05-28", 6000), ("2024-06-03", 8000)]:
        m.trade(at(DAYS[day_index(date)], 11, 45), ret, mm, "QRT", "buy", qty)
    m.announce("QRT", news_qrt, "QRT wins a federal contract")
    m.alert("UC-02", ret, "QRT", news_qrt, "needs_review",
            "linked to QRT's CEO, bought before the contract news; QRT has no price bars",
            "abnormal_return=unknown;insider_link=crossed")  # fmt: skip

    # 3. A relative sells a holding built weeks before, 25 h before a profit warning.
    cfo = m.account("CFO-0001", "P-WHIT", "Dana Whitlock", "77 Shore Rd, Rye", "VLT")
    sister = m.account("FAM-0002", "P-WHIT2", "Carla Whitlock", "9 Oak Ln, Rye", "", cfo)
    m.trade(at(DAYS[day_index("2024-04-22")], 10, 5), sister, mm, "VLT", "buy", 13_000)
    m.trade(news_vlt - timedelta(hours=25), sister, mm, "VLT", "sell", 13_000)
    m.announce("VLT", news_vlt, "VLT warns on profits, suspends dividend")
    m.alert("UC-03", sister, "VLT", news_vlt, "escalate",
            "the CFO's sister sold her whole holding a day before a 36 % fall",
            "holding_sold=crossed;loss_avoided=crossed;insider_link=crossed")  # fmt: skip

    # 4. A director sells before good news: against the news.
    director = m.account("DIR-0003", "P-DIR3", "Samir Okonjo", "50 High St, Boston", "BRK")
    m.trade(at(DAYS[day_index("2024-04-15")], 13, 0), director, mm, "BRK", "buy", 20_000)
    m.trade(at(DAYS[day_index("2024-06-05")], 15, 20), director, mm, "BRK", "sell", 10_000)
    m.announce("BRK", news_brk, "BRK to be acquired at a 25 % premium")
    m.alert("UC-04", director, "BRK", news_brk, "close_false_positive",
            "a director sold half his holding two days before takeover news: exculpatory",
            "traded_with_news=not_crossed;insider_link=crossed")  # fmt: skip

    # 5. A weekend between the last purchase and Tuesday's pre-open news.
    counsel = m.account("GC-0009", "P-GC9", "Noor Haddad", "5 Mill St, Newark", "WKD")
    friend = m.account("RET-0008", "P-RET8", "Lena Brauer", "61 Vine St, Trenton", "", counsel)
    for date, qty in [("2024-05-30", 2500), ("2024-06-04", 3000), ("2024-06-06", 3500),
                      ("2024-06-07", 4000)]:  # fmt: skip
        m.trade(at(DAYS[day_index(date)], 15, 40), friend, mm, "WKD", "buy", qty)
    m.announce("WKD", news_wkd, "WKD reports record orders")
    m.alert("UC-05", friend, "WKD", news_wkd, "escalate",
            "linked to WKD's general counsel; last purchase Friday 15:40, news Tuesday 09:00: "
            "89 calendar hours but 41 trading hours", "trade_timing=crossed;position_build_up=crossed",
            days_before=16)  # fmt: skip

    # 6. A market-wide fall: the stock fell with its index.
    ceo = m.account("CEO-0011", "P-CEO11", "Greta Solberg", "2 Hill Rd, Darien", "MKM")
    ret = m.account("RET-0010", "P-RET10", "Marco Vitale", "14 Bay St, Newport", "", ceo)
    for date, qty in [("2024-05-30", 4000), ("2024-06-03", 5000), ("2024-06-04", 6000)]:
        m.trade(at(DAYS[day_index(date)], 10, 15), ret, mm, "MKM", "sell", qty)
    m.announce("MKM", crash + timedelta(minutes=15), "MKM confirms annual meeting date and results")
    m.alert("UC-06", ret, "MKM", crash + timedelta(minutes=15), "close_false_positive",
            "MKM fell 7-8 % with the IDXW index that day; against its benchmark the move is "
            "ordinary", "abnormal_return=not_crossed")  # fmt: skip

    # 7. A 24/7 token counts every day: a Friday purchase before Monday news is 74 h.
    founder = m.account("FND-0012", "P-FND12", "Iker Basaldua", "8 Dock Rd, Miami", "TKN")
    whale = m.account("RET-0013", "P-RET13", "Yara Feld", "30 Palm Ave, Miami", "", founder)
    for when, qty in [(news_tkn - timedelta(days=5, hours=3), 150_000),
                      (news_tkn - timedelta(hours=74), 200_000)]:  # fmt: skip
        m.trade(when, whale, mm, "TKN", "buy", qty)
    m.announce("TKN", news_tkn, "TKN listed on a major exchange")
    m.alert("UC-07", whale, "TKN", news_tkn, "escalate",
            "linked to the token's founder, bought before the listing; the token trades every "
            "day, so the weekend counts: 74 h, outside the 72 h timing rule",
            "trade_timing=not_crossed;position_build_up=crossed;insider_link=crossed")  # fmt: skip

    # 8. An account outside the records (through the API; the import would refuse it).
    m.alert("UC-08", "EXT-9999", "VLT", news_vlt, "needs_review",
            "the account is in no records: its links are unknown", "insider_link=unknown",
            api=True)  # fmt: skip
    m.benchmarks.append(["MKM", "IDXW"])
    return m


def write(m: Market) -> None:
    def out(name: str, header: list[str], rows: list[list[object]]) -> None:
        with (HERE / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    out("accounts.csv", ["id", "beneficial_owner", "name", "address", "insider_of",
                         "linked_accounts"], m.accounts)  # fmt: skip
    out("trades.csv", ["trade_id", "order_id", "timestamp", "account", "beneficial_owner",
                       "counterparty_account", "counterparty_owner", "instrument", "side",
                       "quantity", "price", "venue"], m.trades)  # fmt: skip
    out("bars.csv", ["instrument", "timestamp", "open", "high", "low", "close", "volume"],
        m.bars)  # fmt: skip
    out("announcements.csv", ["instrument", "timestamp", "headline", "material"], m.news)
    out("alerts.csv", ["id", "tenant", "type", "account", "instrument", "window_start",
                       "window_end", "description"], m.alerts)  # fmt: skip
    out("instruments.csv", ["instrument", "benchmark"], m.benchmarks)
    out("labels.csv", ["alert_id", "expected_disposition", "why", "expected_evidence"],
        m.labels)  # fmt: skip
    (HERE / "submitted_alerts.json").write_text(json.dumps(m.submitted, indent=2) + "\n")


if __name__ == "__main__":
    write(build())
