"""The statistics behind every TTV number: Kaplan–Meier, the log-rank test, chi-square tails.

Pure Python and the standard library only; the rules are those of
``docs/statistics.md``. Durations here are plain floats (seconds, or any
other unit), never ``timedelta``: this module knows nothing about events.

- :func:`kaplan_meier` estimates the share of customers still on the way at
  each time (a :class:`SurvivalCurve` of :class:`SurvivalRow`), with Greenwood
  confidence bands, quantiles (the median TTV) and the restricted mean TTV.
- :func:`logrank_test` asks whether two or more groups reach the milestone
  at the same pace (a :class:`LogRankResult`).
- :func:`chi2_sf` is the chi-square tail probability the test needs.

Weighted counts stay real numbers (never truncated) and the log-rank test
computes in floating point (never overflows). Kaplan–Meier works on whole
columns with C-level passes (``sorted``, ``map``, ``itertools``, ``bisect``)
rather than a Python object per customer, and computes its confidence bands
only when asked: fitting a million durations and reading the median takes
about as long as lifelines' fit.
"""

from __future__ import annotations

import bisect
import functools
import math
import numbers
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import accumulate, compress, islice, repeat
from operator import eq, le, lt, mul, ne, neg, not_, sub, truediv
from statistics import NormalDist
from typing import Any, Literal, NamedTuple, TypeVar

import attrs

from ttvkit.errors import InvalidStatisticsInputError

__all__ = [
    "CorrelationResult",
    "LogRankResult",
    "SurvivalCurve",
    "SurvivalRow",
    "chi2_sf",
    "kaplan_meier",
    "logrank_test",
    "spearman",
    "t_sf",
]

ConfidenceMethod = Literal["log-log", "linear"]

_CONFIDENCE_METHODS: tuple[ConfidenceMethod, ...] = ("log-log", "linear")

# Survival values within this of 1 - q count as reaching it: products such as
# 5/6 * 4/5 * 3/4 come out as 0.5000000000000001 and must give the median.
_SURVIVAL_TOLERANCE = 1e-9

# exp(700) is near the top of the float range; S ** exp(700) is 0 for every
# S < 1 that a float can hold, so larger exponents need not be computed.
_MAX_EXPONENT = 700.0

_T = TypeVar("_T")


# --- results ----------------------------------------------------------------


class SurvivalRow(NamedTuple):
    """One distinct observed time of a :class:`SurvivalCurve`.

    ``at_risk``, ``reached`` and ``censored`` are counts (``int``) without
    weights and weighted sums (``float``) with them.
    """

    time: float
    """The duration this row describes."""
    at_risk: float
    """Customers with a duration of at least ``time`` (n)."""
    reached: float
    """Customers who reached the milestone at exactly ``time`` (d)."""
    censored: float
    """Customers still on the way whose observation ended at ``time``."""
    survival: float
    """S(time): the share not yet reached, this row's reaching included."""
    lower: float
    """Lower confidence bound of ``survival``."""
    upper: float
    """Upper confidence bound of ``survival``."""


