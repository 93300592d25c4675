"""The store's reads: one SQLite file holding accounts, trades, bars, announcements,
instruments and alerts, read as domain models and DataFrames.

SQLite because it ships with Python, needs no server, and gives the all-or-nothing
import for free (one transaction); the analytics read frames with `pandas.read_sql`.
A connection is opened per call, so the store is safe to share across the threads
LangGraph runs synchronous nodes in. What is stored: `schema.py`; how it gets there:
`csv_import.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from surveil.models import Account, Alert, Announcement
from surveil.settings import Settings, get_settings
from surveil.store.csv_import import ImportReport, Progress, import_dir
from surveil.store.schema import (
    INDEXES,
    TABLES,
    account_from_row,
    create_table_sql,
    to_db_time,
)


class Store:
    """Market data and alerts in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            for spec in TABLES:
                conn.execute(create_table_sql(spec))
            for statement in INDEXES:
                conn.execute(statement)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Store:
        return cls((settings or get_settings()).db_path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            yield conn

    # -- import --

    def import_dir(self, directory: Path, progress: Progress | None = None) -> ImportReport:
        """Load the CSV files in one transaction: every row lands, or none does
        (`csv_import.import_dir`)."""
        return import_dir(self._connect, directory, progress)

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
        return [account_from_row(row) for row in rows]

    def accounts_linking_to(self, account_id: str) -> list[Account]:
        """Accounts that list `account_id` among their linked accounts."""
        rows = self._rows(
            "SELECT * FROM accounts WHERE (';' || linked_accounts || ';') LIKE ?",
            [f"%;{account_id};%"],
        )
        return [account_from_row(row) for row in rows]

    def accounts_of_owner(self, beneficial_owner: str) -> list[Account]:
        rows = self._rows("SELECT * FROM accounts WHERE beneficial_owner = ?", [beneficial_owner])
        return [account_from_row(row) for row in rows]

    def insiders_of(self, instrument: str) -> list[Account]:
        rows = self._rows(
            "SELECT * FROM accounts WHERE (';' || insider_of || ';') LIKE ?", [f"%;{instrument};%"]
        )
        return [account_from_row(row) for row in rows]

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
