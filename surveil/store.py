"""The market-data store: one SQLite file holding accounts, trades, bars, announcements, alerts.

SQLite because it ships with Python, needs no server, and gives the all-or-nothing
import for free (one transaction); the analytics read frames with `pandas.read_sql`.
A connection is opened per call, so the store is safe to share across the threads
LangGraph runs synchronous nodes in.

Timestamps are stored as fixed-width UTC text (`2024-03-04T14:30:00.000000Z`), so a
string comparison in SQL is a chronological one.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from surveil.models import Account, Alert, Announcement, PriceBar, Trade
from surveil.settings import Settings, get_settings

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
LIST_SEPARATOR = ";"

PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeNumber = Annotated[float, Field(ge=0, allow_inf_nan=False)]
NonEmpty = Annotated[str, Field(min_length=1)]


class ImportFailed(Exception):
    """A CSV import was refused; the message is `file:line:column: expected …, got …`."""


@dataclass
class ImportReport:
    """Rows read per file, and how many of them were new to the store (the rest updated)."""

    rows: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"{name}: {count} rows ({self.added.get(name, 0)} new, "
            f"{count - self.added.get(name, 0)} updated)"
            for name, count in self.rows.items()
        ]


def to_db_time(value: datetime) -> str:
    """Fixed-width UTC text; naive datetimes are taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


# --- CSV rows: the domain models plus the constraints an import must enforce ------------


class AccountRow(Account):
    id: NonEmpty
    beneficial_owner: NonEmpty

    @field_validator("insider_of", "linked_accounts", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
        return value


class TradeRow(Trade):
    trade_id: NonEmpty
    account: NonEmpty
    beneficial_owner: NonEmpty
    counterparty_account: NonEmpty
    counterparty_owner: NonEmpty
    instrument: NonEmpty
    quantity: PositiveNumber
    price: PositiveNumber


class BarRow(PriceBar):
    instrument: NonEmpty
    open: PositiveNumber
    high: PositiveNumber
    low: PositiveNumber
    close: PositiveNumber
    volume: NonNegativeNumber


class AnnouncementRow(Announcement):
    instrument: NonEmpty
    headline: NonEmpty


class InstrumentRow(BaseModel):
    """An instrument's reference data: the benchmark (an index or sector instrument whose
    bars are in bars.csv) its abnormal return is measured against."""

    instrument: NonEmpty
    benchmark: NonEmpty


class AlertRow(Alert):
    @model_validator(mode="after")
    def _window_ordered(self) -> AlertRow:
        if to_db_time(self.window_end) <= to_db_time(self.window_start):  # naive = UTC
            raise ValueError("window_end must be after window_start")
        return self


# What each column must hold, in the words an error message uses.
EXPECTED: dict[str, str] = {
    **dict.fromkeys(["price", "quantity", "open", "high", "low", "close"], "a positive number"),
    "volume": "a number of at least 0",
    **dict.fromkeys(
        ["timestamp", "window_start", "window_end"],
        "an ISO-8601 timestamp such as 2024-03-04T14:30:00Z",
    ),
    "side": "'buy' or 'sell'",
    "type": "one of insider_trading, wash_trade, unknown",
    "material": "true or false",
}


@dataclass(frozen=True)
class Table:
    """One CSV file and the table it fills."""

    file: str
    table: str
    row_model: type[BaseModel]
    key: tuple[str, ...]
    optional: tuple[str, ...] = ()
    required_file: bool = True

    @property
    def columns(self) -> list[str]:
        return list(self.row_model.model_fields)

    @property
    def required(self) -> list[str]:
        return [c for c in self.columns if c not in self.optional]


TABLES: tuple[Table, ...] = (
    Table(
        "accounts.csv",
        "accounts",
        AccountRow,
        ("id",),
        optional=("address", "insider_of", "linked_accounts"),
    ),
    Table("trades.csv", "trades", TradeRow, ("trade_id",)),
    Table("bars.csv", "bars", BarRow, ("instrument", "timestamp")),
    Table("announcements.csv", "announcements", AnnouncementRow, ("instrument", "timestamp")),
    Table("alerts.csv", "alerts", AlertRow, ("tenant", "id"), optional=("tenant", "description")),
    Table("instruments.csv", "instruments", InstrumentRow, ("instrument",), required_file=False),
)

_SQL_TYPES = {float: "REAL", bool: "INTEGER"}


def _create_table_sql(spec: Table) -> str:
    columns = [
        f"{name} {_SQL_TYPES.get(info.annotation, 'TEXT')} NOT NULL"  # type: ignore[arg-type]
        for name, info in spec.row_model.model_fields.items()
    ]
    return (
        f"CREATE TABLE IF NOT EXISTS {spec.table} ("
        + ", ".join(columns)
        + f", PRIMARY KEY ({', '.join(spec.key)}))"
    )


_INDEXES = (
    "CREATE INDEX IF NOT EXISTS trades_by_instrument_time ON trades (instrument, timestamp)",
    "CREATE INDEX IF NOT EXISTS trades_by_account ON trades (account, instrument, timestamp)",
    "CREATE INDEX IF NOT EXISTS trades_by_counterparty "
    "ON trades (counterparty_account, instrument, timestamp)",
)


def _upsert_sql(spec: Table) -> str:
    columns = spec.columns
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in spec.key)
    return (
        f"INSERT INTO {spec.table} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {updates}"
    )


