"""compare, impact, cohorts, journey, satisfaction: hand-worked logs and oracles."""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta

import ttvkit as ttv
from ttvkit import AnalysisError, InvalidMilestoneError, Milestone, SpeedBands, event
from ttvkit.milestones import Journey
from ttvkit.testing import EventLog, FrozenClock

T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
D = timedelta(days=1)
REPORT = Milestone("first_report", event("report"))


def lifelines_logrank(groups: dict[object, tuple[list[float], list[bool]]]) -> tuple[float, float]:
    from lifelines.statistics import multivariate_logrank_test

    durations, observed, labels = [], [], []
    for label, (d, o) in groups.items():
        durations += d
        observed += o
        labels += [str(label)] * len(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = multivariate_logrank_test(durations, labels, observed)
    return float(result.test_statistic), float(result.p_value)


def plan_log() -> EventLog:
    """Pro users reach value in 1..6 hours, free users in 3..12; some never."""
    lg = EventLog(FrozenClock(T0))
    pro = {"p1": 1, "p2": 2, "p3": 2, "p4": 4, "p5": None, "p6": 6}
    free = {"f1": 3, "f2": 5, "f3": None, "f4": 8, "f5": 12, "f6": None, "f7": 9}
    for plan, users in (("pro", pro), ("free", free)):
        for user, hours in users.items():
            lg.add(user, "signup", {"plan": plan}, at=T0)
            if hours is not None:
                lg.add(user, "report", at=T0 + hours * H)
    lg.add("zz", "heartbeat", at=T0 + 24 * H)  # as_of: everyone watched for a day
    return lg


class TestCompareByProperty:
    def test_groups_medians_and_logrank_match_lifelines(self) -> None:
        result = ttv.compare(plan_log(), REPORT, by="plan", bootstrap=0)
        assert [g.label for g in result.groups] == ["free", "pro"]
        assert result.reference == "free"
        free, pro = result.groups
        # free: times 3,5,8,9,12 reached and 2 censored at 24h among 7 -> S drops below .5 at 9h
        assert free.n == 7 and pro.n == 6
        assert free.distribution.median == 9 * H
        # pro: 1,2,2,4,6 reached, 1 censored at 24h: S(2h)=0.5 -> median 2h
        assert pro.distribution.median == 2 * H
        assert pro.median_difference == -7 * H
        expected = {
            "free": ([3, 5, 8, 9, 12, 24, 24], [True] * 5 + [False] * 2),
            "pro": ([1, 2, 2, 4, 6, 24], [True] * 5 + [False]),
        }
        # durations in seconds for the test statistic are a rescaling: same chi2
        chi2, p = lifelines_logrank(expected)  # type: ignore[arg-type]
        assert result.logrank.statistic == pytest.approx(chi2, rel=1e-9)
        assert result.p_value == pytest.approx(p, rel=1e-9)
        assert result.landmark is None and result.n_excluded == 0

    def test_reached_within_difference_and_its_ci(self) -> None:
        result = ttv.compare(plan_log(), REPORT, by="plan", within=5 * H, bootstrap=0)
        pro = result.group("pro")
        # pro within 5h: 4 of 6 reached (no censoring before) -> 4/6; free: 2 of 7
        assert pro.reached_within_difference == pytest.approx(4 / 6 - 2 / 7)
        lo, hi = pro.reached_within_difference_ci  # type: ignore[misc]
        # Greenwood variance without censoring is p(1-p)/n
        se = math.sqrt((4 / 6) * (2 / 6) / 6 + (2 / 7) * (5 / 7) / 7)
        assert lo == pytest.approx(4 / 6 - 2 / 7 - 1.959963984540054 * se)
        assert hi == pytest.approx(4 / 6 - 2 / 7 + 1.959963984540054 * se)

    def test_median_difference_ci_brackets_the_estimate(self) -> None:
        lg = EventLog(FrozenClock(T0))
        for i in range(1, 41):  # pro: 1..40 h; free: 2..80 h; medians 20 h and 40 h
            for plan, hours in (("pro", i), ("free", 2 * i)):
                lg.add(f"{plan}{i}", "signup", {"plan": plan}, at=T0)
                lg.add(f"{plan}{i}", "report", at=T0 + hours * H)
        result = ttv.compare(lg, REPORT, by="plan", bootstrap=400, seed=3)
        pro = result.group("pro")
        assert pro.median_difference == -20 * H
        lo, hi = pro.median_difference_ci  # type: ignore[misc]
        assert lo is not None and hi is not None
        assert lo < -20 * H < hi < timedelta(0)
        # The interval is analytic (MOVER over the two medians' intervals):
        # the number of resamples and the seed no longer change it.
        pro_ci, free_ci = pro.distribution.median_ci, result.group("free").distribution.median_ci
        assert pro_ci[0] is not None and pro_ci[1] is not None
        assert free_ci[0] is not None and free_ci[1] is not None
        below = math.hypot((20 * H - pro_ci[0]) / H, (free_ci[1] - 40 * H) / H)
        above = math.hypot((pro_ci[1] - 20 * H) / H, (40 * H - free_ci[0]) / H)
        assert lo == -20 * H - below * H and hi == -20 * H + above * H
        other_seed = ttv.compare(lg, REPORT, by="plan", bootstrap=50, seed=4)
        assert other_seed.group("pro").median_difference_ci == pro.median_difference_ci

    def test_unbounded_median_interval_ends_are_none(self) -> None:
        # free's median interval is open above (2 of 7 censored), so the
        # difference has no lower bound; pro's is open above too (1 of 6).
        result = ttv.compare(plan_log(), REPORT, by="plan", bootstrap=400, seed=3)
        assert result.group("free").distribution.median_ci[1] is None
        assert result.group("pro").distribution.median_ci[1] is None
        assert result.group("pro").median_difference_ci == (None, None)

    def test_three_groups_match_multivariate_logrank(self) -> None:
        lg = plan_log()
        for user, hours in {"t1": 1, "t2": 1, "t3": 3, "t4": None}.items():
            lg.add(user, "signup", {"plan": "team"}, at=T0)
            if hours is not None:
                lg.add(user, "report", at=T0 + hours * H)
        result = ttv.compare(lg, REPORT, by="plan", bootstrap=0)
        assert result.logrank.dof == 2
        groups = {
            g.label: (
                [o.duration / H for o in g.distribution.observations()],
                [o.observed for o in g.distribution.observations()],
            )
            for g in result.groups
        }
        chi2, p = lifelines_logrank(groups)
        assert result.logrank.statistic == pytest.approx(chi2, rel=1e-9)
        assert result.p_value == pytest.approx(p, rel=1e-9)

    def test_choose_groups_and_reference(self) -> None:
        result = ttv.compare(plan_log(), REPORT, by="plan", reference="pro", bootstrap=0)
        assert result.reference == "pro"
        assert result.group("free").median_difference == 7 * H
        only = ttv.compare(plan_log(), REPORT, by="plan", groups=["pro", "free"], bootstrap=0)
        assert [g.label for g in only.groups] == ["pro", "free"]

    def test_result_is_json_ready_and_readable(self) -> None:
        import json

        result = ttv.compare(plan_log(), REPORT, by="plan", bootstrap=0)
        data = json.loads(json.dumps(result.to_dict()))
        assert data["by"] == "plan" and len(data["groups"]) == 2
        text = str(result)
        assert "free (reference)" in text and "log-rank" in text
        assert len(result.observations()) == 13

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"by": "plna"}, "no start event carries the property 'plna'"),
            ({"by": "plan", "groups": ["pro", "enterprise"]}, "have no customers"),
            ({"by": "plan", "reference": "gold"}, "not one of the groups"),
            ({"by": 3}, "pass a property name"),
            ({"by": "plan", "within": timedelta(0)}, "within"),
            ({"by": "plan", "landmark": -H}, "landmark"),
            ({"by": "plan", "alpha": 1.5}, "alpha"),
            ({"by": "plan", "bootstrap": 10}, "bootstrap"),
            ({"by": "plan", "per": "team"}, "per"),
        ],
    )
    def test_bad_input(self, kwargs: dict[str, object], fragment: str) -> None:
        with pytest.raises(AnalysisError, match=fragment):
            ttv.compare(plan_log(), REPORT, **kwargs)  # type: ignore[arg-type]

    @pytest.mark.filterwarnings("ignore::ttvkit.errors.UnknownEventWarning")
    def test_a_single_group_cannot_be_compared(self) -> None:
        lg = EventLog(FrozenClock(T0))
        lg.add("a", "signup", {"plan": "pro"})
        lg.add("b", "signup", {"plan": "pro"}, after=H)
        with pytest.raises(AnalysisError, match="needs two groups"):
            ttv.compare(lg, REPORT, by="plan")


