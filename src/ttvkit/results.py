"""Result classes: immutable, JSON-ready with ``to_dict()``, readable with ``str()``.

Durations are ``datetime.timedelta`` in the public API; ``to_dict()`` gives
them as float seconds in keys ending ``_seconds``, and an infinite time
(a percentile the curve never reaches) as ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ttvkit._format import format_duration, format_p, format_share, text_table
from ttvkit.errors import AnalysisError
from ttvkit.events import JSONScalar
from ttvkit.milestones import Journey, Milestone, Speed, SpeedBands
from ttvkit.observations import DurationCells, Observation, ObservationColumns, Per
from ttvkit.stats import CorrelationResult, LogRankResult, SurvivalCurve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CohortRow",
    "CohortTable",
    "Comparison",
    "GroupResult",
    "ImpactReport",
    "ImpactRow",
    "JourneyReport",
    "JourneyRow",
    "SatisfactionReport",
    "SpeedGroup",
    "StageResult",
    "TTVDistribution",
]

_SUMMARY_QUANTILES = (0.25, 0.5, 0.75, 0.9)
_SUMMARY_WITHIN = (timedelta(days=1), timedelta(days=7), timedelta(days=30))


def _to_timedelta(seconds: float) -> timedelta | None:
    return None if math.isinf(seconds) else timedelta(seconds=seconds)


def _finite_or_none(seconds: float) -> float | None:
    return None if math.isinf(seconds) else seconds


def _check_q(q: float) -> float:
    if not isinstance(q, int | float) or isinstance(q, bool) or not 0 < q < 1:
        raise AnalysisError(f"percentile q={q!r}: must be a share strictly between 0 and 1")
    return float(q)


@attrs.frozen
class TTVDistribution:
    """How long customers take to reach a milestone, censoring-aware.

    Built by :func:`ttvkit.time_to_value`. Every figure comes from the
    Kaplan–Meier ``curve`` (durations in seconds), so customers still on the
    way count for as long as they were observed.
    """

    milestone: Milestone
    as_of: datetime
    per: Per
    curve: SurvivalCurve
    cells: DurationCells = attrs.field(repr=False)
    """The customers grouped by duration: what every figure is computed from."""
    bands: SpeedBands | None = None
    drilldown: Callable[[], Sequence[Observation]] = attrs.field(repr=False, eq=False, kw_only=True)
    """Loads the customers one row each, when :meth:`observations` is called."""

    @property
    def n(self) -> int:
        """Customers whose clock has started."""
        return self.cells.n

    @property
    def n_reached(self) -> int:
        """Customers who reached the milestone."""
        return self.cells.n_reached

    @property
    def n_censored(self) -> int:
        """Customers still on the way (censored)."""
        return self.n - self.n_reached

    @property
    def n_reached_before_start(self) -> int:
        """Customers counted as reached at duration 0 because they reached it before their start."""
        return self.cells.reached_before_start

    @property
    def median(self) -> timedelta | None:
        """The time by which half the customers reached the milestone; ``None`` if not yet."""
        return _to_timedelta(self.curve.median)

    @property
    def median_ci(self) -> tuple[timedelta | None, timedelta | None]:
        """The median's confidence interval (``None`` for an unbounded end)."""
        lo, hi = self.curve.median_ci
        return _to_timedelta(lo), _to_timedelta(hi)

    def percentile(self, q: float) -> timedelta | None:
        """The time by which a share *q* reached the milestone; ``None`` if never."""
        return _to_timedelta(self.curve.quantile(_check_q(q)))

    def reached_within(self, duration: timedelta) -> float:
        """The share expected to reach the milestone within *duration* (Kaplan-Meier)."""
        return self.curve.reached_within(_seconds(duration, "reached_within"))

    def rmst(self, horizon: timedelta) -> timedelta:
        """Restricted mean time to value up to *horizon*: the mean of min(TTV, horizon)."""
        return timedelta(seconds=self.curve.rmst(_seconds(horizon, "rmst")))

    def speed_counts(self, bands: SpeedBands | None = None) -> dict[Speed, int]:
        """Customers per speed class; UNDETERMINED counts those censored too early to tell."""
        bands = bands or self.bands
        if bands is None:
            raise AnalysisError(
                "speed_counts() needs SpeedBands: pass bands=SpeedBands(immediate=..., short=...)"
            )
        counts = dict.fromkeys(Speed, 0)
        cells = self.cells
        for micros, reached, censored in zip(
            cells.durations, cells.reached, cells.censored, strict=True
        ):
            duration = timedelta(microseconds=micros)
            if reached:
                counts[bands.classify(duration, reached=True)] += reached
            if censored:
                counts[bands.classify(duration, reached=False)] += censored
        return counts

    def observations(self) -> tuple[Observation, ...]:
        """The customers behind every figure, one row each (loaded now, from the source)."""
        return tuple(self.drilldown())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, percentiles, shares, the curve, durations in seconds."""
        lo, hi = self.curve.median_ci
        out: dict[str, Any] = {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "n": self.n,
            "n_reached": self.n_reached,
            "n_censored": self.n_censored,
            "n_reached_before_start": self.n_reached_before_start,
            "median_seconds": _finite_or_none(self.curve.median),
            "median_ci_seconds": [_finite_or_none(lo), _finite_or_none(hi)],
            "percentiles_seconds": {
                str(q): _finite_or_none(self.curve.quantile(q)) for q in _SUMMARY_QUANTILES
            },
            "reached_within": {
                str(int(d.total_seconds())): self.curve.reached_within(d.total_seconds())
                for d in _SUMMARY_WITHIN
            },
            "curve": self.curve.to_dict(),
        }
        if self.bands is not None:
            out["bands"] = self.bands.to_dict()
            out["speed_counts"] = {k.value: v for k, v in self.speed_counts().items()}
        return out

    def __str__(self) -> str:
        lo, hi = self.median_ci
        lines = [
            f"Time to value: {self.milestone.describe()}",
            f"  as of {self.as_of.isoformat()}, per {self.per}: {self.n} customers, "
            f"{self.n_reached} reached, {self.n_censored} still on the way",
            f"  median {format_duration(self.median)} "
            f"(95% CI {format_duration(lo)} to {format_duration(hi)})"
            if self.curve.alpha == 0.05
            else f"  median {format_duration(self.median)} "
            f"(CI {format_duration(lo)} to {format_duration(hi)})",
            "  percentiles: "
            + ", ".join(
                f"p{round(q * 100)} {format_duration(self.percentile(q))}"
                for q in _SUMMARY_QUANTILES
            ),
            "  reached within: "
            + ", ".join(
                f"{format_duration(d)} {self.reached_within(d):.1%}" for d in _SUMMARY_WITHIN
            ),
        ]
        if self.n_reached_before_start:
            lines.append(
                f"  {self.n_reached_before_start} reached it before their start (counted at 0)"
            )
        if self.bands is not None:
            counts = self.speed_counts()
            lines.append("  speed: " + ", ".join(f"{k.value} {v}" for k, v in counts.items()))
        return "\n".join(lines)

    # --- notebooks: rich display, DataFrames, plots (ttvkit._html, _frames, plotting) ---

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit._html import distribution_html

        return distribution_html(self)

    def to_pandas(self) -> Any:
        """The Kaplan–Meier curve, one row per distinct time.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import curve_frame

        return curve_frame(self)

    def observations_to_pandas(self) -> Any:
        """The customers behind every figure, one row each.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import observations_to_pandas

        return observations_to_pandas(self.observations())

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)


def _seconds(value: timedelta, what: str) -> float:
    if not isinstance(value, timedelta):
        raise AnalysisError(f"{what}({value!r}): pass a datetime.timedelta")
    if value < timedelta(0):
        raise AnalysisError(f"{what}({value}): must not be negative")
    return value.total_seconds()


def durations_and_flags(rows: Sequence[Observation]) -> tuple[list[float], list[bool]]:
    """The (seconds, observed) pairs ``ttvkit.stats`` takes."""
    return [o.duration.total_seconds() for o in rows], [o.observed for o in rows]


# --------------------------------------------------------------------------- analyses

GroupLabel = JSONScalar


def _label_text(label: GroupLabel) -> str:
    if label is None:
        return "(missing)"
    if isinstance(label, bool):
        return "yes" if label else "no"
    return str(label)


def _td_seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


@attrs.frozen
class GroupResult:
    """One group of a :class:`Comparison`, and how it differs from the reference group.

    Differences are *this group minus the reference*: a negative
    ``median_difference`` means this group reaches value sooner; a positive
    ``reached_within_difference`` means a larger share gets there within the
    comparison horizon. They are ``None`` for the reference group itself and
    where a median is not reached.
    """

    label: GroupLabel
    distribution: TTVDistribution
    median_difference: timedelta | None = None
    median_difference_ci: tuple[timedelta | None, timedelta | None] | None = None
    reached_within_difference: float | None = None
    reached_within_difference_ci: tuple[float, float] | None = None

    @property
    def n(self) -> int:
        return self.distribution.n

    def to_dict(self) -> dict[str, Any]:
        ci = self.median_difference_ci
        return {
            "label": self.label,
            "n": self.n,
            "n_reached": self.distribution.n_reached,
            "median_seconds": _td_seconds(self.distribution.median),
            "median_difference_seconds": _td_seconds(self.median_difference),
            "median_difference_ci_seconds": None
            if ci is None
            else [_td_seconds(ci[0]), _td_seconds(ci[1])],
            "reached_within_difference": self.reached_within_difference,
            "reached_within_difference_ci": None
            if self.reached_within_difference_ci is None
            else list(self.reached_within_difference_ci),
            "distribution": self.distribution.to_dict(),
        }


@attrs.frozen
class Comparison:
    """Time to value per group, a log-rank test across groups, and the differences.

    ``landmark`` is set when groups are defined by an event (an intervention):
    a customer counts as exposed when the event happened by ``start +
    landmark``, and only customers still on the way at the landmark are
    compared (see ``docs/analysis.md``, "the time-dependent trap").
    """

    milestone: Milestone
    as_of: datetime
    per: Per
    by: str
    landmark: timedelta | None
    within: timedelta
    reference: GroupLabel
    groups: tuple[GroupResult, ...]
    logrank: LogRankResult
    n_excluded: int
    """Customers left out: reached the milestone or stopped being observed by the landmark."""
    alpha: float = 0.05

    def group(self, label: GroupLabel) -> GroupResult:
        """The group with this label."""
        for g in self.groups:
            if g.label == label and type(g.label) is type(label):
                return g
        raise AnalysisError(
            f"no group {label!r}; the groups are {[g.label for g in self.groups]!r}"
        )

    @property
    def p_value(self) -> float:
        """The log-rank p-value: how surprising these differences are if all groups were alike."""
        return self.logrank.p_value

    @property
    def significant(self) -> bool:
        """Whether the log-rank p-value is below ``alpha``."""
        return self.logrank.p_value < self.alpha

    def observations(self) -> tuple[Observation, ...]:
        """Every customer compared, sorted by id."""
        rows = [o for g in self.groups for o in g.distribution.observations()]
        return tuple(sorted(rows, key=lambda o: o.customer_id))

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "by": self.by,
            "landmark_seconds": _td_seconds(self.landmark),
            "within_seconds": self.within.total_seconds(),
            "reference": self.reference,
            "alpha": self.alpha,
            "n_excluded": self.n_excluded,
            "logrank": self.logrank.to_dict(),
            "significant": self.significant,
            "groups": [g.to_dict() for g in self.groups],
        }

    def __str__(self) -> str:
        within = format_duration(self.within)
        head = [f"Time to value by {self.by}: {self.milestone.describe()}"]
        if self.landmark is not None:
            head.append(
                f"  exposure counted by {format_duration(self.landmark)} after the start; "
                f"{self.n_excluded} customers reached value or left before then "
                "and are not compared"
            )
        rows = []
        for g in self.groups:
            d = g.distribution
            is_ref = g.label == self.reference and type(g.label) is type(self.reference)
            rows.append(
                [
                    _label_text(g.label) + (" (reference)" if is_ref else ""),
                    str(d.n),
                    str(d.n_reached),
                    format_duration(d.median),
                    format_share(d.reached_within(self.within)),
                    "" if is_ref else _signed_duration(g.median_difference),
                    "" if is_ref else _signed_share(g.reached_within_difference),
                ]
            )
        table = text_table(
            [
                "group",
                "n",
                "reached",
                "median",
                f"within {within}",
                "Δ median",
                f"Δ within {within}",
            ],
            rows,
        )
        verdict = "a real difference" if self.significant else "no clear difference"
        tail = (
            f"  log-rank chi2 {self.logrank.statistic:.3f}, df {self.logrank.dof}, "
            f"p {format_p(self.logrank.p_value)}: {verdict} at alpha {self.alpha:g}"
        )
        return "\n".join([*head, table, tail])

    # --- notebooks: rich display, DataFrames, plots (ttvkit._html, _frames, plotting) ---

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit._html import comparison_html

        return comparison_html(self)

    def to_pandas(self) -> Any:
        """One row per group: counts, median, differences and their CIs.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import comparison_frame

        return comparison_frame(self)

    def observations_to_pandas(self) -> Any:
        """Every customer compared, with ``group`` and the ``by`` value.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import comparison_observations_frame

        return comparison_observations_frame(self)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)


def _signed_duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    sign = "-" if value < timedelta(0) else "+"
    return sign + format_duration(abs(value))


def _signed_share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pts"


@attrs.frozen
class ImpactRow:
    """One intervention's effect on time to value."""

    intervention: str
    comparison: Comparison
    p_adjusted: float
    """The log-rank p-value adjusted for testing several interventions (Holm)."""

    @property
    def effect(self) -> float | None:
        """Exposed minus unexposed share reaching value within the horizon."""
        exposed = self._exposed
        return None if exposed is None else exposed.reached_within_difference

    @property
    def median_difference(self) -> timedelta | None:
        exposed = self._exposed
        return None if exposed is None else exposed.median_difference

    @property
    def _exposed(self) -> GroupResult | None:
        for g in self.comparison.groups:
            if g.label is True:
                return g
        return None

    @property
    def significant(self) -> bool:
        """Whether the Holm-adjusted p-value is below the comparison's alpha."""
        return self.p_adjusted < self.comparison.alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervention": self.intervention,
            "landmark_seconds": _td_seconds(self.comparison.landmark),
            "effect": self.effect,
            "median_difference_seconds": _td_seconds(self.median_difference),
            "p_value": self.comparison.p_value,
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
            "comparison": self.comparison.to_dict(),
        }


