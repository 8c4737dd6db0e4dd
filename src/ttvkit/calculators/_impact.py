"""Ranking interventions by how much they shorten time to value: :func:`impact`,
one landmark comparison per lever, with Holm-adjusted p-values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, overload

from ttvkit import stats
from ttvkit.calculators._arguments import (
    DEFAULT_LANDMARK,
    DEFAULT_WITHIN,
    check_alpha,
    check_bootstrap,
    check_interventions,
    check_landmark_within,
    check_milestone,
    check_timedelta,
)
from ttvkit.calculators._compare import TooFewGroups, compare_columns, grouping_of
from ttvkit.calculators._source import Source, as_store, checked_as_of, load_columns, required_as_of
from ttvkit.conditions import Condition, event
from ttvkit.errors import AnalysisError, InvalidArgumentError
from ttvkit.milestones import Milestone
from ttvkit.observations import Per, check_per
from ttvkit.results import Comparison, ImpactReport, ImpactRow


# Mapping is invariant in its keys: a dict of names alone (``dict[str, timedelta]``)
# is not a ``Mapping[Condition | str, timedelta]``, and a union of the three mappings
# makes mypy give up on a mixed dict literal. Hence two signatures.
@overload
def impact(
    source: Source,
    milestone: Milestone,
    interventions: Sequence[Condition | str] | Mapping[Condition | str, timedelta],
    *,
    as_of: datetime | str | None = ...,
    per: Per = ...,
    landmark: timedelta = ...,
    within: timedelta = ...,
    alpha: float = ...,
    bootstrap: int = ...,
    seed: int = ...,
) -> ImpactReport: ...


@overload
def impact(
    source: Source,
    milestone: Milestone,
    interventions: Mapping[str, timedelta] | Mapping[Condition, timedelta],
    *,
    as_of: datetime | str | None = ...,
    per: Per = ...,
    landmark: timedelta = ...,
    within: timedelta = ...,
    alpha: float = ...,
    bootstrap: int = ...,
    seed: int = ...,
) -> ImpactReport: ...


def impact(
    source: Source,
    milestone: Milestone,
    interventions: Sequence[Condition | str] | Mapping[Any, timedelta],
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    landmark: timedelta = DEFAULT_LANDMARK,
    within: timedelta = DEFAULT_WITHIN,
    alpha: float = 0.05,
    bootstrap: int = 200,
    seed: int = 0,
) -> ImpactReport:
    """Rank interventions (tutorial, onboarding guide, CSM, support…) by how much
    they shorten time to value.

    Each intervention gets a landmark :func:`compare` (exposed by ``start +
    landmark`` or not). Pass a mapping ``{intervention: landmark}`` to give
    each lever the landmark that fits when it happens (a tutorial in the
    first hours, a customer success manager within days): a landmark far
    after the exposures compares only the slow tail, where most effects
    fade. The ranking is by the difference in the share
    reaching value ``within`` the horizon (exposed minus not exposed), and
    significance uses log-rank p-values adjusted for testing several
    interventions at once (Holm), so one lucky lever among many is not
    reported as a finding.
    """
    milestone = check_milestone(milestone)
    per = check_per(per)
    given = check_interventions(interventions)
    landmark = check_timedelta(landmark, "landmark", allow_zero=True)
    pairs = [
        (i, landmark if lm is None else check_timedelta(lm, f"landmark of {i!r}", allow_zero=True))
        for i, lm in given
    ]
    conditions = [event(i) if isinstance(i, str) else i for i, _ in pairs]
    landmarks = [lm for _, lm in pairs]
    seen: set[Condition] = set()
    for c in conditions:
        if not isinstance(c, Condition):
            raise InvalidArgumentError(f"intervention {c!r} is not an event name or condition")
        if c in seen:
            # Twice in the ranking, and counted twice by Holm's adjustment.
            raise InvalidArgumentError(
                f"interventions name {c.describe()} twice; name each lever once"
            )
        seen.add(c)
    within = check_timedelta(within, "within", allow_zero=False)
    for (lever, _), lever_landmark in zip(pairs, landmarks, strict=True):
        what = f"landmark of {lever!r}" if isinstance(interventions, Mapping) else "landmark"
        check_landmark_within(lever_landmark, within, what)
    alpha = check_alpha(alpha)
    bootstrap = check_bootstrap(bootstrap)
    groupings = [grouping_of(c) for c in conditions]
    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = required_as_of(store, as_of)
        columns = load_columns(store, milestone, when, per, [g.attribute for g in groupings])
    del seed  # the median-difference interval is analytic: nothing is drawn
    comparisons: list[Comparison | None] = []
    reasons: list[str | None] = []
    sizes: list[tuple[int, int] | None] = []
    for i, g in enumerate(groupings):
        try:
            comparison = compare_columns(
                milestone,
                columns,
                i,
                g,
                as_of=when,
                per=per,
                landmark=landmarks[i],
                within=within,
                reference=False,
                groups=None,
                alpha=alpha,
                bootstrap=bootstrap,
            )
        except TooFewGroups as exc:  # nobody (or everybody) exposed: this lever only
            comparisons.append(None)
            reasons.append(exc.reason)
            sizes.append((exc.sizes.get(False, 0), exc.sizes.get(True, 0)))
            continue
        comparisons.append(comparison)
        reasons.append(comparison.not_testable)  # a test that could not be run: this lever only
        sizes.append(None)
    tested = {i: c.p_value for i, c in enumerate(comparisons) if c is not None and not reasons[i]}
    if not tested:
        raise AnalysisError(
            "no intervention can be tested: "
            + "; ".join(f"{g.description}: {r}" for g, r in zip(groupings, reasons, strict=True))
        )
    adjusted: list[float | None] = [None] * len(comparisons)
    for i, p in zip(tested, stats.holm(list(tested.values())), strict=True):
        adjusted[i] = p
    rows = [
        ImpactRow(g.description, c, p, landmark=lm, not_testable=reason, group_sizes=n)
        for g, c, p, lm, reason, n in zip(
            groupings, comparisons, adjusted, landmarks, reasons, sizes, strict=True
        )
    ]
    # Significant levers with a CI clear of 0 first, then other significant
    # ones, then the rest, then the untestable: a lever whose CI crosses 0
    # never ranks above one that is significant with a CI clear of 0.
    ranked = sorted(
        rows,
        key=lambda r: (r.tier, -(r.effect if r.effect is not None else -math.inf)),
    )
    return ImpactReport(
        milestone,
        when,
        per,
        within,
        tuple(ranked),
        columns,
        tuple(g.description for g in groupings),
        alpha=alpha,
    )
