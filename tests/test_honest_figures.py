"""Issue 10, "honest figures" and the small things users notice: each test failed before the fix."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from dateutil.relativedelta import relativedelta

import ttvkit as ttv
from ttvkit import AnalysisError, Milestone, Speed, SpeedBands, event
from ttvkit._format import format_duration
from ttvkit.milestones import BeforeStart
from ttvkit.observations import observe
from ttvkit.testing import EventLog, FrozenClock

T0 = datetime(2026, 1, 5, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
REPORT = Milestone("first_report", event("report"))
DOCS = Path(__file__).resolve().parent.parent / "docs"


def five_days() -> EventLog:
    """Four customers watched for at most five days; two still on the way."""
    lg = EventLog(FrozenClock(T0))
    for user, hours in {"a": 2, "b": 30, "c": None, "d": None}.items():
        lg.add(user, "signup", at=T0)
        if hours is not None:
            lg.add(user, "report", at=T0 + hours * H)
    lg.add("zz", "heartbeat", at=T0 + 5 * D)
    return lg


# --------------------------------------------------------------------------- reached_within


def test_reached_within_beyond_the_follow_up_is_unknown_not_carried_forward() -> None:
    dist = ttv.time_to_value(five_days(), REPORT)
    assert dist.follow_up == 5 * D
    assert dist.reached_within(D) == pytest.approx(0.25)
    assert dist.reached_within(5 * D) == pytest.approx(0.5)
    assert dist.reached_within(5 * D + timedelta(microseconds=1)) is None
    assert dist.reached_within(30 * D) is None
    assert dist.to_dict()["reached_within"][str(30 * 86400)] is None
    assert "30d n/a beyond follow-up" in str(dist)
    assert "n/a beyond follow-up" in dist._repr_html_()


def test_reached_within_after_everyone_reached_is_known() -> None:
    lg = EventLog(FrozenClock(T0))
    for user in ("a", "b"):
        lg.add(user, "signup", at=T0)
        lg.add(user, "report", at=T0 + H)
    dist = ttv.time_to_value(lg, REPORT)
    assert dist.reached_within(30 * D) == 1.0


def test_cohort_and_comparison_shares_beyond_the_follow_up_are_unknown() -> None:
    lg = five_days()
    for user in ("a", "b", "c", "d"):
        lg.add(user + "2", "signup", {"plan": "pro"}, at=T0)
    table = ttv.cohorts(lg, REPORT, within=30 * D)
    assert table.rows[0].share_within is None
    assert "n/a beyond follow-up" in str(table)
    lg.add("e", "report", at=T0 + 4 * H)
    lg.add("e", "signup", {"plan": "pro"}, at=T0)
    result = ttv.compare(lg, REPORT, by="plan", within=30 * D, bootstrap=0)
    other = result.groups[1]
    assert other.reached_within_difference is None
    assert other.reached_within_difference_ci is None


# --------------------------------------------------------------------------- speed bands


@pytest.mark.filterwarnings("ignore::ttvkit.errors.UnknownEventWarning")
def test_censored_at_exactly_short_is_long() -> None:
    lg = EventLog(FrozenClock(T0))
    lg.add("a", "signup", at=T0)
    lg.add("b", "signup", at=T0 + H)  # censored at 7d - 1h: undetermined
    lg.add("zz", "heartbeat", at=T0 + 7 * D)  # a is censored at exactly 7d
    bands = SpeedBands(immediate=H, short=7 * D)
    counts = ttv.time_to_value(lg, REPORT, bands=bands).speed_counts()
    assert counts[Speed.LONG] == 1
    assert counts[Speed.UNDETERMINED] == 1


# --------------------------------------------------------------------------- journey


def journey_log() -> EventLog:
    """Events before the start, nth counts spanning the start, a late first stage."""
    lg = EventLog(FrozenClock(T0))
    # p: reported twice before signing up, once after: "ignore" must see the
    # completion after the start, and nth(2) must not count the early reports.
    lg.add("p", "report", at=T0 - 2 * D)
    lg.add("p", "report", at=T0 - D)
    lg.add("p", "signup", at=T0)
    lg.add("p", "onboarded", at=T0 + H)
    lg.add("p", "report", at=T0 + 3 * H)
    # q: onboarded before signing up (stage 1 before the start)
    lg.add("q", "onboarded", at=T0 - H)
    lg.add("q", "signup", at=T0)
    lg.add("q", "report", at=T0 + 2 * H)
    lg.add("q", "report", at=T0 + 5 * H)
    # r: plain, slow
    lg.add("r", "signup", at=T0)
    lg.add("r", "onboarded", at=T0 + 4 * H)
    lg.add("r", "report", at=T0 + 6 * H)
    # s: reported before signing up, never again
    lg.add("s", "report", at=T0 - H)
    lg.add("s", "signup", at=T0)
    lg.add("s", "onboarded", at=T0 + 2 * H)
    lg.add("zz", "heartbeat", at=T0 + 2 * D)
    return lg


@pytest.mark.parametrize("mode", ["zero", "ignore", "exclude"])
def test_journey_stages_follow_observe_for_every_before_start_mode(mode: BeforeStart) -> None:
    stages = [
        Milestone("onboarded", event("onboarded"), before_start=mode),
        Milestone("first_report", event("report"), before_start=mode),
        Milestone("second_report", event("report").nth(2), before_start=mode),
    ]
    lg = journey_log()
    report = ttv.journey(lg, stages)
    as_of = T0 + 2 * D
    reference = [
        {o.customer_id: o for o in observe(lg.events, stage, as_of=as_of)} for stage in stages
    ]
    rows = {r.customer_id: r for r in report.observations()}
    # Everyone whose clock started is in the journey, an excluded customer too.
    started = attrs.evolve(stages[0], before_start="zero")
    assert set(rows) == {o.customer_id for o in observe(lg.events, started, as_of=as_of)}
    for customer, row in rows.items():
        done: datetime | None = row.start
        for i, observation in enumerate(o.get(customer) for o in reference):
            # A stage is completed when it and every earlier stage are reached,
            # each reached exactly as observe() reaches it.
            if done is None or observation is None or observation.reached_at is None:
                done = None
            else:
                done = max(done, observation.reached_at)
            assert row.stage_times[i] == done, (mode, customer, i)
    excluded = [s.n_excluded for s in report.stages]
    if mode == "exclude":
        # q onboarded before the start: out from stage 1, counted there, no stage done;
        # p and s reported before the start: out from stage 2.
        assert rows["q"].stage_times == (None, None, None)
        assert excluded == [1, 2, 0]
    else:
        assert excluded == [0, 0, 0]


@pytest.mark.parametrize("mode", ["zero", "ignore", "exclude"])
def test_journey_stages_are_the_same_from_sqlite(mode: BeforeStart, tmp_path: Path) -> None:
    stages = [
        Milestone("onboarded", event("onboarded"), before_start=mode),
        Milestone("first_report", event("report"), before_start=mode, window=4 * H),
        Milestone("second_report", event("report").nth(2), before_start=mode),
    ]
    lg = journey_log()
    with ttv.open_store(f"sqlite:///{tmp_path / 'ttv.db'}") as store:
        store.append(lg.events)
        from_sql = ttv.journey(store, stages)
    in_memory = ttv.journey(lg, stages)
    assert from_sql.to_dict() == in_memory.to_dict()
    assert from_sql.rows == in_memory.rows


def test_journey_ignore_keeps_completions_after_earlier_events_and_counts_nth_after_start() -> None:
    stages = [
        Milestone("onboarded", event("onboarded"), before_start="ignore"),
        Milestone("first_report", event("report"), before_start="ignore"),
        Milestone("second_report", event("report").nth(2), before_start="ignore"),
    ]
    rows = {r.customer_id: r.stage_times for r in ttv.journey(journey_log(), stages).rows}
    # p's only report after the start is its first (not its third) one.
    assert rows["p"] == (T0 + H, T0 + 3 * H, None)
    # q onboarded before the start: ignored, so q never completes stage 1.
    assert rows["q"] == (None, None, None)


def test_journey_exclude_is_not_zero() -> None:
    def stages(mode: BeforeStart) -> list[Milestone]:
        return [
            Milestone("onboarded", event("onboarded")),
            Milestone("first_report", event("report"), before_start=mode),
        ]

    zero = ttv.journey(journey_log(), stages("zero"))
    exclude = ttv.journey(journey_log(), stages("exclude"))
    assert zero.stages[1].n_entered == 4
    assert exclude.stages[1].n_entered == 2  # p and s reported before their start
    assert exclude.stages[1].n_excluded == 2
    assert "2 customers left out" in str(exclude)
    # With "zero" they count at 0 from the previous stage, and every view says how many.
    before = zero.stages[1].n_reached_before_start
    assert before == 2 and exclude.stages[1].n_reached_before_start == 0
    assert zero.stages[1].to_dict()["n_reached_before_start"] == before
    assert zero.to_dict()["stages"][1]["n_reached_before_start"] == before


def test_journey_stall_ranks_by_the_kaplan_meier_share_within_a_horizon() -> None:
    lg = EventLog(FrozenClock(T0))
    as_of = T0 + 10 * D
    for user in ("o1", "o2", "o3", "o4"):  # long watched, all onboard within the hour
        lg.add(user, "signup", at=T0)
        lg.add(user, "onboarded", at=T0 + H)
    for user in ("o1", "o2"):  # half of them report soon after; the rest never
        lg.add(user, "report", at=T0 + 3 * H)
    for i in range(6):  # signed up half an hour ago: not onboarded *yet*
        lg.add(f"n{i}", "signup", at=as_of - H / 2)
    lg.add("zz", "heartbeat", at=as_of)
    stages = [Milestone("onboarded", event("onboarded")), Milestone("first_report", "report")]
    report = ttv.journey(lg, stages, within=7 * D)
    onboarded, first = report.stages
    # Raw shares blame onboarding (4 of 10) over reporting (2 of 4)...
    assert onboarded.share_reached == pytest.approx(0.4)
    assert first.share_reached == pytest.approx(0.5)
    # ...but everyone watched for an hour onboarded: the stall is the report.
    assert onboarded.reached_within(7 * D) == pytest.approx(1.0)
    assert first.reached_within(7 * D) == pytest.approx(0.5)
    assert report.stall_by_share is first
    assert report.to_dict()["stall_by_share"] == "first_report"
    assert report.stall_horizon == 7 * D


def test_journey_stall_compares_stages_at_a_horizon_every_stage_was_watched() -> None:
    """Everyone completes stage a in 10 minutes; b and c were watched about a day, less
    than the week's horizon. a (100 %) is not the stall because the others' week is
    unknown: all three are compared at the longest time every stage was watched."""
    lg = EventLog(FrozenClock(T0))
    for i in range(30):
        lg.add(f"u{i}", "signup", at=T0 + i * H)
        lg.add(f"u{i}", "a", at=T0 + i * H + H / 6)
        if i % 2:
            lg.add(f"u{i}", "b", at=T0 + i * H + H)
    lg.add("u1", "c", at=T0 + 20 * H)
    report = ttv.journey(lg, [Milestone(n, n) for n in "abc"], within=7 * D)
    a, b, c = report.stages
    assert a.reached_within(7 * D) == 1.0
    assert b.reached_within(7 * D) is None and c.reached_within(7 * D) is None
    horizon = report.stall_horizon
    assert horizon == min(b.distribution.follow_up, c.distribution.follow_up)  # type: ignore[union-attr]
    assert H < horizon < 7 * D
    assert report.stall_by_share is c  # 1 of 15 completed c
    assert f"lowest share within {format_duration(horizon)}" in str(report)
    assert report.to_dict()["stall_horizon_seconds"] == horizon.total_seconds()


# --------------------------------------------------------------------------- compare


def flag_log(values: dict[str, object]) -> EventLog:
    lg = EventLog(FrozenClock(T0))
    for i, (user, value) in enumerate(values.items()):
        lg.add(user, "signup", {"trial": value}, at=T0)  # type: ignore[dict-item]
        lg.add(user, "report", at=T0 + (i + 1) * H)
    lg.add("zz", "heartbeat", at=T0 + 2 * D)
    return lg


def test_compare_keeps_true_and_1_apart() -> None:
    lg = flag_log({"a": True, "b": 1, "c": True, "d": 1.0, "e": False, "f": 0})
    result = ttv.compare(lg, REPORT, by="trial", bootstrap=0)
    labels = [(type(g.label), g.label) for g in result.groups]
    assert labels == [(bool, False), (bool, True), (int, 0), (int, 1)]
    assert [g.n for g in result.groups] == [1, 2, 1, 2]  # 1 and 1.0 are one group
    assert result.logrank.dof == 3
    one = ttv.compare(lg, REPORT, by="trial", reference=1, groups=[1, True], bootstrap=0)
    assert [(type(g.label), g.label) for g in one.groups] == [(int, 1), (bool, True)]
    assert one.reference == 1 and type(one.reference) is int


def three_plans() -> EventLog:
    """Plans free and pro overlap; plan "new" signed up ten minutes before as_of."""
    lg = EventLog(FrozenClock(T0))
    for plan, hours in (("free", [3, 5, 8, None]), ("pro", [1, 2, 4, None])):
        for i, h in enumerate(hours):
            user = f"{plan}{i}"
            lg.add(user, "signup", {"plan": plan}, at=T0)
            if h is not None:
                lg.add(user, "report", at=T0 + h * H)
    for i in range(3):
        lg.add(f"new{i}", "signup", {"plan": "new"}, at=T0 + D - timedelta(minutes=10))
    lg.add("zz", "heartbeat", at=T0 + D)
    return lg


def test_compare_drops_a_group_nobody_of_which_is_at_risk_as_survdiff_does() -> None:
    result = ttv.compare(three_plans(), REPORT, by="plan", bootstrap=0)
    assert result.dropped_from_test == ("new",)
    assert result.logrank.dof == 1
    # R 4.x, survival 3.5.3, survdiff(Surv(t, s) ~ g) on these customers (t in hours):
    # "g=new 3 0 0.00 ... Chisq= 0.4 on 1 degrees of freedom", printed to 15 digits.
    assert result.logrank.statistic == pytest.approx(0.416774846440021, rel=1e-12)
    assert result.p_value == pytest.approx(0.518550735932997, rel=1e-12)
    two = ttv.compare(three_plans(), REPORT, by="plan", groups=["free", "pro"], bootstrap=0)
    assert result.logrank.statistic == pytest.approx(two.logrank.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(two.p_value, rel=1e-12)
    assert [g.label for g in result.groups] == ["free", "new", "pro"]  # still shown
    assert "left out of the test" in str(result)
    assert result.to_dict()["dropped_from_test"] == ["new"]


def exposure_log() -> EventLog:
    lg = EventLog(FrozenClock(T0))
    for user, hours in {"a": 30, "b": 40, "c": 50, "d": None}.items():
        lg.add(user, "signup", at=T0)
        lg.add(user, "tutorial_completed", at=T0 + 2 * H)
        if hours:
            lg.add(user, "report", at=T0 + hours * H)
    for user, hours in {"e": 60, "f": 90, "g": None, "h": 100}.items():
        lg.add(user, "signup", at=T0)
        if hours:
            lg.add(user, "report", at=T0 + hours * H)
    lg.add("zz", "heartbeat", at=T0 + 200 * H)
    return lg


@pytest.mark.filterwarnings("ignore::ttvkit.errors.UnknownEventWarning")
def test_impact_reports_a_lever_nobody_used_as_not_testable() -> None:
    report = ttv.impact(
        exposure_log(), REPORT, ["tutorial_completed", "webinar_attended"], bootstrap=0
    )
    assert [r.intervention for r in report.rows] == ["tutorial_completed", "webinar_attended"]
    tested, untested = report.rows
    assert tested.p_adjusted == tested.comparison.p_value  # type: ignore[union-attr]
    assert untested.comparison is None and untested.p_adjusted is None
    assert untested.tier == 3 and not untested.significant
    assert untested.not_testable is not None and "not exposed" in untested.not_testable
    assert "webinar_attended: not testable" in str(report)
    assert report.to_dict()["ranking"][1]["testable"] is False
    with pytest.raises(AnalysisError, match="no intervention can be tested"):
        ttv.impact(exposure_log(), REPORT, ["webinar_attended"], bootstrap=0)


@pytest.mark.parametrize("landmark", [7 * D, 8 * D])
def test_a_landmark_not_shorter_than_within_is_an_error(landmark: timedelta) -> None:
    with pytest.raises(AnalysisError, match="not shorter than within"):
        ttv.compare(exposure_log(), REPORT, by=event("tutorial_completed"), landmark=landmark)
    with pytest.raises(AnalysisError, match="not shorter than within"):
        ttv.impact(exposure_log(), REPORT, {"tutorial_completed": landmark})


def test_compare_alpha_sets_the_groups_intervals() -> None:
    wide = ttv.compare(exposure_log(), REPORT, by=event("tutorial_completed"), bootstrap=0)
    narrow = ttv.compare(
        exposure_log(), REPORT, by=event("tutorial_completed"), alpha=0.3, bootstrap=0
    )
    for g in narrow.groups:
        assert g.distribution.curve.alpha == 0.3
    assert narrow.groups[0].distribution.curve.lower[0] > wide.groups[0].distribution.curve.lower[0]
    assert "70% CI" in str(narrow)


# --------------------------------------------------------------------------- impact ranking


def ranking_log() -> EventLog:
    """Lever "big" helps many customers clearly; lever "lucky" was used by two
    customers who happened to be fast: a larger point effect, not significant."""
    lg = EventLog(FrozenClock(T0))
    for i in range(60):
        user = f"u{i}"
        lg.add(user, "signup", at=T0)
        big = i < 30
        if big:
            lg.add(user, "big", at=T0 + H)
        if i in (40, 41):
            lg.add(user, "lucky", at=T0 + H)
        fast = (big and i % 3 != 0) or i in (40, 41) or (not big and i % 4 == 0)
        hours = 2 * 24 + i if fast else None
        if hours is not None:
            lg.add(user, "report", at=T0 + hours * H)
    lg.add("zz", "heartbeat", at=T0 + 30 * D)
    return lg


def test_a_lever_whose_ci_crosses_zero_never_ranks_above_a_significant_one() -> None:
    report = ttv.impact(ranking_log(), REPORT, ["lucky", "big"], landmark=3 * H, bootstrap=0)
    by_name = {r.intervention: r for r in report.rows}
    big, lucky = by_name["big"], by_name["lucky"]
    assert big.significant and big.ci_excludes_zero
    assert not lucky.significant
    assert lucky.effect is not None and big.effect is not None
    assert lucky.effect > big.effect  # by effect alone "lucky" would rank first
    assert [r.intervention for r in report.rows] == ["big", "lucky"]
    assert "ranked by Δ within 7d in tiers" in str(report)
    assert report.to_dict()["ranked_by"] == report.ranked_by
    assert "ranked by" in report._repr_html_().lower()


def test_text_output_shows_the_cis_of_differences() -> None:
    comparison = ttv.compare(exposure_log(), REPORT, by=event("tutorial_completed"))
    text = str(comparison)
    assert "Δ median 95% CI" in text and "95% CI (pts)" in text
    yes = comparison.group(True)
    assert yes.reached_within_difference_ci is not None
    lo, hi = yes.reached_within_difference_ci
    assert f"{lo * 100:+.1f} to {hi * 100:+.1f}" in text
    report = ttv.impact(ranking_log(), REPORT, ["big"], landmark=3 * H)
    assert "95% CI (pts)" in str(report) and "Δ median 95% CI" in str(report)


# --------------------------------------------------------------------------- cohorts


@pytest.mark.filterwarnings("ignore::ttvkit.errors.UnknownEventWarning")
def test_relativedelta_cohorts_are_anchor_plus_k_periods() -> None:
    lg = EventLog(FrozenClock(T0))
    for user, when in {
        "a": datetime(2024, 1, 31, 9, tzinfo=UTC),
        "b": datetime(2024, 3, 30, 9, tzinfo=UTC),  # before Mar 31: the Feb 29 cohort
        "c": datetime(2024, 4, 1, 9, tzinfo=UTC),
    }.items():
        lg.add(user, "signup", at=when)
    table = ttv.cohorts(lg, REPORT, period=relativedelta(months=1))
    starts = [r.start.date().isoformat() for r in table.rows]
    assert starts == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert [r.end.date().isoformat() for r in table.rows] == [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
    ]
    assert [r.n for r in table.rows] == [1, 1, 1]


# --------------------------------------------------------------------------- shared rows


def cells_of(text: str) -> set[str]:
    return set(re.split(r"\s{2,}", text))


def all_results() -> list[Any]:
    lg = exposure_log()
    lg.add("a", "csat", {"score": 5}, at=T0 + 60 * H)
    lg.add("e", "csat", {"score": 3}, at=T0 + 70 * H)
    stages = [Milestone("tutorial", "tutorial_completed"), REPORT]
    bands = SpeedBands(immediate=H, short=2 * D)
    return [
        ttv.time_to_value(lg, REPORT, bands=bands),
        ttv.compare(lg, REPORT, by=event("tutorial_completed")),
        ttv.impact(lg, REPORT, ["tutorial_completed"]),
        ttv.cohorts(lg, REPORT, period="week"),
        ttv.journey(lg, stages),
        ttv.satisfaction(lg, REPORT, "csat", bands=bands),
    ]


@pytest.mark.parametrize("index", range(6))
def test_text_and_html_show_the_same_rows(index: int) -> None:
    result = all_results()[index]
    text = str(result)
    page = html.unescape(result._repr_html_())
    table = result.speed_table() if hasattr(result, "speed_table") else result.table()
    for row in table.rows:
        for cell in row:
            assert cell in text
            assert f">{cell}<" in page
    for note in getattr(result, "notes", list)():
        assert note in text
        assert note[:1].upper() + note[1:] in page


def test_an_unreached_median_and_an_open_interval_read_the_same_everywhere() -> None:
    lg = EventLog(FrozenClock(T0))
    for user in ("a", "b", "c"):
        lg.add(user, "signup", at=T0)
    lg.add("a", "report", at=T0 + H)
    dist = ttv.time_to_value(lg, Milestone("first_report", "report"), as_of=T0 + D)
    text, page = str(dist), dist._repr_html_()
    assert "median not reached" in text and "never" not in text
    assert ">not reached<" in page
    assert "unbounded" in text and "unbounded" in page


def test_counts_are_plural_only_when_not_one() -> None:
    lg = EventLog(FrozenClock(T0))
    lg.add("a", "signup", at=T0)
    lg.add("a", "report", at=T0 + H)
    dist = ttv.time_to_value(lg, REPORT)
    assert "1 customer," in str(dist)
    assert "1 customers" not in str(dist) + dist._repr_html_()


class _Printer:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, value: str) -> None:
        self.parts.append(value)


@pytest.mark.parametrize("index", range(6))
def test_ipython_terminals_print_the_text(index: int) -> None:
    result = all_results()[index]
    printer = _Printer()
    result._repr_pretty_(printer, False)
    assert "".join(printer.parts) == str(result)


def test_notebooks_page_shows_no_naive_median_of_censored_durations() -> None:
    page = (DOCS / "notebooks.md").read_text(encoding="utf-8")
    assert not re.search(r"""\["duration"\]\s*\.median\(\)""", page)
    assert ".duration.median()" not in page


# --------------------------------------------------------------------------- reports


def upgrade_log() -> EventLog:
    lg = EventLog(FrozenClock(T0))
    for i, plan in enumerate(["starter", "starter", "team"]):
        lg.add(f"u{i}", "signup", {"plan": plan}, at=T0)
        lg.add(f"u{i}", "plan_changed", {"to": "enterprise"}, at=T0 + (i + 1) * D)
    lg.add("zz", "heartbeat", at=T0 + 10 * D)
    return lg


def test_the_upgrade_heading_comes_from_the_milestone() -> None:
    from ttvkit.config import Config
    from ttvkit.milestones import MilestoneKind
    from ttvkit.report import build_report, render

    upgrade = Milestone(
        "to_enterprise",
        event("plan_changed", where={"to": "enterprise"}),
        start=event("signup", where={"plan": "starter"}),
        kind=MilestoneKind.UPGRADE,
    )
    report = build_report(upgrade_log(), Config(milestones={"to_enterprise": upgrade}))
    headings = [s.heading for s in report.sections]
    assert not any("free to paid" in h for h in [*headings, render(report, "text")])
    assert any(
        h.startswith("Time to upgrade: to_enterprise (from signup where plan = 'starter'")
        and "to plan_changed where to = 'enterprise'" in h
        for h in headings
    ), headings


def test_report_facts_that_are_numbers_stay_numbers_in_json() -> None:
    from ttvkit.config import Config
    from ttvkit.report import build_report, render

    report = build_report(
        five_days(),
        Config(milestones={"first_report": REPORT}),
        facts=[("events", 12345), ("source", "events.csv")],
    )
    assert report.to_dict()["facts"]["events"] == 12345
    assert "12,345" in render(report, "text")
    assert "12,345" in render(report, "html")


def test_the_overview_says_when_a_share_is_beyond_the_follow_up() -> None:
    from ttvkit.report import Overview

    overview = Overview([ttv.time_to_value(five_days(), REPORT)])
    assert "n/a beyond follow-up" in str(overview)
    assert overview.to_dict()["measures"][0]["reached_within"][str(30 * 86400)] is None


# --------------------------------------------------------------------------- charts


def at_risk_texts(ax: Any) -> list[str]:
    from ttvkit.plotting import AT_RISK_GID

    return [t.get_text() for t in ax.texts if t.get_gid() == AT_RISK_GID]


def test_kaplan_meier_charts_show_the_numbers_at_risk_under_the_time_axis() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dist = ttv.time_to_value(five_days(), REPORT)
    ax = dist.plot()
    texts = at_risk_texts(ax)
    ticks = [x for x in ax.get_xticks() if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
    assert texts[0].startswith("at risk")
    assert len(texts) == 1 + len(ticks)
    assert texts[1] == "4"  # everyone at time 0
    # at risk at each tick: durations of at least that time (the axis is in hours here)
    durations_h = [2, 30, 120, 120]
    assert texts[1:] == [str(sum(d >= x for d in durations_h)) for x in ticks]
    plt.close("all")

    comparison = ttv.compare(exposure_log(), REPORT, by=event("tutorial_completed"))
    ax = comparison.plot()
    labels = [t for t in at_risk_texts(ax) if t.startswith("at risk")]
    assert labels == ["at risk · no", "at risk · yes"]
    plt.close("all")
