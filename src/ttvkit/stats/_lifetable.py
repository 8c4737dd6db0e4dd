"""The life-table rules Kaplan–Meier, its bands and the log-rank test share."""

from __future__ import annotations

from itertools import accumulate, compress, islice
from operator import ne


def run_starts(sorted_values: list[float]) -> list[int]:
    """The index at which each run of equal values in a sorted list starts."""
    # Index i + 1 starts a new run wherever value i differs from value i + 1.
    changes = map(ne, sorted_values, islice(sorted_values, 1, None))
    return [0, *compress(range(1, len(sorted_values)), changes)]


def at_risk_per_time(removed: list[float]) -> list[float]:
    """n per time: everything removed at that time or later, added from the last time back.

    The one rule for n, shared by Kaplan–Meier and the log-rank test.
    """
    at_risk = list(accumulate(reversed(removed)))
    at_risk.reverse()
    return at_risk
