"""The query plan (ttvkit.stores.sql): every engine renders it to exactly observe().

The DuckDB dialect is checked here over a plain table laid out as the plan
expects (the DuckDB store and ``scan()`` have their own suites); SQLite and
PostgreSQL render the same plan inside their stores, whose equivalence suites
run the same strategies. Duration cells (what a curve needs) must equal the
cells of the reference observations on every engine.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ttvkit as ttv
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    FirstTime,
    ObservationColumns,
    PropertyOf,
    StartProperty,
    observe,
    settle,
    to_micros,
)
from ttvkit.stores.sql import (
    build_plan,
    cells_statement,
    observations_statement,
    read_cell_columns,
    read_cells,
    read_columns,
)
from ttvkit.stores.sql.engines import DuckDBDialect

from .strategies import PROP_KEYS, conditions, event_conditions, event_logs, milestones

duckdb = pytest.importorskip("duckdb", reason="the DuckDB dialect needs ttvkit[duckdb]")


def _unique(events: Sequence[ValueEvent]) -> list[ValueEvent]:
    seen: dict[str, ValueEvent] = {}
    for e in events:
        seen.setdefault(e.event_id, e)
    return list(seen.values())


def _duckdb_table(events: Sequence[ValueEvent]) -> Any:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE ev (event_id VARCHAR, user_id VARCHAR, account_id VARCHAR, "
        "name VARCHAR, ts BIGINT, properties JSON)"
    )
    rows = [
        (
            e.event_id,
            e.user_id,
            e.account_id,
            e.name,
            to_micros(e.timestamp),
            json.dumps(dict(e.properties)) if e.properties else None,
        )
        for e in _unique(events)
    ]
    if rows:
        connection.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?)", rows)
    return connection


attribute_specs = st.lists(
    st.one_of(
        st.builds(StartProperty, st.sampled_from(PROP_KEYS)),
        st.builds(FirstTime, conditions()),
        st.builds(
            PropertyOf,
            event_conditions(),
            st.sampled_from(PROP_KEYS),
            st.sampled_from(["first", "last"]),
        ),
    ),
    max_size=3,
)


class _SeekingDuckDB(DuckDBDialect):
    """DuckDB rendering the reached node's first matches as correlated seeks (as SQLite does)."""

    def seeks_first_match(self, per: Any) -> bool:
        return True


@given(
    event_logs(hostile=True),
    milestones(),
    st.sampled_from(["user", "account"]),
    attribute_specs,
    st.booleans(),
)
def test_duckdb_renders_observe_exactly(
    events: list[ValueEvent], milestone: Milestone, per: str, attributes: list[Any], seek: bool
) -> None:
    unique = _unique(events)
    if not unique:
        return
    if any(isinstance(a, StartProperty) for a in attributes) and not isinstance(
        milestone.start, datetime | ttv.conditions.EventCondition | ttv.conditions.Nth
    ):
        attributes = [a for a in attributes if not isinstance(a, StartProperty)]
    as_of = max(e.timestamp for e in unique)
    expected = observe(events, milestone, per=per, attributes=attributes)  # type: ignore[arg-type]
    connection = _duckdb_table(events)
    plan = build_plan(milestone, per, tuple(attributes))  # type: ignore[arg-type]
    dialect = (_SeekingDuckDB if seek else DuckDBDialect)("ev")
    query = observations_statement(plan, dialect, to_micros(as_of))
    got = read_columns(
        connection.execute(query.sql, list(query.params.values())).fetchall(), plan, dialect
    )
    assert got.rows() == expected
    cells = cells_statement(plan, dialect, to_micros(as_of))
    assert read_cells(connection.execute(cells.sql, list(cells.params.values())).fetchall()) == (
        ObservationColumns.from_rows(expected).cells()
    )


@given(event_logs(), milestones())
def test_sqlite_cells_equal_the_reference_cells(
    events: list[ValueEvent], milestone: Milestone
) -> None:
    with ttv.open_store("sqlite://") as store:
        store.append(_unique(events))
        expected = observe(events, milestone)
        assert store.duration_cells(milestone) == ObservationColumns.from_rows(expected).cells()  # type: ignore[attr-defined]


