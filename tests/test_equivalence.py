"""One engine-equivalence suite: every analysis, every source, the same answer.

Sources: an iterable of events, the memory, SQLite, PostgreSQL and DuckDB
stores, ``ttvkit.scan`` of Parquet, CSV, JSON lines, pandas, polars and
pyarrow, and (the hostile log) a Spark DataFrame. Logs: a hand-made hostile
log (quotes, ``;``, unicode, JSON-looking names and values, keys with ``.``
``"`` ``$``, ``true`` vs ``1`` vs ``"1"``, ties, duplicate ids, events
before the start) and hypothesis logs. Every analysis (``time_to_value``,
``compare``, ``impact``, ``cohorts``, ``journey``, ``satisfaction``; per user
and per account; windows) must give a ``to_dict()`` identical to the
pure-Python reference (the iterable), compared with the type of every value
(``tests.typed``: ``True``, ``1`` and ``1.0`` differ).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import ttvkit as ttv
from tests.conftest import SPARK_KINDS
from tests.strategies import event_logs
from tests.typed import typed
from ttvkit.errors import AnalysisError
from ttvkit.events import ValueEvent
from ttvkit.io import write_csv, write_jsonl, write_parquet

BASE = datetime(2026, 1, 1, tzinfo=UTC)
HOSTILE_NAME = "report'; DROP TABLE ttv_events; --"
SURVEY = 'csat"{}'

SOURCES = [
    "memory",
    "sqlite",
    "postgres",
    "duckdb",
    "scan-parquet",
    "scan-csv",
    "scan-jsonl",
    "scan-pandas",
    "scan-polars",
    "scan-pyarrow",
]

FIRST = ttv.Milestone("first", start=ttv.event("signup"), reached=ttv.event(HOSTILE_NAME))
WINDOWED = ttv.Milestone(
    "windowed",
    start=ttv.event("signup"),
    reached=ttv.event(HOSTILE_NAME).nth(2),
    window=timedelta(days=2),
    before_start="ignore",
)
ROI = ttv.Milestone(
    "roi",
    start=ttv.event("signup"),
    reached=ttv.total("invoice", "a.b", at_least=10),
    before_start="exclude",
)
BANDS = ttv.SpeedBands(immediate=timedelta(hours=1), short=timedelta(days=1))


def _questions() -> dict[str, Callable[[Any], Any]]:
    return {
        "ttv": lambda s: ttv.time_to_value(s, FIRST, bands=BANDS),
        "ttv_account": lambda s: ttv.time_to_value(s, FIRST, per="account"),
        "ttv_window": lambda s: ttv.time_to_value(s, WINDOWED),
        "ttv_roi": lambda s: ttv.time_to_value(s, ROI),
        "compare_plan": lambda s: ttv.compare(s, FIRST, by='$.pl"an'),
        "impact": lambda s: ttv.impact(
            s, FIRST, {"tutorial": timedelta(hours=1), "guide 🚀": timedelta(0)}
        ),
        "cohorts": lambda s: ttv.cohorts(s, FIRST, "day"),
        "journey": lambda s: ttv.journey(s, [FIRST, WINDOWED]),
        "satisfaction": lambda s: ttv.satisfaction(s, FIRST, survey=SURVEY, bands=BANDS),
    }


QUESTIONS = _questions()


def hostile_log() -> list[ValueEvent]:
    """A log built to break engines that get JSON typing, quoting or ties wrong."""
    events: list[ValueEvent] = []

    def add(user: str, name: str, minutes: int, account: str | None = None, **props: Any) -> None:
        events.append(
            ValueEvent(
                user,
                name,
                BASE + timedelta(minutes=minutes),
                properties=props or None,
                account_id=account,
                event_id=f"{user}|{name}|{minutes}|{len(events)}",
            )
        )

    plans: list[Any] = [True, 1, "1", 1.0, None, "true", False, 0]
    for i in range(24):
        user = ["u'1", 'u"2', "ü;3", "u 4", "漢字", "$.x"][i % 6] + f"-{i}"
        account = None if i % 5 == 0 else ["acme", "o'hare", 'a"b'][i % 3]
        start = i * 37
        add(user, "signup", start, account, **{'$.pl"an': plans[i % len(plans)]})
        if i % 4 == 0:
            add(user, HOSTILE_NAME, start - 10, account)  # before the start
        if i % 3 != 2:
            add(user, HOSTILE_NAME, start + 60 * (i % 7) + 5, account)
            add(user, HOSTILE_NAME, start + 60 * (i % 7) + 5, account)  # a tie
        if i % 2 == 0:
            add(user, "tutorial", start + 30, account)
        if i % 3 == 0:
            add(user, "guide 🚀", start, account)
        for k in range(i % 4):
            add(user, "invoice", start + 100 * k, account, **{"a.b": [4, 4.5, True, "9"][k]})
        add(user, SURVEY, start + 2000, account, score=[5, 3.5, 1, 4][i % 4])
    events.append(events[3])  # the same event twice: counted once
    return events


@contextlib.contextmanager
def open_source(
    kind: str, events: list[ValueEvent], folder: Path, postgres_url: str
) -> Iterator[Any]:
    """*events* in a source of *kind*, closed (and dropped) afterwards."""
    if kind == "memory":
        with ttv.MemoryStore(events) as store:
            yield store
    elif kind == "sqlite":
        with ttv.open_store("sqlite://") as store:
            store.append(events)
            yield store
    elif kind == "duckdb":
        with ttv.open_store("duckdb://") as store:
            store.append(events)
            yield store
    elif kind == "postgres":
        import psycopg

        schema = f"equiv_{uuid.uuid4().hex[:12]}"
        try:
            with ttv.open_store(f"{postgres_url}?schema={schema}") as store:
                store.append(events)
                yield store
        finally:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    else:
        fmt = kind.removeprefix("scan-")
        name = folder / f"log-{uuid.uuid4().hex[:8]}"
        if fmt == "csv":
            write_csv(events, name.with_suffix(".csv"))
            source: Any = name.with_suffix(".csv")
        elif fmt == "jsonl":
            write_jsonl(events, name.with_suffix(".jsonl"))
            source = name.with_suffix(".jsonl")
        else:
            write_parquet(events, name.with_suffix(".parquet"))
            source = name.with_suffix(".parquet")
            if fmt != "parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(source)
                if fmt == "pandas":
                    source = table.to_pandas()
                elif fmt == "polars":
                    import polars as pl

                    source = pl.from_arrow(table)
                else:
                    source = table
        with ttv.scan(source) as scanned:
            yield scanned


def answer(question: Callable[[Any], Any], source: Any) -> Any:
    """The analysis' ``to_dict()``, or the error it raised (an error must match too)."""
    try:
        return question(source).to_dict()
    except AnalysisError as exc:
        return ("AnalysisError", str(exc))


