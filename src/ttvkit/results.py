"""Result classes: immutable, JSON-ready with ``to_dict()``, readable with ``str()``.

Durations are ``datetime.timedelta`` in the public API; ``to_dict()`` gives
them as float seconds in keys ending ``_seconds``, and an infinite time
(a percentile the curve never reaches) as ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from ttvkit._format import format_duration
from ttvkit.errors import AnalysisError
from ttvkit.milestones import Milestone, Speed, SpeedBands
from ttvkit.observations import Observation, Per
from ttvkit.stats import SurvivalCurve

__all__ = ["TTVDistribution", "format_duration"]

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
    observation_rows: tuple[Observation, ...] = attrs.field(repr=False)
    bands: SpeedBands | None = None

    @property
    def n(self) -> int:
        """Customers whose clock has started."""
        return len(self.observation_rows)

    @property
    def n_reached(self) -> int:
        """Customers who reached the milestone."""
        return sum(1 for o in self.observation_rows if o.observed)

    @property
    def n_censored(self) -> int:
        """Customers still on the way (censored)."""
        return self.n - self.n_reached

    @property
    def n_reached_before_start(self) -> int:
        """Customers counted as reached at duration 0 because they reached it before their start."""
        return sum(1 for o in self.observation_rows if o.reached_before_start)

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
        for o in self.observation_rows:
            counts[bands.classify(o.duration, reached=o.observed)] += 1
        return counts

    def observations(self) -> tuple[Observation, ...]:
        """The customers behind every figure, one row each."""
        return self.observation_rows

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


def _seconds(value: timedelta, what: str) -> float:
    if not isinstance(value, timedelta):
        raise AnalysisError(f"{what}({value!r}): pass a datetime.timedelta")
    if value < timedelta(0):
        raise AnalysisError(f"{what}({value}): must not be negative")
    return value.total_seconds()


def durations_and_flags(rows: Sequence[Observation]) -> tuple[list[float], list[bool]]:
    """The (seconds, observed) pairs ``ttvkit.stats`` takes."""
    return [o.duration.total_seconds() for o in rows], [o.observed for o in rows]