def _db_value(value: Any) -> Any:
    """A validated field as SQLite stores it (naive timestamps are taken as UTC)."""
    if isinstance(value, float) or type(value) is str:
        return value
    if isinstance(value, datetime):
        return to_db_time(value)
    if isinstance(value, list):
        return LIST_SEPARATOR.join(value)
    if isinstance(value, bool):
        return int(value)
    return str(value) if hasattr(value, "value") else value  # enums as their text


def _describe(error: dict[str, Any], raw: dict[str, str]) -> tuple[str, str]:
    """(column, message) for one pydantic error, phrased for a person fixing a CSV."""
    # Only AlertRow validates across columns, and it blames window_end.
    column = str(error["loc"][0]) if error["loc"] else "window_end"
    got = raw.get(column, "")
    if got == "":
        return column, "expected a value, got an empty cell"
    if error["type"] == "value_error" or column not in EXPECTED:
        message = str(error["msg"]).removeprefix("Value error, ")
        expected = message[:1].lower() + message[1:]
    else:
        expected = EXPECTED[column]
    return column, f"expected {expected}, got {got!r}"


def parse_csv(path: Path, spec: Table) -> list[BaseModel]:
    """Validate every row of one CSV file; raise ImportFailed at the first bad one."""
    if not path.is_file() and not spec.required_file:
        return []
    if not path.is_file():
        raise ImportFailed(f"{path.name}: file not found in {path.parent}")
    try:
        return _parse_rows(path, spec)
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            f"{path.name}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); "
            "save the file as UTF-8 CSV"
        ) from None


def _parse_rows(path: Path, spec: Table) -> list[BaseModel]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in spec.required if c not in header]
        if missing:
            raise ImportFailed(
                f"{path.name}:1: missing column(s) {', '.join(missing)}; "
                f"expected columns: {', '.join(spec.columns)}"
            )
        unknown = [c for c in header if c not in spec.columns]
        if unknown:
            raise ImportFailed(
                f"{path.name}:1: unknown column(s) {', '.join(unknown)}; "
                f"expected columns: {', '.join(spec.columns)}"
            )
        reader.fieldnames = header
        rows: list[BaseModel] = []
        for raw in reader:
            if None in raw:  # more cells than the header has columns
                raise ImportFailed(
                    f"{path.name}:{reader.line_num}: {len(header) + len(raw[None])} cells, "  # type: ignore[index]
                    f"expected {len(header)}"
                )
            cells = {k: (v or "").strip() for k, v in raw.items()}
            values = {k: v for k, v in cells.items() if not (v == "" and k in spec.optional)}
            try:
                rows.append(spec.row_model.model_validate(values))
            except ValidationError as exc:
                column, message = _describe(exc.errors()[0], cells)
                raise ImportFailed(f"{path.name}:{reader.line_num}:{column}: {message}") from None
    return rows


def _account(row: dict[str, Any]) -> Account:
    """A stored account row (lists as `;`-joined text) as the domain model."""
    return Account.model_validate(AccountRow.model_validate(row).model_dump())


# --- the store ------------------------------------------------------------------------


