"""Spark: a pyspark DataFrame is a source for every analysis, with identical answers.

One local session (``local[2]``, UTC, UI off, two shuffle partitions) is shared
by the module; ``TTVKIT_SPARK_CONNECT=local[2]`` runs it over Spark Connect
instead (needs ``pyspark[connect]``). The Spark tests skip, with the reason, only where pyspark or
Java is missing and ``CI`` is not set; under CI a missing one is a failure.
Spark is slow per query (about a second), so hypothesis examples are few and
each runs several questions.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ttvkit as ttv
from ttvkit import datasets as ds
from ttvkit.errors import ConfigurationError, InvalidArgumentError, InvalidEventError, StoreError
from ttvkit.events import ValueEvent
from ttvkit.io import ColumnMapping, ReadError
from ttvkit.milestones import Milestone
from ttvkit.observations import ObservationColumns, StartProperty, observe

from .strategies import attribute_lists, event_logs, milestones
from .test_backends import ANALYSES, BANDS, FIRST, ROI

SCHEMA = (
    "event_id string, user_id string, account_id string, name string, "
    "timestamp timestamp, properties string"
)


def _unique(events: Sequence[ValueEvent]) -> list[ValueEvent]:
    seen: dict[str, ValueEvent] = {}
    for e in events:
        seen.setdefault(e.event_id, e)
    return list(seen.values())


def frame(spark: Any, events: Sequence[ValueEvent]) -> Any:
    """The events as a DataFrame: TIMESTAMP times, properties as JSON text."""
    rows = [
        (
            e.event_id,
            e.user_id,
            e.account_id,
            e.name,
            e.timestamp,
            json.dumps(dict(e.properties)) if e.properties else None,
        )
        for e in events
    ]
    return spark.createDataFrame(rows, SCHEMA)


@pytest.fixture(scope="module")
def demo_events() -> list[ValueEvent]:
    return ds.saas_events(600, seed=11)


@pytest.fixture(scope="module")
def demo_frame(spark: Any, demo_events: list[ValueEvent]) -> Any:
    return frame(spark, demo_events).cache()


# ---------------------------------------------------------------- the plan, exactly


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("TTVKIT_SPARK_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    event_logs(hostile=True, max_size=30),
    st.lists(milestones(), min_size=2, max_size=2),
    st.sampled_from(["user", "account"]),
    st.data(),
)
def test_spark_computes_observe_exactly(
    spark: Any, events: list[ValueEvent], stones: list[Milestone], per: str, data: Any
) -> None:
    """Observations (with attributes) and duration cells equal the pure-Python reference,
    with resent copies of some events in the table."""
    from ttvkit.stores.spark import SparkSource

    unique = _unique(events)
    if not unique:
        return
    as_of = max(e.timestamp for e in unique)
    # some events resent later: the earliest copy counts (the dedupe's cheap path)
    resent = [
        attrs.evolve(e, timestamp=e.timestamp + timedelta(seconds=data.draw(st.integers(1, 9))))
        for e in data.draw(st.lists(st.sampled_from(unique), max_size=3))
    ]
    with SparkSource(frame(spark, [*resent, *unique])) as source:
        for milestone in stones:
            attributes = data.draw(attribute_lists(milestone))
            if not isinstance(milestone.start, datetime | ttv.conditions.EventCondition):
                attributes = [a for a in attributes if not isinstance(a, StartProperty)]
            expected = observe(unique, milestone, per=per, attributes=attributes)  # type: ignore[arg-type]
            got = source.observations(milestone, as_of=as_of, per=per, attributes=attributes)  # type: ignore[arg-type]
            assert got == expected
            assert [type(v) for o in got for v in o.attributes] == [
                type(v) for o in expected for v in o.attributes
            ]
        cells = source.duration_cells(stones[0], as_of=as_of, per=per)  # type: ignore[arg-type]
        reference = observe(unique, stones[0], per=per)  # type: ignore[arg-type]
        assert cells == ObservationColumns.from_rows(reference).cells()


VALUES: list[Any] = [True, False, 1, 1.0, "1", "true", None, [1], {"a": 1}, 0, -5, -5.0]
VALUES += [1e16, 0.1, 0.30000000000000004, 1e-5, 2**53 + 1, 2**62, 2**63 - 1, -(2**63)]
VALUES += [12345678901234567.0, 9007199254740993, 100.5, "é🚀"]
BOUNDS: list[Any] = [
    0,
    1,
    0.1,
    0.5,
    -5,
    100.5,
    1e16,
    2**53 + 1,
    2**63,
    2**63 - 1,
    -(2**70),
    2**1100,
]


def test_json_typing_equals_python_for_every_value_and_test(spark: Any) -> None:
    """``true`` is not ``1``, ``"1"`` is not ``1``, ``1 == 1.0``; exact number bounds; any key.

    One query evaluates every predicate (as a column) on every value (as a row)
    and reads every value back; each cell must equal Python's answer.
    """
    from ttvkit.conditions import Predicate
    from ttvkit.stores.sql import Binder
    from ttvkit.stores.sql.spark import spark_dialect

    key = "k'\"$.[0] ?"
    predicates: list[Predicate] = [
        p
        for v in VALUES
        if not isinstance(v, list | dict)
        for (_, p) in ttv.event("s", where={key: v}).where
    ]
    for bound in BOUNDS:
        for op in (ttv.gt, ttv.ge, ttv.lt, ttv.le):
            predicates += [p for _, p in ttv.event("s", where={key: op(bound)}).where]
    predicates += [p for _, p in ttv.event("s", where={key: ttv.one_of(0.1, "1", None)}).where]
    rows = [(i, json.dumps({key: v})) for i, v in enumerate(VALUES)] + [(len(VALUES), "{}")]
    spark.createDataFrame(rows, "i int, properties string").selectExpr(
        "CAST(i AS STRING) AS event_id",
        "'u' AS user_id",
        "CAST(NULL AS STRING) AS account_id",
        "'s' AS name",
        "CAST(0 AS BIGINT) AS ts",
        "properties",
    ).createOrReplaceTempView("typing")
    dialect = spark_dialect("typing", spark.version)
    binder = Binder(dialect)
    columns = [dialect.test(binder, key, p) for p in predicates]
    columns.append(dialect.attribute(binder, "properties", key))
    sql = f"SELECT CAST(event_id AS INT), {', '.join(columns)} FROM {dialect.relation} ORDER BY 1"
    got = spark.sql(sql, args=binder.params).collect()
    for row, value in zip(got, [*VALUES, None], strict=True):
        assert [bool(c) for c in row[1:-1]] == [p.test(value) for p in predicates], value
        read = dialect.read(row[-1], key)
        expected = None if isinstance(value, list | dict) else value
        assert (read, type(read)) == (expected, type(expected)), value


# ------------------------------------------------------ every analysis, identical


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_every_analysis_equals_the_memory_store(
    spark: Any, demo_events: list[ValueEvent], demo_frame: Any, name: str
) -> None:
    """The DataFrame itself is the source: each result's to_dict() is the reference's."""
    run = ANALYSES[name]
    with ttv.MemoryStore(demo_events) as store:
        expected = run(store).to_dict()
    assert run(demo_frame).to_dict() == expected


def test_a_result_drills_down_into_the_dataframe(
    demo_events: list[ValueEvent], demo_frame: Any
) -> None:
    """The source view is gone after the analysis; observations() runs the plan again."""
    result = ttv.time_to_value(demo_frame, FIRST)
    assert list(result.observations()) == observe(demo_events, FIRST)


# The hostile log runs on Spark in tests/test_equivalence.py, with every other source.


PER_ACCOUNT = {
    "compare": lambda s: ttv.compare(s, FIRST, by="plan", per="account", bootstrap=50),
    "cohorts": lambda s: ttv.cohorts(s, ROI, "quarter", per="account"),
    "satisfaction": lambda s: ttv.satisfaction(
        s, FIRST, survey=ds.CSAT, bands=BANDS, per="account", response="first"
    ),
}


@pytest.mark.parametrize("name", sorted(PER_ACCOUNT))
def test_per_account_analyses_equal_the_memory_store(
    demo_events: list[ValueEvent], demo_frame: Any, name: str
) -> None:
    run = PER_ACCOUNT[name]
    with ttv.MemoryStore(demo_events) as store:
        expected = run(store).to_dict()
    assert run(demo_frame).to_dict() == expected


# ------------------------------------------------------- what reaches the driver


def test_only_aggregates_reach_the_driver(
    spark: Any, demo_events: list[ValueEvent], demo_frame: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Count every row a Spark action hands to Python while time_to_value runs.

    Every action of a pyspark DataFrame that returns rows ends in ``collect``
    (``first``, ``head`` and ``take`` call it) or ``toLocalIterator``.
    """
    received: list[int] = []
    DataFrame = type(demo_frame)
    collect, stream = DataFrame.collect, DataFrame.toLocalIterator

    def counted_collect(self: Any) -> Any:
        rows = collect(self)
        received.append(len(rows))
        return rows

    def counted_stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        for row in stream(self, *args, **kwargs):
            received.append(1)
            yield row

    monkeypatch.setattr(DataFrame, "collect", counted_collect)
    monkeypatch.setattr(DataFrame, "toLocalIterator", counted_stream)
    ttv.time_to_value(demo_frame, FIRST)
    cells = ObservationColumns.from_rows(observe(demo_events, FIRST)).cells()
    # the check of the ids and names (no row: none is bad), the latest timestamp
    # (one row), the distinct event names (checked for names that match nothing),
    # then one row per distinct duration; the repeated ids are counted in Spark
    assert received == [0, 1, len({e.name for e in demo_events}), len(cells.durations)]
    assert sum(received) < len(demo_events) / 10


