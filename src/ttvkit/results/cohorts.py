"""Time to value per start cohort, the trend over time: :class:`CohortTable` and
its :class:`CohortRow` per cohort."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, ClassVar

import attrs

from ttvkit._format import (
    Table,
    ci_name,
    ci_text,
    format_duration,
    median_text,
    seconds_or_none,
    within_text,
)
from ttvkit.milestones import Milestone
from ttvkit.observations import Observation, Per
from ttvkit.results._common import warn_renamed
from ttvkit.results._display import Display
from ttvkit.results.distribution import TTVDistribution

__all__ = ["CohortRow", "CohortTable"]


@attrs.frozen
class CohortRow:
    """Customers whose clock started in one period."""

    start: datetime
    end: datetime
    distribution: TTVDistribution
    within: timedelta
    young: bool
    """Some members have been watched for less than ``within``: their figures may still move."""

    @property
    def n(self) -> int:
        return self.distribution.n

    @property
    def n_reached(self) -> int:
        """Customers of the cohort who reached the milestone."""
        return self.distribution.n_reached

    @property
    def n_censored(self) -> int:
        """Customers of the cohort still on the way (censored)."""
        return self.distribution.n_censored

    @property
    def median(self) -> timedelta | None:
        return self.distribution.median

    @property
    def share_within(self) -> float | None:
        """Share reaching the milestone within the table's horizon :attr:`within`
        (Kaplan–Meier); ``None`` when the horizon is beyond the cohort's follow-up.
        For another horizon, ask ``distribution.reached_within(duration)``."""
        return self.distribution.reached_within(self.within)

    @property
    def reached_within(self) -> float | None:
        """Deprecated: :attr:`share_within` (``reached_within`` is a method taking a
        duration on every other result)."""
        warn_renamed("CohortRow.reached_within", "CohortRow.share_within")
        return self.share_within

    @property
    def still_on_the_way(self) -> int:
        """Deprecated: :attr:`n_censored`, the name every result uses for this count."""
        warn_renamed("CohortRow.still_on_the_way", "CohortRow.n_censored")
        return self.n_censored

    @property
    def share_censored(self) -> float:
        return self.distribution.n_censored / self.distribution.n

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.distribution.median_ci
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "n_reached": self.n_reached,
            "still_on_the_way": self.n_censored,
            "median_seconds": seconds_or_none(self.median),
            "median_ci_seconds": [seconds_or_none(lo), seconds_or_none(hi)],
            "reached_within": self.share_within,
            "young": self.young,
        }


@attrs.frozen
class CohortTable(Display):
    """Time to value per start cohort: the trend over time."""

    kind: ClassVar[str] = "cohorts"

    milestone: Milestone
    as_of: datetime
    per: Per
    period: str
    within: timedelta
    rows: tuple[CohortRow, ...]

    def observations(self) -> tuple[Observation, ...]:
        return tuple(
            sorted(
                (o for r in self.rows for o in r.distribution.observations()),
                key=lambda o: o.customer_id,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone.to_dict(),
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "period": self.period,
            "within_seconds": self.within.total_seconds(),
            "cohorts": [r.to_dict() for r in self.rows],
        }

    # --- the view: what str(), HTML and reports show, in words

    def labels(self) -> list[str]:
        """Each cohort's start in words: its date (UTC), with the time where cohorts
        start within a day (a period of hours), so that no two rows read alike."""
        starts = [r.start for r in self.rows]
        if all(s.time() == time(0) for s in starts):
            return [s.date().isoformat() for s in starts]
        if all(s.second == 0 and s.microsecond == 0 for s in starts):
            return [s.strftime("%Y-%m-%d %H:%M") for s in starts]
        return [s.replace(tzinfo=None).isoformat(sep=" ") for s in starts]

    def table(self) -> Table:
        """One row per cohort; young cohorts marked with an asterisk."""
        within = format_duration(self.within)
        rows = [
            [
                label + (" *" if r.young else ""),
                str(r.n),
                str(r.n_reached),
                str(r.n_censored),
                median_text(r.median),
                ci_text(r.distribution.median_ci),
                within_text(r.share_within),
            ]
            for r, label in zip(self.rows, self.labels(), strict=True)
        ]
        ci = ci_name(self.rows[0].distribution.curve.alpha) if self.rows else "CI"
        headers = ["cohort", "n", "reached", "on the way", "median", ci, f"within {within}"]
        return Table(headers, rows)

    def notes(self) -> list[str]:
        """The young-cohort footnote, when a cohort is young."""
        if not any(r.young for r in self.rows):
            return []
        return [
            f"* young cohort: some customers watched for less than "
            f"{format_duration(self.within)}; its figures may still change"
        ]
