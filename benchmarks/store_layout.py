"""Where ttvkit's DuckDB store keeps its events, for A2's hand-written peer.

A2 compares ttvkit's DuckDB store with hand-written SQL *on the store's own
table*. The table and its columns are read from the database file (DuckDB's
catalog), not assumed, so the peer follows the store's schema.
"""

from __future__ import annotations

from pathlib import Path

import data
from analysis import DuckDBTable

import ttvkit


def fill_duckdb_store(path: Path, source: Path) -> None:
    """Append the Parquet log to a fresh DuckDB store at *path*, one batch at a time."""
    with ttvkit.open_store(f"duckdb:///{path}") as store:
        for batch in data.parquet_batches(source, batch_size=200_000):
            store.append(data.batch_events(batch))


_USER = ("user_id", "customer_id", "user")
_NAME = ("name", "event", "event_name")
_TIME = ("ts", "timestamp", "time", "at")


def duckdb_layout(path: Path) -> DuckDBTable:
    """The table of events in the store's file and its user, name and time columns."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as db:
        rows = db.execute(
            "SELECT table_schema, table_name, column_name, data_type "
            "FROM information_schema.columns ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall()
    tables: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, kind in rows:
        tables.setdefault((schema, table), {})[column] = kind
    for (schema, table), columns in tables.items():
        user = next((c for c in _USER if c in columns), None)
        name = next((c for c in _NAME if c in columns and "VARCHAR" in columns[c]), None)
        ts = next((c for c in _TIME if c in columns and "TIMESTAMP" in columns[c]), None)
        if user and name and ts:
            return DuckDBTable(
                f'"{schema}"."{table}"', {"user": f'"{user}"', "name": f'"{name}"', "ts": f'"{ts}"'}
            )
    raise RuntimeError(
        f"{path}: no table with a user column, a text event name and a TIMESTAMP column; "
        f"tables: {sorted(tables)}. Teach benchmarks/store_layout.py the store's schema."
    )
