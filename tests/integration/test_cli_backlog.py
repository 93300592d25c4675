"""`surveil submit --from-csv FILE`: a backlog from a CSV file, each alert once. Real stack."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

from surveil.store import Store
from tests.support.stack import Stack


def write_alerts_csv(stack: Stack, path: Path, n: int) -> list[str]:
    base = next(a for a in Store(stack.home / "surveil.db").list_alerts() if a.type == "wash_trade")
    ids = [f"CSV-{uuid.uuid4().hex[:10]}" for _ in range(n)]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["tenant", "id", "type", "account", "instrument", "window_start",
                         "window_end", "description"])  # fmt: skip
        for alert_id in ids:
            writer.writerow([base.tenant, alert_id, base.type.value, base.account, base.instrument,
                             base.window_start.isoformat(), base.window_end.isoformat(), ""])  # fmt: skip
    return ids


def test_from_csv_submits_every_alert_once_and_waits_for_them(stack: Stack, tmp_path: Path):
    path = tmp_path / "alerts.csv"
    ids = write_alerts_csv(stack, path, 3)
    done = stack.surveil("submit", "--from-csv", str(path), "--wait", "--json")
    result = json.loads(done.stdout)
    assert result["states"] == {"completed": 3}
    assert sorted(result["workflow_ids"]) == sorted(f"alert-demo-{i}" for i in ids)
    again = json.loads(stack.surveil("submit", "--from-csv", str(path), "--json").stdout)
    assert again["workflow_ids"] == result["workflow_ids"]  # attached, nothing new


def test_a_bad_csv_is_refused_naming_the_line(stack: Stack, tmp_path: Path):
    path = tmp_path / "alerts.csv"
    write_alerts_csv(stack, path, 1)
    path.write_text(path.read_text().replace("wash_trade", "spoofing"))
    failed = stack.surveil("submit", "--from-csv", str(path), check=False)
    assert failed.returncode == 2
    assert "alerts.csv:2" in failed.stderr
