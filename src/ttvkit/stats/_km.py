"""Kaplan–Meier: the survival curve, its Greenwood confidence bands, quantiles and RMST."""

from __future__ import annotations

import bisect
import functools
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, compress, islice, repeat
from operator import add, eq, le, lt, mul, neg, sub, truediv, truth
from typing import Any, Final, Literal, NamedTuple

import attrs

from ttvkit.errors import InvalidStatisticsInputError
from ttvkit.stats._bands import (
    BandSearch,
    confidence_bands,
    first_time_at_or_below,
    greenwood_terms,
)
from ttvkit.stats._checks import (
    as_list,
    both_counts,
    check_alpha,
    check_not_negative,
    check_number,
    durations_of,
    finite_floats,
    non_empty,
    observed_flags,
    positive_weights,
)
from ttvkit.stats._lifetable import at_risk_per_time, run_starts

ConfidenceMethod = Literal["log-log", "linear"]
VarianceMethod = Literal["robust", "frequency"]

_CONFIDENCE_METHODS: tuple[ConfidenceMethod, ...] = ("log-log", "linear")

# Survival values within this of 1 - q count as reaching it: products such as
# 5/6 * 4/5 * 3/4 come out as 0.5000000000000001 and must give the median.
_SURVIVAL_TOLERANCE = 1e-9
#: The largest float below 1.
_BELOW_ONE: Final = math.nextafter(1.0, 0.0)


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
        return confidence_bands(
            self.at_risk, self.reached, self.survival, self.alpha, self.ci, self.squared_weights
        )

    @functools.cached_property
    def rows(self) -> tuple[SurvivalRow, ...]:
        """The curve as one :class:`SurvivalRow` per distinct time."""
        return tuple(map(SurvivalRow, *self._columns(), self.lower, self.upper))

    def rows_at(self, positions: Iterable[int]) -> tuple[SurvivalRow, ...]:
        """The rows at *positions* (increasing row numbers), such as :meth:`drawn_rows` gives.

        Each row is the one :attr:`rows` holds at that position, bit for bit,
        but the confidence bands are computed at these rows only (and the
        variance added up as far as the last of them), not held for every
        row: a thousand rows of a curve of a million cost a thousandth of the
        bands' time and none of their memory.
        """
        wanted = list(positions)
        size = len(self.times)
        if not all(map(_is_row_number, wanted)) or not all(map(lt, wanted, wanted[1:])):
            raise InvalidStatisticsInputError(
                "positions must be increasing whole row numbers; got "
                f"{wanted[:5]!r}{' ...' if len(wanted) > 5 else ''}"
            )
        if wanted and not 0 <= wanted[0] <= wanted[-1] < size:
            raise InvalidStatisticsInputError(
                f"positions run from {wanted[0]} to {wanted[-1]}; this curve has rows 0 to "
                f"{size - 1}"
            )
        lower, upper = confidence_bands(
            self.at_risk,
            self.reached,
            self.survival,
            self.alpha,
            self.ci,
            self.squared_weights,
            rows=wanted,
        )
        picked = (list(map(column.__getitem__, wanted)) for column in self._columns())
        return tuple(map(SurvivalRow, *picked, lower, upper))

    def _columns(self) -> tuple[Sequence[float], ...]:
        """The columns of :class:`SurvivalRow` before the bands, in its order."""
        return (self.times, self.at_risk, self.reached, self.censored, self.survival)

    def survival_at(self, t: float) -> float:
        """S(t), the share not yet reached at ``t``; reaching at exactly ``t`` counts."""
        check_number(t, "t")
        rows_at_or_before = bisect.bisect_right(self.times, t)
        if rows_at_or_before == 0:
            return 1.0
        return self.survival[rows_at_or_before - 1]

    def greenwood_variance(self, t: float) -> float:
        """Var S(t) by Greenwood's formula: S(t)² Σ d / (n (n - d)) over the times up to ``t``.

        0 where S(t) is 1 (nobody has reached yet) or 0. This is the variance
        of counts (or frequency weights); the bands of a curve with robust
        weights use the infinitesimal-jackknife variance instead.
        """
        s = self.survival_at(t)
        if s in (0.0, 1.0):
            return 0.0
        rows = bisect.bisect_right(self.times, t)
        # S(t) > 0, so n > d on every row up to t; added up as the bands add them.
        *_, total = accumulate(greenwood_terms(self.at_risk, self.reached, rows))
        return s * s * total

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
        if self.squared_weights is not None:
            return (
                first_time_at_or_below(self.times, self.lower, threshold),
                first_time_at_or_below(self.times, self.upper, threshold),
            )
        return BandSearch(self).interval(threshold)

    @property
    def median(self) -> float:
        """The median TTV: :meth:`quantile` at 0.5 (``math.inf`` if not reached)."""
        return self.quantile(0.5)

    @functools.cached_property
    def median_ci(self) -> tuple[float, float]:
        """The confidence interval of :attr:`median`: :meth:`quantile_ci` at 0.5."""
        return self.quantile_ci(0.5)

    def rmst(self, tau: float) -> float:
        """The restricted mean TTV up to ``tau``: the area under S from 0 to ``tau``.

        S is a step function, 1 before the first time and held flat after the
        last one. ``tau`` must be finite and not negative.
        """
        check_number(tau, "tau")
        if not 0.0 <= tau < math.inf:
            raise InvalidStatisticsInputError(
                f"tau is {tau!r}; the restricted mean needs a finite horizon of 0 or more"
            )
        rows_at_or_before = bisect.bisect_right(self.times, tau)
        edges = [0.0, *self.times[:rows_at_or_before], tau]
        heights = [1.0, *self.survival[:rows_at_or_before]]
        return math.fsum(map(mul, heights, map(sub, edges[1:], edges)))

    def drawn_rows(self, max_rows: int) -> list[int]:
        """The positions of at most *max_rows* rows that draw the curve within 1/(max_rows - 2).

        The first row, every row at which S is at least ``1 / (max_rows - 2)``
        below the S of the row kept before it, and the last row: drawn as
        steps, they stay within that much of the whole curve (S falls from
        at most 1 to at least 0, so no more than ``max_rows`` rows are kept).
        Every row, if there are no more than *max_rows*. ``max_rows`` is at
        least 3.
        """
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 3:
            raise InvalidStatisticsInputError(
                f"max_rows is {max_rows!r}; pass a whole number of rows of at least 3"
            )
        size = len(self.times)
        if size <= max_rows:
            return list(range(size))
        step = 1.0 / (max_rows - 2)
        kept = [0]
        # S never increases: the next row at least one step lower is found by bisection.
        while (
            following := bisect.bisect_left(
                self.survival, step - self.survival[kept[-1]], kept[-1] + 1, size - 1, key=neg
            )
        ) < size - 1:
            kept.append(following)
        kept.append(size - 1)
        return kept

    def to_dict(self, *, max_rows: int | None = None) -> dict[str, Any]:
        """The curve as plain JSON-ready values; an unreached median is ``None``.

        ``rows`` holds every row, or with ``max_rows`` only those of
        :meth:`drawn_rows` (each as it is in the curve: its counts are that
        time's, not added up over the rows left out); ``rows_total`` is the
        number of rows of the curve either way.
        """
        median_low, median_high = self.median_ci
        kept = self.rows if max_rows is None else self.rows_at(self.drawn_rows(max_rows))
        rows = [row._asdict() for row in kept]
        return {
            "alpha": self.alpha,
            "ci": self.ci,
            "n": self.n,
            "n_reached": self.n_reached,
            "n_censored": self.n_censored,
            "median": _finite_or_none(self.median),
            "median_ci": [_finite_or_none(median_low), _finite_or_none(median_high)],
            "rows_total": len(self.times),
            "rows": rows,
        }


