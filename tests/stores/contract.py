"""The store contract: one suite, run over every store ttvkit ships.

Each test takes ``new_store``, a factory of fresh, empty stores of one kind
(memory; SQLite in memory and in a file; PostgreSQL in its own schema;
DuckDB in memory and in a file where the ``duckdb`` extra is installed), and
checks what every :class:`ttvkit.Store` promises: idempotent appends where the
first of a batch wins, events in (time, id) order with inclusive filters
(the same as :class:`~ttvkit.stores.MemoryStore`'s on any log), exact round
trips of hostile and extreme values, observations (with or without
``as_of``), columns and duration cells equal to the pure-Python reference,
the same error for the same misuse, and refusal after close. Values are
compared with their types (:func:`tests.typed.typed`): ``True``, ``1`` and
``1.0`` are equal to ``==`` but not to a store. What only one backend has
(files, schemas, connections, outages, forks) stays in that backend's own
test module.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ttvkit as ttv
from tests.strategies import BASE as LOG_BASE
from tests.strategies import (
    HOSTILE,
    PROP_KEYS,
    event_conditions,
    event_logs,
    milestones,
    value_events,
)
from tests.typed import typed
from ttvkit.errors import (
    AnalysisError,
    InvalidArgumentError,
    InvalidEventError,
    InvalidMilestoneError,
    StoreError,
)
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone
from ttvkit.observations import FirstTime, ObservationColumns, PropertyOf, StartProperty, observe
from ttvkit.stores import MemoryStore

NewStore = Callable[[], Any]
BASE = datetime(2026, 3, 1, tzinfo=UTC)

# ``new_store`` is a factory: each example makes its own fresh store with it.
FRESH = [HealthCheck.function_scoped_fixture]

KINDS = ["memory", "sqlite-memory", "sqlite-file", "postgres", "duckdb-memory", "duckdb-file"]


@pytest.fixture(params=KINDS)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewStore]:
    """A factory of fresh stores of one kind; every store it made is closed (and dropped)."""
    kind: str = request.param
    made: list[Any] = []
    cleanup: list[Callable[[], None]] = []
    if kind.startswith("duckdb"):
        pytest.importorskip("duckdb", reason="the DuckDB store needs ttvkit[duckdb]")
        from ttvkit.stores.duckdb import DuckDBStore
    if kind == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        import psycopg
        from psycopg import sql

        from ttvkit.stores.postgres import PostgresStore

    def make() -> Any:
        n = len(made)
        if kind == "memory":
            store: Any = ttv.MemoryStore()
        elif kind == "sqlite-memory":
            store = ttv.open_store("sqlite://")
        elif kind == "sqlite-file":
            store = ttv.open_store(f"sqlite:///{tmp_path / f's{n}.db'}")
        elif kind == "postgres":
            schema = f"contract_{uuid.uuid4().hex[:12]}"
            store = PostgresStore(url, schema=schema)

            def drop(schema: str = schema) -> None:
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                    )

            cleanup.append(drop)
        elif kind == "duckdb-memory":
            store = DuckDBStore()
        else:
            store = DuckDBStore(tmp_path / f"d{n}.duckdb")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    for drop in cleanup:
        drop()


def ordered(events: Sequence[ValueEvent]) -> list[ValueEvent]:
    """Events as a store returns them: first occurrence of each id, by (time, id)."""
    unique: dict[str, ValueEvent] = {}
    for e in events:
        unique.setdefault(e.event_id, e)
    return sorted(unique.values(), key=lambda e: (e.timestamp, e.event_id))


def ev(i: int, user: str = "u1", name: str = "report", **props: Any) -> ValueEvent:
    return ValueEvent(
        user, name, BASE + timedelta(minutes=i), properties=props or None, event_id=f"e{i:03}"
    )


# -------------------------------------------------------------------------- writing


def test_append_counts_new_events_and_the_first_of_a_batch_wins(new_store: NewStore) -> None:
    store = new_store()
    first = ev(1, plan="free")
    twin = ValueEvent("u1", "report", BASE, {"plan": "pro"}, event_id=first.event_id)
    assert store.append([first, ev(2), twin]) == 2
    assert store.append([ev(2), ev(3)]) == 1
    assert store.append([]) == 0
    assert store.count() == 3
    assert typed(list(store.events())) == typed([first, ev(2), ev(3)])


def test_append_rejects_what_is_not_an_event_and_keeps_what_was_stored(
    new_store: NewStore,
) -> None:
    store = new_store()
    store.append([ev(1)])
    with pytest.raises(InvalidEventError, match="ValueEvent"):
        store.append([ev(2), {"user_id": "u1"}])
    for not_a_list in (None, 5, ev(3)):  # one event, not a list of one
        with pytest.raises(InvalidEventError, match="a list of ValueEvent objects"):
            store.append(not_a_list)  # type: ignore[arg-type]
    assert typed(list(store.events())) == typed([ev(1)])


def test_one_name_or_user_is_refused_as_a_filter_on_every_store(new_store: NewStore) -> None:
    """A str is a collection of its characters: taken as one, it matched nothing."""
    store = new_store()
    store.append([ev(1)])
    for option in ("names", "users"):
        with pytest.raises(InvalidArgumentError, match=f"{option}='u1': pass a collection"):
            list(store.events(**{option: "u1"}))


# -------------------------------------------------------------------------- reading


def test_an_empty_store(new_store: NewStore) -> None:
    store = new_store()
    milestone = Milestone("m", "report")
    assert store.count() == 0
    assert store.latest_timestamp() is None
    assert list(store.events()) == []
    assert store.observations(milestone) == []
    assert store.observations(milestone, as_of=BASE) == []


def test_events_come_in_time_then_id_order_with_inclusive_filters(new_store: NewStore) -> None:
    store = new_store()
    events = [ev(3, "u2", "signup"), ev(1), ev(2, "u2"), ev(2, "u3", "signup"), ev(5)]
    tie = ValueEvent("u1", "report", BASE + timedelta(minutes=2), event_id="e000-tie")
    store.append([*events, tie])
    everything = ordered([*events, tie])
    assert list(store.events()) == everything
    assert store.latest_timestamp() == BASE + timedelta(minutes=5)
    two = BASE + timedelta(minutes=2)
    assert list(store.events(since=two, until=two)) == [e for e in everything if e.timestamp == two]
    assert list(store.events(names=["signup"])) == [e for e in everything if e.name == "signup"]
    assert list(store.events(users=["u2"], names=["report"])) == [ev(2, "u2")]
    assert list(store.events(names=[])) == []


@settings(max_examples=15, suppress_health_check=FRESH)
@given(logs=event_logs(hostile=True, max_size=25))
def test_hostile_events_round_trip_exactly(new_store: NewStore, logs: list[ValueEvent]) -> None:
    store = new_store()
    assert store.append(logs) == len(ordered(logs))
    assert typed(list(store.events())) == typed(ordered(logs))
    assert store.count() == len(ordered(logs))


times = st.one_of(
    st.none(), st.integers(0, 6 * 24 * 60).map(lambda m: LOG_BASE + timedelta(minutes=m))
)


@settings(max_examples=15, suppress_health_check=FRESH)
@given(
    logs=event_logs(hostile=True, max_size=25),
    names=st.none() | st.lists(st.sampled_from(["signup", "report", *HOSTILE[:4]]), max_size=3),
    users=st.none() | st.lists(st.sampled_from(["u1", "u2", "nobody", *HOSTILE[:4]]), max_size=3),
    since=times,
    until=times,
)
def test_events_filter_like_the_memory_store_on_any_log(
    new_store: NewStore,
    logs: list[ValueEvent],
    names: list[str] | None,
    users: list[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    store = new_store()
    store.append(logs)
    reference = MemoryStore(logs)
    filters: dict[str, Any] = {"names": names, "users": users, "since": since, "until": until}
    assert typed(list(store.events(**filters))) == typed(list(reference.events(**filters)))
    assert store.latest_timestamp() == reference.latest_timestamp()
    names_of = getattr(store, "event_names", None)
    if names_of is not None:  # hostile names, case and unicode: every one, each once
        assert names_of() == {e.name for e in reference.events()}


def test_extreme_timestamps_and_json_values_round_trip_with_their_types(
    new_store: NewStore,
) -> None:
    props = {
        "int": 2**63 - 1,
        "neg": -(2**63),
        "float": 0.1 + 0.2,
        "whole_float": 2.0,
        "big_float": 1e16,
        "huge": 1.7976931348623157e308,
        "third": 0.1,
        "tiny": 5e-324,
        "true": True,
        "one": 1,
        "one_text": "1",
        "null": None,
        "text": "é🚀漢字\n\t\"'\\\u0001",
        "nested": {"a": [1, 2.5, {"b": None}, "x"], "x.y": False, "e+": "1e+16"},
        "sql": "' %s $1 ?",
        "\u2028": "line separator",
    }
    stamps = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    events = [ValueEvent("u", "x", t, props, event_id=f"e{i}") for i, t in enumerate(stamps)]
    store = new_store()
    store.append(events)
    back = list(store.events())
    assert typed(back) == typed(events)
    assert all(e.timestamp.tzinfo is UTC for e in back)
    assert repr(back[0].properties["big_float"]) == "1e+16"


# ---------------------------------------------------------------------- observations

attribute_lists = st.lists(
    st.one_of(
        st.builds(StartProperty, st.sampled_from(PROP_KEYS)),
        st.builds(FirstTime, event_conditions()),
        st.builds(
            PropertyOf,
            event_conditions(),
            st.sampled_from(PROP_KEYS),
            st.sampled_from(["first", "last"]),
        ),
    ),
    max_size=2,
)


# The central promise, so more examples than the other contract tests.
@settings(max_examples=40, suppress_health_check=FRESH)
@given(
    logs=event_logs(hostile=True, max_size=30),
    milestone=milestones(),
    per=st.sampled_from(["user", "account"]),
    attributes=attribute_lists,
    as_of=times,
)
def test_observations_columns_and_cells_equal_the_reference(
    new_store: NewStore,
    logs: list[ValueEvent],
    milestone: Milestone,
    per: str,
    attributes: list[Any],
    as_of: datetime | None,
) -> None:
    if not isinstance(milestone.start, datetime | ttv.conditions.EventCondition):
        attributes = [a for a in attributes if not isinstance(a, StartProperty)]
    store = new_store()
    store.append(logs)
    asked: dict[str, Any] = {"as_of": as_of, "per": per}
    expected = observe(logs, milestone, attributes=attributes, **asked)
    assert typed(store.observations(milestone, attributes=attributes, **asked)) == typed(expected)
    columns = store.observation_columns(milestone, attributes=attributes, **asked)
    assert typed(columns) == typed(ObservationColumns.from_rows(expected, len(attributes)))
    assert store.duration_cells(milestone, **asked) == (
        ObservationColumns.from_rows(observe(logs, milestone, **asked)).cells()
    )


def test_as_of_hides_later_events_and_defaults_to_the_latest(new_store: NewStore) -> None:
    store = new_store()
    store.append([ev(0, name="signup"), ev(120), ev(60, "u2", "signup")])
    milestone = Milestone("m", "report", window=timedelta(minutes=90))
    latest = store.observations(milestone)
    early = store.observations(milestone, as_of=BASE + timedelta(minutes=30))
    assert [(o.customer_id, o.reached_at, o.end) for o in latest] == [
        ("u1", None, BASE + timedelta(minutes=90)),
        ("u2", None, BASE + timedelta(minutes=120)),
    ]
    assert [(o.customer_id, o.end) for o in early] == [("u1", BASE + timedelta(minutes=30))]


# ---------------------------------------------------------------- misuse and closing

MISUSES: list[tuple[str, Callable[[Any], object], type[Exception]]] = [
    ("not a milestone", lambda s: s.observations("m"), InvalidMilestoneError),
    ("per", lambda s: s.observations(Milestone("m", "report"), per="team"), AnalysisError),
    (
        "naive as_of",
        lambda s: s.observations(Milestone("m", "report"), as_of=datetime(2026, 1, 1)),
        AnalysisError,
    ),
    (
        "not an attribute",
        lambda s: s.observations(Milestone("m", "report"), attributes=["plan"]),
        InvalidMilestoneError,
    ),
    (
        "no one start event",
        lambda s: s.observations(
            Milestone("m", "report", start=ttv.any_of("signup", "invite")),
            attributes=[StartProperty("plan")],
        ),
        InvalidMilestoneError,
    ),
    ("naive since", lambda s: list(s.events(since=datetime(2026, 1, 1))), AnalysisError),
]


@pytest.mark.parametrize(("what", "misuse", "error"), MISUSES, ids=[m[0] for m in MISUSES])
def test_the_same_misuse_raises_the_same_error(
    new_store: NewStore, what: str, misuse: Callable[[Any], object], error: type[Exception]
) -> None:
    store = new_store()
    store.append([ev(0, name="signup"), ev(1)])
    with pytest.raises(error):
        misuse(store)
    assert store.count() == 2  # nothing stored was touched


def test_a_closed_store_refuses_use_and_closing_twice_is_fine(new_store: NewStore) -> None:
    store = new_store()
    store.append([ev(1)])
    store.close()
    store.close()
    for use in (
        lambda: store.append([ev(2)]),
        lambda: list(store.events()),
        store.count,
        store.latest_timestamp,
        lambda: store.observations(Milestone("m", "report")),
    ):
        with pytest.raises(StoreError, match="closed"):
            use()


def test_a_store_is_a_context_manager_and_satisfies_the_protocol(new_store: NewStore) -> None:
    store = new_store()
    assert isinstance(store, ttv.Store)
    with store as same:
        assert same is store
        same.append([ev(1)])
    with pytest.raises(StoreError):
        store.count()


@given(value_events())
@settings(max_examples=5, suppress_health_check=FRESH)
def test_one_event_round_trips(new_store: NewStore, event: ValueEvent) -> None:
    with contextlib.closing(new_store()) as store:
        store.append([event])
        assert typed(list(store.events())) == typed([event])
