"""Labeled cases written as a user's CSV files (tests/data/labeled_cases, unlike the demo:
30-minute New York bars, a 24/7 token, a relative's account, news before the open),
imported and investigated by the specialist graphs in-process: each alert comes to its
labelled disposition, decided by the labelled evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveil.demo import read_expected_evidence, read_labels, read_submitted_alerts
from surveil.store import Store
from tests.unit.test_specialist_graphs import outcomes_of

CASES = Path(__file__).parents[1] / "data" / "labeled_cases"


@pytest.fixture(autouse=True)
def instant_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVEIL_OFFLINE_TOKEN_DELAY_MS", "0")


async def test_every_labeled_case_gets_its_disposition_for_the_labeled_reasons(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "surveil.db")
    store.import_dir(CASES)
    alerts = [*store.list_alerts(), *read_submitted_alerts(CASES)]
    outcomes = await outcomes_of(store, alerts)
    got = {alert_id: str(disposition) for alert_id, (disposition, _) in outcomes.items()}
    assert got == {alert_id: str(label) for alert_id, label in read_labels(CASES).items()}
    for alert_id, expected in read_expected_evidence(CASES).items():
        states = outcomes[alert_id][1]
        assert {name: states.get(name) for name in expected} == expected, alert_id


def test_the_unknown_account_case_is_one_the_import_refuses(tmp_path: Path) -> None:
    (alert,) = read_submitted_alerts(CASES)
    assert alert.account not in (CASES / "accounts.csv").read_text()
