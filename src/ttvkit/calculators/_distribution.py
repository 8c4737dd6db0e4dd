"""The distribution of time to value: :func:`time_to_value`, and the
:class:`~ttvkit.results.TTVDistribution` every other analysis builds per group."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ttvkit import stats
from ttvkit.calculators._arguments import check_bands, check_milestone
from ttvkit.calculators._source import (
    Source,
    as_store,
    checked_as_of,
    drilldown_of,
    duration_cells,
    required_as_of,
)
from ttvkit.milestones import Milestone, SpeedBands
from ttvkit.observations import DurationCells, Observation, ObservationColumns, Per, check_per
from ttvkit.results import TTVDistribution


def columns_distribution(
    milestone: Milestone,
    columns: ObservationColumns,
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None = None,
    *,
    positions: Sequence[int] | None = None,
    alpha: float = 0.05,
) -> TTVDistribution:
    """A :class:`TTVDistribution` over the customers of *columns* (not empty).

    With *positions*, over the customers at those positions only: they are
    copied out of the columns only if the distribution's rows are asked for.
    """
    if positions is None:
        drilldown = columns.rows
    else:
        kept = positions

        def drilldown() -> list[Observation]:
            return columns.take(kept).rows()

    cells = columns.cells(positions)
    return distribution_of_cells(milestone, cells, as_of, per, bands, drilldown, alpha=alpha)


def distribution(
    milestone: Milestone,
    rows: Sequence[Observation],
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """A :class:`TTVDistribution` over *rows* (which must not be empty)."""
    cells = ObservationColumns.from_rows(rows).cells()
    kept = tuple(rows)
    return distribution_of_cells(milestone, cells, as_of, per, bands, lambda: kept)


def distribution_of_cells(
    milestone: Milestone,
    cells: DurationCells,
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None,
    drilldown: Callable[[], Sequence[Observation]],
    *,
    alpha: float = 0.05,
) -> TTVDistribution:
    """A :class:`TTVDistribution` from grouped cells; *drilldown* loads the rows on demand."""
    curve = stats.kaplan_meier_counts(cells.seconds(), cells.reached, cells.censored, alpha=alpha)
    return TTVDistribution(milestone, as_of, per, curve, cells, bands, drilldown=drilldown)


def time_to_value(
    source: Source,
    milestone: Milestone,
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """The distribution of time to *milestone* over every customer whose clock started.

    ``as_of`` is the analysis time: customers not yet there are censored at
    it (default: the latest event in the source). ``per="account"`` measures
    accounts instead of users. ``bands`` enables :meth:`TTVDistribution.speed_counts`.
    The engine hands back customers grouped by duration; the customers one row
    each are loaded only when :meth:`TTVDistribution.observations` asks.
    """
    milestone = check_milestone(milestone)
    per = check_per(per)
    if bands is not None:
        bands = check_bands(bands)
    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = required_as_of(store, as_of)
        cells = duration_cells(store, milestone, when, per)
        drilldown = drilldown_of(source, store, milestone, when, per)
    return distribution_of_cells(milestone, cells, when, per, bands, drilldown)
