"""ttvkit.stats.spearman and t_sf against scipy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttvkit import InvalidStatisticsInputError
from ttvkit.stats import spearman, t_sf

pairs = st.lists(
    st.tuples(st.integers(0, 12), st.floats(-5, 5, allow_nan=False)), min_size=3, max_size=80
)


@given(pairs)
def test_spearman_matches_scipy(rows: list[tuple[int, float]]) -> None:
    from scipy.stats import spearmanr

    x = [float(a) for a, _ in rows]
    y = [b for _, b in rows]
    if len(set(x)) < 2 or len(set(y)) < 2:
        with pytest.raises(InvalidStatisticsInputError, match="constant"):
            spearman(x, y)
        return
    ours = spearman(x, y)
    theirs = spearmanr(x, y)
    assert ours.n == len(rows)
    assert ours.rho == pytest.approx(theirs.statistic, rel=1e-12, abs=1e-12)
    if abs(ours.rho) < 1 - 1e-9:
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
    else:
        # a perfect rank correlation: scipy's p is rounding noise, ours exactly 0
        assert ours.p_value == 0.0 and theirs.pvalue < 1e-12


@pytest.mark.parametrize("t", [1e-6, 0.001, 0.5, 1.0, 2.0, 5.0, 10.0, 40.0])
@pytest.mark.parametrize("dof", [1, 2, 3, 7.5, 30, 300, 100_000])
def test_t_sf_matches_scipy(t: float, dof: float) -> None:
    from scipy.stats import t as student

    expected = float(student.sf(t, dof))
    assert t_sf(t, dof) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert t_sf(-t, dof) == pytest.approx(1 - expected, rel=1e-9)


def test_t_sf_edges() -> None:
    assert t_sf(math.inf, 5) == 0.0
    assert t_sf(-math.inf, 5) == 1.0
    assert t_sf(0.0, 5) == pytest.approx(0.5)
    with pytest.raises(InvalidStatisticsInputError, match="dof"):
        t_sf(1.0, 0)


def test_ties_take_average_ranks() -> None:
    # x ranks: 1.5, 1.5, 3, 4; y ranks: 1, 2, 3, 4
    result = spearman([1, 1, 2, 3], [10, 20, 30, 40])
    rx, ry = [1.5, 1.5, 3, 4], [1, 2, 3, 4]
    mean = 2.5
    num = sum((a - mean) * (b - mean) for a, b in zip(rx, ry, strict=True))
    den = math.sqrt(sum((a - mean) ** 2 for a in rx) * sum((b - mean) ** 2 for b in ry))
    assert result.rho == pytest.approx(num / den)


@pytest.mark.parametrize(
    ("x", "y", "fragment"),
    [
        ([1, 2], [1, 2], "at least 3"),
        ([1, 2, 3], [1, 2], "same length"),
        ([1, 2, math.nan], [1, 2, 3], "x"),
        ([1, 1, 1], [1, 2, 3], "constant"),
    ],
)
def test_bad_input(x: list[float], y: list[float], fragment: str) -> None:
    with pytest.raises(InvalidStatisticsInputError, match=fragment):
        spearman(x, y)
