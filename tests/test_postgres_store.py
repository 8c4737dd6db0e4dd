"""PostgresStore against a real PostgreSQL server (the ``postgres_url`` fixture).

Every test gets its own schema, dropped afterwards, so tests never see each
other's tables. Outages are staged with :mod:`tcp_proxy` (a loopback proxy
the test cuts and restores) and with ``pg_terminate_backend``.
"""

from __future__ import annotations

import importlib
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import attrs
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from ttvkit.conditions import Condition, all_of, any_of, event, ge, gt, lt, one_of, total
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    MissingDependencyError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
)
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone
from ttvkit.observations import FirstTime, PropertyOf, StartProperty, observe
from ttvkit.stores import open_store
from ttvkit.stores.postgres import SCHEMA_VERSION, PostgresStore

from .strategies import (
    BASE,
    HOSTILE,
    NAMES,
    attribute_lists,
    dense_logs,
    milestones,
)
from .tcp_proxy import TCPProxy
from .typed import typed

postgres = pytest.mark.postgres

HYPOTHESIS = settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def admin(postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A separate autocommit connection to look at (and tamper with) the tables."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def schema(admin: psycopg.Connection[tuple[object, ...]]) -> Iterator[str]:
    """A fresh schema name; the store creates it, the fixture drops it."""
    name = f"ttvtest_{uuid.uuid4().hex[:12]}"
    yield name
    admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def store(postgres_url: str, schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_url, schema=schema) as s:
        yield s


def table(schema: str, name: str = "ttv_events") -> sql.Identifier:
    return sql.Identifier(schema, name)


def stored_count(admin: psycopg.Connection[tuple[object, ...]], schema: str) -> int:
    row = admin.execute(sql.SQL("SELECT count(*) FROM {}").format(table(schema))).fetchone()
    assert row is not None
    return int(row[0])  # type: ignore[call-overload]


def empty(store: PostgresStore, admin: psycopg.Connection[tuple[object, ...]], schema: str) -> None:
    """Empty the store's table between hypothesis examples (the store creates it lazily)."""
    store.count()
    admin.execute(sql.SQL("TRUNCATE {}").format(table(schema)))


def backend_pids(admin: psycopg.Connection[tuple[object, ...]], application: str) -> set[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,)
    ).fetchall()
    return {int(r[0]) for r in rows}  # type: ignore[call-overload]


def ordered(events: Sequence[ValueEvent]) -> list[ValueEvent]:
    """Events as a store returns them: first occurrence of each id, by (time, id)."""
    unique: dict[str, ValueEvent] = {}
    for e in events:
        unique.setdefault(e.event_id, e)
    return sorted(unique.values(), key=lambda e: (e.timestamp, e.event_id))


def ev(i: int, user: str = "u1", name: str = "report", **props: object) -> ValueEvent:
    return ValueEvent(
        user, name, BASE + timedelta(seconds=i), properties=props or None, event_id=f"e{i}"
    )


