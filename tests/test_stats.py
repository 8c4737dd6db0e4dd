"""Tests of ttvkit.stats: the hand-worked table, oracles, properties and bad input.

The only hard-coded numbers are the hand-worked reference of STATISTICS.md
(mirrored in docs/statistics.md). Everything else is checked against
lifelines and scipy, against a direct computation from the definitions, or
as a property that must hold for any sample.
"""

from __future__ import annotations

import doctest
import inspect
import itertools
import json
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test as lifelines_logrank_test
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import restricted_mean_survival_time
from scipy import stats as scipy_stats

import ttvkit.stats
from ttvkit.errors import InvalidStatisticsInputError, TTVError
from ttvkit.stats import (
    ConfidenceMethod,
    LogRankResult,
    SurvivalCurve,
    SurvivalRow,
    VarianceMethod,
    chi2_sf,
    kaplan_meier,
    logrank_test,
    logrank_test_counts,
)

from .strategies import censored_samples

TOLERANCE = 1e-9
ORACLE_SETTINGS = settings(max_examples=150, deadline=None)

# --- helpers ----------------------------------------------------------------


def close(actual: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    """Equal within an absolute tolerance, or both the same infinity."""
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return abs(actual - expected) <= tolerance


def fit_lifelines(
    durations: Sequence[float],
    observed: Sequence[bool],
    weights: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> tuple[KaplanMeierFitter, pd.Series, pd.Series, pd.Series]:
    """lifelines' fit, its survival, and its log-log bands, indexed by time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas and lifelines warnings are not ours to fix
        fitter = KaplanMeierFitter(alpha=alpha).fit(
            list(durations), list(observed), weights=None if weights is None else list(weights)
        )
    bands = fitter.confidence_interval_
    return fitter, fitter.survival_function_.iloc[:, 0], bands.iloc[:, 0], bands.iloc[:, 1]


def quantile_by_rule(times: Sequence[float], survival: Sequence[float], q: float) -> float:
    """STATISTICS.md's quantile rule, applied to someone else's survival values."""
    for time, value in zip(times, survival, strict=True):
        if value <= 1.0 - q + 1e-9:
            return time
    return math.inf


def greenwood_log_log(survival: float, variance_sum: float, z: float) -> tuple[float, float]:
    """The log-log band straight from the formula, for hand computations."""
    if survival in (0.0, 1.0):
        return survival, survival
    sigma = math.sqrt(variance_sum)
    log_s = math.log(survival)
    return (
        math.exp(-math.exp(math.log(-log_s) - z * sigma / log_s)),
        math.exp(-math.exp(math.log(-log_s) + z * sigma / log_s)),
    )


@st.composite
def samples(draw: st.DrawFn, max_size: int = 40) -> tuple[list[float], list[bool]]:
    """Durations with many ties and zeros, or continuous ones; censoring none, some or all.

    Wider than the shared ``censored_samples`` (whole numbers only), which the
    property tests use as well.
    """
    size = draw(st.integers(min_value=1, max_value=max_size))
    if draw(st.booleans()):
        durations = [
            float(value)
            for value in draw(st.lists(st.integers(0, 8), min_size=size, max_size=size))
        ]
    else:
        durations = draw(
            st.lists(
                st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False, allow_subnormal=False),
                min_size=size,
                max_size=size,
            )
        )
    share_observed = draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    observed = draw(
        st.lists(
            st.booleans() if 0.0 < share_observed < 1.0 else st.just(share_observed == 1.0),
            min_size=size,
            max_size=size,
        )
    )
    return durations, observed


# --- the hand-worked reference ----------------------------------------------

REFERENCE_DURATIONS = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8]
REFERENCE_OBSERVED = [1, 1, 0, 1, 1, 0, 1, 0, 1, 0]
# t, n, d, S, log-log lower, log-log upper, linear lower, linear upper
REFERENCE_TABLE = [
    (1, 10, 1, 0.9, 0.4730092714, 0.9852813934, 0.7140614903, 1),
    (2, 9, 1, 0.8, 0.4086907816, 0.9458726458, 0.5520819871, 1),
    (3, 7, 1, 0.6857142857, 0.3045850742, 0.8871484950, 0.3887914677, 0.9826371038),
    (4, 6, 1, 0.5714285714, 0.2171927024, 0.8145721379, 0.2504360275, 0.8924211154),
    (5, 4, 1, 0.4285714286, 0.1140417777, 0.7184534249, 0.0868760832, 0.7702667740),
    (7, 2, 1, 0.2142857143, 0.0129166012, 0.5794907112, 0, 0.5569016595),
]
# The table rounds to 10 decimals, so that is as close as it can be matched.
TABLE_TOLERANCE = 5e-11 + 1e-12


def test_reference_table_log_log() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    rows = {row.time: row for row in curve.rows}
    for t, n, d, s, lower, upper, _, _ in REFERENCE_TABLE:
        row = rows[t]
        assert (row.at_risk, row.reached) == (n, d)
        assert row.survival == pytest.approx(s, abs=TABLE_TOLERANCE)
        assert row.lower == pytest.approx(lower, abs=TABLE_TOLERANCE)
        assert row.upper == pytest.approx(upper, abs=TABLE_TOLERANCE)


def test_reference_table_linear() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED, ci="linear")
    rows = {row.time: row for row in curve.rows}
    for t, n, d, s, _, _, lower, upper in REFERENCE_TABLE:
        row = rows[t]
        assert (row.at_risk, row.reached) == (n, d)
        assert row.survival == pytest.approx(s, abs=TABLE_TOLERANCE)
        assert row.lower == pytest.approx(lower, abs=TABLE_TOLERANCE)
        assert row.upper == pytest.approx(upper, abs=TABLE_TOLERANCE)


def test_reference_censoring_only_rows_repeat_the_previous_values() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    assert curve.times == (1, 2, 3, 4, 5, 6, 7, 8)
    rows = {row.time: row for row in curve.rows}
    for censored_only, at_risk, previous in ((6, 3, 5), (8, 1, 7)):
        row = rows[censored_only]
        assert (row.at_risk, row.reached, row.censored) == (at_risk, 0, 1)
        assert row[4:] == rows[previous][4:]  # survival, lower and upper
    assert (curve.n, curve.n_reached, curve.n_censored) == (10, 6, 4)


def test_reference_median_and_restricted_mean() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    assert curve.median == 5
    assert curve.median_ci == (1, math.inf)
    assert curve.rmst(8) == pytest.approx(5.028571428571428, abs=TOLERANCE)


def test_reference_logrank() -> None:
    durations = [*range(1, 11), *range(2, 21, 2)]
    observed_a = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
    observed_b = [1, 0, 1, 1, 0, 1, 0, 1, 1, 0]
    result = logrank_test(durations, [*observed_a, *observed_b], ["A"] * 10 + ["B"] * 10)
    assert result.statistic == pytest.approx(4.692988768508455, abs=TOLERANCE)
    assert result.dof == 1
    assert result.p_value == pytest.approx(0.0302859241959656, abs=TOLERANCE)


# --- the curve's API --------------------------------------------------------


def test_survival_at_is_a_right_continuous_step_function() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    assert curve.survival_at(-1.0) == 1.0
    assert curve.survival_at(0.0) == 1.0
    assert curve.survival_at(0.999) == 1.0
    assert curve.survival_at(1.0) == curve.rows[0].survival  # reaching at t counts at t
    assert curve.survival_at(1.5) == curve.rows[0].survival
    assert curve.survival_at(math.inf) == curve.rows[-1].survival
    for row in curve.rows:
        assert curve.survival_at(row.time) == row.survival
        assert curve.reached_within(row.time) == 1.0 - row.survival


def test_rmst_is_the_area_under_the_steps() -> None:
    curve = kaplan_meier([2.0, 4.0], [True, True])  # S: 1 until 2, 0.5 until 4, then 0
    assert curve.rmst(0.0) == 0.0
    assert curve.rmst(1.0) == 1.0
    assert curve.rmst(3.0) == 2.0 + 0.5
    assert curve.rmst(10.0) == 2.0 + 1.0
    held = kaplan_meier([2.0, 4.0], [True, False])  # S held at 0.5 after the last time
    assert held.rmst(10.0) == 2.0 + 0.5 * 8.0


def test_rows_columns_and_to_dict_agree() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    assert all(isinstance(row, SurvivalRow) for row in curve.rows)
    assert tuple(row.time for row in curve.rows) == curve.times
    assert tuple(row.survival for row in curve.rows) == curve.survival
    assert tuple(row.lower for row in curve.rows) == curve.lower
    as_dict = json.loads(json.dumps(curve.to_dict(), allow_nan=False))
    assert as_dict["median"] == 5
    assert as_dict["median_ci"] == [1, None]  # an unreached bound is null, not Infinity
    assert as_dict["rows"][0] == curve.rows[0]._asdict()
    assert (as_dict["n"], as_dict["alpha"], as_dict["ci"]) == (10, 0.05, "log-log")


@settings(max_examples=150)
@given(samples(), st.integers(3, 40))
def test_drawn_rows_draw_the_curve_within_one_step(
    sample: tuple[list[float], list[bool]], max_rows: int
) -> None:
    curve = kaplan_meier(sample[0], sample[1])
    kept = curve.drawn_rows(max_rows)
    size = len(curve.times)
    assert len(kept) <= max_rows
    assert kept == sorted(set(kept))
    if size <= max_rows:
        assert kept == list(range(size))
        return
    assert (kept[0], kept[-1]) == (0, size - 1)
    step = 1.0 / (max_rows - 2)
    for before, after in itertools.pairwise(kept):
        # Left out: only rows less than a step below the row kept before them.
        assert all(
            curve.survival[j] > curve.survival[before] - step for j in range(before + 1, after)
        )
        if after != size - 1:
            assert curve.survival[after] <= curve.survival[before] - step


def test_to_dict_with_max_rows_keeps_drawn_rows_as_they_are() -> None:
    durations = [float(t) for t in range(1, 501)]
    curve = kaplan_meier(durations, [t % 3 != 0 for t in range(500)])
    full = curve.to_dict()
    assert full["rows_total"] == len(full["rows"]) == 500
    small = curve.to_dict(max_rows=12)
    kept = curve.drawn_rows(12)
    assert small["rows_total"] == 500
    assert small["rows"] == [full["rows"][i] for i in kept]
    assert 2 < len(small["rows"]) <= 12
    assert {k: v for k, v in small.items() if k != "rows"} == {
        k: v for k, v in full.items() if k != "rows"
    }
    for bad in (2, 0, 2.5, True, "10"):
        with pytest.raises(InvalidStatisticsInputError, match="max_rows"):
            curve.to_dict(max_rows=bad)  # type: ignore[arg-type]


def _bands_computed(curve: SurvivalCurve) -> bool:
    """Whether the curve holds its bands for every row (its cached ``_bands`` slot is set)."""
    try:
        SurvivalCurve.__dict__["_bands"].__get__(curve)
    except AttributeError:
        return False
    return True


@settings(max_examples=150)
@given(
    samples(),
    st.sampled_from(["log-log", "linear"]),
    st.sampled_from([None, "robust", "frequency"]),
    st.data(),
)
def test_rows_at_gives_the_rows_bit_for_bit_without_every_band(
    sample: tuple[list[float], list[bool]],
    ci: ConfidenceMethod,
    variance: VarianceMethod | None,
    data: st.DataObject,
) -> None:
    durations, observed = sample
    weights = None
    if variance is not None:
        weights = data.draw(
            st.lists(st.floats(0.01, 5.0), min_size=len(durations), max_size=len(durations))
        )
    options: dict[str, Any] = {"ci": ci, "weights": weights, "variance": variance or "robust"}
    curve = kaplan_meier(durations, observed, **options)
    size = len(curve.times)
    positions = sorted(data.draw(st.sets(st.integers(0, size - 1))))
    picked = curve.rows_at(positions)
    assert not _bands_computed(curve)
    every = kaplan_meier(durations, observed, **options).rows
    assert picked == tuple(every[i] for i in positions)
    # Bit for bit: equal floats could still differ in sign or be NaN.
    assert [list(map(math.copysign, map(abs, row), row)) for row in picked] == [
        list(map(math.copysign, map(abs, every[i]), every[i])) for i in positions
    ]
    assert curve.rows_at(range(size)) == every


def test_rows_at_refuses_positions_out_of_order_or_range() -> None:
    curve = kaplan_meier([1.0, 2.0, 3.0], [True, False, True])
    assert curve.rows_at([]) == ()
    for bad, match in (
        ([2, 1], "increasing"),
        ([1, 1], "increasing"),
        ([0.0], "whole"),
        ([True], "whole"),
        ([0, 3], "rows 0 to 2"),
        ([-1], "rows 0 to 2"),
    ):
        with pytest.raises(InvalidStatisticsInputError, match=match):
            curve.rows_at(bad)  # type: ignore[arg-type]


def test_to_dict_with_max_rows_leaves_the_bands_uncomputed() -> None:
    durations = [float(t) for t in range(1, 5001)]
    curve = kaplan_meier(durations, [t % 3 != 0 for t in range(5000)])
    small = curve.to_dict(max_rows=20)
    assert not _bands_computed(curve)
    assert small["rows"] == [curve.rows[i]._asdict() for i in curve.drawn_rows(20)]
    assert _bands_computed(curve)


def test_curve_is_immutable_and_compares_by_value() -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        curve.alpha = 0.1  # type: ignore[misc]
    assert curve == kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    assert "rows" not in repr(curve)  # a million rows must not flood a repr
    assert isinstance(curve, SurvivalCurve)


def test_logrank_result_to_dict() -> None:
    result = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("aabbab"))
    assert isinstance(result, LogRankResult)
    assert json.loads(json.dumps(result.to_dict())) == {
        "statistic": result.statistic,
        "dof": 1,
        "p_value": result.p_value,
        "dropped": [],
    }


def test_numpy_and_pandas_inputs_give_the_same_curve() -> None:
    expected = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
    durations = np.array(REFERENCE_DURATIONS, dtype=float)
    observed = np.array(REFERENCE_OBSERVED, dtype=bool)
    assert kaplan_meier(durations, observed) == expected
    assert kaplan_meier(pd.Series(durations), pd.Series(observed)) == expected
    assert kaplan_meier(iter(REFERENCE_DURATIONS), tuple(map(bool, REFERENCE_OBSERVED))) == expected


def test_public_names() -> None:
    """``__all__`` holds the statistics API, and every public class and function."""
    required = {
        "LogRankResult",
        "SurvivalCurve",
        "SurvivalRow",
        "chi2_sf",
        "kaplan_meier",
        "logrank_test",
    }
    assert required <= set(ttvkit.stats.__all__)
    assert ttvkit.stats.__all__ == sorted(ttvkit.stats.__all__)
    defined_here = {
        name
        for name, value in vars(ttvkit.stats).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == ttvkit.stats.__name__
    }
    assert set(ttvkit.stats.__all__) == defined_here


def test_module_docstring_examples_run() -> None:
    assert doctest.testmod(ttvkit.stats, raise_on_error=True).failed == 0


def test_docs_example_runs() -> None:
    docs = Path(__file__).parent.parent / "docs" / "statistics.md"
    result = doctest.testfile(str(docs), module_relative=False, raise_on_error=True)
    assert result.attempted > 0


# --- oracles: lifelines -----------------------------------------------------


@ORACLE_SETTINGS
@given(samples())
def test_kaplan_meier_matches_lifelines(sample: tuple[list[float], list[bool]]) -> None:
    durations, observed = sample
    curve = kaplan_meier(durations, observed)
    _, survival, lower, upper = fit_lifelines(durations, observed)
    assert set(curve.times) == set(survival.index) - ({0.0} - set(durations))
    for row in curve.rows:
        assert close(row.survival, survival.loc[row.time])
        assert close(row.lower, lower.loc[row.time])
        assert close(row.upper, upper.loc[row.time])
        assert row.at_risk == sum(1 for d in durations if d >= row.time)


@ORACLE_SETTINGS
@given(samples())
def test_quantiles_follow_the_rule_on_lifelines_survival(
    sample: tuple[list[float], list[bool]],
) -> None:
    durations, observed = sample
    curve = kaplan_meier(durations, observed)
    fitter, survival, lower, upper = fit_lifelines(durations, observed)
    times = list(survival.index)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert curve.quantile(q) == quantile_by_rule(times, list(survival), q)
    assert curve.median_ci == (
        quantile_by_rule(times, list(lower), 0.5),
        quantile_by_rule(times, list(upper), 0.5),
    )
    # Away from the exact-0.5 case (see test_median_at_exactly_one_half) lifelines agrees.
    if all(abs(value - 0.5) > 1e-9 for value in survival):
        assert curve.median == fitter.median_survival_time_


@ORACLE_SETTINGS
@given(samples(), st.floats(0.01, 1.5))
def test_rmst_matches_lifelines(sample: tuple[list[float], list[bool]], share: float) -> None:
    durations, observed = sample
    tau = max(durations) * share + 0.01
    fitter, *_ = fit_lifelines(durations, observed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = restricted_mean_survival_time(fitter, t=tau)
    assert kaplan_meier(durations, observed).rmst(tau) == pytest.approx(
        expected, rel=1e-12, abs=1e-9
    )


@ORACLE_SETTINGS
@given(samples(max_size=25), st.data())
def test_integer_weights_match_lifelines_and_repeated_rows(
    sample: tuple[list[float], list[bool]], data: st.DataObject
) -> None:
    durations, observed = sample
    weights = data.draw(
        st.lists(st.integers(1, 4), min_size=len(durations), max_size=len(durations))
    )
    curve = kaplan_meier(durations, observed, weights=weights, variance="frequency")
    _, survival, lower, upper = fit_lifelines(durations, observed, weights=weights)
    for row in curve.rows:
        assert close(row.survival, survival.loc[row.time])
        assert close(row.lower, lower.loc[row.time])
        assert close(row.upper, upper.loc[row.time])

    repeated = kaplan_meier(
        [d for d, w in zip(durations, weights, strict=True) for _ in range(w)],
        [o for o, w in zip(observed, weights, strict=True) for _ in range(w)],
    )
    assert repeated.times == curve.times
    assert repeated.at_risk == pytest.approx(curve.at_risk, abs=TOLERANCE)
    assert repeated.survival == pytest.approx(curve.survival, abs=TOLERANCE)
    assert repeated.lower == pytest.approx(curve.lower, abs=TOLERANCE)
    assert repeated.upper == pytest.approx(curve.upper, abs=TOLERANCE)


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.32])
def test_alpha_matches_lifelines(alpha: float) -> None:
    curve = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED, alpha=alpha)
    _, _, lower, upper = fit_lifelines(REFERENCE_DURATIONS, REFERENCE_OBSERVED, alpha=alpha)
    for row in curve.rows:
        assert close(row.lower, lower.loc[row.time])
        assert close(row.upper, upper.loc[row.time])


# --- oracles: scipy ---------------------------------------------------------


@ORACLE_SETTINGS
@given(samples(), st.sampled_from(["linear", "log-log"]))
def test_kaplan_meier_matches_scipy_ecdf(
    sample: tuple[list[float], list[bool]], method: str
) -> None:
    durations, observed = sample
    assume(any(observed))
    reached = [d for d, o in zip(durations, observed, strict=True) if o]
    censored = [d for d, o in zip(durations, observed, strict=True) if not o]
    result = scipy_stats.ecdf(scipy_stats.CensoredData(uncensored=reached, right=censored))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns where n = d; ttvkit defines (0, 0) there
        bands = result.sf.confidence_interval(method=method)
    expected = dict(zip(result.sf.quantiles, result.sf.probabilities, strict=True))
    expected_lower = dict(zip(result.sf.quantiles, bands.low.probabilities, strict=True))
    expected_upper = dict(zip(result.sf.quantiles, bands.high.probabilities, strict=True))

    curve = kaplan_meier(durations, observed, ci=method)  # type: ignore[arg-type]
    for row in curve.rows:
        assert close(row.survival, expected[row.time])
        if 0.0 < row.survival < 1.0:  # scipy leaves the bands undefined (nan) elsewhere
            assert close(row.lower, expected_lower[row.time])
            assert close(row.upper, expected_upper[row.time])
        else:
            assert row.lower == row.upper == row.survival


def test_chi2_sf_matches_scipy_on_a_grid() -> None:
    for dof in range(1, 11):
        for x in np.logspace(-6, 3, 181):
            expected = scipy_stats.chi2.sf(x, dof)
            assert chi2_sf(float(x), dof) == pytest.approx(expected, rel=1e-12), (x, dof)


@settings(max_examples=500, deadline=None)
@given(st.floats(1e-6, 1e3), st.integers(1, 10))
def test_chi2_sf_matches_scipy(x: float, dof: int) -> None:
    assert chi2_sf(x, dof) == pytest.approx(scipy_stats.chi2.sf(x, dof), rel=1e-12)


@pytest.mark.parametrize("dof", [0.5, 1.5, 25, 60, 120])
def test_chi2_sf_matches_scipy_beyond_small_integer_dof(dof: float) -> None:
    for x in np.logspace(-3, 3, 61):
        expected = scipy_stats.chi2.sf(x, dof)
        if expected > 1e-300:  # below that the result is subnormal in both
            assert chi2_sf(float(x), dof) == pytest.approx(expected, rel=1e-11), (x, dof)


def test_chi2_sf_edges() -> None:
    assert chi2_sf(0.0, 1) == 1.0
    assert chi2_sf(-3.0, 2) == 1.0
    assert chi2_sf(math.inf, 3) == 0.0
    far_tail = chi2_sf(1000.0, 1)
    assert 0.0 < far_tail < 1e-200
    assert far_tail == pytest.approx(scipy_stats.chi2.sf(1000.0, 1), rel=1e-12)


# --- oracles: log-rank ------------------------------------------------------


@ORACLE_SETTINGS
@given(samples(), st.data())
def test_logrank_matches_lifelines(
    sample: tuple[list[float], list[bool]], data: st.DataObject
) -> None:
    durations, observed = sample
    labels = data.draw(st.sampled_from(["ab", "abc", "abcd"]))
    groups = data.draw(
        st.lists(st.sampled_from(labels), min_size=len(durations), max_size=len(durations))
    )
    assume(len(set(groups)) >= 2)
    try:
        result = logrank_test(durations, observed, groups)
    except InvalidStatisticsInputError:
        # Only when there is nothing to compare; lifelines then returns an arbitrary number.
        assume(False)
        raise
    # lifelines keeps groups nobody of which is at risk; R and ttvkit drop them
    # (test_logrank_drops_a_group_nobody_of_which_is_at_risk_as_survdiff_does).
    assume(not result.dropped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = multivariate_logrank_test(durations, groups, observed)
    assert result.dof == len(set(groups)) - 1
    assert result.statistic == pytest.approx(expected.test_statistic, rel=1e-9, abs=1e-9)
    assert result.p_value == pytest.approx(expected.p_value, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(
        scipy_stats.chi2.sf(result.statistic, result.dof), rel=1e-12
    )


def test_logrank_matches_lifelines_two_sample_api() -> None:
    a = list(range(1, 11))
    b = list(range(2, 21, 2))
    observed_a = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
    observed_b = [1, 0, 1, 1, 0, 1, 0, 1, 1, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = lifelines_logrank_test(a, b, observed_a, observed_b)
    result = logrank_test(a + b, observed_a + observed_b, ["a"] * 10 + ["b"] * 10)
    assert result.statistic == pytest.approx(expected.test_statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.p_value, rel=1e-12)


def test_logrank_does_not_depend_on_label_order_or_type() -> None:
    durations = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
    observed = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1]
    labels = ["x", "y", "z", "x", "y", "z", "x", "y", "z", "x", "y", "z"]
    renamed = [{"x": 2, "y": (0, 1), "z": None}[label] for label in labels]
    assert logrank_test(durations, observed, labels).statistic == pytest.approx(
        logrank_test(durations, observed, renamed).statistic, rel=1e-12
    )
    assert logrank_test(durations, observed, labels).dof == 2


# --- where lifelines and scipy are wrong ------------------------------------


@pytest.mark.parametrize("size", [6, 14, 20])
def test_median_at_exactly_one_half(size: int) -> None:
    """S(size/2) is exactly 1/2 for durations 1..size; rounding must not skip it."""
    durations = list(range(1, size + 1))
    curve = kaplan_meier(durations, [True] * size)
    # By the rule: S(k) = (size - k) / size reaches 1/2 first at k = size / 2.
    assert curve.median == size / 2
    assert curve.quantile(0.5) == size / 2
    fitter, *_ = fit_lifelines(durations, [True] * size)
    # lifelines compares exp(Σ log(1 - d/n)) = 0.5000000000000001 with 0.5 exactly,
    # and so reports the next time. Documented here; ttvkit does not copy it.
    assert fitter.median_survival_time_ != size / 2


def test_fractional_weights_are_not_truncated() -> None:
    durations = [1.0, 2.0, 3.0, 4.0]
    observed = [True, True, False, True]
    weights = [0.5, 1.5, 0.5, 1.5]
    curve = kaplan_meier(durations, observed, weights=weights, variance="frequency")

    # By hand: n is the weight with duration >= t, d the weight reaching at t.
    hand = [  # t, n, d, censored
        (1.0, 0.5 + 1.5 + 0.5 + 1.5, 0.5, 0.0),
        (2.0, 1.5 + 0.5 + 1.5, 1.5, 0.0),
        (3.0, 0.5 + 1.5, 0.0, 0.5),
        (4.0, 1.5, 1.5, 0.0),
    ]
    z = 1.959963984540054
    survival, variance_sum = 1.0, 0.0
    for row, (t, n, d, censored) in zip(curve.rows, hand, strict=True):
        survival *= 1.0 - d / n
        if n > d:
            variance_sum += d / (n * (n - d))
        lower, upper = greenwood_log_log(survival, variance_sum, z)
        assert (row.time, row.at_risk, row.reached, row.censored) == (t, n, d, censored)
        assert row.survival == pytest.approx(survival, abs=TOLERANCE)
        assert row.lower == pytest.approx(lower, abs=TOLERANCE)
        assert row.upper == pytest.approx(upper, abs=TOLERANCE)
    assert (curve.n, curve.n_reached, curve.n_censored) == (4.0, 3.5, 0.5)

    # lifelines truncates n to an integer in the variance (3.5 -> 3 at t = 2), and
    # the censored weight 0.5 to 0 in its event table.
    fitter, _, lifelines_lower, _ = fit_lifelines(durations, observed, weights=weights)
    assert lifelines_lower.loc[2.0] != pytest.approx(curve.rows[1].lower, abs=1e-6)
    assert fitter.event_table.loc[3.0, "censored"] == 0


def _float_logrank_statistic(days: np.ndarray, observed: np.ndarray, group: np.ndarray) -> float:
    """Two-group log-rank statistic in numpy float64, straight from the definition."""
    event_times = np.unique(days[observed])
    all_sorted = np.sort(days)
    in_group = np.sort(days[group])
    events_sorted = np.sort(days[observed])
    group_events_sorted = np.sort(days[observed & group])

    def at_or_after(sorted_values: np.ndarray) -> np.ndarray:
        below = np.searchsorted(sorted_values, event_times, side="left")
        return (len(sorted_values) - below).astype(np.float64)

    def exactly_at(sorted_values: np.ndarray) -> np.ndarray:
        right = np.searchsorted(sorted_values, event_times, side="right")
        left = np.searchsorted(sorted_values, event_times, side="left")
        return (right - left).astype(np.float64)

    n, n1 = at_or_after(all_sorted), at_or_after(in_group)
    d, d1 = exactly_at(events_sorted), exactly_at(group_events_sorted)
    ties = np.where(n > 1, (n - d) / np.maximum(n - 1, 1), 1.0)
    expected = np.sum(n1 * d / n)
    variance = np.sum(n1 * (n - n1) * d * ties / (n * n))
    return float((d1.sum() - expected) ** 2 / variance)


@pytest.mark.slow
def test_logrank_on_a_million_tied_rows_stays_in_floating_point() -> None:
    """scipy's logrank overflows int64 on data like this; ttvkit must not."""
    rng = np.random.default_rng(20240601)
    size = 1_000_000
    group = rng.random(size) < 0.5
    days = np.floor(rng.exponential(40.0, size)).clip(0, 365)  # heavily tied whole days
    observed = (days < 365) & (rng.random(size) < 0.8)

    result = logrank_test(days, observed, group)

    assert result.statistic == pytest.approx(
        _float_logrank_statistic(days, observed, group), rel=1e-9
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = multivariate_logrank_test(days, group, observed)
    assert result.statistic == pytest.approx(expected.test_statistic, rel=1e-9)
    # Both groups come from one distribution: the statistic is a chi-square(1) draw.
    assert 0.0 <= result.statistic < 20.0
    assert result.p_value == pytest.approx(chi2_sf(result.statistic, 1), rel=1e-15)


@pytest.mark.slow
def test_a_million_continuous_durations() -> None:
    rng = np.random.default_rng(7)
    durations = rng.exponential(86_400.0, 1_000_000)
    observed = rng.random(1_000_000) < 0.7
    curve = kaplan_meier(durations, observed)
    _, survival, *_ = fit_lifelines(durations, observed)
    assert len(curve.times) == 1_000_000
    sample = np.linspace(0, 999_999, 50).astype(int)
    for i in sample:
        time = curve.times[i]
        assert close(curve.survival[i], survival.loc[time])


# --- properties -------------------------------------------------------------


def check_curve_properties(curve: SurvivalCurve) -> None:
    survival = curve.survival
    assert all(0.0 <= s <= 1.0 for s in survival)
    assert all(later <= earlier for earlier, later in itertools.pairwise(survival))
    for row in curve.rows:
        assert 0.0 <= row.lower <= row.survival <= row.upper <= 1.0
    quantiles = [curve.quantile(q) for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)]
    assert quantiles == sorted(quantiles)
    assert list(curve.times) == sorted(set(curve.times))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(samples(max_size=60), censored_samples),
    st.sampled_from(["log-log", "linear"]),
    st.floats(0.001, 0.5),
)
def test_curve_properties(
    sample: tuple[list[float], list[bool]], method: str, alpha: float
) -> None:
    durations, observed = sample
    check_curve_properties(kaplan_meier(durations, observed, alpha=alpha, ci=method))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(samples(max_size=60), st.data())
def test_curve_properties_with_fractional_weights(
    sample: tuple[list[float], list[bool]], data: st.DataObject
) -> None:
    durations, observed = sample
    weights = data.draw(
        st.lists(st.floats(1e-3, 1e3), min_size=len(durations), max_size=len(durations))
    )
    curve = kaplan_meier(durations, observed, weights=weights)
    check_curve_properties(curve)
    assert curve.n == pytest.approx(math.fsum(weights), rel=1e-12)
    # Scaling every weight leaves the survival estimate unchanged.
    scaled = kaplan_meier(durations, observed, weights=[w * 7.0 for w in weights])
    assert scaled.survival == pytest.approx(curve.survival, abs=TOLERANCE)


def test_tiny_weights_do_not_overflow_the_bands() -> None:
    weights = [1e-12, 1.0, 1.0]
    curve = kaplan_meier(
        [1.0, 2.0, 3.0], [True, False, True], weights=weights, variance="frequency"
    )
    check_curve_properties(curve)
    assert curve.rows[0].lower == 0.0
    check_curve_properties(kaplan_meier([1.0, 2.0, 3.0], [True, False, True], weights=weights))


# R 4.x, survival 3.5.3 (the values below were printed by R, not computed here):
#   t <- c(1, 2, 2, 3, 4, 5, 5, 6, 8, 9); s <- c(1, 1, 0, 1, 0, 1, 1, 0, 1, 0)
#   w <- c(0.5, 1.5, 2.0, 0.7, 1.1, 3.0, 0.2, 1.0, 2.5, 0.9)
#   f <- survfit(Surv(t, s) ~ 1, weights = w, robust = TRUE, conf.type = "log-log")
R_TIMES = [1, 2, 2, 3, 4, 5, 5, 6, 8, 9]
R_STATUS = [True, True, False, True, False, True, True, False, True, False]
R_WEIGHTS = [0.5, 1.5, 2.0, 0.7, 1.1, 3.0, 0.2, 1.0, 2.5, 0.9]
R_ROBUST_LOWER = [
    0.74140292563049337,
    0.44215821749458101,
    0.39451599291494632,
    0.39451599291494632,
    0.06962298969115657,
    0.06962298969115657,
    0.00428011667597268,
    0.00428011667597268,
]
R_ROBUST_UPPER = [
    0.995178673960609,
    0.968491004161634,
    0.940420168733899,
    0.940420168733899,
    0.793267066063567,
    0.793267066063567,
    0.440440294225613,
    0.440440294225613,
]


def test_weighted_bands_are_rs_robust_variance() -> None:
    curve = kaplan_meier(R_TIMES, R_STATUS, weights=R_WEIGHTS)
    assert list(curve.lower) == pytest.approx(R_ROBUST_LOWER, rel=1e-12)
    assert list(curve.upper) == pytest.approx(R_ROBUST_UPPER, rel=1e-12)
    # Integer weights, robust = TRUE: R's std.err (of S) is S times our σ.
    integer = kaplan_meier(R_TIMES, R_STATUS, weights=[1, 2, 2, 1, 1, 3, 1, 1, 2, 1])
    linear = kaplan_meier(
        R_TIMES, R_STATUS, weights=[1, 2, 2, 1, 1, 3, 1, 1, 2, 1], ci="linear", alpha=0.05
    )
    z = 1.959963984540054
    r_std_err = [0.0662207307811171, 0.1346600658448277, 0.1499866660740214, 0.1855370582929459]
    # S ∓ z S σ, clipped to [0, 1]: the side not clipped gives S σ exactly.
    ours = [
        max(s - lo, hi - s) / z
        for lo, s, hi in zip(linear.lower, linear.survival, linear.upper, strict=True)
    ]
    assert [ours[0], ours[1], ours[2], ours[4]] == pytest.approx(r_std_err, rel=1e-12)
    assert integer.survival == linear.survival


@settings(max_examples=200, deadline=None)
@given(samples(max_size=40), st.data(), st.floats(1e-3, 1e3))
def test_robust_bands_do_not_change_with_the_scale_of_the_weights(
    sample: tuple[list[float], list[bool]], data: st.DataObject, scale: float
) -> None:
    durations, observed = sample
    weights = data.draw(
        st.lists(st.floats(1e-2, 1e2), min_size=len(durations), max_size=len(durations))
    )
    curve = kaplan_meier(durations, observed, weights=weights)
    scaled = kaplan_meier(durations, observed, weights=[w * scale for w in weights])
    check_curve_properties(curve)
    assert scaled.lower == pytest.approx(curve.lower, rel=1e-9, abs=1e-12)
    assert scaled.upper == pytest.approx(curve.upper, rel=1e-9, abs=1e-12)
    # Frequency weights are counts of customers: more of them, narrower bands.
    frequency = kaplan_meier(durations, observed, weights=weights, variance="frequency")
    assert frequency.survival == curve.survival


@settings(max_examples=200, deadline=None)
@given(st.one_of(samples(max_size=60), censored_samples), st.floats(0.0, 2e4), st.floats(0.0, 2e4))
def test_rmst_grows_with_tau_and_never_exceeds_it(
    sample: tuple[list[float], list[bool]], a: float, b: float
) -> None:
    durations, observed = sample
    curve = kaplan_meier(durations, observed)
    low, high = sorted((a, b))
    assert curve.rmst(low) <= curve.rmst(high) + 1e-9
    assert curve.rmst(high) <= high + 1e-9


def test_all_censored_never_reaches_any_quantile() -> None:
    curve = kaplan_meier([1.0, 2.0, 3.0], [False, False, False])
    assert curve.survival == (1.0, 1.0, 1.0)
    assert curve.lower == curve.upper == (1.0, 1.0, 1.0)
    assert curve.median == math.inf
    assert curve.median_ci == (math.inf, math.inf)
    assert curve.n_reached == 0
    assert curve.to_dict()["median"] is None
    # However small the share asked for: nobody reached, so no time reaches it.
    for q in (0.01, 1e-9, 1e-12, 5e-324):
        assert curve.quantile(q) == math.inf
        assert curve.quantile_ci(q) == (math.inf, math.inf)
    # One customer of three reached: any q up to a third is reached at that time.
    assert kaplan_meier([1.0, 2.0, 3.0], [False, True, False]).quantile(1e-12) == 2.0


def test_zero_durations_reach_at_the_start() -> None:
    curve = kaplan_meier([0.0, 0.0, 1.0, 2.0], [True, True, False, True])
    assert curve.times[0] == 0.0
    assert curve.survival_at(0.0) == 0.5
    assert curve.survival_at(-1e-9) == 1.0
    assert curve.median == 0.0
    assert curve.rmst(1.0) == 0.5


def test_median_never_reached_but_lower_band_crosses() -> None:
    curve = kaplan_meier([1.0, 2.0, 2.0, 3.0, 4.0], [True, False, False, False, False])
    assert curve.median == math.inf  # S stays at 0.8
    first_low = next(t for t, low in zip(curve.times, curve.lower, strict=True) if low <= 0.5)
    assert curve.median_ci == (first_low, math.inf)  # the lower band alone falls past 1/2


def first_time_at_or_below(times: Sequence[float], band: Sequence[float], level: float) -> float:
    """The first time whose band value is at most *level* (``math.inf`` if none)."""
    return next((t for t, value in zip(times, band, strict=True) if value <= level), math.inf)


@settings(max_examples=300, deadline=None)
@given(
    samples(max_size=120),
    st.sampled_from(["linear", "log-log"]),
    st.sampled_from([0.05, 0.2, 0.5, 1e-6]),
    st.lists(st.floats(1e-6, 1.0, exclude_max=True), min_size=1, max_size=4),
    st.sampled_from([1, 2, 3, 256]),
)
def test_quantile_intervals_are_the_first_crossings_of_the_whole_bands(
    sample: tuple[list[float], list[bool]],
    method: str,
    alpha: float,
    shares: list[float],
    first_chunk: int,
) -> None:
    # quantile_ci computes the bands chunk by chunk and only as far as it must
    # (from small first chunks here, to cross chunk edges); the answer is the
    # rule applied to the whole bands, which the oracle tests check.
    durations, observed = sample
    whole = kaplan_meier(durations, observed, alpha=alpha, ci=method)  # type: ignore[arg-type]
    chunk = ttvkit.stats._bands.BandSearch.FIRST_CHUNK
    ttvkit.stats._bands.BandSearch.FIRST_CHUNK = first_chunk
    try:
        for q in [0.5, *shares]:
            level = min(1.0 - q + 1e-9, math.nextafter(1.0, 0.0))
            curve = kaplan_meier(durations, observed, alpha=alpha, ci=method)  # type: ignore[arg-type]
            assert curve.quantile_ci(q) == (
                first_time_at_or_below(whole.times, whole.lower, level),
                first_time_at_or_below(whole.times, whole.upper, level),
            )
    finally:
        ttvkit.stats._bands.BandSearch.FIRST_CHUNK = chunk


@pytest.mark.parametrize("method", ["linear", "log-log"])
def test_median_interval_of_a_large_curve_is_that_of_the_whole_bands(method: str) -> None:
    # 20,000 customers: the search runs over several doubling chunks.
    rng = np.random.default_rng(8)
    durations = rng.exponential(86_400.0, 20_000).round(0).tolist()
    observed = (rng.random(20_000) < 0.7).tolist()
    curve = kaplan_meier(durations, observed, ci=method)  # type: ignore[arg-type]
    interval = curve.median_ci
    assert interval == (
        first_time_at_or_below(curve.times, curve.lower, 0.5 + 1e-9),
        first_time_at_or_below(curve.times, curve.upper, 0.5 + 1e-9),
    )
    assert interval[0] < curve.median < interval[1]


# --- invalid input ----------------------------------------------------------

Call = Callable[[], Any]
BAD_KAPLAN_MEIER: list[tuple[str, Call, str]] = [
    ("empty", lambda: kaplan_meier([], []), "empty"),
    ("length mismatch", lambda: kaplan_meier([1.0, 2.0], [True]), "observed has 1"),
    ("negative duration", lambda: kaplan_meier([1.0, -2.0], [True, True]), "durations[1]"),
    ("nan duration", lambda: kaplan_meier([math.nan], [True]), "durations[0]"),
    ("infinite duration", lambda: kaplan_meier([1.0, math.inf], [True, True]), "durations[1]"),
    ("string duration", lambda: kaplan_meier([1.0, "2"], [True, True]), "durations[1]"),
    ("none duration", lambda: kaplan_meier([None], [True]), "durations[0]"),
    ("durations as a string", lambda: kaplan_meier("123", [True] * 3), "string"),
    ("durations not iterable", lambda: kaplan_meier(5, [True]), "durations"),  # type: ignore[arg-type]
    ("observed 2", lambda: kaplan_meier([1.0, 2.0], [True, 2]), "observed[1]"),
    ("observed text", lambda: kaplan_meier([1.0], ["yes"]), "observed[0]"),
    ("observed none", lambda: kaplan_meier([1.0], [None]), "observed[0]"),
    ("observed unhashable", lambda: kaplan_meier([1.0], [[True]]), "observed[0]"),
    ("observed half", lambda: kaplan_meier([1.0], [0.5]), "observed[0]"),
    ("zero weight", lambda: kaplan_meier([1.0], [True], weights=[0.0]), "weights[0]"),
    ("negative weight", lambda: kaplan_meier([1.0], [True], weights=[-1.0]), "weights[0]"),
    ("nan weight", lambda: kaplan_meier([1.0], [True], weights=[math.nan]), "weights[0]"),
    ("infinite weight", lambda: kaplan_meier([1.0], [True], weights=[math.inf]), "weights[0]"),
    ("weight length", lambda: kaplan_meier([1.0], [True], weights=[1.0, 1.0]), "weights has 2"),
    ("alpha 0", lambda: kaplan_meier([1.0], [True], alpha=0.0), "alpha"),
    ("alpha 1", lambda: kaplan_meier([1.0], [True], alpha=1.0), "alpha"),
    ("alpha nan", lambda: kaplan_meier([1.0], [True], alpha=math.nan), "alpha"),
    ("alpha text", lambda: kaplan_meier([1.0], [True], alpha="0.05"), "alpha"),  # type: ignore[arg-type]
    ("alpha bool", lambda: kaplan_meier([1.0], [True], alpha=True), "alpha"),
    ("alpha tiny", lambda: kaplan_meier([1.0], [True], alpha=1e-17), "too small for a float"),
    ("unknown ci", lambda: kaplan_meier([1.0], [True], ci="plain"), "ci"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [(call, fragment) for _, call, fragment in BAD_KAPLAN_MEIER],
    ids=[name for name, _, _ in BAD_KAPLAN_MEIER],
)
def test_kaplan_meier_rejects_bad_input(call: Call, fragment: str) -> None:
    with pytest.raises(InvalidStatisticsInputError) as caught:
        call()
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, TTVError)


CURVE = kaplan_meier(REFERENCE_DURATIONS, REFERENCE_OBSERVED)
BAD_CURVE_QUESTIONS: list[tuple[str, Call]] = [
    ("quantile 0", lambda: CURVE.quantile(0.0)),
    ("quantile 1", lambda: CURVE.quantile(1.0)),
    ("quantile above 1", lambda: CURVE.quantile(1.5)),
    ("quantile nan", lambda: CURVE.quantile(math.nan)),
    ("quantile_ci 0", lambda: CURVE.quantile_ci(0.0)),
    ("rmst negative", lambda: CURVE.rmst(-1.0)),
    ("rmst infinite", lambda: CURVE.rmst(math.inf)),
    ("rmst nan", lambda: CURVE.rmst(math.nan)),
    ("survival_at nan", lambda: CURVE.survival_at(math.nan)),
    ("survival_at text", lambda: CURVE.survival_at("1")),  # type: ignore[arg-type]
    ("reached_within nan", lambda: CURVE.reached_within(math.nan)),
]


@pytest.mark.parametrize(
    "call", [call for _, call in BAD_CURVE_QUESTIONS], ids=[name for name, _ in BAD_CURVE_QUESTIONS]
)
def test_curve_rejects_bad_questions(call: Call) -> None:
    with pytest.raises(InvalidStatisticsInputError):
        call()


BAD_LOGRANK: list[tuple[str, Call, str]] = [
    ("one group", lambda: logrank_test([1.0, 2.0], [True, True], ["a", "a"]), "only the label"),
    ("groups length", lambda: logrank_test([1.0, 2.0], [True, True], ["a"]), "groups has 1"),
    ("observed length", lambda: logrank_test([1.0, 2.0], [True], ["a", "b"]), "observed has 1"),
    ("unhashable label", lambda: logrank_test([1.0, 2.0], [True, True], ["a", ["b"]]), "groups[1]"),
    ("bad duration", lambda: logrank_test([1.0, -2.0], [True, True], ["a", "b"]), "durations[1]"),
]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [(call, fragment) for _, call, fragment in BAD_LOGRANK],
    ids=[name for name, _, _ in BAD_LOGRANK],
)
def test_logrank_rejects_bad_input(call: Call, fragment: str) -> None:
    with pytest.raises(InvalidStatisticsInputError) as caught:
        call()
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("x", "dof"),
    [(math.nan, 1), (1.0, 0), (1.0, -1), (1.0, math.inf), (1.0, math.nan), ("1", 1), (1.0, True)],
)
def test_chi2_sf_rejects_bad_input(x: Any, dof: Any) -> None:
    with pytest.raises(InvalidStatisticsInputError):
        chi2_sf(x, dof)