def test_a_later_question_asks_only_its_own_query(
    spark: Any, demo_events: list[ValueEvent], demo_frame: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks, the latest time and the event names are asked once per source."""
    from ttvkit.stores.spark import SparkSource

    received: list[int] = []
    DataFrame = type(demo_frame)
    collect = DataFrame.collect

    def counted_collect(self: Any) -> Any:
        rows = collect(self)
        received.append(len(rows))
        return rows

    monkeypatch.setattr(DataFrame, "collect", counted_collect)
    with SparkSource(demo_frame) as source:
        first = ttv.time_to_value(source, FIRST)
        received.clear()
        assert ttv.time_to_value(source, FIRST).to_dict() == first.to_dict()
    cells = ObservationColumns.from_rows(observe(demo_events, FIRST)).cells()
    assert received == [len(cells.durations)]


def _plan(frame: Any) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        frame.explain()
    return printed.getvalue()


def test_a_resent_event_counts_once_and_unique_ids_cost_no_shuffle(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dedupe keeps the earliest copy of an ``event_id``; when no id repeats, the
    questions read the rows without it (no window over every event)."""
    from ttvkit.stores.spark import SparkSource

    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    sent = [
        ValueEvent("u1", ds.SIGNUP, t0, event_id="s1"),
        ValueEvent("u1", ds.REPORT_CREATED, t0 + timedelta(hours=2), event_id="r1"),
        ValueEvent("u2", ds.SIGNUP, t0 + timedelta(hours=1), event_id="s2"),
        ValueEvent("u2", ds.REPORT_CREATED, t0 + timedelta(hours=9), event_id="r2"),
    ]
    # r2 resent: its first copy is the later one in the table; the earliest counts
    resent = ValueEvent("u2", ds.REPORT_CREATED, t0 + timedelta(hours=4), event_id="r2")
    expected = observe([*sent[:3], resent], FIRST)
    with SparkSource(frame(spark, [*sent, resent])) as source:
        assert source.observations(FIRST) == expected
        assert source.count() == 4
        plan = _plan(spark.table(source.view))
        # only the rows whose id repeats went through the dedupe, once, into a cache
        assert "row_number()" in plan and "BroadcastHashJoin" in plan
        assert "InMemoryTableScan" in plan
        cached = list(source._cached)
        assert len(cached) == 2 and all(c.is_cached for c in cached)
    assert not any(c.is_cached for c in cached)  # close() frees the cluster's memory
    # more repeated ids than a broadcast holds: every row goes through the dedupe
    monkeypatch.setattr("ttvkit.stores._spark_view.FEW_REPEATS", 0)
    with SparkSource(frame(spark, [*sent, resent])) as source:
        assert source.observations(FIRST) == expected
        assert source.count() == 4
        plan = _plan(spark.table(source.view))
        assert "row_number()" in plan and "BroadcastHashJoin" not in plan
    monkeypatch.undo()
    with SparkSource(frame(spark, [*sent, resent]), dedupe=False) as source:
        assert source.count() == 5
    with SparkSource(frame(spark, [*sent[:3], resent])) as source:
        assert source.count() == 4
        assert "row_number()" not in _plan(spark.table(source.view))
        assert source.observations(FIRST) == expected
    # without an event_id column, with event_ids="content": identical rows are one event
    plain = frame(spark, [*sent, sent[0]]).drop("event_id")
    with SparkSource(plain, event_ids="content") as source:
        assert source.count() == 4
        plan = _plan(spark.table(source.view))  # ids made from content: every row deduped
        assert "row_number()" in plan and "BroadcastHashJoin" not in plan
    with SparkSource(plain) as source:  # "row": no id repeats that a copy could share
        assert source.count() == 5
        assert "row_number()" not in _plan(spark.table(source.view))


@pytest.mark.parametrize("event_ids", ["row", "content"])
def test_rows_without_an_id_count_as_scan_counts_them(spark: Any, event_ids: Any) -> None:
    """Two rows alike in every field and without an id: two events with
    ``event_ids="row"`` (the default, as scan and the readers), one with
    ``"content"``, on Spark as on DuckDB; the events handed to Python agree."""
    pandas = pytest.importorskip("pandas")
    from ttvkit.stores.spark import SparkSource

    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    second = ttv.milestones.exceed_value(ttv.event(ds.REPORT_CREATED).nth(2), name="two")
    rows = [
        ("u1", ds.SIGNUP, t0),
        ("u1", ds.REPORT_CREATED, t0 + timedelta(hours=2)),
        ("u1", ds.REPORT_CREATED, t0 + timedelta(hours=2)),  # the same row twice
        ("u2", ds.SIGNUP, t0 + timedelta(hours=1)),
        ("u2", ds.REPORT_CREATED, t0 + timedelta(hours=3)),
        ("u2", ds.REPORT_CREATED, t0 + timedelta(hours=5)),
    ]
    columns = ["user_id", "name", "timestamp"]
    table = spark.createDataFrame(rows, "user_id string, name string, timestamp timestamp")
    with ttv.scan(pandas.DataFrame(rows, columns=columns), event_ids=event_ids) as duck:
        expected = ttv.time_to_value(duck, second).to_dict()
    with SparkSource(table, event_ids=event_ids) as source:
        assert ttv.time_to_value(source, second).to_dict() == expected
        assert source.count() == (6 if event_ids == "row" else 5)
        observed = source.observations(second)
        assert [o.observed for o in observed] == [event_ids == "row", True]
        # what a condition without SQL would be computed from: the same events
        assert observe(list(source.events()), second) == observed
    with ttv.scan(table, event_ids=event_ids) as scanned:
        assert ttv.time_to_value(scanned, second).to_dict() == expected
    with pytest.raises(ConfigurationError, match="event_ids='rows'"):
        SparkSource(table, event_ids="rows")  # type: ignore[arg-type]


def test_the_statement_has_no_correlated_subquery(spark: Any, demo_frame: Any) -> None:
    from ttvkit.observations import FirstTime, PropertyOf
    from ttvkit.stores.spark import SparkSource
    from ttvkit.stores.sql import build_plan, observations_statement
    from ttvkit.stores.sql.spark import spark_dialect

    milestone = ttv.milestones.roi(ds.INVOICE_PAID, "amount", 1000, window=timedelta(days=9))
    attributes = (
        FirstTime(ttv.event(ds.REPORT_CREATED).nth(3)),
        PropertyOf(ttv.event(ds.CSAT), "score"),
    )
    with SparkSource(demo_frame) as source:
        statement = observations_statement(
            build_plan(milestone, "user", attributes),
            spark_dialect(source.view, spark.version),
            2**60,
        )
        # The DataFrame's own explain: Spark 3.5's EXPLAIN statement leaves parameters unbound.
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            spark.sql(statement.sql, args=dict(statement.params)).explain(extended=True)
        plan = printed.getvalue()
    analyzed, physical = plan.split("== Analyzed Logical Plan ==")[1].split("== Physical Plan ==")
    for marker in ("outer(", "scalar-subquery", "exists#", "ListQuery"):
        assert marker not in analyzed  # a subquery that refers to the outer query
    for marker in ("Subquery", "BroadcastNestedLoopJoin", "CartesianProduct"):
        assert marker not in physical  # every join is an equi-join on the customer
    assert "Window [" in physical


def test_to_spark_keeps_the_observations_on_the_cluster(
    demo_events: list[ValueEvent], demo_frame: Any
) -> None:
    from pyspark.sql import DataFrame

    from ttvkit.stores.spark import SparkSource

    with SparkSource(demo_frame) as source:
        observations = source.to_spark(FIRST)
        assert isinstance(observations, DataFrame)
        assert observations.columns[:5] == [
            "customer_id",
            "start",
            "end",
            "observed",
            "reached_before_start",
        ]
        expected = observe(demo_events, FIRST)
        assert observations.count() == len(expected)
        assert observations.where("observed = 1").count() == sum(o.observed for o in expected)
        # as_of is checked as everywhere else: a naive datetime gets the usual error
        with pytest.raises(InvalidArgumentError, match="naive datetime"):
            source.to_spark(FIRST, as_of=datetime(2026, 1, 31))


# ------------------------------------------------------------ layouts and errors


def _functions(spark: Any) -> Any:
    """The functions module for *spark*'s kind of session (classic or Connect)."""
    if type(spark).__module__.startswith("pyspark.sql.connect."):
        from pyspark.sql.connect import functions as connect_functions

        return connect_functions
    from pyspark.sql import functions

    return functions


def test_map_struct_and_plain_columns_read_as_json_properties(spark: Any) -> None:
    from ttvkit.stores.spark import SparkSource

    F = _functions(spark)

    base = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        ValueEvent("u1", "signup", base, {"plan": "free", "seats": 3}),
        ValueEvent("u2", "signup", base, {"plan": "pro", "seats": 1.0}),
        ValueEvent("u1", "report", base + timedelta(hours=2)),
        ValueEvent("u2", "report", base + timedelta(hours=5)),
    ]
    milestone = Milestone(
        "m", reached=ttv.event("report"), start=ttv.event("signup", where={"seats": ttv.ge(1)})
    )
    attributes = [StartProperty("plan"), StartProperty("seats")]
    expected = observe(events, milestone, attributes=attributes)
    text = frame(spark, events)
    schema = "struct<plan:string,seats:double>"
    layouts = {
        "struct": text.withColumn("properties", F.from_json("properties", schema)),
        "plain": text.withColumn("plan", F.get_json_object("properties", "$.plan"))
        .withColumn("seats", F.get_json_object("properties", "$.seats").cast("double"))
        .drop("properties"),
    }
    for layout, df in layouts.items():
        with SparkSource(df) as source:
            got = source.observations(milestone, attributes=attributes)
        assert [o.attributes for o in got] == [("free", 3.0), ("pro", 1.0)], layout
        assert [o.reached_at for o in got] == [o.reached_at for o in expected], layout
    as_map = text.withColumn("properties", F.from_json("properties", "map<string,string>"))
    with SparkSource(as_map) as source:
        got = source.observations(milestone, attributes=attributes)
    # a MAP<STRING, STRING> holds text: "3" is a string, so seats >= 1 matches nobody
    assert got == []