class TestCompareByExposure:
    def log(self) -> EventLog:
        lg = EventLog(FrozenClock(T0))
        # tutorial within the first day, value later
        for user, hours in {"a": 30, "b": 40, "c": 50, "d": None}.items():
            lg.add(user, "signup", at=T0)
            lg.add(user, "tutorial_completed", at=T0 + 2 * H)
            if hours:
                lg.add(user, "report", at=T0 + hours * H)
        # no tutorial
        for user, hours in {"e": 60, "f": 90, "g": None, "h": 100}.items():
            lg.add(user, "signup", at=T0)
            if hours:
                lg.add(user, "report", at=T0 + hours * H)
        # the time-dependent trap: value first, tutorial afterwards
        lg.add("late", "signup", at=T0)
        lg.add("late", "report", at=T0 + 3 * H)
        lg.add("late", "tutorial_completed", at=T0 + 5 * H)
        # tutorial after the landmark: not exposed by it
        lg.add("slow", "signup", at=T0)
        lg.add("slow", "tutorial_completed", at=T0 + 48 * H)
        lg.add("slow", "report", at=T0 + 70 * H)
        lg.add("zz", "heartbeat", at=T0 + 200 * H)
        return lg

    def test_landmark_groups_and_exclusions(self) -> None:
        result = ttv.compare(self.log(), REPORT, by=event("tutorial_completed"), bootstrap=0)
        assert result.landmark == D
        assert result.n_excluded == 1  # "late" reached value before the landmark
        no, yes = result.groups
        assert (no.label, yes.label) == (False, True)
        assert {o.customer_id for o in yes.distribution.observations()} == {"a", "b", "c", "d"}
        assert {o.customer_id for o in no.distribution.observations()} == {
            "e",
            "f",
            "g",
            "h",
            "slow",
        }
        assert "late" not in {o.customer_id for o in result.observations()}
        assert yes.distribution.median == 40 * H
        assert no.distribution.median == 90 * H
        assert yes.median_difference == -50 * H

    def test_landmark_zero_counts_only_exposure_at_the_start(self) -> None:
        with pytest.raises(AnalysisError, match="not exposed"):
            ttv.compare(self.log(), REPORT, by=event("tutorial_completed"), landmark=timedelta(0))

    def test_impact_ranks_and_adjusts(self) -> None:
        lg = self.log()
        for user in ("a", "e", "f", "g"):
            lg.add(user, "support_ticket", at=T0 + 3 * H)
        report = ttv.impact(
            lg, REPORT, ["tutorial_completed", event("support_ticket")], bootstrap=0
        )
        assert [r.intervention for r in report.rows] == ["tutorial_completed", "support_ticket"]
        raw = sorted(r.comparison.p_value for r in report.rows)
        adjusted = sorted(r.p_adjusted for r in report.rows)
        assert adjusted[0] == pytest.approx(min(1.0, 2 * raw[0]))
        assert adjusted[1] == pytest.approx(max(adjusted[0], min(1.0, raw[1])))
        assert (
            report.rows[0].effect == report.rows[0].comparison.group(True).reached_within_difference
        )
        assert "What shortens time to value" in str(report)
        assert report.to_dict()["ranking"][0]["intervention"] == "tutorial_completed"
        assert len(report.observations()) == 10  # everyone who signed up

    def test_impact_needs_interventions(self) -> None:
        with pytest.raises(AnalysisError, match="non-empty list"):
            ttv.impact(self.log(), REPORT, [])
        with pytest.raises(AnalysisError, match="non-empty list"):
            ttv.impact(self.log(), REPORT, "tutorial_completed")  # type: ignore[arg-type]


