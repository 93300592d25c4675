"""Wash-trade analytics on hand-built trades, on both sides of every threshold."""

from __future__ import annotations

import pandas as pd
import pytest

from agents.tools import wash_trade as wash
from agents.tools.market_data import account_legs
from surveil.models import Account, Evidence
from surveil.settings import Thresholds

T = Thresholds(
    wash_window_minutes=15,
    wash_price_tolerance_pct=0.5,
    wash_quantity_tolerance_pct=5,
    wash_min_round_trips=2,
    wash_min_self_matches=1,
    wash_volume_share_pct=5,
    wash_net_position_pct=10,
)
START = pd.Timestamp("2024-03-01T15:00:00Z")
OWNERS = {"A": "OWN-A", "B": "OWN-B", "C": "OWN-C", "A2": "OWN-A"}


def trades(*rows: tuple[float, str, str, str, float, float]) -> pd.DataFrame:
    """(minute, account, counterparty, side, quantity, price) -> a trades frame."""
    return pd.DataFrame(
        [
            {
                "trade_id": f"T{i}",
                "timestamp": START + pd.Timedelta(minutes=minute),
                "account": account,
                "beneficial_owner": OWNERS[account],
                "counterparty_account": counterparty,
                "counterparty_owner": OWNERS[counterparty],
                "side": side,
                "quantity": quantity,
                "price": price,
            }
            for i, (minute, account, counterparty, side, quantity, price) in enumerate(rows)
        ]
    )


def legs(*rows: tuple[float, str, str, str, float, float]) -> pd.DataFrame:
    return account_legs(trades(*rows), "A")


def test_account_legs_flip_the_side_when_the_account_is_the_counterparty() -> None:
    frame = legs((0, "B", "A", "buy", 100, 10.0), (1, "A", "C", "buy", 50, 10.0))
    assert frame["side"].tolist() == ["sell", "buy"]
    assert frame["counterparty"].tolist() == ["B", "C"]
    assert frame["signed_quantity"].tolist() == [-100, 50]


def test_self_match_passes_when_the_same_owner_is_on_both_sides() -> None:
    hit = wash.self_matches(legs((0, "A", "A2", "buy", 100, 10.0)), T)
    miss = wash.self_matches(legs((0, "A", "B", "buy", 100, 10.0)), T)
    assert (hit.passed, hit.value, hit.trade_ids) == (True, 1.0, ["T0"])
    assert (miss.passed, miss.value) == (False, 0.0)


@pytest.mark.parametrize(
    ("sell_minute", "sell_qty", "sell_price", "pairs"),
    [
        (14.9, 100, 10.0, 1),  # inside every tolerance
        (15.1, 100, 10.0, 0),  # too late
        (5, 104.9, 10.0, 1),  # size within 5 %
        (5, 105.1, 10.0, 0),  # size off by more than 5 %
        (5, 100, 10.049, 1),  # price within 0.5 %
        (5, 100, 10.051, 0),  # price off by more than 0.5 %
    ],
)
def test_round_trip_needs_time_size_and_price_within_tolerance(
    sell_minute: float, sell_qty: float, sell_price: float, pairs: int
) -> None:
    frame = legs(
        (0, "A", "B", "buy", 100, 10.0), (sell_minute, "A", "B", "sell", sell_qty, sell_price)
    )
    assert len(wash.find_round_trips(frame, T)) == pairs


def test_each_leg_is_used_by_one_round_trip_only() -> None:
    frame = legs(
        (0, "A", "B", "buy", 100, 10.0),
        (1, "A", "B", "buy", 100, 10.0),
        (2, "A", "B", "sell", 100, 10.0),
    )
    trips = wash.find_round_trips(frame, T)
    assert trips[["buy_trade", "sell_trade"]].values.tolist() == [["T1", "T2"]]