def test_a_column_mapping_names_the_columns(spark: Any) -> None:
    from ttvkit.stores.spark import SparkSource

    base = datetime(2026, 1, 1, tzinfo=UTC)
    df = spark.createDataFrame(
        [(7, "signup", base, "pro"), (7, "report", base + timedelta(hours=1), None)],
        "distinct_id bigint, event string, time timestamp, plan string",
    )
    mapping = ColumnMapping(user="distinct_id", name="event", timestamp="time")
    with SparkSource(df, mapping) as source:
        assert source.count() == 2
        (o,) = source.observations(
            Milestone(
                "m", reached=ttv.event("report"), start=ttv.event("signup", where={"plan": "pro"})
            )
        )
        assert (o.customer_id, o.duration) == ("7", timedelta(hours=1))
        assert [e.properties for e in source.events()] == [{"plan": "pro"}, {}]


@pytest.mark.parametrize(
    ("schema", "mapping", "message"),
    [
        ("user_id string, name string, ts timestamp", None, "no column 'timestamp'"),
        ("user_id string, name string, timestamp timestamp_ntz", None, "without a time zone"),
        ("user_id string, name string, timestamp string", None, "must be a TIMESTAMP"),
        ("user_id string, name int, timestamp timestamp", None, "name must be STRING"),
        ("user_id double, name string, timestamp timestamp", None, "STRING or an integer"),
        (
            "user_id string, name string, timestamp timestamp, properties array<int>",
            None,
            "properties must be JSON text",
        ),
        ("user_id string, name string, timestamp timestamp, tags array<string>", None, "tags"),
        (
            "uid string, name string, timestamp timestamp",
            ColumnMapping(user="user"),
            "no column 'user'",
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    spark: Any, schema: str, mapping: ColumnMapping | None, message: str
) -> None:
    from ttvkit.stores.spark import SparkSource

    df = spark.createDataFrame([], schema)
    with pytest.raises(InvalidEventError, match=message):
        SparkSource(df, mapping)


# Wall-clock times around Paris's daylight-saving changes of 2026: 02:30 on 29 March
# does not exist (read as shifted forward), 02:30 on 25 October happens twice (the
# earlier is taken), as the file readers read them.
WALL_CLOCK = [
    "2026-01-15 09:00:00",
    "2026-03-29 01:59:59.5",
    "2026-03-29 02:30:00",
    "2026-03-29 03:00:00",
    "2026-10-25 02:30:00",
    "2026-10-25 03:30:00.000001",
]


@contextlib.contextmanager
def _session_zone(spark: Any, zone: str) -> Any:
    """The session time zone set to *zone* for the block (the session is shared)."""
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        yield
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)


@pytest.mark.parametrize(
    "zone", [ZoneInfo("Europe/Paris"), timezone(timedelta(hours=2)), UTC], ids=str
)
def test_timestamp_ntz_is_read_in_the_zone_given(spark: Any, zone: tzinfo, tmp_path: Path) -> None:
    """TIMESTAMP_NTZ with assume_timezone gives the instants the CSV reader gives,
    whatever the session's own time zone."""
    from ttvkit.stores.spark import SparkSource

    F = _functions(spark)
    rows = [(f"u{i}", "seen", text) for i, text in enumerate(WALL_CLOCK)]
    csv = tmp_path / "events.csv"
    csv.write_text("user_id,name,timestamp\n" + "".join(f"{u},{n},{t}\n" for u, n, t in rows))
    expected = sorted(e.timestamp for e in ttv.io.read_csv(csv, assume_timezone=zone))
    df = spark.createDataFrame(rows, "user_id string, name string, t string").select(
        "user_id", "name", F.col("t").cast("timestamp_ntz").alias("timestamp")
    )
    with _session_zone(spark, "America/New_York"), SparkSource(df, assume_timezone=zone) as source:
        got = [e.timestamp for e in source.events()]
        assert source.latest_timestamp() == expected[-1]
    assert got == expected


@pytest.mark.parametrize(("unit", "factor"), [(None, 1), ("s", 1), ("ms", 10**3), ("us", 10**6)])
def test_integer_epochs_are_read_in_the_unit_given(spark: Any, unit: Any, factor: int) -> None:
    from ttvkit.stores.spark import SparkSource

    seconds = [0, 1_767_225_600, 7_258_118_399]  # 1970, 2026, the last second before 2200
    rows = [(f"u{i}", "seen", s * factor + (factor - 1)) for i, s in enumerate(seconds)]
    df = spark.createDataFrame(rows, "user_id string, name string, timestamp bigint")
    lines = "".join(
        json.dumps({"user_id": u, "name": n, "timestamp": t}) + "\n" for u, n, t in rows
    )
    expected = [e.timestamp for e in ttv.io.read_jsonl(io.StringIO(lines), timestamp_unit=unit)]
    with SparkSource(df, timestamp_unit=unit) as source:
        assert [e.timestamp for e in source.events()] == expected


@pytest.mark.parametrize(
    ("schema", "value", "options", "message"),
    [
        (
            "bigint",
            1_767_225_600_000,
            {},
            r"1767225600000 is out of range as epoch seconds.*timestamp_unit='ms'",
        ),
        (
            "int",
            -1,
            {"timestamp_unit": "ms"},
            "-1 is out of range as epoch milliseconds.*check timestamp_unit",
        ),
        ("bigint", 2**62, {"timestamp_unit": "us"}, "out of range as epoch microseconds"),
        (
            "timestamp",
            datetime(1969, 12, 31, 23, 0, tzinfo=UTC),
            {},
            "outside the supported range 1970",
        ),
    ],
)
def test_a_time_out_of_range_fails_the_query_with_a_read_error(
    spark: Any,
    schema: str,
    value: Any,
    options: dict[str, Any],
    message: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Found by the check before the first question, which returns what is wrong: no
    Spark task fails, so no Java stack is logged beside the ReadError."""
    from ttvkit.stores.spark import SparkSource

    base = datetime(2026, 1, 1, tzinfo=UTC)
    good = 1_767_225_600 if schema != "timestamp" else base
    df = spark.createDataFrame(
        [("u1", "signup", good), ("u1", "report", value)],
        f"user_id string, name string, timestamp {schema}",
    )
    with SparkSource(df, **options) as source:  # reads only the schema: nothing fails yet
        with pytest.raises(ReadError, match=message) as raised:
            ttv.time_to_value(source, FIRST)
        assert raised.value.source == "the Spark DataFrame"
        assert raised.value.column == "timestamp"
        assert "<<ttvkit>>" not in str(raised.value)
        with pytest.raises(ReadError, match=message):
            list(source.events())
    assert "<<ttvkit>>" not in capfd.readouterr().err  # no failed task's stack trace


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("user_id", None, "is empty; every event needs a user_id"),
        ("name", None, "is empty; every event needs a name"),
        ("timestamp", None, "is empty; every event needs a timestamp"),
        ("user_id", "", "must not be empty or only whitespace"),
        ("user_id", " \t", "must not be empty or only whitespace"),
        ("name", "\u3000\x1c", "must not be empty or only whitespace"),
        ("account_id", "\x85", "must not be empty or only whitespace"),
        ("user_id", "u" * 257, "is 257 characters long; the limit is 256"),
        ("name", "n" * 201, "is 201 characters long; the limit is 200"),
        ("event_id", "a\x00b", "contains a NUL character, which no store can keep"),
    ],
)
def test_a_value_no_event_can_hold_fails_the_query_as_the_readers_fail(
    spark: Any, column: str, value: Any, problem: str
) -> None:
    """The readers' row checks, made by Spark: the same problem in the same words."""
    from ttvkit.stores.spark import SparkSource

    good = {"user_id": "u1", "account_id": "a1", "event_id": "e2", "name": "report"}
    bad = {**good, "timestamp": datetime(2026, 1, 2, tzinfo=UTC), column: value}
    columns = ["event_id", "user_id", "account_id", "name", "timestamp"]
    rows = [("e1", "u1", "a1", "signup", datetime(2026, 1, 1, tzinfo=UTC))]
    rows.append(tuple(bad[c] for c in columns))
    line = json.dumps({**bad, "timestamp": None if column == "timestamp" else 1767312000})
    with pytest.raises(ReadError, match=f'key "{column}": .*{problem}'):
        list(ttv.io.read_jsonl(io.StringIO(line)))
    df = spark.createDataFrame(
        rows, "event_id string, user_id string, account_id string, name string, timestamp timestamp"
    )
    with (
        SparkSource(df) as source,
        pytest.raises(ReadError, match=f'column "{column}": .*{problem}'),
    ):
        ttv.time_to_value(source, FIRST)


def test_white_space_is_what_python_calls_white_space(spark: Any) -> None:
    """NOT_SPACE, run by java.util.regex, tells white space as str.isspace() does."""
    from ttvkit.io.values import NOT_SPACE

    F = _functions(spark)
    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace()]
    others = ["a", "\u200b", "\u2060", "\ufeff", "\x00", "\x1b", "\x7f", "\xa0x", "\U0001f600"]
    texts = [*spaces, *others, "".join(spaces)]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [bool(r[0]) for r in df.select(F.col("t").rlike(NOT_SPACE)).collect()]
    assert got == [not t.isspace() for t in texts]


_BAD_PROPERTIES = [
    "[1]",
    '"x"',
    "",
    " ",
    "nope",
    "{'a':1}",
    '{"a":1}{"b":2}',
    '{"a":1} x',
    '{"a":1}\u2028',
    '{"a":[1]}]{[}',
    '{"a":{"b":1}}}',
    '{"a":NaN}',
    '{"a":1e999}',
    '{"a":12345678901234567890}',
    '{"a":"\\u0000"}',
    '{"a":"\\ud800"}',
    '{"a":"\\udc00x"}',
    '{"a":' * 64 + "{}" + "}" * 64,
    '{"a":"' + "x" * 70_000 + '"}',
    "{" + ",".join(f'"k{i:04}":1E15' for i in range(4400)) + "}",  # 118,801 bytes compact
]


def _assert_spark_fails_as_the_readers_fail(
    spark: Any, column: str, schema: str, value: Any
) -> None:
    """A table whose row u1 holds *value* in *column* (Spark type *schema*): Spark's
    ReadError is ``from_pandas``'s, word for word after the place it names."""
    pd = pytest.importorskip("pandas")
    from ttvkit.stores.spark import SparkSource

    at = datetime(2026, 1, 1, tzinfo=UTC)
    one = {"user_id": ["u1"], "name": ["signup"], "timestamp": [at], column: [value]}
    with pytest.raises(ReadError) as read:
        list(ttv.io.from_pandas(pd.DataFrame(one)))
    _, _, expected = str(read.value).partition(f'column "{column}": ')
    assert expected, str(read.value)
    df = spark.createDataFrame(
        [("u1", "signup", at, value)],
        f"user_id string, name string, timestamp timestamp, `{column}` {schema}",
    )
    with SparkSource(df) as source, pytest.raises(ReadError) as raised:
        ttv.time_to_value(source, FIRST)
    assert str(raised.value) == f'the Spark DataFrame, column "{column}": {expected}'


@pytest.mark.parametrize("text", _BAD_PROPERTIES, ids=range(len(_BAD_PROPERTIES)))
def test_properties_the_readers_refuse_fail_as_the_readers_fail(spark: Any, text: str) -> None:
    """JSON property text the readers refuse is a ReadError on Spark too, in their words.

    Before, Spark read it as no properties (or as ``"Infinity"``, or a DECIMAL).
    """
    _assert_spark_fails_as_the_readers_fail(spark, "properties", "string", text)


@pytest.mark.parametrize(
    ("schema", "value"), [("double", float("inf")), ("float", float("-inf")), ("string", "a\x00")]
)
def test_a_property_column_the_readers_refuse_fails_as_they_fail(
    spark: Any, schema: str, value: Any
) -> None:
    _assert_spark_fails_as_the_readers_fail(spark, "plan", schema, value)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ("map<string,double>", {"a": 1.5, "b": float("nan")}),
        ("map<string,double>", {"a": float("-inf")}),
        ("map<string,string>", {"a": "x\x00"}),
    ],
)
def test_typed_properties_the_readers_refuse_fail_as_they_fail(
    spark: Any, schema: str, value: Any
) -> None:
    """A MAP of properties (a dict to the readers) holding what no event can hold.

    Before, ``to_json`` wrote a NaN as the string ``"NaN"`` and Spark read it so.
    """
    _assert_spark_fails_as_the_readers_fail(spark, "properties", schema, value)


