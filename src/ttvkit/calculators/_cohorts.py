"""Time to value per start cohort: :func:`cohorts` (calendar periods or a relativedelta)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

from dateutil.relativedelta import relativedelta

from ttvkit.calculators._arguments import (
    DEFAULT_WITHIN,
    check_milestone,
    check_step,
    check_timedelta,
)
from ttvkit.calculators._distribution import columns_distribution
from ttvkit.calculators._source import Source, as_store, checked_as_of, load_columns, required_as_of
from ttvkit.errors import InvalidArgumentError
from ttvkit.milestones import Milestone
from ttvkit.observations import Per, check_per, from_micros
from ttvkit.results import CohortRow, CohortTable

Period: TypeAlias = Literal["day", "week", "month", "quarter", "year"] | relativedelta
_PERIOD_STEPS: dict[str, relativedelta] = {
    "day": relativedelta(days=1),
    "week": relativedelta(weeks=1),
    "month": relativedelta(months=1),
    "quarter": relativedelta(months=3),
    "year": relativedelta(years=1),
}


def _period_floor(t: datetime, period: str) -> datetime:
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


#: A UTC day in microseconds (UTC has no leap seconds in Python's datetimes).
_DAY_US = 86_400_000_000

#: The end of a period that would end past the last time a datetime holds.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _boundary(anchor: datetime, step: relativedelta, k: int) -> datetime:
    """``anchor + k * step``, never by repeated addition: from Jan 31 by one month,
    Feb 29 then Mar 31 (adding to Feb 29 would drift to Mar 29)."""
    try:
        return anchor + step * k
    except (ValueError, OverflowError):  # past year 9999
        return _END_OF_TIME


def _relative_buckets(
    starts: list[datetime], step: relativedelta
) -> tuple[dict[datetime, list[int]], dict[datetime, datetime]]:
    """The customers of each period ``anchor + k * step`` (from the first start's
    midnight), and each period's end.

    Only the periods that hold a start are found: the starts in time order,
    each period after the last one found by galloping then bisecting over
    ``k`` (a check_step period makes the boundaries grow with ``k``), so a
    one-second period over years of starts costs a few boundaries per cohort,
    not one per second.
    """
    anchor = min(starts).replace(hour=0, minute=0, second=0, microsecond=0)
    buckets: dict[datetime, list[int]] = {}
    ends: dict[datetime, datetime] = {}
    k = 0
    lower, upper = anchor, _boundary(anchor, step, 1)
    for i in sorted(range(len(starts)), key=starts.__getitem__):
        start = starts[i]
        if start >= upper:
            # the last k whose boundary is at or before start: above k, by doubling
            # a span until a boundary passes start, then bisecting that span
            span = 1
            while _boundary(anchor, step, k + 2 * span) <= start:
                span *= 2
            low, high = k + span, k + 2 * span  # boundary(low) <= start < boundary(high)
            while high - low > 1:
                middle = (low + high) // 2
                if _boundary(anchor, step, middle) <= start:
                    low = middle
                else:
                    high = middle
            k = low
            lower, upper = _boundary(anchor, step, k), _boundary(anchor, step, k + 1)
        buckets.setdefault(lower, []).append(i)
        ends[lower] = upper
    for members in buckets.values():
        members.sort()  # in the order of the columns, as for calendar periods
    return buckets, ends


def cohorts(
    source: Source,
    milestone: Milestone,
    period: Period = "month",
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    within: timedelta = DEFAULT_WITHIN,
) -> CohortTable:
    """Time to value per start cohort (customers whose clock started in the same period).

    ``period`` is ``"day"``, ``"week"`` (ISO weeks, from Monday), ``"month"``,
    ``"quarter"``, ``"year"`` (calendar periods in UTC) or a
    :class:`~dateutil.relativedelta.relativedelta` (periods of that length
    from the first start, at midnight UTC). Periods without customers are left
    out. A cohort is flagged *young* while some of its members have been
    watched for less than ``within``: its figures may still change.
    """
    milestone = check_milestone(milestone)
    per = check_per(per)
    within = check_timedelta(within, "within", allow_zero=False)
    if isinstance(period, relativedelta):
        step: relativedelta | None = check_step(period)
        label = f"{period!r}"
    elif isinstance(period, str) and period in _PERIOD_STEPS:
        step = None
        label = period
    else:
        raise InvalidArgumentError(
            f"period={period!r}: use 'day', 'week', 'month', 'quarter', 'year' or a relativedelta"
        )
    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per)
    starts = columns.starts  # microseconds
    buckets: dict[datetime, list[int]] = {}
    ends: dict[datetime, datetime] = {}
    if step is None:
        # Every calendar period is a run of whole UTC days: each day's period is
        # found once, and a customer's day is integer arithmetic on its start.
        period_of_day: dict[int, datetime] = {}
        for i, start_us in enumerate(starts):
            day = start_us - start_us % _DAY_US
            cohort = period_of_day.get(day)
            if cohort is None:
                cohort = period_of_day[day] = _period_floor(from_micros(day), period)  # type: ignore[arg-type]
            buckets.setdefault(cohort, []).append(i)
        fixed_step = _PERIOD_STEPS[period]  # type: ignore[index]
        for start in buckets:
            ends[start] = _boundary(start, fixed_step, 1)
    elif starts:
        buckets, ends = _relative_buckets([from_micros(s) for s in starts], step)
    table = []
    for start in sorted(buckets):
        members = buckets[start]
        youngest = from_micros(max(map(starts.__getitem__, members)))
        table.append(
            CohortRow(
                start=start,
                end=ends[start],
                distribution=columns_distribution(milestone, columns, when, per, positions=members),
                within=within,
                young=when - youngest < within,  # (youngest + within may pass year 9999)
            )
        )
    return CohortTable(milestone, when, per, label, within, tuple(table))