@attrs.frozen
class ImpactReport:
    """Interventions ranked by how much they shorten time to value."""

    milestone: Milestone
    as_of: datetime
    per: Per
    within: timedelta
    rows: tuple[ImpactRow, ...]
    columns: ObservationColumns = attrs.field(repr=False)
    """Every customer considered, as columns (one attribute column per intervention)."""
    interventions: tuple[str, ...] = ()
    """The interventions in the order given (the order of the observations' attributes)."""

    def observations(self) -> tuple[Observation, ...]:
        """Every customer considered (before the landmark filter); attributes hold
        each intervention's first time, in the order of :attr:`interventions`."""
        return tuple(self.columns.rows())

    def observations_to_pandas(self) -> Any:
        """Every customer considered, with one column per intervention: when it
        first happened (``NaT`` if never). Needs ``ttvkit[pandas]``."""
        from ttvkit._frames import observations_to_pandas

        return observations_to_pandas(self.observations(), self.interventions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "within_seconds": self.within.total_seconds(),
            "interventions": list(self.interventions),
            "ranking": [r.to_dict() for r in self.rows],
        }

    def __str__(self) -> str:
        within = format_duration(self.within)
        rows = []
        for rank, r in enumerate(self.rows, start=1):
            exposed = r._exposed
            rows.append(
                [
                    f"{rank}. {r.intervention}",
                    format_duration(r.comparison.landmark),
                    str(exposed.n if exposed else 0),
                    _signed_share(r.effect),
                    _signed_duration(r.median_difference),
                    format_p(r.p_adjusted),
                    "yes" if r.significant else "no",
                ]
            )
        return "\n".join(
            [
                f"What shortens time to value: {self.milestone.describe()}",
                "  exposed = happened by the landmark after the start; "
                "effects are exposed minus not exposed",
                text_table(
                    [
                        "intervention",
                        "landmark",
                        "exposed",
                        f"Δ within {within}",
                        "Δ median",
                        "p (Holm)",
                        "significant",
                    ],
                    rows,
                ),
            ]
        )

    # --- notebooks: rich display, DataFrames, plots (ttvkit._html, _frames, plotting) ---

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit._html import impact_html

        return impact_html(self)

    def to_pandas(self) -> Any:
        """The ranking, one row per intervention.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import impact_frame

        return impact_frame(self)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)


@attrs.frozen
class CohortRow:
    """Customers whose clock started in one period."""

    start: datetime
    end: datetime
    distribution: TTVDistribution
    within: timedelta
    young: bool
    """Some members have been watched for less than ``within``: their figures may still move."""

    @property
    def n(self) -> int:
        return self.distribution.n

    @property
    def median(self) -> timedelta | None:
        return self.distribution.median

    @property
    def reached_within(self) -> float:
        """Share reaching the milestone within the table's horizon (Kaplan–Meier)."""
        return self.distribution.reached_within(self.within)

    @property
    def still_on_the_way(self) -> int:
        return self.distribution.n_censored

    @property
    def share_censored(self) -> float:
        return self.distribution.n_censored / self.distribution.n

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.distribution.median_ci
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "n_reached": self.distribution.n_reached,
            "still_on_the_way": self.still_on_the_way,
            "median_seconds": _td_seconds(self.median),
            "median_ci_seconds": [_td_seconds(lo), _td_seconds(hi)],
            "reached_within": self.reached_within,
            "young": self.young,
        }


