"""Comparing groups of customers: :func:`compare`, by a start-event property or an
intervention (a landmark analysis), with a log-rank test and confidence intervals
for the differences; :func:`ttvkit.calculators.impact` compares each lever this way."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import NormalDist

import attrs

from ttvkit import stats
from ttvkit._format import format_duration
from ttvkit._json import json_key
from ttvkit.calculators._arguments import (
    DEFAULT_LANDMARK,
    DEFAULT_WITHIN,
    check_alpha,
    check_bootstrap,
    check_group_label,
    check_groups,
    check_landmark_within,
    check_milestone,
    check_timedelta,
)
from ttvkit.calculators._distribution import columns_distribution
from ttvkit.calculators._source import Source, as_store, checked_as_of, load_columns, required_as_of
from ttvkit.conditions import Condition
from ttvkit.errors import AnalysisError, InvalidArgumentError, SingularVarianceError
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    AttributeValue,
    DurationCells,
    FirstTime,
    ObservationColumns,
    Per,
    StartProperty,
    check_per,
    to_micros,
)
from ttvkit.results import Comparison, GroupLabel, GroupResult

_MICROSECOND = timedelta(microseconds=1)


@attrs.frozen
class Grouping:
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


def grouping_of(by: object) -> Grouping:
    if isinstance(by, str):
        if not by:
            raise InvalidArgumentError(
                "by='': name a property of the start event, or pass an event condition"
            )
        return Grouping(StartProperty(by), by, exposure=False)
    if isinstance(by, Condition):
        return Grouping(FirstTime(by), by.describe(), exposure=True)
    raise InvalidArgumentError(
        f"by={by!r}: pass a property name of the start event (e.g. 'plan') or an event "
        "condition for an intervention (e.g. event('tutorial_completed'))"
    )


#: Why the log-rank test was not run, when fewer than two groups could enter it.
NO_GROUP_AT_RISK = "fewer than two groups have anyone at risk when someone reaches value"
#: Why it was not run when its variance is 0: ties at every time anyone reached.
ALL_TIED = (
    "every customer at risk reached value at each time someone did (ties at the same "
    "instant), so the log-rank variance is 0 and the groups' paces cannot be told apart"
)


class TooFewGroups(AnalysisError):
    """A comparison with fewer than two groups; ``reason`` says why, for impact().

    ``sizes`` counts the customers compared in each group there is, by label.
    """

    def __init__(self, message: str, reason: str, sizes: dict[GroupLabel, int]) -> None:
        super().__init__(message)
        self.reason = reason
        self.sizes = sizes


def _sort_key(label: GroupLabel) -> tuple[int, str, float]:
    if label is None:
        return (3, "", 0.0)
    if isinstance(label, bool):
        return (0, "", float(label))
    if isinstance(label, int | float):
        return (1, "", float(label))
    return (2, label, 0.0)


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


def _logrank(
    keys: list[tuple[bool, GroupLabel]], cells: dict[tuple[bool, GroupLabel], DurationCells]
) -> tuple[stats.LogRankResult, str | None]:
    """The log-rank test of the groups, and why it could not be run (``None`` if it was).

    Where the test's variance is 0 (everyone at risk reached at every time
    someone did: whole-day data, or everyone reached before the start) the
    statistics raise; the comparison instead reports no test, as for the
    groups nobody in which is at risk: statistic 0, ``dof`` 0, p-value 1.
    """
    # Groups are passed to the test by position: True and 1 must stay apart.
    try:
        test = stats.logrank_test_counts(
            [t for key in keys for t in cells[key].seconds()],
            [r for key in keys for r in cells[key].reached],
            [c for key in keys for c in cells[key].censored],
            [i for i, key in enumerate(keys) for _ in cells[key].durations],
        )
    except SingularVarianceError:
        return stats.LogRankResult(statistic=0.0, dof=0, p_value=1.0), ALL_TIED
    return test, None if test.testable else NO_GROUP_AT_RISK


def compare_columns(
    milestone: Milestone,
    columns: ObservationColumns,
    attribute_index: int,
    grouping: Grouping,
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
        key = json_key(label)
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
        missing = [g for g in groups if json_key(g) not in by_key]
        if missing:
            raise AnalysisError(
                f"group(s) {missing!r} of {grouping.description!r} have no customers; "
                f"the groups with customers are {labels!r}"
            )
        labels = [label_of[json_key(g)] for g in groups]
    if len(labels) < 2:
        what = (
            f"everyone compared was {'exposed' if labels and labels[0] else 'not exposed'} "
            f"by the landmark ({format_duration(landmark)})"
            if grouping.exposure
            else f"every customer has {grouping.description}={labels[0]!r}"
            if labels
            else "no customers remain"
        )
        raise TooFewGroups(
            f"comparing by {grouping.description} needs two groups, but {what}",
            what,
            {label: len(by_key[json_key(label)]) for label in labels},
        )
    if reference is None:
        reference = labels[0]
    if json_key(reference) not in by_key or json_key(reference) not in map(json_key, labels):
        raise AnalysisError(f"reference={reference!r} is not one of the groups {labels!r}")
    reference = label_of[json_key(reference)]
    keys = [json_key(label) for label in labels]
    dists = {
        key: columns_distribution(
            milestone, columns, as_of, per, positions=by_key[key], alpha=alpha
        )
        for key in keys
    }
    cells = {key: dists[key].cells for key in keys}
    test, not_testable = _logrank(keys, cells)
    test = attrs.evolve(test, dropped=tuple(labels[int(i)] for i in test.dropped))  # type: ignore[call-overload]
    ref = dists[json_key(reference)]
    horizon = within.total_seconds()
    z = NormalDist().inv_cdf(1 - alpha / 2)
    results = []
    for label, key in zip(labels, keys, strict=True):
        d = dists[key]
        if key == json_key(reference):
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
                d.curve.greenwood_variance(horizon) + ref.curve.greenwood_variance(horizon)
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
        not_testable=not_testable,
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
    milestone = check_milestone(milestone)
    per = check_per(per)
    grouping = grouping_of(by)
    reference = check_group_label(reference, "reference")
    checked_groups = check_groups(groups)
    landmark = check_timedelta(landmark, "landmark", allow_zero=True)
    within = check_timedelta(within, "within", allow_zero=False)
    if grouping.exposure:
        check_landmark_within(landmark, within, "landmark")
    alpha = check_alpha(alpha)
    bootstrap = check_bootstrap(bootstrap)
    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per, [grouping.attribute])
    del seed  # the median-difference interval is analytic: nothing is drawn
    return compare_columns(
        milestone,
        columns,
        0,
        grouping,
        as_of=when,
        per=per,
        landmark=landmark,
        within=within,
        reference=reference,
        groups=checked_groups,
        alpha=alpha,
        bootstrap=bootstrap,
    )
