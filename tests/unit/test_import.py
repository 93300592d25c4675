"""CSV import: all or nothing, errors that name file, line and column, no duplicates."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from surveil.cli import main
from surveil.settings import get_settings
from surveil.store import TABLES, ImportFailed, Store, parse_csv

FILES = {
    "accounts.csv": [
        "id,beneficial_owner,name,address,insider_of,linked_accounts",
        "ACC1,BO1,Ava Hale,1 Quay Side,,ACC2",
        "ACC2,BO2,Ben Hale,1 Quay Side,ACME;BOLT,",
    ],
    "trades.csv": [
        "trade_id,order_id,timestamp,account,beneficial_owner,counterparty_account,"
        "counterparty_owner,instrument,side,quantity,price,venue",
        "T1,O1,2024-03-01T15:00:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,100,10.5,XNAS",
        "T2,O2,2024-03-01T15:03:00Z,ACC1,BO1,ACC2,BO2,ACME,sell,100,10.51,XNAS",
    ],
    "bars.csv": [
        "instrument,timestamp,open,high,low,close,volume",
        "ACME,2024-03-01T15:00:00Z,10.4,10.6,10.3,10.5,5000",
        "ACME,2024-03-01T15:05:00Z,10.5,10.6,10.4,10.52,4000",
    ],
    "announcements.csv": [
        "instrument,timestamp,headline,material",
        "ACME,2024-03-02T12:00:00Z,ACME beats estimates,true",
    ],
    "alerts.csv": [
        "id,type,account,instrument,window_start,window_end,description",
        "A-1,wash_trade,ACC1,ACME,2024-03-01T14:45:00Z,2024-03-01T15:30:00Z,round trips",
    ],
}


def write(directory: Path, **changes: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, lines in {**FILES, **{k.replace("_", ".", 1): v for k, v in changes.items()}}.items():
        (directory / name).write_text("\n".join(lines) + "\n")
    return directory


def with_line(name: str, line: str) -> list[str]:
    return [*FILES[name], line]


WINDOW = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home" / "surveil.db")


def test_import_loads_every_file_and_parses_lists_and_defaults(
    store: Store, tmp_path: Path
) -> None:
    report = store.import_dir(write(tmp_path / "csv"))
    assert report.rows == {"accounts.csv": 2, "trades.csv": 2, "bars.csv": 2,
                           "announcements.csv": 1, "alerts.csv": 1}  # fmt: skip
    assert store.get_account("ACC2").insider_of == ["ACME", "BOLT"]  # type: ignore[union-attr]
    assert store.get_account("ACC1").linked_accounts == ["ACC2"]  # type: ignore[union-attr]
    assert store.get_alert("A-1").tenant == "demo"  # type: ignore[union-attr]


def test_reimporting_the_same_files_adds_no_rows_and_says_they_are_unchanged(
    store: Store, tmp_path: Path
) -> None:
    directory = write(tmp_path / "csv")
    store.import_dir(directory)
    before = store.counts()
    report = store.import_dir(directory)
    assert store.counts() == before
    assert set(report.new.values()) == set(report.changed.values()) == {0}
    assert report.unchanged == report.rows


def test_counts_say_new_changed_and_unchanged(store: Store, tmp_path: Path) -> None:
    store.import_dir(write(tmp_path / "first"))
    trades = [*FILES["trades.csv"][:2],
              "T2,O2,2024-03-01T15:03:00Z,ACC1,BO1,ACC2,BO2,ACME,sell,100,10.55,XNAS",
              "T3,O3,2024-03-01T15:04:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,100,10.5,XNAS"]  # fmt: skip
    report = store.import_dir(write(tmp_path / "second", trades_csv=trades))
    assert (report.new["trades.csv"], report.changed["trades.csv"],
            report.unchanged["trades.csv"]) == (1, 1, 1)  # fmt: skip
    assert "trades.csv: 3 rows (1 new, 1 changed, 1 unchanged)" in report.lines()
    assert store.trades("ACME", *WINDOW)["price"].tolist() == [10.5, 10.55, 10.5]


def assert_refused_with(
    store: Store, tmp_path: Path, file: str, bad_line: str, message: str
) -> None:
    """One bad line added to a good file refuses the whole import, with `message`, and
    leaves the store empty."""
    directory = write(tmp_path / "csv", **{file.replace(".", "_"): with_line(file, bad_line)})
    with pytest.raises(ImportFailed) as refused:
        store.import_dir(directory)
    assert str(refused.value).startswith(message)
    assert store.is_empty()


@pytest.mark.parametrize(
    ("file", "bad_line", "message"),
    [
        ("trades.csv", "T3,O3,2024-03-01T15:04:00Z,ACC9,BO9,ACC2,BO2,ACME,buy,5,10,XNAS",
         "trades.csv:4:account: account 'ACC9' is in no accounts.csv row and not in the store"),
        ("trades.csv", "T3,O3,2024-03-01T15:04:00Z,ACC1,BO1,GHOST,BO9,ACME,buy,5,10,XNAS",
         "trades.csv:4:counterparty_account: account 'GHOST' is in no accounts.csv row"),
        ("alerts.csv", "A-2,wash_trade,NOBODY,ACME,2024-03-01T14:45:00Z,2024-03-01T15:30:00Z,x",
         "alerts.csv:3:account: account 'NOBODY' is in no accounts.csv row"),
        ("alerts.csv", "A-2,wash_trade,ACC1,ZZZZ,2024-03-01T14:45:00Z,2024-03-01T15:30:00Z,x",
         "alerts.csv:3:instrument: instrument 'ZZZZ' is in no bars.csv, trades.csv, "
         "announcements.csv or instruments.csv row and not in the store"),
    ],
)  # fmt: skip
def test_a_reference_that_resolves_nowhere_refuses_the_import(
    store: Store, tmp_path: Path, file: str, bad_line: str, message: str
) -> None:
    assert_refused_with(store, tmp_path, file, bad_line, message)


def test_a_reference_may_resolve_in_the_store(store: Store, tmp_path: Path) -> None:
    store.import_dir(write(tmp_path / "first"))
    only_trades = write(tmp_path / "second", accounts_csv=[FILES["accounts.csv"][0]])
    assert store.import_dir(only_trades).unchanged["trades.csv"] == 2


def test_a_key_repeated_with_different_values_is_refused_naming_both_lines(
    store: Store, tmp_path: Path
) -> None:
    clash = with_line(
        "trades.csv", "T1,O1,2024-03-01T15:00:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,100,11,XNAS"
    )
    with pytest.raises(ImportFailed) as refused:
        store.import_dir(write(tmp_path / "csv", trades_csv=clash))
    assert str(refused.value).startswith(
        "trades.csv:4:trade_id: duplicate key trade_id='T1' with different values on lines 2 and 4"
    )
    assert store.is_empty()
    same = with_line("trades.csv", FILES["trades.csv"][1])  # an identical repeat is harmless
    report = store.import_dir(write(tmp_path / "same", trades_csv=same))
    assert report.rows["trades.csv"] == 3 and report.new["trades.csv"] == 2


def test_a_file_that_is_not_utf8_names_line_and_column(store: Store, tmp_path: Path) -> None:
    directory = write(tmp_path / "csv")
    accounts = (directory / "accounts.csv").read_bytes().replace(b"Ben Hale", b"Ben H\xe9le")
    (directory / "accounts.csv").write_bytes(accounts)
    with pytest.raises(ImportFailed) as refused:
        store.import_dir(directory)
    assert str(refused.value).startswith("accounts.csv:3:name: not UTF-8 text (byte ")
    assert "is 0xe9" in str(refused.value)


def test_the_import_reports_progress_per_file(store: Store, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    store.import_dir(write(tmp_path / "csv"), progress=lambda *step: seen.append(step))
    last = {name: (done, size) for name, done, size in seen}
    assert set(last) == set(FILES)
    assert all(done == size > 0 for done, size in last.values())


@pytest.mark.parametrize(
    ("file", "bad_line", "message"),
    [
        ("trades.csv", "T3,O3,2024-03-01T15:04:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,100,abc,XNAS",
         "trades.csv:4:price: expected a positive number, got 'abc'"),
        ("trades.csv", "T3,O3,2024-03-01T15:04:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,-5,10,XNAS",
         "trades.csv:4:quantity: expected a positive number, got '-5'"),
        ("trades.csv", "T3,O3,yesterday,ACC1,BO1,ACC2,BO2,ACME,buy,5,10,XNAS",
         "trades.csv:4:timestamp: expected an ISO-8601 timestamp"),
        ("trades.csv", "T3,O3,2024-03-01T15:04:00Z,ACC1,BO1,ACC2,BO2,ACME,hold,5,10,XNAS",
         "trades.csv:4:side: expected 'buy' or 'sell', got 'hold'"),
        ("trades.csv", "T3,O3,2024-03-01T15:04:00Z,,BO1,ACC2,BO2,ACME,buy,5,10,XNAS",
         "trades.csv:4:account: expected a value, got an empty cell"),
        ("announcements.csv", "ACME,2024-03-03T12:00:00Z,Other news,maybe",
         "announcements.csv:3:material: expected true or false, got 'maybe'"),
        ("alerts.csv", "A-2,spoofing,ACC1,ACME,2024-03-01T14:45:00Z,2024-03-01T15:30:00Z,x",
         "alerts.csv:3:type: expected one of insider_trading, wash_trade, unknown"),
        ("alerts.csv", "A-2,wash_trade,ACC1,ACME,2024-03-01T15:45:00Z,2024-03-01T15:30:00Z,x",
         "alerts.csv:3:window_end: expected window_end must be after window_start"),
        ("bars.csv", "ACME,2024-03-01T15:10:00Z,10.4,10.6,10.3,10.5,5000,extra",
         "bars.csv:4: 8 cells, expected 7"),
    ],
)  # fmt: skip
def test_one_malformed_row_refuses_the_whole_import(
    store: Store, tmp_path: Path, file: str, bad_line: str, message: str
) -> None:
    assert_refused_with(store, tmp_path, file, bad_line, message)


def test_timestamps_without_a_zone_are_read_as_utc(store: Store, tmp_path: Path) -> None:
    alerts = [
        FILES["alerts.csv"][0],
        "A-1,wash_trade,ACC1,ACME,2024-03-01T14:45:00,2024-03-01T16:30:00+01:00,x",
    ]
    store.import_dir(write(tmp_path / "csv", alerts_csv=alerts))
    alert = store.get_alert("A-1")
    assert alert is not None
    assert (alert.window_start.isoformat(), alert.window_end.isoformat()) == (
        "2024-03-01T14:45:00+00:00", "2024-03-01T15:30:00+00:00")  # fmt: skip


def test_a_bad_row_leaves_earlier_data_untouched(store: Store, tmp_path: Path) -> None:
    store.import_dir(write(tmp_path / "good"))
    before = store.counts()
    bad = with_line("trades.csv", "T9,O9,2024-03-01T15:04:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,1,x,XNAS")
    changed_accounts = [FILES["accounts.csv"][0], "ACC9,BO9,New Person,,,"]
    with pytest.raises(ImportFailed):
        store.import_dir(write(tmp_path / "bad", trades_csv=bad, accounts_csv=changed_accounts))
    assert store.counts() == before
    assert store.get_account("ACC9") is None


def test_a_missing_file_or_column_is_named(store: Store, tmp_path: Path) -> None:
    directory = write(tmp_path / "csv")
    (directory / "bars.csv").unlink()
    with pytest.raises(ImportFailed, match=r"bars\.csv: file not found"):
        store.import_dir(directory)
    headerless = [FILES["trades.csv"][0].replace(",price", ""), "T1,O1"]
    directory = write(tmp_path / "csv2", trades_csv=headerless)
    with pytest.raises(ImportFailed, match=r"trades\.csv:1: missing column\(s\) price"):
        store.import_dir(directory)


def test_cli_import_exits_non_zero_naming_the_bad_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SURVEIL_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        bad = with_line(
            "trades.csv", "T3,O3,2024-03-01T15:04:00Z,ACC1,BO1,ACC2,BO2,ACME,buy,1,abc,X"
        )
        assert main(["data", "import", str(write(tmp_path / "bad", trades_csv=bad))]) != 0
        assert (
            "trades.csv:4:price: expected a positive number, got 'abc'" in capsys.readouterr().err
        )
        assert main(["data", "import", str(write(tmp_path / "good"))]) == 0
        assert "trades.csv: 2 rows (2 new, 0 changed, 0 unchanged)" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_parse_csv_validates_a_small_file_as_the_import_would(tmp_path: Path) -> None:
    spec = next(table for table in TABLES if table.file == "alerts.csv")
    directory = write(tmp_path / "csv")
    (row,) = parse_csv(directory / "alerts.csv", spec)
    assert row.id == "A-1"  # type: ignore[attr-defined]
    bad = with_line("alerts.csv", "A-2,spoofing,ACC1,ACME,2024-03-01T14:45:00Z,2024-03-02,x")
    write(tmp_path / "bad", alerts_csv=bad)
    with pytest.raises(ImportFailed, match=r"^alerts\.csv:3:type: expected one of"):
        parse_csv(tmp_path / "bad" / "alerts.csv", spec)


def test_cli_import_shows_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    directory = write(tmp_path / "csv")
    env = {**os.environ, "SURVEIL_HOME": str(tmp_path / "home"), "COLUMNS": "100"}
    command = [sys.executable, "-m", "surveil", "data", "import", str(directory)]
    leader, follower = os.openpty()  # stderr is a terminal, as in a user's shell
    shown = b""
    try:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        # Read while it runs, so a full terminal buffer never blocks the import.
        while chunk := _read_pty(leader):
            shown += chunk
        stdout = process.communicate(timeout=120)[0].decode()
    finally:
        os.close(leader)
    assert process.returncode == 0
    assert "trades.csv" in shown.decode() and "━" in shown.decode()
    assert "trades.csv: 2 rows (2 new" in stdout
    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "━" not in piped.stderr


def _read_pty(fd: int) -> bytes:
    """The next output on a terminal; b"" once the program has closed it (EIO)."""
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""
