"""`surveil investigate` as a user runs it: a subprocess against a demo store in a tmp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from surveil.events import EventType, ProgressEvent
from surveil.models import Determination

SURVEIL = [sys.executable, "-m", "surveil"]


def surveil(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SURVEIL_HOME": str(home),
        "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
        "OPENAI_API_KEY": "",  # the offline analyst, whatever the developer's shell has
    }
    return subprocess.run(
        [*SURVEIL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("surveil-home")
    for args in (
        ["data", "demo", "--out", str(home / "csv")],
        ["data", "import", str(home / "csv")],
    ):
        done = surveil(home, *args)
        assert done.returncode == 0, done.stderr
    return home


def test_json_prints_only_the_determination(demo_home: Path) -> None:
    done = surveil(demo_home, "investigate", "ALR-007-04", "--json")
    assert done.returncode == 0, done.stderr
    determination = Determination.model_validate_json(done.stdout)
    assert determination.alert_id == "ALR-007-04"
    assert [f.specialist.value for f in determination.findings] == ["wash_trade"]
    assert determination.narrative_model in determination.narrative


def test_events_prints_every_event_as_a_json_line_ending_terminal(demo_home: Path) -> None:
    done = surveil(demo_home, "investigate", "ALR-007-04", "--events")
    assert done.returncode == 0, done.stderr
    events = [ProgressEvent.model_validate_json(line) for line in done.stdout.splitlines()]
    assert events[-1].is_terminal and events[-1].data["state"] == "completed"
    types = {event.type for event in events}
    assert {EventType.step_start, EventType.message_delta, EventType.finding} <= types
    determination = Determination.model_validate(events[-1].data["determination"])
    assert determination.alert_id == "ALR-007-04"


def test_live_view_shows_steps_and_the_determination(demo_home: Path) -> None:
    done = surveil(demo_home, "investigate", "ALR-007-04")
    assert done.returncode == 0, done.stderr
    assert "Determination for alert ALR-007-04" in done.stdout
    assert "narrative by surveil offline analyst model" in done.stdout


def test_live_view_says_which_data_is_missing(demo_home: Path) -> None:
    # ALR-007-13: the demo's "no prices around the news" case (a hard case, after the 12
    # original ones).
    done = surveil(demo_home, "investigate", "ALR-007-13")
    assert done.returncode == 0, done.stderr
    assert "? abnormal_return unknown: no price bars between" in done.stdout
    assert "NEEDS REVIEW" in done.stdout


def test_unknown_alert_id_is_a_clear_error(demo_home: Path) -> None:
    done = surveil(demo_home, "investigate", "NOPE-1", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "no alert 'NOPE-1'" in done.stderr and "ALR-007-01" in done.stderr


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    done = surveil(tmp_path, "investigate", "ALR-007-04")
    assert done.returncode == 2
    assert "is empty" in done.stderr and "surveil data import" in done.stderr
    assert "Traceback" not in done.stderr
