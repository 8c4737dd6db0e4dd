"""I1 and I2: durable ingest of the log, into SQLite and into PostgreSQL.

Every contender starts from the same in-memory rows (``datetime`` timestamps,
``dict`` properties) and the clock stops when the last event is durable:
after ``Tracker.flush()`` returned (every batch committed) or the baseline's
``COMMIT``. Each run writes into a fresh file or a fresh scratch schema.

ttvkit contenders:

* the tracker: ``track()`` per row (validation on the caller's thread, as an
  app would call it) with the background writer storing batches of 1,000;
  its queue holds the whole log, so nothing is dropped;
* the store alone: ``store.append()`` of pre-built ``ValueEvent`` objects in
  batches of 1,000 (the writer's batch size): what storing costs once events
  exist.

Peers: the plain statement a hand-written ingest would use
(``sqlite3.executemany`` / psycopg ``COPY``) into a table with text columns
(JSON text or ``jsonb`` properties) and no index, serialising timestamps and
properties on the way as ttvkit must; and the same into a table carrying the
keys and indexes of ttvkit's schema, which shows what the indexes cost.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import data
from harness import (
    CACHE,
    Check,
    Context,
    Sample,
    Scenario,
    Series,
    Table,
    fmt_size,
    interleave,
    users_for,
)

from ttvkit.observations import to_micros
from ttvkit.stores.sqlite import MIGRATIONS, SQLiteStore
from ttvkit.tracker import Tracker, TrackerConfig

BATCH = 1000

TRACKER = "ttvkit Tracker.track() + flush()"
APPEND = "ttvkit store.append(), batches of 1,000"
PLAIN_SQLITE = "sqlite3.executemany, plain table"
INDEXED_SQLITE = "sqlite3.executemany, ttvkit's indexes"
PLAIN_COPY = "psycopg COPY, plain table"
INDEXED_COPY = "psycopg COPY, ttvkit's key and indexes"


def _track_all(tracker: Tracker, rows: list[data.Row]) -> None:
    track = tracker.track
    for event_id, user_id, account_id, name, ts, props in rows:
        track(
            user_id,
            name,
            timestamp=ts,
            properties=props,
            account_id=account_id,
            event_id=event_id,
        )
    if not tracker.flush():
        raise RuntimeError(f"the tracker lost events: {tracker.stats()}")


def _tracker_config(n: int) -> TrackerConfig:
    return TrackerConfig(batch_size=BATCH, max_queue_size=n + 1)


def _rate(n: int, seconds: float) -> Sample:
    return {"rate": n / seconds, "seconds": seconds}


# --------------------------------------------------------------------------- SQLite


def _scratch_file(directory: Path) -> Path:
    fd, name = tempfile.mkstemp(suffix=".sqlite", dir=directory)
    os.close(fd)
    os.unlink(name)
    return Path(name)


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def _sqlite_contenders(n_users: int, seed: int, directory: Path) -> dict[str, Callable[[], Sample]]:
    rows = data.rows(n_users, seed)
    events = data.events(n_users, seed)  # for append(); built before any timer starts
    n = len(rows)

    def tracker() -> Sample:
        path = _scratch_file(directory)
        try:
            store = SQLiteStore(path)  # synchronous=FULL: an append is durable on return
            tracker = Tracker(store, config=_tracker_config(n))
            start = time.perf_counter()
            _track_all(tracker, rows)
            seconds = time.perf_counter() - start
            tracker.close()
            store.close()
        finally:
            _remove(path)
        return _rate(n, seconds)

    def append() -> Sample:
        path = _scratch_file(directory)
        try:
            with SQLiteStore(path) as store:
                start = time.perf_counter()
                for i in range(0, n, BATCH):
                    store.append(events[i : i + BATCH])
                seconds = time.perf_counter() - start
        finally:
            _remove(path)
        return _rate(n, seconds)

    def executemany(indexed: bool) -> Callable[[], Sample]:
        def run() -> Sample:
            path = _scratch_file(directory)
            try:
                db = sqlite3.connect(path, isolation_level=None)
                # The durability ttvkit's store gives: WAL, fsync at every commit.
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                if indexed:
                    for statement in MIGRATIONS[0]:
                        db.execute(statement)
                    db.executemany(
                        "INSERT INTO ttv_names (name) VALUES (?)",
                        [(name,) for name in sorted({r[3] for r in rows})],
                    )
                    ids = dict(db.execute("SELECT name, id FROM ttv_names"))
                    insert = (
                        "INSERT INTO ttv_events (event_id, user_id, account_id, name_id, ts, "
                        "properties) VALUES (?, ?, ?, ?, ?, ?)"
                    )
                else:
                    db.execute(data.NAIVE_SCHEMA)
                    insert = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)"
                start = time.perf_counter()
                db.execute("BEGIN")
                if indexed:
                    db.executemany(
                        insert,
                        (
                            (i, u, a, ids[nm], to_micros(ts), json.dumps(p) if p else None)
                            for i, u, a, nm, ts, p in rows
                        ),
                    )
                else:
                    db.executemany(
                        insert,
                        ((i, u, a, nm, data.iso(ts), json.dumps(p)) for i, u, a, nm, ts, p in rows),
                    )
                db.execute("COMMIT")
                seconds = time.perf_counter() - start
                db.close()
            finally:
                _remove(path)
            return _rate(n, seconds)

        return run

    return {
        TRACKER: tracker,
        APPEND: append,
        PLAIN_SQLITE: executemany(indexed=False),
        INDEXED_SQLITE: executemany(indexed=True),
    }


def run_sqlite(ctx: Context) -> Scenario:
    scenario = Scenario(
        "I1",
        "Durable ingest into SQLite",
        "A fresh database file per run (on disk, WAL, synchronous=FULL for every contender); "
        "events per second until the last event is committed (higher is better).",
    )
    directory = CACHE / "scratch"
    directory.mkdir(parents=True, exist_ok=True)
    for size in ctx.sizes:
        contenders = _sqlite_contenders(users_for(size), ctx.seed, directory)
        n = len(data.rows(users_for(size), ctx.seed))
        ctx.log(f"I1 {fmt_size(size)}: {n:,} events")
        results = interleave(contenders, ctx.repeat, warmup=False)
        scenario.tables.append(_rate_table(size, n, results, TRACKER))
        data.forget()
    _rate_checks(scenario, PLAIN_SQLITE, floor=200_000, share=0.5)
    return scenario


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_contenders(n_users: int, seed: int, url: str) -> dict[str, Callable[[], Sample]]:
    import psycopg
    from psycopg import sql

    from ttvkit.stores.postgres import PostgresStore

    rows = data.rows(n_users, seed)
    events = data.events(n_users, seed)
    n = len(rows)
    counter = iter(range(1_000_000))

    def scratch() -> str:
        return f"ttvkit_bench_{os.getpid()}_{next(counter)}"

    def drop(schema: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def tracker() -> Sample:
        schema = scratch()
        try:
            store = PostgresStore(url, schema=schema)
            store.count()  # create the tables before the clock starts
            tracker = Tracker(store, config=_tracker_config(n))
            start = time.perf_counter()
            _track_all(tracker, rows)
            seconds = time.perf_counter() - start
            tracker.close()
            store.close()
        finally:
            drop(schema)
        return _rate(n, seconds)

    def append() -> Sample:
        schema = scratch()
        try:
            with PostgresStore(url, schema=schema) as store:
                store.count()
                start = time.perf_counter()
                for i in range(0, n, BATCH):
                    store.append(events[i : i + BATCH])
                seconds = time.perf_counter() - start
        finally:
            drop(schema)
        return _rate(n, seconds)

    def copy(indexed: bool) -> Callable[[], Sample]:
        def run() -> Sample:
            schema = scratch()
            table = sql.Identifier(schema, "events")
            try:
                with psycopg.connect(url) as conn:
                    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                    conn.execute(
                        sql.SQL(
                            "CREATE TABLE {} (event_id text, user_id text, account_id text, "
                            "name text, ts timestamptz, properties jsonb)"
                        ).format(table)
                    )
                    if indexed:
                        conn.execute(
                            sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (event_id)").format(table)
                        )
                        conn.execute(sql.SQL("CREATE INDEX ON {} (ts, event_id)").format(table))
                        conn.execute(sql.SQL("CREATE INDEX ON {} (name, ts)").format(table))
                    conn.commit()
                    start = time.perf_counter()
                    with (
                        conn.cursor() as cur,
                        cur.copy(
                            sql.SQL(
                                "COPY {} (event_id, user_id, account_id, name, ts, properties) "
                                "FROM STDIN"
                            ).format(table)
                        ) as out,
                    ):
                        for i, u, a, nm, ts, p in rows:
                            out.write_row((i, u, a, nm, ts, json.dumps(p)))
                    conn.commit()
                    seconds = time.perf_counter() - start
            finally:
                drop(schema)
            return _rate(n, seconds)

        return run

    return {
        TRACKER: tracker,
        APPEND: append,
        PLAIN_COPY: copy(indexed=False),
        INDEXED_COPY: copy(indexed=True),
    }


def _server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def run_postgres(ctx: Context) -> Scenario:
    scenario = Scenario(
        "I2",
        "Durable ingest into PostgreSQL",
        "A fresh scratch schema per run (dropped afterwards) on the local server; events per "
        "second until the last event is committed (higher is better).",
    )
    try:
        version = _server_version(ctx.postgres_url)
    except Exception as exc:  # any failure means: not measured, and why
        scenario.checks.append(Check("≥100k events/s", f"not measured: {exc}", None))
        return scenario
    scenario.setup += f" PostgreSQL {version} at 127.0.0.1, over TCP."
    for size in ctx.sizes:
        contenders = _postgres_contenders(users_for(size), ctx.seed, ctx.postgres_url)
        n = len(data.rows(users_for(size), ctx.seed))
        ctx.log(f"I2 {fmt_size(size)}: {n:,} events")
        results = interleave(contenders, ctx.repeat, warmup=False)
        scenario.tables.append(_rate_table(size, n, results, TRACKER))
        data.forget()
    _rate_checks(scenario, PLAIN_COPY, floor=100_000, share=None)
    return scenario


# --------------------------------------------------------------------------- reporting


def _rate_table(
    size: int, n: int, results: dict[str, dict[str, list[float]]], reference: str
) -> Table:
    return Table(
        f"{fmt_size(size)} events ({n:,}), events/s",
        [
            Series(name, metrics["rate"], "events/s", name.startswith("ttvkit"), True)
            for name, metrics in results.items()
        ],
        reference,
    )


def _rate_checks(scenario: Scenario, plain: str, *, floor: int, share: float | None) -> None:
    for table in scenario.tables:
        size = table.title.split(" ", 1)[0]
        tracker = table.get(TRACKER).median
        baseline = table.get(plain).median
        scenario.checks.append(
            Check(
                f"≥{floor // 1000}k events/s via the tracker ({size})",
                f"{tracker:,.0f} events/s (the plain {plain.split(',')[0]}: {baseline:,.0f})",
                tracker >= floor,
            )
        )
        if share is not None:
            ratio = table.ratio(plain)
            scenario.checks.append(
                Check(
                    f"≥{share}× the plain {plain.split(',')[0]} rate ({size})",
                    f"{ratio:.2f}×",
                    ratio >= share,
                )
            )
