"""Which interventions shorten time to value: :class:`ImpactReport` and its
:class:`ImpactRow` per intervention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from ttvkit._format import (
    Table,
    ci_name,
    duration_ci,
    format_duration,
    format_p,
    seconds_or_none,
    share_ci,
    signed_duration,
    signed_share,
)
from ttvkit.milestones import Milestone
from ttvkit.observations import Observation, ObservationColumns, Per
from ttvkit.results._display import Display
from ttvkit.results.comparison import Comparison, GroupResult

__all__ = ["ImpactReport", "ImpactRow"]


@attrs.frozen
class ImpactRow:
    """One intervention's effect on time to value.

    ``p_adjusted`` is ``None`` when the lever is not testable, and
    ``not_testable`` says why: nobody or everybody exposed (``comparison`` is
    then ``None`` too), fewer than two groups with anyone at risk, or a
    log-rank variance of 0 (everyone at risk reached at each time someone did).
    """

    intervention: str
    comparison: Comparison | None
    p_adjusted: float | None
    """The log-rank p-value adjusted for testing several interventions (Holm)."""
    landmark: timedelta | None = None
    """Exposure counted by this time after the start."""
    not_testable: str | None = None
    """Why the lever could not be tested (``None`` when it was)."""
    group_sizes: tuple[int, int] | None = None
    """(not exposed, exposed): the customers compared in each group, for a lever
    with no ``comparison`` to count them in (nobody or everybody exposed)."""

    @property
    def effect(self) -> float | None:
        """Exposed minus unexposed share reaching value within the horizon."""
        exposed = self._exposed
        return None if exposed is None else exposed.reached_within_difference

    @property
    def effect_ci(self) -> tuple[float, float] | None:
        """The confidence interval of :attr:`effect`."""
        exposed = self._exposed
        return None if exposed is None else exposed.reached_within_difference_ci

    @property
    def median_difference(self) -> timedelta | None:
        exposed = self._exposed
        return None if exposed is None else exposed.median_difference

    @property
    def median_difference_ci(self) -> tuple[timedelta | None, timedelta | None] | None:
        exposed = self._exposed
        return None if exposed is None else exposed.median_difference_ci

    @property
    def n_exposed(self) -> int:
        """Customers compared (still on the way at the landmark) who were exposed by it."""
        if self.comparison is None:
            return 0 if self.group_sizes is None else self.group_sizes[1]
        exposed = self._exposed
        return 0 if exposed is None else exposed.n

    @property
    def n_not_exposed(self) -> int:
        """Customers compared (still on the way at the landmark) who were not exposed by it."""
        if self.comparison is None:
            return 0 if self.group_sizes is None else self.group_sizes[0]
        return sum(g.n for g in self.comparison.groups if g.label is False)

    @property
    def _exposed(self) -> GroupResult | None:
        if self.comparison is None:
            return None
        for g in self.comparison.groups:
            if g.label is True:
                return g
        return None

    @property
    def significant(self) -> bool:
        """Whether the Holm-adjusted p-value is below the comparison's alpha."""
        if self.comparison is None or self.p_adjusted is None:
            return False
        return self.comparison.logrank.testable and self.p_adjusted < self.comparison.alpha

    @property
    def ci_excludes_zero(self) -> bool:
        """Whether the CI of :attr:`effect` lies wholly on one side of 0."""
        ci = self.effect_ci
        return ci is not None and (ci[0] > 0.0 or ci[1] < 0.0)

    @property
    def tier(self) -> int:
        """The ranking tier: 0 significant with a CI clear of 0, 1 significant,
        2 not significant, 3 not testable. Rows rank by tier, then effect."""
        if self.comparison is None or not self.comparison.logrank.testable:
            return 3
        if self.significant:
            return 0 if self.ci_excludes_zero else 1
        return 2

    def to_dict(self) -> dict[str, Any]:
        ci = self.effect_ci
        median_ci = self.median_difference_ci
        return {
            "intervention": self.intervention,
            "landmark_seconds": seconds_or_none(self.landmark),
            "testable": self.tier < 3,
            "not_testable": self.not_testable,
            "tier": self.tier,
            "n_exposed": self.n_exposed,
            "n_not_exposed": self.n_not_exposed,
            "effect": self.effect,
            "effect_ci": None if ci is None else list(ci),
            "median_difference_seconds": seconds_or_none(self.median_difference),
            "median_difference_ci_seconds": None
            if median_ci is None
            else [seconds_or_none(median_ci[0]), seconds_or_none(median_ci[1])],
            "p_value": None if self.comparison is None else self.comparison.p_value,
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
        }


@attrs.frozen
class ImpactReport(Display):
    """Interventions ranked by how much they shorten time to value (see :attr:`ranked_by`)."""

    kind: ClassVar[str] = "impact"

    milestone: Milestone
    as_of: datetime
    per: Per
    within: timedelta
    rows: tuple[ImpactRow, ...]
    columns: ObservationColumns = attrs.field(repr=False)
    """Every customer considered, as columns (one attribute column per intervention)."""
    interventions: tuple[str, ...] = ()
    """The interventions in the order given (the order of the observations' attributes)."""
    alpha: float = 0.05

    @property
    def ranked_by(self) -> str:
        """What the ranking ranks by, in words (shown in every output)."""
        return (
            f"ranked by Δ within {format_duration(self.within)} in tiers: significant (Holm) "
            "with a CI clear of 0, other significant, the rest, not testable"
        )

    def observations(self) -> tuple[Observation, ...]:
        """Every customer considered (before the landmark filter); attributes hold
        each intervention's first time, in the order of :attr:`interventions`."""
        return tuple(self.columns.rows())

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "within_seconds": self.within.total_seconds(),
            "alpha": self.alpha,
            "ranked_by": self.ranked_by,
            "interventions": list(self.interventions),
            "ranking": [r.to_dict() for r in self.rows],
        }

    # --- the view: what str(), HTML and reports show, in words

    def table(self) -> Table:
        """One row per lever, in rank order, with the CIs of the differences."""
        within = format_duration(self.within)
        ci = ci_name(self.alpha)
        rows = []
        for rank, r in enumerate(self.rows, start=1):
            if r.comparison is None or r.p_adjusted is None:
                tested = ["-", "-", "-", "-", "-", "-"]
            else:
                tested = [
                    signed_share(r.effect),
                    share_ci(r.effect_ci),
                    signed_duration(r.median_difference),
                    duration_ci(r.median_difference_ci),
                    format_p(r.comparison.p_value),
                    format_p(r.p_adjusted),
                ]
            rows.append(
                [
                    f"{rank}. {r.intervention}",
                    "-" if r.landmark is None else format_duration(r.landmark),
                    str(r.n_exposed),
                    *tested,
                    "not testable" if r.tier == 3 else "yes" if r.significant else "no",
                ]
            )
        headers = [
            "intervention",
            "landmark",
            "exposed",
            f"Δ within {within}",
            f"{ci} (pts)",
            "Δ median",
            f"Δ median {ci}",
            "p",
            "p (Holm)",
            "significant",
        ]
        return Table(headers, rows, [r.significant for r in self.rows])

    def notes(self) -> list[str]:
        """How to read the table, what it ranks by, and the levers not tested."""
        return [
            "exposed = happened by the landmark after the start; "
            "effects are exposed minus not exposed",
            self.ranked_by,
            *(
                f"{r.intervention}: not testable, {r.not_testable}"
                for r in self.rows
                if r.tier == 3
            ),
        ]