@pytest.mark.parametrize("per", ["user", "account"])
def test_sqlite_seeks_the_reached_time_by_index_and_groups_only_the_start(
    tmp_path: Path, per: str
) -> None:
    """The reached node is one index seek per customer; the start is grouped in index order."""
    import sqlite3

    from ttvkit.stores.sql.engines import SQLiteDialect

    day = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        ValueEvent(f"u{i}", name, day + timedelta(hours=i + k), account_id=f"a{i % 3}")
        for i in range(30)
        for k, name in enumerate(["signup", "report", "report"])
    ]
    path = tmp_path / "seek.sqlite"
    with ttv.open_store(f"sqlite:///{path}") as store:
        store.append(events)
        milestone = Milestone("m", ttv.event("report"), start=ttv.event("signup"))
        assert store.duration_cells(milestone, per=per) == (  # type: ignore[attr-defined]
            ObservationColumns.from_rows(observe(events, milestone, per=per)).cells()  # type: ignore[arg-type]
        )
    db = sqlite3.connect(path)
    try:
        ids = dict(db.execute("SELECT name, id FROM ttv_names").fetchall())
        plan = build_plan(milestone, per, ())  # type: ignore[arg-type]
        query = cells_statement(plan, SQLiteDialect(ids), to_micros(day + timedelta(days=9)))
        steps = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query.sql, query.params)]
    finally:
        db.close()
    column = "user_id" if per == "user" else "account_id"
    seek = f"(name_id=? AND {column}=? AND ts<?)"
    assert any(step.startswith("SEARCH") and seek in step for step in steps), steps
    # one sort only: the cells by duration (the start comes in index order)
    assert sum("TEMP B-TREE" in step for step in steps) == 1, steps


@pytest.mark.parametrize("which", ["start", "last", "both"])
@pytest.mark.parametrize(
    "start", [ttv.event("signup"), ttv.event("signup", where={"plan": ttv.one_of("a", "b")}), None]
)
def test_sqlite_joins_each_customers_first_rows_by_an_index(
    tmp_path: Path, start: ttv.Condition | None, which: str
) -> None:
    """A start event's or a first/last event's properties are joined to the customers
    through an index: a join SQLite could not index made compare() by a property
    quadratic (60k customers: 397 s)."""
    import sqlite3

    from ttvkit.observations import PropertyOf
    from ttvkit.stores.sql.engines import SQLiteDialect

    day = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        ValueEvent(f"u{i}", name, day + timedelta(hours=i + k), {"plan": "ab"[i % 2], "n": i})
        for i in range(40)
        for k, name in enumerate(["signup", "report", "report"])
    ]
    milestone = (
        Milestone("m", ttv.event("report"))  # the default start: each customer's first event
        if start is None
        else Milestone("m", ttv.event("report"), start=start)
    )
    by_start, last_n = StartProperty("plan"), PropertyOf(ttv.event("report"), "n", "last")
    attributes = {"start": (by_start,), "last": (last_n,), "both": (by_start, last_n)}[which]
    path = tmp_path / "first.sqlite"
    with ttv.open_store(f"sqlite:///{path}") as store:
        store.append(events)
        assert store.observations(milestone, attributes=attributes) == observe(
            events, milestone, attributes=attributes
        )
    db = sqlite3.connect(path)
    try:
        ids = dict(db.execute("SELECT name, id FROM ttv_names").fetchall())
        plan = build_plan(milestone, "user", attributes)
        query = observations_statement(plan, SQLiteDialect(ids), to_micros(day + timedelta(days=9)))
        steps = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query.sql, query.params)]
    finally:
        db.close()
    joined = [step for step in steps if "LEFT-JOIN" in step]
    assert joined and all(step.startswith("SEARCH") for step in joined), steps


def test_postgres_cells_equal_the_reference_cells(postgres_url: str) -> None:
    from ttvkit import datasets as ds
    from ttvkit.stores.postgres import PostgresStore

    events = ds.saas_events(150, seed=5)
    milestone = ttv.milestones.first_value(ds.REPORT_CREATED, window=timedelta(days=3))
    schema = f"plan_{abs(hash(milestone)) % 10**8}"
    with PostgresStore(postgres_url, schema=schema) as store:
        try:
            store.append(events)
            expected = ObservationColumns.from_rows(observe(events, milestone)).cells()
            assert store.duration_cells(milestone) == expected
        finally:
            import psycopg

            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


