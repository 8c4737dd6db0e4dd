"""journey() at its edges: a first stage with ``before_start="exclude"``, and stages
reached before the start, on every engine (memory, SQLite, DuckDB).

Each stage is reached exactly as :func:`ttvkit.time_to_value` reaches it: the
first stage's distribution is the one ``time_to_value`` gives, ``n_reached_before_start``
included, and a customer who reached a stage before the start with
``before_start="exclude"`` leaves the journey there, counted in ``n_excluded``
(the first stage too: such a customer started, and is one of ``n_started``).
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ttvkit as ttv
from tests.strategies import event_logs
from ttvkit.errors import AnalysisError, UnknownEventWarning
from ttvkit.milestones import BeforeStart, Milestone
from ttvkit.observations import observe
from ttvkit.results import StageResult

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
ENGINES = ["memory", "sqlite", "duckdb"]
MODES: list[BeforeStart] = ["zero", "ignore", "exclude"]


def at(user: str, name: str, hours: float) -> ttv.ValueEvent:
    return ttv.ValueEvent(user_id=user, name=name, timestamp=T0 + hours * H)


def log() -> list[ttv.ValueEvent]:
    """u1 plain; u2 did 'a' before signing up; u3 did both before; u4 never gets there;
    u5 did 'b' (only) before signing up, then 'a'."""
    return [
        at("u1", "signup", 0),
        at("u1", "a", 1),
        at("u1", "b", 2),
        at("u2", "a", 0),
        at("u2", "signup", 1),
        at("u2", "b", 3),
        at("u3", "a", 0),
        at("u3", "b", 0.5),
        at("u3", "signup", 1),
        at("u4", "signup", 2),
        at("u5", "b", 0),
        at("u5", "signup", 1),
        at("u5", "a", 4),
        at("u6", "heartbeat", 10),
    ]


@contextlib.contextmanager
def engine(kind: str, events: Sequence[ttv.ValueEvent], folder: Path | None) -> Iterator[Any]:
    """*events* in a store of *kind* (SQLite on disk when *folder* is given)."""
    if kind == "memory":
        with ttv.MemoryStore(events) as memory:
            yield memory
        return
    url = {
        "sqlite": "sqlite://" if folder is None else f"sqlite:///{folder / 'ttv.db'}",
        "duckdb": "duckdb://",
    }[kind]
    with ttv.open_store(url) as store:
        store.append(events)
        yield store


def stages(first: BeforeStart, second: BeforeStart = "zero") -> list[Milestone]:
    return [Milestone("a", "a", before_start=first), Milestone("b", "b", before_start=second)]


@pytest.mark.parametrize("kind", ENGINES)
def test_exclude_at_the_first_stage_is_counted_there(kind: str, tmp_path: Path) -> None:
    with engine(kind, log(), tmp_path) as store:
        report = ttv.journey(store, stages("exclude"))
    # u2 and u3 reached 'a' before signing up: they started, and leave at stage 1.
    assert report.n_started == 5
    first, second = report.stages
    assert first.n_excluded == 2
    assert first.n_entered == 3  # u1, u4, u5
    assert first.n_entered + first.n_excluded == report.n_started
    assert second.n_excluded == 0
    rows = {r.customer_id: r.stage_times for r in report.rows}
    assert rows["u2"] == rows["u3"] == (None, None)
    assert "a: 2 customers left out" in str(report)


@pytest.mark.parametrize("kind", ENGINES)
def test_exclude_at_the_first_stage_counts_like_at_the_second(kind: str, tmp_path: Path) -> None:
    events = log()
    swapped = [Milestone("b", "b"), Milestone("a", "a", before_start="exclude")]
    with engine(kind, events, tmp_path) as store:
        first = ttv.journey(store, [Milestone("a0", "a", before_start="exclude"), swapped[0]])
        second = ttv.journey(store, [Milestone("b0", "b"), *swapped[1:]])
    # The same two customers reached 'a' before the start, at either position.
    assert first.stages[0].n_excluded == 2
    assert second.stages[1].n_excluded == 2
    assert first.n_started == second.n_started == 5


@pytest.mark.parametrize("kind", ENGINES)
def test_everyone_excluded_at_the_first_stage_is_not_an_error(kind: str, tmp_path: Path) -> None:
    events = [at("u1", "a", 0), at("u1", "signup", 1), at("u2", "a", 0), at("u2", "signup", 2)]
    events.append(at("u2", "b", 3))
    with engine(kind, events, tmp_path) as store:
        report = ttv.journey(store, stages("exclude"))
    assert report.n_started == 2
    assert [(s.n_entered, s.n_excluded, s.distribution) for s in report.stages] == [
        (0, 2, None),
        (0, 0, None),
    ]


@pytest.mark.parametrize("kind", ENGINES)
@pytest.mark.parametrize("mode", MODES)
def test_first_stage_distribution_is_time_to_value(
    kind: str, mode: BeforeStart, tmp_path: Path
) -> None:
    first = Milestone("a", "a", before_start=mode)
    with engine(kind, log(), tmp_path) as store:
        report = ttv.journey(store, [first, Milestone("b", "b")])
        alone = ttv.time_to_value(store, first)
    distribution = report.stages[0].distribution
    assert distribution is not None
    assert distribution.to_dict() == alone.to_dict()
    # u2 and u3 reached 'a' before the start: counted at 0, unless ignored or excluded.
    assert distribution.n_reached_before_start == (2 if mode == "zero" else 0)


@pytest.mark.parametrize("kind", ENGINES)
def test_later_stages_count_who_reached_them_before_the_start(kind: str, tmp_path: Path) -> None:
    with engine(kind, log(), tmp_path) as store:
        report = ttv.journey(store, stages("zero", "zero"))
        alone = {
            o.customer_id: o for o in ttv.time_to_value(store, stages("zero")[1]).observations()
        }
    second = report.stages[1].distribution
    assert second is not None
    entered = {r.customer_id for r in report.rows if r.stage_times[0] is not None}
    # u3 and u5 reached 'b' before signing up; both complete stage 1, so both enter stage 2.
    expected = sum(alone[c].reached_before_start for c in entered)
    assert second.n_reached_before_start == expected == 2
    assert second.to_dict()["n_reached_before_start"] == 2


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
@pytest.mark.parametrize("first_mode", MODES)
@pytest.mark.parametrize("second_mode", MODES)
def test_every_engine_gives_the_memory_store_answer(
    kind: str, first_mode: BeforeStart, second_mode: BeforeStart, tmp_path: Path
) -> None:
    plan = stages(first_mode, second_mode)
    with engine("memory", log(), None) as memory:
        expected = ttv.journey(memory, plan)
    with engine(kind, log(), tmp_path) as store:
        got = ttv.journey(store, plan)
    assert got.to_dict() == expected.to_dict()
    assert got.rows == expected.rows
    for mine, theirs in zip(got.stages, expected.stages, strict=True):
        assert (mine.distribution is None) == (theirs.distribution is None)
        if mine.distribution is not None and theirs.distribution is not None:
            assert mine.distribution.to_dict() == theirs.distribution.to_dict()


# --------------------------------------------------------------------------- property


def expected_counts(
    events: Sequence[ttv.ValueEvent], plan: Sequence[Milestone], as_of: datetime
) -> dict[str, Any]:
    """What the docs say, from observe() per stage: a customer completes stage i when
    they reached it (as observe() reaches it) and every earlier stage; one observe()
    leaves out of stage i (before_start="exclude") leaves the journey there."""
    started = observe(events, attrs.evolve(plan[0], before_start="zero"), as_of=as_of)
    per_stage = [{o.customer_id: o for o in observe(events, s, as_of=as_of)} for s in plan]
    entered, reached, excluded, before, out_of_order = ([0] * len(plan) for _ in range(5))
    # Per stage, each entering customer's (time from the previous stage, reached):
    # watched from the previous stage's time, never censored before it.
    cells: list[Counter[tuple[timedelta, bool]]] = [Counter() for _ in plan]
    rows = {}
    for customer in started:
        done: datetime | None = customer.start
        times: list[datetime | None] = []
        for i, stage in enumerate(per_stage):
            mine = stage.get(customer.customer_id)
            if done is not None and mine is None:
                excluded[i] += 1
                done = None
            elif done is not None and mine is not None:
                entered[i] += 1
                before[i] += mine.reached_before_start
                previous = done
                if mine.reached_at is None:
                    cells[i][max(mine.end, previous) - previous, False] += 1
                    done = None
                else:
                    reached[i] += 1
                    out_of_order[i] += i > 0 and mine.reached_at < previous
                    done = max(previous, mine.reached_at)
                    cells[i][done - previous, True] += 1
            times.append(done)
        rows[customer.customer_id] = tuple(times)
    return {
        "rows": rows,
        "entered": entered,
        "reached": reached,
        "excluded": excluded,
        "before": before,
        "out_of_order": out_of_order,
        "cells": cells,
    }


def stage_cells(stage: StageResult) -> Counter[tuple[timedelta, bool]]:
    """A stage's customers as (time from the previous stage, reached), counted."""
    counted: Counter[tuple[timedelta, bool]] = Counter()
    if stage.distribution is None:
        return counted
    cells = stage.distribution.cells
    for micros, n_reached, n_censored in zip(
        cells.durations, cells.reached, cells.censored, strict=True
    ):
        duration = timedelta(microseconds=micros)
        counted[duration, True] += n_reached
        counted[duration, False] += n_censored
    return +counted  # without the zero counts


