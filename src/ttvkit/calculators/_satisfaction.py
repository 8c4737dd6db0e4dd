"""Survey scores by speed class, and their rank correlation with time to value:
:func:`satisfaction`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ttvkit import stats
from ttvkit.calculators._arguments import check_bands, check_milestone
from ttvkit.calculators._source import Source, as_store, checked_as_of, load_columns, required_as_of
from ttvkit.conditions import Condition, EventCondition, event
from ttvkit.errors import AnalysisError, InvalidArgumentError
from ttvkit.milestones import Milestone, Speed, SpeedBands
from ttvkit.observations import Per, PropertyOf, check_per
from ttvkit.results import SatisfactionReport, SpeedGroup
from ttvkit.results.satisfaction import SATISFACTION_SPEEDS

SPEED_CLASSES = tuple(speed.value for speed in SATISFACTION_SPEEDS)
"""The speed classes' values, in the report's order (kept for callers that use strings)."""


def satisfaction(
    source: Source,
    milestone: Milestone,
    survey: Condition | str = "csat",
    score: str = "score",
    *,
    bands: SpeedBands,
    as_of: datetime | str | None = None,
    per: Per = "user",
    response: Literal["first", "last"] = "last",
) -> SatisfactionReport:
    """Survey scores (CSAT, NPS) by speed class, and their rank correlation with TTV.

    Each customer's score is the ``score`` property of their ``response``
    (first or last) ``survey`` event up to ``as_of``. Speed classes:
    immediate, short, long (by ``bands``, among customers who reached value)
    and not_yet (still on the way). Spearman's rho is computed among
    customers who reached value (a censored TTV has no rank), with the
    two-sided p-value of the t approximation (as scipy's ``spearmanr``).
    """
    milestone = check_milestone(milestone)
    per = check_per(per)
    bands = check_bands(bands)
    survey_condition = event(survey) if isinstance(survey, str) else survey
    if not isinstance(survey_condition, EventCondition):
        raise InvalidArgumentError(f"survey={survey!r}: pass an event name or event(...) condition")
    if not isinstance(score, str) or not score:
        raise InvalidArgumentError(f"score={score!r}: name the property holding the score")
    if response not in ("first", "last"):
        raise InvalidArgumentError(f"response={response!r}: use 'first' or 'last'")
    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = required_as_of(store, as_of)
        columns = load_columns(
            store, milestone, when, per, [PropertyOf(survey_condition, score, response)]
        )
    scores = columns.attributes[0]
    scored = [
        i
        for i, value in enumerate(scores)
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    if not scored:
        raise AnalysisError(
            f"no {survey_condition.describe()!r} event carries a numeric {score!r} property; "
            "check the survey event's name and the score property"
        )
    observed, starts, ends = columns.observed, columns.starts, columns.ends
    reached = [i for i in scored if observed[i]]
    micros = [ends[i] - starts[i] for i in reached]
    speed_of = dict(zip(reached, bands.classify_reached(micros), strict=True))
    by_speed: dict[Speed, list[float]] = {s: [] for s in SATISFACTION_SPEEDS}
    for i in scored:
        by_speed[speed_of.get(i, Speed.NOT_YET)].append(float(scores[i]))  # type: ignore[arg-type]
    ttv_seconds = [m / 1_000_000 for m in micros]
    ttv_scores = [float(scores[i]) for i in reached]  # type: ignore[arg-type]
    # No rank correlation without at least three pairs and variation in both.
    correlation = (
        stats.spearman(ttv_seconds, ttv_scores)
        if len(ttv_seconds) >= 3 and len(set(ttv_seconds)) > 1 and len(set(ttv_scores)) > 1
        else None
    )
    return SatisfactionReport(
        milestone=milestone,
        as_of=when,
        per=per,
        bands=bands,
        survey=survey_condition.describe(),
        score=score,
        groups=tuple(SpeedGroup(s, tuple(by_speed[s])) for s in SATISFACTION_SPEEDS),
        correlation=correlation,
        n_without_score=len(columns) - len(scored),
        columns=columns.take(scored),
    )
