"""SQLiteStore: the same answers as observe(), on real SQLite files, under concurrency."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ttvkit
import ttvkit.stores.sqlite.connection as sqlite_connection
import ttvkit.stores.sqlite.schema as sqlite_schema
from ttvkit import (
    AnalysisError,
    ConfigurationError,
    InvalidMilestoneError,
    Milestone,
    SchemaVersionError,
    Store,
    StoreError,
    StoreUnavailableError,
    ValueEvent,
    event,
    open_store,
    total,
)
from ttvkit.conditions import AllOf, AnyOf, Condition, all_of, any_of, ge, gt, le, lt, one_of
from ttvkit.observations import (
    Attribute,
    FirstTime,
    Observation,
    Per,
    PropertyOf,
    StartProperty,
    observe,
)
from ttvkit.stores.sqlite import SCHEMA_VERSION, SQLiteStore

from .strategies import (
    BASE,
    HOSTILE,
    attribute_lists,
    conditions,
    dense_logs,
    event_logs,
    milestones,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
PERS: list[Per] = ["user", "account"]
SRC = str(Path(ttvkit.__file__).resolve().parents[1])


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
        user,
        name,
        T0 + timedelta(minutes=minutes),
        properties,
        account_id=account,
        event_id=event_id,
    )


def typed(rows: Sequence[Observation]) -> list[tuple[Observation, tuple[type, ...]]]:
    """Observations with the type of every attribute: True == 1 == 1.0 must not pass."""
    return [(o, tuple(type(a) for a in o.attributes)) for o in rows]


def exact(events: Sequence[ValueEvent]) -> list[str]:
    """Events as JSON text, so that 1, 1.0 and True differ."""
    return [json.dumps(e.to_dict(), sort_keys=True) for e in events]


def unique_in_order(events: Sequence[ValueEvent]) -> list[ValueEvent]:
    first: dict[str, ValueEvent] = {}
    for e in events:
        first.setdefault(e.event_id, e)
    return sorted(first.values(), key=lambda e: (e.timestamp, e.event_id))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ttv.db"


# -- the same answers as observe() ------------------------------------------------------

as_of_times = st.one_of(
    st.none(), st.integers(0, 6 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))
)


@st.composite
def any_start_milestones(draw: st.DrawFn) -> tuple[Milestone, list[Attribute]]:
    """Milestones whose start is any condition (total, all_of, any_of too)."""
    start = draw(conditions())
    milestone = Milestone(
        "m",
        reached=draw(conditions()),
        start=start,
        window=draw(st.sampled_from([None, timedelta(hours=5), timedelta(days=2)])),
        before_start=draw(st.sampled_from(["zero", "ignore", "exclude"])),
    )
    attributes = draw(attribute_lists(milestone))
    if isinstance(start, AllOf | AnyOf):  # no one start event to read
        attributes = [a for a in attributes if not isinstance(a, StartProperty)]
    return milestone, attributes


@given(event_logs(hostile=True), any_start_milestones(), as_of_times, st.sampled_from(PERS))
def test_observations_equal_observe_with_any_start_condition(
    events: list[ValueEvent],
    milestone_and_attributes: tuple[Milestone, list[Attribute]],
    as_of: datetime | None,
    per: Per,
) -> None:
    milestone, attributes = milestone_and_attributes
    expected = observe(events, milestone, as_of=as_of, per=per, attributes=attributes)
    with SQLiteStore() as store:
        store.append(events)
        got = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
    assert typed(got) == typed(expected)


def test_a_file_store_answers_like_observe_after_reopening(db: Path) -> None:
    events = [
        ev("u1", "signup", 0, {"plan": "pro", "seats": 3}),
        ev("u1", "invoice", 30, {"amount": 60.5}),
        ev("u1", "invoice", 90, {"amount": 40}),
        ev("u2", "signup", 10, {"plan": "free", "seats": 1.0}, account="acme"),
        ev("u2", "invoice", 20, {"amount": True}, account="acme"),
        ev("u3", "invoice", 5, {"amount": 500}, account="acme"),
        ev("u3", "signup", 50, {"plan": ["nested"]}, account="acme"),
    ]
    milestone = Milestone("roi", total("invoice", "amount", at_least=100), start="signup")
    attributes: list[Attribute] = [
        StartProperty("plan"),
        StartProperty("seats"),
        FirstTime(event("invoice")),
        PropertyOf(event("invoice"), "amount", "last"),
    ]
    with SQLiteStore(db) as store:
        assert store.append(events) == len(events)
    with SQLiteStore(db) as store:
        for per in ("user", "account"):
            got = store.observations(milestone, per=per, attributes=attributes)
            want = observe(events, milestone, per=per, attributes=attributes)
            assert typed(got) == typed(want)
        got = store.observations(milestone, attributes=attributes)
    by_user = {o.customer_id: o for o in got}
    assert by_user["u1"].reached_at == T0 + timedelta(minutes=90)
    assert by_user["u1"].attributes == ("pro", 3, T0 + timedelta(minutes=30), 40)
    assert type(by_user["u2"].attributes[1]) is float
    assert by_user["u2"].attributes[3] is True
    assert by_user["u3"].attributes[0] is None  # a list reads as None
    assert by_user["u3"].reached_before_start


@pytest.mark.parametrize("before_start", ["zero", "ignore", "exclude"])
@pytest.mark.parametrize("per", ["user", "account"])
def test_a_datetime_start_is_the_later_of_it_and_the_first_event(
    before_start: str, per: str
) -> None:
    release = T0 + 10 * H
    events = [
        ev("early", "page", 0, {"plan": "pro"}, account="a1"),  # clock starts at release
        ev("early", "feature", 60, account="a1"),  # used before the release
        ev("early", "feature", 11 * 60, account="a1"),
        ev("late", "feature", 12 * 60, {"plan": ["x"]}, event_id="b", account="a2"),
        ev("late", "page", 12 * 60, {"plan": "team"}, event_id="a", account="a2"),
        ev("never", "page", 13 * 60, {"plan": 1}),  # no account: ignored per account
    ]
    milestone = Milestone(
        "adopt",
        event("feature").nth(1),
        start=release,
        before_start=before_start,
        window=timedelta(hours=30),
    )
    attributes: list[Attribute] = [StartProperty("plan"), FirstTime(event("page"))]
    with SQLiteStore() as store:
        store.append(events)
        got = store.observations(milestone, per=per, attributes=attributes)  # type: ignore[arg-type]
        early = store.observations(milestone, per=per, as_of=T0 + 9 * H)  # type: ignore[arg-type]
    want = observe(events, milestone, per=per, attributes=attributes)  # type: ignore[arg-type]
    assert typed(got) == typed(want)
    assert early == []  # nobody's clock has started before the release
    rows = {o.customer_id: (o.start, o.reached_at, o.attributes[0]) for o in got}
    late = "late" if per == "user" else "a2"
    early_customer = "early" if per == "user" else "a1"
    # the first event at the start time by event_id ("a": a page) is the start event
    assert rows[late] == (T0 + 12 * H, T0 + 12 * H, "team")
    expected_early = {
        "zero": (release, release, "pro"),
        "ignore": (release, T0 + 11 * H, "pro"),
        "exclude": None,
    }[before_start]
    assert rows.get(early_customer) == expected_early
    assert ("never" in rows) == (per == "user")


CONDITIONS: list[Condition] = [
    event("report"),
    event("report", where={"plan": "pro"}),
    event("report", where={"plan": None}),
    event("report", where={"flag": True}),
    event("report", where={"flag": False}),
    event("report", where={"n": 1}),
    event("report", where={"n": one_of(1, "1", None)}),
    event("report", where={"n": gt(2**70)}),
    event("report", where={"n": lt(-(2**70))}),
    event("report", where={"n": ge(2**63)}),
    event("report", where={"n": le(2**63 + 1)}),
    event("report", where={"n": 2**63}),
    event("report", where={"n": 10**30}),
    event("report", where={"n": gt(1.5), "x.y": "dot"}),
    event("report", where={'a"b': "quote", "$[0]": 0}),
    event("report", where={"k'; --": lt(0)}),
    event("report").nth(3),
    total("report", "n", at_least=10),
    total("report", "x.y", at_least=3),
    all_of("report", event("report", where={"flag": True})),
    any_of(event("nothing"), event("report", where={"n": gt(5)})),
]


@pytest.mark.parametrize("reached", CONDITIONS, ids=lambda c: c.describe()[:60])
def test_predicates_match_like_python_on_tricky_values(reached: Condition) -> None:
    values: list[object] = [
        None,
        True,
        False,
        0,
        1,
        1.0,
        "1",
        2.5,
        7,
        -3,
        2**63 - 1,
        -(2**63),
        9.3e18,
        -9.3e18,
        float(2**63),
        1e300,
        [1],
        {"n": 1},
    ]
    events = [ev("u", "signup", 0)]
    for i, value in enumerate(values):
        for key in ("n", "flag", "plan", "x.y", 'a"b', "$[0]", "k'; --"):
            events.append(ev(f"u{i}", "signup", 0))
            events.append(ev(f"u{i}", "report", 1 + i, {key: value}))
            events.append(ev(f"u{i}", "report", 2 + i, {key: value, "plan": "pro"}))
    events.append(ev("u1", "report", 50, {"x.y": "dot", "n": 3}))
    attributes: list[Attribute] = [PropertyOf(event("report"), "n"), FirstTime(reached)]
    milestone = Milestone("m", reached)
    with SQLiteStore() as store:
        store.append(events)
        got = store.observations(milestone, attributes=attributes)
    assert typed(got) == typed(observe(events, milestone, attributes=attributes))


# -- appending --------------------------------------------------------------------------


def test_a_failed_append_leaves_nothing_behind(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.append([ev("u0", "signup", 0)])
        # A real constraint inside SQLite: this event id aborts the transaction.
        with sqlite3.connect(db) as raw:
            raw.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON ttv_events "
                "WHEN NEW.event_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        raw.close()
        batch = [
            ev("u1", "brand_new", 1, event_id="ok-1"),
            ev("u1", "signup", 2, event_id="poison"),
            ev("u1", "signup", 3, event_id="ok-2"),
        ]
        with pytest.raises(StoreError, match="refused"):
            store.append(batch)
        assert store.count() == 1
        with sqlite3.connect(db) as raw:
            names = {n for (n,) in raw.execute("SELECT name FROM ttv_names")}
        raw.close()
        assert names == {"signup"}  # the new name was rolled back too
        # Another writer takes the id "brand_new" would have had.
        with SQLiteStore(db) as other:
            other.append([ev("u2", "other_name", 4)])
        # The failed batch must not have left "brand_new" -> that id cached.
        assert store.append([ev("u1", "brand_new", 5, event_id="ok-1")]) == 1
        assert [(e.user_id, e.name) for e in store.events()] == [
            ("u0", "signup"),
            ("u2", "other_name"),
            ("u1", "brand_new"),
        ]


def test_timestamps_and_properties_round_trip_exactly(db: Path) -> None:
    props = {
        "int": 2**63 - 1,
        "neg": -(2**63),
        "float": 0.1 + 0.2,
        "tiny": 5e-324,
        "minus_zero": -0.0,
        "true": True,
        "null": None,
        "text": "é🚀漢字\n\t\"'\\",
        "nested": {"a": [1, 2.5, {"b": None}], "x.y": False},
        "\u2028": "line separator",
    }
    stamps = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    events = [ValueEvent("u", "x", t, props) for t in stamps]
    with SQLiteStore(db) as store:
        store.append(events)
    with SQLiteStore(db) as store:
        back = list(store.events())
    assert exact(back) == exact(unique_in_order(events))
    assert [e.timestamp for e in back] == stamps
    assert all(e.timestamp.tzinfo is UTC for e in back)
    assert back[0].properties["float"] == 0.1 + 0.2
    assert str(back[0].properties["minus_zero"]) == "-0.0"


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
    with SQLiteStore(db) as store:
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
    with sqlite3.connect(db) as raw:
        tables = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (count,) = raw.execute("SELECT COUNT(*) FROM ttv_events").fetchone()
    raw.close()
    assert {"ttv_meta", "ttv_names", "ttv_events"} <= tables
    assert count == len(HOSTILE)


# -- schema and migrations ----------------------------------------------------------------


def _meta(db: Path) -> dict[str, str]:
    raw = sqlite3.connect(db)
    try:
        return dict(raw.execute("SELECT key, value FROM ttv_meta"))
    finally:
        raw.close()


def test_a_new_or_empty_file_gets_the_current_schema_in_wal_mode(db: Path) -> None:
    db.touch()  # an empty file is an empty SQLite database
    with SQLiteStore(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.path == str(db)
    assert _meta(db) == {"schema_version": str(SCHEMA_VERSION)}
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        indexes = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        raw.close()
    assert "ttv_events_name_user_ts" in indexes


def test_migrations_are_applied_in_order_and_keep_the_data(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(db) as store:
        store.append([ev("u1", "signup", 0)])
    later = (
        *sqlite_schema.MIGRATIONS,
        ("CREATE TABLE ttv_test_v2 (x INTEGER)",),
        ("INSERT INTO ttv_test_v2 SELECT COUNT(*) FROM ttv_events",),
    )
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", later)
    with SQLiteStore(db) as store:
        assert store.schema_version() == SCHEMA_VERSION + 2
        assert store.count() == 1
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("SELECT x FROM ttv_test_v2").fetchall() == [(1,)]
    finally:
        raw.close()


def test_a_failed_migration_leaves_the_file_as_it_was(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore(db):
        pass
    broken = (*sqlite_schema.MIGRATIONS, ("CREATE TABLE ttv_ok (x)", "THIS IS NOT SQL"))
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match="syntax error"):
        SQLiteStore(db)
    assert _meta(db) == {"schema_version": str(SCHEMA_VERSION)}
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'ttv_ok'").fetchall() == []
    finally:
        raw.close()


def test_a_file_from_a_newer_ttvkit_is_refused(db: Path) -> None:
    with SQLiteStore(db):
        pass
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE ttv_meta SET value = ? WHERE key = 'schema_version'", ("99",))
    raw.close()
    with pytest.raises(SchemaVersionError, match=r"version 99.*Upgrade ttvkit"):
        SQLiteStore(db)


def test_a_file_that_is_not_a_database_is_refused(db: Path) -> None:
    db.write_bytes(b"this is a CSV file, not a database\n" * 100)
    with pytest.raises(StoreError, match="not an SQLite database"):
        SQLiteStore(db)


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"the directory .*missing does not exist; create it"):
        SQLiteStore(tmp_path / "missing" / "ttv.db")


# -- concurrency ------------------------------------------------------------------------


def test_threads_appending_to_one_file_store(db: Path) -> None:
    errors: list[BaseException] = []

    with SQLiteStore(db) as store:

        def work(worker: int) -> None:
            try:
                for batch in range(20):
                    events = [
                        ev(f"u{worker}", "tick", batch, event_id=f"{worker}-{batch}-{i}")
                        for i in range(10)
                    ]
                    # a shared id per batch: stored once, whoever wins
                    events.append(ev("shared", "tick", batch, event_id=f"shared-{batch}"))
                    store.append(events)
                    store.count()
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.count() == 6 * 20 * 10 + 20
        assert len({e.event_id for e in store.events()}) == store.count()


def test_threads_share_one_in_memory_store() -> None:
    with SQLiteStore() as store:
        threads = [
            threading.Thread(
                target=store.append,
                args=([ev(f"u{w}", "tick", i, event_id=f"{w}-{i}") for i in range(50)],),
            )
            for w in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.count() == 200
    with SQLiteStore() as other:
        assert other.count() == 0  # each in-memory store is its own database


def test_thread_connections_are_closed_when_their_threads_end(db: Path) -> None:
    with SQLiteStore(db) as store:
        threads = [threading.Thread(target=store.count) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        del t, threads
        gc.collect()
        # only the connection of this (the test's) thread remains
        assert sum(f.alive for f in store._finalizers) == 1


_WORKER = """
import sys
import time
from datetime import datetime, timedelta, timezone
from ttvkit import ValueEvent
from ttvkit.stores.sqlite import SQLiteStore