def test_typed_properties_are_checked_and_a_string_that_says_nan_is_not_a_nan(
    spark: Any,
) -> None:
    from ttvkit.stores.spark import SparkSource

    at = datetime(2026, 1, 1, tzinfo=UTC)
    schema = (
        "user_id string, name string, timestamp timestamp, properties struct<s:string,d:double>"
    )
    fine = [("u1", "signup", at, ("NaN", 1.5)), ("u2", "signup", at, ("-Infinity", None))]
    with SparkSource(spark.createDataFrame(fine, schema)) as source:
        events = sorted(source.events(), key=lambda e: e.user_id)
    assert [dict(e.properties) for e in events] == [{"s": "NaN", "d": 1.5}, {"s": "-Infinity"}]
    bad = [*fine, ("u3", "signup", at, ("ok", float("inf")))]
    with (
        SparkSource(spark.createDataFrame(bad, schema)) as source,
        pytest.raises(
            ReadError, match=r"column \"properties\": properties\['d'\]=inf: is not finite"
        ),
    ):
        list(source.events())
    # A DECIMAL is the number to_json writes, which must fit in 64 bits as any integer.
    huge = spark.createDataFrame(
        [("u1", "signup", at, {"a": Decimal(2**70)})],
        "user_id string, name string, timestamp timestamp, properties map<string,decimal(38,0)>",
    )
    with (
        SparkSource(huge) as source,
        pytest.raises(ReadError, match=r"properties\['a'\]=1180591620717411303424: does not fit"),
    ):
        list(source.events())