def _two_trips_legs(counterparty: str) -> pd.DataFrame:
    return legs(
        (0, "A", counterparty, "buy", 100, 10.0),
        (3, "A", counterparty, "sell", 100, 10.0),
        (6, "A", counterparty, "buy", 100, 10.0),
        (9, "A", counterparty, "sell", 100, 10.0),
    )


def test_linked_round_trips_count_only_trips_against_linked_accounts() -> None:
    frame = _two_trips_legs("B")
    linked = wash.linked_round_trips(frame, ["B"], T)
    assert (linked.passed, linked.value, linked.trade_ids) == (True, 2.0, ["T0", "T2", "T1", "T3"])
    assert not wash.linked_round_trips(frame, ["C"], T).passed
    assert not wash.linked_round_trips(frame.iloc[:2], ["B"], T).passed  # one trip only
    assert wash.round_trip_count(wash.find_round_trips(frame, T), T).passed


def test_market_maker_round_trips_against_different_owners_are_not_linked() -> None:
    frame = legs((0, "A", "B", "buy", 100, 10.0), (2, "A", "C", "sell", 100, 10.0),
                 (5, "A", "C", "buy", 100, 10.0), (7, "A", "B", "sell", 100, 10.0))  # fmt: skip
    trips = wash.find_round_trips(frame, T)
    assert len(trips) == 2
    assert not wash.linked_round_trips(frame, [], T).passed
    assert wash.suspected_common_control(frame, _acct("A"), [_acct("B"), _acct("C")], [], T) == {}


def _acct(account_id: str, name: str = "", address: str = "") -> Account:
    return Account(id=account_id, beneficial_owner=OWNERS[account_id],
                   name=name or f"Person {account_id}", address=address or f"{account_id} Road")  # fmt: skip


def test_common_control_is_suspected_from_shared_address_or_surname_only_when_unlinked() -> None:
    trips = _two_trips_legs("B")
    me = _acct("A", "Ava Hale", "1 Quay Side")
    same_address = _acct("B", "Ben Other", "1 Quay Side")
    same_surname = _acct("B", "Ben Hale", "9 Elm Row")
    stranger = _acct("B", "Ben Other", "9 Elm Row")
    assert "B" in wash.suspected_common_control(trips, me, [same_address], [], T)
    assert "B" in wash.suspected_common_control(trips, me, [same_surname], [], T)
    assert wash.suspected_common_control(trips, me, [stranger], [], T) == {}
    assert wash.suspected_common_control(trips, me, [same_address], ["B"], T) == {}


@pytest.mark.parametrize(("market_volume", "passed"), [(1900, True), (2100, False)])
def test_volume_share_passes_at_five_percent_of_market_volume(
    market_volume: float, passed: bool
) -> None:
    frame = legs((0, "A", "B", "buy", 100, 10.0))
    bars = pd.DataFrame({"volume": [market_volume]})
    evidence = wash.volume_share(["T0"], frame, bars, T)
    assert evidence.passed is passed


@pytest.mark.parametrize(("sell_qty", "passed"), [(95, True), (80, False)])
def test_net_position_passes_when_the_account_ended_flat(sell_qty: float, passed: bool) -> None:
    frame = legs((0, "A", "B", "buy", 100, 10.0), (3, "A", "B", "sell", sell_qty, 10.0))
    assert wash.net_position_change(frame, T).passed is passed


def _evidence(**passed: bool) -> list[Evidence]:
    return [Evidence(name=n, value=1, threshold=1, passed=p) for n, p in passed.items()]


def test_wash_score_rests_on_a_transfer_without_change_of_ownership() -> None:
    assert wash.score_wash(_evidence(self_matches=True, volume_share=True)) >= T.escalate_score
    assert wash.score_wash(_evidence(linked_round_trips=True, net_position_change=True)) >= 0.7
    supporting_only = _evidence(round_trips=True, volume_share=True, net_position_change=True)
    assert wash.score_wash(supporting_only) < T.close_score
