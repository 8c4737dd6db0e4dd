"""Calculators: questions about Time to Value, answered from any source.

A *source* is a :class:`~ttvkit.stores.Store`, a store URL, a
:class:`~ttvkit.Tracker` (flushed first), or an iterable of
:class:`~ttvkit.ValueEvent` objects or mappings. Calculators never loop over
raw events: they ask the store for observations (one row per customer) and
hand durations to :mod:`ttvkit.stats`.
"""

from __future__ import annotations

import bisect
import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any, Literal, NoReturn, TypeAlias

import attrs
from dateutil.relativedelta import relativedelta

from ttvkit import stats
from ttvkit._format import format_duration
from ttvkit.conditions import Condition, EventCondition, event
from ttvkit.errors import AnalysisError
from ttvkit.events import ValueEvent, parse_timestamp
from ttvkit.milestones import Journey, Milestone, SpeedBands
from ttvkit.observations import (
    Attribute,
    AttributeValue,
    DurationCells,
    FirstTime,
    Observation,
    ObservationColumns,
    Per,
    PropertyOf,
    StartProperty,
    check_per,
    from_micros,
    to_micros,
)
from ttvkit.results import (
    CohortRow,
    CohortTable,
    Comparison,
    GroupLabel,
    GroupResult,
    ImpactReport,
    ImpactRow,
    JourneyReport,
    JourneyRow,
    SatisfactionReport,
    SpeedGroup,
    StageResult,
    TTVDistribution,
)
from ttvkit.stores import MemoryStore, Store, open_store
from ttvkit.tracker import Tracker

__all__ = [
    "DEFAULT_LANDMARK",
    "DEFAULT_WITHIN",
    "Period",
    "Source",
    "cohorts",
    "compare",
    "impact",
    "journey",
    "satisfaction",
    "time_to_value",
]

Source: TypeAlias = Store | Tracker | str | Iterable[ValueEvent | Mapping[str, Any]]


@contextlib.contextmanager
def as_store(source: Source) -> Iterator[Store]:
    """Yield a store for *source*; a store opened here is closed afterwards."""
    if isinstance(source, Store):
        yield source
        return
    if isinstance(source, Tracker):
        # What was tracked before the question counts: make it durable first,
        # but never wait longer than the tracker would on close (a store down).
        source.flush(timeout=source.config.close_timeout)
        yield source.store
        return
    if isinstance(source, str):
        with open_store(source) as store:
            yield store
        return
    if _is_spark_dataframe(source):  # classic or Spark Connect: analysed by Spark
        from ttvkit.stores.spark import SparkSource

        with SparkSource(source) as spark_source:
            yield spark_source
        return
    if isinstance(source, Iterable) and not isinstance(source, bytes | Mapping):
        events = (_as_event(e) for e in source)
        with MemoryStore(events) as store:
            yield store
        return
    raise AnalysisError(
        f"source {type(source).__name__}: pass a Store, a store URL, a Tracker, "
        "a pyspark DataFrame, or an iterable of ValueEvent objects or mappings"
    )


def _is_spark_dataframe(source: object) -> bool:
    """A pyspark DataFrame, told by its type's name (pyspark is not imported here)."""
    kind = type(source)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.")


def _as_event(item: object) -> ValueEvent:
    if isinstance(item, ValueEvent):
        return item
    if isinstance(item, Mapping):
        return ValueEvent.from_mapping(item)
    raise AnalysisError(
        f"source item {item!r}: an event source must yield ValueEvent objects or mappings"
    )


def resolve_as_of(store: Store, as_of: datetime | str | None) -> datetime | None:
    """``as_of`` as an aware UTC datetime; by default the latest stored event."""
    if as_of is None:
        return store.latest_timestamp()
    try:
        return parse_timestamp(as_of, field="as_of")
    except ValueError as exc:
        raise AnalysisError(str(exc)) from None


def _check_milestone(milestone: object) -> Milestone:
    if not isinstance(milestone, Milestone):
        raise AnalysisError(f"milestone={milestone!r}: pass a ttvkit.Milestone")
    return milestone


