"""What the store holds: the tables, the CSV row each is filled from, and their SQL.

Timestamps are stored as fixed-width UTC text (`2024-03-04T14:30:00.000000Z`), so a
string comparison in SQL is a chronological one. Lists are `;`-joined text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator, model_validator

from surveil.models import Account, Alert, Announcement, PriceBar, Trade

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
LIST_SEPARATOR = ";"

PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeNumber = Annotated[float, Field(ge=0, allow_inf_nan=False)]
NonEmpty = Annotated[str, Field(min_length=1)]


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
class Reference:
    """A column whose values must name a row that exists (in the files or the store)."""

    column: str
    target: str  # "account" or "instrument"


@dataclass(frozen=True)
class Table:
    """One CSV file and the table it fills."""

    file: str
    table: str
    row_model: type[BaseModel]
    key: tuple[str, ...]
    optional: tuple[str, ...] = ()
    required_file: bool = True
    references: tuple[Reference, ...] = ()

    @property
    def columns(self) -> list[str]:
        return list(self.row_model.model_fields)

    @property
    def required(self) -> list[str]:
        return [c for c in self.columns if c not in self.optional]


# In import order: a file's references point at files before it (or at the store).
TABLES: tuple[Table, ...] = (
    Table(
        "accounts.csv",
        "accounts",
        AccountRow,
        ("id",),
        optional=("address", "insider_of", "linked_accounts"),
    ),
    Table("instruments.csv", "instruments", InstrumentRow, ("instrument",), required_file=False),
    Table("bars.csv", "bars", BarRow, ("instrument", "timestamp")),
    Table("announcements.csv", "announcements", AnnouncementRow, ("instrument", "timestamp")),
    Table(
        "trades.csv",
        "trades",
        TradeRow,
        ("trade_id",),
        references=(Reference("account", "account"), Reference("counterparty_account", "account")),
    ),
    Table(
        "alerts.csv",
        "alerts",
        AlertRow,
        ("tenant", "id"),
        optional=("tenant", "description"),
        references=(Reference("account", "account"), Reference("instrument", "instrument")),
    ),
)
TABLE_BY_NAME = {spec.table: spec for spec in TABLES}

_SQL_TYPES = {float: "REAL", bool: "INTEGER"}


def column_definitions(spec: Table) -> list[str]:
    return [
        f"{name} {_SQL_TYPES.get(info.annotation, 'TEXT')} NOT NULL"  # type: ignore[arg-type]
        for name, info in spec.row_model.model_fields.items()
    ]


def create_table_sql(spec: Table) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {spec.table} ("
        + ", ".join(column_definitions(spec))
        + f", PRIMARY KEY ({', '.join(spec.key)}))"
    )


INDEXES = (
    "CREATE INDEX IF NOT EXISTS trades_by_instrument_time ON trades (instrument, timestamp)",
    "CREATE INDEX IF NOT EXISTS trades_by_account ON trades (account, instrument, timestamp)",
    "CREATE INDEX IF NOT EXISTS trades_by_counterparty "
    "ON trades (counterparty_account, instrument, timestamp)",
)


def db_value(value: Any) -> Any:
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


def account_from_row(row: dict[str, Any]) -> Account:
    """A stored account row (lists as `;`-joined text) as the domain model."""
    return Account.model_validate(AccountRow.model_validate(row).model_dump())
