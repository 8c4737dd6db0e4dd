"""Calculators: questions about Time to Value, answered from any source.

A *source* is a :class:`~ttvkit.stores.Store` or another
:class:`~ttvkit.stores.Source`, a store URL, a :class:`~ttvkit.Tracker`
(flushed first), a file path, glob or directory, a DataFrame (both read by
:func:`ttvkit.scan`), or an iterable of :class:`~ttvkit.ValueEvent` objects
or mappings. Calculators never loop over raw events: they ask the store for
observations (one row per customer) and hand durations to :mod:`ttvkit.stats`.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
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
from ttvkit.stores import MemoryStore, open_store
from ttvkit.stores import Source as EventSource
from ttvkit.stores.scan import DataFrameLike, is_frame, scan
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

#: What the calculators take: a store or another :class:`~ttvkit.stores.Source`,
#: a store URL, a Tracker, a file path, glob or directory of events at rest, a
#: DataFrame or Arrow table, or an iterable of events or mappings.
Source: TypeAlias = (
    EventSource
    | Tracker
    | str
    | os.PathLike[str]
    | DataFrameLike
    | Iterable[ValueEvent | Mapping[str, Any]]
)


@contextlib.contextmanager
def as_store(source: Source) -> Iterator[EventSource]:
    """Yield a source for *source*; one opened here is closed afterwards.

    A string with ``://`` is a store URL; any other string, or a
    :class:`os.PathLike`, is a file, glob or directory read by
    :func:`ttvkit.scan`, as is a pandas or polars DataFrame or a pyarrow
    Table.
    """
    if isinstance(source, EventSource):
        yield source
        return
    if isinstance(source, Tracker):
        # What was tracked before the question counts: make it durable first,
        # but never wait longer than the tracker would on close (a store down).
        source.flush(timeout=source.config.close_timeout)
        yield source.store
        return
    if isinstance(source, str) and "://" in source:
        with open_store(source) as store:
            yield store
        return
    if _is_spark_dataframe(source):  # classic or Spark Connect: analysed by Spark
        from ttvkit.stores.spark import SparkSource

        with SparkSource(source) as spark_source:
            yield spark_source
        return
    if isinstance(source, str | os.PathLike) or is_frame(source):
        with scan(source) as scanned:  # type: ignore[arg-type]  # a path or a frame, checked
            yield scanned
        return
    if isinstance(source, Iterable) and not isinstance(source, bytes | Mapping):
        events = (_as_event(e) for e in source)
        with MemoryStore(events) as store:
            yield store
        return
    raise AnalysisError(
        f"source {type(source).__name__}: pass a Store, a store URL, a Tracker, a file "
        "path, a DataFrame (pandas, polars, pyarrow or pyspark), or an iterable of "
        "ValueEvent objects or mappings"
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


def resolve_as_of(store: EventSource, as_of: datetime | str | None) -> datetime | None:
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
    store: EventSource,
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
    store: EventSource,
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
    *,
    alpha: float = 0.05,
) -> TTVDistribution:
    """A :class:`TTVDistribution` from grouped cells; *drilldown* loads the rows on demand."""
    curve = stats.kaplan_meier_counts(cells.seconds(), cells.reached, cells.censored, alpha=alpha)
    return TTVDistribution(milestone, as_of, per, curve, cells, bands, drilldown=drilldown)


def duration_cells(
    store: EventSource, milestone: Milestone, as_of: datetime, per: Per
) -> DurationCells:
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
    source: Source, store: EventSource, milestone: Milestone, as_of: datetime, per: Per
) -> Callable[[], Sequence[Observation]]:
    """Loads the rows behind a result later: from the same source object, or by
    opening the same URL, file or frame again (what was opened here is closed by
    then). Events given as an iterable are read now: it may not be read twice."""
    if store is source or isinstance(source, Tracker):
        return lambda: store.observations(milestone, as_of=as_of, per=per)
    if isinstance(source, str | os.PathLike) or is_frame(source) or _is_spark_dataframe(source):
        # (a Spark view is dropped with its source: it is made again)

        def reopen() -> Sequence[Observation]:
            with as_store(source) as again:
                return again.observations(milestone, as_of=as_of, per=per)

        return reopen
    rows = tuple(store.observations(milestone, as_of=as_of, per=per))
    return lambda: rows


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


class _TooFewGroups(AnalysisError):
    """A comparison with fewer than two groups; ``reason`` says why, for impact()."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _label_key(label: GroupLabel) -> tuple[bool, GroupLabel]:
    """Labels equal by the JSON rules: ``1 == 1.0``, but ``True`` is not ``1``."""
    return (isinstance(label, bool), label)