@attrs.frozen
class CohortTable:
    """Time to value per start cohort: the trend over time."""

    milestone: Milestone
    as_of: datetime
    per: Per
    period: str
    within: timedelta
    rows: tuple[CohortRow, ...]

    def observations(self) -> tuple[Observation, ...]:
        return tuple(
            sorted(
                (o for r in self.rows for o in r.distribution.observations()),
                key=lambda o: o.customer_id,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "period": self.period,
            "within_seconds": self.within.total_seconds(),
            "cohorts": [r.to_dict() for r in self.rows],
        }

    def __str__(self) -> str:
        within = format_duration(self.within)
        rows = [
            [
                r.start.date().isoformat() + (" *" if r.young else ""),
                str(r.n),
                str(r.distribution.n_reached),
                str(r.still_on_the_way),
                format_duration(r.median),
                format_share(r.reached_within),
            ]
            for r in self.rows
        ]
        lines = [
            f"Time to value by {self.period} cohort: {self.milestone.describe()}",
            text_table(
                ["cohort", "n", "reached", "on the way", "median", f"within {within}"], rows
            ),
        ]
        if any(r.young for r in self.rows):
            lines.append(
                f"  * young cohort: some customers watched for less than {within}; "
                "its figures may still change"
            )
        return "\n".join(lines)

    # --- notebooks: rich display, DataFrames, plots (ttvkit._html, _frames, plotting) ---

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit._html import cohorts_html

        return cohorts_html(self)

    def to_pandas(self) -> Any:
        """One row per cohort: counts, median and its CI, share within, young.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import cohorts_frame

        return cohorts_frame(self)

    def observations_to_pandas(self) -> Any:
        """Every customer, with a ``cohort`` column (its start).

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import cohorts_observations_frame

        return cohorts_observations_frame(self)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)


