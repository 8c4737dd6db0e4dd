"""The statistics behind every TTV number: Kaplan–Meier, the log-rank test, chi-square tails.

Pure Python and the standard library only; the rules are those of
``docs/statistics.md``. Durations here are plain floats (seconds, or any
other unit), never ``timedelta``: this module knows nothing about events.

- :func:`kaplan_meier` estimates the share of customers still on the way at
  each time (a :class:`SurvivalCurve` of :class:`SurvivalRow`), with Greenwood
  confidence bands, quantiles (the median TTV) and the restricted mean TTV.
- :func:`logrank_test` asks whether two or more groups reach the milestone
  at the same pace (a :class:`LogRankResult`).
- :func:`kaplan_meier_counts` and :func:`logrank_test_counts` do the same
  from counts per duration (and group), as a query engine returns them, with
  the same results bit for bit.
- :func:`median_difference_ci` gives an interval for the difference of two
  medians, analytically (MOVER), without resampling.
- :func:`chi2_sf` is the chi-square tail probability the test needs.

Weighted counts stay real numbers (never truncated) and the log-rank test
computes in floating point (never overflows). Kaplan–Meier counts customers
per distinct duration with C-level passes over whole columns (``sorted``,
``map``, ``itertools``, ``bisect``) rather than a Python object per
customer, then runs the one life-table core that the counts path uses, and
computes its confidence bands only when asked: fitting a million durations
and reading the median takes less time than lifelines' fit.
"""

from __future__ import annotations

import bisect
import functools
import math
import numbers
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import accumulate, compress, count, islice, repeat
from operator import add, eq, le, lt, mul, ne, neg, not_, sub, truediv, truth
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
    "kaplan_meier_counts",
    "logrank_test",
    "logrank_test_counts",
    "median_difference_ci",
    "spearman",
    "t_sf",
]