class TestCohorts:
    def log(self) -> EventLog:
        lg = EventLog(FrozenClock(T0))
        # January cohort: 3 users, value at 1h, 5h and never
        lg.add("j1", "signup", at=T0)
        lg.add("j1", "report", at=T0 + H)
        lg.add("j2", "signup", at=T0 + 3 * D)
        lg.add("j2", "report", at=T0 + 3 * D + 5 * H)
        lg.add("j3", "signup", at=T0 + 10 * D)
        # February cohort: 2 users, one very recent
        feb = datetime(2026, 2, 2, tzinfo=UTC)
        lg.add("f1", "signup", at=feb)
        lg.add("f1", "report", at=feb + 2 * H)
        lg.add("f2", "signup", at=feb + 3 * D)
        lg.add("zz", "heartbeat", at=feb + 5 * D)
        return lg

    def test_monthly(self) -> None:
        table = ttv.cohorts(self.log(), REPORT, period="month")
        assert [r.start for r in table.rows] == [
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 2, 1, tzinfo=UTC),
        ]
        jan, feb = table.rows
        assert (jan.n, jan.distribution.n_reached, jan.n_censored) == (3, 2, 1)
        assert jan.median == 5 * H
        assert jan.young is False
        # f2 signed up 2 days before as_of: watched for less than 7 days
        assert feb.young is True
        assert feb.end == datetime(2026, 3, 1, tzinfo=UTC)
        assert "young cohort" in str(table)

    def test_weekly_starts_on_monday(self) -> None:
        table = ttv.cohorts(self.log(), REPORT, period="week")
        assert [r.start.weekday() for r in table.rows] == [0] * len(table.rows)
        assert [r.n for r in table.rows] == [2, 1, 2]  # empty weeks are left out

    def test_relativedelta_periods_from_the_first_start(self) -> None:
        table = ttv.cohorts(self.log(), REPORT, period=relativedelta(days=14))
        assert table.rows[0].start == T0
        assert [r.n for r in table.rows] == [3, 2]
        assert len(table.observations()) == 5

    @pytest.mark.parametrize("period", ["fortnight", relativedelta(days=-1), 7])
    def test_bad_period(self, period: object) -> None:
        with pytest.raises(AnalysisError, match="period"):
            ttv.cohorts(self.log(), REPORT, period=period)  # type: ignore[arg-type]