@pytest.fixture(scope="module")
def hostile_reference() -> dict[str, Any]:
    events = hostile_log()
    return {name: answer(q, events) for name, q in QUESTIONS.items()}


@pytest.mark.parametrize("kind", [*SOURCES, *SPARK_KINDS])
def test_every_analysis_of_the_hostile_log_is_the_same_on_every_source(
    kind: str, hostile_reference: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else ""
    assert all(not isinstance(v, tuple) for v in hostile_reference.values()), hostile_reference
    if kind in SPARK_KINDS:
        session = request.getfixturevalue(kind)
        events = hostile_log()
        table = session.createDataFrame(
            [
                (
                    e.event_id,
                    e.user_id,
                    e.account_id,
                    e.name,
                    e.timestamp,
                    json.dumps(dict(e.properties)) if e.properties else None,
                )
                for e in events
            ],
            "event_id string, user_id string, account_id string, name string, "
            "timestamp timestamp, properties string",
        )
        from ttvkit.stores.spark import SparkSource

        # duplicates count once on every source: Spark dedupes when asked (a shuffle)
        with SparkSource(table, dedupe=True) as spark_source:
            for name, question in QUESTIONS.items():
                assert typed(answer(question, spark_source)) == typed(hostile_reference[name]), (
                    kind,
                    name,
                )
        return
    with open_source(kind, hostile_log(), tmp_path, url) as source:
        for name, question in QUESTIONS.items():
            assert typed(answer(question, source)) == typed(hostile_reference[name]), (kind, name)


@pytest.mark.filterwarnings("ignore::ttvkit.errors.UnknownEventWarning")
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(logs=event_logs(hostile=True, max_size=30))
@pytest.mark.parametrize("kind", SOURCES)
def test_time_to_value_and_cohorts_of_any_log_are_the_same_on_every_source(
    kind: str, logs: list[ValueEvent], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else ""
    milestone = ttv.Milestone("m", start=ttv.event("signup"), reached=ttv.event("report"))
    questions: dict[str, Callable[[Any], Any]] = {
        "ttv": lambda s: ttv.time_to_value(s, milestone),
        "ttv_account": lambda s: ttv.time_to_value(s, milestone, per="account"),
        "cohorts": lambda s: ttv.cohorts(s, milestone, "day"),
    }
    if not logs:
        return
    expected = {name: answer(q, logs) for name, q in questions.items()}
    with open_source(kind, logs, tmp_path, url) as source:
        for name, question in questions.items():
            assert typed(answer(question, source)) == typed(expected[name]), (kind, name)


@pytest.mark.parametrize(
    ("amounts", "target", "hours"),
    [
        # A plain float SUM loses the small amounts beside -2**62 and gets 0 after +2**62;
        # the reference adds up exactly and reaches 10 at the fifth invoice.
        ([6, 2.5, -(2**62), 1.5, 2**62, -(2**62), 0.25], 10, 5),
        # Past the float range: reached at the first; a statement must not fail later on.
        ([1.7e308, 1.7e308, 5], 5, 1),
    ],
)
@pytest.mark.parametrize("kind", SOURCES)
def test_a_total_whose_values_cancel_is_reached_on_every_source(
    kind: str,
    amounts: list[float],
    target: float,
    hours: int,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    # (Spark sums doubles plainly: docs/spark.md says so.)
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else ""
    events = [ValueEvent("u1", "signup", BASE, event_id="s")] + [
        ValueEvent("u1", "invoice", BASE + timedelta(hours=i + 1), properties={"amount": a})
        for i, a in enumerate(amounts)
    ]
    milestone = ttv.Milestone(
        "roi", start="signup", reached=ttv.total("invoice", "amount", at_least=target)
    )
    expected = ttv.time_to_value(events, milestone).to_dict()
    assert expected["median_seconds"] == hours * 3600
    with open_source(kind, events, tmp_path, url) as source:
        assert typed(ttv.time_to_value(source, milestone).to_dict()) == typed(expected)