ConfidenceMethod = Literal["log-log", "linear"]
VarianceMethod = Literal["robust", "frequency"]

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
    squared_weights: tuple[tuple[float, ...], tuple[float, ...]] | None = attrs.field(
        default=None, repr=False
    )
    """With robust bands: per time, the sums of squared weights of those reached and
    of those censored there (``None``: Greenwood bands, counts as frequencies)."""

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
        return _confidence_bands(
            self.at_risk, self.reached, self.survival, self.alpha, self.ci, self.squared_weights
        )

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
    dropped: tuple[Hashable, ...] = ()
    """Groups left out of the test because nobody in them was at risk at any time
    someone reached (their expected count is 0), as R's ``survdiff`` does."""

    @property
    def testable(self) -> bool:
        """Whether at least two groups were tested (otherwise statistic 0, p-value 1)."""
        return self.dof > 0

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready values."""
        return {
            "statistic": self.statistic,
            "dof": self.dof,
            "p_value": self.p_value,
            "dropped": list(self.dropped),
        }


# --- Kaplan–Meier -----------------------------------------------------------


def kaplan_meier(
    durations: Iterable[float],
    observed: Iterable[bool],
    *,
    weights: Iterable[float] | None = None,
    alpha: float = 0.05,
    ci: ConfidenceMethod = "log-log",
    variance: VarianceMethod = "robust",
) -> SurvivalCurve:
    """Estimate the share of customers still on the way to the milestone at each time.

    ``durations`` are finite and not negative; ``observed`` says, per
    duration, whether the milestone was reached (``True``) or the customer
    is still on the way (``False``, censored). Optional ``weights`` are
    positive and may be fractional; at-risk and reached counts are then
    weighted sums and are not rounded. The bands cover ``1 - alpha`` and are
    computed on the ``"log-log"`` scale (the default) or ``"linear"`` scale.

    With weights, ``variance`` says what they are. ``"robust"`` (the
    default; sampling or propensity weights): the bands use the
    infinitesimal-jackknife variance, as R's ``survfit(..., robust=TRUE)``,
    and do not change when every weight is multiplied by the same number.
    ``"frequency"``: a weight of 3 is three identical customers (Greenwood on
    the weighted sums, as R's default for integer weights and lifelines): the
    bands are those of the repeated rows, and narrow as the weights grow.
    Without weights both are Greenwood's.

    The customers are first counted per distinct duration (reached and
    censored), and the curve is computed from those counts by the same code
    as :func:`kaplan_meier_counts`: both give the same curve, bit for bit
    (with weights, the same estimate; the counts' bands are ``"frequency"``).

    >>> curve = kaplan_meier([1, 2, 2, 3], [True, True, False, True])
    >>> curve.survival
    (0.75, 0.5, 0.0)
    >>> curve.median
    2.0
    """
    values = _durations(durations)
    flags = _observed(observed, len(values))
    _check_curve_options(alpha, ci)
    if variance not in ("robust", "frequency"):
        raise InvalidStatisticsInputError(
            f"variance is {variance!r}; use 'robust' (sampling weights) or 'frequency' "
            "(a weight counts identical customers)"
        )
    if weights is None:
        table = _count_customers(values, flags)
        return _curve(table, alpha, ci)
    checked = _weights(weights, len(values))
    table = _sum_weighted_customers(values, flags, checked)
    squared = _squared_weights(values, flags, checked) if variance == "robust" else None
    return _curve(table, alpha, ci, squared)


def kaplan_meier_counts(
    times: Iterable[float],
    reached: Iterable[float],
    censored: Iterable[float],
    *,
    alpha: float = 0.05,
    ci: ConfidenceMethod = "log-log",
) -> SurvivalCurve:
    """The Kaplan–Meier curve from counts per duration, as a query engine returns them.

    Row ``i`` says that ``reached[i]`` customers reached the milestone at
    exactly the duration ``times[i]`` and ``censored[i]`` customers were
    still on the way when their observation ended at that duration. Rows may
    come in any order and a time may repeat (its rows are added up); rows
    whose counts are both 0 are ignored. Counts are ``int`` or real
    frequencies (``float``, e.g. weighted sums), and are never rounded.
    Rows already in increasing time order (``ORDER BY`` the duration) skip
    the sort, which is most of the cost when there are many distinct times.

    The result equals :func:`kaplan_meier` on the customers the counts
    stand for, bit for bit: integer counts give the curve of the unweighted
    customers, fractional ones that of weighted customers (one customer per
    row, weighted by its count). If every count is an ``int`` the curve's
    counts are ``int``; otherwise they are ``float``.

    >>> curve = kaplan_meier_counts([3, 1, 2], [1, 1, 1], [0, 0, 1])
    >>> curve.survival
    (0.75, 0.5, 0.0)
    >>> curve == kaplan_meier([1, 2, 2, 3], [True, True, False, True])
    True
    """
    _check_curve_options(alpha, ci)
    cells = _cells(times, reached, censored)
    return _curve(_life_table(cells.times, cells.reached, cells.censored, cells.exact), alpha, ci)


class _LifeTable(NamedTuple):
    """Per distinct time, in increasing order: n, d and the censored count."""

    times: Sequence[float]
    at_risk: Sequence[float]
    reached: Sequence[float]
    censored: Sequence[float]
    exact: bool
    """Whether the counts are ``int`` (summed exactly) or ``float`` (summed with fsum)."""


def _life_table(
    times: Sequence[float],
    reached: Sequence[float],
    censored: Sequence[float],
    exact: bool,
    *,
    one_each: bool = False,
) -> _LifeTable:
    """The one rule for n: everything removed (reached or censored) at t or later.

    n is added up from the last time backwards: subtracting from the total
    instead would lose small at-risk weights at late times to rounding.
    ``one_each`` says that each time removes exactly one customer (distinct
    unweighted durations), so the sums are simply len(times), ..., 2, 1.
    """
    if one_each:
        return _LifeTable(times, range(len(times), 0, -1), reached, censored, exact)
    return _LifeTable(times, _at_risk(list(map(add, reached, censored))), reached, censored, exact)


def _curve(
    table: _LifeTable,
    alpha: float,
    ci: ConfidenceMethod,
    squared_weights: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
) -> SurvivalCurve:
    """The Kaplan–Meier curve of a life table: S is the running product of (n - d) / n."""
    at_risk, reached = table.at_risk, table.reached
    survival = accumulate(map(truediv, map(sub, at_risk, reached), at_risk), mul)
    total: Callable[[Iterable[float]], float] = sum if table.exact else math.fsum
    return SurvivalCurve(
        times=tuple(table.times),
        at_risk=tuple(at_risk),
        reached=tuple(reached),
        censored=tuple(table.censored),
        survival=tuple(survival),
        alpha=alpha,
        ci=ci,
        n=at_risk[0],
        n_reached=total(reached),
        n_censored=total(table.censored),
        squared_weights=squared_weights,
    )


# The life tables are built from whole columns with C-level passes (sort,
# map, accumulate, compress, dict lookups) and a few comprehensions, never
# with an object or a Python loop step per customer: on a million
# durations, that is the difference between matching lifelines' speed and
# being several times slower.


def _count_customers(values: list[float], flags: list[int]) -> _LifeTable:
    """Count n, d and censorings per distinct time, without weights."""
    size = len(values)
    # Sort the reached and the censored durations apart, then merge the two
    # sorted runs (timsort merges runs in linear time). This beats sorting
    # indices by duration and gathering values and flags by a shuffled index,
    # which misses the cache on every row.
    reached_sorted = sorted(compress(values, flags))
    censored_sorted = sorted(compress(values, map(not_, flags)))
    sorted_values = sorted(reached_sorted + censored_sorted)
    if all(map(lt, sorted_values, islice(sorted_values, 1, None))):
        # No ties, as with durations measured to the microsecond: one row per
        # customer. The k-th of the rarer kind (reached or censored) lands at
        # k plus the number of the other kind below it: one bisection each
        # marks its rows, and the commoner kind fills the rest.
        if len(censored_sorted) <= len(reached_sorted):
            rarer, commoner, rarer_flag = censored_sorted, reached_sorted, 0
        else:
            rarer, commoner, rarer_flag = reached_sorted, censored_sorted, 1
        reached = [1 - rarer_flag] * size
        positions = map(add, count(), map(bisect.bisect_left, repeat(commoner), rarer))
        deque(map(reached.__setitem__, positions, repeat(rarer_flag)), maxlen=0)
        censored = list(map(sub, repeat(1), reached))
        return _life_table(sorted_values, reached, censored, True, one_each=True)

    starts = _run_starts(sorted_values)
    times = list(map(sorted_values.__getitem__, starts))
    reached_counts = Counter(compress(values, flags))
    reached = list(map(reached_counts.get, times, repeat(0)))
    customers = map(sub, [*starts[1:], size], starts)
    return _life_table(times, reached, list(map(sub, customers, reached)), True)


def _sum_weighted_customers(
    values: list[float], flags: list[int], weights: list[float]
) -> _LifeTable:
    """Sum the weights of those reached and censored per distinct time."""
    size = len(values)
    order = sorted(range(size), key=values.__getitem__)
    sorted_values = list(map(values.__getitem__, order))
    sorted_weights = list(map(weights.__getitem__, order))
    reached_weights = list(map(mul, sorted_weights, map(flags.__getitem__, order)))
    censored_weights = list(map(sub, sorted_weights, reached_weights))
    starts = _run_starts(sorted_values)
    if len(starts) == size:
        return _life_table(sorted_values, reached_weights, censored_weights, False)
    ends = [*starts[1:], size]
    return _life_table(
        list(map(sorted_values.__getitem__, starts)),
        [math.fsum(reached_weights[s:e]) for s, e in zip(starts, ends, strict=True)],
        [math.fsum(censored_weights[s:e]) for s, e in zip(starts, ends, strict=True)],
        False,
    )


def _squared_weights(
    values: list[float], flags: list[int], weights: list[float]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per distinct time (increasing): Σ w² of those reached and of those censored there."""
    reached: dict[float, list[float]] = {}
    censored: dict[float, list[float]] = {}
    for value, flag, weight in zip(values, flags, weights, strict=True):
        (reached if flag else censored).setdefault(value, []).append(weight * weight)
        (censored if flag else reached).setdefault(value, [])
    times = sorted(reached)
    return (
        tuple(math.fsum(reached[t]) for t in times),
        tuple(math.fsum(censored[t]) for t in times),
    )


class _Cells(NamedTuple):
    """Counts per distinct time, times increasing, every time with someone in it."""

    times: list[float]
    reached: list[float]
    censored: list[float]
    exact: bool


def _cells(times: Iterable[float], reached: Iterable[float], censored: Iterable[float]) -> _Cells:
    """Check counts per time, sort them by time and add up repeated times."""
    time_values = _finite_floats(_non_empty(_as_list(times, "times"), "times"), "times")
    _check_not_negative(time_values, "times")
    reached_items, censored_items, exact = _both_counts(reached, censored, len(time_values))
    if all(map(le, time_values, islice(time_values, 1, None))):  # as from ORDER BY
        sorted_times, sorted_reached, sorted_censored = time_values, reached_items, censored_items
    else:
        order = sorted(range(len(time_values)), key=time_values.__getitem__)
        sorted_times = list(map(time_values.__getitem__, order))
        sorted_reached = list(map(reached_items.__getitem__, order))
        sorted_censored = list(map(censored_items.__getitem__, order))
    if not all(map(lt, sorted_times, islice(sorted_times, 1, None))):  # a time repeats
        starts = _run_starts(sorted_times)
        ends = [*starts[1:], len(sorted_times)]
        total: Callable[[Iterable[float]], float] = sum if exact else math.fsum
        sorted_times = list(map(sorted_times.__getitem__, starts))
        sorted_reached = [total(sorted_reached[s:e]) for s, e in zip(starts, ends, strict=True)]
        sorted_censored = [total(sorted_censored[s:e]) for s, e in zip(starts, ends, strict=True)]
    # A time at which nobody reached and nobody was censored is no time of the curve.
    someone = list(map(truth, map(add, sorted_reached, sorted_censored)))
    if not all(someone):
        sorted_times = list(compress(sorted_times, someone))
        sorted_reached = list(compress(sorted_reached, someone))
        sorted_censored = list(compress(sorted_censored, someone))
    if not sorted_times:
        raise InvalidStatisticsInputError(
            "every count is 0; pass at least one time at which someone reached the "
            "milestone or was censored"
        )
    return _Cells(sorted_times, sorted_reached, sorted_censored, exact)


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
    squared_weights: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
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
    if squared_weights is None:
        variance = list(accumulate(terms))[first_below_one:]
    else:
        variance = _robust_variance(at_risk, reached, terms, squared_weights)[first_below_one:]
    between = survival[first_below_one:first_zero]
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    bands = _log_log_bands if ci == "log-log" else _linear_bands
    lower, upper = bands(between, variance, z)

    ones = (1.0,) * first_below_one
    zeros = (0.0,) * (len(survival) - first_zero)
    return (*ones, *lower, *zeros), (*ones, *upper, *zeros)


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
    still_at_risk = _at_risk(list(map(add, reached_sq, censored_sq)))
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


# --- comparing medians -----------------------------------------------------


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
    _check_alpha(alpha)
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
    freedom fewer than there are groups tested.

    As R's ``survdiff``: a group whose expected count is 0 (nobody in it at
    risk at any time someone reached) is left out of the test and listed in
    :attr:`LogRankResult.dropped`; where fewer than two groups are left (every
    duration censored, say) the statistic is 0, ``dof`` 0 and the p-value 1.

    >>> result = logrank_test([1, 2, 3, 4], [True, True, True, True], ["a", "b", "a", "b"])
    >>> result.dof
    1
    """
    values = _durations(durations)
    flags = _observed(observed, len(values))
    labels = _as_list(groups, "groups")
    _check_length(labels, len(values), "groups")
    index = _group_index(labels)
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
        return _no_test(dropped=tuple(_labels_in_order(index)))
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
    return _logrank(d, n, at_risk_in, observed_in, _labels_in_order(index))


def logrank_test_counts(
    times: Iterable[float],
    reached: Iterable[float],
    censored: Iterable[float],
    groups: Iterable[Hashable],
) -> LogRankResult:
    """:func:`logrank_test` from counts per duration and group, as a query engine returns them.

    Row ``i`` says that in group ``groups[i]``, ``reached[i]`` customers
    reached the milestone at exactly the duration ``times[i]`` and
    ``censored[i]`` were censored there. Rows may come in any order and a
    (time, group) pair may repeat (its rows are added up). Counts are
    ``int`` or real frequencies (``float``), never rounded.

    With integer counts the result equals :func:`logrank_test` on the
    customers the counts stand for (to the last bit when the groups first
    appear in the same order in both inputs, and to about 1e-15 otherwise).

    >>> result = logrank_test_counts(
    ...     [1, 2, 3, 4], [1, 1, 1, 1], [0, 0, 0, 0], ["a", "b", "a", "b"]
    ... )
    >>> result == logrank_test([1, 2, 3, 4], [True] * 4, ["a", "b", "a", "b"])
    True
    """
    time_values = _finite_floats(_non_empty(_as_list(times, "times"), "times"), "times")
    _check_not_negative(time_values, "times")
    size = len(time_values)
    reached_items, censored_items, exact = _both_counts(reached, censored, size)
    labels = _as_list(groups, "groups")
    _check_length(labels, size, "groups", of="times")
    index = _group_index(labels)
    zero = 0 if exact else 0.0
    total: Callable[[Iterable[float]], float] = sum if exact else math.fsum

    # Per group, the reached and the removed (reached or censored) customers
    # at each distinct time: one Python step per row of counts.
    order = sorted(range(size), key=time_values.__getitem__)
    sorted_times = list(map(time_values.__getitem__, order))
    width = len(_run_starts(sorted_times))
    time_of = accumulate(map(ne, sorted_times, islice(sorted_times, 1, None)), initial=0)
    reached_in = [[zero] * width for _ in index]
    removed_in = [[zero] * width for _ in index]
    for row, time in zip(order, time_of, strict=True):
        group = index[labels[row]]
        reached_in[group][time] += reached_items[row]
        removed_in[group][time] += reached_items[row] + censored_items[row]

    reached_per_time = list(map(total, zip(*reached_in, strict=True)))
    events = list(compress(range(width), reached_per_time))
    if not events:
        return _no_test(dropped=tuple(_labels_in_order(index)))
    at_risk_all = _at_risk(list(map(total, zip(*removed_in, strict=True))))
    at_risk_in = [
        list(map(float, map(_at_risk(removed).__getitem__, events))) for removed in removed_in
    ]
    return _logrank(
        d=[float(reached_per_time[i]) for i in events],
        n=[float(at_risk_all[i]) for i in events],
        at_risk_in=at_risk_in,
        observed_in=[float(total(group_reached)) for group_reached in reached_in],
        labels=_labels_in_order(index),
    )


def _at_risk(removed: list[float]) -> list[float]:
    """n per time: everything removed at that time or later, added from the last time back.

    The one rule for n, shared by Kaplan–Meier and the log-rank test.
    """
    at_risk = list(accumulate(reversed(removed)))
    at_risk.reverse()
    return at_risk


def _group_index(labels: list[Any]) -> dict[Hashable, int]:
    """Each distinct label's position, in order of first appearance; at least two labels."""
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
    return index


def _labels_in_order(index: dict[Hashable, int]) -> list[Hashable]:
    """The group labels of :func:`_group_index`, by position."""
    return sorted(index, key=index.__getitem__)


def _no_test(dropped: tuple[Hashable, ...]) -> LogRankResult:
    """Fewer than two groups have an expected count: R's ``survdiff`` reports chi-square 0."""
    return LogRankResult(statistic=0.0, dof=0, p_value=1.0, dropped=dropped)


def _logrank(
    d: list[float],
    n: list[float],
    at_risk_in: list[list[float]],
    observed_in: list[float],
    labels: list[Hashable],
) -> LogRankResult:
    """The log-rank statistic from totals per event time and group, all in floating point.

    ``d`` and ``n`` are those reached and at risk at each time someone
    reached; ``at_risk_in[j]`` are group j's at risk at those times and
    ``observed_in[j]`` its reached customers in all. As R's ``survdiff``,
    a group with nobody at risk at any of those times (expected count 0)
    is left out of the test and listed in ``dropped``; with fewer than two
    groups left, there is no test (statistic 0, p-value 1).
    """
    share_reaching = list(map(truediv, d, n))
    expected = [math.fsum(map(mul, at_risk, share_reaching)) for at_risk in at_risk_in]
    kept_groups = [j for j, e in enumerate(expected) if e > 0.0]
    dropped = tuple(labels[j] for j, e in enumerate(expected) if not e > 0.0)
    if len(kept_groups) < 2:
        return _no_test(dropped)
    at_risk_in = [at_risk_in[j] for j in kept_groups]
    observed_in = [observed_in[j] for j in kept_groups]
    # Hypergeometric variance per event time, with the ties factor
    # (n - d) / (n - 1), which is 1 where only one customer is at risk.
    scale = [
        dt * (nt - dt) / (nt - 1.0) / (nt * nt) if nt > 1.0 else dt / (nt * nt)
        for dt, nt in zip(d, n, strict=True)
    ]
    kept = range(len(at_risk_in) - 1)  # the last group is implied by the others
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
            "the groups cannot be compared: their variance matrix is singular (every "
            "customer at risk reached at each time someone did); drop or merge groups"
        )
    dof = len(at_risk_in) - 1
    return LogRankResult(
        statistic=statistic, dof=dof, p_value=chi2_sf(statistic, dof), dropped=dropped
    )


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
    values = _finite_floats(_non_empty(_as_list(raw, "durations"), "durations"), "durations")
    _check_not_negative(values, "durations")
    return values