path, worker, go = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
time.sleep(max(0.0, go - time.time()))  # all open the new file at once
with SQLiteStore(path, timeout=60) as store:
    for batch in range(25):
        when = t0 + timedelta(seconds=batch)
        events = [
            ValueEvent(f"w{worker}", "tick", when, event_id=f"{worker}-{batch}-{i}")
            for i in range(8)
        ]
        events.append(ValueEvent("shared", "tick", t0, event_id=f"shared-{batch}"))
        store.append(events)
"""


def test_processes_creating_and_appending_to_one_file(db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    go = time.time() + 2.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(db), str(w), str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for w in workers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    with SQLiteStore(db) as store:
        assert store.count() == 4 * 25 * 8 + 25


def _fork() -> int:
    # Python 3.12+ warns about fork() whenever any thread runs (other test
    # modules may leave a tracker's writer thread behind); these children
    # only touch the store under test and exit with os._exit().
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        return os.fork()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists only on POSIX")
def test_a_forked_child_reconnects_instead_of_using_the_parents_connection(db: Path) -> None:
    store = SQLiteStore(db)
    store.append([ev("parent", "signup", 0)])
    parents_connection = store._local.handle.connection
    pid = _fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            assert parents_connection in sqlite_connection.INHERITED
            store.append([ev("child", "signup", 1)])
            assert store._local.handle.connection is not parents_connection
            code = 0 if store.count() == 2 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent's connection is untouched and sees the child's row
    assert store._local.handle.connection is parents_connection
    assert [e.user_id for e in store.events()] == ["parent", "child"]
    store.append([ev("parent", "report", 2)])
    assert store.count() == 3
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists only on POSIX")
def test_an_events_iterator_does_not_cross_a_fork(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.append([ev("u", "tick", i) for i in range(3)])
        iterator = store.events()
        assert next(iterator).user_id == "u"
        pid = _fork()
        if pid == 0:
            code = 1
            try:
                next(iterator)
            except StoreError as exc:
                code = 0 if "os.fork()" in str(exc) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert len(list(iterator)) == 2  # the parent's iterator still works


def test_a_writer_waits_for_the_lock_then_succeeds(db: Path) -> None:
    with SQLiteStore(db, timeout=10) as store:
        blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, lambda: blocker.execute("COMMIT"))
        release.start()
        started = time.monotonic()
        assert store.append([ev("u1", "signup", 0)]) == 1
        assert time.monotonic() - started >= 0.2
        release.join()
        blocker.close()


def test_a_writer_gives_up_after_the_timeout(db: Path) -> None:
    with SQLiteStore(db, timeout=0.3) as store:
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailableError, match="locked"):
                store.append([ev("u1", "signup", 0)])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.append([ev("u1", "signup", 0)]) == 1  # usable again


def test_readers_see_a_snapshot_while_a_writer_appends(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.append([ev("u", "tick", i, event_id=f"a{i}") for i in range(2500)])
        iterator = store.events()
        first = next(iterator)
        store.append([ev("u", "tick", -1, event_id="late")])  # sorts first
        rest = list(iterator)
        assert first.event_id == "a0"
        assert len(rest) == 2499  # a snapshot: the new event is not in it
        assert store.count() == 2501


# -- closing ----------------------------------------------------------------------------


def test_use_after_close_raises_and_close_is_idempotent(db: Path) -> None:
    store = SQLiteStore(db)
    store.append([ev("u1", "signup", 0)])
    pending = store.events()
    with store:
        pass
    store.close()
    milestone = Milestone("m", "report")
    for use in (
        lambda: store.append([ev("u1", "report", 1)]),
        lambda: list(store.events()),
        store.count,
        store.latest_timestamp,
        lambda: store.observations(milestone),
        lambda: list(pending),
    ):
        with pytest.raises(StoreError, match="closed"):
            use()
    assert "closed" in repr(store)


def test_closing_mid_iteration_ends_the_iterator_with_store_error(db: Path) -> None:
    for store in (SQLiteStore(db), SQLiteStore()):
        store.append([ev("u", "tick", i, event_id=f"e{i}") for i in range(3000)])
        iterator = store.events()
        next(iterator)
        store.close()
        with pytest.raises(StoreError, match="closed"):
            list(iterator)


# -- observations: arguments and fallbacks ----------------------------------------------


@attrs.frozen
class SecondEventOfAnyKind(Condition):
    """A condition ttvkit's SQL compiler does not know: the store falls back."""

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        return events[1].timestamp if len(events) > 1 else None

    def event_names(self) -> frozenset[str]:
        return frozenset({"signup", "report"})

    def describe(self) -> str:
        return "second event"