@attrs.frozen
class JourneyRow:
    """One customer's way through a journey: when each stage was completed."""

    customer_id: str
    start: datetime
    stage_times: tuple[datetime | None, ...]
    censored_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "start": self.start.isoformat(),
            "stage_times": [None if t is None else t.isoformat() for t in self.stage_times],
            "censored_at": self.censored_at.isoformat(),
        }


@attrs.frozen
class StageResult:
    """One stage of a journey.

    ``n_entered`` customers had completed the previous stage (every
    customer, for the first); ``distribution`` is the time from the previous
    stage to this one among them (``None`` when nobody entered).
    """

    milestone: Milestone
    n_entered: int
    n_reached: int
    distribution: TTVDistribution | None
    n_out_of_order: int
    """Customers who reached this stage's event before completing the previous stage."""

    @property
    def share_reached(self) -> float | None:
        """Of those who entered, the share that completed this stage so far."""
        return None if self.n_entered == 0 else self.n_reached / self.n_entered

    @property
    def median(self) -> timedelta | None:
        return None if self.distribution is None else self.distribution.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.milestone.name,
            "n_entered": self.n_entered,
            "n_reached": self.n_reached,
            "share_reached": self.share_reached,
            "median_seconds_from_previous": _td_seconds(self.median),
            "n_out_of_order": self.n_out_of_order,
        }


