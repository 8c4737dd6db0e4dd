"""Public API used as a user would; only type-checked (mypy --strict), never run.

If a change to ttvkit's types breaks this file, it breaks users' type checks too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ttvkit as ttv
from ttvkit import milestones
from ttvkit.observations import Observation
from ttvkit.stats import SurvivalCurve, kaplan_meier, logrank_test
from ttvkit.testing import EventLog, FrozenClock


def build_milestones() -> list[ttv.Milestone]:
    signup = ttv.event("signup", where={"plan": ttv.one_of("free", "pro")})
    return [
        ttv.Milestone("first_report", start=signup, reached=ttv.event("report_created")),
        ttv.Milestone(
            "ten_reports",
            reached=ttv.event("report_created").nth(10),
            kind=ttv.MilestoneKind.EXCEED,
            window=timedelta(days=30),
        ),
        milestones.roi("invoice_paid", "amount", 1000),
        milestones.onboarding(["profile_done", ttv.event("invite_sent")]),
        milestones.feature_adoption("export_used", datetime(2026, 6, 1, tzinfo=UTC)),
        ttv.Milestone(
            "big", ttv.total("invoice_paid", "amount", at_least=5, where={"x": ttv.gt(1)})
        ),
    ]


def analyse(store: ttv.Store, milestone: ttv.Milestone) -> dict[str, object]:
    dist: ttv.TTVDistribution = ttv.time_to_value(store, milestone, per="account")
    median: timedelta | None = dist.median
    lo, hi = dist.median_ci
    p90: timedelta | None = dist.percentile(0.9)
    share: float | None = dist.reached_within(timedelta(days=7))  # None beyond follow-up
    counts: dict[ttv.Speed, int] = dist.speed_counts(
        ttv.SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
    )
    rows: tuple[Observation, ...] = dist.observations()
    curve: SurvivalCurve = dist.curve
    return {
        "median": median,
        "ci": (lo, hi),
        "p90": p90,
        "share": share,
        "counts": counts,
        "n": len(rows),
        "curve": curve.to_dict(),
        "dict": dist.to_dict(),
    }


def statistics() -> float:
    curve = kaplan_meier([1.0, 2.0, 3.0], [True, False, True], ci="linear")
    result = logrank_test([1.0, 2.0, 3.0, 4.0], [True, True, False, True], ["a", "a", "b", "b"])
    return curve.median + result.p_value


def testing_helpers() -> ttv.Store:
    clock = FrozenClock("2026-01-01T00:00:00Z")
    log = EventLog(clock)
    log.add("u1", "signup", {"plan": "pro"})
    clock.advance(hours=2)
    event: ttv.ValueEvent = log.add("u1", "report_created")
    assert event.timestamp == clock()
    return log.store()


def analyses(store: ttv.Store) -> list[object]:
    first = milestones.first_value("report_created")
    bands = ttv.SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
    by_plan: ttv.Comparison = ttv.compare(store, first, by="plan", within=timedelta(days=3))
    exposed: ttv.Comparison = ttv.compare(store, first, by=ttv.event("tutorial_completed"))
    ranking: ttv.ImpactReport = ttv.impact(
        store,
        first,
        {"tutorial_completed": timedelta(hours=3), ttv.event("csm_assigned"): timedelta(days=1)},
    )
    # A dict of names alone, as docs/analysis.md writes it (Mapping is invariant in its keys).
    levers = {"tutorial_completed": timedelta(hours=3), "csm_assigned": timedelta(hours=12)}
    by_name: ttv.ImpactReport = ttv.impact(store, first, levers, bootstrap=0)
    table: ttv.CohortTable = ttv.cohorts(store, first, "week")
    stages: ttv.JourneyReport = ttv.journey(store, ttv.Journey([milestones.onboarding(), first]))
    happy: ttv.SatisfactionReport = ttv.satisfaction(store, first, bands=bands)
    delta: timedelta | None = by_plan.group("pro").median_difference
    waiting: ttv.Speed = happy.group(ttv.Speed.NOT_YET).speed
    censored: int = table.rows[0].n_censored
    share: float | None = table.rows[0].share_within
    return [
        by_plan,
        exposed,
        ranking,
        by_name,
        table,
        stages,
        happy,
        delta,
        ranking.rows[0].p_adjusted,
        waiting,
        censored,
        share,
    ]


def tracking(store: ttv.Store) -> ttv.TrackerStats:
    config = ttv.TrackerConfig(batch_size=500, when_full="drop")
    with ttv.Tracker(store, config=config, clock=FrozenClock()) as tracker:
        event: ttv.ValueEvent = tracker.track("u1", "signup", properties={"plan": "pro"})
        assert event.user_id == "u1"
        durable: bool = tracker.flush(timeout=timedelta(seconds=2))
        assert durable
        return tracker.stats()


def reading(path: str) -> int:
    from ttvkit import io

    reader = io.read_csv(path, mapping=io.ColumnMapping(user="distinct_id", name="event"))
    events = list(reader)
    return len(events) + reader.skipped


def notebooks(dist: ttv.TTVDistribution, comparison: ttv.Comparison) -> bytes:
    from matplotlib.axes import Axes

    from ttvkit import plotting

    ax: Axes = dist.plot()
    comparison.plot(ax=ax)
    html: str = dist._repr_html_()
    assert html.startswith("<div")
    frame = dist.to_pandas()
    assert len(frame) > 0
    return plotting.to_png(comparison, width=6.0)


def files_at_rest(milestone: ttv.Milestone) -> list[object]:
    from pathlib import Path

    from ttvkit.io import ColumnMapping
    from ttvkit.stores.duckdb import DuckDBStore

    mapping = ColumnMapping(user="distinct_id", name="event")
    with ttv.scan("exports/*.parquet", mapping=mapping, on_error="skip") as events:
        source: ttv.Source = events
        skipped: int = events.skipped
        rows: list[tuple[object, ...]] = events.query(
            f"SELECT count(*) FROM {events.relation_sql} WHERE name = ?", ["signup"]
        )
        dist = ttv.time_to_value(source, milestone)
    from_path = ttv.time_to_value(Path("events.csv"), milestone)
    with DuckDBStore("ttv.duckdb") as store:
        store_source: ttv.Store = store
        engine: str = store.sql_engine
    return [skipped, rows, dist, from_path, store_source, engine]


def tables(milestone: ttv.Milestone) -> list[object]:
    # polars 2 has no __dataframe__: scan() and the analyses took no polars table
    # for mypy, though they read one.
    import polars as pl

    frame = pl.DataFrame({"user_id": ["u1"], "name": ["signup"], "timestamp": ["2026-01-01"]})
    with ttv.scan(frame) as scanned:
        counted: int = scanned.count()
    return [counted, ttv.time_to_value(frame, milestone)]