class TestJourney:
    def stages(self) -> list[Milestone]:
        return [
            Milestone("onboarded", "onboarding_completed"),
            Milestone("first_report", "report"),
            Milestone("ten_reports", event("report").nth(3)),
        ]

    def log(self) -> EventLog:
        lg = EventLog(FrozenClock(T0))
        lg.add("a", "signup", at=T0)
        lg.add("a", "onboarding_completed", at=T0 + H)
        for h in (2, 3, 5):
            lg.add("a", "report", at=T0 + h * H)
        lg.add("b", "signup", at=T0)
        lg.add("b", "report", at=T0 + H)  # before onboarding: completes stage 2 at 4h
        lg.add("b", "onboarding_completed", at=T0 + 4 * H)
        lg.add("c", "signup", at=T0)
        lg.add("c", "onboarding_completed", at=T0 + 10 * H)
        lg.add("d", "signup", at=T0)
        lg.add("zz", "heartbeat", at=T0 + 24 * H)
        return lg

    def test_stage_times_shares_and_stalls(self) -> None:
        report = ttv.journey(self.log(), self.stages())
        rows = {r.customer_id: r.stage_times for r in report.observations()}
        assert rows["a"] == (T0 + H, T0 + 2 * H, T0 + 5 * H)
        assert rows["b"] == (T0 + 4 * H, T0 + 4 * H, None)
        assert rows["c"] == (T0 + 10 * H, None, None)
        assert rows["d"] == (None, None, None)
        onboarded, first, ten = report.stages
        assert (onboarded.n_entered, onboarded.n_reached) == (4, 3)
        assert (first.n_entered, first.n_reached) == (3, 2)
        assert (ten.n_entered, ten.n_reached) == (2, 1)
        assert first.n_out_of_order == 1  # b reported before onboarding
        assert ten.share_reached == 0.5
        assert report.stall_by_share.milestone.name == "ten_reports"
        # time from onboarding to first report: a 1h, b 0h, c censored at 14h -> median 1h
        assert first.median == H
        assert "stalls most" in str(report)
        assert report.to_dict()["stall_by_share"] == "ten_reports"

    def test_stage_validation(self) -> None:
        with pytest.raises(InvalidMilestoneError, match="at least two"):
            ttv.journey(self.log(), self.stages()[:1])
        with pytest.raises(InvalidMilestoneError, match="out of order"):
            Journey([Milestone("ten", event("report").nth(10)), Milestone("one", "report")])
        with pytest.raises(InvalidMilestoneError, match="same start"):
            Journey([Milestone("a", "x"), Milestone("b", "y", start="login")])
        with pytest.raises(InvalidMilestoneError, match="distinct"):
            Journey([Milestone("a", "x"), Milestone("a", "y")])


