"""The statistics behind every TTV number: Kaplan–Meier, the log-rank test, chi-square tails.

Pure Python and the standard library only; the rules are those of
``docs/statistics.md``. Durations here are plain floats (seconds, or any
other unit), never ``timedelta``: this package knows nothing about events,
and imports nothing of ttvkit but :mod:`ttvkit.errors`.

- :func:`kaplan_meier` estimates the share of customers still on the way at
  each time (a :class:`SurvivalCurve` of :class:`SurvivalRow`), with Greenwood
  confidence bands, quantiles (the median TTV) and the restricted mean TTV.
- :func:`logrank_test` asks whether two or more groups reach the milestone
  at the same pace (a :class:`LogRankResult`).
- :func:`kaplan_meier_counts` and :func:`logrank_test_counts` do the same
  from counts per duration (and group), as a query engine returns them, with
  the same results bit for bit.
- :func:`median_difference_ci` gives an interval for the difference of two
  medians, analytically (MOVER), without resampling; :func:`holm` adjusts
  p-values for testing several hypotheses at once.
- :func:`spearman` is Spearman's rank correlation (a :class:`CorrelationResult`).
- :func:`chi2_sf` and :func:`t_sf` are the chi-square and Student's t tails
  the tests need; :func:`check_alpha` is the one check of a significance level.

Weighted counts stay real numbers (never truncated) and the log-rank test
computes in floating point (never overflows). Kaplan–Meier counts customers
per distinct duration with C-level passes over whole columns (``sorted``,
``map``, ``itertools``, ``bisect``) rather than a Python object per
customer, then runs the one life-table core that the counts path uses, and
computes its confidence bands only when asked: fitting a million durations
and reading the median takes less time than lifelines' fit.

Where things live: ``_km`` (Kaplan–Meier, Greenwood), ``_logrank``,
``_compare`` (median differences, Holm), ``_correlation``, ``_special``
(gamma and beta functions) and ``_checks`` (the input checks).
"""

from __future__ import annotations

from ttvkit.stats._checks import check_alpha
from ttvkit.stats._compare import holm, median_difference_ci
from ttvkit.stats._correlation import CorrelationResult, spearman
from ttvkit.stats._km import ConfidenceMethod as ConfidenceMethod  # a type alias, kept public
from ttvkit.stats._km import SurvivalCurve, SurvivalRow, kaplan_meier, kaplan_meier_counts
from ttvkit.stats._km import VarianceMethod as VarianceMethod  # a type alias, kept public
from ttvkit.stats._logrank import LogRankResult, logrank_test, logrank_test_counts
from ttvkit.stats._special import chi2_sf, t_sf

__all__ = [
    "CorrelationResult",
    "LogRankResult",
    "SurvivalCurve",
    "SurvivalRow",
    "check_alpha",
    "chi2_sf",
    "holm",
    "kaplan_meier",
    "kaplan_meier_counts",
    "logrank_test",
    "logrank_test_counts",
    "median_difference_ci",
    "spearman",
    "t_sf",
]

# The public names are shown, documented and pickled as ttvkit.stats.NAME,
# where users import them, whichever private module defines them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
