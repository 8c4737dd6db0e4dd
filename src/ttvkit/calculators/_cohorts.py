"""Time to value per start cohort: :func:`cohorts` (calendar periods or a relativedelta)."""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
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
    elif period in _PERIOD_STEPS:
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
    starts = [from_micros(s) for s in columns.starts]
    buckets: dict[datetime, list[int]] = {}
    ends: dict[datetime, datetime] = {}
    if step is None:
        for i, start in enumerate(starts):
            buckets.setdefault(_period_floor(start, period), []).append(i)  # type: ignore[arg-type]
        fixed_step = _PERIOD_STEPS[period]  # type: ignore[index]
    else:
        fixed_step = step
        anchor = min(starts).replace(hour=0, minute=0, second=0, microsecond=0)
        # anchor + k * period, never repeated addition: from Jan 31 by one month,
        # Feb 29 then Mar 31 (adding to Feb 29 would drift to Mar 29).
        boundaries = [anchor]
        latest = max(starts)
        while anchor + fixed_step * len(boundaries) <= latest:
            boundaries.append(anchor + fixed_step * len(boundaries))
        ends = {b: anchor + fixed_step * (k + 1) for k, b in enumerate(boundaries)}
        for i, start in enumerate(starts):
            buckets.setdefault(boundaries[bisect.bisect_right(boundaries, start) - 1], []).append(i)
    table = []
    for start in sorted(buckets):
        members = buckets[start]
        youngest = max(starts[i] for i in members)
        table.append(
            CohortRow(
                start=start,
                end=ends.get(start, start + fixed_step),
                distribution=columns_distribution(milestone, columns.take(members), when, per),
                within=within,
                young=youngest + within > when,
            )
        )
    return CohortTable(milestone, when, per, label, within, tuple(table))