_MICROS = st.integers(-(10**15), 10**15)


@given(
    _MICROS,
    st.one_of(st.none(), _MICROS),
    _MICROS,
    st.one_of(st.none(), st.integers(1, 10**16)),
    st.sampled_from(["zero", "ignore", "exclude"]),
)
def test_settle_in_duckdb_equals_settle_in_python(
    start: int, reached: int | None, as_of: int, window: int | None, mode: str
) -> None:
    """The ``fin`` layer of the rendered statement is :func:`settle`, row for row."""
    if start > as_of:
        return
    from ttvkit.stores.sql import render

    base = datetime(1970, 1, 1, tzinfo=UTC)
    milestone = Milestone(
        "m",
        reached=ttv.event("r"),
        start=ttv.event("s"),
        window=None if window is None else timedelta(microseconds=window),
        before_start=mode,  # type: ignore[arg-type]
    )
    plan = build_plan(milestone, "user", ())
    renderer = render._Renderer(plan, DuckDBDialect("ev"), as_of)
    fin = renderer._settled()
    connection = duckdb.connect()
    rc = "NULL" if reached is None else str(reached)
    sql = (
        f"WITH obs AS (SELECT 'u' AS c, CAST({start} AS BIGINT) AS st, "
        f"CAST({rc} AS BIGINT) AS rc), {fin} SELECT en, ob, bf FROM fin"
    )
    rows = connection.execute(sql, list(renderer.binder.params.values())).fetchall()
    expected = settle(start, reached, as_of, plan.window, milestone.before_start)
    if mode == "ignore" and reached is not None and reached < start:
        return  # never happens: with "ignore" the reached time comes from after the start
    assert (
        rows == []
        if expected is None
        else rows == [(expected.end, int(expected.observed), int(expected.reached_before_start))]
    )
    assert base  # the epoch the µs count from


def test_no_store_imports_a_private_name_of_the_model() -> None:
    """Engines see events, conditions, milestones and observations through public names."""
    model = {"ttvkit.conditions", "ttvkit.events", "ttvkit.milestones", "ttvkit.observations"}
    stores = Path(ttv.__file__).parent / "stores"
    for path in stores.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if module not in model:
                    continue
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {module}"


def test_a_node_used_twice_binds_its_values_once() -> None:
    """Engines with positional parameters (DuckDB) refuse a value the statement never uses."""
    total = ttv.total("signup", "amount", at_least=1)
    milestone = Milestone("m", reached=ttv.all_of(total, total, ttv.event("signup").nth(2)))
    events = [
        ValueEvent("u1", "signup", datetime(2026, 1, 1, tzinfo=UTC), {"amount": 1}),
        ValueEvent("u1", "signup", datetime(2026, 1, 2, tzinfo=UTC)),
    ]
    connection = _duckdb_table(events)
    plan = build_plan(milestone, "user", ())
    dialect = DuckDBDialect("ev")
    query = observations_statement(plan, dialect, to_micros(datetime(2026, 1, 3, tzinfo=UTC)))
    rows = connection.execute(query.sql, list(query.params.values())).fetchall()
    assert read_columns(rows, plan, dialect).rows() == observe(events, milestone)