@pytest.mark.parametrize("kind", ENGINES)
def test_a_stage_censored_before_the_previous_one_is_watched_from_it(
    kind: str, tmp_path: Path
) -> None:
    # u1 completes 'a' 10 h after signing up; 'b' has a 5 h window from the start,
    # so u1 is censored for 'b' at 5 h, before entering it: watched from 10 h, for 0.
    # u2 reaches 'a' and 'b' at the same time (in order); u3 reaches 'b' before 'a'
    # (out of order: completes 'b' when it completes 'a'); u4 never reaches 'a'.
    events = [
        at("u1", "signup", 0),
        at("u1", "a", 10),
        at("u2", "signup", 0),
        at("u2", "a", 1),
        at("u2", "b", 1),
        at("u3", "signup", 0),
        at("u3", "b", 1),
        at("u3", "a", 2),
        at("u4", "signup", 0),
        at("u9", "heartbeat", 20),
    ]
    plan = [Milestone("a", "a"), Milestone("b", "b", window=5 * H)]
    with engine(kind, events, tmp_path) as store:
        report = ttv.journey(store, plan)
    first, second = report.stages
    assert second.n_out_of_order == 1  # u3 only: reaching at the same time is in order
    assert stage_cells(second) == Counter({(timedelta(0), True): 2, (timedelta(0), False): 1})
    assert stage_cells(first) == Counter(
        {(10 * H, True): 1, (1 * H, True): 1, (2 * H, True): 1, (20 * H, False): 1}
    )
    want = expected_counts(events, plan, report.as_of)
    assert [stage_cells(s) for s in report.stages] == want["cells"]
    assert [s.n_out_of_order for s in report.stages] == want["out_of_order"]


