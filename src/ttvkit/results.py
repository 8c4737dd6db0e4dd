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
_JOURNEY_WITHIN = timedelta(days=7)


def _to_timedelta(seconds: float) -> timedelta | None:
    return None if math.isinf(seconds) else timedelta(seconds=seconds)


def _finite_or_none(seconds: float) -> float | None:
    return None if math.isinf(seconds) else seconds


def _check_q(q: float) -> float:
    if not isinstance(q, int | float) or isinstance(q, bool) or not 0 < q < 1:
        raise AnalysisError(f"percentile q={q!r}: must be a share strictly between 0 and 1")
    return float(q)


# --------------------------------------------------------------------------- shared wording

# str() and _repr_html_() build their rows with the helpers below: one wording
# for both ("not reached", "unbounded", "n/a beyond follow-up").
NOT_REACHED = "not reached"
"""A median or percentile the curve does not (yet) get to."""
UNBOUNDED = "unbounded"
"""The open upper end of a confidence interval."""
BEYOND_FOLLOW_UP = "n/a beyond follow-up"
"""A share within a horizon longer than anyone was watched: unknown, not carried forward."""


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 customer``, ``2 customers``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _median_text(value: timedelta | None) -> str:
    return NOT_REACHED if value is None else format_duration(value)


def _ci_text(bounds: tuple[timedelta | None, timedelta | None]) -> str:
    lo, hi = bounds
    return f"{_median_text(lo)} to {UNBOUNDED if hi is None else format_duration(hi)}"


def _within_text(share: float | None) -> str:
    return BEYOND_FOLLOW_UP if share is None else format_share(share)