def _no_observations(milestone: Milestone, as_of: datetime, per: Per) -> NoReturn:
    start = milestone.start if isinstance(milestone.start, datetime) else milestone.start.describe()
    raise AnalysisError(
        f"no {per} has started the clock of {milestone.name!r} (start: {start}) "
        f"up to {as_of.isoformat()}; check the start event's name"
        + (" and that events carry account_id" if per == "account" else "")
    )


def load_observations(
    store: Store,
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    attributes: Sequence[Attribute] = (),
) -> list[Observation]:
    """Observations from the store, or a clear error when there are none."""
    rows = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
    if not rows:
        _no_observations(milestone, as_of, per)
    return rows


def load_columns(
    store: Store,
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    attributes: Sequence[Attribute] = (),
) -> ObservationColumns:
    """Observations as columns (computed by the engine), or a clear error when there are none."""
    columns_of = getattr(store, "observation_columns", None)
    if columns_of is not None:
        columns = columns_of(milestone, as_of=as_of, per=per, attributes=attributes)
        assert isinstance(columns, ObservationColumns)
    else:  # a Store of the protocol only
        rows = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
        columns = ObservationColumns.from_rows(rows, len(attributes))
    if not len(columns):
        _no_observations(milestone, as_of, per)
    return columns


def columns_distribution(
    milestone: Milestone,
    columns: ObservationColumns,
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """A :class:`TTVDistribution` over the customers of *columns* (not empty)."""
    return distribution_of_cells(milestone, columns.cells(), as_of, per, bands, columns.rows)


def distribution(
    milestone: Milestone,
    rows: Sequence[Observation],
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """A :class:`TTVDistribution` over *rows* (which must not be empty)."""
    cells = ObservationColumns.from_rows(rows).cells()
    kept = tuple(rows)
    return distribution_of_cells(milestone, cells, as_of, per, bands, lambda: kept)


def distribution_of_cells(
    milestone: Milestone,
    cells: DurationCells,
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None,
    drilldown: Callable[[], Sequence[Observation]],
) -> TTVDistribution:
    """A :class:`TTVDistribution` from grouped cells; *drilldown* loads the rows on demand."""
    curve = stats.kaplan_meier_counts(cells.seconds(), cells.reached, cells.censored)
    return TTVDistribution(milestone, as_of, per, curve, cells, bands, drilldown=drilldown)


def duration_cells(store: Store, milestone: Milestone, as_of: datetime, per: Per) -> DurationCells:
    """The store's observations grouped by duration (computed in the engine where it can)."""
    cells_of = getattr(store, "duration_cells", None)
    if cells_of is not None:
        cells = cells_of(milestone, as_of=as_of, per=per)
        assert isinstance(cells, DurationCells)
    else:  # a Store of the protocol only: group its observations here
        rows = store.observations(milestone, as_of=as_of, per=per)
        cells = ObservationColumns.from_rows(rows).cells()
    if cells.n == 0:
        _no_observations(milestone, as_of, per)
    return cells


def _drilldown(
    source: Source, store: Store, milestone: Milestone, as_of: datetime, per: Per
) -> Callable[[], Sequence[Observation]]:
    """Loads the rows behind a result later: from the same store object, or by
    opening the same URL again (a store opened here is closed by then)."""
    if isinstance(source, str):

        def reopen() -> Sequence[Observation]:
            with open_store(source) as again:
                return again.observations(milestone, as_of=as_of, per=per)

        return reopen
    if _is_spark_dataframe(source):  # the view is dropped with the source: make it again

        def again() -> Sequence[Observation]:
            with as_store(source) as spark_source:
                return spark_source.observations(milestone, as_of=as_of, per=per)

        return again
    if isinstance(store, MemoryStore) and store is not source:
        # events given as an iterable: they are in memory already
        rows = tuple(store.observations(milestone, as_of=as_of, per=per))
        return lambda: rows
    return lambda: store.observations(milestone, as_of=as_of, per=per)


def time_to_value(
    source: Source,
    milestone: Milestone,
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """The distribution of time to *milestone* over every customer whose clock started.

    ``as_of`` is the analysis time: customers not yet there are censored at
    it (default: the latest event in the source). ``per="account"`` measures
    accounts instead of users. ``bands`` enables :meth:`TTVDistribution.speed_counts`.
    The engine hands back customers grouped by duration; the customers one row
    each are loaded only when :meth:`TTVDistribution.observations` asks.
    """
    milestone = _check_milestone(milestone)
    per = check_per(per)
    if bands is not None and not isinstance(bands, SpeedBands):
        raise AnalysisError(f"bands={bands!r}: pass ttvkit.SpeedBands(immediate=..., short=...)")
    with as_store(source) as store:
        when = resolve_as_of(store, as_of)
        if when is None:
            raise AnalysisError("the source holds no events; track or import some first")
        cells = duration_cells(store, milestone, when, per)
        drilldown = _drilldown(source, store, milestone, when, per)
    return distribution_of_cells(milestone, cells, when, per, bands, drilldown)


# --------------------------------------------------------------------------- compare and impact

_MICROSECOND = timedelta(microseconds=1)
DEFAULT_LANDMARK = timedelta(days=1)
DEFAULT_WITHIN = timedelta(days=7)


@attrs.frozen
class _Grouping:
    """How customers are split into groups: a start-event property, or an exposure event."""

    attribute: Attribute
    description: str
    exposure: bool

    def label(self, start: int, value: AttributeValue, landmark: int) -> GroupLabel:
        """The group of a customer who started at *start* (µs) with attribute *value*."""
        if not self.exposure:
            assert not isinstance(value, datetime)
            return value
        # Exposed when the intervention happened by the landmark (before the
        # start counts too: the customer had it from the beginning).
        return isinstance(value, datetime) and to_micros(value) <= start + landmark


def _grouping(by: object) -> _Grouping:
    if isinstance(by, str):
        if not by:
            raise AnalysisError(
                "by='': name a property of the start event, or pass an event condition"
            )
        return _Grouping(StartProperty(by), by, exposure=False)
    if isinstance(by, Condition):
        return _Grouping(FirstTime(by), by.describe(), exposure=True)
    raise AnalysisError(
        f"by={by!r}: pass a property name of the start event (e.g. 'plan') or an event "
        "condition for an intervention (e.g. event('tutorial_completed'))"
    )


def _check_timedelta(value: object, what: str, *, allow_zero: bool) -> timedelta:
    if not isinstance(value, timedelta):
        raise AnalysisError(f"{what}={value!r}: pass a datetime.timedelta")
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        raise AnalysisError(
            f"{what}={value}: must be {'0 or more' if allow_zero else 'more than 0'}"
        )
    return value


def _check_alpha(alpha: object) -> float:
    if not isinstance(alpha, float | int) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise AnalysisError(f"alpha={alpha!r}: must be strictly between 0 and 1")
    return float(alpha)


def _sort_key(label: GroupLabel) -> tuple[int, str, float]:
    if label is None:
        return (3, "", 0.0)
    if isinstance(label, bool):
        return (0, "", float(label))
    if isinstance(label, int | float):
        return (1, "", float(label))
    return (2, label, 0.0)


def _greenwood_variance(curve: stats.SurvivalCurve, t: float) -> float:
    """Var S(t) by Greenwood's formula (0 where S is 0 or 1)."""
    s = curve.survival_at(t)
    if s in (0.0, 1.0):
        return 0.0
    total = 0.0
    for time, n, d in zip(curve.times, curve.at_risk, curve.reached, strict=True):
        if time > t:
            break
        if d and n > d:
            total += d / (n * (n - d))
    return s * s * total


def _median_difference_ci(
    group: stats.SurvivalCurve, reference: stats.SurvivalCurve, alpha: float, bootstrap: int
) -> tuple[timedelta | None, timedelta | None] | None:
    """CI of median(group) - median(reference): :func:`ttvkit.stats.median_difference_ci`.

    The interval is analytic (MOVER over the two medians' own intervals,
    computed from the curves already fitted), so ``bootstrap`` only switches
    it on (any allowed value) or off (0). An unbounded end is ``None``.
    """
    if bootstrap == 0:
        return None
    low, high = stats.median_difference_ci(group, reference, alpha=alpha)
    return (
        None if math.isinf(low) else timedelta(seconds=low),
        None if math.isinf(high) else timedelta(seconds=high),
    )


def _compare_columns(
    milestone: Milestone,
    columns: ObservationColumns,
    attribute_index: int,
    grouping: _Grouping,
    *,
    as_of: datetime,
    per: Per,
    landmark: timedelta,
    within: timedelta,
    reference: GroupLabel,
    groups: Sequence[GroupLabel] | None,
    alpha: float,
    bootstrap: int,
) -> Comparison:
    starts, ends = columns.starts, columns.ends
    landmark_us = landmark // _MICROSECOND
    included = range(len(columns))
    if grouping.exposure:
        # Landmark analysis: only customers still on the way at the landmark
        # can have been "helped" by an exposure before it.
        included = [i for i in included if ends[i] - starts[i] > landmark_us]  # type: ignore[assignment]
    values = columns.attributes[attribute_index]
    by_label: dict[GroupLabel, list[int]] = {}
    for i in included:
        by_label.setdefault(grouping.label(starts[i], values[i], landmark_us), []).append(i)
    if not grouping.exposure and set(by_label) == {None}:
        raise AnalysisError(
            f"no start event carries the property {grouping.description!r}; check its spelling"
        )
    labels = sorted(by_label, key=_sort_key)
    if groups is not None:
        missing = [g for g in groups if g not in by_label]
        if missing:
            raise AnalysisError(
                f"group(s) {missing!r} of {grouping.description!r} have no customers; "
                f"the groups with customers are {labels!r}"
            )
        labels = list(groups)
    if len(labels) < 2:
        what = (
            f"everyone compared was {'exposed' if labels and labels[0] else 'not exposed'} "
            f"by the landmark ({format_duration(landmark)})"
            if grouping.exposure
            else f"every customer has {grouping.description}={labels[0]!r}"
            if labels
            else "no customers remain"
        )
        raise AnalysisError(f"comparing by {grouping.description} needs two groups, but {what}")
    if reference is None:
        reference = labels[0]
    if reference not in labels:
        raise AnalysisError(f"reference={reference!r} is not one of the groups {labels!r}")
    members = {label: columns.take(by_label[label]) for label in labels}
    cells = {label: members[label].cells() for label in labels}
    test = stats.logrank_test_counts(
        [t for label in labels for t in cells[label].seconds()],
        [r for label in labels for r in cells[label].reached],
        [c for label in labels for c in cells[label].censored],
        [i for i, label in enumerate(labels) for _ in cells[label].durations],
    )
    dists = {
        label: distribution_of_cells(milestone, cells[label], as_of, per, None, members[label].rows)
        for label in labels
    }
    ref = dists[reference]
    horizon = within.total_seconds()
    results = []
    for label in labels:
        d = dists[label]
        if label == reference:
            results.append(GroupResult(label, d))
            continue
        med_diff = None
        if d.median is not None and ref.median is not None:
            med_diff = d.median - ref.median
        share_diff = d.reached_within(within) - ref.reached_within(within)
        z = NormalDist().inv_cdf(1 - alpha / 2)
        se = math.sqrt(
            _greenwood_variance(d.curve, horizon) + _greenwood_variance(ref.curve, horizon)
        )
        results.append(
            GroupResult(
                label,
                d,
                median_difference=med_diff,
                median_difference_ci=_median_difference_ci(d.curve, ref.curve, alpha, bootstrap),
                reached_within_difference=share_diff,
                reached_within_difference_ci=(share_diff - z * se, share_diff + z * se),
            )
        )
    return Comparison(
        milestone=milestone,
        as_of=as_of,
        per=per,
        by=grouping.description,
        landmark=landmark if grouping.exposure else None,
        within=within,
        reference=reference,
        groups=tuple(results),
        logrank=test,
        n_excluded=len(columns) - len(included),
        alpha=alpha,
    )


def compare(
    source: Source,
    milestone: Milestone,
    by: str | Condition,
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    landmark: timedelta = DEFAULT_LANDMARK,
    within: timedelta = DEFAULT_WITHIN,
    reference: GroupLabel = None,
    groups: Sequence[GroupLabel] | None = None,
    alpha: float = 0.05,
    bootstrap: int = 200,
    seed: int = 0,
) -> Comparison:
    """Compare time to value between groups of customers, with a log-rank test.

    ``by`` is a property of the start event (``"plan"``: one group per value)
    or an event condition for an intervention (``event("tutorial_completed")``:
    exposed or not). For an intervention, a customer is exposed when it
    happened by ``start + landmark``, and only customers still on the way at
    the landmark are compared — so a tutorial done *after* reaching value
    never counts as having helped (see ``docs/analysis.md``).

    Differences (group minus ``reference``, by default the first group: "no"
    for interventions) come with confidence intervals: the share reaching
    value ``within`` the horizon by Greenwood's variance, the median by a
    seeded percentile bootstrap with ``bootstrap`` resamples (0 skips it).
    """
    milestone = _check_milestone(milestone)
    per = check_per(per)
    grouping = _grouping(by)
    landmark = _check_timedelta(landmark, "landmark", allow_zero=True)
    within = _check_timedelta(within, "within", allow_zero=False)
    alpha = _check_alpha(alpha)
    bootstrap = _check_bootstrap(bootstrap)
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per, [grouping.attribute])
    del seed  # the median-difference interval is analytic: nothing is drawn
    return _compare_columns(
        milestone,
        columns,
        0,
        grouping,
        as_of=when,
        per=per,
        landmark=landmark,
        within=within,
        reference=reference,
        groups=groups,
        alpha=alpha,
        bootstrap=bootstrap,
    )


def _check_bootstrap(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not (value == 0 or value >= 50):
        raise AnalysisError(f"bootstrap={value!r}: use 0 (no median CI) or at least 50 resamples")
    return value


def _required_as_of(store: Store, as_of: datetime | str | None) -> datetime:
    when = resolve_as_of(store, as_of)
    if when is None:
        raise AnalysisError("the source holds no events; track or import some first")
    return when


def _holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: controls the family-wise error rate."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    m = len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def impact(
    source: Source,
    milestone: Milestone,
    interventions: Sequence[Condition | str] | Mapping[Condition | str, timedelta],
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    landmark: timedelta = DEFAULT_LANDMARK,
    within: timedelta = DEFAULT_WITHIN,
    alpha: float = 0.05,
    bootstrap: int = 200,
    seed: int = 0,
) -> ImpactReport:
    """Rank interventions (tutorial, onboarding guide, CSM, support…) by how much
    they shorten time to value.

    Each intervention gets a landmark :func:`compare` (exposed by ``start +
    landmark`` or not). Pass a mapping ``{intervention: landmark}`` to give
    each lever the landmark that fits when it happens (a tutorial in the
    first hours, a customer success manager within days): a landmark far
    after the exposures compares only the slow tail, where most effects
    fade. The ranking is by the difference in the share
    reaching value ``within`` the horizon (exposed minus not exposed), and
    significance uses log-rank p-values adjusted for testing several
    interventions at once (Holm), so one lucky lever among many is not
    reported as a finding.
    """
    milestone = _check_milestone(milestone)
    per = check_per(per)
    if isinstance(interventions, str | Condition) or not interventions:
        raise AnalysisError("interventions: pass a non-empty list of event names or conditions")
    landmark = _check_timedelta(landmark, "landmark", allow_zero=True)
    if isinstance(interventions, Mapping):
        pairs = [
            (i, _check_timedelta(lm, f"landmark of {i!r}", allow_zero=True))
            for i, lm in interventions.items()
        ]
    else:
        pairs = [(i, landmark) for i in interventions]
    conditions = [event(i) if isinstance(i, str) else i for i, _ in pairs]
    landmarks = [lm for _, lm in pairs]
    for c in conditions:
        if not isinstance(c, Condition):
            raise AnalysisError(f"intervention {c!r} is not an event name or condition")
    within = _check_timedelta(within, "within", allow_zero=False)
    alpha = _check_alpha(alpha)
    bootstrap = _check_bootstrap(bootstrap)
    groupings = [_grouping(c) for c in conditions]
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per, [g.attribute for g in groupings])
    del seed  # the median-difference interval is analytic: nothing is drawn
    comparisons = [
        _compare_columns(
            milestone,
            columns,
            i,
            g,
            as_of=when,
            per=per,
            landmark=landmarks[i],
            within=within,
            reference=False,
            groups=None,
            alpha=alpha,
            bootstrap=bootstrap,
        )
        for i, g in enumerate(groupings)
    ]
    adjusted = _holm([c.p_value for c in comparisons])
    ranked = sorted(
        (
            ImpactRow(g.description, c, p)
            for g, c, p in zip(groupings, comparisons, adjusted, strict=True)
        ),
        key=lambda r: -(r.effect if r.effect is not None else -math.inf),
    )
    return ImpactReport(
        milestone,
        when,
        per,
        within,
        tuple(ranked),
        columns,
        tuple(g.description for g in groupings),
    )


# --------------------------------------------------------------------------- cohorts

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


def _check_step(step: relativedelta) -> relativedelta:
    probe = datetime(2000, 1, 1, tzinfo=UTC)
    if probe + step <= probe:
        raise AnalysisError(
            f"period={step!r}: must move time forward (e.g. relativedelta(weeks=2))"
        )
    return step


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
    milestone = _check_milestone(milestone)
    per = check_per(per)
    within = _check_timedelta(within, "within", allow_zero=False)
    if isinstance(period, relativedelta):
        step: relativedelta | None = _check_step(period)
        label = f"{period!r}"
    elif period in _PERIOD_STEPS:
        step = None
        label = period
    else:
        raise AnalysisError(
            f"period={period!r}: use 'day', 'week', 'month', 'quarter', 'year' or a relativedelta"
        )
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per)
    starts = [from_micros(s) for s in columns.starts]
    buckets: dict[datetime, list[int]] = {}
    if step is None:
        for i, start in enumerate(starts):
            buckets.setdefault(_period_floor(start, period), []).append(i)  # type: ignore[arg-type]
        fixed_step = _PERIOD_STEPS[period]  # type: ignore[index]
    else:
        fixed_step = step
        anchor = min(starts).replace(hour=0, minute=0, second=0, microsecond=0)
        boundaries = [anchor]
        latest = max(starts)
        while boundaries[-1] + fixed_step <= latest:
            boundaries.append(boundaries[-1] + fixed_step)
        for i, start in enumerate(starts):
            buckets.setdefault(boundaries[bisect.bisect_right(boundaries, start) - 1], []).append(i)
    table = []
    for start in sorted(buckets):
        members = buckets[start]
        youngest = max(starts[i] for i in members)
        table.append(
            CohortRow(
                start=start,
                end=start + fixed_step,
                distribution=columns_distribution(milestone, columns.take(members), when, per),
                within=within,
                young=youngest + within > when,
            )
        )
    return CohortTable(milestone, when, per, label, within, tuple(table))


