"""Demo data: deterministic per seed, small, importable, with every planted case labelled."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from surveil.demo import (
    generate_demo,
    read_expected_evidence,
    read_labels,
    read_submitted_alerts,
)
from surveil.models import Disposition
from surveil.store import Store


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo3")
    generate_demo(3, directory)
    return directory


def _alert_types(directory: Path) -> dict[str, str]:
    with (directory / "alerts.csv").open() as handle:
        return {row["id"]: row["type"] for row in csv.DictReader(handle)}


def test_the_same_seed_writes_the_same_files(demo: Path, tmp_path: Path) -> None:
    generate_demo(3, tmp_path)
    for path in demo.glob("*.csv"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_another_seed_writes_another_market(demo: Path, tmp_path: Path) -> None:
    generate_demo(4, tmp_path)
    assert (tmp_path / "bars.csv").read_bytes() != (demo / "bars.csv").read_bytes()


def test_the_demo_stays_small(demo: Path) -> None:
    # 11 instruments and an index of 5-minute bars over 55 days: about 5 MB in all.
    assert sum(p.stat().st_size for p in demo.glob("*.csv")) < 7_000_000


def test_every_alert_is_labelled_and_every_kind_of_case_is_planted(demo: Path) -> None:
    labels = read_labels(demo)
    types = _alert_types(demo) | {a.id: a.type.value for a in read_submitted_alerts(demo)}
    assert labels.keys() == types.keys()
    outcomes = Counter((types[alert_id], label) for alert_id, label in labels.items())
    assert outcomes[("wash_trade", Disposition.escalate)] >= 3
    assert outcomes[("insider_trading", Disposition.escalate)] >= 3
    assert sum(n for (_, label), n in outcomes.items() if label == "close_false_positive") >= 4
    assert outcomes[("wash_trade", Disposition.needs_review)] >= 1
    assert sum(n for (kind, _), n in outcomes.items() if kind == "unknown") >= 1


def test_each_hard_case_is_planted_and_labelled_with_the_evidence_that_decides_it(
    demo: Path,
) -> None:
    """Missing prices around the news, no bars at all, an unknown account, an insider sale
    before bad news and before good news, a weekend gap, a market-wide move."""
    expected = list(read_expected_evidence(demo).values())
    wanted = [
        {"abnormal_return": "unknown"},  # missing prices around the news; no bars at all
        {"abnormal_return": "unknown"},
        {"insider_link": "unknown"},  # unknown account
        {"holding_sold": "crossed", "loss_avoided": "crossed"},
        {"traded_with_news": "not_crossed"},
        {"trade_timing": "crossed"},
        {"abnormal_return": "not_crossed"},  # market-wide move
    ]
    for states in wanted:
        match = next((e for e in expected if states.items() <= e.items()), None)
        assert match is not None, states
        expected.remove(match)
    bars = (demo / "bars.csv").read_text()
    assert "PXLT" in (demo / "trades.csv").read_text() and "PXLT" not in bars
    assert (demo / "instruments.csv").read_text().splitlines()[1].endswith(",MKTX")
    (submitted,) = read_submitted_alerts(demo)
    assert submitted.account not in (demo / "accounts.csv").read_text()


def test_the_demo_imports_cleanly(demo: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "surveil.db")
    report = store.import_dir(demo)
    assert report.rows["accounts.csv"] >= 200
    assert report.rows["trades.csv"] > 1000
    assert len(store.list_alerts()) + len(read_submitted_alerts(demo)) == len(read_labels(demo))
    crash, benchmark = (demo / "instruments.csv").read_text().splitlines()[1].split(",")
    assert store.benchmark_of(crash) == benchmark
