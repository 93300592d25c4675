"""Wash-trade analytics over one account's legs (see `market_data.account_legs`).

A wash trade changes no beneficial ownership: the same owner on both sides, or a
pre-arranged round trip between accounts under common control (buy from a linked
account, sell it back minutes later at nearly the same price and size), which
paints volume while the position stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from surveil.models import Account, Evidence
from surveil.settings import Thresholds

SELF_MATCHES = "self_matches"
ROUND_TRIPS = "round_trips"
LINKED_ROUND_TRIPS = "linked_round_trips"
VOLUME_SHARE = "volume_share"
NET_POSITION_CHANGE = "net_position_change"

ROUND_TRIP_COLUMNS = ["buy_trade", "sell_trade", "buy_ts", "sell_ts", "price", "qty",
                      "buy_counterparty", "sell_counterparty"]  # fmt: skip


def self_matches(legs: pd.DataFrame, thresholds: Thresholds) -> Evidence:
    """Trades whose two sides have the same beneficial owner."""
    hits = legs[legs["owner"] == legs["counterparty_owner"]]
    return Evidence(
        name=SELF_MATCHES,
        value=float(len(hits)),
        threshold=float(thresholds.wash_min_self_matches),
        passed=len(hits) >= thresholds.wash_min_self_matches,
        unit="trades",
        description="trades with the same beneficial owner on both sides",
        trade_ids=hits["trade_id"].tolist(),
    )


def find_round_trips(
    legs: pd.DataFrame, thresholds: Thresholds, per_counterparty: bool = False
) -> pd.DataFrame:
    """Round trips: a buy and a sell next to each other in the account's own sequence of
    trades (or in its sequence with each counterparty), of near-equal price and size
    within the time window. Each leg belongs to one round trip at most; in a run of
    candidate neighbours (buy, sell, buy, sell …) they pair from the earliest on.
    """
    keys = (
        ["counterparty", "timestamp", "trade_id"] if per_counterparty else ["timestamp", "trade_id"]
    )
    first = legs.sort_values(keys, ignore_index=True)
    second = first.shift(-1)
    gap_minutes = (second["timestamp"] - first["timestamp"]).dt.total_seconds() / 60
    price_gap_pct = (second["price"] - first["price"]).abs() / first["price"] * 100
    size_gap_pct = (second["quantity"] - first["quantity"]).abs() / first["quantity"] * 100
    candidate = (
        second["side"].notna()
        & (first["side"] != second["side"])
        & (gap_minutes <= thresholds.wash_window_minutes)
        & (price_gap_pct <= thresholds.wash_price_tolerance_pct)
        & (size_gap_pct <= thresholds.wash_quantity_tolerance_pct)
    )
    if per_counterparty:
        candidate &= first["counterparty"] == second["counterparty"]
    run = (candidate != candidate.shift()).cumsum()
    chosen = candidate & (candidate.groupby(run).cumcount() % 2 == 0)
    first, second = first[chosen], second[chosen]
    buy_first = (first["side"] == "buy").to_numpy()

    def pick(column: str, buy_side: bool) -> object:
        mine, other = (first, second) if buy_side else (second, first)
        return np.where(buy_first, mine[column], other[column])

    trips = pd.DataFrame(
        {
            "buy_trade": pick("trade_id", True),
            "sell_trade": pick("trade_id", False),
            "buy_ts": pick("timestamp", True),
            "sell_ts": pick("timestamp", False),
            "price": pick("price", True),
            "qty": pick("quantity", True),
            "buy_counterparty": pick("counterparty", True),
            "sell_counterparty": pick("counterparty", False),
        },
        columns=ROUND_TRIP_COLUMNS,
    )
    for column in ("buy_ts", "sell_ts"):
        trips[column] = pd.to_datetime(trips[column], utc=True)
    return trips.sort_values("buy_ts", ignore_index=True)


def round_trips_with(
    legs: pd.DataFrame, counterparties: Iterable[str], thresholds: Thresholds
) -> pd.DataFrame:
    """Round trips whose both legs are against the given accounts."""
    return find_round_trips(legs[legs["counterparty"].isin(set(counterparties))], thresholds)


def _trade_ids(round_trips: pd.DataFrame) -> list[str]:
    return [*round_trips["buy_trade"], *round_trips["sell_trade"]]


def round_trip_count(round_trips: pd.DataFrame, thresholds: Thresholds) -> Evidence:
    """All round trips, whoever the counterparties: what a naive rule would flag."""
    return Evidence(
        name=ROUND_TRIPS,
        value=float(len(round_trips)),
        threshold=float(thresholds.wash_min_round_trips),
        passed=len(round_trips) >= thresholds.wash_min_round_trips,
        unit="round trips",
        description=(
            f"buy and sell within {thresholds.wash_window_minutes:g} min, price within "
            f"{thresholds.wash_price_tolerance_pct:g}% and size within "
            f"{thresholds.wash_quantity_tolerance_pct:g}%, any counterparty"
        ),
        trade_ids=_trade_ids(round_trips),
    )


def linked_round_trips(
    legs: pd.DataFrame, linked: Iterable[str], thresholds: Thresholds
) -> Evidence:
    """Round trips whose both legs are against linked accounts (or the same owner's)."""
    linked = sorted(set(linked))
    linked_trips = round_trips_with(legs, linked, thresholds)
    return Evidence(
        name=LINKED_ROUND_TRIPS,
        value=float(len(linked_trips)),
        threshold=float(thresholds.wash_min_round_trips),
        passed=len(linked_trips) >= thresholds.wash_min_round_trips,
        unit="round trips",
        description="round trips against linked accounts or accounts of the same owner"
        + (f" ({', '.join(linked)})" if linked else " (the account has no links)"),
        trade_ids=_trade_ids(linked_trips),
    )


def shared_identity(account: Account, other: Account) -> list[str]:
    """What two account records share that hints at common control."""
    hints = []
    if account.address and account.address.strip().lower() == other.address.strip().lower():
        hints.append(f"address '{account.address}'")
    surname, other_surname = account.name.split()[-1:], other.name.split()[-1:]
    if surname and surname == other_surname:
        hints.append(f"surname '{surname[0]}'")
    return hints


def suspected_common_control(
    legs: pd.DataFrame,
    account: Account,
    counterparties: Iterable[Account],
    linked: Iterable[str],
    thresholds: Thresholds,
) -> dict[str, list[str]]:
    """Unlinked counterparties with enough round trips that look like the same controller.

    Returns counterparty id -> the shared details (address, surname) that raise the question.
    """
    unlinked = legs[~legs["counterparty"].isin(set(linked))]
    trips = find_round_trips(unlinked, thresholds, per_counterparty=True)
    counts = trips["buy_counterparty"].value_counts()
    frequent = set(counts[counts >= thresholds.wash_min_round_trips].index)
    suspects = {}
    for other in counterparties:  # a handful of account records, not trades
        if other.id in frequent and (hints := shared_identity(account, other)):
            suspects[other.id] = hints
    return suspects


def volume_share(
    suspicious_trade_ids: Iterable[str], legs: pd.DataFrame, bars: pd.DataFrame,
    thresholds: Thresholds,
) -> Evidence:  # fmt: skip
    """Suspicious volume as a share of the instrument's market volume in the window;
    unknown without bars, which hold the market's volume."""
    ids = set(suspicious_trade_ids)
    if bars.empty:
        return Evidence.missing_data(
            VOLUME_SHARE, thresholds.wash_volume_share_pct,
            "price bars (the market's traded volume) for the alert window", unit="%",
        )  # fmt: skip
    suspicious = float(legs.loc[legs["trade_id"].isin(ids), "quantity"].sum())
    market = float(bars["volume"].sum()) if not bars.empty else 0.0
    share = 100.0 * suspicious / market if market > 0 else 0.0
    return Evidence(
        name=VOLUME_SHARE,
        value=round(share, 4),
        threshold=thresholds.wash_volume_share_pct,
        passed=share >= thresholds.wash_volume_share_pct,
        unit="%",
        description=f"{suspicious:,.0f} of {market:,.0f} shares traded in the alert window "
        "were self-matched or linked round trips",
        trade_ids=sorted(ids),
    )


def net_position_change(legs: pd.DataFrame, thresholds: Thresholds) -> Evidence:
    """|net| / gross volume of the account in the window: near 0 means it ended flat."""
    gross = float(legs["quantity"].sum())
    net = float(legs["signed_quantity"].sum())
    pct = 100.0 * abs(net) / gross if gross > 0 else 100.0
    return Evidence(
        name=NET_POSITION_CHANGE,
        value=round(pct, 4),
        threshold=thresholds.wash_net_position_pct,
        passed=gross > 0 and pct <= thresholds.wash_net_position_pct,
        unit="% of gross",
        description=f"net {net:+,.0f} on gross {gross:,.0f} shares in the alert window "
        "(passes when the account ended roughly flat)",
        trade_ids=legs["trade_id"].tolist(),
    )


def score_wash(evidence: Iterable[Evidence]) -> float:
    """0..1 from the evidence. A transfer without change of ownership (self-match or
    linked round trips) is the core; volume share and a flat position strengthen it.
    Without the core, the supporting facts alone stay below the close score."""
    passed = {item.name: item.passed for item in evidence}
    core = passed.get(SELF_MATCHES, False) or passed.get(LINKED_ROUND_TRIPS, False)
    support = int(passed.get(VOLUME_SHARE, False)) + int(passed.get(NET_POSITION_CHANGE, False))
    return 0.6 + 0.2 * support if core else 0.1 * support