def test_logrank_without_two_groups_with_an_expected_count_is_no_test() -> None:
    # R: survdiff(Surv(t, s) ~ g) gives chisq 0 and p 1 when fewer than two
    # groups have an expected count (every duration censored, or one group
    # never at risk when someone reaches).
    for result in (
        logrank_test([1.0, 2.0], [False, False], ["a", "b"]),
        logrank_test([1.0, 2.0, 3.0], [False, True, True], ["a", "b", "b"]),
    ):
        assert (result.statistic, result.dof, result.p_value) == (0.0, 0, 1.0)
        assert not result.testable
    assert logrank_test([1.0, 2.0, 3.0], [False, True, True], ["a", "b", "b"]).dropped == ("a",)


def test_logrank_drops_a_group_nobody_of_which_is_at_risk_as_survdiff_does() -> None:
    # Group "early" left before anyone reached: R's survdiff tests the rest,
    # with dof from the groups kept, and so does ttvkit.
    durations = [2.0, 4.0, 5.0, 3.0, 6.0, 7.0, 1.0, 0.5]
    observed = [True, True, False, True, True, False, False, False]
    groups = ["b", "b", "b", "c", "c", "c", "early", "early"]
    full = logrank_test(durations, observed, groups)
    rest = logrank_test(durations[:6], observed[:6], groups[:6])
    assert full.dropped == ("early",)
    assert full.dof == 1
    assert full.statistic == pytest.approx(rest.statistic, rel=1e-12)
    assert full.p_value == pytest.approx(rest.p_value, rel=1e-12)
    reached = [int(o) for o in observed]
    counts = logrank_test_counts(durations, reached, [1 - r for r in reached], groups)
    assert counts.dropped == ("early",)
    assert counts.statistic == pytest.approx(rest.statistic, rel=1e-12)
