"""Comparing curves and tests: the difference of two medians (MOVER), Holm's adjustment."""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from ttvkit.errors import InvalidStatisticsInputError
from ttvkit.stats._checks import as_list, check_alpha, finite_floats, first_position
from ttvkit.stats._km import SurvivalCurve


def median_difference_ci(
    curve: SurvivalCurve, reference: SurvivalCurve, *, alpha: float = 0.05
) -> tuple[float, float]:
    """A confidence interval for ``curve.median - reference.median``.

    MOVER, the method of variance estimates recovery (Zou and Donner,
    2008): each median's own ``1 - alpha`` interval (:meth:`SurvivalCurve.quantile_ci`
    at 0.5, the Brookmeyer–Crowley-type interval of ``docs/statistics.md``)
    gives the spread of that median below and above its estimate, and the
    difference's interval is

        (Δ - √((m₁ - l₁)² + (u₂ - m₂)²),  Δ + √((u₁ - m₁)² + (m₂ - l₂)²))

    with Δ = m₁ - m₂. No resampling: the cost is that of the two curves'
    bands, and the answer is the same on every run. An end is ``-inf`` or
    ``inf`` where it is unbounded: when a median is never reached, or when
    a median's own interval is open on the side that end depends on.

    >>> fast = kaplan_meier(range(1, 41), [True] * 40)
    >>> slow = kaplan_meier(range(2, 81, 2), [True] * 40)
    >>> low, high = median_difference_ci(fast, slow)
    >>> round(low, 3), fast.median - slow.median, round(high, 3)
    (-33.416, -20.0, -6.584)
    """
    if not isinstance(curve, SurvivalCurve) or not isinstance(reference, SurvivalCurve):
        raise InvalidStatisticsInputError(
            "median_difference_ci compares two SurvivalCurve objects; fit them with "
            "kaplan_meier() or kaplan_meier_counts()"
        )
    check_alpha(alpha)
    m1, m2 = curve.median, reference.median
    if math.isinf(m1) or math.isinf(m2):
        return (-math.inf, math.inf)
    l1, u1 = _median_interval(curve, alpha)
    l2, u2 = _median_interval(reference, alpha)
    difference = m1 - m2
    return (
        difference - math.hypot(m1 - l1, u2 - m2),
        difference + math.hypot(u1 - m1, m2 - l2),
    )


def _median_interval(curve: SurvivalCurve, alpha: float) -> tuple[float, float]:
    """The median's interval at ``alpha``, refitting the bands only if the curve's differ."""
    if alpha != curve.alpha:
        curve = attrs.evolve(curve, alpha=alpha)
    return curve.median_ci


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of *p_values*, in their order: it controls the
    family-wise error rate when several hypotheses are tested at once.

    The k-th smallest p-value (from 0) is multiplied by ``m - k`` (``m`` tests),
    capped at 1, and never adjusted below the one before it.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    values = finite_floats(as_list(p_values, "p_values"), "p_values")
    if values and not 0.0 <= min(values) <= max(values) <= 1.0:
        position = first_position(values, lambda p: not 0.0 <= p <= 1.0)
        raise InvalidStatisticsInputError(
            f"p_values[{position}] is {values[position]!r}; p-values lie between 0 and 1"
        )
    order = sorted(range(len(values)), key=values.__getitem__)
    adjusted = [0.0] * len(values)
    running = 0.0
    m = len(values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * values[i]))
        adjusted[i] = running
    return adjusted