#: Few customers and names over two days, so stages before the start are common.
journey_logs = st.lists(
    st.builds(
        at,
        st.sampled_from(["u1", "u2", "u3", "u4"]),
        st.sampled_from(["signup", "report", "invoice", "tutorial"]),
        st.integers(0, 48),
    ),
    max_size=25,
)


@settings(max_examples=20)  # three engines per example
@given(
    events=st.one_of(journey_logs, event_logs(max_size=30)),
    modes=st.lists(st.sampled_from(MODES), min_size=3, max_size=3),
    window=st.one_of(st.none(), st.sampled_from([timedelta(hours=5), timedelta(days=1)])),
)
def test_journey_follows_observe_on_every_engine(
    events: list[ttv.ValueEvent], modes: list[BeforeStart], window: timedelta | None
) -> None:
    plan = [
        Milestone("report", "report", before_start=modes[0]),
        Milestone("invoice", "invoice", before_start=modes[1], window=window),
        Milestone("tutorial", "tutorial", before_start=modes[2]),
    ]
    reports = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownEventWarning)
        for kind in ENGINES:
            with engine(kind, events, None) as store:
                try:
                    reports[kind] = ttv.journey(store, plan)
                except AnalysisError:  # nobody started the clock (event ids count once)
                    assert not observe(events, attrs.evolve(plan[0], before_start="zero"))
                    return
                if kind == "memory":
                    try:
                        alone: ttv.TTVDistribution | None = ttv.time_to_value(store, plan[0])
                    except AnalysisError:  # nobody is an observation of stage 1 alone
                        alone = None
    report = reports["memory"]
    for kind in ENGINES[1:]:
        assert reports[kind].to_dict() == report.to_dict(), kind
        assert reports[kind].rows == report.rows, kind
    want = expected_counts(events, plan, report.as_of)
    assert {r.customer_id: r.stage_times for r in report.rows} == want["rows"]
    assert [s.n_entered for s in report.stages] == want["entered"]
    assert [s.n_reached for s in report.stages] == want["reached"]
    assert [s.n_excluded for s in report.stages] == want["excluded"]
    assert [s.n_out_of_order for s in report.stages] == want["out_of_order"]
    assert [stage_cells(s) for s in report.stages] == want["cells"]
    assert [
        0 if s.distribution is None else s.distribution.n_reached_before_start
        for s in report.stages
    ] == want["before"]
    first = report.stages[0].distribution
    assert (first is None) == (alone is None)
    if first is not None and alone is not None:
        assert first.to_dict() == alone.to_dict()