def test_variant_properties_are_checked_as_the_values_they_hold(spark: Any) -> None:
    """Spark 4: a VARIANT column of properties; parse_json keeps a 20-digit integer as a
    DECIMAL, which the readers refuse beyond 64 bits."""
    if int(spark.version.split(".")[0]) < 4:
        pytest.skip("VARIANT needs Spark 4; the Spark 3.5 stage of CI runs this file too")
    from ttvkit.stores.spark import SparkSource

    F = _functions(spark)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [("u1", "signup", at, '{"a":[1,{"b":"x"}]}'), ("u2", "signup", at, '{"a":2}')]
    df = spark.createDataFrame(rows, "user_id string, name string, timestamp timestamp, p string")
    variant = df.select("user_id", "name", "timestamp", F.parse_json("p").alias("properties"))
    with SparkSource(variant) as source:
        got = {e.user_id: dict(e.properties) for e in source.events()}
    assert got == {"u1": {"a": [1, {"b": "x"}]}, "u2": {"a": 2}}
    bad = spark.createDataFrame(
        [*rows, ("u3", "signup", at, '{"a":12345678901234567890}')],
        "user_id string, name string, timestamp timestamp, p string",
    ).select("user_id", "name", "timestamp", F.parse_json("p").alias("properties"))
    with (
        SparkSource(bad) as source,
        pytest.raises(ReadError, match=r"properties\['a'\]=12345678901234567890: does not fit"),
    ):
        list(source.events())