def _check_landmark_within(landmark: timedelta, within: timedelta, what: str) -> None:
    if landmark >= within:
        raise AnalysisError(
            f"{what}={landmark} is not shorter than within={within}: only customers still on "
            "the way at the landmark are compared, so none of them can reach value within the "
            "horizon and the effect would be 0 by construction; use a landmark shorter than "
            "within (or a longer within)"
        )


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
    # Keyed by the JSON rules (True and 1 are different groups); a key's label
    # is the first value seen for it.
    by_key: dict[tuple[bool, GroupLabel], list[int]] = {}
    label_of: dict[tuple[bool, GroupLabel], GroupLabel] = {}
    for i in included:
        label = grouping.label(starts[i], values[i], landmark_us)
        key = _label_key(label)
        if key not in by_key:
            by_key[key] = []
            label_of[key] = label
        by_key[key].append(i)
    if not grouping.exposure and set(label_of.values()) == {None}:
        raise AnalysisError(
            f"no start event carries the property {grouping.description!r}; check its spelling"
        )
    labels = sorted(label_of.values(), key=_sort_key)
    if groups is not None:
        missing = [g for g in groups if _label_key(g) not in by_key]
        if missing:
            raise AnalysisError(
                f"group(s) {missing!r} of {grouping.description!r} have no customers; "
                f"the groups with customers are {labels!r}"
            )
        labels = [label_of[_label_key(g)] for g in groups]
    if len(labels) < 2:
        what = (
            f"everyone compared was {'exposed' if labels and labels[0] else 'not exposed'} "
            f"by the landmark ({format_duration(landmark)})"
            if grouping.exposure
            else f"every customer has {grouping.description}={labels[0]!r}"
            if labels
            else "no customers remain"
        )
        raise _TooFewGroups(
            f"comparing by {grouping.description} needs two groups, but {what}", what
        )
    if reference is None:
        reference = labels[0]
    if _label_key(reference) not in by_key or _label_key(reference) not in map(_label_key, labels):
        raise AnalysisError(f"reference={reference!r} is not one of the groups {labels!r}")
    reference = label_of[_label_key(reference)]
    keys = [_label_key(label) for label in labels]
    members = {key: columns.take(by_key[key]) for key in keys}
    cells = {key: members[key].cells() for key in keys}
    # Groups are passed to the test by position: True and 1 must stay apart.
    test = stats.logrank_test_counts(
        [t for key in keys for t in cells[key].seconds()],
        [r for key in keys for r in cells[key].reached],
        [c for key in keys for c in cells[key].censored],
        [i for i, key in enumerate(keys) for _ in cells[key].durations],
    )
    test = attrs.evolve(test, dropped=tuple(labels[int(i)] for i in test.dropped))  # type: ignore[call-overload]
    dists = {
        key: distribution_of_cells(
            milestone, cells[key], as_of, per, None, members[key].rows, alpha=alpha
        )
        for key in keys
    }
    ref = dists[_label_key(reference)]
    horizon = within.total_seconds()
    z = NormalDist().inv_cdf(1 - alpha / 2)
    results = []
    for label, key in zip(labels, keys, strict=True):
        d = dists[key]
        if key == _label_key(reference):
            results.append(GroupResult(label, d))
            continue
        med_diff = None
        if d.median is not None and ref.median is not None:
            med_diff = d.median - ref.median
        share, ref_share = d.reached_within(within), ref.reached_within(within)
        share_diff: float | None = None
        share_ci: tuple[float, float] | None = None
        if share is not None and ref_share is not None:
            share_diff = share - ref_share
            se = math.sqrt(
                _greenwood_variance(d.curve, horizon) + _greenwood_variance(ref.curve, horizon)
            )
            share_ci = (share_diff - z * se, share_diff + z * se)
        results.append(
            GroupResult(
                label,
                d,
                median_difference=med_diff,
                median_difference_ci=_median_difference_ci(d.curve, ref.curve, alpha, bootstrap),
                reached_within_difference=share_diff,
                reached_within_difference_ci=share_ci,
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
    value ``within`` the horizon by Greenwood's variance, the median by
    :func:`ttvkit.stats.median_difference_ci` (MOVER over the two medians'
    intervals: analytic, nothing is resampled). ``bootstrap=0`` skips the
    median interval; any other allowed value computes it, and ``seed`` no
    longer changes anything (both are kept for compatibility).
    """
    milestone = _check_milestone(milestone)
    per = check_per(per)
    grouping = _grouping(by)
    landmark = _check_timedelta(landmark, "landmark", allow_zero=True)
    within = _check_timedelta(within, "within", allow_zero=False)
    if grouping.exposure:
        _check_landmark_within(landmark, within, "landmark")
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


def _required_as_of(store: EventSource, as_of: datetime | str | None) -> datetime:
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
    for (lever, _), lever_landmark in zip(pairs, landmarks, strict=True):
        what = f"landmark of {lever!r}" if isinstance(interventions, Mapping) else "landmark"
        _check_landmark_within(lever_landmark, within, what)
    alpha = _check_alpha(alpha)
    bootstrap = _check_bootstrap(bootstrap)
    groupings = [_grouping(c) for c in conditions]
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per, [g.attribute for g in groupings])
    del seed  # the median-difference interval is analytic: nothing is drawn
    comparisons: list[Comparison | None] = []
    reasons: list[str | None] = []
    for i, g in enumerate(groupings):
        try:
            comparison = _compare_columns(
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
        except _TooFewGroups as exc:  # nobody (or everybody) exposed: this lever only
            comparisons.append(None)
            reasons.append(exc.reason)
            continue
        comparisons.append(comparison)
        reasons.append(
            None
            if comparison.logrank.testable
            else "fewer than two groups have anyone at risk when someone reaches value"
        )
    tested = {i: c.p_value for i, c in enumerate(comparisons) if c is not None and not reasons[i]}
    if not tested:
        raise AnalysisError(
            "no intervention can be tested: "
            + "; ".join(f"{g.description}: {r}" for g, r in zip(groupings, reasons, strict=True))
        )
    adjusted: list[float | None] = [None] * len(comparisons)
    for i, p in zip(tested, _holm(list(tested.values())), strict=True):
        adjusted[i] = p
    rows = [
        ImpactRow(g.description, c, p, landmark=lm, not_testable=reason)
        for g, c, p, lm, reason in zip(
            groupings, comparisons, adjusted, landmarks, reasons, strict=True
        )
    ]
    # Significant levers with a CI clear of 0 first, then other significant
    # ones, then the rest, then the untestable: a lever whose CI crosses 0
    # never ranks above one that is significant with a CI clear of 0.
    ranked = sorted(
        rows,
        key=lambda r: (r.tier, -(r.effect if r.effect is not None else -math.inf)),
    )
    return ImpactReport(
        milestone,
        when,
        per,
        within,
        tuple(ranked),
        columns,
        tuple(g.description for g in groupings),
        alpha=alpha,
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


# --------------------------------------------------------------------------- journey


def journey(
    source: Source,
    stages: Journey | Sequence[Milestone],
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    within: timedelta = DEFAULT_WITHIN,
) -> JourneyReport:
    """Value in stages: per stage, who completes it, how long it takes from the previous
    stage (Kaplan–Meier), and where customers stall.

    A customer completes stage *i* when they have reached it and every
    earlier stage. Each stage is reached exactly as :func:`time_to_value`
    reaches it as a milestone of its own (the store applies the stage's
    ``before_start`` and ``window``, from the journey's start): a customer
    excluded by ``before_start="exclude"`` leaves the journey at that stage.
    :attr:`JourneyReport.stall_by_share` ranks stages by the Kaplan–Meier
    share completing ``within`` the horizon of the previous stage.
    """
    plan = stages if isinstance(stages, Journey) else Journey(stages)
    per = check_per(per)
    within = _check_timedelta(within, "within", allow_zero=False)
    with as_store(source) as store:
        when = _required_as_of(store, as_of)
        # One question per stage, so the store applies the one rule of observe().
        per_stage_columns = [load_columns(store, plan.stages[0], when, per)]
        for stage in plan.stages[1:]:
            columns_of = getattr(store, "observation_columns", None)
            if columns_of is not None:
                columns = columns_of(stage, as_of=when, per=per, attributes=())
            else:
                columns = ObservationColumns.from_rows(
                    store.observations(stage, as_of=when, per=per)
                )
            per_stage_columns.append(columns)
    first = per_stage_columns[0]
    # Per stage and customer: (time reached or None, censoring time).
    settled: list[dict[str, tuple[int | None, int]]] = [
        {
            c: (e if o else None, e)
            for c, e, o in zip(cols.customer_ids, cols.ends, cols.observed, strict=True)
        }
        for cols in per_stage_columns
    ]
    journey_rows: list[JourneyRow] = []
    per_stage: list[list[Observation]] = [[] for _ in plan.stages]
    out_of_order = [0] * len(plan.stages)
    excluded = [0] * len(plan.stages)
    for customer, start_us in zip(first.customer_ids, first.starts, strict=True):
        completed: list[datetime | None] = []
        previous: int | None = start_us
        for i, stage_settled in enumerate(settled):
            if previous is None:
                completed.append(None)
                continue
            mine = stage_settled.get(customer)
            if mine is None:  # before_start="exclude": out of the journey from here
                excluded[i] += 1
                previous = None
                completed.append(None)
                continue
            reached, censor = mine
            if reached is not None and i > 0 and reached < previous:
                out_of_order[i] += 1
            done = None if reached is None else max(reached, previous)
            end = done if done is not None else max(censor, previous)
            per_stage[i].append(
                Observation(
                    customer_id=customer,
                    start=from_micros(previous),
                    reached_at=None if done is None else from_micros(done),
                    end=from_micros(end),
                )
            )
            completed.append(None if done is None else from_micros(done))
            previous = done
        journey_rows.append(JourneyRow(customer, from_micros(start_us), tuple(completed), when))
    results = []
    for stage, obs, n_ooo, n_out in zip(
        plan.stages, per_stage, out_of_order, excluded, strict=True
    ):
        results.append(
            StageResult(
                milestone=stage,
                n_entered=len(obs),
                n_reached=sum(1 for x in obs if x.observed),
                distribution=distribution(stage, obs, when, per) if obs else None,
                n_out_of_order=n_ooo,
                n_excluded=n_out,
            )
        )
    return JourneyReport(plan, when, per, tuple(results), tuple(journey_rows), within=within)


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
