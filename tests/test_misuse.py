"""The same misuse raises the same error, with the same message, on every source.

Each misuse (a bad ``per``, a naive or wrong-type ``as_of``, something that
is not a Milestone, a bad ``alpha``, ``within``, ``landmark`` or period, an
unknown ``response``, an attribute holding a name where a condition belongs,
...) is tried through the calculators on every kind of source (an iterable
of events; the memory, SQLite in memory and in a file, PostgreSQL and DuckDB
stores; ``ttvkit.scan`` of a Parquet file; a Spark DataFrame), and through the
store methods (``observations``, ``observation_columns``, ``duration_cells``)
of every store and source. The error must be the type the vocabulary names
(:class:`~ttvkit.errors.InvalidArgumentError`, or
:class:`~ttvkit.errors.InvalidMilestoneError` for a milestone, condition or
attribute spec), a ``ValueError``, and word for word the same everywhere.
A bad question never reaches a store: it is checked first.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta

import ttvkit as ttv
import ttvkit.stores
from ttvkit import datasets
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidMilestoneError,
    TTVError,
)
from ttvkit.events import ValueEvent
from ttvkit.io import write_parquet
from ttvkit.observations import FirstTime, PropertyOf, StartProperty

BASE = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = ttv.Milestone("m", start=ttv.event("signup"), reached=ttv.event("report"))
CSAT = ttv.Milestone("csat", start=ttv.event("signup"), reached=ttv.event("csat"))
BANDS = ttv.SpeedBands(immediate=H, short=timedelta(days=1))
NAIVE = datetime(2026, 2, 1)


def _events() -> list[ValueEvent]:
    events = []
    for i in range(6):
        for k, name in enumerate(["signup", "tutorial", "report", "csat"]):
            events.append(
                ValueEvent(
                    f"u{i}",
                    name,
                    BASE + timedelta(hours=3 * i + k),
                    properties={"plan": "pro" if i % 2 else "free", "score": 1 + i % 5},
                    account_id=f"a{i % 2}",
                    event_id=f"e{i}-{k}",
                )
            )
    return events


EVENTS = _events()

Question = Callable[[Any], object]

#: Misuses of the calculators: (what, question, the error the vocabulary names).
CALCULATOR_MISUSES: list[tuple[str, Question, type[TTVError]]] = [
    ("per", lambda s: ttv.time_to_value(s, M, per="team"), InvalidArgumentError),
    ("per not a str", lambda s: ttv.cohorts(s, M, per=["user"]), InvalidArgumentError),
    ("naive as_of", lambda s: ttv.time_to_value(s, M, as_of=NAIVE), InvalidArgumentError),
    ("as_of a bool", lambda s: ttv.time_to_value(s, M, as_of=True), InvalidArgumentError),
    ("as_of a list", lambda s: ttv.compare(s, M, "plan", as_of=[2026]), InvalidArgumentError),
    ("as_of not ISO", lambda s: ttv.journey(s, [M, CSAT], as_of="yesterday"), InvalidArgumentError),
    ("not a milestone", lambda s: ttv.time_to_value(s, "m"), InvalidMilestoneError),
    ("milestone None", lambda s: ttv.compare(s, None, "plan"), InvalidMilestoneError),
    ("stages not milestones", lambda s: ttv.journey(s, ["a", "b"]), InvalidMilestoneError),
    ("alpha above 1", lambda s: ttv.compare(s, M, "plan", alpha=1.5), InvalidArgumentError),
    ("alpha a str", lambda s: ttv.impact(s, M, ["tutorial"], alpha="0.05"), InvalidArgumentError),
    ("alpha a bool", lambda s: ttv.compare(s, M, "plan", alpha=True), InvalidArgumentError),
    ("within 0", lambda s: ttv.compare(s, M, "plan", within=timedelta(0)), InvalidArgumentError),
    ("within an int", lambda s: ttv.cohorts(s, M, within=7), InvalidArgumentError),
    ("within of journey", lambda s: ttv.journey(s, [M, CSAT], within=-H), InvalidArgumentError),
    ("landmark < 0", lambda s: ttv.compare(s, M, "plan", landmark=-H), InvalidArgumentError),
    (
        "landmark not before within",
        lambda s: ttv.impact(s, M, ["tutorial"], landmark=timedelta(days=8)),
        InvalidArgumentError,
    ),
    (
        "landmark of a lever",
        lambda s: ttv.impact(s, M, {"tutorial": "1h"}),
        InvalidArgumentError,
    ),
    ("bootstrap", lambda s: ttv.compare(s, M, "plan", bootstrap=10), InvalidArgumentError),
    ("period", lambda s: ttv.cohorts(s, M, "fortnight"), InvalidArgumentError),
    (
        "period backwards",
        lambda s: ttv.cohorts(s, M, relativedelta(days=-1)),
        InvalidArgumentError,
    ),
    (
        "response",
        lambda s: ttv.satisfaction(s, M, bands=BANDS, response="middle"),
        InvalidArgumentError,
    ),
    (
        "survey not one event",
        lambda s: ttv.satisfaction(s, M, ttv.event("csat").nth(2), bands=BANDS),
        InvalidArgumentError,
    ),
    ("score", lambda s: ttv.satisfaction(s, M, score="", bands=BANDS), InvalidArgumentError),
    ("bands", lambda s: ttv.time_to_value(s, M, bands=3), InvalidArgumentError),
    ("bands of satisfaction", lambda s: ttv.satisfaction(s, M, bands=None), InvalidArgumentError),
    ("by neither name nor condition", lambda s: ttv.compare(s, M, 3), InvalidArgumentError),
    ("by ''", lambda s: ttv.compare(s, M, ""), InvalidArgumentError),
    ("intervention not a condition", lambda s: ttv.impact(s, M, [3]), InvalidArgumentError),
    ("no interventions", lambda s: ttv.impact(s, M, []), InvalidArgumentError),
]

#: Misuses of the store methods; each is tried on observations(), observation_columns()
#: and, without attributes, duration_cells().
STORE_MISUSES: list[tuple[str, dict[str, Any], type[TTVError]]] = [
    ("per", {"per": "team"}, InvalidArgumentError),
    ("per None", {"per": None}, InvalidArgumentError),
    ("naive as_of", {"as_of": NAIVE}, InvalidArgumentError),
    ("as_of an int", {"as_of": 5}, InvalidArgumentError),
    ("as_of a str", {"as_of": "2026-01-02T00:00:00Z"}, InvalidArgumentError),
    ("not a milestone", {"milestone": "m"}, InvalidMilestoneError),
    ("milestone None", {"milestone": None}, InvalidMilestoneError),
    ("not an attribute", {"attributes": ["plan"]}, InvalidMilestoneError),
    ("attributes a str", {"attributes": "plan"}, InvalidArgumentError),
    ("attributes None", {"attributes": None}, InvalidArgumentError),
    ("first time of a name", {"attributes": [FirstTime("signup")]}, InvalidMilestoneError),
    (
        "property of a name",
        {"attributes": [PropertyOf("csat", "score")]},
        InvalidMilestoneError,
    ),
    (
        "property of nth",
        {"attributes": [PropertyOf(ttv.event("csat").nth(2), "score")]},
        InvalidMilestoneError,
    ),
    (
        "property name an int",
        {"attributes": [PropertyOf(ttv.event("csat"), 3)]},
        InvalidMilestoneError,
    ),
    (
        "property of the middle",
        {"attributes": [PropertyOf(ttv.event("csat"), "score", "middle")]},
        InvalidMilestoneError,
    ),
    ("start property an int", {"attributes": [StartProperty(3)]}, InvalidMilestoneError),
    (
        "no one start event",
        {
            "milestone": ttv.Milestone("m", "report", start=ttv.any_of("signup", "tutorial")),
            "attributes": [StartProperty("plan")],
        },
        InvalidMilestoneError,
    ),
]

CALCULATOR_SOURCES = [
    "iterable",
    "memory",
    "sqlite-memory",
    "sqlite-file",
    "postgres",
    "duckdb",
    "scan-parquet",
    "spark",
]
STORE_SOURCES = [k for k in CALCULATOR_SOURCES if k != "iterable"]


@contextlib.contextmanager
def source_of(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """:data:`EVENTS` as a source of *kind*; closed (and dropped) afterwards."""
    if kind == "iterable":
        yield list(EVENTS)
    elif kind == "memory":
        with ttv.MemoryStore(EVENTS) as store:
            yield store
    elif kind.startswith("sqlite"):
        url = "sqlite://" if kind == "sqlite-memory" else f"sqlite:///{tmp_path / 'e.db'}"
        with ttv.open_store(url) as store:
            store.append(EVENTS)
            yield store
    elif kind == "duckdb":
        pytest.importorskip("duckdb", reason="the DuckDB store needs ttvkit[duckdb]")
        with ttv.open_store("duckdb://") as store:
            store.append(EVENTS)
            yield store
    elif kind == "postgres":
        postgres_url: str = request.getfixturevalue("postgres_url")
        import psycopg

        schema = f"misuse_{uuid.uuid4().hex[:12]}"
        try:
            with ttv.open_store(f"{postgres_url}?schema={schema}") as store:
                store.append(EVENTS)
                yield store
        finally:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    elif kind == "scan-parquet":
        pytest.importorskip("duckdb", reason="ttvkit.scan needs ttvkit[duckdb]")
        path = tmp_path / "events.parquet"
        write_parquet(EVENTS, path)
        with ttv.scan(path) as scanned:
            yield scanned
    else:
        assert kind == "spark"
        session = request.getfixturevalue(
            "spark_classic"
        )  # the errors come before the session is used
        frame = session.createDataFrame(
            [
                (
                    e.event_id,
                    e.user_id,
                    e.account_id,
                    e.name,
                    e.timestamp,
                    json.dumps(dict(e.properties)) if e.properties else None,
                )
                for e in EVENTS
            ],
            "event_id string, user_id string, account_id string, name string, "
            "timestamp timestamp, properties string",
        )
        from ttvkit.stores.spark import SparkSource

        with SparkSource(frame) as spark_source:
            yield spark_source


def error_of(call: Callable[[], object]) -> tuple[type[BaseException], str]:
    """The type and message of the error *call* raises (it must raise)."""
    try:
        call()
    except Exception as exc:  # any type: the test compares them
        return type(exc), str(exc)
    pytest.fail("no error was raised")


def check_vocabulary(error: tuple[type[BaseException], str], expected: type[TTVError]) -> None:
    kind, message = error
    assert kind is expected, error
    assert issubclass(kind, TTVError) and issubclass(kind, ValueError)
    assert message  # says what was wrong


@pytest.mark.parametrize(
    ("what", "misuse", "expected"), CALCULATOR_MISUSES, ids=[m[0] for m in CALCULATOR_MISUSES]
)
@pytest.mark.parametrize("kind", CALCULATOR_SOURCES)
def test_a_misused_calculator_raises_the_same_error_on_every_source(
    kind: str,
    what: str,
    misuse: Question,
    expected: type[TTVError],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    reference = error_of(lambda: misuse(list(EVENTS)))
    check_vocabulary(reference, expected)
    with source_of(kind, tmp_path, request) as source:
        assert error_of(lambda: misuse(source)) == reference


@pytest.mark.parametrize(
    ("what", "arguments", "expected"), STORE_MISUSES, ids=[m[0] for m in STORE_MISUSES]
)
@pytest.mark.parametrize("kind", STORE_SOURCES)
def test_a_misused_store_method_raises_the_same_error_on_every_store(
    kind: str,
    what: str,
    arguments: dict[str, Any],
    expected: type[TTVError],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    call = {"milestone": M} | arguments
    milestone = call.pop("milestone")
    methods = ["observations", "observation_columns"]
    if "attributes" not in call:
        methods.append("duration_cells")
    with ttv.MemoryStore(EVENTS) as memory:
        reference = error_of(lambda: memory.observations(milestone, **call))
    check_vocabulary(reference, expected)
    with source_of(kind, tmp_path, request) as store:
        for method in methods:
            got = error_of(lambda method=method: getattr(store, method)(milestone, **call))
            assert got == reference, (kind, method)


@pytest.mark.parametrize(
    ("what", "misuse", "store_call"),
    [
        ("per", lambda s: ttv.time_to_value(s, M, per="team"), {"per": "team"}),
        ("naive as_of", lambda s: ttv.time_to_value(s, M, as_of=NAIVE), {"as_of": NAIVE}),
        ("not a milestone", lambda s: ttv.time_to_value(s, "m"), {"milestone": "m"}),
    ],
)
def test_the_calculators_and_the_stores_word_a_misuse_alike(
    what: str, misuse: Question, store_call: dict[str, Any]
) -> None:
    call = {"milestone": M} | store_call
    milestone = call.pop("milestone")
    with ttv.MemoryStore(EVENTS) as store:
        assert error_of(lambda: misuse(store)) == error_of(
            lambda: store.observations(milestone, **call)
        )


class _Spy(ttv.MemoryStore):
    """A memory store that records every question it is asked."""

    def __init__(self) -> None:
        super().__init__(EVENTS)
        self.asked: list[str] = []

    def observations(self, *args: Any, **kwargs: Any) -> Any:
        self.asked.append("observations")
        return super().observations(*args, **kwargs)

    def observation_columns(self, *args: Any, **kwargs: Any) -> Any:
        self.asked.append("observation_columns")
        return super().observation_columns(*args, **kwargs)

    def duration_cells(self, *args: Any, **kwargs: Any) -> Any:
        self.asked.append("duration_cells")
        return super().duration_cells(*args, **kwargs)

    def events(self, *args: Any, **kwargs: Any) -> Any:
        self.asked.append("events")
        return super().events(*args, **kwargs)


@pytest.mark.parametrize(
    ("what", "misuse", "expected"), CALCULATOR_MISUSES, ids=[m[0] for m in CALCULATOR_MISUSES]
)
def test_a_bad_question_never_reaches_the_store(
    what: str, misuse: Question, expected: type[TTVError]
) -> None:
    with _Spy() as spy:
        with pytest.raises(expected):
            misuse(spy)
        assert spy.asked == []


def test_bad_arguments_are_still_caught_as_analysis_errors_for_one_release() -> None:
    """InvalidArgumentError derives from AnalysisError for compatibility (see ttvkit.errors)."""
    assert issubclass(InvalidArgumentError, AnalysisError)
    with pytest.raises(AnalysisError, match="per='team'"):
        ttv.time_to_value(EVENTS, M, per="team")


RESULT_MISUSES: dict[str, Callable[[Any], object]] = {
    "percentile share": lambda d: d.percentile(1.5),
    "reached_within not a duration": lambda d: d.reached_within(3),
    "reached_within negative": lambda d: d.reached_within(-H),
    "speed_counts without bands": lambda d: d.speed_counts(),
}


@pytest.mark.parametrize("name", sorted(RESULT_MISUSES))
def test_a_misused_result_raises_invalid_argument(name: str) -> None:
    distribution = ttv.time_to_value(EVENTS, M)
    with pytest.raises(InvalidArgumentError):
        RESULT_MISUSES[name](distribution)


def test_a_missing_group_or_speed_class_is_an_invalid_argument() -> None:
    demo = datasets.saas_events(200, seed=3)
    first_report = ttv.Milestone(
        "r", start=ttv.event(datasets.SIGNUP), reached=ttv.event(datasets.REPORT_CREATED)
    )
    comparison = ttv.compare(demo, first_report, "plan")
    with pytest.raises(InvalidArgumentError, match="no group"):
        comparison.group("nobody")
    report = ttv.satisfaction(EVENTS, CSAT, "csat", bands=BANDS)
    with pytest.raises(InvalidArgumentError, match="speed class"):
        report.group("fastest")


# -- a source or store of someone else's, misbehaving ----------------------------------------


def _entry_points_of(*points: tuple[str, str]) -> Callable[..., list[EntryPoint]]:
    found = [EntryPoint(name=name, value=value, group="ttvkit.stores") for name, value in points]
    return lambda group: found if group == "ttvkit.stores" else []


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("no_such_module_for_ttvkit:Store", ["could not be loaded", "ModuleNotFoundError"]),
        ("ttvkit:NoSuchStore", ["could not be loaded", "AttributeError"]),
        ("ttvkit.stores:_BUILTIN", ["is a dict, not a factory that takes the URL"]),
    ],
)
def test_a_broken_store_entry_point_is_a_configuration_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, fragments: list[str]
) -> None:
    monkeypatch.setattr(ttvkit.stores, "entry_points", _entry_points_of(("mystore", value)))
    with pytest.raises(ConfigurationError) as raised:
        ttv.open_store("mystore://x")
    message = str(raised.value)
    assert f"'ttvkit.stores' entry point mystore = {value!r}" in message
    assert all(fragment in message for fragment in fragments), message


def test_a_store_factory_that_returns_no_store_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ttvkit.stores._registered, "nothing", lambda url: None)
    with pytest.raises(ConfigurationError, match=r"returned NoneType, not a store \(no obs"):
        ttv.open_store("nothing://x")
    with pytest.raises(ConfigurationError, match="returned NoneType"):
        ttv.time_to_value("nothing://x", M)


class _Misbehaving:
    """A source of the protocol over a memory store, with one hook answering wrongly."""

    def __init__(self, events: list[ValueEvent], **wrong: Any) -> None:
        self._store = ttv.MemoryStore()
        self._store.append(events)
        self._wrong = wrong

    def __getattr__(self, name: str) -> Any:
        if name in self._wrong:
            return self._wrong[name]
        return getattr(self._store, name)

    def __enter__(self) -> _Misbehaving:
        return self

    def __exit__(self, *exc: object) -> None:
        self._store.close()


def _events() -> list[ValueEvent]:
    return [
        ValueEvent(user_id="u1", name="signup", timestamp=BASE),
        ValueEvent(user_id="u1", name="report", timestamp=BASE + H),
    ]


@pytest.mark.parametrize(
    ("wrong", "method"),
    [
        ({"duration_cells": lambda *a, **k: []}, "duration_cells"),
        ({"observation_columns": lambda *a, **k: []}, "observation_columns"),
    ],
)
def test_a_source_hook_returning_the_wrong_type_is_a_store_error_naming_it(
    wrong: dict[str, Any], method: str
) -> None:
    source = _Misbehaving(_events(), **wrong)
    analysis = ttv.time_to_value if method == "duration_cells" else ttv.compare
    arguments: dict[str, Any] = {} if method == "duration_cells" else {"by": "plan"}
    with pytest.raises(ttv.StoreError) as raised:
        analysis(source, M, **arguments)  # type: ignore[operator]
    assert f"_Misbehaving.{method}() returned list" in str(raised.value)
    assert "ttvkit.observations." in str(raised.value)


def test_a_naive_latest_timestamp_is_the_sources_error_not_the_callers() -> None:
    source = _Misbehaving(_events(), latest_timestamp=lambda: BASE.replace(tzinfo=None) + H)
    with pytest.raises(ttv.StoreError, match=r"_Misbehaving\.latest_timestamp\(\) returned"):
        ttv.time_to_value(source, M)
    assert ttv.time_to_value(source, M, as_of=BASE + H).n == 1


def test_an_entry_point_whose_name_is_no_scheme_is_not_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    points = _entry_points_of(("my_store", "ttvkit.stores:MemoryStore.from_url"))
    monkeypatch.setattr(ttvkit.stores, "entry_points", points)
    with pytest.raises(ConfigurationError, match="unknown scheme 'other'") as raised:
        ttv.open_store("other://x")
    assert "my_store" not in str(raised.value)


def test_a_source_of_ones_own_without_every_method_is_told_which_it_lacks() -> None:
    class NoContext:
        def observations(self, *args: Any, **kwargs: Any) -> list[Any]:
            return []

        def latest_timestamp(self) -> datetime:
            return BASE

    with pytest.raises(InvalidArgumentError, match=r"no close\(\), __enter__\(\), __exit__\(\)"):
        ttv.time_to_value(NoContext(), M)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="pass a Store, a store URL"):
        ttv.time_to_value(42, M)  # type: ignore[arg-type]