_VALID_PROPERTIES = [
    "{" + ",".join(f'"k{i}":{i}' for i in range(400)) + "}",
    '{"a":"' + "\\u00e9" * 600 + '"}',
    json.dumps({"plan": "pro", "city": "Zürich", "n": 3}),
    "{}",
    '{"plan":"pro","seats":3,"trial":false,"note":null,"ratio":0.25}',
    '{"plan": "pro", "seats": 3}',
    '{\n  "nested": {"a": [1, {"b": 2.5e-7}]},\n  "s": "}{\\"]["\n}',
    '{"emoji":"\\ud83d\\ude00","accent":"\\u00e9","quote":"\\"","slash":"\\/"}',
    ' {"a":1} ',
    '{"a":-9.5E-7,"b":123456789012345678}',
    '{"snowflake": 1234567890123456789, "min": -8999999999999999999}',
    '{"a":' * 5 + "[]" + "}" * 5,
    "{" + ", ".join(f'"k{i}": [{i}]' for i in range(3000)) + "}",
    '{"a":"' + "\\n" * 20_000 + '"}',
]


@pytest.mark.parametrize("text", _VALID_PROPERTIES, ids=range(len(_VALID_PROPERTIES)))
def test_spark_vouches_for_common_valid_properties_alone(spark: Any, text: str) -> None:
    """Valid objects, compact or not, nested, with escapes: not suspects, so no row of
    them is fetched to the driver to be checked in Python."""
    from ttvkit.events import validate_properties
    from ttvkit.io.values import json_object
    from ttvkit.stores._spark_view import _object_suspect

    validate_properties(json_object(text))  # valid for the readers
    F = _functions(spark)
    df = spark.createDataFrame([(text,)], "p string")
    assert df.select(_object_suspect(F, F.col("p"))).collect()[0][0] is False