class TestSatisfaction:
    BANDS = SpeedBands(immediate=timedelta(minutes=5), short=timedelta(hours=6))

    def log(self) -> EventLog:
        lg = EventLog(FrozenClock(T0))
        spec = {  # user: (minutes to value or None, score or None)
            "a": (1, 5),
            "b": (3, 4),
            "c": (60, 4),
            "d": (200, 3),
            "e": (600, 2),
            "f": (900, 1),
            "g": (None, 2),
            "h": (30, None),
        }
        for user, (minutes, score) in spec.items():
            lg.add(user, "signup", at=T0)
            if minutes is not None:
                lg.add(user, "report", at=T0 + timedelta(minutes=minutes))
            if score is not None:
                lg.add(user, "csat", {"score": 0}, at=T0 + 20 * H)  # overwritten by the last
                lg.add(user, "csat", {"score": score}, at=T0 + 21 * H)
        lg.add("zz", "heartbeat", at=T0 + 24 * H)
        return lg

    def test_groups_and_spearman_against_scipy(self) -> None:
        from scipy.stats import spearmanr

        report = ttv.satisfaction(self.log(), REPORT, bands=self.BANDS)
        assert report.group("immediate").scores == (5.0, 4.0)
        assert report.group("short").scores == (4.0, 3.0)
        assert report.group("long").scores == (2.0, 1.0)
        assert report.group("not_yet").scores == (2.0,)
        assert report.n_without_score == 1
        expected = spearmanr([1, 3, 60, 200, 600, 900], [5, 4, 4, 3, 2, 1])
        assert report.correlation is not None
        assert report.correlation.rho == pytest.approx(expected.statistic, rel=1e-12)
        assert report.correlation.p_value == pytest.approx(expected.pvalue, rel=1e-9)
        assert "Spearman" in str(report)

    def test_first_response(self) -> None:
        report = ttv.satisfaction(self.log(), REPORT, bands=self.BANDS, response="first")
        assert report.group("immediate").scores == (0.0, 0.0)

    @pytest.mark.filterwarnings("ignore::ttvkit.errors.UnknownEventWarning")
    def test_a_survey_without_scores_is_an_error(self) -> None:
        with pytest.raises(AnalysisError, match="numeric 'rating'"):
            ttv.satisfaction(self.log(), REPORT, score="rating", bands=self.BANDS)
        with pytest.raises(AnalysisError, match="numeric"):
            ttv.satisfaction(self.log(), REPORT, survey="nps", bands=self.BANDS)


