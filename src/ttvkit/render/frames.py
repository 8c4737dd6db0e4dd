"""pandas DataFrames of results: the ``to_pandas()`` methods (``ttvkit[pandas]``).

pandas is optional: it is imported inside each function, and a missing
install raises :class:`~ttvkit.errors.MissingDependencyError` naming the
extra. Column conventions, the same in every frame (``docs/notebooks.md``):

* durations are ``timedelta64[ns]``; ``NaT`` means *not reached* (a median
  the curve never gets to) or *unbounded* (the open end of a confidence
  interval) — the frame never invents a number for either;
* datetimes are ``datetime64[ns, UTC]``;
* shares are floats in [0, 1] (``NaN`` where undefined);
* counts are ``int64``; group labels keep their JSON values (``object``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ttvkit._optional import require

if TYPE_CHECKING:
    from ttvkit.observations import AttributeValue, Observation
    from ttvkit.results import (
        CohortTable,
        Comparison,
        Display,
        ImpactReport,
        JourneyReport,
        SatisfactionReport,
        TTVDistribution,
    )

__all__ = [
    "cohorts_frame",
    "cohorts_observations_frame",
    "comparison_frame",
    "comparison_observations_frame",
    "curve_frame",
    "impact_frame",
    "journey_frame",
    "journey_observations_frame",
    "observations_frame",
    "observations_to_pandas",
    "result_frame",
    "satisfaction_frame",
]

_DURATION = "timedelta64[ns]"
_DATETIME = "datetime64[ns, UTC]"


def require_pandas(feature: str) -> ModuleType:
    """Import pandas for *feature*, or say which extra installs it."""
    return require("pandas", "pandas", feature)


def _seconds_to_duration(seconds: float) -> timedelta | None:
    # Curve times are float seconds made from microsecond-exact timedeltas:
    # rounding to whole microseconds gives those timedeltas back exactly.
    return None if math.isinf(seconds) else timedelta(microseconds=round(seconds * 1_000_000))


def _frame(pd: ModuleType, columns: Mapping[str, tuple[Sequence[Any], str | None]]) -> Any:
    """A DataFrame from ``{name: (values, dtype)}``; dtype ``None`` lets pandas infer it."""
    return pd.DataFrame(
        {name: pd.Series(list(values), dtype=dtype) for name, (values, dtype) in columns.items()}
    )


def _share(value: float | None) -> float:
    return math.nan if value is None else value


# --------------------------------------------------------------------------- by kind


def result_frame(result: Display) -> Any:
    """What ``result.to_pandas()`` returns: the frame for its kind."""
    return _FRAMES[result.kind](result)


def observations_frame(result: Display) -> Any:
    """What ``result.observations_to_pandas()`` returns: one row per customer."""
    return _OBSERVATIONS[result.kind](result)


# --------------------------------------------------------------------------- distributions


def curve_frame(dist: TTVDistribution) -> Any:
    """The Kaplan–Meier curve: one row per distinct observed time, in time order.

    ``survival`` is the share not yet reached; ``share_reached`` is 1 -
    ``survival``; ``lower``/``upper`` bound ``survival``. The curve's implicit
    starting point (time 0, survival 1) is not a row, as in
    :class:`~ttvkit.stats.SurvivalCurve`.
    """
    pd = require_pandas("TTVDistribution.to_pandas()")
    curve = dist.curve
    return _frame(
        pd,
        {
            "time": ([_seconds_to_duration(t) for t in curve.times], _DURATION),
            "at_risk": (curve.at_risk, None),
            "reached": (curve.reached, None),
            "censored": (curve.censored, None),
            "survival": (curve.survival, "float64"),
            "lower": (curve.lower, "float64"),
            "upper": (curve.upper, "float64"),
            "share_reached": ([1.0 - s for s in curve.survival], "float64"),
        },
    )


def _attribute_column(values: Sequence[AttributeValue]) -> tuple[Sequence[Any], str | None]:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, datetime) for v in present):
        return values, _DATETIME
    if not present:
        return values, "object"
    return values, None


def observations_to_pandas(
    rows: Iterable[Observation],
    attributes: Sequence[str] = (),
    *,
    extra: Mapping[str, tuple[Sequence[Any], str | None]] | None = None,
) -> Any:
    """One row per customer: ``customer_id``, ``start``, ``reached_at`` (``NaT`` while on
    the way), ``end``, ``duration``, ``censored``, ``reached_before_start``, then one
    column per attribute.

    *attributes* names the attribute columns in order (``attribute_0``, … for
    the ones not named; a name already taken gets a suffix, ``start_2``).
    Attribute columns whose values are all datetimes (or missing) are
    ``datetime64[ns, UTC]``; others get the dtype pandas infers (a number
    column with a missing value becomes ``float64`` with ``NaN``).
    *extra* adds columns ``{name: (values, dtype)}`` after the fixed ones.
    """
    pd = require_pandas("observations_to_pandas()")
    table = list(rows)
    width = max((len(o.attributes) for o in table), default=len(attributes))
    names = [attributes[i] if i < len(attributes) else f"attribute_{i}" for i in range(width)]
    columns: dict[str, tuple[Sequence[Any], str | None]] = {
        "customer_id": ([o.customer_id for o in table], "object"),
        "start": ([o.start for o in table], _DATETIME),
        "reached_at": ([o.reached_at for o in table], _DATETIME),
        "end": ([o.end for o in table], _DATETIME),
        "duration": ([o.duration for o in table], _DURATION),
        "censored": ([o.censored for o in table], "bool"),
        "reached_before_start": ([o.reached_before_start for o in table], "bool"),
    }
    columns.update(extra or {})
    # Attribute names are data (a property, an event's description): they must
    # neither hide a fixed column nor each other.
    for i, name in enumerate(_unique(names, reserved=set(columns))):
        columns[name] = _attribute_column(
            [o.attributes[i] if i < len(o.attributes) else None for o in table]
        )
    return _frame(pd, columns)


# --------------------------------------------------------------------------- analyses


def _ci_columns(
    prefix: str, values: Sequence[tuple[timedelta | None, timedelta | None] | None]
) -> dict[str, tuple[Sequence[Any], str | None]]:
    return {
        f"{prefix}_lower": ([None if v is None else v[0] for v in values], _DURATION),
        f"{prefix}_upper": ([None if v is None else v[1] for v in values], _DURATION),
    }


def comparison_frame(result: Comparison) -> Any:
    """One row per group, the reference first as in :attr:`Comparison.groups`."""
    pd = require_pandas("Comparison.to_pandas()")
    groups = result.groups
    share_ci = [g.reached_within_difference_ci for g in groups]
    return _frame(
        pd,
        {
            "group": ([g.label for g in groups], "object"),
            "reference": ([result.is_reference(g.label) for g in groups], "bool"),
            "n": ([g.n for g in groups], "int64"),
            "n_reached": ([g.distribution.n_reached for g in groups], "int64"),
            "n_censored": ([g.distribution.n_censored for g in groups], "int64"),
            "median": ([g.distribution.median for g in groups], _DURATION),
            **_ci_columns("median", [g.distribution.median_ci for g in groups]),
            "reached_within": (
                [g.distribution.reached_within(result.within) for g in groups],
                "float64",
            ),
            "median_difference": ([g.median_difference for g in groups], _DURATION),
            **_ci_columns("median_difference", [g.median_difference_ci for g in groups]),
            "reached_within_difference": (
                [_share(g.reached_within_difference) for g in groups],
                "float64",
            ),
            "reached_within_difference_lower": (
                [math.nan if ci is None else ci[0] for ci in share_ci],
                "float64",
            ),
            "reached_within_difference_upper": (
                [math.nan if ci is None else ci[1] for ci in share_ci],
                "float64",
            ),
        },
    )


def comparison_observations_frame(result: Comparison) -> Any:
    """Every customer compared, sorted by id, with a ``group`` column (the label)."""
    pairs = sorted(
        ((o, g.label) for g in result.groups for o in g.distribution.observations()),
        key=lambda pair: pair[0].customer_id,
    )
    return observations_to_pandas(
        [o for o, _ in pairs],
        [result.by],
        extra={"group": ([label for _, label in pairs], "object")},
    )


def cohorts_observations_frame(result: CohortTable) -> Any:
    """Every customer, sorted by id, with a ``cohort`` column (the cohort's start)."""
    pairs = sorted(
        ((o, r.start) for r in result.rows for o in r.distribution.observations()),
        key=lambda pair: pair[0].customer_id,
    )
    return observations_to_pandas(
        [o for o, _ in pairs], extra={"cohort": ([start for _, start in pairs], _DATETIME)}
    )


def impact_frame(result: ImpactReport) -> Any:
    """The ranking: one row per intervention, largest effect first."""
    pd = require_pandas("ImpactReport.to_pandas()")
    rows = result.rows
    # The exposed group is labelled True; its difference is exposed minus not exposed.
    cis = [r.effect_ci for r in rows]
    return _frame(
        pd,
        {
            "rank": (range(1, len(rows) + 1), "int64"),
            "intervention": ([r.intervention for r in rows], "object"),
            "landmark": ([r.landmark for r in rows], _DURATION),
            "n_exposed": ([r.n_exposed for r in rows], "int64"),
            "n_not_exposed": ([r.n_not_exposed for r in rows], "int64"),
            "effect": ([_share(r.effect) for r in rows], "float64"),
            "effect_lower": ([math.nan if ci is None else ci[0] for ci in cis], "float64"),
            "effect_upper": ([math.nan if ci is None else ci[1] for ci in cis], "float64"),
            "median_difference": ([r.median_difference for r in rows], _DURATION),
            "p_value": (
                [math.nan if r.comparison is None else r.comparison.p_value for r in rows],
                "float64",
            ),
            "p_adjusted": ([_share(r.p_adjusted) for r in rows], "float64"),
            "significant": ([r.significant for r in rows], "bool"),
            "testable": ([r.tier < 3 for r in rows], "bool"),
        },
    )


def cohorts_frame(result: CohortTable) -> Any:
    """One row per cohort, oldest first."""
    pd = require_pandas("CohortTable.to_pandas()")
    rows = result.rows
    return _frame(
        pd,
        {
            "cohort_start": ([r.start for r in rows], _DATETIME),
            "cohort_end": ([r.end for r in rows], _DATETIME),
            "n": ([r.n for r in rows], "int64"),
            "n_reached": ([r.n_reached for r in rows], "int64"),
            "still_on_the_way": ([r.n_censored for r in rows], "int64"),
            "median": ([r.median for r in rows], _DURATION),
            **_ci_columns("median", [r.distribution.median_ci for r in rows]),
            "reached_within": ([_share(r.share_within) for r in rows], "float64"),
            "young": ([r.young for r in rows], "bool"),
        },
    )


def journey_frame(result: JourneyReport) -> Any:
    """One row per stage, in journey order."""
    pd = require_pandas("JourneyReport.to_pandas()")
    stages = result.stages
    started = result.n_started
    return _frame(
        pd,
        {
            "stage": ([s.milestone.name for s in stages], "object"),
            "n_entered": ([s.n_entered for s in stages], "int64"),
            "n_reached": ([s.n_reached for s in stages], "int64"),
            "share_reached": ([_share(s.share_reached) for s in stages], "float64"),
            "share_of_started": (
                [s.n_reached / started if started else math.nan for s in stages],
                "float64",
            ),
            "reached_within": (
                [_share(s.reached_within(result.within)) for s in stages],
                "float64",
            ),
            "median_from_previous": ([s.median for s in stages], _DURATION),
            **_ci_columns(
                "median_from_previous",
                [None if s.distribution is None else s.distribution.median_ci for s in stages],
            ),
            "n_out_of_order": ([s.n_out_of_order for s in stages], "int64"),
            "n_excluded": ([s.n_excluded for s in stages], "int64"),
            "n_reached_before_start": ([s.n_reached_before_start for s in stages], "int64"),
        },
    )


def journey_observations_frame(result: JourneyReport) -> Any:
    """One row per customer: ``customer_id``, ``start``, one datetime column per stage
    (when it was completed; ``NaT`` if not), ``censored_at``."""
    pd = require_pandas("JourneyReport.observations_to_pandas()")
    rows = result.rows
    columns: dict[str, tuple[Sequence[Any], str | None]] = {
        "customer_id": ([r.customer_id for r in rows], "object"),
        "start": ([r.start for r in rows], _DATETIME),
    }
    stage_names = _unique(
        [s.name for s in result.journey.stages], reserved={*columns, "censored_at"}
    )
    for i, name in enumerate(stage_names):
        columns[name] = ([r.stage_times[i] for r in rows], _DATETIME)
    columns["censored_at"] = ([r.censored_at for r in rows], _DATETIME)
    return _frame(pd, columns)


def _unique(names: Sequence[str], reserved: set[str]) -> list[str]:
    """*names* made distinct from each other and from *reserved* (suffixes ``_2``, ``_3``…)."""
    out: list[str] = []
    taken = set(reserved)
    for name in names:
        candidate, k = name, 2
        while candidate in taken:
            candidate, k = f"{name}_{k}", k + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def satisfaction_frame(result: SatisfactionReport) -> Any:
    """One row per speed class: immediate, short, long, not_yet."""
    pd = require_pandas("SatisfactionReport.to_pandas()")
    groups = result.groups

    def number(value: float | None) -> float:
        return math.nan if value is None else value

    return _frame(
        pd,
        {
            "speed": ([g.speed.value for g in groups], "object"),
            "n": ([g.n for g in groups], "int64"),
            "mean": ([number(g.mean) for g in groups], "float64"),
            "median": ([number(g.median) for g in groups], "float64"),
        },
    )


def _distribution_observations(result: TTVDistribution) -> Any:
    return observations_to_pandas(result.observations())


def _impact_observations(result: ImpactReport) -> Any:
    """Every customer considered; one column per intervention: when it first happened."""
    return observations_to_pandas(result.observations(), result.interventions)


def _satisfaction_observations(result: SatisfactionReport) -> Any:
    """Customers with a score, in a column named after the score property."""
    return observations_to_pandas(result.observations(), [result.score])


_FRAMES: dict[str, Callable[[Any], Any]] = {
    "time_to_value": curve_frame,
    "comparison": comparison_frame,
    "impact": impact_frame,
    "cohorts": cohorts_frame,
    "journey": journey_frame,
    "satisfaction": satisfaction_frame,
}
_OBSERVATIONS: dict[str, Callable[[Any], Any]] = {
    "time_to_value": _distribution_observations,
    "comparison": comparison_observations_frame,
    "impact": _impact_observations,
    "cohorts": cohorts_observations_frame,
    "journey": journey_observations_frame,
    "satisfaction": _satisfaction_observations,
}