_JSON_PIECES = st.sampled_from(
    [
        '"',
        "\\",
        "\\u0000",
        "\\ud800",
        "\\udc00",
        "\\ud83d\\ude00",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        " ",
        "\n",
        "1",
        "-",
        ".",
        "e",
        "E",
        "+",
        "0",
        "9" * 19,
        "NaN",
        "Infinity",
        "true",
        "null",
        '"a"',
        '"a":',
        "'",
        "\x00",
        "\u00e9",
        "/*",
    ]
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.lists(_JSON_PIECES, max_size=20).map("".join),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=8,
        ).map(lambda v: json.dumps({"v": v}, ensure_ascii=bool(len(str(v)) % 2))),
        st.tuples(st.text(max_size=30), st.text(max_size=30)).map(
            lambda parts: "{" + '"k":"' + parts[0] + '"' + parts[1] + "}"
        ),
    )
)
def test_what_spark_vouches_for_the_readers_accept(spark: Any, text: str) -> None:
    """The suspect test is exact for what it passes: text it does not flag, the readers
    take (json_object, then validate_properties)."""
    from ttvkit.events import validate_properties
    from ttvkit.io.values import json_object
    from ttvkit.stores._spark_view import _object_suspect

    F = _functions(spark)
    df = spark.createDataFrame([(text,)], "p string")
    if df.select(_object_suspect(F, F.col("p"))).collect()[0][0] is False:
        validate_properties(json_object(text))


def test_suspects_that_are_valid_are_passed_over_in_rounds(spark: Any, monkeypatch: Any) -> None:
    """Valid properties the suspect test flags (a key twice) do not hide a bad row
    behind them, however many there are; and alone they raise nothing."""
    from ttvkit.stores import _spark_view
    from ttvkit.stores.spark import SparkSource

    monkeypatch.setattr(_spark_view, "_SUSPECT_ROUNDS", (1, 3))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    twice = [(f"u{i}", "signup", at, '{"a":1,"a":2}') for i in range(6)]
    twice.append(("u0", ds.REPORT_CREATED, at + timedelta(hours=1), None))
    schema = "user_id string, name string, timestamp timestamp, properties string"
    with SparkSource(spark.createDataFrame(twice, schema).coalesce(1)) as source:
        assert ttv.time_to_value(source, FIRST).n == 6
    bad = [*twice, ("u9", "signup", at, "[1]")]
    with (
        SparkSource(spark.createDataFrame(bad, schema).coalesce(1)) as source,
        pytest.raises(ReadError, match="holds a JSON array"),
    ):
        ttv.time_to_value(source, FIRST)


def test_bad_time_options_are_configuration_errors(spark: Any) -> None:
    from ttvkit.stores.spark import SparkSource

    df = spark.createDataFrame([], "user_id string, name string, timestamp timestamp_ntz")
    with pytest.raises(ConfigurationError, match="timestamp_unit"):
        SparkSource(df, timestamp_unit="ns")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="assume_timezone"):
        SparkSource(df, assume_timezone="Europe/Paris")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_error='skip'"):
        ttv.scan(df, on_error="skip")


def test_not_a_dataframe_and_read_only(spark: Any, demo_frame: Any) -> None:
    from ttvkit.stores.spark import SparkSource

    with pytest.raises(ConfigurationError, match="pyspark DataFrame"):
        SparkSource([{"user_id": "u"}])
    source = SparkSource(demo_frame)
    with pytest.raises(StoreError, match="read-only"):
        source.append([])
    source.close()
    with pytest.raises(StoreError, match="closed"):
        source.count()
    assert not spark.catalog.tableExists(source.view)


def test_text_files_are_refused_by_the_spark_reader(spark: Any, tmp_path: Path) -> None:
    from ttvkit.cli import main
    from ttvkit.stores.spark import SparkSource

    with pytest.raises(ConfigurationError, match="text files carry no types"):
        SparkSource.read(str(tmp_path / "events.csv"), spark=spark, format="csv")
    args = ["report", str(tmp_path / "e.csv"), "--engine", "spark", "--input-format", "csv"]
    config = tmp_path / "ttv.toml"
    config.write_text('[milestones.m]\nstart = "signup"\nreached = "report"\n')
    assert main([*args, "--config", str(config)]) != 0