def test_unknown_conditions_fall_back_to_observe(db: Path) -> None:
    events = [ev("u1", "signup", 0), ev("u1", "report", 5), ev("u2", "signup", 1)]
    milestone = Milestone("m", SecondEventOfAnyKind())
    with SQLiteStore(db) as store:
        store.append(events)
        assert store.observations(milestone) == observe(events, milestone)


def test_the_plan_refuses_an_unknown_condition_with_a_ttvkit_error() -> None:
    # A store author calling build_plan on a user-defined condition gets one of
    # ttvkit's errors (it was a plain Exception), naming the class.
    from ttvkit.errors import TTVError
    from ttvkit.stores.sql import UnsupportedConditionError, build_plan

    with pytest.raises(UnsupportedConditionError, match="SecondEventOfAnyKind is not one") as e:
        build_plan(Milestone("m", SecondEventOfAnyKind()), "user", ())
    assert isinstance(e.value, TTVError)
    assert isinstance(e.value, NotImplementedError)


def test_observations_on_an_empty_store_and_bad_arguments() -> None:
    with SQLiteStore() as store:
        milestone = Milestone("m", "report")
        assert store.observations(milestone) == []
        assert store.observations(milestone, as_of=T0) == []
        store.append([ev("u1", "signup", 0)])
        with pytest.raises(AnalysisError, match="naive"):
            store.observations(milestone, as_of=datetime(2026, 1, 1))
        with pytest.raises(AnalysisError, match="per="):
            store.observations(milestone, per="team")  # type: ignore[arg-type]
        with pytest.raises(InvalidMilestoneError, match="StartProperty"):
            store.observations(
                Milestone("m", "report", start=any_of("signup", "invite")),
                attributes=[StartProperty("plan")],
            )
        with pytest.raises(AnalysisError, match="naive"):
            list(store.events(since=datetime(2026, 1, 1)))