def test_paused_gc_pauses_the_collector_and_restores_its_state() -> None:
    import gc

    from ttvkit.stores.sql.rows import paused_gc

    def fails_while_paused() -> None:
        with paused_gc():
            assert not gc.isenabled()
            raise ZeroDivisionError

    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        fails_while_paused()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_cells_are_read_a_batch_at_a_time_into_64_bit_arrays() -> None:
    from array import array

    from ttvkit.observations import DurationCells

    rows = [(d * 1_000, d % 3, 1 - d % 2, d % 5 == 0) for d in range(150_000)]  # > two batches
    consumed: list[int] = []

    def lazily() -> Iterator[tuple[int, int, int, bool]]:
        for i, row in enumerate(rows):
            consumed.append(i)
            yield row

    cells = read_cells(lazily())
    assert consumed == list(range(len(rows)))
    assert cells == read_cells(rows)
    assert cells.durations == array("q", (r[0] for r in rows))
    assert list(cells.reached) == [r[1] for r in rows]
    assert list(cells.censored) == [r[2] for r in rows]
    assert cells.reached_before_start == sum(r[3] for r in rows)
    columns = (cells.durations, cells.reached, cells.censored)
    assert all(isinstance(c, array) and c.typecode == "q" for c in columns)
    # Any iterable of ints makes the same cells, and cells stay hashable.
    same = DurationCells(tuple(cells.durations), list(cells.reached), iter(cells.censored), 30_000)
    assert same == cells and hash(same) == hash(cells)
    assert read_cells([]) == DurationCells((), (), (), 0)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), st.integers(0, 1), st.booleans(), st.sampled_from([int, Decimal])
        ),
        max_size=40,
    ),
    st.integers(1, 7),
)
def test_cells_of_sorted_rows_with_repeated_durations_add_up(
    rows: list[tuple[int, int, bool, type]], batch: int
) -> None:
    """An engine that sorts rather than groups (SQLite) hands back a row per customer."""
    import ttvkit.stores.sql.rows as rows_module

    rows.sort(key=lambda row: row[0])
    per_customer = [(kind(d), kind(o), kind(1 - o), b) for d, o, b, kind in rows]
    expected: dict[int, list[int]] = {}
    for d, o, _b, _kind in rows:
        expected.setdefault(d, [0, 0])[1 - o] += 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows_module, "BATCH_ROWS", batch)  # repeats across batch boundaries
        cells = read_cells(per_customer)
    assert list(cells.durations) == sorted(expected)
    assert list(cells.reached) == [expected[d][0] for d in sorted(expected)]
    assert list(cells.censored) == [expected[d][1] for d in sorted(expected)]
    assert cells.reached_before_start == sum(b for *_, b, _kind in rows)
    # The same rows handed back as columns, a batch of *batch* rows at a time.
    ints = [tuple(int(v) for v in row) for row in per_customer]
    column_batches = [
        [list(column) for column in zip(*ints[i : i + batch], strict=True)]
        for i in range(0, len(ints), batch)
    ]
    assert read_cell_columns(column_batches) == cells


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([1.7e308, -1.7e308, 1e16, -1e16, 2.5]),
            st.integers(-(2**63), 2**63 - 1),
        ),
        max_size=30,
    ),
    st.integers(0, 5),
)
def test_sqlite_ttv_fsum_is_the_exact_sum_of_every_frame(values: list[float], width: int) -> None:
    import sqlite3

    from ttvkit.conditions import exact_sum
    from ttvkit.stores.sql.engines import add_sqlite_functions

    connection = sqlite3.connect(":memory:")
    add_sqlite_functions(connection)
    connection.execute("CREATE TABLE t (i INTEGER, v)")
    connection.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    running = [row[0] for row in connection.execute("SELECT ttv_fsum(v) OVER (ORDER BY i) FROM t")]
    assert running == [exact_sum(values[: i + 1]) for i in range(len(values))]
    # A sliding frame removes rows (inverse): still the exact sum of the frame.
    sliding = [
        row[0]
        for row in connection.execute(
            f"SELECT ttv_fsum(v) OVER (ORDER BY i ROWS BETWEEN {width} PRECEDING AND CURRENT ROW) "
            "FROM t"
        )
    ]
    assert sliding == [exact_sum(values[max(0, i - width) : i + 1]) for i in range(len(values))]
    connection.close()


def test_exact_sum_is_fsum_and_infinite_past_the_float_range() -> None:
    import math

    from ttvkit.conditions import exact_sum

    assert exact_sum([6, 2.5, -(2**62), 1.5, 2**62]) == 10.0 == math.fsum([6, 2.5, 1.5])
    assert exact_sum([1.7e308, 1.7e308]) == math.inf
    assert exact_sum([-1.7e308, -1.7e308, 5]) == -math.inf
    # math.fsum raises on an overflowing partial sum whose total is in range.
    assert exact_sum([-1.7e308, -1.7e308, 1.7e308, 1.7e308, 5]) == 5.0