def _is_row_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    values = durations_of(durations)
    flags = observed_flags(observed, len(values))
    _check_curve_options(alpha, ci)
    if variance not in ("robust", "frequency"):
        raise InvalidStatisticsInputError(
            f"variance is {variance!r}; use 'robust' (sampling weights) or 'frequency' "
            "(a weight counts identical customers)"
        )
    if weights is None:
        table = _count_customers(values, flags)
        return _curve(table, alpha, ci)
    checked = positive_weights(weights, len(values))
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
    return _LifeTable(
        times, at_risk_per_time(list(map(add, reached, censored))), reached, censored, exact
    )


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
    # One sort of every duration (a third faster than sorting the reached and the
    # censored apart and merging them).
    sorted_values = sorted(values)
    if all(map(lt, sorted_values, islice(sorted_values, 1, None))):
        # No ties, as with durations measured to the microsecond: one row per
        # customer. The rarer kind's durations (reached or censored), sorted,
        # find their rows by bisection, and the commoner kind fills the rest.
        rarer_flag = int(2 * sum(flags) < size)  # 1: fewer reached than censored
        rarer = sorted(compress(values, map(eq, flags, repeat(rarer_flag))))
        reached = [1 - rarer_flag] * size
        positions = map(bisect.bisect_left, repeat(sorted_values), rarer)
        deque(map(reached.__setitem__, positions, repeat(rarer_flag)), maxlen=0)
        censored = list(map(sub, repeat(1), reached))
        return _life_table(sorted_values, reached, censored, True, one_each=True)

    starts = run_starts(sorted_values)
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
    starts = run_starts(sorted_values)
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
    time_values = finite_floats(non_empty(as_list(times, "times"), "times"), "times")
    check_not_negative(time_values, "times")
    reached_items, censored_items, exact = both_counts(reached, censored, len(time_values))
    if all(map(lt, time_values, islice(time_values, 1, None))):  # as from GROUP BY ... ORDER BY
        return _someone_in_each(time_values, reached_items, censored_items, exact)
    if all(map(le, time_values, islice(time_values, 1, None))):  # as from ORDER BY
        sorted_times, sorted_reached, sorted_censored = time_values, reached_items, censored_items
    else:
        order = sorted(range(len(time_values)), key=time_values.__getitem__)
        sorted_times = list(map(time_values.__getitem__, order))
        sorted_reached = list(map(reached_items.__getitem__, order))
        sorted_censored = list(map(censored_items.__getitem__, order))
    if not all(map(lt, sorted_times, islice(sorted_times, 1, None))):  # a time repeats
        starts = run_starts(sorted_times)
        ends = [*starts[1:], len(sorted_times)]
        total: Callable[[Iterable[float]], float] = sum if exact else math.fsum
        sorted_times = list(map(sorted_times.__getitem__, starts))
        sorted_reached = [total(sorted_reached[s:e]) for s, e in zip(starts, ends, strict=True)]
        sorted_censored = [total(sorted_censored[s:e]) for s, e in zip(starts, ends, strict=True)]
    return _someone_in_each(sorted_times, sorted_reached, sorted_censored, exact)