# -- URLs -------------------------------------------------------------------------------


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative.db") as store:
        assert isinstance(store, SQLiteStore)
        assert isinstance(store, Store)
        assert store.path == str(tmp_path / "relative.db")
        store.append([ev("u1", "signup", 0)])
    absolute = tmp_path / "sub dir" / "abs.db"
    absolute.parent.mkdir()
    with open_store(f"sqlite:///{absolute}?timeout=5&synchronous=normal") as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(absolute)
        assert store._synchronous == "NORMAL"
        assert store._timeout == 5.0
    with open_store("sqlite:///we%3Fird%23.db") as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(tmp_path / "we?ird#.db")
    for url in ("sqlite://", "sqlite:///:memory:", "SQLITE://"):
        with open_store(url) as store:
            assert isinstance(store, SQLiteStore)
            assert store.path == ":memory:"
    assert (tmp_path / "relative.db").exists()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///",
        "sqlite://host/ttv.db",
        "sqlite:relative.db",
        "sqlite:///ttv.db?journal=off",
        "sqlite:///ttv.db?timeout=soon",
        "sqlite:///ttv.db?timeout=-1",
        "sqlite:///ttv.db?synchronous=OFF",
        "sqlite:///ttv.db?timeout",
        "sqlite:///ttv#.db",
        "postgresql:///ttv.db",
    ],
)
def test_bad_urls_are_configuration_errors(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError):
        SQLiteStore.from_url(url)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"timeout": float("nan")}, {"timeout": True}, {"synchronous": "OFF"}],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteStore(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        SQLiteStore("")


# -- the user guide ---------------------------------------------------------------------


def test_the_examples_in_docs_stores_sqlite_md_run(tmp_path: Path) -> None:
    """The ```python blocks of docs/stores-sqlite.md, except ``# sketch:`` ones, run in
    order as one script and print what the comments say."""
    text = (Path(SRC).parent / "docs" / "stores-sqlite.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    runnable = [b for b in blocks if not b.startswith("# sketch:")]
    assert len(runnable) == 4
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(runnable)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert printed[:4] == [
        "3 0 3",
        "u1 2:00:00 False",
        "u2 1:00:00 True",
        "[('report_created', 1), ('signup', 2)]",
    ]
    assert printed[4] == ("4" if hasattr(os, "fork") else "3")
    assert printed[5:] == [
        "[]",
        "properties are not valid JSON: Expecting property name enclosed in double quotes "
        "at character 1",
    ]


@given(events=dense_logs(), data=st.data())
def test_observations_equal_observe_on_dense_logs(
    events: list[ValueEvent], data: st.DataObject
) -> None:
    """Logs where nth, totals, windows and before-start rules actually decide."""
    as_of = data.draw(st.none() | st.integers(0, 100).map(lambda h: BASE + timedelta(hours=h)))
    with SQLiteStore() as store:
        store.append(events)
        for milestone in data.draw(st.lists(milestones(), min_size=3, max_size=3)):
            attributes = data.draw(attribute_lists(milestone))
            for per in ("user", "account"):
                expected = observe(events, milestone, as_of=as_of, per=per, attributes=attributes)  # type: ignore[arg-type]
                got = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)  # type: ignore[arg-type]
                assert typed(got) == typed(expected), per


def test_interpreter_exit_while_a_thread_writes_does_not_crash(tmp_path: Path) -> None:
    script = f"""
import sys, threading, time
sys.path.insert(0, {SRC!r})
from datetime import datetime, timezone
from ttvkit import ValueEvent
from ttvkit.stores.sqlite import SQLiteStore

store = SQLiteStore({str(tmp_path / "exit.db")!r})
started = threading.Event()

def write():
    i = 0
    while True:
        store.append([ValueEvent("u", "e", datetime.now(timezone.utc), event_id=f"e{{i}}")])
        i += 1
        started.set()

threading.Thread(target=write, daemon=True).start()
started.wait(10)
time.sleep(0.05)
"""
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    with SQLiteStore(tmp_path / "exit.db") as store:
        assert store.count() > 0


def test_a_sqlite_without_aggregate_filter_is_refused_on_open(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SQLite 3.29 parses window functions but not FILTER, which every analysis uses."""
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 29, 0))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.29.0")
    with pytest.raises(StoreError, match=r"SQLite 3\.29\.0 is too old .* needs 3\.30\.0"):
        SQLiteStore(tmp_path / "old.sqlite")
    assert not (tmp_path / "old.sqlite").exists()