# --------------------------------------------------------------------------- journey


def journey(
    source: Source,
    stages: Journey | Sequence[Milestone],
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
) -> JourneyReport:
    """Value in stages: per stage, who completes it, how long it takes from the previous
    stage (Kaplan–Meier), and where customers stall.

    A customer completes stage *i* when they have reached it and every
    earlier stage; a stage's ``window`` (from the journey's start) censors as
    it does for a single milestone.
    """
    plan = stages if isinstance(stages, Journey) else Journey(stages)
    per = check_per(per)
    first = plan.stages[0]
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        rows = load_observations(
            store, first, when, per, [FirstTime(s.reached) for s in plan.stages[1:]]
        )
    journey_rows: list[JourneyRow] = []
    per_stage: list[list[Observation]] = [[] for _ in plan.stages]
    out_of_order = [0] * len(plan.stages)
    for o in rows:
        raw: list[datetime | None] = [o.reached_at]
        for stage, value in zip(plan.stages[1:], o.attributes, strict=True):
            assert value is None or isinstance(value, datetime)
            t = value
            if t is not None and t < o.start and stage.before_start != "ignore":
                t = o.start
            elif t is not None and t < o.start:
                t = None  # "ignore": only events after the start count
            if t is not None and stage.window is not None and t > o.start + stage.window:
                t = None
            raw.append(t)
        completed: list[datetime | None] = []
        previous: datetime | None = o.start
        for i, (stage, t) in enumerate(zip(plan.stages, raw, strict=True)):
            if previous is None:
                completed.append(None)
                continue
            if t is not None and i > 0 and completed[i - 1] is not None and t < previous:
                out_of_order[i] += 1
            done = None if t is None else max(t, previous)
            censor = when if stage.window is None else min(when, o.start + stage.window)
            per_stage[i].append(
                Observation(
                    customer_id=o.customer_id,
                    start=previous,
                    reached_at=done,
                    end=done if done is not None else max(censor, previous),
                )
            )
            completed.append(done)
            previous = done
        journey_rows.append(JourneyRow(o.customer_id, o.start, tuple(completed), when))
    results = []
    for stage, obs, n_ooo in zip(plan.stages, per_stage, out_of_order, strict=True):
        results.append(
            StageResult(
                milestone=stage,
                n_entered=len(obs),
                n_reached=sum(1 for x in obs if x.observed),
                distribution=distribution(stage, obs, when, per) if obs else None,
                n_out_of_order=n_ooo,
            )
        )
    return JourneyReport(plan, when, per, tuple(results), tuple(journey_rows))