class TestAccountsAndWindows:
    def test_per_account_compare(self) -> None:
        lg = EventLog(FrozenClock(T0))
        for account, plan, hours in (
            ("a1", "pro", 1),
            ("a2", "pro", 2),
            ("a3", "free", 9),
            ("a4", "free", 12),
        ):
            lg.add(f"{account}-admin", "signup", {"plan": plan}, at=T0, account_id=account)
            lg.add(f"{account}-member", "report", at=T0 + hours * H, account_id=account)
        lg.add("zz", "heartbeat", at=T0 + 24 * H, account_id="a5")
        result = ttv.compare(lg, REPORT, by="plan", per="account", bootstrap=0)
        assert result.group("pro").distribution.median == H
        assert result.group("free").distribution.median == 9 * H

    def test_window_censors_late_value(self) -> None:
        m = Milestone("first_report", "report", window=6 * H)
        dist = ttv.time_to_value(plan_log(), m)
        late = [o for o in dist.observations() if o.customer_id in ("f4", "f5", "f7")]
        assert all(o.censored and o.duration == 6 * H for o in late)
        assert dist.n_reached == 7


def test_impact_takes_a_landmark_per_intervention() -> None:
    from ttvkit import datasets as ds

    store = ttv.MemoryStore(ds.saas_events(4000, seed=7))
    first = Milestone("first_report", ds.REPORT_CREATED)
    levers = {ds.TUTORIAL_COMPLETED: timedelta(hours=3), ds.CSM_ASSIGNED: timedelta(hours=12)}
    report = ttv.impact(store, first, levers, bootstrap=0)
    landmarks = {r.intervention: r.comparison.landmark for r in report.rows}
    assert landmarks == {
        ds.TUTORIAL_COMPLETED: timedelta(hours=3),
        ds.CSM_ASSIGNED: timedelta(hours=12),
    }
    # the generator makes both levers shorten time to value: both are found
    assert all(r.significant and r.effect is not None and r.effect > 0 for r in report.rows)
    assert all(
        r.median_difference is not None and r.median_difference < timedelta(0) for r in report.rows
    )
    with pytest.raises(AnalysisError, match="landmark of 'csm_assigned'"):
        ttv.impact(store, first, {ds.CSM_ASSIGNED: -H})


def test_impact_keeps_the_given_order_for_its_customer_table() -> None:
    lg = TestCompareByExposure().log()
    for user in ("a", "e", "f", "g"):
        lg.add(user, "support_ticket", at=T0 + 3 * H)
    report = ttv.impact(lg, REPORT, ["support_ticket", "tutorial_completed"], bootstrap=0)
    assert report.interventions == ("support_ticket", "tutorial_completed")
    frame = report.observations_to_pandas()
    assert list(frame.columns[-2:]) == ["support_ticket", "tutorial_completed"]
    a = frame.set_index("customer_id").loc["a"]
    assert a["tutorial_completed"] == T0 + 2 * H
    assert report.to_dict()["interventions"] == ["support_ticket", "tutorial_completed"]


def test_satisfaction_means_of_scores_near_the_float_range() -> None:
    """Finite scores are valid properties; their mean is finite even when their sum is not."""
    log = EventLog(FrozenClock(T0))
    for i in range(6):
        log.add(f"u{i}", "signup", at=T0)
        log.add(f"u{i}", "done", at=T0 + timedelta(hours=i + 1))
        log.add(f"u{i}", "csat", {"score": 1.7e308}, at=T0 + timedelta(hours=i + 2))
    bands = SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
    result = ttv.satisfaction(
        log.store(), Milestone("m", "done"), survey="csat", score="score", bands=bands
    )
    group = next(g for g in result.groups if g.n)
    assert group.mean == pytest.approx(1.7e308) and group.median == 1.7e308
    shown = str(result).splitlines()
    assert any(line.split()[-2:] == ["1.7e+308", "1.7e+308"] for line in shown), shown
    assert max(map(len, shown)) < 80
    assert [g["mean"] for g in result.to_dict()["groups"] if g["n"]] == [group.mean]