def test_cli_report_with_the_spark_engine(
    spark: Any, demo_events: list[ValueEvent], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ttvkit report FILE --engine spark`` prints what the in-memory engine prints."""
    from ttvkit.cli import main

    path = tmp_path / "events"
    frame(spark, demo_events[:800]).write.parquet(str(path))
    config = tmp_path / "ttv.toml"
    config.write_text(
        '[milestones.first_report]\nstart = "signup"\nreached = "report_created"\n'
        '[milestones.ten]\nreached = { event = "report_created", nth = 10 }\n'
    )
    common = [str(path), "--config", str(config), "--format", "json", "--cohorts", "none"]
    assert main(["report", *common, "--engine", "spark", "--spark-master", "local[2]"]) == 0
    got = json.loads(capsys.readouterr().out)
    reference = tmp_path / "events.parquet"
    ttv.io.write_parquet(demo_events[:800], reference)
    assert main(["report", str(reference), *common[1:]]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert got["sections"] == expected["sections"]


def test_cli_spark_engine_reads_columns_and_time_zone_as_the_file_readers_do(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--columns and --timezone (and the configuration's [columns] and [input]) reach
    Spark; what it cannot honour is refused, not ignored."""
    from ttvkit.cli import main

    F = _functions(spark)
    rows = [
        (f"u{i % 3}", "signup" if i < 3 else "report", text) for i, text in enumerate(WALL_CLOCK)
    ]
    csv = tmp_path / "events.csv"
    csv.write_text("uid,event,time\n" + "".join(f"{u},{n},{t}\n" for u, n, t in rows))
    parquet = tmp_path / "events"
    spark.createDataFrame(rows, "uid string, event string, t string").select(
        "uid", "event", F.col("t").cast("timestamp_ntz").alias("time")
    ).write.parquet(str(parquet))
    config = tmp_path / "ttv.toml"
    config.write_text('[milestones.m]\nstart = "signup"\nreached = "report"\n')
    flags = ["--columns", "user=uid,name=event,timestamp=time", "--timezone", "Europe/Paris"]
    common = ["--config", str(config), "--format", "json", "--cohorts", "none", *flags]
    assert main(["report", str(csv), *common]) == 0
    expected = json.loads(capsys.readouterr().out)
    spark_args = ["--engine", "spark", "--spark-master", "local[2]"]
    assert main(["report", str(parquet), *common, *spark_args]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["sections"] == expected["sections"]
    assert got["sections"][1]["result"]["n_reached"] == 3

    refused = [*common, *spark_args, "--on-error", "skip", "--group-type", "company"]
    assert main(["report", str(parquet), *refused]) == 2
    err = capsys.readouterr().err
    assert "--on-error, --group-type: --engine spark reads Parquet columns" in err


def test_the_example_job_writes_json_and_html(
    spark: Any, demo_events: list[ValueEvent], tmp_path: Path
) -> None:
    import runpy

    events = tmp_path / "events"
    frame(spark, demo_events[:500]).write.parquet(str(events))
    job = runpy.run_path(str(Path(__file__).parents[1] / "docs" / "examples" / "spark_job.py"))
    out = tmp_path / "report"
    assert job["main"]([str(events), "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["sections"]
    assert "<html" in out.with_suffix(".html").read_text()


def test_scan_takes_a_spark_dataframe_or_files_spark_reads(
    spark: Any, demo_events: list[ValueEvent], tmp_path: Path
) -> None:
    from ttvkit.stores.spark import SparkSource

    expected = ttv.time_to_value(demo_events, FIRST).to_dict()
    table = frame(spark, demo_events)
    with ttv.scan(table) as source:
        assert isinstance(source, SparkSource)
        assert ttv.time_to_value(source, FIRST).to_dict() == expected
        assert source.event_names() == {e.name for e in demo_events}
    folder = tmp_path / "events"
    table.write.parquet(str(folder))
    with ttv.scan(str(folder), engine="spark", spark=spark) as files:
        assert isinstance(files, SparkSource)
        assert ttv.time_to_value(files, FIRST).to_dict() == expected
    with pytest.raises(ConfigurationError, match="pyspark DataFrame or a path"):
        ttv.scan(42, engine="spark", spark=spark)  # type: ignore[call-overload]


def _reference_and_spark(spark: Any, rows: list[tuple[Any, ...]], schema: str) -> tuple[Any, Any]:
    """The same rows as a pandas frame (the readers' reference) and a Spark DataFrame."""
    pd = pytest.importorskip("pandas")
    names = [part.strip().split(" ")[0].strip("`") for part in schema.split(",")]
    return pd.DataFrame(rows, columns=names), spark.createDataFrame(rows, schema)


def test_a_null_property_column_leaves_the_objects_key_and_a_value_clashes(spark: Any) -> None:
    """A key in the JSON object and a column of that name: a null cell leaves the object's
    value (Spark dropped it), a value in both is the readers' error (Spark took the column's).
    """
    if int(spark.version.split(".")[0]) < 4:
        pytest.skip("merging JSON text and columns needs VARIANT (Spark 4)")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    schema = "user_id string, name string, timestamp timestamp, properties string, plan string"
    rows = [
        ("u1", "signup", at, '{"plan": "pro", "seats": 2}', None),
        ("u2", "signup", at, '{"seats": 1}', "free"),
        ("u1", "report", at + timedelta(hours=2), None, None),
    ]
    reference, df = _reference_and_spark(spark, rows, schema)
    start = ttv.event("signup", where={"plan": "pro"})
    milestone = Milestone("m", reached=ttv.event("report"), start=start)
    assert (
        ttv.time_to_value(df, milestone).to_dict()
        == ttv.time_to_value(reference, milestone).to_dict()
    )
    clash = [*rows, ("u3", "signup", at, '{"plan": "pro"}', "free")]
    reference, df = _reference_and_spark(spark, clash, schema)
    with pytest.raises(ReadError) as read:
        ttv.time_to_value(reference, milestone)
    _, _, expected = str(read.value).partition('column "plan": ')
    with pytest.raises(ReadError) as raised:
        ttv.time_to_value(df, milestone)
    assert str(raised.value) == f'the Spark DataFrame, column "plan": {expected}'


def test_float_and_all_null_property_columns_read_as_the_readers_read_them(spark: Any) -> None:
    """A FLOAT holds 0.10000000149011612, which to_json wrote as 0.1; a column of nulls
    only (Spark's VOID, from an all-None column or F.lit(None)) is no property at all."""
    F = _functions(spark)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [("u1", "signup", at, 0.1), ("u1", "report", at + timedelta(hours=1), None)]
    reference, df = _reference_and_spark(
        spark, rows, "user_id string, name string, timestamp timestamp, f float"
    )
    reference["f"] = reference["f"].astype("float32")
    df = df.withColumn("note", F.lit(None))
    reference["note"] = None
    for where in ({"f": 0.1}, {"f": ttv.gt(0.1)}):
        milestone = Milestone("m", "report", start=ttv.event("signup", where=where))
        try:
            expected = ttv.time_to_value(reference, milestone).to_dict()
        except ttv.AnalysisError as exc:
            with pytest.raises(ttv.AnalysisError, match=re.escape(str(exc))):
                ttv.time_to_value(df, milestone)
        else:
            assert ttv.time_to_value(df, milestone).to_dict() == expected


def test_columns_named_twice_or_alike_but_for_case_are_refused_before_any_job(
    spark: Any,
) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    df = spark.createDataFrame(
        [("u1", "signup", at, "Pro", "pro")],
        "user_id string, name string, timestamp timestamp, Plan string, plan string",
    )
    with pytest.raises(ReadError, match="differ only in case"):
        ttv.time_to_value(df, FIRST)
    plans = spark.createDataFrame([("u1", "pro")], "user_id string, Plan string")
    one = spark.createDataFrame(
        [("u1", "signup", at, "Pro")],
        "user_id string, name string, timestamp timestamp, Plan string",
    )
    twice = one.join(plans, "user_id")  # two columns named Plan
    with pytest.raises(ReadError, match='names column "Plan" twice'):
        ttv.time_to_value(twice, FIRST)


def test_a_session_ttvkit_starts_draws_no_progress_bars(spark_classic: Any) -> None:
    """``ttvkit report --engine spark`` starts its own session: Spark's progress bars
    would mix with the command's output (or fill a log stderr goes to)."""
    import subprocess
    import sys

    del spark_classic  # only to skip, or fail in CI, where Spark cannot run
    script = (
        "from ttvkit.stores.spark import spark_session\n"
        "with spark_session('local[1]') as s:\n"
        "    get = s.conf.get\n"
        "    print(get('spark.ui.showConsoleProgress'), get('spark.sql.session.timeZone'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["false", "UTC"]
