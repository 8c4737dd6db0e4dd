"""Spearman's rank correlation, with the p-value of the t approximation."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ttvkit.errors import InvalidStatisticsInputError
from ttvkit.stats._checks import as_list, finite_floats
from ttvkit.stats._special import t_sf


@attrs.frozen
class CorrelationResult:
    """The outcome of :func:`spearman`."""

    rho: float
    """Spearman's rank correlation, in [-1, 1]."""
    p_value: float
    """Two-sided p-value of the t approximation with n - 2 degrees of freedom."""
    n: int
    """Pairs used."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready values."""
        return {"rho": self.rho, "p_value": self.p_value, "n": self.n}


def _average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing the average of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        shared = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = shared
        i = j + 1
    return ranks


def spearman(x: Iterable[float], y: Iterable[float]) -> CorrelationResult:
    """Spearman's rank correlation between *x* and *y*, ties ranked by their average.

    The p-value is two-sided, from Student's t with n - 2 degrees of freedom
    applied to ``rho * sqrt((n - 2) / (1 - rho**2))`` — the same
    approximation as ``scipy.stats.spearmanr``. Needs at least three pairs
    and some variation in both variables.
    """
    xs = finite_floats(as_list(x, "x"), "x")
    ys = finite_floats(as_list(y, "y"), "y")
    if len(xs) != len(ys):
        raise InvalidStatisticsInputError(
            f"x has {len(xs)} values and y has {len(ys)}; pass the same length (one pair each)"
        )
    n = len(xs)
    if n < 3:
        raise InvalidStatisticsInputError(
            f"spearman needs at least 3 pairs, got {n}; a correlation of fewer means nothing"
        )
    rx, ry = _average_ranks(xs), _average_ranks(ys)
    mean = (n + 1) / 2
    dx = [r - mean for r in rx]
    dy = [r - mean for r in ry]
    sxx = math.fsum(d * d for d in dx)
    syy = math.fsum(d * d for d in dy)
    if sxx == 0 or syy == 0:
        raise InvalidStatisticsInputError(
            "spearman: one of the variables is constant, so it has no ranks to correlate"
        )
    rho = math.fsum(a * b for a, b in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)
    rho = max(-1.0, min(1.0, rho))
    dof = n - 2
    if abs(rho) == 1.0:
        p = 0.0
    else:
        t = rho * math.sqrt(dof / ((1.0 - rho) * (1.0 + rho)))
        p = min(1.0, 2.0 * t_sf(abs(t), dof))
    return CorrelationResult(rho, p, n)