@attrs.frozen
class JourneyReport:
    """Value in stages: reach, time per stage, and where customers stall."""

    journey: Journey
    as_of: datetime
    per: Per
    stages: tuple[StageResult, ...]
    rows: tuple[JourneyRow, ...] = attrs.field(repr=False)

    @property
    def n_started(self) -> int:
        return len(self.rows)

    @property
    def stall_by_share(self) -> StageResult:
        """The stage the smallest share of its entrants completes."""
        entered = [s for s in self.stages if s.n_entered] or list(self.stages)
        return min(entered, key=lambda s: s.share_reached if s.share_reached is not None else 1.0)

    @property
    def stall_by_time(self) -> StageResult:
        """The stage with the longest median time from the previous one (not reached = longest)."""

        def key(s: StageResult) -> float:
            if s.distribution is None:
                return -1.0
            m = s.median
            return math.inf if m is None else m.total_seconds()

        return max(self.stages, key=key)

    def observations(self) -> tuple[JourneyRow, ...]:
        """Per customer, when each stage was completed."""
        return self.rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "journey": [s.name for s in self.journey.stages],
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "n_started": self.n_started,
            "stages": [s.to_dict() for s in self.stages],
            "stall_by_share": self.stall_by_share.milestone.name,
            "stall_by_time": self.stall_by_time.milestone.name,
        }

    def __str__(self) -> str:
        rows = [
            [
                f"{i}. {s.milestone.name}",
                str(s.n_entered),
                str(s.n_reached),
                format_share(s.share_reached),
                format_duration(s.median) if s.distribution is not None else "-",
            ]
            for i, s in enumerate(self.stages, start=1)
        ]
        return "\n".join(
            [
                f"Journey: {' -> '.join(s.name for s in self.journey.stages)} "
                f"({self.n_started} customers started)",
                text_table(
                    ["stage", "entered", "completed", "share", "median from previous"], rows
                ),
                f"  stalls most: {self.stall_by_share.milestone.name} (lowest completion), "
                f"{self.stall_by_time.milestone.name} (longest wait)",
            ]
        )

    # --- notebooks: rich display, DataFrames, plots (ttvkit._html, _frames, plotting) ---

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit._html import journey_html

        return journey_html(self)

    def to_pandas(self) -> Any:
        """One row per stage: reach, shares, median time from the previous stage.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import journey_frame

        return journey_frame(self)

    def observations_to_pandas(self) -> Any:
        """Per customer, when each stage was completed (a column per stage).

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import journey_observations_frame

        return journey_observations_frame(self)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)


