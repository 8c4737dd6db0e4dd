"""Value in stages: :func:`journey`, who completes each stage, how long it takes from
the previous one, and where customers stall."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from ttvkit.calculators._arguments import DEFAULT_WITHIN, check_timedelta
from ttvkit.calculators._distribution import distribution
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
from ttvkit.observations import Observation, Per, check_per, from_micros
from ttvkit.results import JourneyReport, JourneyRow, StageResult


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
    journey_rows: list[JourneyRow] = []
    per_stage: list[list[Observation]] = [[] for _ in plan.stages]
    out_of_order = [0] * len(plan.stages)
    excluded = [0] * len(plan.stages)
    for customer, start_us in zip(started.customer_ids, started.starts, strict=True):
        completed: list[datetime | None] = []
        previous: int | None = start_us
        for i, stage_settled in enumerate(settled):
            if previous is None:
                completed.append(None)
                continue
            mine = stage_settled.get(customer)
            if mine is None:  # before_start="exclude": out of the journey from here
                excluded[i] += 1
                previous = None
                completed.append(None)
                continue
            reached, censor, before = mine
            if reached is not None and i > 0 and reached < previous:
                out_of_order[i] += 1
            done = None if reached is None else max(reached, previous)
            end = done if done is not None else max(censor, previous)
            per_stage[i].append(
                Observation(
                    customer_id=customer,
                    start=from_micros(previous),
                    reached_at=None if done is None else from_micros(done),
                    end=from_micros(end),
                    reached_before_start=before,
                )
            )
            completed.append(None if done is None else from_micros(done))
            previous = done
        journey_rows.append(JourneyRow(customer, from_micros(start_us), tuple(completed), when))
    results = []
    for stage, obs, n_ooo, n_out in zip(
        plan.stages, per_stage, out_of_order, excluded, strict=True
    ):
        results.append(
            StageResult(
                milestone=stage,
                n_entered=len(obs),
                n_reached=sum(1 for x in obs if x.observed),
                distribution=distribution(stage, obs, when, per) if obs else None,
                n_out_of_order=n_ooo,
                n_excluded=n_out,
            )
        )
    return JourneyReport(plan, when, per, tuple(results), tuple(journey_rows), within=within)
