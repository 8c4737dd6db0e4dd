"""Value in stages: :func:`journey`, who completes each stage, how long it takes from
the previous one, and where customers stall."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

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
    # Per stage and customer: (time reached or None, censoring time, reached before
    # the start), as the store settled it.
    settled: list[dict[str, tuple[int | None, int, bool]]] = [
        {
            c: (e if o else None, e, b)
            for c, e, o, b in zip(
                cols.customer_ids, cols.ends, cols.observed, cols.reached_before_start, strict=True
            )
        }
        for cols in per_stage_columns
    ]
    # Each stage's customers as columns (starts and ends in microseconds): its
    # distribution is computed from them, and Observation objects are made only on
    # drill-down.
    entered: list[_StageColumns] = [_StageColumns() for _ in plan.stages]
    stage_times: list[list[int | None]] = [[] for _ in plan.stages]
    out_of_order = [0] * len(plan.stages)
    excluded = [0] * len(plan.stages)
    for customer, start_us in zip(started.customer_ids, started.starts, strict=True):
        previous: int | None = start_us
        for i, stage_settled in enumerate(settled):
            if previous is None:
                stage_times[i].append(None)
                continue
            mine = stage_settled.get(customer)
            if mine is None:  # before_start="exclude": out of the journey from here
                excluded[i] += 1
                previous = None
                stage_times[i].append(None)
                continue
            reached, censor, before = mine
            if reached is not None and i > 0 and reached < previous:
                out_of_order[i] += 1
            done = None if reached is None else max(reached, previous)
            entered[i].add(
                customer,
                previous,
                done if done is not None else max(censor, previous),
                done is not None,
                before,
            )
            stage_times[i].append(done)
            previous = done
    results = []
    for stage, stage_columns, n_ooo, n_out in zip(
        plan.stages, entered, out_of_order, excluded, strict=True
    ):
        columns = stage_columns.columns()
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


@attrs.define
class _StageColumns:
    """The customers entering one stage, gathered column by column."""

    customer_ids: list[str] = attrs.Factory(list)
    starts: list[int] = attrs.Factory(list)
    ends: list[int] = attrs.Factory(list)
    observed: list[bool] = attrs.Factory(list)
    reached_before_start: list[bool] = attrs.Factory(list)

    def add(self, customer: str, start: int, end: int, observed: bool, before: bool) -> None:
        self.customer_ids.append(customer)
        self.starts.append(start)
        self.ends.append(end)
        self.observed.append(observed)
        self.reached_before_start.append(before)

    def columns(self) -> ObservationColumns:
        return ObservationColumns(
            tuple(self.customer_ids),
            tuple(self.starts),
            tuple(self.ends),
            tuple(self.observed),
            tuple(self.reached_before_start),
        )
