"""A Kaplan–Meier curve's confidence bands: Greenwood's (or the robust) variance on
the log-log or linear scale, whole or searched only as far as a quantile needs."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from itertools import accumulate, compress, islice, repeat
from operator import add, le, mul, neg, truediv
from statistics import NormalDist
from typing import TYPE_CHECKING

from ttvkit.stats._lifetable import at_risk_per_time

if TYPE_CHECKING:
    from ttvkit.stats._km import ConfidenceMethod, SurvivalCurve

# exp(700) is near the top of the float range; S ** exp(700) is 0 for every
# S < 1 that a float can hold, so larger exponents need not be computed.
_MAX_EXPONENT = 700.0


def confidence_bands(
    at_risk: Sequence[float],
    reached: Sequence[float],
    survival: Sequence[float],
    alpha: float,
    ci: ConfidenceMethod,
    squared_weights: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    rows: Sequence[int] | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The lower and upper confidence bands of a Kaplan–Meier curve, per time.

    With *rows* (increasing positions), the bands at those rows only: the
    variance is added up as far as the last of them, and the band computed
    at them alone, with the same operations in the same order as for every
    row, so each value is the one the whole band holds, bit for bit.
    """
    # S never increases, so the rows split into three runs: S = 1 (nobody has
    # reached yet), 0 < S < 1, and S = 0 (everyone left at risk reached).
    # Where S is 1 or 0 the band is (S, S).
    first_below_one = bisect.bisect_right(survival, -1.0, key=neg)
    first_zero = bisect.bisect_left(survival, 0.0, key=neg)
    if rows is None:
        ones, zeros, added_up_to = first_below_one, len(survival) - first_zero, first_zero
    else:
        ones = bisect.bisect_left(rows, first_below_one)
        inside_end = bisect.bisect_left(rows, first_zero)
        zeros = len(rows) - inside_end
        inside = rows[ones:inside_end]
        added_up_to = inside[-1] + 1 if inside else first_below_one

    # Greenwood: sigma² = Σ d / (n (n - d)). Before S reaches 0, n > d on
    # every row; dividing by n first keeps n (n - d) from overflowing.
    terms = greenwood_terms(at_risk, reached, added_up_to)
    if squared_weights is None:
        added_up = list(accumulate(terms))
    else:
        added_up = _robust_variance(at_risk, reached, terms, squared_weights)
    if rows is None:
        variance = added_up[first_below_one:]
        between: Sequence[float] = survival[first_below_one:first_zero]
    else:
        variance = list(map(added_up.__getitem__, inside))
        between = list(map(survival.__getitem__, inside))
    z = _z(alpha)
    bands = _log_log_bands if ci == "log-log" else _linear_bands
    lower, upper = bands(between, variance, z)
    before, after = (1.0,) * ones, (0.0,) * zeros
    return (*before, *lower, *after), (*before, *upper, *after)


def _z(alpha: float) -> float:
    """The standard normal quantile the bands of a ``1 - alpha`` interval reach out to."""
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def greenwood_terms(
    at_risk: Sequence[float], reached: Sequence[float], rows: int, start: int = 0
) -> list[float]:
    """Greenwood's terms d / (n (n - d)) of rows *start* to *rows*, where n > d.

    The one place Greenwood's formula is written: the bands add them up per
    time, :meth:`SurvivalCurve.greenwood_variance` up to one time. Dividing
    by n first keeps n (n - d) from overflowing.
    """
    return [d / n / (n - d) for n, d in zip(at_risk[start:rows], reached[start:rows], strict=True)]


class BandSearch:
    """Where a Greenwood band first falls to a level, computing only the rows it must.

    A quantile's interval needs the first row of each band at or below the
    level, not the whole bands: the variance is added up and the band
    computed chunk by chunk (doubling), with the same operations in the same
    order as :func:`confidence_bands`, so every value looked at is the one
    the full band holds, bit for bit. The lower band is searched from the
    first row below S = 1. The upper band is never below S, so it is
    searched from the first row whose S is at most the level (with a margin
    far above a rounding error of ``pow``): every row before has a band
    above the level. Rows from the first S = 0 have the band 0.
    """

    #: Rows of the first chunk; each next chunk is twice as long.
    FIRST_CHUNK = 256

    def __init__(self, curve: SurvivalCurve) -> None:
        self._curve = curve
        survival = curve.survival
        self._first_below_one = bisect.bisect_right(survival, -1.0, key=neg)
        self._first_zero = bisect.bisect_left(survival, 0.0, key=neg)
        self._z = _z(curve.alpha)
        #: Greenwood's variance (without S²) of the rows so far, added up from row 0.
        self._variance: list[float] = []

    def interval(self, level: float) -> tuple[float, float]:
        """The first times at which the lower and the upper band are at most *level*."""
        survival = self._curve.survival
        # Rows before this one have S above the level by more than pow's rounding error.
        candidates = bisect.bisect_left(survival, -(level + 1e-12), key=neg)
        return (
            self._first_time(self._first_below_one, level, lower=True),
            self._first_time(max(candidates, self._first_below_one), level, lower=False),
        )

    def _first_time(self, start: int, level: float, *, lower: bool) -> float:
        stop = self._first_zero
        size = self.FIRST_CHUNK
        while start < stop:
            end = min(stop, start + size)
            band = self._band(start, end, lower=lower)
            hits = compress(range(start, end), map(le, band, repeat(level)))
            hit = next(hits, None)
            if hit is not None:
                return self._curve.times[hit]
            start, size = end, size * 2
        times = self._curve.times
        return times[stop] if stop < len(times) else math.inf

    def _band(self, start: int, end: int, *, lower: bool) -> list[float]:
        """One band on rows *start* to *end* (all with 0 < S < 1)."""
        survival = self._curve.survival[start:end]
        variance = self._variance_to(end)[start:end]
        if self._curve.ci == "log-log":
            exponents = _log_log_exponents(survival, variance, self._z)
            if lower:
                return _log_log_lower(survival, exponents)
            return _log_log_upper(survival, exponents)
        half_width = _linear_half_width(survival, variance, self._z)
        return _linear_lower(survival, half_width) if lower else _linear_upper(survival, half_width)

    def _variance_to(self, end: int) -> list[float]:
        """The added-up variance of rows 0 to *end* at least, extended as far as needed."""
        variance = self._variance
        done = len(variance)
        if done < end:
            curve = self._curve
            terms = greenwood_terms(curve.at_risk, curve.reached, end, done)
            # Carried on from the last sum: the same additions, in the same order,
            # as adding up every term at once.
            sums = accumulate(terms, initial=variance[-1]) if done else accumulate(terms)
            variance.extend(islice(sums, 1, None) if done else sums)
        return variance


