"""MemoryStore and open_store()."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttvkit import (
    ConfigurationError,
    MemoryStore,
    Milestone,
    Store,
    StoreError,
    ValueEvent,
    all_of,
    any_of,
    event,
    open_store,
)
from ttvkit.observations import ObservationColumns, Per
from ttvkit.stores import register_store

from .strategies import BASE, NAMES, dense_logs

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(user: str, name: str, minutes: int, event_id: str | None = None) -> ValueEvent:
    return ValueEvent(user, name, T0 + timedelta(minutes=minutes), event_id=event_id)


def test_events_come_back_in_time_order_with_filters() -> None:
    store = MemoryStore([ev("u2", "b", 5, "x2"), ev("u1", "a", 5, "x1"), ev("u1", "c", 1, "x3")])
    store.append([ev("u3", "a", 3, "x4")])  # arrives out of order
    assert [e.event_id for e in store.events()] == ["x3", "x4", "x1", "x2"]
    assert [e.event_id for e in store.events(names=["a"])] == ["x4", "x1"]
    assert [e.event_id for e in store.events(users={"u1"})] == ["x3", "x1"]
    since, until = T0 + timedelta(minutes=3), T0 + timedelta(minutes=5)
    assert [e.event_id for e in store.events(since=since, until=until)] == ["x4", "x1", "x2"]
    assert [e.event_id for e in store.events(until=T0 + timedelta(minutes=4))] == ["x3", "x4"]
    assert store.latest_timestamp() == T0 + timedelta(minutes=5)


def test_threads_appending_concurrently_lose_nothing() -> None:
    store = MemoryStore()

    def work(i: int) -> None:
        for j in range(200):
            store.append([ev(f"u{i}", "a", j, f"{i}-{j}"), ev(f"u{i}", "a", j, f"{i}-{j}")])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 8 * 200
    stamps = [e.timestamp for e in store.events()]
    assert stamps == sorted(stamps)


class TestOpenStore:
    def test_memory_url(self) -> None:
        assert isinstance(open_store("memory://"), MemoryStore)

    @pytest.mark.parametrize("url", ["", "memory", "ttv.db", "nosuch://x", "memory://path"])
    def test_bad_urls(self, url: str) -> None:
        with pytest.raises(ConfigurationError):
            open_store(url)

    def test_unknown_scheme_lists_the_known_ones(self) -> None:
        with pytest.raises(ConfigurationError, match=r"known schemes: .*memory.*sqlite"):
            open_store("redis://localhost")

    def test_register_a_scheme(self) -> None:
        made: list[str] = []

        def factory(url: str) -> Store:
            made.append(url)
            return MemoryStore()

        register_store("custom-test", factory)
        assert isinstance(open_store("custom-test://anything"), MemoryStore)
        assert made == ["custom-test://anything"]

    def test_register_validates_the_scheme(self) -> None:
        with pytest.raises(ConfigurationError):
            register_store("bad scheme", lambda url: MemoryStore())


def test_a_child_forked_while_the_lock_is_held_can_use_the_store() -> None:
    import os

    store = MemoryStore([ev("u1", "a", 1)])
    with store._lock:  # another thread holds it at the moment of the fork
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                store.append([ev("u2", "b", 2)])
                os._exit(0 if store.count() == 2 else 1)
            except BaseException:
                os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.count() == 1


# -- the first-time index ----------------------------------------------------------------------

_PLAIN_EVENTS = st.sampled_from(NAMES).map(event)
_PLAIN_CONDITIONS = st.one_of(
    _PLAIN_EVENTS,
    st.lists(_PLAIN_EVENTS, min_size=2, max_size=3).map(lambda parts: all_of(*parts)),
    st.lists(_PLAIN_EVENTS, min_size=2, max_size=3).map(lambda parts: any_of(*parts)),
)
_PLAIN_MILESTONES = st.builds(
    Milestone,
    st.just("m"),
    reached=_PLAIN_CONDITIONS,
    start=_PLAIN_CONDITIONS,
    window=st.none() | st.sampled_from([timedelta(hours=5), timedelta(days=2)]),
    before_start=st.sampled_from(["zero", "exclude"]),
)


@settings(max_examples=300, deadline=None)
@given(
    dense_logs(),
    _PLAIN_MILESTONES,
    st.sampled_from(["user", "account"]),
    st.none() | st.integers(0, 100).map(lambda hours: BASE + timedelta(hours=hours)),
    st.integers(1, 4),
)
def test_the_first_time_index_gives_the_cells_of_the_events(
    log: list[ValueEvent],
    milestone: Milestone,
    per: Per,
    as_of: datetime | None,
    batches: int,
) -> None:
    # Appended in batches out of time order, with repeated ids: the index follows.
    store = MemoryStore()
    for i in range(batches):
        store.append(log[i::batches][::-1])
    expected = ObservationColumns.from_rows(
        store.generic_observations(milestone, as_of=as_of, per=per)
    ).cells()
    assert store.duration_cells(milestone, as_of=as_of, per=per) == expected
    assert store.event_names() == {e.name for e in store.events()}  # from the index too


def test_questions_the_index_cannot_answer_read_the_events() -> None:
    store = MemoryStore(
        [
            ValueEvent("u1", "signup", T0, properties={"plan": "pro"}),
            ValueEvent("u1", "report", T0 + timedelta(hours=1)),
            ValueEvent("u1", "report", T0 + timedelta(hours=2)),
        ]
    )
    pro = Milestone(
        "m", reached=event("report").nth(2), start=event("signup", where={"plan": "pro"})
    )
    cells = store.duration_cells(pro)
    assert tuple(cells.durations) == (2 * 3600 * 10**6,)
    assert tuple(cells.reached) == (1,)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.duration_cells(Milestone("m", reached=event("report")))


@pytest.mark.parametrize("library", ["pandas", "polars", "pyarrow"])
def test_a_dataframe_given_to_append_is_told_how_to_read_it(library: str) -> None:
    # Iterating a DataFrame gives its column names: "not str; build them with
    # ValueEvent(...)" (a pyarrow Table: "not Table: pass [event] for one event").
    import re

    import pandas as pd
    import pyarrow as pa

    from ttvkit.errors import InvalidEventError
    from ttvkit.stores.sqlite import SQLiteStore

    frame = pd.DataFrame({"user_id": ["u1"], "name": ["a"], "timestamp": ["2026-01-01T00:00Z"]})
    table: object = {
        "pandas": frame,
        "polars": pytest.importorskip("polars").from_pandas(frame),
        "pyarrow": pa.Table.from_pandas(frame),
    }[library]
    reader = {"pandas": "from_pandas(df)", "polars": "from_polars(df)"}.get(
        library, "from_polars(polars.from_arrow(table))"
    )
    with pytest.raises(
        InvalidEventError, match=re.escape(f"read its rows as events with ttvkit.io.{reader}")
    ):
        MemoryStore(table)  # type: ignore[arg-type]
    with SQLiteStore() as store:
        with pytest.raises(InvalidEventError, match=f"not a {library} "):
            store.append(table)  # type: ignore[arg-type]
        assert store.count() == 0