@attrs.frozen
class SurvivalCurve:
    """A Kaplan–Meier estimate, as returned by :func:`kaplan_meier`.

    The curve is stored as columns, one entry per distinct observed time
    (times at which someone reached *and* times at which someone was only
    censored), in increasing order. The curve starts at (0, 1), but that
    starting point is not a row: :meth:`survival_at` returns 1.0 before the
    first time. At censoring-only times the survival and its bounds repeat
    the previous values.

    The confidence bands and :attr:`rows` are computed on first use: a
    curve asked only for its median or survival never pays for them.
    """

    times: tuple[float, ...] = attrs.field(repr=False)
    """The distinct observed durations, increasing."""
    at_risk: tuple[float, ...] = attrs.field(repr=False)
    """n per time: customers with a duration of at least that time."""
    reached: tuple[float, ...] = attrs.field(repr=False)
    """d per time: customers who reached the milestone at exactly that time."""
    censored: tuple[float, ...] = attrs.field(repr=False)
    """Customers still on the way whose observation ended at that time."""
    survival: tuple[float, ...] = attrs.field(repr=False)
    """S per time: the share not yet reached, that time's reaching included."""
    alpha: float
    """The confidence bands cover 1 - alpha."""
    ci: ConfidenceMethod
    """How the bands are computed: ``"log-log"`` or ``"linear"``."""
    n: float
    """Customers observed (their total weight, with weights)."""
    n_reached: float
    """Customers who reached the milestone (their total weight, with weights)."""
    n_censored: float
    """Customers still on the way (their total weight, with weights)."""

    @property
    def lower(self) -> tuple[float, ...]:
        """The lower confidence band, per time."""
        return self._bands[0]

    @property
    def upper(self) -> tuple[float, ...]:
        """The upper confidence band, per time."""
        return self._bands[1]

    @functools.cached_property
    def _bands(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return _confidence_bands(self.at_risk, self.reached, self.survival, self.alpha, self.ci)

    @functools.cached_property
    def rows(self) -> tuple[SurvivalRow, ...]:
        """The curve as one :class:`SurvivalRow` per distinct time."""
        return tuple(
            map(
                SurvivalRow,
                self.times,
                self.at_risk,
                self.reached,
                self.censored,
                self.survival,
                self.lower,
                self.upper,
            )
        )

    def survival_at(self, t: float) -> float:
        """S(t), the share not yet reached at ``t``; reaching at exactly ``t`` counts."""
        _check_number(t, "t")
        rows_at_or_before = bisect.bisect_right(self.times, t)
        if rows_at_or_before == 0:
            return 1.0
        return self.survival[rows_at_or_before - 1]

    def reached_within(self, t: float) -> float:
        """The share that has reached the milestone by ``t``: 1 - S(t)."""
        return 1.0 - self.survival_at(t)

    def quantile(self, q: float) -> float:
        """The time by which a share ``q`` has reached the milestone.

        That is the smallest observed time t with S(t) <= 1 - q (within 1e-9),
        or ``math.inf`` if the curve never falls that far.
        """
        threshold = _survival_threshold(q)
        # S never increases, so -S is sorted and the first row at or below
        # the threshold can be found by bisection.
        first = bisect.bisect_left(self.survival, -threshold, key=neg)
        return self.times[first] if first < len(self.times) else math.inf

    def quantile_ci(self, q: float) -> tuple[float, float]:
        """The confidence interval of :meth:`quantile`.

        The same rule applied to the bands: the lower band falls first, so it
        gives the lower bound, and the upper band gives the upper bound.
        """
        threshold = _survival_threshold(q)
        return (
            _first_time_at_or_below(self.times, self.lower, threshold),
            _first_time_at_or_below(self.times, self.upper, threshold),
        )

    @property
    def median(self) -> float:
        """The median TTV: :meth:`quantile` at 0.5 (``math.inf`` if not reached)."""
        return self.quantile(0.5)

    @property
    def median_ci(self) -> tuple[float, float]:
        """The confidence interval of :attr:`median`: :meth:`quantile_ci` at 0.5."""
        return self.quantile_ci(0.5)

    def rmst(self, tau: float) -> float:
        """The restricted mean TTV up to ``tau``: the area under S from 0 to ``tau``.

        S is a step function, 1 before the first time and held flat after the
        last one. ``tau`` must be finite and not negative.
        """
        _check_number(tau, "tau")
        if not 0.0 <= tau < math.inf:
            raise InvalidStatisticsInputError(
                f"tau is {tau!r}; the restricted mean needs a finite horizon of 0 or more"
            )
        rows_at_or_before = bisect.bisect_right(self.times, tau)
        edges = [0.0, *self.times[:rows_at_or_before], tau]
        heights = [1.0, *self.survival[:rows_at_or_before]]
        return math.fsum(map(mul, heights, map(sub, edges[1:], edges)))

    def to_dict(self) -> dict[str, Any]:
        """The curve as plain JSON-ready values; an unreached median is ``None``."""
        median_low, median_high = self.median_ci
        return {
            "alpha": self.alpha,
            "ci": self.ci,
            "n": self.n,
            "n_reached": self.n_reached,
            "n_censored": self.n_censored,
            "median": _finite_or_none(self.median),
            "median_ci": [_finite_or_none(median_low), _finite_or_none(median_high)],
            "rows": [row._asdict() for row in self.rows],
        }


@attrs.frozen
class LogRankResult:
    """The outcome of :func:`logrank_test`."""

    statistic: float
    """The chi-square statistic Z'V⁻¹Z."""
    dof: int
    """Degrees of freedom: the number of groups minus one."""
    p_value: float
    """The chance of a statistic at least this large if all groups share one curve."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready values."""
        return {"statistic": self.statistic, "dof": self.dof, "p_value": self.p_value}


# --- Kaplan–Meier -----------------------------------------------------------


def kaplan_meier(
    durations: Iterable[float],
    observed: Iterable[bool],
    *,
    weights: Iterable[float] | None = None,
    alpha: float = 0.05,
    ci: ConfidenceMethod = "log-log",
) -> SurvivalCurve:
    """Estimate the share of customers still on the way to the milestone at each time.

    ``durations`` are finite and not negative; ``observed`` says, per
    duration, whether the milestone was reached (``True``) or the customer
    is still on the way (``False``, censored). Optional ``weights`` are
    positive and may be fractional; at-risk and reached counts are then
    weighted sums and are not rounded. The bands cover ``1 - alpha`` and are
    computed on the ``"log-log"`` scale (the default) or ``"linear"`` scale.

    >>> curve = kaplan_meier([1, 2, 2, 3], [True, True, False, True])
    >>> curve.survival
    (0.75, 0.5, 0.0)
    >>> curve.median
    2.0
    """
    values = _durations(durations)
    flags = _observed(observed, len(values))
    _check_alpha(alpha)
    if ci not in _CONFIDENCE_METHODS:
        raise InvalidStatisticsInputError(f"ci is {ci!r}; use 'log-log' or 'linear'")
    if weights is None:
        table = _life_table(values, flags)
        n_reached, n_censored = sum(table.reached), sum(table.censored)
    else:
        table = _weighted_life_table(values, flags, _weights(weights, len(values)))
        n_reached, n_censored = math.fsum(table.reached), math.fsum(table.censored)

    survival = accumulate(
        [(n - d) / n for n, d in zip(table.at_risk, table.reached, strict=True)], mul
    )
    return SurvivalCurve(
        times=tuple(table.times),
        at_risk=tuple(table.at_risk),
        reached=tuple(table.reached),
        censored=tuple(table.censored),
        survival=tuple(survival),
        alpha=alpha,
        ci=ci,
        n=table.at_risk[0],
        n_reached=n_reached,
        n_censored=n_censored,
    )


class _LifeTable(NamedTuple):
    """Per distinct time, in increasing order: n, d and the censored count."""

    times: Sequence[float]
    at_risk: Sequence[float]
    reached: Sequence[float]
    censored: Sequence[float]


# The life tables are built from whole columns with C-level passes (sort,
# map, accumulate, compress) and a few comprehensions, never with an object
# or a Python loop step per customer: on a million durations, that is the
# difference between matching lifelines' speed and being several times slower.


def _life_table(values: list[float], flags: list[int]) -> _LifeTable:
    """Count n, d and censorings per distinct time, without weights."""
    size = len(values)
    # Sort the reached and the censored durations apart, then merge the two
    # sorted runs (timsort merges runs in linear time). This beats sorting
    # indices by duration and gathering values and flags by a shuffled index,
    # which misses the cache on every row. Reached durations come first in
    # `both`, so merged positions below `reached_count` are the reached ones.
    reached_sorted = sorted(compress(values, flags))
    both = reached_sorted + sorted(compress(values, map(not_, flags)))
    reached_count = len(reached_sorted)
    merge_order = sorted(range(size), key=both.__getitem__)
    sorted_flags = [1 if position < reached_count else 0 for position in merge_order]
    sorted_values = sorted(both)  # a stable sort: the same order as merge_order, faster

    if all(map(lt, sorted_values, islice(sorted_values, 1, None))):
        # No ties, as with durations measured to the microsecond: one row per customer.
        return _LifeTable(
            times=sorted_values,
            at_risk=range(size, 0, -1),
            reached=sorted_flags,
            censored=[1 - flag for flag in sorted_flags],
        )

    starts = _run_starts(sorted_values)
    ends = [*starts[1:], size]
    reached_before = list(accumulate(sorted_flags, initial=0))
    reached = [
        reached_before[end] - reached_before[start] for start, end in zip(starts, ends, strict=True)
    ]
    return _LifeTable(
        times=list(map(sorted_values.__getitem__, starts)),
        # Everyone from the first duration equal to t onwards is at risk at t.
        at_risk=[size - start for start in starts],
        reached=reached,
        censored=[end - start - d for start, end, d in zip(starts, ends, reached, strict=True)],
    )


def _weighted_life_table(values: list[float], flags: list[int], weights: list[float]) -> _LifeTable:
    """Sum the weights of those at risk, reached and censored per distinct time.

    n at t is the sum of everything removed at t or later, added from the
    last time backwards: subtracting from the total instead would lose the
    small at-risk weights at late times to rounding.
    """
    size = len(values)
    order = sorted(range(size), key=values.__getitem__)
    sorted_values = list(map(values.__getitem__, order))
    sorted_weights = list(map(weights.__getitem__, order))
    reached_weights = list(map(mul, sorted_weights, map(flags.__getitem__, order)))
    censored_weights = list(map(sub, sorted_weights, reached_weights))
    starts = _run_starts(sorted_values)
    if len(starts) == size:
        times, removed = sorted_values, sorted_weights
        reached, censored = reached_weights, censored_weights
    else:
        ends = [*starts[1:], size]
        times = list(map(sorted_values.__getitem__, starts))
        reached = [math.fsum(reached_weights[s:e]) for s, e in zip(starts, ends, strict=True)]
        censored = [math.fsum(censored_weights[s:e]) for s, e in zip(starts, ends, strict=True)]
        removed = list(map(float.__add__, reached, censored))
    at_risk = list(accumulate(reversed(removed)))
    at_risk.reverse()
    return _LifeTable(times, at_risk, reached, censored)


def _run_starts(sorted_values: list[float]) -> list[int]:
    """The index at which each run of equal values in a sorted list starts."""
    # Index i + 1 starts a new run wherever value i differs from value i + 1.
    changes = map(ne, sorted_values, islice(sorted_values, 1, None))
    return [0, *compress(range(1, len(sorted_values)), changes)]


def _confidence_bands(
    at_risk: Sequence[float],
    reached: Sequence[float],
    survival: Sequence[float],
    alpha: float,
    ci: ConfidenceMethod,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The lower and upper confidence bands of a Kaplan–Meier curve, per time."""
    # S never increases, so the rows split into three runs: S = 1 (nobody has
    # reached yet), 0 < S < 1, and S = 0 (everyone left at risk reached).
    # Where S is 1 or 0 the band is (S, S).
    first_below_one = bisect.bisect_right(survival, -1.0, key=neg)
    first_zero = bisect.bisect_left(survival, 0.0, key=neg)

    # Greenwood: sigma² = Σ d / (n (n - d)). Before S reaches 0, n > d on
    # every row; dividing by n first keeps n (n - d) from overflowing.
    terms = [
        d / n / (n - d) for n, d in zip(at_risk[:first_zero], reached[:first_zero], strict=True)
    ]
    variance = list(accumulate(terms))[first_below_one:]
    between = survival[first_below_one:first_zero]
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    bands = _log_log_bands if ci == "log-log" else _linear_bands
    lower, upper = bands(between, variance, z)

    ones = (1.0,) * first_below_one
    zeros = (0.0,) * (len(survival) - first_zero)
    return (*ones, *lower, *zeros), (*ones, *upper, *zeros)


def _log_log_bands(
    survival: Sequence[float], variance: Sequence[float], z: float
) -> tuple[list[float], list[float]]:
    """The log-log bands where 0 < S < 1.

    exp(-exp(log(-log S) ∓ z σ / log S)) equals S ** exp(∓θ) with
    θ = z σ / log S (negative): one ``pow`` instead of four transcendental
    calls, and the lower bound cannot round above S.
    """
    theta = list(
        map(truediv, map(mul, repeat(z), map(math.sqrt, variance)), map(math.log, survival))
    )
    if theta and min(theta) < -_MAX_EXPONENT:
        # Only tiny weights make θ this negative. The lower bound is 0 and the
        # upper bound 1 there anyway, and exp(-θ) would overflow.
        theta = [max(value, -_MAX_EXPONENT) for value in theta]
    exponents = list(map(math.exp, theta))
    lower = list(map(pow, survival, map(truediv, repeat(1.0), exponents)))
    upper = list(map(pow, survival, exponents))
    return lower, upper


def _linear_bands(
    survival: Sequence[float], variance: Sequence[float], z: float
) -> tuple[list[float], list[float]]:
    """The linear bands S ∓ z S σ, clipped to [0, 1], where 0 < S < 1."""
    half_width = list(map(mul, map(mul, repeat(z), survival), map(math.sqrt, variance)))
    lower = [s - h if s > h else 0.0 for s, h in zip(survival, half_width, strict=True)]
    upper = [s + h if s + h < 1.0 else 1.0 for s, h in zip(survival, half_width, strict=True)]
    return lower, upper


def _survival_threshold(q: float) -> float:
    """The survival level 1 - q (plus tolerance) at which share q has reached."""
    _check_number(q, "q")
    if not 0.0 < q < 1.0:
        raise InvalidStatisticsInputError(
            f"q is {q!r}; a quantile needs a share strictly between 0 and 1 (0.5 is the median)"
        )
    return 1.0 - q + _SURVIVAL_TOLERANCE


def _first_time_at_or_below(times: Sequence[float], band: Sequence[float], level: float) -> float:
    """The first time whose band value is at most ``level``, or ``math.inf``.

    Bands need not be monotone, so this scans instead of bisecting.
    """
    return next(compress(times, map(le, band, repeat(level))), math.inf)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --- log-rank ---------------------------------------------------------------


def logrank_test(
    durations: Iterable[float],
    observed: Iterable[bool],
    groups: Iterable[Hashable],
) -> LogRankResult:
    """Test whether two or more groups reach the milestone at the same pace.

    ``groups`` gives each duration's group label (any hashable value); at
    least two distinct labels are needed. The statistic is Z'V⁻¹Z over all
    groups but one, with the hypergeometric variance corrected for ties;
    its p-value comes from the chi-square distribution with one degree of
    freedom fewer than there are groups.

    >>> result = logrank_test([1, 2, 3, 4], [True, True, True, True], ["a", "b", "a", "b"])
    >>> result.dof
    1
    """
    values = _durations(durations)
    flags = _observed(observed, len(values))
    labels = _as_list(groups, "groups")
    _check_length(labels, len(values), "groups")
    try:
        index = {label: i for i, label in enumerate(dict.fromkeys(labels))}
    except TypeError:
        position = _first(labels, lambda label: not isinstance(label, Hashable))
        raise InvalidStatisticsInputError(
            f"groups[{position}] is {labels[position]!r}, which cannot label a group; "
            "use hashable labels such as strings or numbers"
        ) from None
    if len(index) < 2:
        raise InvalidStatisticsInputError(
            f"groups has only the label {labels[0]!r}; the log-rank test compares two or "
            "more groups"
        )
    group_of = list(map(index.__getitem__, labels))

    size = len(values)
    order = sorted(range(size), key=values.__getitem__)
    sorted_values = list(map(values.__getitem__, order))
    sorted_flags = list(map(flags.__getitem__, order))
    sorted_groups = list(map(group_of.__getitem__, order))
    starts = _run_starts(sorted_values)
    ends = [*starts[1:], size]

    # Only the times at which someone reached contribute to the statistic.
    reached_before = list(accumulate(sorted_flags, initial=0))
    reached = [
        reached_before[end] - reached_before[start] for start, end in zip(starts, ends, strict=True)
    ]
    event_starts = list(compress(starts, reached))
    if not event_starts:
        raise InvalidStatisticsInputError(
            "every duration is censored, so the groups cannot be compared; the log-rank "
            "test needs at least one reached milestone"
        )
    # Everything in floating point from here on: products such as
    # n_j n_k d (n - d) overflow 64-bit integers on a million tied rows.
    d = [float(count) for count in reached if count]
    n = [float(size - start) for start in event_starts]

    # Per group: how many are at risk at each event time, and how many reached.
    at_risk_in: list[list[float]] = []
    observed_in: list[float] = []
    for group in range(len(index)):
        member = list(map(eq, sorted_groups, repeat(group)))
        members_before = list(accumulate(member, initial=0))
        group_size = members_before[-1]
        at_risk_in.append([float(group_size - members_before[start]) for start in event_starts])
        observed_in.append(float(sum(compress(sorted_flags, member))))

    share_reaching = list(map(truediv, d, n))
    # Hypergeometric variance per event time, with the ties factor
    # (n - d) / (n - 1), which is 1 where only one customer is at risk.
    scale = [
        dt * (nt - dt) / (nt - 1.0) / (nt * nt) if nt > 1.0 else dt / (nt * nt)
        for dt, nt in zip(d, n, strict=True)
    ]
    kept = range(len(index) - 1)  # the last group is implied by the others
    z = [observed_in[j] - math.fsum(map(mul, at_risk_in[j], share_reaching)) for j in kept]
    scaled_at_risk = [list(map(mul, scale, at_risk_in[j])) for j in kept]
    variance = [
        [
            (
                math.fsum(map(mul, scaled_at_risk[j], map(sub, n, at_risk_in[j])))
                if j == k
                else -math.fsum(map(mul, scaled_at_risk[j], at_risk_in[k]))
            )
            for k in kept
        ]
        for j in kept
    ]
    statistic = _quadratic_form_of_inverse(variance, z)
    if statistic is None:
        raise InvalidStatisticsInputError(
            "the groups cannot be compared: a group has nobody at risk at any time a "
            "milestone was reached (its customers all left earlier, or the groups never "
            "overlap in time); drop or merge such groups"
        )
    dof = len(index) - 1
    return LogRankResult(statistic=statistic, dof=dof, p_value=chi2_sf(statistic, dof))


def _quadratic_form_of_inverse(matrix: list[list[float]], vector: list[float]) -> float | None:
    """vector' matrix⁻¹ vector for a symmetric positive semi-definite matrix.

    Cholesky: with matrix = L L', the form is |y|² where L y = vector.
    Returns ``None`` if the matrix is singular (a pivot vanishes relative to
    its diagonal entry), since the form is then not defined.
    """
    size = len(vector)
    lower = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            residual = matrix[i][j] - math.fsum(lower[i][k] * lower[j][k] for k in range(j))
            if i == j:
                if not residual > 1e-10 * matrix[i][i]:
                    return None
                lower[i][i] = math.sqrt(residual)
            else:
                lower[i][j] = residual / lower[j][j]
    y: list[float] = []
    for i in range(size):
        y.append((vector[i] - math.fsum(lower[i][k] * y[k] for k in range(i))) / lower[i][i])
    return math.fsum(component * component for component in y)


# --- chi-square -------------------------------------------------------------


def chi2_sf(x: float, dof: float) -> float:
    """P(X > x) for X chi-square distributed with ``dof`` degrees of freedom.

    Computed as the regularised upper incomplete gamma function Q(dof/2, x/2);
    it agrees with ``scipy.stats.chi2.sf`` to about 1e-12 relative, far tail
    included, for moderate ``dof``.

    >>> round(chi2_sf(3.841458820694124, 1), 12)
    0.05
    """
    _check_number(x, "x")
    _check_number(dof, "dof")
    if not 0.0 < dof < math.inf:
        raise InvalidStatisticsInputError(
            f"dof is {dof!r}; the chi-square distribution needs a finite dof above 0"
        )
    if x <= 0.0:
        return 1.0
    if x == math.inf:
        return 0.0
    return _regularized_upper_gamma(dof / 2.0, x / 2.0)


# Convergence limit of the series and the continued fraction: a relative
# change below this is below double precision.
_GAMMA_EPSILON = 1e-16
_GAMMA_TINY = 1e-300  # keeps Lentz's method away from division by zero


def _regularized_upper_gamma(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and 0 < x < inf (Numerical Recipes §6.2).

    Below x = a + 1 the series for P converges fast and Q = 1 - P is not
    small; above it the continued fraction gives Q directly, so tiny tail
    probabilities keep their relative accuracy.
    """
    # x^a e^-x / Γ(a), in logarithms so that it neither overflows nor underflows early.
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        return 1.0 - math.exp(log_prefactor) * _lower_gamma_series(a, x)
    return math.exp(log_prefactor) * _upper_gamma_fraction(a, x)


def _lower_gamma_series(a: float, x: float) -> float:
    """Σ x^k / (a (a+1) … (a+k)) for k ≥ 0; times x^a e^-x / Γ(a) it is P(a, x)."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_gamma_iterations(a)):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _GAMMA_EPSILON:
            return total
    raise ArithmeticError(f"the chi-square series did not converge (a={a!r}, x={x!r})")


def _upper_gamma_fraction(a: float, x: float) -> float:
    """The continued fraction for Q(a, x) / (x^a e^-x / Γ(a)), by the modified Lentz method."""
    b = x + 1.0 - a
    c = 1.0 / _GAMMA_TINY
    d = 1.0 / b
    fraction = d
    for i in range(1, _gamma_iterations(a)):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _GAMMA_TINY:
            d = _GAMMA_TINY
        c = b + an / c
        if abs(c) < _GAMMA_TINY:
            c = _GAMMA_TINY
        d = 1.0 / d
        delta = d * c
        fraction *= delta
        if abs(delta - 1.0) < _GAMMA_EPSILON:
            return fraction
    raise ArithmeticError(f"the chi-square continued fraction did not converge (a={a!r}, x={x!r})")


def _gamma_iterations(a: float) -> int:
    # Both expansions need on the order of sqrt(a) terms; this leaves ample room.
    return 1000 + int(100.0 * math.sqrt(a))


# --- input checks -----------------------------------------------------------


def _as_list(values: Iterable[Any], name: str) -> list[Any]:
    """The values as a list; numpy arrays and pandas Series via their fast ``tolist()``."""
    if isinstance(values, (str, bytes)):
        raise InvalidStatisticsInputError(
            f"{name} is a string; pass a sequence with one value per customer"
        )
    to_list = getattr(values, "tolist", None)
    try:
        items = to_list() if callable(to_list) else list(values)
    except TypeError:
        raise InvalidStatisticsInputError(
            f"{name} is not a sequence ({type(values).__name__}); pass one value per customer"
        ) from None
    if not isinstance(items, list):
        raise InvalidStatisticsInputError(
            f"{name} is a single value; pass a sequence with one value per customer"
        )
    return items


def _durations(raw: Iterable[float]) -> list[float]:
    items = _as_list(raw, "durations")
    if not items:
        raise InvalidStatisticsInputError("durations is empty; pass at least one duration")
    values = _finite_floats(items, "durations")
    if min(values) < 0.0:
        position = _first(values, lambda value: value < 0.0)
        raise InvalidStatisticsInputError(
            f"durations[{position}] is {values[position]!r}; durations cannot be negative "
            "(a milestone reached before the start counts as reached at 0)"
        )
    return values


def _observed(raw: Iterable[bool], length: int) -> list[int]:
    items = _as_list(raw, "observed")
    _check_length(items, length, "observed")
    try:
        kinds = set(items)
    except TypeError:  # an unhashable item; the scan below names it
        kinds = {None}
    if not kinds <= {False, True}:  # 0 and 1 (and numpy booleans) are equal to these
        position = _first(items, lambda item: not _is_bool_like(item))
        raise InvalidStatisticsInputError(
            f"observed[{position}] is {items[position]!r}; use True (reached) or False "
            "(still on the way, censored), or 1 and 0"
        )
    return items  # each equal to 1 (reached) or 0 (censored)


def _weights(raw: Iterable[float], length: int) -> list[float]:
    items = _as_list(raw, "weights")
    _check_length(items, length, "weights")
    values = _finite_floats(items, "weights")
    if min(values) <= 0.0:
        position = _first(values, lambda value: value <= 0.0)
        raise InvalidStatisticsInputError(
            f"weights[{position}] is {values[position]!r}; weights must be above 0 "
            "(leave out customers who should not count)"
        )
    return values


def _finite_floats(items: list[Any], name: str) -> list[float]:
    """The items as floats, if every one is a finite real number."""
    try:
        # One C-level pass: the sum is a finite number only if every item is one
        # (or the finite items overflow, which the scan below lets through).
        total = sum(items, 0.0)
    except (TypeError, ValueError, OverflowError):  # a non-number, inf - inf, or overflow
        total = math.nan
    if not math.isfinite(total):
        for position, item in enumerate(items):
            if not _is_finite_number(item):
                raise InvalidStatisticsInputError(
                    f"{name}[{position}] is {item!r}; {name} must be finite numbers"
                )
    return list(map(float, items))


def _is_finite_number(item: object) -> bool:
    if isinstance(item, (str, bytes)):
        return False
    try:
        return math.isfinite(item)  # type: ignore[arg-type]
    except (TypeError, OverflowError):  # not a number, or an int too large for a float
        return False


def _is_bool_like(item: object) -> bool:
    try:
        return item in (False, True)
    except (TypeError, ValueError):  # e.g. an array, whose comparison is ambiguous
        return False


def _check_length(items: list[Any], length: int, name: str) -> None:
    if len(items) != length:
        raise InvalidStatisticsInputError(
            f"{name} has {len(items)} values but durations has {length}; "
            f"pass one {name} value per duration"
        )


def _check_alpha(alpha: object) -> None:
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, numbers.Real)
        or not 0.0 < float(alpha) < 1.0
    ):
        raise InvalidStatisticsInputError(
            f"alpha is {alpha!r}; use a number strictly between 0 and 1 (0.05 for 95% bands)"
        )


def _check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise InvalidStatisticsInputError(f"{name} is {value!r}; pass a number")


def _first(items: Sequence[_T], is_bad: Callable[[_T], bool]) -> int:
    """The position of the first item for which ``is_bad`` is true (slow path of errors)."""
    return next(position for position, item in enumerate(items) if is_bad(item))


# --------------------------------------------------------------------------- rank correlation


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
    xs = _finite_floats(_as_list(x, "x"), "x")
    ys = _finite_floats(_as_list(y, "y"), "y")
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


def t_sf(t: float, dof: float) -> float:
    """P(T > t) for Student's t with *dof* degrees of freedom, in pure Python."""
    _check_number(t, "t")
    _check_number(dof, "dof")
    if not dof > 0:
        raise InvalidStatisticsInputError(f"dof is {dof!r}; Student's t needs dof > 0")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    # x and 1 - x are both computed directly: forming 1 - x by subtraction
    # loses the digits that a small t or a large dof depend on.
    t2 = t * t
    tail = 0.5 * _regularized_beta(dof / 2.0, 0.5, dof / (dof + t2), t2 / (dof + t2))
    return tail if t >= 0 else 1.0 - tail


def _regularized_beta(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) with y = 1 - x, by the continued fraction on whichever side converges fast."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return h
