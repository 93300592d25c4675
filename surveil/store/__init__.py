"""The market-data store, split by job: `schema` (the tables and the CSV rows that fill
them), `csv_import` (the streamed, checked, all-or-nothing import) and `queries` (the
`Store` and its reads)."""

from surveil.store.csv_import import ImportFailed, ImportReport, parse_csv
from surveil.store.queries import Store
from surveil.store.schema import TABLES, TIMESTAMP_FORMAT, to_db_time

__all__ = [
    "TABLES",
    "TIMESTAMP_FORMAT",
    "ImportFailed",
    "ImportReport",
    "Store",
    "parse_csv",
    "to_db_time",
]
