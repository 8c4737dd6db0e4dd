"""DuckDBStore: the same answers as observe() and the other stores, files and memory, threads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ttvkit
from ttvkit import (
    AnalysisError,
    ConfigurationError,
    Milestone,
    SchemaVersionError,
    Source,
    Store,
    StoreError,
    Tracker,
    ValueEvent,
    event,
    open_store,
    time_to_value,
)
from ttvkit.observations import Observation, PropertyOf
from ttvkit.stores import MemoryStore
from ttvkit.stores.duckdb import SCHEMA_VERSION, DuckDBStore
from ttvkit.stores.duckdb.engine import is_disk_full

from .file_limit import past_the_file_size_limit
from .strategies import BASE, HOSTILE, event_logs

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SRC = str(Path(ttvkit.__file__).resolve().parents[1])

as_of_times = st.one_of(
    st.none(), st.integers(0, 6 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))
)


def ev(
    user: str,
    name: str,
    minutes: float,
    properties: dict[str, object] | None = None,
    *,
    event_id: str | None = None,
    account: str | None = None,
) -> ValueEvent:
    return ValueEvent(
        user, name, T0 + timedelta(minutes=minutes), properties, account, event_id=event_id
    )


def exact(events: Sequence[ValueEvent]) -> list[str]:
    """Events as JSON text, so that 1, 1.0 and True differ."""
    return [json.dumps(e.to_dict(), sort_keys=True) for e in events]


def typed(rows: Sequence[Observation]) -> list[tuple[Observation, tuple[type, ...]]]:
    return [(o, tuple(type(a) for a in o.attributes)) for o in rows]


def unique_in_order(events: Sequence[ValueEvent]) -> list[ValueEvent]:
    first: dict[str, ValueEvent] = {}
    for e in events:
        first.setdefault(e.event_id, e)
    return sorted(first.values(), key=lambda e: (e.timestamp, e.event_id))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ttv.duckdb"


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DuckDBStore]:
    path = tmp_path / "ttv.duckdb" if request.param == "file" else ":memory:"
    with DuckDBStore(path) as opened:
        yield opened


# -- the protocol and the engine interface -------------------------------------------------


def test_a_duckdb_store_is_a_store_and_a_source(store: DuckDBStore) -> None:
    assert isinstance(store, Store)
    assert isinstance(store, Source)
    assert store.sql_engine == "duckdb"
    assert store.relation_sql == '"ttv_events"'
    assert store.schema_version() == SCHEMA_VERSION


def test_the_canonical_relation_has_the_documented_columns(store: DuckDBStore) -> None:
    store.append([ev("u1", "signup", 0, {"flag": True, "one": 1, "text": "1", "f": 2.0})])
    columns = store.query(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        ["ttv_events"],
    )
    assert columns == [
        ("event_id", "VARCHAR", "NO"),
        ("user_id", "VARCHAR", "NO"),
        ("account_id", "VARCHAR", "YES"),
        ("name", "VARCHAR", "NO"),
        ("ts", "BIGINT", "NO"),
        ("properties", "JSON", "YES"),
    ]
    ((ts, props, kinds),) = store.query(
        f"SELECT ts, properties, [json_type(properties, '$.flag'), json_type(properties, "
        f"'$.one'), json_type(properties, '$.text')] FROM {store.relation_sql}",
        [],
    )
    assert ts == 1_767_225_600_000_000
    assert json.loads(props) == {"flag": True, "one": 1, "text": "1", "f": 2.0}
    assert '"f":2.0' in props  # a float stays a float
    assert kinds == ["BOOLEAN", "UBIGINT", "VARCHAR"]


def test_query_binds_parameters_and_translates_errors(store: DuckDBStore) -> None:
    store.append([ev("u'1", "signup", 0), ev("u2", "signup", 1)])
    assert store.query(f"SELECT user_id FROM {store.relation_sql} WHERE user_id = ?", ["u'1"]) == [
        ("u'1",)
    ]
    with pytest.raises(StoreError, match="DuckDB failed"):
        store.query("SELECT no_such_column FROM ttv_events", [])


# -- the same answers as observe() ------------------------------------------------------------


def test_analyses_equal_the_memory_store(db: Path) -> None:
    from ttvkit.datasets import saas_events

    events = saas_events(60, seed=3)
    first_report = Milestone("first_report", event("report_created"), start=event("signup"))
    with DuckDBStore(db) as store:
        store.append(events)
    with open_store(f"duckdb:///{db}") as store, MemoryStore(events) as memory:
        assert time_to_value(store, first_report).to_dict() == (
            time_to_value(memory, first_report).to_dict()
        )
        assert ttvkit.compare(store, first_report, by="plan").to_dict() == (
            ttvkit.compare(memory, first_report, by="plan").to_dict()
        )


# -- appending ------------------------------------------------------------------------------


def test_a_large_batch_is_one_fast_statement(store: DuckDBStore) -> None:
    events = [ev(f"u{i % 97}", "x", i / 7, {"i": i}) for i in range(20_000)]
    assert store.append(events) == 20_000
    assert store.append(events[::2]) == 0
    assert store.count() == 20_000
    assert exact(list(store.events(users=["u5"]))) == exact(
        sorted((e for e in events if e.user_id == "u5"), key=lambda e: (e.timestamp, e.event_id))
    )


def test_a_failed_append_leaves_nothing_behind(db: Path) -> None:
    # A file of the current schema whose table refuses one event id: a real
    # failure inside DuckDB, half-way through the batch.
    raw = duckdb.connect(str(db))
    raw.execute("CREATE TABLE ttv_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    raw.execute("INSERT INTO ttv_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    raw.execute(
        "CREATE TABLE ttv_events (event_id VARCHAR NOT NULL PRIMARY KEY "
        "CHECK (event_id <> 'poison'), user_id VARCHAR NOT NULL, account_id VARCHAR, "
        "name VARCHAR NOT NULL, ts BIGINT NOT NULL, properties JSON)"
    )
    raw.close()
    with DuckDBStore(db) as store:
        store.append([ev("u0", "signup", 0)])
        batch = [
            ev("u1", "brand_new", 1, event_id="ok-1"),
            ev("u1", "signup", 2, event_id="poison"),
            ev("u1", "signup", 3, event_id="ok-2"),
        ]
        with pytest.raises(StoreError, match="CHECK"):
            store.append(batch)
        assert store.count() == 1
        assert store.append([batch[0], batch[2]]) == 2


def test_timestamps_and_properties_round_trip_exactly(db: Path) -> None:
    props = {
        "int": 2**63 - 1,
        "neg": -(2**63),
        "float": 0.1 + 0.2,
        "whole_float": 2.0,
        "tiny": 5e-324,
        "minus_zero": -0.0,
        "true": True,
        "one": 1,
        "one_text": "1",
        "null": None,
        "text": "é🚀漢字\n\t\"'\\\u0001",
        "nested": {"a": [1, 2.5, {"b": None}], "x.y": False},
        "\u2028": "line separator",
    }
    stamps = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    events = [ValueEvent("u", "x", t, props) for t in stamps]
    with DuckDBStore(db) as store:
        store.append(events)
    with DuckDBStore(db) as store:
        back = list(store.events())
    assert exact(back) == exact(unique_in_order(events))
    assert [e.timestamp for e in back] == stamps
    assert all(e.timestamp.tzinfo is UTC for e in back)
    assert type(back[0].properties["whole_float"]) is float
    assert type(back[0].properties["true"]) is bool
    assert str(back[0].properties["minus_zero"]) == "-0.0"


@settings(max_examples=60, deadline=None)
@given(events=event_logs(hostile=True))
def test_appends_store_the_same_with_numpy_arrays_or_lists(events: list[ValueEvent]) -> None:
    """With NumPy (``ttvkit[duckdb]``) a batch is registered as arrays; without it, bound
    as lists: the same events either way, and what the memory store keeps."""
    with DuckDBStore(":memory:") as arrays:
        new = arrays.append(events)
        with_numpy = exact(list(arrays.events()))
    without_numpy = mock.patch("ttvkit.stores.duckdb.store.numpy_or_none", return_value=None)
    with without_numpy, DuckDBStore(":memory:") as lists:
        assert lists.append(events) == new
        assert exact(list(lists.events())) == with_numpy
    with MemoryStore(events) as memory:
        assert exact(list(memory.events())) == with_numpy


def test_hostile_strings_are_data_and_the_tables_survive(db: Path) -> None:
    events = [
        ValueEvent(
            user_id=text,
            name=text[:200],
            timestamp=T0 + timedelta(seconds=i),
            properties={text: text, "k": text},
            account_id=text,
            event_id=f"{text}#{i}",
        )
        for i, text in enumerate(HOSTILE)
    ]
    with DuckDBStore(db) as store:
        assert store.append(events) == len(HOSTILE)
        assert exact(list(store.events())) == exact(events)
        for text in HOSTILE:
            assert [e.user_id for e in store.events(users=[text], names=[text[:200]])] == [text]
            condition = event(text[:200], where={text: text})
            milestone = Milestone("m", condition, start=condition)
            for per in ("user", "account"):
                got = store.observations(
                    milestone, per=per, attributes=[PropertyOf(condition, text)]
                )
                assert [(o.customer_id, o.attributes) for o in got] == [(text, (text,))]
        tables = {n for (n,) in store.query("SELECT table_name FROM information_schema.tables", [])}
        assert tables == {"ttv_meta", "ttv_events"}
        assert store.count() == len(HOSTILE)


# -- schema ---------------------------------------------------------------------------------


def test_a_file_from_a_newer_ttvkit_is_refused(db: Path) -> None:
    DuckDBStore(db).close()
    raw = duckdb.connect(str(db))
    raw.execute("UPDATE ttv_meta SET value = '99' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(SchemaVersionError, match=r"version 99.*pip install -U ttvkit"):
        DuckDBStore(db)


def test_a_file_that_is_not_a_database_is_refused(db: Path) -> None:
    db.write_text("not a database")
    with pytest.raises(StoreError, match="DuckDB"):
        DuckDBStore(db)


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory exists"):
        DuckDBStore(tmp_path / "no" / "such" / "dir" / "ttv.duckdb")


def test_the_data_survives_reopening(db: Path) -> None:
    with DuckDBStore(db) as store:
        store.append([ev("u1", "signup", 0, {"plan": "pro"})])
    with DuckDBStore(db) as store:
        assert store.count() == 1
        assert store.schema_version() == SCHEMA_VERSION
        assert store.append([ev("u1", "report", 5)]) == 1


# -- concurrency ----------------------------------------------------------------------------


def test_threads_appending_and_reading_one_store(store: DuckDBStore) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(25):
                # Overlapping ids between threads: each is stored once.
                store.append([ev(f"u{t}", "x", i, event_id=f"e{i}-{t % 2}") for _ in range(3)])
                store.count()
                list(store.events(users=[f"u{t}"]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count() == 50


def test_an_events_iterator_sees_its_snapshot_while_another_thread_appends(
    store: DuckDBStore,
) -> None:
    store.append([ev("u1", "x", i) for i in range(5000)])
    iterator = store.events()
    first = next(iterator)
    done = threading.Event()

    def writer() -> None:
        store.append([ev("u2", "y", i) for i in range(100)])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    assert done.is_set()
    assert 1 + sum(1 for _ in iterator) == 5000
    assert first.user_id == "u1"
    assert store.count() == 5100


def test_a_second_process_gets_store_unavailable(db: Path) -> None:
    with DuckDBStore(db) as store:
        store.append([ev("u1", "x", 0)])
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "from ttvkit.stores.duckdb import DuckDBStore\n"
            "from ttvkit import StoreUnavailableError\n"
            "try:\n DuckDBStore(sys.argv[2])\n"
            "except StoreUnavailableError as e:\n print('unavailable:', e)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, SRC, str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    assert "unavailable:" in out.stdout
    assert "one process at a time" in out.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE exists only on POSIX")
def test_a_full_disk_is_transient(db: Path) -> None:
    # A real failed write, portably: the process's file size limit (ulimit -f)
    # makes DuckDB fail with EFBIG ("File too large"), as a full disk fails
    # with ENOSPC ("No space left on device", checked by hand on a 300 KiB
    # tmpfs, which needs root to mount) and a quota with EDQUOT.
    out = past_the_file_size_limit("duckdb", db, blob=20_000, size=20)
    assert "unavailable:" in out, out
    assert "File too large" in out
    assert "is full" in out
    assert "retried: 20 count: 40" in out


@pytest.mark.parametrize(
    "words", ["No space left on device", "Disk quota exceeded", "File too large"]
)
def test_duckdbs_words_for_a_full_disk_are_transient(words: str) -> None:
    failed_commit = duckdb.TransactionException(
        "TransactionContext Error: Failed to commit: "
        f'Could not write file "ttv.duckdb.wal": {words}'
    )
    assert is_disk_full(failed_commit)
    assert is_disk_full(duckdb.IOException(f'IO Error: Could not write file "x": {words}'))
    # Only reopening cures an invalidated database: not worth retrying.
    assert not is_disk_full(duckdb.FatalException(f"FATAL Error: {words}"))
    assert not is_disk_full(
        duckdb.IOException("IO Error: Could not write file: Input/output error")
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists only on POSIX")
def test_a_forked_child_is_told_to_open_its_own_store(db: Path) -> None:
    with DuckDBStore(db) as store:
        store.append([ev("u1", "x", 0)])
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                store.count()
                message = b"no error"
            except StoreError as exc:
                message = str(exc).encode()
            os.write(write, message)
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        message = os.read(read, 4096).decode()
        os.close(read)
        assert "before os.fork()" in message
        assert store.count() == 1  # the parent's store still works


def test_a_tracker_writes_to_a_duckdb_file(db: Path) -> None:
    with Tracker(f"duckdb:///{db}") as tracker:
        for i in range(200):
            tracker.track(f"u{i % 7}", "signup" if i < 7 else "report", timestamp=T0)
        tracker.flush()
        assert tracker.stats().dropped == 0
    with open_store(f"duckdb:///{db}") as store:
        assert store.count() == 200


def test_use_after_close_raises_and_close_is_idempotent(store: DuckDBStore) -> None:
    store.append([ev("u1", "x", i) for i in range(3000)])
    iterator = store.events()
    next(iterator)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()
    with pytest.raises(StoreError, match="closed"):
        store.append([ev("u1", "x", 0)])
    with pytest.raises(StoreError, match="closed"):
        list(iterator)
    assert "closed" in repr(store)


# -- arguments and URLs -----------------------------------------------------------------------


def test_bad_arguments_are_analysis_errors(store: DuckDBStore) -> None:
    with pytest.raises(AnalysisError, match="naive"):
        list(store.events(since=datetime(2026, 1, 1)))
    with pytest.raises(AnalysisError, match="not one value"):
        list(store.events(users="u1"))
    assert store.latest_timestamp() is None
    assert store.observations(Milestone("m", event("x"), start=event("a"))) == []


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("duckdb:///rel.duckdb") as store:
        assert isinstance(store, DuckDBStore)
        assert store.path == str(tmp_path / "rel.duckdb")
    with open_store(f"duckdb:///{tmp_path}/abs.duckdb") as store:
        assert store.path == str(tmp_path / "abs.duckdb")
    with open_store("duckdb:///we%3Fird.duckdb") as store:
        assert store.path == str(tmp_path / "we?ird.duckdb")
    for memory in ("duckdb://", "duckdb:///:memory:", "DUCKDB://"):
        with open_store(memory) as store:
            assert store.path == ":memory:"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("duckdb://host/x.duckdb", "no host"),
        ("duckdb:///x.duckdb?threads=2", "no options"),
        ("duckdb:///", "no file name"),
        ("sqlite:///x.db", "expected 'duckdb:"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        DuckDBStore.from_url(url)


def test_without_duckdb_the_extra_is_named(tmp_path: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.modules['duckdb'] = None\n"
        "import ttvkit\n"
        "for attempt in (lambda: ttvkit.open_store('duckdb://'), "
        "lambda: ttvkit.scan(sys.argv[2])):\n"
        " try:\n  attempt()\n except ttvkit.MissingDependencyError as e:\n  print(e)"
    )
    path = tmp_path / "e.csv"
    path.write_text("user_id,name,timestamp\nu1,x,2026-01-01T00:00:00Z\n")
    out = subprocess.run(
        [sys.executable, "-c", code, SRC, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all("pip install 'ttvkit[duckdb]'" in line for line in lines)


def test_query_batches_fetch_the_rows_of_query_as_they_are_read(store: DuckDBStore) -> None:
    store.append([ev(f"u{i}", "signup", i) for i in range(5)])
    sql = f"SELECT user_id FROM {store.relation_sql} WHERE user_id <> ? ORDER BY ts"
    batches = store.query_batches(sql, ["u'x"], 2)
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [r for b in store.query_batches(sql, ["u'x"], 2) for r in b] == store.query(sql, ["u'x"])
    with pytest.raises(StoreError, match="DuckDB failed"):
        next(store.query_batches("SELECT no_such_column FROM ttv_events", []))


# -- columns handed over as arrays -----------------------------------------------------------


def test_query_int_columns_hands_back_64_bit_integer_arrays(store: DuckDBStore) -> None:
    from array import array

    store.append([ev(f"u{i}", "signup", i) for i in range(5)])
    sql = (
        f"SELECT ts, ts - ? AS shifted, CAST(1 AS TINYINT) AS one FROM {store.relation_sql} "
        "WHERE user_id <> ? ORDER BY ts"
    )
    columns = store.query_int_columns(sql, [60_000_000, "u'x"])
    assert columns is not None
    assert all(type(c) is array and c.typecode == "q" for c in columns)
    rows = store.query(sql, [60_000_000, "u'x"])
    assert [list(c) for c in columns] == [list(c) for c in zip(*rows, strict=True)]
    empty = store.query_int_columns(f"SELECT ts FROM {store.relation_sql} WHERE ts < 0", [])
    assert empty == [array("q")]
    # What is not a signed integer never becomes a wrong number.
    with pytest.raises(StoreError, match="a NULL in column 'n'"):
        store.query_int_columns("SELECT * FROM (VALUES (1), (NULL)) AS t(n)", [])
    for kind, value in (("float64", "1.5::DOUBLE"), ("uint64", "1::UBIGINT")):
        with pytest.raises(StoreError, match=f"values of type {kind} in column 'x'"):
            store.query_int_columns(f"SELECT {value} AS x", [])
    with pytest.raises(StoreError, match="DuckDB failed"):
        store.query_int_columns("SELECT no_such_column FROM ttv_events", [])


def test_query_columns_hands_back_the_rows_as_lists(store: DuckDBStore) -> None:
    store.append(
        [
            ev("u'x;\u00e9", "signup", 0, {"plan": "pro", "n": 1}),
            ev("u2", "signup", 1),
            ev("u3", "report_created", 2, {"n": True}),
        ]
    )
    sql = (
        f"SELECT user_id, ts, name, properties, CAST(properties AS JSON) AS j, ts > ? AS late, "
        f"CAST(ts > ? AS INTEGER) AS flag, account_id FROM {store.relation_sql} ORDER BY ts"
    )
    params = [60_000_000, 60_000_000]
    columns = store.query_columns(sql, params)
    assert columns is not None and all(type(c) is list for c in columns)
    rows = store.query(sql, params)
    assert columns == [list(c) for c in zip(*rows, strict=True)]
    assert columns[-1] == [None, None, None]  # NULLs are None
    empty = store.query_columns(f"SELECT user_id, ts FROM {store.relation_sql} WHERE ts < 0", [])
    assert empty == [[], []]
    # A type NumPy would change (round, or make an array of) is refused, never read.
    for value, kind in (
        ("1.5::DOUBLE", "DOUBLE"),
        ("1::HUGEINT", "HUGEINT"),
        ("[1, 2]", "INTEGER[]"),
        ("TIMESTAMP '2026-01-01'", "TIMESTAMP"),
    ):
        with pytest.raises(StoreError, match=f"values of type {re.escape(kind)} in column 'x'"):
            store.query_columns(f"SELECT {value} AS x", [])


def test_observation_columns_are_the_same_read_as_rows_without_numpy(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ttvkit.datasets import saas_events
    from ttvkit.observations import FirstTime, StartProperty
    from ttvkit.stores.duckdb import engine

    events = [
        *saas_events(60, seed=7),
        ev("b1", "report_created", 0),
        ev("b1", "signup", 3, {"plan": "1"}),
        ev("p1", "signup", 0, {"plan": True}),
    ]
    store.append(events)
    milestone = Milestone("first_report", event("report_created"), start=event("signup"))
    attributes = [StartProperty("plan"), FirstTime(event("tutorial_completed"))]
    as_columns = store.observation_columns(milestone, attributes=attributes)
    assert len(as_columns) > 60 and any(as_columns.reached_before_start)
    assert {True, "1"} <= set(as_columns.attributes[0])
    monkeypatch.setattr(engine, "numpy_or_none", lambda: None)
    assert store.query_columns("SELECT 1", []) is None
    assert store.observation_columns(milestone, attributes=attributes) == as_columns
    with MemoryStore(events) as memory:
        assert memory.observation_columns(milestone, attributes=attributes) == as_columns


def test_duration_cells_are_the_same_read_as_rows_without_numpy(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ttvkit.datasets import saas_events
    from ttvkit.stores.duckdb import engine

    # Ties and a milestone reached before the start, beside the demo's customers.
    events = [
        *saas_events(80, seed=5),
        ev("t1", "signup", 0),
        ev("t1", "report_created", 5),
        ev("t2", "signup", 0),
        ev("t2", "report_created", 5),
        ev("b1", "report_created", 0),
        ev("b1", "signup", 3),
    ]
    store.append(events)
    milestone = Milestone("first_report", event("report_created"), start=event("signup"))
    as_columns = store.duration_cells(milestone)
    assert as_columns.reached_before_start >= 1 and 2 in as_columns.reached
    monkeypatch.setattr(engine, "numpy_or_none", lambda: None)
    assert store.query_int_columns("SELECT 1", []) is None
    assert store.duration_cells(milestone) == as_columns
    with MemoryStore(events) as memory:
        assert memory.duration_cells(milestone) == as_columns


def test_without_numpy_duckdb_reads_rows(tmp_path: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.modules['numpy'] = None\n"
        "import ttvkit\n"
        "from ttvkit.datasets import saas_events\n"
        "m = ttvkit.Milestone('r', ttvkit.event('report_created'), start=ttvkit.event('signup'))\n"
        "events = saas_events(30, seed=2)\n"
        "with ttvkit.open_store('duckdb://') as store, ttvkit.MemoryStore(events) as memory:\n"
        "    store.append(events)\n"
        "    assert store.query_int_columns('SELECT 1', []) is None\n"
        "    print(ttvkit.time_to_value(store, m).to_dict() == "
        "ttvkit.time_to_value(memory, m).to_dict())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, SRC], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "True"