class Store:
    """Market data and alerts in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            for spec in TABLES:
                conn.execute(_create_table_sql(spec))
            for statement in _INDEXES:
                conn.execute(statement)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Store:
        return cls((settings or get_settings()).db_path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            yield conn

    # -- import --

    def import_dir(self, directory: Path) -> ImportReport:
        """Load the five CSV files in one transaction: every row lands, or none does."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ImportFailed(f"{directory}: not a directory")
        present = [s for s in TABLES if s.required_file or (directory / s.file).is_file()]
        parsed = {spec.file: parse_csv(directory / spec.file, spec) for spec in present}
        report = ImportReport()
        with self._connect() as conn:
            for spec in present:
                before = self._count(conn, spec.table)
                conn.executemany(
                    _upsert_sql(spec),
                    [
                        [_db_value(getattr(row, c)) for c in spec.columns]
                        for row in parsed[spec.file]
                    ],
                )
                report.rows[spec.file] = len(parsed[spec.file])
                report.added[spec.file] = self._count(conn, spec.table) - before
        return report

    @staticmethod
    def _count(conn: sqlite3.Connection, table: str) -> int:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            return {spec.table: self._count(conn, spec.table) for spec in TABLES}

    def is_empty(self) -> bool:
        return not any(self.counts().values())

    # -- reads --

    def _frame(self, sql: str, params: Sequence[Any]) -> pd.DataFrame:
        with self._connect() as conn:
            frame = pd.read_sql(sql, conn, params=list(params))
        if "timestamp" in frame:
            frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
        return frame

    def _rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, list(params))]

    def get_alert(self, alert_id: str, tenant: str | None = None) -> Alert | None:
        sql, params = "SELECT * FROM alerts WHERE id = ?", [alert_id]
        if tenant is not None:
            sql, params = sql + " AND tenant = ?", [alert_id, tenant]
        rows = self._rows(sql + " ORDER BY tenant", params)
        return Alert.model_validate(rows[0]) if rows else None

    def first_alert_named(self, tenant: str, candidates: Sequence[str]) -> Alert | None:
        """The first of `candidates` that is an alert id of `tenant`, in one query
        (the A2A façade reads alert ids out of free text)."""
        if not candidates:
            return None
        marks = ",".join("?" * len(candidates))
        rows = self._rows(
            f"SELECT * FROM alerts WHERE tenant = ? AND id IN ({marks})", [tenant, *candidates]
        )
        by_id = {row["id"]: row for row in rows}
        first = next((c for c in candidates if c in by_id), None)
        return Alert.model_validate(by_id[first]) if first is not None else None

    def list_alerts(self, tenant: str | None = None) -> list[Alert]:
        sql, params = "SELECT * FROM alerts", []
        if tenant is not None:
            sql, params = sql + " WHERE tenant = ?", [tenant]
        rows = self._rows(sql + " ORDER BY window_start, id", params)
        return [Alert.model_validate(row) for row in rows]

    def get_account(self, account_id: str) -> Account | None:
        accounts = self.get_accounts([account_id])
        return accounts[0] if accounts else None

    def get_accounts(self, account_ids: Sequence[str]) -> list[Account]:
        if not account_ids:
            return []
        marks = ", ".join("?" for _ in account_ids)
        rows = self._rows(f"SELECT * FROM accounts WHERE id IN ({marks}) ORDER BY id", account_ids)
        return [_account(row) for row in rows]

    def accounts_linking_to(self, account_id: str) -> list[Account]:
        """Accounts that list `account_id` among their linked accounts."""
        rows = self._rows(
            "SELECT * FROM accounts WHERE (';' || linked_accounts || ';') LIKE ?",
            [f"%;{account_id};%"],
        )
        return [_account(row) for row in rows]

    def accounts_of_owner(self, beneficial_owner: str) -> list[Account]:
        rows = self._rows("SELECT * FROM accounts WHERE beneficial_owner = ?", [beneficial_owner])
        return [_account(row) for row in rows]

    def insiders_of(self, instrument: str) -> list[Account]:
        rows = self._rows(
            "SELECT * FROM accounts WHERE (';' || insider_of || ';') LIKE ?", [f"%;{instrument};%"]
        )
        return [_account(row) for row in rows]

    def trades(
        self,
        instrument: str,
        start: datetime,
        end: datetime,
        accounts: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Trades in [start, end]; with `accounts`, those where one of them is on either side."""
        sql = "SELECT * FROM trades WHERE instrument = ? AND timestamp >= ? AND timestamp <= ?"
        params: list[Any] = [instrument, to_db_time(start), to_db_time(end)]
        if accounts is not None:
            marks = ", ".join("?" for _ in accounts) or "NULL"
            sql += f" AND (account IN ({marks}) OR counterparty_account IN ({marks}))"
            params += [*accounts, *accounts]
        return self._frame(sql + " ORDER BY timestamp, trade_id", params)

    def account_trades(
        self, account: str, instrument: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        return self.trades(instrument, start, end, accounts=[account])

    def bars(self, instrument: str, start: datetime, end: datetime) -> pd.DataFrame:
        return self._frame(
            "SELECT * FROM bars WHERE instrument = ? AND timestamp >= ? AND timestamp <= ? "
            "ORDER BY timestamp",
            [instrument, to_db_time(start), to_db_time(end)],
        )

    def benchmark_of(self, instrument: str) -> str | None:
        """The benchmark instrument.csv maps `instrument` to, if any."""
        rows = self._rows("SELECT benchmark FROM instruments WHERE instrument = ?", [instrument])
        return str(rows[0]["benchmark"]) if rows else None

    def announcements(self, instrument: str, start: datetime, end: datetime) -> list[Announcement]:
        rows = self._rows(
            "SELECT * FROM announcements WHERE instrument = ? AND timestamp >= ? "
            "AND timestamp <= ? ORDER BY timestamp",
            [instrument, to_db_time(start), to_db_time(end)],
        )
        return [Announcement.model_validate(row) for row in rows]
