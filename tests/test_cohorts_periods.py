"""cohorts() with a relativedelta period: only lengths are periods, and only the periods
that hold a customer are found (a one-second period over a year returns at once)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import MO, relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

import ttvkit as ttv
from ttvkit import InvalidArgumentError, Milestone, ValueEvent

T0 = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
REPORT = Milestone("first_report", "report", start="signup")


def log(offsets: list[timedelta]) -> list[ValueEvent]:
    events = []
    for i, offset in enumerate(offsets):
        events.append(ValueEvent(f"u{i}", "signup", T0 + offset))
        events.append(ValueEvent(f"u{i}", "report", T0 + offset + timedelta(hours=i % 5)))
    return events


def naive_periods(starts: list[datetime], step: relativedelta) -> dict[datetime, int]:
    """Every boundary anchor + k * step up to the last start, then a search per start."""
    anchor = min(starts).replace(hour=0, minute=0, second=0, microsecond=0)
    boundaries = [anchor]
    while anchor + step * len(boundaries) <= max(starts):
        boundaries.append(anchor + step * len(boundaries))
    counts: dict[datetime, int] = {}
    for start in starts:
        period = max(b for b in boundaries if b <= start)
        counts[period] = counts.get(period, 0) + 1
    return counts


@pytest.mark.parametrize(
    "period",
    [
        relativedelta(day=31),  # a date, not a length: every period would start on it
        relativedelta(weekday=MO),
        relativedelta(months=1, day=1),
        relativedelta(month=12),
        relativedelta(months=1, days=-30),  # goes back in time at k = 2
        relativedelta(),
        ["month"],
        "fortnight",
    ],
)
def test_periods_that_are_not_lengths_are_refused(period: object) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidArgumentError, match=r"^period="):
        ttv.cohorts(log([timedelta(days=d) for d in range(0, 400, 7)]), REPORT, period=period)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5


def test_a_one_second_period_over_a_year_finds_only_the_periods_with_customers() -> None:
    offsets = [timedelta(days=d, seconds=s) for d, s in ((0, 0), (0, 1), (180, 7), (364, 3))]
    started = time.monotonic()
    table = ttv.cohorts(log(offsets), REPORT, period=relativedelta(seconds=1))
    assert time.monotonic() - started < 2  # ~3e7 periods; one by one this took minutes
    assert [r.start for r in table.rows] == [T0 + o for o in offsets]
    assert all(r.end == r.start + timedelta(seconds=1) and r.n == 1 for r in table.rows)


def test_a_period_beyond_the_calendar_holds_everyone() -> None:
    table = ttv.cohorts(
        log([timedelta(0), timedelta(days=900)]), REPORT, period=relativedelta(years=8000)
    )
    assert [r.n for r in table.rows] == [2]
    assert table.rows[0].end.year == 9999


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 3 * 366 * 24), min_size=1, max_size=12),
    st.sampled_from(
        [
            relativedelta(months=1),
            relativedelta(months=1, days=3),
            relativedelta(days=3, hours=5),
            relativedelta(weeks=2),
            relativedelta(years=1, months=2),
            relativedelta(hours=7, minutes=30),
        ]
    ),
)
def test_cohorts_are_the_periods_counted_one_by_one(hours: list[int], step: relativedelta) -> None:
    offsets = [timedelta(hours=h) for h in hours]
    table = ttv.cohorts(log(offsets), REPORT, period=step)
    expected = naive_periods([T0 + o for o in offsets], step)
    assert {r.start: r.n for r in table.rows} == expected
    assert [r.start for r in table.rows] == sorted(expected)
    anchor = table.rows[0].start
    for row in table.rows:
        k = next(k for k in range(10**6) if anchor + step * k >= row.start)
        assert row.end == anchor + step * (k + 1)


def test_cohorts_within_a_day_are_labelled_with_their_time() -> None:
    """Hourly cohorts all start on one date: the table, HTML and chart say the hour."""
    day = datetime(2025, 1, 1, tzinfo=UTC)
    events = []
    for i in range(24):
        start = day + timedelta(minutes=20 * i)
        events += [
            ValueEvent(f"u{i}", "signup", start),
            ValueEvent(f"u{i}", "done", start + timedelta(minutes=30)),
        ]
    table = ttv.cohorts(ttv.MemoryStore(events), Milestone("m", "done"), relativedelta(hours=1))
    labels = table.labels()
    assert labels == [f"2025-01-01 {h:02d}:00" for h in range(8)]
    assert [row[0].removesuffix(" *") for row in table.table().rows] == labels
    daily = ttv.cohorts(ttv.MemoryStore(events), Milestone("m", "done"), "day")
    assert daily.labels() == ["2025-01-01"]


def test_hourly_cohort_labels_reach_the_chart() -> None:
    pytest.importorskip("matplotlib", reason="the chart needs ttvkit[plot]")
    from matplotlib.figure import Figure

    day = datetime(2025, 1, 1, tzinfo=UTC)
    events = [
        ValueEvent(f"u{i}", name, day + timedelta(hours=i, minutes=m))
        for i in range(3)
        for name, m in (("signup", 0), ("done", 30))
    ]
    table = ttv.cohorts(ttv.MemoryStore(events), Milestone("m", "done"), relativedelta(hours=1))
    ax = Figure().add_subplot()
    table.plot(ax)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["2025-01-01 00:00", "2025-01-01 01:00", "2025-01-01 02:00"]


def test_a_horizon_past_year_9999_is_no_overflow() -> None:
    events = [
        ValueEvent("u1", "signup", T0),
        ValueEvent("u1", "done", T0 + timedelta(hours=1)),
        ValueEvent("u2", "signup", T0 + timedelta(days=40)),
    ]
    table = ttv.cohorts(
        ttv.MemoryStore(events), Milestone("m", "done"), "month", within=timedelta(days=3_000_000)
    )
    assert [row.young for row in table.rows] == [True, True]
