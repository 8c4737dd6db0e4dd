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

#: ttvkit's DuckDB events table as the fast fill writes it: (column, type) in order.
CANONICAL = (
    ("event_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("account_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("ts", "BIGINT"),
    ("properties", "JSON"),
)

# The rows DuckDBStore.append() writes for the events of the Parquet file: time as integer
# microseconds, properties as compact JSON text, NULL when empty.
FAST_FILL = """
INSERT INTO ttv_events
SELECT event_id, user_id, account_id, name, epoch_us("timestamp"),
       CASE WHEN properties = '{{}}' THEN NULL ELSE properties END::JSON
FROM read_parquet('{source}')
"""


def _columns(path: Path) -> tuple[tuple[str, str], ...]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as db:
        return tuple(
            db.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'ttv_events' ORDER BY ordinal_position"
            ).fetchall()
        )


def fill_by_append(path: Path, source: Path) -> None:
    """Append the Parquet log to a fresh DuckDB store at *path*, one batch at a time."""
    with ttvkit.open_store(f"duckdb:///{path}") as store:
        for batch in data.parquet_batches(source, batch_size=200_000):
            store.append(data.batch_events(batch))


def fill_by_sql(path: Path, source: Path) -> bool:
    """Let the store create its schema, then insert the rows its ``append()`` would write
    in one SQL statement; False (nothing inserted) when the table is not the one known."""
    import duckdb

    ttvkit.open_store(f"duckdb:///{path}").close()
    if _columns(path) != CANONICAL:
        return False
    with duckdb.connect(str(path)) as db:
        db.execute(FAST_FILL.format(source=source))
    return True


def _same_tables(a: Path, b: Path) -> bool:
    import duckdb

    with duckdb.connect() as db:
        db.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        db.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        columns = ", ".join(c for c, _ in CANONICAL[:5]) + ", properties::VARCHAR"
        differ = db.execute(
            f"SELECT count(*) FROM ((SELECT {columns} FROM a.ttv_events EXCEPT ALL "
            f"SELECT {columns} FROM b.ttv_events) UNION ALL (SELECT {columns} FROM b.ttv_events "
            f"EXCEPT ALL SELECT {columns} FROM a.ttv_events))"
        ).fetchone()
        return differ is not None and differ[0] == 0


def fill_duckdb_store(path: Path, source: Path) -> None:
    """The log of *source* in a DuckDB store at *path*, exactly as ``append()`` writes it.

    ``append()`` of 1e7 events through Python takes many minutes, so when the store's
    table is the known one the rows are inserted by SQL instead, after checking on the
    1e5-event log that both ways write the same rows.
    """
    small = data.scaled_parquet(100_000, 1)
    scratch = path.with_name(path.name + ".check")
    by_append, by_sql = Path(f"{scratch}-append"), Path(f"{scratch}-sql")
    for leftover in (by_append, by_sql, Path(f"{by_append}.wal"), Path(f"{by_sql}.wal")):
        leftover.unlink(missing_ok=True)
    try:
        fill_by_append(by_append, small)
        fast = fill_by_sql(by_sql, small) and _same_tables(by_append, by_sql)
    finally:
        for leftover in (by_append, by_sql, Path(f"{by_append}.wal"), Path(f"{by_sql}.wal")):
            leftover.unlink(missing_ok=True)
    if fast:
        path.unlink(missing_ok=True)
        fill_by_sql(path, source)
    else:
        path.unlink(missing_ok=True)
        fill_by_append(path, source)


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
        ts = next(
            (c for c in _TIME if c in columns and columns[c].startswith(("TIMESTAMP", "BIGINT"))),
            None,
        )
        if user and name and ts:
            # A BIGINT time column holds microseconds since the epoch (ttvkit's stores).
            micros = "epoch_us" if columns[ts].startswith("TIMESTAMP") else ""
            return DuckDBTable(
                f'"{schema}"."{table}"',
                {"user": f'"{user}"', "name": f'"{name}"', "ts": f'"{ts}"', "micros": micros},
            )
    raise RuntimeError(
        f"{path}: no table with a user column, a text event name and a time column "
        "(TIMESTAMP, or BIGINT microseconds); "
        f"tables: {sorted(tables)}. Teach benchmarks/store_layout.py the store's schema."
    )