def _someone_in_each(
    times: list[float], reached: list[float], censored: list[float], exact: bool
) -> _Cells:
    """The cells (distinct times, increasing) but those at which nobody reached or left."""
    if not all(map(add, reached, censored)):
        # A time at which nobody reached and nobody was censored is no time of the curve.
        someone = list(map(truth, map(add, reached, censored)))
        times = list(compress(times, someone))
        reached = list(compress(reached, someone))
        censored = list(compress(censored, someone))
    if not times:
        raise InvalidStatisticsInputError(
            "every count is 0; pass at least one time at which someone reached the "
            "milestone or was censored"
        )
    return _Cells(times, reached, censored, exact)


def _survival_threshold(q: float) -> float:
    """The survival level 1 - q (plus tolerance) at which share q has reached."""
    check_number(q, "q")
    if not 0.0 < q < 1.0:
        raise InvalidStatisticsInputError(
            f"q is {q!r}; a quantile needs a share strictly between 0 and 1 (0.5 is the median)"
        )
    # Below 1 whatever q: for a tiny q the tolerance would otherwise let S = 1
    # (nobody reached yet) count as share q reached.
    return min(1.0 - q + _SURVIVAL_TOLERANCE, _BELOW_ONE)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _check_curve_options(alpha: object, ci: object) -> None:
    check_alpha(alpha)
    if ci not in _CONFIDENCE_METHODS:
        raise InvalidStatisticsInputError(f"ci is {ci!r}; use 'log-log' or 'linear'")
