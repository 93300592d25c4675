"""Store reads: trades on either side, time ranges, accounts and their links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from surveil.store import Store
from tests.unit.test_import import write


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "surveil.db")
    store.import_dir(write(tmp_path / "csv"))
    return store


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, 1, hour, minute, tzinfo=UTC)


def test_a_new_store_is_empty(tmp_path: Path) -> None:
    assert Store(tmp_path / "new" / "surveil.db").is_empty()


def test_trades_for_an_account_include_those_where_it_is_the_counterparty(store: Store) -> None:
    as_counterparty = store.trades("ACME", at(14), at(16), accounts=["ACC2"])
    assert as_counterparty["trade_id"].tolist() == ["T1", "T2"]
    assert str(as_counterparty["timestamp"].dt.tz) == "UTC"
    assert store.trades("ACME", at(14), at(16), accounts=["NOBODY"]).empty


def test_time_ranges_are_inclusive_and_chronological(store: Store) -> None:
    assert store.trades("ACME", at(15), at(15, 2))["trade_id"].tolist() == ["T1"]
    assert len(store.bars("ACME", at(15), at(15, 5))) == 2
    assert store.bars("OTHER", at(0), at(23)).empty


def test_accounts_links_owners_and_insiders(store: Store) -> None:
    assert [a.id for a in store.accounts_linking_to("ACC2")] == ["ACC1"]
    assert [a.id for a in store.accounts_of_owner("BO2")] == ["ACC2"]
    assert [a.id for a in store.insiders_of("BOLT")] == ["ACC2"]
    assert store.insiders_of("BOL") == []  # whole names only
    assert store.get_account("MISSING") is None


def test_alerts_and_announcements_round_trip(store: Store) -> None:
    alert = store.get_alert("A-1")
    assert alert is not None and alert.window_start == at(14, 45)
    assert [a.id for a in store.list_alerts(tenant="demo")] == ["A-1"]
    assert store.list_alerts(tenant="other") == []
    news = store.announcements("ACME", at(0), datetime(2024, 3, 3, tzinfo=UTC))
    assert [(n.headline, n.material) for n in news] == [("ACME beats estimates", True)]
