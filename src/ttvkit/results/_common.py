"""What several result families share: group labels, checked arguments, renamed names."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeAlias

from ttvkit.errors import InvalidArgumentError
from ttvkit.events import JSONScalar
from ttvkit.observations import Observation
from ttvkit.stats import SurvivalCurve

__all__ = [
    "GroupLabel",
    "check_q",
    "checked_seconds",
    "durations_and_flags",
    "share_within",
    "warn_renamed",
]

GroupLabel: TypeAlias = JSONScalar
"""A group's label in a comparison: the value of the ``by`` property or condition."""


def check_q(q: float) -> float:
    """*q* as a float, or an error unless it is a share strictly between 0 and 1."""
    if not isinstance(q, int | float) or isinstance(q, bool) or not 0 < q < 1:
        raise InvalidArgumentError(f"percentile q={q!r}: must be a share strictly between 0 and 1")
    return float(q)


def checked_seconds(value: timedelta, what: str) -> float:
    """*value* in seconds, or an error naming *what* unless it is a timedelta >= 0."""
    if not isinstance(value, timedelta):
        raise InvalidArgumentError(f"{what}({value!r}): pass a datetime.timedelta")
    if value < timedelta(0):
        raise InvalidArgumentError(f"{what}({value}): must not be negative")
    return value.total_seconds()


def share_within(curve: SurvivalCurve, t: float) -> float | None:
    """1 - S(t), or ``None`` past the last observed time while S is above 0."""
    if curve.times and t > curve.times[-1] and curve.survival[-1] > 0.0:
        return None
    return curve.reached_within(t)


def durations_and_flags(rows: Sequence[Observation]) -> tuple[list[float], list[bool]]:
    """The (seconds, observed) pairs ``ttvkit.stats`` takes."""
    return [o.duration.total_seconds() for o in rows], [o.observed for o in rows]


def warn_renamed(old: str, new: str) -> None:
    """Warn that the public name *old* is now *new* (the caller's caller is to blame)."""
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)
