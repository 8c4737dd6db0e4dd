"""Whether fast value goes with happy customers: :class:`SatisfactionReport` and its
:class:`SpeedGroup` per speed class."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, ClassVar

import attrs

from ttvkit._format import Table, format_p, format_score, plural
from ttvkit.errors import InvalidArgumentError
from ttvkit.milestones import Milestone, Speed, SpeedBands
from ttvkit.observations import Observation, ObservationColumns, Per
from ttvkit.results._display import Display
from ttvkit.stats import CorrelationResult

__all__ = ["SATISFACTION_SPEEDS", "SatisfactionReport", "SpeedGroup"]

SATISFACTION_SPEEDS = (Speed.IMMEDIATE, Speed.SHORT, Speed.LONG, Speed.NOT_YET)
"""The speed classes a satisfaction report groups scores by, in its order."""


def to_speed(value: Speed | str) -> Speed:
    """*value* as a :class:`~ttvkit.Speed`; its string value (``"not_yet"``) is accepted."""
    if isinstance(value, Speed):
        return value
    try:
        return Speed(value)
    except ValueError:
        raise InvalidArgumentError(
            f"speed class {value!r}: use a ttvkit.Speed or one of "
            f"{', '.join(repr(s.value) for s in Speed)}"
        ) from None


@attrs.frozen
class SpeedGroup:
    """Satisfaction scores of the customers in one speed class.

    ``speed`` is a :class:`~ttvkit.Speed`; its string value (``"not_yet"``) is
    accepted too, and a Speed equals its value.
    """

    speed: Speed = attrs.field(converter=to_speed)
    scores: tuple[float, ...] = attrs.field(repr=False)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        if not self.scores:
            return None
        n = len(self.scores)
        try:
            return math.fsum(self.scores) / n
        except OverflowError:  # scores near the float range: their sum is past it
            return math.fsum(score / n for score in self.scores)

    @property
    def median(self) -> float | None:
        if not self.scores:
            return None
        ordered = sorted(self.scores)
        mid = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[mid]
        low, high = ordered[mid - 1], ordered[mid]
        middle = (low + high) / 2
        # Past the float range only when both are near it: halve them first then.
        return middle if math.isfinite(middle) else low / 2 + high / 2

    @property
    def counts(self) -> dict[float, int]:
        """How many customers gave each score."""
        out: dict[float, int] = {}
        for s in sorted(self.scores):
            out[s] = out.get(s, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "speed": self.speed.value,
            "n": self.n,
            "mean": self.mean,
            "median": self.median,
            "counts": {str(k): v for k, v in self.counts.items()},
        }


@attrs.frozen
class SatisfactionReport(Display):
    """Whether fast value goes with happy customers."""

    kind: ClassVar[str] = "satisfaction"

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

    def group(self, speed: Speed | str) -> SpeedGroup:
        """The group of this speed class (a :class:`~ttvkit.Speed` or its value)."""
        for g in self.groups:
            if g.speed == speed:
                return g
        raise InvalidArgumentError(
            f"no speed class {speed!r}; they are {[g.speed.value for g in self.groups]}"
        )

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

    # --- the view: what str(), HTML and reports show, in words

    def table(self) -> Table:
        """Score per speed class."""
        rows = [
            [
                g.speed.value,
                str(g.n),
                "-" if g.mean is None else format_score(g.mean),
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
