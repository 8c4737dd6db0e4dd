"""How long customers take to reach one milestone: :class:`TTVDistribution`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from ttvkit._format import (
    Table,
    ci_name,
    ci_text,
    finite_or_none,
    format_duration,
    median_text,
    plural,
    timedelta_or_none,
    within_text,
)
from ttvkit.errors import AnalysisError, InvalidArgumentError, StoreError
from ttvkit.milestones import Milestone, Speed, SpeedBands
from ttvkit.observations import DurationCells, Observation, Per
from ttvkit.results._common import check_q, checked_seconds, curve_dict, share_within
from ttvkit.results._display import Display
from ttvkit.stats import SurvivalCurve

__all__ = ["TTVDistribution"]

SUMMARY_QUANTILES = (0.25, 0.5, 0.75, 0.9)
SUMMARY_WITHIN = (timedelta(days=1), timedelta(days=7), timedelta(days=30))
# The classes SpeedBands.classify gives, in the order speed_counts() lists them.


@attrs.frozen
class TTVDistribution(Display):
    """How long customers take to reach a milestone, censoring-aware.

    Built by :func:`ttvkit.time_to_value`. Every figure comes from the
    Kaplan–Meier ``curve`` (durations in seconds), so customers still on the
    way count for as long as they were observed.
    """

    kind: ClassVar[str] = "time_to_value"

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
        return timedelta_or_none(self.curve.median)

    @property
    def median_ci(self) -> tuple[timedelta | None, timedelta | None]:
        """The median's confidence interval (``None`` for an unbounded end)."""
        lo, hi = self.curve.median_ci
        return timedelta_or_none(lo), timedelta_or_none(hi)

    def percentile(self, q: float) -> timedelta | None:
        """The time by which a share *q* reached the milestone; ``None`` if never."""
        return timedelta_or_none(self.curve.quantile(check_q(q)))

    def reached_within(self, duration: timedelta) -> float | None:
        """The share expected to reach the milestone within *duration* (Kaplan-Meier).

        ``None`` (unknown) when *duration* is longer than the longest follow-up
        and some customers are still on the way: the curve says nothing about
        times nobody was watched for, so its last value is not carried forward.
        """
        return share_within(self.curve, checked_seconds(duration, "reached_within"))

    def rmst(self, horizon: timedelta) -> timedelta:
        """Restricted mean time to value up to *horizon*: the mean of min(TTV, horizon)."""
        return timedelta(seconds=self.curve.rmst(checked_seconds(horizon, "rmst")))

    @property
    def follow_up(self) -> timedelta:
        """The longest time anyone was watched (reached or censored)."""
        return timedelta(microseconds=self.cells.durations[-1] if self.cells.durations else 0)

    def speed_counts(self, bands: SpeedBands | None = None) -> dict[Speed, int]:
        """Customers per speed class; UNDETERMINED counts those censored too early to tell."""
        if bands is not None and not isinstance(bands, SpeedBands):
            raise InvalidArgumentError(
                f"speed_counts(bands={bands!r}): pass SpeedBands(immediate=..., short=...), "
                "or nothing to use the bands given to time_to_value()"
            )
        bands = bands or self.bands
        if bands is None:
            raise InvalidArgumentError(
                "speed_counts() needs SpeedBands: pass bands=SpeedBands(immediate=..., short=...)"
            )
        return bands.count_cells(self.cells.durations, self.cells.reached, self.cells.censored)

    def observations(self) -> tuple[Observation, ...]:
        """The customers behind every figure, one row each (loaded now, from the source)."""
        return tuple(self.drilldown())

    def __reduce__(self) -> tuple[Any, ...]:
        # The drill-down reads the source, which cannot travel to another process:
        # a pickled distribution carries its customers, loaded when it is pickled.
        # A source closed by then (a `with` block left) keeps the figures, and the
        # drill-down of the copy says why it has no customers.
        fields = (self.milestone, self.as_of, self.per, self.curve, self.cells, self.bands)
        drilldown: _Loaded | _NotKept
        try:
            drilldown = _Loaded(self.observations())
        except (StoreError, AnalysisError) as exc:  # closed, down, or a frame changed since
            drilldown = _NotKept(str(exc))
        return (_unpickled, (*fields, drilldown))

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
            "median_seconds": finite_or_none(self.curve.median),
            "median_ci_seconds": [finite_or_none(lo), finite_or_none(hi)],
            "percentiles_seconds": {
                str(q): finite_or_none(self.curve.quantile(q)) for q in SUMMARY_QUANTILES
            },
            "reached_within": {
                str(int(d.total_seconds())): self.reached_within(d) for d in SUMMARY_WITHIN
            },
            "curve": curve_dict(self.curve),
        }
        if self.bands is not None:
            out["bands"] = self.bands.to_dict()
            out["speed_counts"] = {k.value: v for k, v in self.speed_counts().items()}
        return out

    # --- the view: what str(), HTML and reports show, in words

    def figures(self) -> list[tuple[str, str]]:
        """The summary figures as (name, value) text: what ``str()`` and HTML show."""
        return [
            ("median", median_text(self.median)),
            (f"median {ci_name(self.curve.alpha)}", ci_text(self.median_ci)),
            *((f"p{round(q * 100)}", median_text(self.percentile(q))) for q in SUMMARY_QUANTILES),
            *(
                (f"reached within {format_duration(d)}", within_text(self.reached_within(d)))
                for d in SUMMARY_WITHIN
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


@attrs.frozen
class _Loaded:
    """A drill-down that returns rows already loaded (picklable, unlike a closure)."""

    rows: tuple[Observation, ...]

    def __call__(self) -> tuple[Observation, ...]:
        return self.rows


@attrs.frozen
class _NotKept:
    """The drill-down of a distribution pickled when its source could not be read."""

    reason: str

    def __call__(self) -> tuple[Observation, ...]:
        raise AnalysisError(
            "the customers behind this distribution were not kept: it was pickled (or "
            f"copied) when its source could not be read ({self.reason}); pickle it while "
            "the source is open to keep them. Its figures are all here"
        )


def _unpickled(
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    curve: SurvivalCurve,
    cells: DurationCells,
    bands: SpeedBands | None,
    drilldown: _Loaded | _NotKept,
) -> TTVDistribution:
    return TTVDistribution(milestone, as_of, per, curve, cells, bands, drilldown=drilldown)
