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
