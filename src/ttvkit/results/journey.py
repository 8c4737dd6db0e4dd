"""Value in stages: :class:`JourneyReport`, its :class:`StageResult` per stage and
:class:`JourneyRow` per customer (kept as :class:`JourneyPaths` columns)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from ttvkit._format import (
    Table,
    format_duration,
    format_share,
    median_text,
    plural,
    seconds_or_none,
    within_text,
)
from ttvkit.milestones import Journey, Milestone
from ttvkit.observations import Per, from_micros
from ttvkit.results._display import Display
from ttvkit.results.distribution import TTVDistribution

__all__ = ["JourneyPaths", "JourneyReport", "JourneyRow", "StageResult"]

_JOURNEY_WITHIN = timedelta(days=7)


@attrs.frozen
class JourneyRow:
    """One customer's way through a journey: when each stage was completed."""

    customer_id: str
    start: datetime
    stage_times: tuple[datetime | None, ...]
    censored_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "start": self.start.isoformat(),
            "stage_times": [None if t is None else t.isoformat() for t in self.stage_times],
            "censored_at": self.censored_at.isoformat(),
        }


@attrs.frozen
class JourneyPaths:
    """Every customer's way through a journey, as columns: what :class:`JourneyReport` keeps.

    ``customer_ids`` and ``starts`` have one entry per customer who started;
    ``stage_times`` one column per stage, each the time that customer
    completed the stage or ``None``. Times are integer microseconds since
    the Unix epoch (UTC). :meth:`rows` makes the :class:`JourneyRow` objects.
    """

    customer_ids: tuple[str, ...]
    starts: tuple[int, ...]
    stage_times: tuple[tuple[int | None, ...], ...]
    as_of: datetime

    def __len__(self) -> int:
        return len(self.customer_ids)

    def rows(self) -> tuple[JourneyRow, ...]:
        """One :class:`JourneyRow` per customer (built now, not stored)."""
        per_customer = (
            zip(*self.stage_times, strict=True)
            if self.stage_times
            else [()] * len(self.customer_ids)
        )
        return tuple(
            JourneyRow(
                customer,
                from_micros(start),
                tuple(None if t is None else from_micros(t) for t in times),
                self.as_of,
            )
            for customer, start, times in zip(
                self.customer_ids, self.starts, per_customer, strict=True
            )
        )


@attrs.frozen
class StageResult:
    """One stage of a journey.

    ``n_entered`` customers had completed the previous stage (every
    customer who started, for the first) and were not excluded at this one
    (``n_excluded``); ``distribution`` is the time from the previous stage to
    this one among them (``None`` when nobody entered).
    """

    milestone: Milestone
    n_entered: int
    n_reached: int
    distribution: TTVDistribution | None
    n_out_of_order: int
    """Customers who reached this stage's event before completing the previous stage."""
    n_excluded: int = 0
    """Customers left out from this stage on: they reached it before the start and the
    stage's ``before_start`` is ``"exclude"`` (as :func:`ttvkit.time_to_value` does)."""

    @property
    def share_reached(self) -> float | None:
        """Of those who entered, the share that completed this stage so far (raw: those
        still on the way count as not completing; see :meth:`reached_within`)."""
        return None if self.n_entered == 0 else self.n_reached / self.n_entered

    def reached_within(self, within: timedelta) -> float | None:
        """Kaplan–Meier share of the entrants completing the stage within *within* of
        the previous one (``None`` if nobody entered or beyond the follow-up)."""
        return None if self.distribution is None else self.distribution.reached_within(within)

    @property
    def median(self) -> timedelta | None:
        return None if self.distribution is None else self.distribution.median

    @property
    def n_reached_before_start(self) -> int:
        """Entrants who reached this stage before their start (counted at 0 from the
        previous stage; 0 when nobody entered)."""
        return 0 if self.distribution is None else self.distribution.n_reached_before_start

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.milestone.name,
            "n_entered": self.n_entered,
            "n_reached": self.n_reached,
            "share_reached": self.share_reached,
            "median_seconds_from_previous": seconds_or_none(self.median),
            "n_out_of_order": self.n_out_of_order,
            "n_excluded": self.n_excluded,
            "n_reached_before_start": self.n_reached_before_start,
        }