def with_application_name(url: str, application: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={application}"


# ------------------------------------------------------ writing and reading


@postgres
def test_json_predicates_follow_python_rules(store: PostgresStore) -> None:
    events = [
        ValueEvent("u1", "signup", BASE),
        ValueEvent("u1", "x", BASE + timedelta(1), {"n": 1e16, "b": True, "s": "1"}),
        ValueEvent("u2", "signup", BASE),
        ValueEvent("u2", "x", BASE + timedelta(2), {"n": 10**16, "b": 1, "s": 1}),
        ValueEvent("u3", "signup", BASE),
        ValueEvent("u3", "x", BASE + timedelta(3), {"n": 2**53 + 1, "b": None, "s": [1]}),
    ]
    store.append(events)
    conditions: list[Condition] = [
        event("x", where={"n": 1e16}),
        event("x", where={"n": 10**16}),
        event("x", where={"n": 2**53 + 1}),
        event("x", where={"n": float(2**53)}),
        event("x", where={"b": True}),
        event("x", where={"b": 1}),
        event("x", where={"b": None}),
        event("x", where={"missing": None}),
        event("x", where={"s": "1"}),
        event("x", where={"s": 1}),
        event("x", where={"n": gt(9e15)}),
        event("x", where={"b": ge(1)}),
        event("x", where={"s": lt(2)}),
        event("x", where={"b": one_of(True, None)}),
    ]
    for condition in conditions:
        milestone = Milestone("m", reached=condition)
        assert typed(store.observations(milestone)) == typed(observe(events, milestone)), condition


@postgres
def test_events_pages_through_ties_in_code_point_order(store: PostgresStore) -> None:
    # More events than one page, on few timestamps, with ids whose code-point
    # order differs from any locale's order.
    ids = ["a", "B", "é", "Z", "_", "ä", "🚀", "a b", "a-b", "A"]
    events = [
        ValueEvent(
            f"u{i % 7}",
            NAMES[i % 3],
            BASE + timedelta(minutes=i % 5),
            {"i": i},
            event_id=f"{ids[i % len(ids)]}{i}",
        )
        for i in range(12_000)
    ]
    random.Random(4).shuffle(events)
    assert store.append(events) == len(events)

    assert typed(list(store.events())) == typed(ordered(events))
    since, until = BASE + timedelta(minutes=1), BASE + timedelta(minutes=3)
    assert list(store.events(names=["signup"], users=["u1", "u3"], since=since, until=until)) == [
        e
        for e in ordered(events)
        if e.name == "signup" and e.user_id in ("u1", "u3") and since <= e.timestamp <= until
    ]


@postgres
def test_reading_holds_no_lock_between_pages(store: PostgresStore) -> None:
    store.append([ev(i) for i in range(6000)])
    stream = store.events()
    next(stream)  # the first page is fetched; the stream is suspended
    writer = threading.Thread(target=store.append, args=([ev(10_000)],))
    writer.start()
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert sum(1 for _ in stream) >= 5999
    assert store.count() == 6001


# ---------------------------------------------------------------- observations


#: Few values, so that where-conditions and totals from the shared strategies match often.
@postgres
@HYPOTHESIS
@given(events=dense_logs(), data=st.data())
def test_observations_match_observe_on_dense_logs(
    store: PostgresStore,
    admin: psycopg.Connection[tuple[object, ...]],
    schema: str,
    events: list[ValueEvent],
    data: st.DataObject,
) -> None:
    empty(store, admin, schema)
    store.append(events)
    as_of = data.draw(st.none() | st.integers(0, 100).map(lambda h: BASE + timedelta(hours=h)))
    for milestone in data.draw(st.lists(milestones(), min_size=3, max_size=3)):
        attributes = data.draw(attribute_lists(milestone))
        for per in ("user", "account"):
            expected = observe(events, milestone, as_of=as_of, per=per, attributes=attributes)
            got = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
            assert typed(got) == typed(expected), per


def _synthetic_log(seed: int, n: int) -> list[ValueEvent]:
    rng = random.Random(seed)
    names = ["signup", "report", "invoice", "tutorial"]
    out = []
    for _ in range(n):
        user = rng.randrange(60)
        out.append(
            ValueEvent(
                f"user{user}",
                rng.choice(names),
                BASE + timedelta(minutes=rng.randrange(0, 20 * 24 * 60, 30)),
                {
                    "amount": rng.choice([rng.uniform(-5, 300), rng.randrange(100), "n/a", None]),
                    "plan": rng.choice(["free", "pro", "team"]),
                },
                account_id=None if user % 5 == 0 else f"acct{user % 7}",
                event_id=f"ev{rng.randrange(n * 2)}",  # some duplicates
            )
        )
    return out


@postgres
def test_observations_match_observe_on_a_larger_log(store: PostgresStore) -> None:
    events = _synthetic_log(seed=7, n=4000)
    store.append(events)
    released = BASE + timedelta(days=5)
    cases = [
        Milestone("first", reached="report"),
        Milestone("third", reached=event("report").nth(3), window=timedelta(days=3)),
        Milestone(
            "roi",
            reached=total("invoice", "amount", at_least=500),
            before_start="ignore",
        ),
        Milestone(
            "both",
            reached=all_of(event("tutorial"), event("report", where={"plan": "pro"})),
            start=event("signup").nth(2),
            before_start="exclude",
        ),
        Milestone(
            "either",
            reached=any_of(event("invoice", where={"amount": gt(100)}), event("report").nth(5)),
            start=released,
            window=timedelta(days=2),
        ),
        Milestone(
            "roi-start",
            reached="tutorial",
            start=total("invoice", "amount", at_least=50),
            before_start="ignore",
        ),
    ]
    attributes = [
        StartProperty("plan"),
        FirstTime(event("tutorial").nth(2)),
        PropertyOf(event("invoice"), "amount", "last"),
        PropertyOf(event("report", where={"plan": one_of("pro", "team")}), "plan"),
    ]
    for milestone in cases:
        for as_of in (None, BASE + timedelta(days=9)):
            for per in ("user", "account"):
                expected = observe(events, milestone, as_of=as_of, per=per, attributes=attributes)
                got = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
                assert typed(got) == typed(expected), (milestone.name, as_of, per)
                assert expected  # the case is not vacuous


@postgres
def test_ties_and_boundaries_follow_the_reference(store: PostgresStore) -> None:
    t0, t1, t2 = BASE, BASE + timedelta(hours=1), BASE + timedelta(hours=2)

    def at(t: datetime, name: str, event_id: str, user: str = "u1", **props: object) -> ValueEvent:
        return ValueEvent(user, name, t, props, account_id="acct", event_id=event_id)

    events = [
        # Two signups at once: "B" < "a" in code points (not in most locales).
        at(t0, "signup", "a", plan="free"),
        at(t0, "signup", "B", plan="pro"),
        # A report at the very start time, another before any signup of u2.
        at(t0, "report", "r1", amount=200),
        at(t0, "report", "r0", amount=-150),
        at(t1, "report", "r2", amount=60, plan=None),
        at(t1, "report", "r3", amount=True),
        at(t2, "report", "r4", plan=[1]),
        at(t0, "report", "x1", user="u2", amount=5),
        at(t1, "signup", "x2", user="u2"),
        at(t2, "report", "x3", user="u2", plan="pro"),
    ]
    store.append(events)
    attributes = [
        StartProperty("plan"),
        PropertyOf(event("report"), "amount", "first"),
        PropertyOf(event("report"), "plan", "last"),
        FirstTime(total("report", "amount", at_least=100)),
    ]
    cases = [
        Milestone("m", reached=total("report", "amount", at_least=100)),
        Milestone("m", reached="report", before_start="ignore"),
        Milestone("m", reached=event("report").nth(2), before_start="ignore"),
        Milestone("m", reached="report", before_start="exclude"),
        Milestone("m", reached=event("report", where={"plan": None}).nth(4)),
        Milestone("m", reached=event("report", where={"amount": gt(0)}).nth(3)),
        Milestone("m", reached="report", window=timedelta(minutes=30), before_start="ignore"),
        Milestone("m", reached=event("report").nth(4), start=t1 + timedelta(minutes=1)),
    ]
    for milestone in cases:
        for as_of in (None, t1):
            for per in ("user", "account"):
                expected = observe(events, milestone, as_of=as_of, per=per, attributes=attributes)
                got = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
                assert typed(got) == typed(expected), (milestone, as_of, per)

    (u1, u2) = store.observations(cases[0], attributes=attributes)
    assert u1.reached_at == t1  # 200 - 150 at t0 is 50; + 60 at t1 reaches 100
    # The start event is "B" (before "a"), the first report "r0" (before "r1"),
    # and the last report's plan a list, which reads as None.
    assert u1.attributes == ("pro", -150, None, t1)
    assert u2.reached_at is None  # 5 in all
    (_, u2) = store.observations(Milestone("m", reached="report"))
    assert u2.reached_before_start and u2.reached_at == u2.start == t1


@postgres
def test_extreme_bounds_and_windows(store: PostgresStore) -> None:
    events = [
        ValueEvent("u1", "signup", BASE),
        ValueEvent("u1", "x", BASE + timedelta(1), {"n": 2**63 - 1, "f": 1.7976931348623157e308}),
        ValueEvent("u1", "x", BASE + timedelta(2), {"n": -(2**63), "f": -1e-300}),
    ]
    store.append(events)
    cases = [
        Milestone("m", reached=event("x", where={"n": 10**400})),
        Milestone("m", reached=event("x", where={"f": gt(10**300), "n": lt(10**400)})),
        Milestone("m", reached=event("x", where={"n": ge(-(10**400))}).nth(2**63 - 1)),
        Milestone("m", reached=event("x", where={"f": lt(-(10**-400))})),
        Milestone("m", reached="nothing", window=timedelta(days=999_999_999)),
        Milestone("m", reached="x", window=timedelta.max, before_start="ignore"),
    ]
    for milestone in cases:
        assert typed(store.observations(milestone)) == typed(observe(events, milestone)), milestone
    assert [o.reached_at for o in store.observations(cases[1])] == [BASE + timedelta(1)]


@attrs.frozen
class _SecondOf(Condition):
    """A user-defined condition with no SQL form."""

    name: str

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        times = [e.timestamp for e in events if e.name == self.name]
        return times[1] if len(times) > 1 else None

    def event_names(self) -> frozenset[str]:
        return frozenset((self.name,))

    def describe(self) -> str:
        return f"second {self.name}"


@postgres
def test_user_defined_conditions_fall_back_to_python(store: PostgresStore) -> None:
    events = _synthetic_log(seed=3, n=500)
    store.append(events)
    milestone = Milestone("second", reached=_SecondOf("report"))
    assert typed(store.observations(milestone)) == typed(observe(events, milestone))
    assert store.observations(milestone)


@postgres
def test_naive_datetimes_are_rejected(store: PostgresStore) -> None:
    naive = datetime(2026, 1, 1)
    with pytest.raises(AnalysisError, match="aware"):
        store.observations(Milestone("m", reached="x"), as_of=naive)
    with pytest.raises(AnalysisError, match="since"):
        store.events(since=naive)


# ---------------------------------------------------------------- hostile input


@postgres
def test_sql_injection_is_stored_verbatim_and_harms_nothing(
    store: PostgresStore, admin: psycopg.Connection[tuple[object, ...]], schema: str
) -> None:
    events = [
        ValueEvent(
            user_id=text,
            name=text[:200],
            timestamp=BASE + timedelta(minutes=i),
            properties={text: text, "k": text, f"{text}'": [text]},
            account_id=text,
            event_id=f"{text}#{i}",
        )
        for i, text in enumerate(HOSTILE)
    ]
    assert store.append(events) == len(events)
    assert typed(list(store.events())) == typed(ordered(events))
    assert typed(list(store.events(names=[HOSTILE[0]], users=[HOSTILE[0]]))) == typed([events[0]])
    for text in HOSTILE:
        milestone = Milestone(
            "m", reached=event(text[:200], where={text: text}), start=event(text[:200])
        )
        attributes = [StartProperty(text), PropertyOf(event(text[:200]), text)]
        for per in ("user", "account"):
            got = store.observations(milestone, per=per, attributes=attributes)
            assert typed(got) == typed(observe(events, milestone, per=per, attributes=attributes))
            assert [o.customer_id for o in got] == [text]
    assert stored_count(admin, schema) == len(events)
    tables = admin.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
    ).fetchall()
    assert [t[0] for t in tables] == ["ttv_events", "ttv_schema_version"]


