"""Time to value per group, and how each group differs from the reference:
:class:`Comparison` and its :class:`GroupResult` rows."""

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
    label_text,
    labels_text,
    median_text,
    plural,
    seconds_or_none,
    share_ci,
    signed_duration,
    signed_share,
    within_text,
)
from ttvkit._json import json_key
from ttvkit.errors import InvalidArgumentError
from ttvkit.milestones import Milestone
from ttvkit.observations import Observation, Per
from ttvkit.results._common import GroupLabel
from ttvkit.results._display import Display
from ttvkit.results.distribution import TTVDistribution
from ttvkit.stats import LogRankResult

__all__ = ["Comparison", "GroupResult"]


@attrs.frozen
class GroupResult:
    """One group of a :class:`Comparison`, and how it differs from the reference group.

    Differences are *this group minus the reference*: a negative
    ``median_difference`` means this group reaches value sooner; a positive
    ``reached_within_difference`` means a larger share gets there within the
    comparison horizon. They are ``None`` for the reference group itself and
    where a median is not reached.
    """

    label: GroupLabel
    distribution: TTVDistribution
    median_difference: timedelta | None = None
    median_difference_ci: tuple[timedelta | None, timedelta | None] | None = None
    reached_within_difference: float | None = None
    reached_within_difference_ci: tuple[float, float] | None = None

    @property
    def n(self) -> int:
        return self.distribution.n

    def to_dict(self) -> dict[str, Any]:
        ci = self.median_difference_ci
        return {
            "label": self.label,
            "n": self.n,
            "n_reached": self.distribution.n_reached,
            "median_seconds": seconds_or_none(self.distribution.median),
            "median_difference_seconds": seconds_or_none(self.median_difference),
            "median_difference_ci_seconds": None
            if ci is None
            else [seconds_or_none(ci[0]), seconds_or_none(ci[1])],
            "reached_within_difference": self.reached_within_difference,
            "reached_within_difference_ci": None
            if self.reached_within_difference_ci is None
            else list(self.reached_within_difference_ci),
            "distribution": self.distribution.to_dict(),
        }


@attrs.frozen
class Comparison(Display):
    """Time to value per group, a log-rank test across groups, and the differences.

    ``landmark`` is set when groups are defined by an event (an intervention):
    a customer counts as exposed when the event happened by ``start +
    landmark``, and only customers still on the way at the landmark are
    compared (see ``docs/analysis.md``, "the time-dependent trap").
    """

    kind: ClassVar[str] = "comparison"

    milestone: Milestone
    as_of: datetime
    per: Per
    by: str
    landmark: timedelta | None
    within: timedelta
    reference: GroupLabel
    groups: tuple[GroupResult, ...]
    logrank: LogRankResult
    n_excluded: int
    """Customers left out: reached the milestone or stopped being observed by the landmark."""
    alpha: float = 0.05
    """The groups' confidence intervals and the differences' cover 1 - alpha."""
    not_testable: str | None = None
    """Why the log-rank test could not be run (``None`` when it was): fewer than
    two groups with anyone at risk when someone reached, or a variance of 0
    (everyone at risk reached at each time someone did). ``logrank`` is then
    statistic 0, ``dof`` 0, p-value 1, and nothing is significant."""

    def group(self, label: GroupLabel) -> GroupResult:
        """The group with this label."""
        for g in self.groups:
            if json_key(g.label) == json_key(label):
                return g
        raise InvalidArgumentError(
            f"no group {label!r}; the groups are {[g.label for g in self.groups]!r}"
        )

    def group_names(self) -> list[str]:
        """Each group's label as shown in words, one per group, never two alike
        (``yes`` for ``True``; ``true`` and ``"yes"`` where both are groups)."""
        return labels_text([g.label for g in self.groups])

    def _group_name(self, label: GroupLabel) -> str:
        names = {json_key(g.label): n for g, n in zip(self.groups, self.group_names(), strict=True)}
        return names.get(json_key(label), label_text(label))

    def is_reference(self, label: GroupLabel) -> bool:
        """Whether *label* is the reference group's (``True`` is not ``1``; ``1`` is ``1.0``)."""
        return json_key(label) == json_key(self.reference)

    @property
    def p_value(self) -> float:
        """The log-rank p-value: how surprising these differences are if all groups were alike."""
        return self.logrank.p_value

    @property
    def significant(self) -> bool:
        """Whether the log-rank p-value is below ``alpha`` (never without a test)."""
        return self.logrank.testable and self.logrank.p_value < self.alpha

    @property
    def dropped_from_test(self) -> tuple[GroupLabel, ...]:
        """Groups left out of the log-rank test: nobody in them was at risk at any
        time someone reached (R's ``survdiff`` drops them too)."""
        return tuple(self.logrank.dropped)  # type: ignore[arg-type]  # labels of this comparison

    def observations(self) -> tuple[Observation, ...]:
        """Every customer compared, sorted by id."""
        rows = [o for g in self.groups for o in g.distribution.observations()]
        return tuple(sorted(rows, key=lambda o: o.customer_id))

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "by": self.by,
            "dropped_from_test": list(self.dropped_from_test),
            "landmark_seconds": seconds_or_none(self.landmark),
            "within_seconds": self.within.total_seconds(),
            "reference": self.reference,
            "alpha": self.alpha,
            "n_excluded": self.n_excluded,
            "logrank": self.logrank.to_dict(),
            "not_testable": self.not_testable,
            "significant": self.significant,
            "groups": [g.to_dict() for g in self.groups],
        }

    # --- the view: what str(), HTML and reports show, in words

    def table(self) -> Table:
        """One row per group, differences to the reference with their CIs."""
        within = format_duration(self.within)
        ci = ci_name(self.alpha)
        rows = []
        strong = []
        for g, name in zip(self.groups, self.group_names(), strict=True):
            d = g.distribution
            ref = self.is_reference(g.label)
            strong.append(ref)
            rows.append(
                [
                    name + (" (reference)" if ref else ""),
                    str(d.n),
                    str(d.n_reached),
                    median_text(d.median),
                    within_text(d.reached_within(self.within)),
                    "" if ref else signed_duration(g.median_difference),
                    "" if ref else duration_ci(g.median_difference_ci),
                    "" if ref else signed_share(g.reached_within_difference),
                    "" if ref else share_ci(g.reached_within_difference_ci),
                ]
            )
        headers = [
            "group",
            "n",
            "reached",
            "median",
            f"within {within}",
            "Δ median",
            f"Δ median {ci}",
            f"Δ within {within}",
            f"{ci} (pts)",
        ]
        return Table(headers, rows, strong)

    def notes(self) -> list[str]:
        """The landmark rule (for an intervention)."""
        if self.landmark is None:
            return []
        return [
            f"exposure counted by {format_duration(self.landmark)} after the start; "
            f"{plural(self.n_excluded, 'customer')} reached value or left before then "
            "and are not compared"
        ]

    def verdict(self) -> str:
        """The log-rank line."""
        dropped = (
            " (left out of the test, nobody at risk when others reached: "
            + ", ".join(map(self._group_name, self.dropped_from_test))
            + ")"
            if self.dropped_from_test
            else ""
        )
        if not self.logrank.testable:
            reason = self.not_testable or (
                "fewer than two groups have anyone at risk when someone reaches value"
            )
            return f"log-rank: no test, {reason}{dropped}"
        verdict = "a real difference" if self.significant else "no clear difference"
        return (
            f"log-rank chi2 {self.logrank.statistic:.3f}, df {self.logrank.dof}, "
            f"p {format_p(self.logrank.p_value)}: {verdict} at alpha {self.alpha:g}{dropped}"
        )