def _non_empty(items: list[Any], name: str) -> list[Any]:
    if not items:
        raise InvalidStatisticsInputError(f"{name} is empty; pass at least one duration")
    return items


def _check_not_negative(values: list[float], name: str) -> None:
    if min(values) < 0.0:
        position = _first(values, lambda value: value < 0.0)
        raise InvalidStatisticsInputError(
            f"{name}[{position}] is {values[position]!r}; durations cannot be negative "
            "(a milestone reached before the start counts as reached at 0)"
        )


def _counts(raw: Iterable[float], length: int, name: str) -> tuple[list[Any], bool]:
    """Numbers of customers: ``int`` or real frequencies, finite and not negative.

    Returns the items as given if every one is an ``int`` (and ``True``),
    else the items as floats (and ``False``).
    """
    items = _as_list(raw, name)
    _check_length(items, length, name, of="times")
    kinds = set(map(type, items))
    if bool in kinds:
        position = _first(items, lambda item: isinstance(item, bool))
        raise InvalidStatisticsInputError(
            f"{name}[{position}] is {items[position]!r}; pass numbers of customers "
            "(0, 1, 2, ...), not True/False flags"
        )
    exact = kinds == {int}
    values = items if exact else _finite_floats(items, name)  # an int is always finite
    if min(values) < 0:
        position = _first(values, lambda value: value < 0)
        raise InvalidStatisticsInputError(
            f"{name}[{position}] is {items[position]!r}; counts of customers cannot be negative"
        )
    return values, exact


def _both_counts(
    reached: Iterable[float], censored: Iterable[float], length: int
) -> tuple[list[Any], list[Any], bool]:
    """Reached and censored counts, both ``int`` (exact) or else both ``float``."""
    reached_items, reached_exact = _counts(reached, length, "reached")
    censored_items, censored_exact = _counts(censored, length, "censored")
    if reached_exact and censored_exact:
        return reached_items, censored_items, True
    if reached_exact:
        reached_items = list(map(float, reached_items))
    if censored_exact:
        censored_items = list(map(float, censored_items))
    return reached_items, censored_items, False


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


def _check_length(items: list[Any], length: int, name: str, *, of: str = "durations") -> None:
    if len(items) != length:
        raise InvalidStatisticsInputError(
            f"{name} has {len(items)} values but {of} has {length}; "
            f"pass one {name} value per {of[:-1]}"
        )


def _check_curve_options(alpha: object, ci: object) -> None:
    _check_alpha(alpha)
    if ci not in _CONFIDENCE_METHODS:
        raise InvalidStatisticsInputError(f"ci is {ci!r}; use 'log-log' or 'linear'")


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
