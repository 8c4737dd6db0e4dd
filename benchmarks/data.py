"""Benchmark data: the seeded SaaS log of ``ttvkit.datasets`` in the shapes contenders read.

Everything is built from :func:`ttvkit.datasets.saas_event_rows` with one
seed, so every contender sees the same events. Expensive artefacts (the two
SQLite files and a Parquet file) are cached under ``benchmarks/.cache/`` (git-ignored), keyed by
the generator's source, the store's schema and the user count, so a
change to either rebuilds them. Rows, events and DataFrames live only in the
process (a dict per size), because regenerating them is about as fast as
unpickling them.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from harness import CACHE

import ttvkit.datasets
import ttvkit.io
from ttvkit import ValueEvent
from ttvkit.stores.sqlite import MIGRATIONS, SCHEMA_VERSION, SQLiteStore

Row = tuple[str, str, str, str, datetime, dict[str, Any]]

# Bump when the way this module lays data out changes.
_LAYOUT = 1


@cache
def _generator_key() -> str:
    # The migrations' text too: an unreleased schema may change without a version bump.
    key = f"{inspect.getsource(ttvkit.datasets)}|{MIGRATIONS!r}|{SCHEMA_VERSION}|{_LAYOUT}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@cache
def rows(n_users: int, seed: int) -> list[Row]:
    """The log as ``(event_id, user_id, account_id, name, timestamp, properties)`` rows."""
    return list(ttvkit.datasets.saas_event_rows(n_users, seed=seed))


@cache
def events(n_users: int, seed: int) -> list[ValueEvent]:
    """The same rows as validated :class:`ValueEvent` objects."""
    return [
        ValueEvent(user_id, name, ts, props, account_id, event_id)
        for event_id, user_id, account_id, name, ts, props in rows(n_users, seed)
    ]


def iso(ts: datetime) -> str:
    """A timestamp as fixed-width ISO text, so that text order is time order."""
    return ts.isoformat(timespec="microseconds")


def text_rows(n_users: int, seed: int) -> Iterator[tuple[str, str, str, str, str, str]]:
    """Rows with text columns, as a hand-written ingest would store them."""
    for event_id, user_id, account_id, name, ts, props in rows(n_users, seed):
        yield event_id, user_id, account_id, name, iso(ts), json.dumps(props)


def _cached(kind: str, n_users: int, seed: int, suffix: str = ".sqlite") -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    return CACHE / f"{kind}-{_generator_key()}-s{seed}-u{n_users}{suffix}"


def _build(path: Path, fill: Any) -> Path:
    """Build a database at a temporary name and rename it: a crash leaves no half file."""
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    fill(partial)
    os.replace(partial, path)
    return path


def ttvkit_sqlite(n_users: int, seed: int) -> Path:
    """The log in a :class:`~ttvkit.stores.sqlite.SQLiteStore` file (ttvkit's own schema)."""

    def fill(path: Path) -> None:
        log = events(n_users, seed)
        with SQLiteStore(path, synchronous="NORMAL") as store:
            for start in range(0, len(log), 20_000):
                store.append(log[start : start + 20_000])
        # Fold the WAL into the main file so the rename moves everything.
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
        db.close()

    return _build(_cached("ttvkit", n_users, seed), fill)


def parquet(n_users: int, seed: int) -> Path:
    """The log in a Parquet file as :func:`ttvkit.io.write_parquet` lays it out."""
    from ttvkit.io import write_parquet

    def fill(path: Path) -> None:
        write_parquet(events(n_users, seed), path)

    return _build(_cached("events", n_users, seed, ".parquet"), fill)


NAIVE_SCHEMA = (
    "CREATE TABLE events (event_id TEXT, user_id TEXT, account_id TEXT, name TEXT, "
    "ts TEXT, properties TEXT)"
)
NAIVE_INDEX = "CREATE INDEX events_name_user_ts ON events (name, user_id, ts)"


def naive_sqlite(n_users: int, seed: int) -> Path:
    """The log in the naive layout: one table, text columns, one index on (name, user, ts)."""

    def fill(path: Path) -> None:
        db = sqlite3.connect(path)
        with db:
            db.execute(NAIVE_SCHEMA)
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", text_rows(n_users, seed))
            db.execute(NAIVE_INDEX)
        db.close()

    return _build(_cached("naive", n_users, seed), fill)


@cache
def frame(n_users: int, seed: int) -> Any:
    """The log as a pandas DataFrame (timestamps as ``datetime64[ns, UTC]``, no properties)."""
    import pandas as pd

    log = rows(n_users, seed)
    return pd.DataFrame(
        {
            "event_id": [r[0] for r in log],
            "user_id": [r[1] for r in log],
            "account_id": [r[2] for r in log],
            "name": [r[3] for r in log],
            "ts": pd.to_datetime([r[4] for r in log], utc=True),
        }
    )


def forget() -> None:
    """Drop the in-process copies (rows, events, frames) to free memory between sizes."""
    rows.cache_clear()
    events.cache_clear()
    frame.cache_clear()


# --------------------------------------------------------------------------- logs at scale
#
# The analysis scenarios (A1-A4, R1, S1, M1) run up to 1e8 events: far more than a list
# of rows in memory. Such a log is generated per chunk of CHUNK_USERS users, each chunk
# by ``saas_event_rows`` with a seed derived from the log's seed and the chunk's number
# (chunk 0 uses the seed itself), renumbered so that user, account and event ids are
# disjoint across chunks, and streamed to a Parquet file one row group per chunk. Every
# chunk covers the generator's whole year, so a bigger log is more users signing up over
# the same period, not a longer period. A log of at most CHUNK_USERS users (1e5 and 1e6
# events) is exactly the log of ``rows()``. Every other shape (SQLite files, DuckDB
# databases, DataFrames, events) is read back from that Parquet file, so all contenders
# see the same events.

CHUNK_USERS = 100_000

#: Bump when the way the scaled logs are laid out changes.
_SCALED_LAYOUT = 1


def chunk_seed(seed: int, chunk: int) -> int:
    """The generator seed of *chunk* in a log seeded *seed* (chunk 0: the seed itself)."""
    if chunk == 0:
        return seed
    digest = hashlib.sha256(f"ttvkit-benchmarks:{seed}:{chunk}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


@cache
def _scaled_key() -> str:
    key = f"{inspect.getsource(ttvkit.datasets)}|{CHUNK_USERS}|{_SCALED_LAYOUT}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _scaled(kind: str, size: int, seed: int, suffix: str, extra: str = "") -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    key = _scaled_key()
    if extra:
        key = hashlib.sha256(f"{key}|{extra}".encode()).hexdigest()[:12]
    return CACHE / f"{kind}-{key}-s{seed}-e{size}{suffix}"


def parquet_schema() -> Any:
    """The columns of :func:`ttvkit.io.write_parquet`, so every ttvkit reader knows them."""
    import pyarrow as pa

    from ttvkit.io import CSV_COLUMNS

    types = {"timestamp": pa.timestamp("us", tz="UTC")}
    return pa.schema(
        [
            pa.field(column, types.get(column, pa.string()), nullable=column == "account_id")
            for column in CSV_COLUMNS
        ]
    )


def _chunk_table(
    n_users: int, seed: int, chunk: int, width: int, first_user: int, ids: list[int]
) -> Any:
    """Chunk *chunk* of a log of *n_users* users as an Arrow table; ``ids`` holds the
    running (event, account) counters and is advanced."""
    import numpy as np
    import pyarrow as pa

    users = min(CHUNK_USERS, n_users - first_user)
    event_ids: list[str] = []
    user_ids: list[str] = []
    account_ids: list[str] = []
    names: list[str] = []
    seconds: list[float] = []
    properties: list[str] = []
    user_map: dict[str, str] = {}
    account_map: dict[str, str] = {}
    dumps = json.dumps
    event_counter, account_counter = ids
    prefix = f"s{seed}-"
    for _, user, account, name, ts, props in ttvkit.datasets.saas_event_rows(
        users, seed=chunk_seed(seed, chunk)
    ):
        global_user = user_map.get(user)
        if global_user is None:
            global_user = user_map[user] = f"u{first_user + int(user[1:]):0{width}d}"
        global_account = account_map.get(account)
        if global_account is None:
            global_account = account_map[account] = (
                f"a{account_counter + int(account[1:]):0{width}d}"
            )
        event_counter += 1
        event_ids.append(f"{prefix}{event_counter:012d}")
        user_ids.append(global_user)
        account_ids.append(global_account)
        names.append(name)
        seconds.append(ts.timestamp())
        properties.append(
            dumps(props, ensure_ascii=False, separators=(",", ":")) if props else "{}"
        )
    ids[:] = [event_counter, account_counter + len(account_map)]
    micros = np.rint(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    schema = parquet_schema()
    columns = [
        pa.array(event_ids, pa.string()),
        pa.array(user_ids, pa.string()),
        pa.array(account_ids, pa.string()),
        pa.array(names, pa.string()),
        pa.array(micros).cast(schema.field("timestamp").type),
        pa.array(properties, pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def scaled_parquet(size: int, seed: int, log: Any = None) -> Path:
    """The log of about *size* events (``users_for(size)`` users) as a Parquet file in the
    layout of :func:`ttvkit.io.write_parquet`, generated in bounded memory (one chunk of
    CHUNK_USERS users at a time) and cached."""
    from harness import users_for

    n_users = users_for(size)

    def fill(path: Path) -> None:
        import time

        import pyarrow.parquet as pq

        width = len(str(n_users))
        ids = [0, 0]
        started = time.perf_counter()
        with pq.ParquetWriter(path, parquet_schema()) as writer:
            for chunk, first in enumerate(range(0, n_users, CHUNK_USERS)):
                writer.write_table(
                    _chunk_table(n_users, seed, chunk, width, first, ids),
                    row_group_size=1 << 21,
                )
                if log is not None and chunk % 10 == 9:
                    log(
                        f"generating {path.name}: {first + CHUNK_USERS:,} of {n_users:,} users, "
                        f"{ids[0]:,} events, {time.perf_counter() - started:.0f} s"
                    )
        if log is not None:
            log(
                f"generated {ids[0]:,} events ({n_users:,} users) in "
                f"{time.perf_counter() - started:.0f} s"
            )

    return _build(_scaled("events", size, seed, ".parquet"), fill)


def event_count(path: Path) -> int:
    """Rows of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def parquet_batches(path: Path, batch_size: int = 50_000) -> Iterator[Any]:
    """The Parquet file's record batches, in file order."""
    import pyarrow.parquet as pq

    yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


def batch_events(batch: Any) -> list[ValueEvent]:
    """A record batch of the write_parquet layout as validated :class:`ValueEvent` objects."""
    columns = [batch.column(name).to_pylist() for name in ttvkit.io.CSV_COLUMNS]
    loads = json.loads
    return [
        ValueEvent(user_id, name, ts, loads(props), account_id, event_id)
        for event_id, user_id, account_id, name, ts, props in zip(*columns, strict=True)
    ]


def batch_text_rows(batch: Any) -> list[tuple[str, str, str, str, str, str]]:
    """A record batch as the naive table's text rows (timestamps as fixed-width ISO text)."""
    columns = [batch.column(name).to_pylist() for name in ttvkit.io.CSV_COLUMNS]
    return [
        (event_id, user_id, account_id, name, iso(ts), props)
        for event_id, user_id, account_id, name, ts, props in zip(*columns, strict=True)
    ]


def scaled_events(size: int, seed: int) -> list[ValueEvent]:
    """The whole scaled log as events (only for sizes that fit in memory: A4)."""
    return [e for batch in parquet_batches(scaled_parquet(size, seed)) for e in batch_events(batch)]


def scaled_frame(size: int, seed: int) -> Any:
    """The scaled log as the pandas DataFrame of :func:`frame` (no properties)."""
    import pandas as pd

    table = pd.read_parquet(
        scaled_parquet(size, seed),
        columns=["event_id", "user_id", "account_id", "name", "timestamp"],
    )
    return table.rename(columns={"timestamp": "ts"})


def scaled_ttvkit_sqlite(size: int, seed: int, log: Any = None) -> Path:
    """The scaled log in a :class:`~ttvkit.stores.sqlite.SQLiteStore` file."""
    source = scaled_parquet(size, seed, log)

    def fill(path: Path) -> None:
        with SQLiteStore(path, synchronous="NORMAL") as store:
            for batch in parquet_batches(source):
                store.append(batch_events(batch))
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
        db.close()

    extra = f"{MIGRATIONS!r}|{SCHEMA_VERSION}"
    return _build(_scaled("ttvkit", size, seed, ".sqlite", extra), fill)


def scaled_naive_sqlite(size: int, seed: int, log: Any = None) -> Path:
    """The scaled log in the naive layout of :func:`naive_sqlite`."""
    source = scaled_parquet(size, seed, log)

    def fill(path: Path) -> None:
        db = sqlite3.connect(path)
        with db:
            db.execute(NAIVE_SCHEMA)
            for batch in parquet_batches(source):
                db.executemany(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", batch_text_rows(batch)
                )
            db.execute(NAIVE_INDEX)
        db.close()

    return _build(_scaled("naive", size, seed, ".sqlite"), fill)


def duckdb_unavailable() -> str:
    """Why this build cannot write a DuckDB store, or '' when it can."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return "not available in this build (duckdb is not installed: pip install duckdb)"
    try:
        store = ttvkit.open_store("duckdb://")
    except (ttvkit.TTVError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0]
        return f"not available in this build ({type(exc).__name__}: {first})"
    store.close()
    return ""


def scaled_duckdb(size: int, seed: int, log: Any = None) -> Any:
    """The scaled log in a file of ttvkit's DuckDB store, with where its events sit
    (for the hand-written peer) and how many there are; ``None`` when this build has
    no DuckDB store (:func:`duckdb_unavailable` says why)."""
    if duckdb_unavailable():
        return None
    from store_layout import duckdb_layout, fill_duckdb_store

    source = scaled_parquet(size, seed, log)
    path = _build(
        _scaled("duckdb", size, seed, ".duckdb", duckdb_store_key()),
        lambda partial: fill_duckdb_store(partial, source),
    )
    return path, duckdb_layout(path), event_count(source)


def duckdb_store_key() -> str:
    """The DuckDB store module's source: a change to its schema rebuilds the file."""
    import importlib

    store = ttvkit.open_store("duckdb://")
    module = importlib.import_module(type(store).__module__)
    store.close()
    return hashlib.sha256(inspect.getsource(module).encode()).hexdigest()[:12]