@attrs.frozen
class JourneyReport(Display):
    """Value in stages: reach, time per stage, and where customers stall."""

    kind: ClassVar[str] = "journey"

    journey: Journey
    as_of: datetime
    per: Per
    stages: tuple[StageResult, ...]
    paths: JourneyPaths = attrs.field(repr=False)
    within: timedelta = _JOURNEY_WITHIN
    """The horizon of :attr:`stall_by_share`: each stage's share completing within it."""

    @property
    def n_started(self) -> int:
        return len(self.paths)

    @property
    def rows(self) -> tuple[JourneyRow, ...]:
        """Per customer, when each stage was completed (built from :attr:`paths` when asked)."""
        return self.paths.rows()

    @property
    def stall_by_share(self) -> StageResult:
        """The stage the smallest Kaplan–Meier share of its entrants completes within
        :attr:`stall_horizon` of the previous stage (customers still on the way count
        for as long as they were watched). Stages nobody entered, or watched for no
        time at all, rank last."""
        horizon = self.stall_horizon

        def key(s: StageResult) -> tuple[int, float]:
            if s.distribution is None or not s.distribution.follow_up:
                return (1, 1.0)
            share = s.reached_within(horizon)
            return (0, 1.0 if share is None else share)

        return min(self.stages, key=key)

    @property
    def stall_horizon(self) -> timedelta:
        """The horizon :attr:`stall_by_share` compares the stages at: :attr:`within`,
        or the longest time every stage's entrants were watched if shorter. Each stage's
        share is then known: a stage watched for two days is not ranked after one that
        everyone completed within the week, nor before it, on a guess."""
        # Only a stage whose share within the horizon is unknown shortens it.
        watched = [
            s.distribution.follow_up
            for s in self.stages
            if s.distribution is not None
            and s.distribution.follow_up
            and s.reached_within(self.within) is None
        ]
        return min([self.within, *watched])

    @property
    def stall_by_time(self) -> StageResult:
        """The stage with the longest median time from the previous one (not reached = longest)."""

        def key(s: StageResult) -> float:
            if s.distribution is None:
                return -1.0
            m = s.median
            return math.inf if m is None else m.total_seconds()

        return max(self.stages, key=key)

    def observations(self) -> tuple[JourneyRow, ...]:
        """Per customer, when each stage was completed."""
        return self.rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "journey": [s.name for s in self.journey.stages],
            "as_of": self.as_of.isoformat(),
            "per": self.per,
            "n_started": self.n_started,
            "stages": [s.to_dict() for s in self.stages],
            "within_seconds": self.within.total_seconds(),
            "stall_by_share": self.stall_by_share.milestone.name,
            "stall_horizon_seconds": self.stall_horizon.total_seconds(),
            "stall_by_time": self.stall_by_time.milestone.name,
        }

    # --- the view: what str(), HTML and reports show, in words

    def table(self) -> Table:
        """One row per stage: entered, completed, shares, median from the previous stage."""
        within = format_duration(self.within)
        rows = [
            [
                f"{i}. {s.milestone.name}",
                str(s.n_entered),
                str(s.n_reached),
                format_share(s.share_reached),
                "-" if s.distribution is None else within_text(s.reached_within(self.within)),
                median_text(s.median) if s.distribution is not None else "-",
            ]
            for i, s in enumerate(self.stages, start=1)
        ]
        headers = ["stage", "entered", "completed", "share", f"within {within}", "median"]
        return Table(headers, rows)

    def notes(self) -> list[str]:
        """How to read the table, and where customers stall."""
        excluded = [s for s in self.stages if s.n_excluded]
        return [
            "share = completed of entered so far; within = Kaplan–Meier share completing "
            "within the horizon of the previous stage; median = time from the previous stage",
            *(
                f"{s.milestone.name}: {plural(s.n_excluded, 'customer')} left out "
                "(reached before the start, before_start='exclude')"
                for s in excluded
            ),
            f"stalls most: {self.stall_by_share.milestone.name} (lowest share within "
            f"{format_duration(self.stall_horizon)}{self._horizon_note()}), "
            f"{self.stall_by_time.milestone.name} (longest wait)",
        ]

    def _horizon_note(self) -> str:
        if self.stall_horizon == self.within:
            return ""
        return ", the longest every stage was watched"

    def title(self) -> str:
        return (
            f"Journey: {' -> '.join(s.name for s in self.journey.stages)} "
            f"({plural(self.n_started, 'customer')} started)"
        )
