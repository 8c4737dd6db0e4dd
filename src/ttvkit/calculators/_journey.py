"""Value in stages: :func:`journey`, who completes each stage, how long it takes from
the previous one, and where customers stall."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, cast

import attrs

from ttvkit.calculators._arguments import DEFAULT_WITHIN, check_timedelta
from ttvkit.calculators._distribution import columns_distribution
from ttvkit.calculators._source import (
    Source,
    as_store,
    check_event_names,
    checked_as_of,
    load_columns,
    observation_columns,
    required_as_of,
)
from ttvkit.milestones import Journey, Milestone
from ttvkit.observations import ObservationColumns, Per, check_per
from ttvkit.results import JourneyPaths, JourneyReport, StageResult


def journey(
    source: Source,
    stages: Journey | Sequence[Milestone],
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    within: timedelta = DEFAULT_WITHIN,
) -> JourneyReport:
    """Value in stages: per stage, who completes it, how long it takes from the previous
    stage (Kaplan–Meier), and where customers stall.

    A customer completes stage *i* when they have reached it and every
    earlier stage. Each stage is reached exactly as :func:`time_to_value`
    reaches it as a milestone of its own (the store applies the stage's
    ``before_start`` and ``window``, from the journey's start): a customer
    excluded by ``before_start="exclude"`` leaves the journey at that stage.
    :attr:`JourneyReport.stall_by_share` ranks stages by the Kaplan–Meier
    share completing ``within`` the horizon of the previous stage.
    """
    plan = stages if isinstance(stages, Journey) else Journey(stages)
    per = check_per(per)
    within = check_timedelta(within, "within", allow_zero=False)
    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = required_as_of(store, as_of)
        # The journey's customers: everyone whose clock started. A first stage with
        # before_start="exclude" leaves out those who reached it before the start, so
        # they are asked for with "zero" (the same customers and starts): they leave
        # the journey at stage 1, counted in its n_excluded, as at any later stage.
        first_stage = plan.stages[0]
        started = load_columns(
            store,
            attrs.evolve(first_stage, before_start="zero")
            if first_stage.before_start == "exclude"
            else first_stage,
            when,
            per,
        )
        # One question per stage, so the store applies the one rule of observe().
        per_stage_columns = [
            observation_columns(store, first_stage, when, per)
            if first_stage.before_start == "exclude"
            else started
        ]
        for stage in plan.stages[1:]:
            check_event_names(store, stage)
            columns = observation_columns(store, stage, when, per)
            per_stage_columns.append(columns)
    # Stage by stage, every started customer's position: the time they completed
    # the previous stage (their start before the first), or None once out of the
    # journey. Each stage's customers become columns (starts and ends in
    # microseconds): its distribution is computed from them, and Observation
    # objects are made only on drill-down.
    previous: list[int | None] = list(started.starts)
    entered: list[ObservationColumns] = []
    stage_times: list[list[int | None]] = []
    out_of_order: list[int] = []
    excluded: list[int] = []
    for i, columns in enumerate(per_stage_columns):
        settled = _enter_stage(started.customer_ids, previous, columns, later=i > 0)
        entered.append(settled.columns)
        stage_times.append(settled.completed)
        out_of_order.append(settled.out_of_order)
        excluded.append(settled.excluded)
        previous = settled.completed
    results = []
    for stage, columns, n_ooo, n_out in zip(
        plan.stages, entered, out_of_order, excluded, strict=True
    ):
        results.append(
            StageResult(
                milestone=stage,
                n_entered=len(columns),
                n_reached=sum(columns.observed),
                distribution=columns_distribution(stage, columns, when, per) if columns else None,
                n_out_of_order=n_ooo,
                n_excluded=n_out,
            )
        )
    paths = JourneyPaths(started.customer_ids, started.starts, tuple(map(tuple, stage_times)), when)
    return JourneyReport(plan, when, per, tuple(results), paths, within=within)


class _Stage(NamedTuple):
    """One stage of the journey, as :func:`_enter_stage` settles it."""

    columns: ObservationColumns
    """The customers who entered the stage: from the previous stage's time on."""
    completed: list[int | None]
    """Per started customer, the time they completed this stage, or None."""
    out_of_order: int
    """Customers who reached this stage before completing the previous one."""
    excluded: int
    """Customers the stage's ``before_start="exclude"`` left out of the journey."""


def _enter_stage(
    customer_ids: Sequence[str],
    previous: Sequence[int | None],
    stage: ObservationColumns,
    *,
    later: bool,
) -> _Stage:
    """Settle one stage for every started customer, column by column.

    *previous* holds, per started customer (in *customer_ids*' order), the
    time the previous stage was completed, or None for those out of the
    journey. A customer who entered and whom the stage's question has not
    (``before_start="exclude"``) is out from here; the others complete the
    stage at ``max(reached, previous)``, or are watched from *previous* to
    their censoring time (never before *previous*). A *later* stage reached
    before the previous one was completed counts as out of order.
    """
    entering = [k for k, p in enumerate(previous) if p is not None]
    if stage.customer_ids == customer_ids:  # the same customers, in the same order
        positions = rows = entering
    else:
        position = dict(zip(stage.customer_ids, range(len(stage)), strict=True))
        found = list(map(position.get, customer_ids))
        inside = [
            (k, j)
            for k, j in zip(entering, map(found.__getitem__, entering), strict=True)
            if j is not None
        ]
        positions = [k for k, _ in inside]
        rows = [j for _, j in inside]
    # Customers who entered the stage have the time they completed the previous one.
    starts = cast("list[int]", list(map(previous.__getitem__, positions)))
    ends = list(map(stage.ends.__getitem__, rows))
    reached = [
        e if o else None for e, o in zip(ends, map(stage.observed.__getitem__, rows), strict=True)
    ]
    done = [None if r is None else r if r > p else p for r, p in zip(reached, starts, strict=True)]
    completed: list[int | None] = [None] * len(customer_ids)
    deque(map(completed.__setitem__, positions, done), maxlen=0)
    watched = [
        d if d is not None else e if e > p else p
        for d, e, p in zip(done, ends, starts, strict=True)
    ]
    columns = ObservationColumns(
        tuple(map(customer_ids.__getitem__, positions)),
        tuple(starts),
        tuple(watched),
        tuple([d is not None for d in done]),
        tuple(map(stage.reached_before_start.__getitem__, rows)),
    )
    out_of_order = (
        sum(r is not None and r < p for r, p in zip(reached, starts, strict=True)) if later else 0
    )
    return _Stage(columns, completed, out_of_order, len(entering) - len(positions))
