"""Demo data: deterministic per seed, small, importable, with every planted case labelled."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from surveil.demo import generate_demo, read_labels
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
    assert sum(p.stat().st_size for p in demo.glob("*.csv")) < 5_000_000


def test_every_alert_is_labelled_and_every_kind_of_case_is_planted(demo: Path) -> None:
    labels = read_labels(demo)
    types = _alert_types(demo)
    assert labels.keys() == types.keys()
    outcomes = Counter((types[alert_id], label) for alert_id, label in labels.items())
    assert outcomes[("wash_trade", Disposition.escalate)] >= 3
    assert outcomes[("insider_trading", Disposition.escalate)] >= 3
    assert sum(n for (_, label), n in outcomes.items() if label == "close_false_positive") >= 4
    assert outcomes[("wash_trade", Disposition.needs_review)] >= 1
    assert sum(n for (kind, _), n in outcomes.items() if kind == "unknown") >= 1


def test_the_demo_imports_cleanly(demo: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "surveil.db")
    report = store.import_dir(demo)
    assert report.rows["accounts.csv"] >= 200
    assert report.rows["trades.csv"] > 1000
    assert len(store.list_alerts()) == len(read_labels(demo))
