"""K1: Kaplan–Meier on a million continuous durations.

``ttvkit.stats.kaplan_meier`` (pure Python) against lifelines'
``KaplanMeierFitter.fit`` and ``scipy.stats.ecdf`` on ``CensoredData``. The
durations are log-normal seconds (median about two days, almost all
distinct, so the curve has about a million steps), 20 % censored, seeded.
Each contender gets its natural input (ttvkit: Python lists of floats and
bools, as ``time_to_value`` hands them over; lifelines and scipy: NumPy
arrays), built before the clock starts; the clock covers the fit and reading
the median.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from harness import Check, Context, Sample, Scenario, Series, Table, interleave, timed

DURATIONS = 1_000_000

TTVKIT = "ttvkit stats.kaplan_meier()"
LIFELINES = "lifelines KaplanMeierFitter.fit()"
SCIPY = "scipy.stats.ecdf(CensoredData)"


def _sample(seed: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    durations = rng.lognormal(mean=math.log(2 * 86400), sigma=1.2, size=DURATIONS)
    observed = rng.random(DURATIONS) >= 0.2
    return durations, observed


def run(ctx: Context) -> Scenario:
    import numpy as np
    from lifelines import KaplanMeierFitter
    from scipy.stats import CensoredData, ecdf

    from ttvkit.stats import kaplan_meier

    durations, observed = _sample(ctx.seed)
    as_lists = durations.tolist(), observed.tolist()
    medians: dict[str, float] = {}

    def contender(name: str, fit: Callable[[], float]) -> Callable[[], Sample]:
        def run() -> Sample:
            def work() -> None:
                medians[name] = fit()

            return {"seconds": timed(work)}

        return run

    def ttvkit() -> float:
        curve = kaplan_meier(*as_lists)
        return math.inf if curve.median is None else curve.median

    def lifelines() -> float:
        return float(KaplanMeierFitter().fit(durations, observed).median_survival_time_)

    def scipy() -> float:
        result = ecdf(CensoredData(uncensored=durations[observed], right=durations[~observed]))
        below = np.nonzero(result.sf.probabilities <= 0.5)[0]
        return float(result.sf.quantiles[below[0]]) if below.size else math.inf

    scenario = Scenario(
        "K1",
        "Kaplan–Meier on 1e6 durations",
        f"{DURATIONS:,} log-normal durations, 20 % censored; seconds per fit (lower is better).",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' deprecation chatter is not the subject
        results = interleave(
            {
                TTVKIT: contender(TTVKIT, ttvkit),
                LIFELINES: contender(LIFELINES, lifelines),
                SCIPY: contender(SCIPY, scipy),
            },
            ctx.repeat,
        )
    table = Table(
        "seconds per fit",
        [Series(name, m["seconds"], "s", name == TTVKIT) for name, m in results.items()],
        TTVKIT,
    )
    scenario.tables.append(table)
    ratio = table.ratio(LIFELINES)
    scenario.checks.append(Check("≤1× lifelines' time", f"{ratio:.2f}×", ratio <= 1))
    scenario.notes.append(
        "Medians found (days): "
        + ", ".join(f"{name}: {value / 86400:.6f}" for name, value in medians.items())
        + "."
    )
    return scenario