def _share_ci(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{ci[0] * 100:+.1f} to {ci[1] * 100:+.1f}"


def _duration_ci(ci: tuple[timedelta | None, timedelta | None] | None) -> str:
    if ci is None:
        return "-"
    lo, hi = ci
    low = f"-{UNBOUNDED}" if lo is None else _signed_duration(lo)
    return f"{low} to {f'+{UNBOUNDED}' if hi is None else _signed_duration(hi)}"


def _ci_name(alpha: float) -> str:
    return f"{1 - alpha:.0%} CI"


@attrs.frozen
class Table:
    """The rows a result shows, in the words both ``str()`` and the HTML use."""

    headers: list[str]
    rows: list[list[str]]
    strong: list[bool] | None = None
    """Rows shown in bold in HTML (the reference group, significant levers)."""

    def text(self) -> str:
        return text_table(self.headers, self.rows)


class _Pretty:
    """``_repr_pretty_``: IPython terminals print the same text as ``str()``."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("..." if cycle else str(self))


@attrs.frozen
class TTVDistribution(_Pretty):
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

    def reached_within(self, duration: timedelta) -> float | None:
        """The share expected to reach the milestone within *duration* (Kaplan-Meier).

        ``None`` (unknown) when *duration* is longer than the longest follow-up
        and some customers are still on the way: the curve says nothing about
        times nobody was watched for, so its last value is not carried forward.
        """
        return _share_within(self.curve, _seconds(duration, "reached_within"))

    def rmst(self, horizon: timedelta) -> timedelta:
        """Restricted mean time to value up to *horizon*: the mean of min(TTV, horizon)."""
        return timedelta(seconds=self.curve.rmst(_seconds(horizon, "rmst")))

    @property
    def follow_up(self) -> timedelta:
        """The longest time anyone was watched (reached or censored)."""
        return timedelta(microseconds=self.cells.durations[-1] if self.cells.durations else 0)

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
                str(int(d.total_seconds())): self.reached_within(d) for d in _SUMMARY_WITHIN
            },
            "curve": self.curve.to_dict(),
        }
        if self.bands is not None:
            out["bands"] = self.bands.to_dict()
            out["speed_counts"] = {k.value: v for k, v in self.speed_counts().items()}
        return out

    def figures(self) -> list[tuple[str, str]]:
        """The summary figures as (name, value) text: what ``str()`` and HTML show."""
        return [
            ("median", _median_text(self.median)),
            (f"median {_ci_name(self.curve.alpha)}", _ci_text(self.median_ci)),
            *((f"p{round(q * 100)}", _median_text(self.percentile(q))) for q in _SUMMARY_QUANTILES),
            *(
                (f"reached within {format_duration(d)}", _within_text(self.reached_within(d)))
                for d in _SUMMARY_WITHIN
            ),
        ]

    def headline(self) -> str:
        """Counts: customers, reached, still on the way."""
        return (
            f"as of {self.as_of.isoformat()}, per {self.per}: {plural(self.n, 'customer')}, "
            f"{self.n_reached} reached, {self.n_censored} still on the way"
        )

    def notes(self) -> list[str]:
        """Lines below the figures (reached before the start)."""
        if not self.n_reached_before_start:
            return []
        return [
            f"{plural(self.n_reached_before_start, 'customer')} reached it before their start "
            "(counted at 0)"
        ]

    def speed_table(self) -> Table | None:
        """Customers per speed class, when bands are set."""
        if self.bands is None:
            return None
        counts = self.speed_counts()
        return Table(["speed", "customers"], [[k.value, str(v)] for k, v in counts.items()])

    def __str__(self) -> str:
        figures = dict(self.figures())
        ci_name = f"median {_ci_name(self.curve.alpha)}"
        lines = [
            f"Time to value: {self.milestone.describe()}",
            f"  {self.headline()}",
            f"  median {figures['median']} ({ci_name.removeprefix('median ')} {figures[ci_name]})",
            "  percentiles: " + ", ".join(f"{k} {v}" for k, v in self.figures()[2:6]),
            "  reached within: "
            + ", ".join(f"{k.removeprefix('reached within ')} {v}" for k, v in self.figures()[6:]),
        ]
        lines += [f"  {note}" for note in self.notes()]
        speed = self.speed_table()
        if speed is not None:
            lines.append("  speed: " + ", ".join(f"{k} {v}" for k, v in speed.rows))
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


def _share_within(curve: SurvivalCurve, t: float) -> float | None:
    """1 - S(t), or ``None`` past the last observed time while S is above 0."""
    if curve.times and t > curve.times[-1] and curve.survival[-1] > 0.0:
        return None
    return curve.reached_within(t)


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
class Comparison(_Pretty):
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
    """The groups' confidence intervals and the differences' cover 1 - alpha."""

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
        """Whether the log-rank p-value is below ``alpha`` (never without a test)."""
        return self.logrank.testable and self.logrank.p_value < self.alpha

    @property
    def dropped_from_test(self) -> tuple[GroupLabel, ...]:
        """Groups left out of the log-rank test: nobody in them was at risk at any
        time someone reached (R's ``survdiff`` drops them too)."""
        return tuple(self.logrank.dropped)  # type: ignore[arg-type]  # labels of this comparison

    def _is_reference(self, label: GroupLabel) -> bool:
        return label == self.reference and type(label) is type(self.reference)

    def table(self) -> Table:
        """One row per group, differences to the reference with their CIs."""
        within = format_duration(self.within)
        ci = _ci_name(self.alpha)
        rows = []
        strong = []
        for g in self.groups:
            d = g.distribution
            ref = self._is_reference(g.label)
            strong.append(ref)
            rows.append(
                [
                    _label_text(g.label) + (" (reference)" if ref else ""),
                    str(d.n),
                    str(d.n_reached),
                    _median_text(d.median),
                    _within_text(d.reached_within(self.within)),
                    "" if ref else _signed_duration(g.median_difference),
                    "" if ref else _duration_ci(g.median_difference_ci),
                    "" if ref else _signed_share(g.reached_within_difference),
                    "" if ref else _share_ci(g.reached_within_difference_ci),
                ]
            )
        headers = [
            "group",
            "n",
            "reached",
            "median",
            f"within {within}",
            "Δ median",
            f"Δ median {ci}",
            f"Δ within {within}",
            f"{ci} (pts)",
        ]
        return Table(headers, rows, strong)

    def notes(self) -> list[str]:
        """The landmark rule (for an intervention)."""
        if self.landmark is None:
            return []
        return [
            f"exposure counted by {format_duration(self.landmark)} after the start; "
            f"{plural(self.n_excluded, 'customer')} reached value or left before then "
            "and are not compared"
        ]

    def verdict(self) -> str:
        """The log-rank line."""
        dropped = (
            " (left out of the test, nobody at risk when others reached: "
            + ", ".join(_label_text(label) for label in self.dropped_from_test)
            + ")"
            if self.dropped_from_test
            else ""
        )
        if not self.logrank.testable:
            return (
                "log-rank: no test, fewer than two groups have anyone at risk when "
                f"someone reaches value{dropped}"
            )
        verdict = "a real difference" if self.significant else "no clear difference"
        return (
            f"log-rank chi2 {self.logrank.statistic:.3f}, df {self.logrank.dof}, "
            f"p {format_p(self.logrank.p_value)}: {verdict} at alpha {self.alpha:g}{dropped}"
        )

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
            "dropped_from_test": list(self.dropped_from_test),
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
        return "\n".join(
            [
                f"Time to value by {self.by}: {self.milestone.describe()}",
                *(f"  {note}" for note in self.notes()),
                self.table().text(),
                f"  {self.verdict()}",
            ]
        )

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
    """One intervention's effect on time to value.

    ``comparison`` and ``p_adjusted`` are ``None`` when the lever is not
    testable (nobody exposed, everybody exposed, or fewer than two groups
    with anyone at risk); ``not_testable`` then says why.
    """

    intervention: str
    comparison: Comparison | None
    p_adjusted: float | None
    """The log-rank p-value adjusted for testing several interventions (Holm)."""
    landmark: timedelta | None = None
    """Exposure counted by this time after the start."""
    not_testable: str | None = None
    """Why the lever could not be tested (``None`` when it was)."""

    @property
    def effect(self) -> float | None:
        """Exposed minus unexposed share reaching value within the horizon."""
        exposed = self._exposed
        return None if exposed is None else exposed.reached_within_difference

    @property
    def effect_ci(self) -> tuple[float, float] | None:
        """The confidence interval of :attr:`effect`."""
        exposed = self._exposed
        return None if exposed is None else exposed.reached_within_difference_ci

    @property
    def median_difference(self) -> timedelta | None:
        exposed = self._exposed
        return None if exposed is None else exposed.median_difference

    @property
    def median_difference_ci(self) -> tuple[timedelta | None, timedelta | None] | None:
        exposed = self._exposed
        return None if exposed is None else exposed.median_difference_ci

    @property
    def n_exposed(self) -> int:
        exposed = self._exposed
        return 0 if exposed is None else exposed.n

    @property
    def _exposed(self) -> GroupResult | None:
        if self.comparison is None:
            return None
        for g in self.comparison.groups:
            if g.label is True:
                return g
        return None

    @property
    def significant(self) -> bool:
        """Whether the Holm-adjusted p-value is below the comparison's alpha."""
        if self.comparison is None or self.p_adjusted is None:
            return False
        return self.comparison.logrank.testable and self.p_adjusted < self.comparison.alpha

    @property
    def ci_excludes_zero(self) -> bool:
        """Whether the CI of :attr:`effect` lies wholly on one side of 0."""
        ci = self.effect_ci
        return ci is not None and (ci[0] > 0.0 or ci[1] < 0.0)

    @property
    def tier(self) -> int:
        """The ranking tier: 0 significant with a CI clear of 0, 1 significant,
        2 not significant, 3 not testable. Rows rank by tier, then effect."""
        if self.comparison is None or not self.comparison.logrank.testable:
            return 3
        if self.significant:
            return 0 if self.ci_excludes_zero else 1
        return 2

    def to_dict(self) -> dict[str, Any]:
        ci = self.effect_ci
        median_ci = self.median_difference_ci
        return {
            "intervention": self.intervention,
            "landmark_seconds": _td_seconds(self.landmark),
            "testable": self.tier < 3,
            "not_testable": self.not_testable,
            "tier": self.tier,
            "n_exposed": self.n_exposed,
            "effect": self.effect,
            "effect_ci": None if ci is None else list(ci),
            "median_difference_seconds": _td_seconds(self.median_difference),
            "median_difference_ci_seconds": None
            if median_ci is None
            else [_td_seconds(median_ci[0]), _td_seconds(median_ci[1])],
            "p_value": None if self.comparison is None else self.comparison.p_value,
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
        }


@attrs.frozen
class ImpactReport(_Pretty):
    """Interventions ranked by how much they shorten time to value (see :attr:`ranked_by`)."""

    milestone: Milestone
    as_of: datetime
    per: Per
    within: timedelta
    rows: tuple[ImpactRow, ...]
    columns: ObservationColumns = attrs.field(repr=False)
    """Every customer considered, as columns (one attribute column per intervention)."""
    interventions: tuple[str, ...] = ()
    """The interventions in the order given (the order of the observations' attributes)."""
    alpha: float = 0.05

    @property
    def ranked_by(self) -> str:
        """What the ranking ranks by, in words (shown in every output)."""
        return (
            f"ranked by Δ within {format_duration(self.within)} in tiers: significant (Holm) "
            "with a CI clear of 0, other significant, the rest, not testable"
        )

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
            "alpha": self.alpha,
            "ranked_by": self.ranked_by,
            "interventions": list(self.interventions),
            "ranking": [r.to_dict() for r in self.rows],
        }

    def table(self) -> Table:
        """One row per lever, in rank order, with the CIs of the differences."""
        within = format_duration(self.within)
        ci = _ci_name(self.alpha)
        rows = []
        for rank, r in enumerate(self.rows, start=1):
            if r.comparison is None or r.p_adjusted is None:
                tested = ["-", "-", "-", "-", "-", "-"]
            else:
                tested = [
                    _signed_share(r.effect),
                    _share_ci(r.effect_ci),
                    _signed_duration(r.median_difference),
                    _duration_ci(r.median_difference_ci),
                    format_p(r.comparison.p_value),
                    format_p(r.p_adjusted),
                ]
            rows.append(
                [
                    f"{rank}. {r.intervention}",
                    format_duration(r.landmark),
                    str(r.n_exposed),
                    *tested,
                    "not testable" if r.tier == 3 else "yes" if r.significant else "no",
                ]
            )
        headers = [
            "intervention",
            "landmark",
            "exposed",
            f"Δ within {within}",
            f"{ci} (pts)",
            "Δ median",
            f"Δ median {ci}",
            "p",
            "p (Holm)",
            "significant",
        ]
        return Table(headers, rows, [r.significant for r in self.rows])

    def notes(self) -> list[str]:
        """How to read the table, what it ranks by, and the levers not tested."""
        return [
            "exposed = happened by the landmark after the start; "
            "effects are exposed minus not exposed",
            self.ranked_by,
            *(
                f"{r.intervention}: not testable, {r.not_testable}"
                for r in self.rows
                if r.tier == 3
            ),
        ]

    def __str__(self) -> str:
        return "\n".join(
            [
                f"What shortens time to value: {self.milestone.describe()}",
                *(f"  {note}" for note in self.notes()),
                self.table().text(),
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
    def reached_within(self) -> float | None:
        """Share reaching the milestone within the table's horizon (Kaplan–Meier);
        ``None`` when the horizon is beyond the cohort's follow-up."""
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
class CohortTable(_Pretty):
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

    def table(self) -> Table:
        """One row per cohort; young cohorts marked with an asterisk."""
        within = format_duration(self.within)
        rows = [
            [
                r.start.date().isoformat() + (" *" if r.young else ""),
                str(r.n),
                str(r.distribution.n_reached),
                str(r.still_on_the_way),
                _median_text(r.median),
                _ci_text(r.distribution.median_ci),
                _within_text(r.reached_within),
            ]
            for r in self.rows
        ]
        ci = _ci_name(self.rows[0].distribution.curve.alpha) if self.rows else "CI"
        headers = ["cohort", "n", "reached", "on the way", "median", ci, f"within {within}"]
        return Table(headers, rows)

    def notes(self) -> list[str]:
        """The young-cohort footnote, when a cohort is young."""
        if not any(r.young for r in self.rows):
            return []
        return [
            f"* young cohort: some customers watched for less than "
            f"{format_duration(self.within)}; its figures may still change"
        ]

    def __str__(self) -> str:
        return "\n".join(
            [
                f"Time to value by {self.period} cohort: {self.milestone.describe()}",
                self.table().text(),
                *(f"  {note}" for note in self.notes()),
            ]
        )

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
    n_excluded: int = 0
    """Customers left out from this stage on: they reached it before the start and the
    stage's ``before_start`` is ``"exclude"`` (as :func:`ttvkit.time_to_value` does)."""

    @property
    def share_reached(self) -> float | None:
        """Of those who entered, the share that completed this stage so far (raw: those
        still on the way count as not completing; see :meth:`reached_within`)."""
        return None if self.n_entered == 0 else self.n_reached / self.n_entered

    def reached_within(self, within: timedelta) -> float | None:
        """Kaplan–Meier share of the entrants completing the stage within *within* of
        the previous one (``None`` if nobody entered or beyond the follow-up)."""
        return None if self.distribution is None else self.distribution.reached_within(within)

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
            "n_excluded": self.n_excluded,
        }


@attrs.frozen
class JourneyReport(_Pretty):
    """Value in stages: reach, time per stage, and where customers stall."""

    journey: Journey
    as_of: datetime
    per: Per
    stages: tuple[StageResult, ...]
    rows: tuple[JourneyRow, ...] = attrs.field(repr=False)
    within: timedelta = _JOURNEY_WITHIN
    """The horizon of :attr:`stall_by_share`: each stage's share completing within it."""

    @property
    def n_started(self) -> int:
        return len(self.rows)

    @property
    def stall_by_share(self) -> StageResult:
        """The stage the smallest Kaplan–Meier share of its entrants completes within
        :attr:`within` of the previous stage (customers still on the way count for as
        long as they were watched). Stages whose follow-up is shorter than the horizon
        rank after the others, by their share at the end of their follow-up."""
        entered = [s for s in self.stages if s.distribution is not None] or list(self.stages)

        def key(s: StageResult) -> tuple[int, float]:
            if s.distribution is None:
                return (2, 1.0)
            share = s.reached_within(self.within)
            if share is not None:
                return (0, share)
            survival = s.distribution.curve.survival
            return (1, 1.0 - survival[-1] if survival else 0.0)

        return min(entered, key=key)

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
            "within_seconds": self.within.total_seconds(),
            "stall_by_share": self.stall_by_share.milestone.name,
            "stall_by_time": self.stall_by_time.milestone.name,
        }

    def table(self) -> Table:
        """One row per stage: entered, completed, shares, median from the previous stage."""
        within = format_duration(self.within)
        rows = [
            [
                f"{i}. {s.milestone.name}",
                str(s.n_entered),
                str(s.n_reached),
                format_share(s.share_reached),
                "-" if s.distribution is None else _within_text(s.reached_within(self.within)),
                _median_text(s.median) if s.distribution is not None else "-",
            ]
            for i, s in enumerate(self.stages, start=1)
        ]
        headers = ["stage", "entered", "completed", "share", f"within {within}", "median"]
        return Table(headers, rows)

    def notes(self) -> list[str]:
        """How to read the table, and where customers stall."""
        excluded = [s for s in self.stages if s.n_excluded]
        return [
            "share = completed of entered so far; within = Kaplan–Meier share completing "
            "within the horizon of the previous stage; median = time from the previous stage",
            *(
                f"{s.milestone.name}: {plural(s.n_excluded, 'customer')} left out "
                "(reached before the start, before_start='exclude')"
                for s in excluded
            ),
            f"stalls most: {self.stall_by_share.milestone.name} (lowest share within "
            f"{format_duration(self.within)}), {self.stall_by_time.milestone.name} (longest wait)",
        ]

    def title(self) -> str:
        return (
            f"Journey: {' -> '.join(s.name for s in self.journey.stages)} "
            f"({plural(self.n_started, 'customer')} started)"
        )

    def __str__(self) -> str:
        return "\n".join(
            [self.title(), self.table().text(), *(f"  {note}" for note in self.notes())]
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
class SatisfactionReport(_Pretty):
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

    def table(self) -> Table:
        """Score per speed class."""
        rows = [
            [
                g.speed,
                str(g.n),
                "-" if g.mean is None else f"{g.mean:.2f}",
                "-" if g.median is None else f"{g.median:g}",
            ]
            for g in self.groups
        ]
        return Table(["speed", "n", "mean", "median"], rows)

    def notes(self) -> list[str]:
        """The rank correlation, and customers without a score."""
        c = self.correlation
        lines = [
            "too few customers with value and a score for a rank correlation"
            if c is None
            else f"Spearman rho(TTV, score) = {c.rho:+.3f} (n {c.n}, p {format_p(c.p_value)})"
        ]
        if self.n_without_score:
            lines.append(f"{plural(self.n_without_score, 'customer')} gave no score")
        return lines

    def __str__(self) -> str:
        return "\n".join(
            [
                f"Satisfaction ({self.survey}, {self.score!r}) by speed to {self.milestone.name}",
                self.table().text(),
                *(f"  {note}" for note in self.notes()),
            ]
        )

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
