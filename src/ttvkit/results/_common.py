"""What several result families share: group labels, checked arguments, renamed names."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeAlias

from ttvkit.errors import InvalidArgumentError
from ttvkit.events import JSONScalar
from ttvkit.observations import Observation
from ttvkit.stats import SurvivalCurve

__all__ = [
    "GroupLabel",
    "check_q",
    "checked_seconds",
    "curve_dict",
    "curve_rows_limit",
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


_CURVE_ROWS: ContextVar[int | None] = ContextVar("ttvkit_curve_rows", default=None)


@contextlib.contextmanager
def curve_rows_limit(max_rows: int | None) -> Iterator[None]:
    """Within the block, ``to_dict()`` of every result gives each curve in at most *max_rows* rows.

    The rows kept are those of :meth:`~ttvkit.stats.SurvivalCurve.drawn_rows`
    (enough to draw the curve within 1/(max_rows - 2)); ``rows_total`` says
    how many the curve has. ``None``: every row (the default outside such a
    block). A report's ``to_dict()`` (and so its JSON) uses 1,000: a curve
    of a million customers would otherwise take hundreds of megabytes::

        with curve_rows_limit(200):
            small = comparison.to_dict()
    """
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 3
    ):
        raise InvalidArgumentError(
            f"a curve's rows limited to {max_rows!r}: pass a whole number of rows of at "
            "least 3, or None for every row"
        )
    token = _CURVE_ROWS.set(max_rows)
    try:
        yield
    finally:
        _CURVE_ROWS.reset(token)


def curve_dict(curve: SurvivalCurve) -> dict[str, Any]:
    """*curve*'s ``to_dict()``, in at most the rows :func:`curve_rows_limit` allows."""
    return curve.to_dict(max_rows=_CURVE_ROWS.get())
