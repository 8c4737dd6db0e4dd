"""The log-rank test: do two or more groups reach the milestone at the same pace?"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from itertools import accumulate, compress, islice, repeat
from operator import eq, mul, ne, sub, truediv
from typing import Any

import attrs

from ttvkit.errors import InvalidStatisticsInputError, SingularVarianceError
from ttvkit.stats._checks import (
    as_list,
    both_counts,
    check_length,
    check_not_negative,
    durations_of,
    finite_floats,
    first_position,
    non_empty,
    observed_flags,
)
from ttvkit.stats._lifetable import at_risk_per_time, run_starts
from ttvkit.stats._special import chi2_sf


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
    values = durations_of(durations)
    flags = observed_flags(observed, len(values))
    labels = as_list(groups, "groups")
    check_length(labels, len(values), "groups")
    index = _group_index(labels)
    group_of = list(map(index.__getitem__, labels))

    size = len(values)
    order = sorted(range(size), key=values.__getitem__)
    sorted_values = list(map(values.__getitem__, order))
    sorted_flags = list(map(flags.__getitem__, order))
    sorted_groups = list(map(group_of.__getitem__, order))
    starts = run_starts(sorted_values)
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
    time_values = finite_floats(non_empty(as_list(times, "times"), "times"), "times")
    check_not_negative(time_values, "times")
    size = len(time_values)
    reached_items, censored_items, exact = both_counts(reached, censored, size)
    labels = as_list(groups, "groups")
    check_length(labels, size, "groups", of="times")
    index = _group_index(labels)
    zero = 0 if exact else 0.0
    total: Callable[[Iterable[float]], float] = sum if exact else math.fsum

    # Per group, the reached and the removed (reached or censored) customers
    # at each distinct time: one Python step per row of counts.
    order = sorted(range(size), key=time_values.__getitem__)
    sorted_times = list(map(time_values.__getitem__, order))
    width = len(run_starts(sorted_times))
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
    at_risk_all = at_risk_per_time(list(map(total, zip(*removed_in, strict=True))))
    at_risk_in = [
        list(map(float, map(at_risk_per_time(removed).__getitem__, events)))
        for removed in removed_in
    ]
    return _logrank(
        d=[float(reached_per_time[i]) for i in events],
        n=[float(at_risk_all[i]) for i in events],
        at_risk_in=at_risk_in,
        observed_in=[float(total(group_reached)) for group_reached in reached_in],
        labels=_labels_in_order(index),
    )


def _group_index(labels: list[Any]) -> dict[Hashable, int]:
    """Each distinct label's position, in order of first appearance; at least two labels."""
    try:
        index = {label: i for i, label in enumerate(dict.fromkeys(labels))}
    except TypeError:
        position = first_position(labels, lambda label: not isinstance(label, Hashable))
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
        raise SingularVarianceError(
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