@pytest.mark.parametrize(
    "options",
    [
        {"schema": 'x"; DROP TABLE ttv_events; --'},
        {"schema": "public; DROP SCHEMA public"},
        {"schema": "Analytics"},
        {"schema": ""},
        {"schema": "a" * 64},
        {"table_prefix": "ttv'; --"},
        {"table_prefix": "x" * 41},
        {"connect_timeout": 0},
        {"connect_timeout": float("nan")},
    ],
)
def test_bad_options_are_rejected_before_connecting(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none", **options)  # type: ignore[arg-type]


@postgres
def test_hostile_schema_in_a_url_is_rejected(
    postgres_url: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    hostile = "x%22%3B%20DROP%20SCHEMA%20public%20CASCADE%3B%20--"
    with pytest.raises(ConfigurationError, match="schema"):
        PostgresStore.from_url(f"{postgres_url}?schema={hostile}")
    assert admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()


# ------------------------------------------------------------- URLs and options


@postgres
def test_url_options_are_ttvkits_and_the_rest_go_to_libpq(
    postgres_url: str, admin: psycopg.Connection[tuple[object, ...]], schema: str
) -> None:
    application = f"ttvtest_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}?schema={schema}&table_prefix=app_&connect_timeout=3"
    with PostgresStore.from_url(with_application_name(url, application)) as s:
        assert s.append([ev(1)]) == 1
        assert backend_pids(admin, application)
        assert "schema='" + schema in repr(s)
    tables = admin.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
    ).fetchall()
    assert [t[0] for t in tables] == ["app_events", "app_schema_version"]

    with open_store(f"{postgres_url}?schema={schema}&table_prefix=app_") as again:
        assert isinstance(again, PostgresStore)
        assert again.count() == 1
    postgres_scheme = postgres_url.replace("postgresql://", "postgres://", 1)
    with open_store(f"{postgres_scheme}?schema={schema}") as other_prefix:
        assert other_prefix.count() == 0  # ttv_ tables, separate from app_
    # An empty host (libpq's local-socket form), the host and user as options instead.
    parts = urlsplit(postgres_url)
    local = (
        f"postgresql:///{parts.path.lstrip('/')}?host={parts.hostname}&port={parts.port or 5432}"
        f"&user={parts.username}&schema={schema}&table_prefix=app_"
    )
    with open_store(local) as by_options:
        assert by_options.count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@127.0.0.1/test",
        "postgresql://127.0.0.1/test?bogus_option=1",
        "postgresql://127.0.0.1/test?schema=a&schema=b",
        "postgresql://127.0.0.1/test?connect_timeout=soon",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        PostgresStore.from_url(url)


def test_opening_does_not_connect() -> None:
    # Nothing listens on port 1: a store opens anyway and fails on first use.
    with PostgresStore.from_url("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2") as s:
        with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:1\b"):
            s.count()
        with pytest.raises(ConnectionError):  # a built-in callers may already catch
            s.append([ev(1)])


# ------------------------------------------------------------------ lifecycle


@postgres
def test_use_after_close_raises(postgres_url: str, schema: str) -> None:
    s = PostgresStore(postgres_url, schema=schema)
    s.append([ev(1)])
    s.close()
    s.close()  # idempotent
    for use in (
        lambda: s.append([ev(2)]),
        s.count,
        s.latest_timestamp,
        lambda: s.events(),
        lambda: s.observations(Milestone("m", reached="report")),
    ):
        with pytest.raises(StoreError, match="closed"):
            use()
    assert "closed" in repr(s)


@postgres
def test_schema_newer_than_this_ttvkit_is_refused(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    with PostgresStore(postgres_url, schema=schema) as s:
        s.append([ev(1)])
    admin.execute(
        sql.SQL("UPDATE {} SET version = %s").format(table(schema, "ttv_schema_version")),
        (SCHEMA_VERSION + 1,),
    )
    with (
        PostgresStore(postgres_url, schema=schema) as s,
        pytest.raises(SchemaVersionError, match="newer"),
    ):
        s.count()


@postgres
def test_missing_migrations_are_applied(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    with PostgresStore(postgres_url, schema=schema) as s:
        s.count()
    # As an older ttvkit left it: the version table at 0 and no events table.
    admin.execute(sql.SQL("DROP TABLE {}").format(table(schema)))
    admin.execute(sql.SQL("UPDATE {} SET version = 0").format(table(schema, "ttv_schema_version")))
    with PostgresStore(postgres_url, schema=schema) as s:
        assert s.append([ev(1)]) == 1
    row = admin.execute(
        sql.SQL("SELECT version FROM {}").format(table(schema, "ttv_schema_version"))
    ).fetchone()
    assert row == (SCHEMA_VERSION,)


@postgres
def test_a_foreign_table_with_the_same_name_is_left_alone(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    admin.execute(sql.SQL("CREATE TABLE {} (x int)").format(table(schema)))
    with (
        PostgresStore(postgres_url, schema=schema) as s,
        pytest.raises(ConfigurationError, match="not created by ttvkit"),
    ):
        s.count()


@postgres
def test_a_failing_statement_is_a_store_error_not_an_outage(
    store: PostgresStore, admin: psycopg.Connection[tuple[object, ...]], schema: str
) -> None:
    store.append([ev(1)])
    admin.execute(sql.SQL("DROP TABLE {}").format(table(schema)))
    with pytest.raises(StoreError, match="rejected") as info:
        store.count()
    assert not isinstance(info.value, StoreUnavailableError)


# ---------------------------------------------------------------- concurrency


@postgres
def test_threads_share_one_store(store: PostgresStore) -> None:
    batches = [[ev(i) for i in range(start, start + 300)] for start in range(0, 2000, 100)]
    new: list[int] = []

    def work(mine: list[list[ValueEvent]]) -> None:
        for batch in mine:
            new.append(store.append(batch))
            assert store.count() >= len(batch)

    threads = [threading.Thread(target=work, args=(batches[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(new) == store.count() == 2200
    assert len({e.event_id for e in store.events()}) == 2200


@postgres
def test_two_stores_racing_on_the_same_ids_store_each_once(postgres_url: str, schema: str) -> None:
    # Two sessions, overlapping batches in opposite orders: each id is stored
    # once, and the sessions never deadlock on each other's inserts.
    with (
        PostgresStore(postgres_url, schema=schema) as a,
        PostgresStore(postgres_url, schema=schema) as b,
    ):
        a.count()  # create the tables before the race
        new: list[int] = []
        failures: list[BaseException] = []

        def append(s: PostgresStore, batch: list[ValueEvent]) -> None:
            try:
                new.append(s.append(batch))
            except StoreError as exc:
                failures.append(exc)

        for round_ in range(3):  # each round: 3000 ids, 1000 of them not stored yet
            events = [ev(i) for i in range(round_ * 1000, round_ * 1000 + 3000)]
            new.clear()
            threads = [
                threading.Thread(target=append, args=(s, batch))
                for s, batch in ((a, events), (b, events[::-1]), (a, events[::2]))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert failures == []
            assert sum(new) == (1000 if round_ else 3000)
        assert a.count() == b.count() == 5000


@postgres
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")
def test_a_forked_child_opens_its_own_connection(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    application = f"ttvtest_{uuid.uuid4().hex[:8]}"
    with PostgresStore(with_application_name(postgres_url, application), schema=schema) as s:
        assert s.append([ev(1)]) == 1
        (parent_backend,) = backend_pids(admin, application)

        pid = os.fork()
        if pid == 0:  # the child: append through the inherited store, then leave at once
            code = 1
            try:
                code = 0 if s.append([ev(2)]) == 1 and s.count() == 2 else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0

        # The parent's session was neither used nor terminated by the child.
        assert s.append([ev(3)]) == 1
        deadline = time.monotonic() + 10
        while backend_pids(admin, application) != {parent_backend}:
            assert time.monotonic() < deadline, backend_pids(admin, application)
            time.sleep(0.05)
        assert [e.event_id for e in s.events()] == ["e1", "e2", "e3"]


# ------------------------------------------------------------------- outages


@postgres
def test_outage_raises_promptly_and_the_store_recovers(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    with (
        TCPProxy(5432) as proxy,
        PostgresStore(proxy.url(postgres_url), schema=schema, connect_timeout=2) as s,
    ):
        assert s.append([ev(1)]) == 1
        assert proxy.connections == 1

        proxy.cut()  # the live connection is reset, new ones are refused
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="unavailable"):
            s.append([ev(2)])
        with pytest.raises(StoreUnavailableError):
            s.count()
        assert time.monotonic() - started < 5
        assert stored_count(admin, schema) == 1

        proxy.restore()
        assert s.append([ev(1), ev(2), ev(3)]) == 2  # the failed batch, retried
        assert s.append([ev(2), ev(3)]) == 0
        assert [e.event_id for e in s.events()] == ["e1", "e2", "e3"]


@postgres
def test_a_brief_network_blip_is_invisible(postgres_url: str, schema: str) -> None:
    with TCPProxy(5432) as proxy, PostgresStore(proxy.url(postgres_url), schema=schema) as s:
        assert s.append([ev(1)]) == 1
        proxy.cut(refuse=False)  # live connections die, the server is still there
        assert s.append([ev(2)]) == 1  # reconnected and retried, no error
        assert s.count() == 2


@postgres
def test_the_server_down_at_first_use(postgres_url: str, schema: str) -> None:
    with TCPProxy(5432) as proxy:
        proxy.cut()
        with PostgresStore(proxy.url(postgres_url), schema=schema, connect_timeout=2) as s:
            with pytest.raises(StoreUnavailableError):
                s.append([ev(1)])
            proxy.restore()
            assert s.append([ev(1)]) == 1


@postgres
def test_a_frozen_server_times_out_on_connect(postgres_url: str, schema: str) -> None:
    with TCPProxy(5432) as proxy:
        proxy.stall()  # accepts, then never answers
        with PostgresStore(proxy.url(postgres_url), schema=schema, connect_timeout=2) as s:
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError, match="timeout"):
                s.count()
            assert time.monotonic() - started < 8
            proxy.restore()
            assert s.count() == 0


@postgres
def test_an_append_cut_midway_is_all_or_nothing(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    events = [ev(i, user=f"u{i % 100}") for i in range(60_000)]
    with (
        TCPProxy(5432) as proxy,
        PostgresStore(proxy.url(postgres_url), schema=schema, connect_timeout=2) as s,
    ):
        s.count()  # connected, tables created
        outcome: list[int | BaseException] = []

        def write() -> None:
            try:
                outcome.append(s.append(events))
            except StoreUnavailableError as exc:
                outcome.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.05)
        proxy.cut()
        writer.join(timeout=60)
        assert not writer.is_alive() and len(outcome) == 1

        # Never a part of the batch: either nothing, or (if only the commit's
        # acknowledgement was lost) everything. Wait out the server noticing.
        deadline = time.monotonic() + 10
        while stored_count(admin, schema) not in (0, len(events)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before_retry = stored_count(admin, schema)
        assert before_retry in (0, len(events))
        assert before_retry == len(events) or isinstance(outcome[0], StoreUnavailableError)

        proxy.restore()
        assert s.append(events) == len(events) - before_retry
        assert s.count() == stored_count(admin, schema) == len(events)


@postgres
def test_pg_terminate_backend_is_survived_transparently(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    application = f"ttvtest_{uuid.uuid4().hex[:8]}"
    with PostgresStore(with_application_name(postgres_url, application), schema=schema) as s:
        assert s.append([ev(1)]) == 1
        (old,) = backend_pids(admin, application)
        admin.execute("SELECT pg_terminate_backend(%s)", (old,))
        deadline = time.monotonic() + 10
        while old in backend_pids(admin, application):
            assert time.monotonic() < deadline
            time.sleep(0.05)

        assert s.append([ev(2)]) == 1  # no error: reconnected and retried
        (new,) = backend_pids(admin, application)
        assert new != old
        assert s.count() == 2


# ----------------------------------------------------------- the optional extra


def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    monkeypatch.delitem(sys.modules, "ttvkit.stores.postgres")
    with pytest.raises(MissingDependencyError, match=r"pip install 'ttvkit\[postgres\]'"):
        importlib.import_module("ttvkit.stores.postgres")
    with pytest.raises(ImportError, match="psycopg"):
        open_store("postgresql://nobody@127.0.0.1/none")


def test_importing_ttvkit_does_not_import_psycopg() -> None:
    code = "import sys, ttvkit, ttvkit.stores; print('psycopg' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------- secrets

SECRET = "hunter2SECRET"  # noqa: S105 - a made-up password the outputs must not show


def _with_password(postgres_url: str) -> str:
    scheme, rest = postgres_url.split("://", 1)
    userinfo, at, host = rest.partition("@")
    if not at or ":" in userinfo:
        pytest.fail(f"this test adds a password to a URL with a user and none: {postgres_url}")
    return f"{scheme}://{userinfo}:{SECRET}@{host}"  # trust auth: the password is not checked


def test_no_message_or_output_shows_the_password(
    postgres_url: str, schema: str, tmp_path: os.PathLike[str]
) -> None:
    from pathlib import Path

    url = f"{_with_password(postgres_url)}?schema={schema}"
    work = Path(tmp_path)
    log = work / "events.csv"
    log.write_text(
        "event_id,user_id,name,timestamp\n"
        "e1,u1,signup,2026-01-01T00:00:00Z\ne2,u1,report,2026-01-01T01:00:00Z\n"
        "e3,u2,signup,2026-01-01T02:00:00Z\n",
        encoding="utf-8",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ttvkit", *args],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    runs = [
        cli("import", str(log), url),
        cli(
            "report",
            url,
            "--reached",
            "report",
            "--start",
            "signup",
            "--format",
            "json",
            "-o",
            "report.json",
        ),
        cli("check", url),
        cli("report", url, "--timezone", "UTC", "--reached", "report"),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 2], [r.stderr for r in runs]
    assert "postgres:***@" in runs[0].stdout and "postgres:***@" in runs[2].stdout
    for run in runs:
        assert SECRET not in run.stdout + run.stderr
    assert SECRET not in (work / "report.json").read_text(encoding="utf-8")
    # The store URL in open_store()'s and libpq's messages, however it is wrong.
    bad = [
        url.replace("postgresql://", "postgresq://", 1),
        url.replace(SECRET, "hunter%SECRET"),
        url.replace("@127.0.0.1", "@[::1]x"),
        f"{url}%00",
        f"{postgres_url}?password={SECRET}&sslmode=bogus&schema=@",
    ]
    for wrong in bad:
        with pytest.raises(ConfigurationError) as info:
            open_store(wrong).count()
        assert SECRET not in str(info.value) and "hunter%SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("sslmode=bogus", 'invalid sslmode value: "bogus"'),
        ("keepalives_idle=abc", 'invalid integer value "abc" for connection option'),
    ],
)
def test_a_bad_value_of_a_libpq_option_is_configuration_not_an_outage(
    postgres_url: str, option: str, words: str
) -> None:
    """A Tracker retries a StoreUnavailableError: a typo in the URL must not be one."""
    store = open_store(f"{postgres_url}?{option}")
    with pytest.raises(ConfigurationError, match=words) as info:
        store.count()
    assert not isinstance(info.value, StoreUnavailableError)
    store.close()


def test_a_refused_privilege_is_permanent_not_an_outage(
    postgres_url: str, schema: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A role without USAGE on the schema: retrying will not help, so no StoreUnavailableError."""
    role = f"ttvtest_ro_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        scheme, rest = postgres_url.split("://", 1)
        url = f"{scheme}://{role}@{rest.split('@', 1)[-1]}?schema={schema}"
        with open_store(url) as store, pytest.raises(StoreError) as info:
            store.count()
        assert not isinstance(info.value, StoreUnavailableError)
        assert "permission denied" in str(info.value) and "USAGE on the schema" in str(info.value)
        # A table ttvkit did not create, in the way: permanent too, and said so.
        admin.execute(
            sql.SQL("CREATE TABLE {} (v int)").format(sql.Identifier(schema, "ttv_schema_version"))
        )
        with (
            open_store(f"{postgres_url}?schema={schema}") as store,
            pytest.raises(StoreError, match="ttvkit did not create may be in the way") as info,
        ):
            store.count()
        assert not isinstance(info.value, StoreUnavailableError)
    finally:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_check_of_a_store_it_cannot_reach_does_not_call_it_damaged(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + f"/ttvtest_missing_{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-m", "ttvkit", "check", missing],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "is unavailable" in result.stderr and "does not exist" in result.stderr
    assert "damaged" not in result.stderr


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("postgresql://ana@db1,db2:5433/app", "ana@db1:5432,db2:5433/app"),
        ("postgresql://db1:6000,db2:6001/app", "db1:6000,db2:6001/app"),
        ("postgresql:///app?host=db1,db2&port=6000", "db1:6000,db2:6000/app"),
        ("postgresql:///app", "localhost:5432/app"),
    ],
)
def test_repr_names_each_host_with_its_port(url: str, where: str) -> None:
    # Opening does not connect: no server is needed to show where the store points.
    with PostgresStore(url) as s:
        assert f"<PostgresStore {where} " in repr(s)