# --------------------------------------------------------------------------- satisfaction

SPEED_CLASSES = ("immediate", "short", "long", "not_yet")


def satisfaction(
    source: Source,
    milestone: Milestone,
    survey: Condition | str = "csat",
    score: str = "score",
    *,
    bands: SpeedBands,
    as_of: datetime | str | None = None,
    per: Per = "user",
    response: Literal["first", "last"] = "last",
) -> SatisfactionReport:
    """Survey scores (CSAT, NPS) by speed class, and their rank correlation with TTV.

    Each customer's score is the ``score`` property of their ``response``
    (first or last) ``survey`` event up to ``as_of``. Speed classes:
    immediate, short, long (by ``bands``, among customers who reached value)
    and not_yet (still on the way). Spearman's rho is computed among
    customers who reached value (a censored TTV has no rank), with the
    two-sided p-value of the t approximation (as scipy's ``spearmanr``).
    """
    milestone = _check_milestone(milestone)
    per = check_per(per)
    if not isinstance(bands, SpeedBands):
        raise AnalysisError("bands: pass ttvkit.SpeedBands(immediate=..., short=...)")
    survey_condition = event(survey) if isinstance(survey, str) else survey
    if not isinstance(survey_condition, EventCondition):
        raise AnalysisError(f"survey={survey!r}: pass an event name or event(...) condition")
    if not isinstance(score, str) or not score:
        raise AnalysisError(f"score={score!r}: name the property holding the score")
    if response not in ("first", "last"):
        raise AnalysisError(f"response={response!r}: use 'first' or 'last'")
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        columns = load_columns(
            store, milestone, when, per, [PropertyOf(survey_condition, score, response)]
        )
    scores = columns.attributes[0]
    scored = [
        i
        for i, value in enumerate(scores)
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    if not scored:
        raise AnalysisError(
            f"no {survey_condition.describe()!r} event carries a numeric {score!r} property; "
            "check the survey event's name and the score property"
        )
    by_speed: dict[str, list[float]] = {s: [] for s in SPEED_CLASSES}
    ttv_seconds: list[float] = []
    ttv_scores: list[float] = []
    for i in scored:
        value = float(scores[i])  # type: ignore[arg-type]
        if columns.observed[i]:
            micros = columns.ends[i] - columns.starts[i]
            speed = bands.classify(timedelta(microseconds=micros)).value
            ttv_seconds.append(micros / 1_000_000)
            ttv_scores.append(value)
        else:
            speed = "not_yet"
        by_speed[speed].append(value)
    # No rank correlation without at least three pairs and variation in both.
    correlation = (
        stats.spearman(ttv_seconds, ttv_scores)
        if len(ttv_seconds) >= 3 and len(set(ttv_seconds)) > 1 and len(set(ttv_scores)) > 1
        else None
    )
    return SatisfactionReport(
        milestone=milestone,
        as_of=when,
        per=per,
        bands=bands,
        survey=survey_condition.describe(),
        score=score,
        groups=tuple(SpeedGroup(s, tuple(by_speed[s])) for s in SPEED_CLASSES),
        correlation=correlation,
        n_without_score=len(columns) - len(scored),
        columns=columns.take(scored),
    )