@attrs.frozen
class SpeedGroup:
    """Satisfaction scores of the customers in one speed class."""

    speed: str
    scores: tuple[float, ...] = attrs.field(repr=False)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return math.fsum(self.scores) / len(self.scores) if self.scores else None

    @property
    def median(self) -> float | None:
        if not self.scores:
            return None
        ordered = sorted(self.scores)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    @property
    def counts(self) -> dict[float, int]:
        """How many customers gave each score."""
        out: dict[float, int] = {}
        for s in sorted(self.scores):
            out[s] = out.get(s, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "speed": self.speed,
            "n": self.n,
            "mean": self.mean,
            "median": self.median,
            "counts": {str(k): v for k, v in self.counts.items()},
        }


@attrs.frozen
class SatisfactionReport:
    """Whether fast value goes with happy customers."""

    milestone: Milestone
    as_of: datetime
    per: Per
    bands: SpeedBands
    survey: str
    score: str
    groups: tuple[SpeedGroup, ...]
    correlation: CorrelationResult | None
    """Spearman's rho between time to value and score, among customers who reached value."""
    n_without_score: int
    columns: ObservationColumns = attrs.field(repr=False)
    """The customers with a score, as columns (the score is the one attribute column)."""

    def group(self, speed: str) -> SpeedGroup:
        for g in self.groups:
            if g.speed == speed:
                return g
        raise AnalysisError(f"no speed class {speed!r}; they are {[g.speed for g in self.groups]}")

    def observations(self) -> tuple[Observation, ...]:
        """Customers with a score; the score is ``attributes[0]``."""
        return tuple(self.columns.rows())

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "bands": self.bands.to_dict(),
            "survey": self.survey,
            "score": self.score,
            "n_without_score": self.n_without_score,
            "groups": [g.to_dict() for g in self.groups],
            "correlation": None if self.correlation is None else self.correlation.to_dict(),
        }

    def __str__(self) -> str:
        rows = [
            [
                g.speed,
                str(g.n),
                "-" if g.mean is None else f"{g.mean:.2f}",
                "-" if g.median is None else f"{g.median:g}",
            ]
            for g in self.groups
        ]
        lines = [
            f"Satisfaction ({self.survey}, {self.score!r}) by speed to {self.milestone.name}",
            text_table(["speed", "n", "mean", "median"], rows),
        ]
        c = self.correlation
        if c is None:
            lines.append("  too few customers with value and a score for a rank correlation")
        else:
            lines.append(
                f"  Spearman rho(TTV, score) = {c.rho:+.3f} (n {c.n}, p {format_p(c.p_value)})"
            )
        if self.n_without_score:
            lines.append(f"  {self.n_without_score} customers gave no score")
        return "\n".join(lines)

    # --- notebooks: rich display, DataFrames, plots (ttvkit._html, _frames, plotting) ---

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit._html import satisfaction_html

        return satisfaction_html(self)

    def to_pandas(self) -> Any:
        """One row per speed class: n, mean and median score.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import satisfaction_frame

        return satisfaction_frame(self)

    def observations_to_pandas(self) -> Any:
        """Customers with a score, in a column named after the score property.

        Needs ``ttvkit[pandas]``; docs/notebooks.md lists the columns.
        """
        from ttvkit._frames import observations_to_pandas

        return observations_to_pandas(self.observations(), [self.score])

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)