def _robust_variance(
    at_risk: Sequence[float],
    reached: Sequence[float],
    terms: Sequence[float],
    squared_weights: tuple[tuple[float, ...], tuple[float, ...]],
) -> list[float]:
    """Var(log S) by the infinitesimal jackknife, per time before S reaches 0.

    Customer i (time T, weight w) moves log S(t) by U = H(t) while still at
    risk (t < T), and by H(T) - [reached] / (n(T) - d(T)) from T on, where
    H(t) = Σ d / (n (n - d)) over reaching times <= t (Greenwood's terms).
    The variance is Σ (w U)², added up per time: H(t)² times the squared
    weights still at risk after t, plus each earlier time's constant terms.
    Multiplying every weight by c scales U by 1/c and w² by c²: the band does
    not move. R: ``survfit(Surv(t, s) ~ 1, weights = w, robust = TRUE)``.
    """
    rows = len(terms)
    h = list(accumulate(terms))
    reached_sq, censored_sq = squared_weights
    still_at_risk = at_risk_per_time(list(map(add, reached_sq, censored_sq)))
    out = []
    settled = 0.0
    for k in range(rows):
        after_reaching = h[k] - 1.0 / (at_risk[k] - reached[k])
        settled += reached_sq[k] * after_reaching * after_reaching + censored_sq[k] * h[k] * h[k]
        later = still_at_risk[k + 1] if k + 1 < len(still_at_risk) else 0.0
        out.append(h[k] * h[k] * later + settled)
    return out


def _log_log_bands(
    survival: Sequence[float], variance: Sequence[float], z: float
) -> tuple[list[float], list[float]]:
    """The log-log bands where 0 < S < 1.

    exp(-exp(log(-log S) ∓ z σ / log S)) equals S ** exp(∓θ) with
    θ = z σ / log S (negative): one ``pow`` instead of four transcendental
    calls, and the lower bound cannot round above S.
    """
    exponents = _log_log_exponents(survival, variance, z)
    return _log_log_lower(survival, exponents), _log_log_upper(survival, exponents)


def _log_log_exponents(
    survival: Sequence[float], variance: Sequence[float], z: float
) -> list[float]:
    """exp(θ) per row, θ = z σ / log S: the upper band is S ** exp(θ), the lower S ** exp(-θ)."""
    theta = list(
        map(truediv, map(mul, repeat(z), map(math.sqrt, variance)), map(math.log, survival))
    )
    if theta and min(theta) < -_MAX_EXPONENT:
        # Only tiny weights make θ this negative. The lower bound is 0 and the
        # upper bound 1 there anyway, and exp(-θ) would overflow.
        theta = [max(value, -_MAX_EXPONENT) for value in theta]
    return list(map(math.exp, theta))


def _log_log_lower(survival: Sequence[float], exponents: Sequence[float]) -> list[float]:
    return list(map(pow, survival, map(truediv, repeat(1.0), exponents)))


def _log_log_upper(survival: Sequence[float], exponents: Sequence[float]) -> list[float]:
    return list(map(pow, survival, exponents))


def _linear_bands(
    survival: Sequence[float], variance: Sequence[float], z: float
) -> tuple[list[float], list[float]]:
    """The linear bands S ∓ z S σ, clipped to [0, 1], where 0 < S < 1."""
    half_width = _linear_half_width(survival, variance, z)
    return _linear_lower(survival, half_width), _linear_upper(survival, half_width)


def _linear_half_width(
    survival: Sequence[float], variance: Sequence[float], z: float
) -> list[float]:
    return list(map(mul, map(mul, repeat(z), survival), map(math.sqrt, variance)))


def _linear_lower(survival: Sequence[float], half_width: Sequence[float]) -> list[float]:
    return [s - h if s > h else 0.0 for s, h in zip(survival, half_width, strict=True)]


def _linear_upper(survival: Sequence[float], half_width: Sequence[float]) -> list[float]:
    return [s + h if s + h < 1.0 else 1.0 for s, h in zip(survival, half_width, strict=True)]


def first_time_at_or_below(times: Sequence[float], band: Sequence[float], level: float) -> float:
    """The first time whose band value is at most ``level``, or ``math.inf``.

    Bands need not be monotone, so this scans instead of bisecting.
    """
    return next(compress(times, map(le, band, repeat(level))), math.inf)
