"""Results in notebooks: ``_repr_html_()``, ``to_pandas()`` and plots (``ttvkit.plotting``).

Results come from a small synthetic log (``ttvkit.datasets``) and from a
hand-built log whose names and labels are hostile (markup, ``$``, CJK, an
emoji): HTML must escape them, plots must draw them literally.
"""

from __future__ import annotations

import bisect
import html
import io
import math
import struct
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import matplotlib
import pandas as pd
import pytest

import ttvkit as ttv
from ttvkit import AnalysisError, Milestone, MissingDependencyError, SpeedBands, event, plotting
from ttvkit import datasets as ds
from ttvkit._format import format_duration, format_p
from ttvkit.testing import EventLog, FrozenClock

BANDS = SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
FIRST_REPORT = Milestone("first_report", event(ds.REPORT_CREATED))
TEN_REPORTS = Milestone("ten_reports", event(ds.REPORT_CREATED).nth(10))
ONBOARDED = Milestone("onboarded", event(ds.ONBOARDING_COMPLETED))

SCRIPT = "<script>alert(1)</script>"
DOLLARS = "a&b $x$ \\ 漢字🚀"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- results


@pytest.fixture(scope="module")
def log() -> list[ttv.ValueEvent]:
    return ds.saas_events(300, seed=1)


@pytest.fixture(scope="module")
def results(log: list[ttv.ValueEvent]) -> dict[str, Any]:
    return {
        "distribution": ttv.time_to_value(log, FIRST_REPORT, bands=BANDS),
        "not_reached": ttv.time_to_value(log, TEN_REPORTS),
        "comparison": ttv.compare(log, FIRST_REPORT, by="plan", bootstrap=50),
        "landmark": ttv.compare(log, FIRST_REPORT, by=event(ds.TUTORIAL_COMPLETED), bootstrap=0),
        "cohorts": ttv.cohorts(log, FIRST_REPORT, "month"),
        "journey": ttv.journey(log, [ONBOARDED, FIRST_REPORT, TEN_REPORTS]),
        "impact": ttv.impact(
            log, FIRST_REPORT, [ds.TUTORIAL_COMPLETED, ds.CSM_ASSIGNED], bootstrap=0
        ),
        "satisfaction": ttv.satisfaction(log, FIRST_REPORT, ds.CSAT, bands=BANDS),
    }


T0 = datetime(2026, 3, 2, tzinfo=UTC)
H = timedelta(hours=1)


def hostile_log() -> EventLog:
    """40 users with hostile ids, plans, event names; most reach value within hours."""
    lg = EventLog(FrozenClock(T0))
    for i in range(40):
        user = f"{SCRIPT}{i}"
        lg.add(user, "signup", {"plan": SCRIPT if i % 2 else DOLLARS}, at=T0 + i * H)
        if i % 3 == 0:
            lg.add(user, f"<img src=x onerror='{SCRIPT}'>", at=T0 + i * H + timedelta(minutes=5))
        if i % 5:
            lg.add(user, "report <b>", at=T0 + i * H + (i % 7 + 1) * H)
        if i % 4 == 0:
            lg.add(user, "csat <i>", {'sc"ore$': i % 5 + 1}, at=T0 + i * H + 30 * H)
    lg.add("zz", "heartbeat", at=T0 + 200 * H)
    return lg


@pytest.fixture(scope="module")
def hostile() -> dict[str, Any]:
    lg = hostile_log()
    m = Milestone(f"{SCRIPT} & $m$", event("report <b>"))
    lever = f"<img src=x onerror='{SCRIPT}'>"
    return {
        "distribution": ttv.time_to_value(lg, m, bands=BANDS),
        "comparison": ttv.compare(lg, m, by="plan", bootstrap=0),
        "cohorts": ttv.cohorts(lg, m, "day"),
        "journey": ttv.journey(lg, [Milestone(f"{SCRIPT} 1", event(lever)), m]),
        "impact": ttv.impact(lg, m, {lever: timedelta(minutes=30)}, bootstrap=0),
        "satisfaction": ttv.satisfaction(lg, m, "csat <i>", 'sc"ore$', bands=BANDS),
    }


ALL = ["distribution", "comparison", "cohorts", "journey", "impact", "satisfaction"]


# --------------------------------------------------------------------------- HTML


class _Strict(HTMLParser):
    """Collects tags and attributes; anything but plain markup fails the test."""

    ALLOWED: ClassVar[set[str]] = {
        *("div", "style", "h3", "p", "table", "thead", "tbody", "tr", "th", "td")
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.update(name for name, _ in attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text.append(data)


def parse(fragment: str) -> tuple[ET.Element, _Strict]:
    """The fragment as XML (it must be well-formed) and as HTML (plain tags only)."""
    root = ET.fromstring(f"<root>{fragment}</root>")  # noqa: S314 - our own output
    parser = _Strict()
    parser.feed(fragment)
    parser.close()
    assert set(parser.tags) <= _Strict.ALLOWED, parser.tags
    assert parser.attributes <= {"class"}
    return root, parser


def text_of(fragment: str) -> str:
    # cells and paragraphs are separate pieces of text: a space between them
    return " ".join(" ".join(parse(fragment)[1].text).split())


class TestReprHtml:
    @pytest.mark.parametrize("name", ALL)
    def test_is_one_self_contained_div(self, results: dict[str, Any], name: str) -> None:
        fragment = results[name]._repr_html_()
        root, parser = parse(fragment)
        (div,) = list(root)
        assert div.tag == "div" and div.get("class") == "ttvkit"
        assert parser.tags.count("style") == 1 and parser.tags.count("table") >= 1
        assert "http" not in fragment and "src=" not in fragment  # no external assets

    def test_distribution_shows_counts_median_and_percentiles(
        self, results: dict[str, Any]
    ) -> None:
        d = results["distribution"]
        text = text_of(d._repr_html_())
        assert f"{d.n} customers, {d.n_reached} reached, {d.n_censored} still on the way" in text
        lo, hi = d.median_ci
        assert f"median {format_duration(d.median)}" in text
        assert f"median 95% CI {format_duration(lo)} to {format_duration(hi)}" in text
        p75, p90 = d.percentile(0.75), d.percentile(0.9)
        assert f"p75 {format_duration(p75)}" in text
        assert p90 is None and "p90 not reached" in text  # never "never" for a percentile
        assert f"reached within 7d {d.reached_within(timedelta(days=7)):.1%}" in text
        counts = d.speed_counts()
        assert f"short {counts[ttv.Speed.SHORT]}" in text

    def test_a_median_not_reached_says_so(self, results: dict[str, Any]) -> None:
        d = results["not_reached"]
        assert d.median is None
        assert "median not reached" in text_of(d._repr_html_())

    def test_comparison_shows_each_group_and_the_test(self, results: dict[str, Any]) -> None:
        c = results["comparison"]
        text = text_of(c._repr_html_())
        for g in c.groups:
            d = g.distribution
            assert f"{g.label}" in text
            assert f" {d.n} {d.n_reached} {format_duration(d.median)} " in text
        assert "free (reference)" in text
        assert f"p {format_p(c.p_value)}" in text

    def test_landmark_comparison_explains_who_is_compared(self, results: dict[str, Any]) -> None:
        c = results["landmark"]
        text = text_of(c._repr_html_())
        assert f"{c.n_excluded} customers reached value or left before then" in text
        assert "no (reference)" in text and "yes " in text

    def test_cohorts_mark_young_ones(self, results: dict[str, Any]) -> None:
        t = results["cohorts"]
        text = text_of(t._repr_html_())
        young = [r for r in t.rows if r.young]
        assert young
        for r in t.rows:
            mark = " *" if r.young else ""
            assert f"{r.start.date().isoformat()}{mark} {r.n} {r.distribution.n_reached} " in text
        assert "young cohort" in text

    def test_journey_impact_and_satisfaction_show_their_figures(
        self, results: dict[str, Any]
    ) -> None:
        j = results["journey"]
        text = text_of(j._repr_html_())
        assert f"{j.n_started} customers started" in text
        for i, s in enumerate(j.stages, start=1):
            assert f"{i}. {s.milestone.name} {s.n_entered} {s.n_reached}" in text
        assert f"Stalls most: {j.stall_by_share.milestone.name}" in text

        imp = results["impact"]
        text = text_of(imp._repr_html_())
        for rank, r in enumerate(imp.rows, start=1):
            assert f"{rank}. {r.intervention} 1d" in text
            assert f"{r.effect * 100:+.1f} pts" in text

        sat = results["satisfaction"]
        text = text_of(sat._repr_html_())
        for g in sat.groups:
            assert f"{g.speed} {g.n} {g.mean:.2f}" in text
        assert f"rho(TTV, score) = {sat.correlation.rho:+.3f}" in text

    @pytest.mark.parametrize("name", ALL)
    def test_hostile_names_are_escaped(self, hostile: dict[str, Any], name: str) -> None:
        fragment = hostile[name]._repr_html_()
        parse(fragment)  # no element came from the data
        assert "<script" not in fragment and "<img" not in fragment and "<b>" not in fragment
        assert html.escape(SCRIPT) in fragment
        # and the reader sees the names exactly as they were given
        assert SCRIPT in text_of(fragment)

    def test_hostile_group_labels_read_back_exactly(self, hostile: dict[str, Any]) -> None:
        c = hostile["comparison"]
        assert c.reference == SCRIPT  # "<" sorts before "a"
        text = text_of(c._repr_html_())
        assert f"{SCRIPT} (reference)" in text and f"{DOLLARS} 20 " in text


# --------------------------------------------------------------------------- DataFrames


def tds(series: Any) -> list[timedelta | None]:
    return [None if pd.isna(v) else v.to_pytimedelta() for v in series]


def dts(series: Any) -> list[datetime | None]:
    return [None if pd.isna(v) else v.to_pydatetime() for v in series]


class TestToPandas:
    def test_distribution_curve(self, results: dict[str, Any]) -> None:
        d = results["distribution"]
        curve = d.curve
        df = d.to_pandas()
        assert list(df.columns) == [
            "time",
            "at_risk",
            "reached",
            "censored",
            "survival",
            "lower",
            "upper",
            "share_reached",
        ]
        assert len(df) == len(curve.times)
        assert str(df["time"].dtype) == "timedelta64[ns]"
        assert str(df["at_risk"].dtype) == "int64" and str(df["survival"].dtype) == "float64"
        # times are the distinct durations to the microsecond, not float-rounded
        assert tds(df["time"]) == sorted({o.duration for o in d.observations()})
        assert df["survival"].tolist() == list(curve.survival)
        assert df["lower"].tolist() == list(curve.lower)
        assert df["upper"].tolist() == list(curve.upper)
        assert df["at_risk"].tolist() == list(curve.at_risk)
        assert df["reached"].sum() == d.n_reached and df["censored"].sum() == d.n_censored
        assert df["share_reached"].tolist() == [1 - s for s in curve.survival]

    def test_observations(self, results: dict[str, Any]) -> None:
        d = results["distribution"]
        df = d.observations_to_pandas()
        rows = d.observations()
        assert list(df.columns) == [
            "customer_id",
            "start",
            "reached_at",
            "end",
            "duration",
            "censored",
            "reached_before_start",
        ]
        assert len(df) == d.n
        assert str(df["start"].dtype) == "datetime64[ns, UTC]"
        assert str(df["reached_at"].dtype) == "datetime64[ns, UTC]"
        assert str(df["duration"].dtype) == "timedelta64[ns]"
        assert df["censored"].dtype == bool
        assert df["customer_id"].tolist() == [o.customer_id for o in rows]
        assert dts(df["start"]) == [o.start for o in rows]
        assert dts(df["reached_at"]) == [o.reached_at for o in rows]  # NaT while on the way
        assert dts(df["end"]) == [o.end for o in rows]
        assert tds(df["duration"]) == [o.duration for o in rows]
        assert df["censored"].sum() == d.n_censored
        assert df["start"].dt.tz is not None and str(df["start"].dt.tz) == "UTC"

    def test_comparison(self, results: dict[str, Any]) -> None:
        c = results["comparison"]
        df = c.to_pandas()
        assert len(df) == len(c.groups)
        assert df["group"].tolist() == [g.label for g in c.groups]
        assert df["reference"].tolist() == [g.label == c.reference for g in c.groups]
        assert df["n"].tolist() == [g.n for g in c.groups]
        assert str(df["n"].dtype) == "int64"
        assert tds(df["median"]) == [g.distribution.median for g in c.groups]
        assert tds(df["median_lower"]) == [g.distribution.median_ci[0] for g in c.groups]
        assert df["reached_within"].tolist() == [
            g.distribution.reached_within(c.within) for g in c.groups
        ]
        _, *others = c.groups
        assert pd.isna(df["median_difference"][0]) and math.isnan(
            df["reached_within_difference"][0]
        )
        assert tds(df["median_difference"])[1:] == [g.median_difference for g in others]
        assert tds(df["median_difference_upper"])[1:] == [g.median_difference_ci[1] for g in others]
        assert df["reached_within_difference_lower"].tolist()[1:] == [
            g.reached_within_difference_ci[0] for g in others
        ]
        obs = c.observations_to_pandas()
        assert obs["customer_id"].tolist() == [o.customer_id for o in c.observations()]
        labels = {o.customer_id: g.label for g in c.groups for o in g.distribution.observations()}
        assert obs["group"].tolist() == [labels[i] for i in obs["customer_id"]]
        assert (obs["plan"] == obs["group"]).all()  # grouped by the start property itself

    def test_landmark_comparison_observations_keep_the_exposure_time(
        self, results: dict[str, Any]
    ) -> None:
        c = results["landmark"]
        obs = c.observations_to_pandas()
        column = c.by
        assert str(obs[column].dtype) == "datetime64[ns, UTC]"
        exposed = obs[obs["group"] == True]  # noqa: E712 - labels are Python bools in an object column
        assert len(exposed) == c.group(True).n
        assert (exposed[column] <= exposed["start"] + c.landmark).all()

    def test_cohorts(self, results: dict[str, Any]) -> None:
        t = results["cohorts"]
        df = t.to_pandas()
        assert len(df) == len(t.rows)
        assert dts(df["cohort_start"]) == [r.start for r in t.rows]
        assert dts(df["cohort_end"]) == [r.end for r in t.rows]
        assert str(df["cohort_start"].dtype) == "datetime64[ns, UTC]"
        assert df["n"].tolist() == [r.n for r in t.rows]
        assert df["still_on_the_way"].tolist() == [r.n_censored for r in t.rows]
        assert tds(df["median"]) == [r.median for r in t.rows]
        assert tds(df["median_upper"]) == [r.distribution.median_ci[1] for r in t.rows]
        assert df["reached_within"].tolist() == [r.share_within for r in t.rows]
        assert df["young"].tolist() == [r.young for r in t.rows]
        obs = t.observations_to_pandas()
        assert len(obs) == sum(r.n for r in t.rows)
        assert obs.groupby("cohort").size().tolist() == [r.n for r in t.rows]

    def test_journey(self, results: dict[str, Any]) -> None:
        j = results["journey"]
        df = j.to_pandas()
        assert df["stage"].tolist() == ["onboarded", "first_report", "ten_reports"]
        assert df["n_entered"].tolist() == [s.n_entered for s in j.stages]
        assert df["n_reached"].tolist() == [s.n_reached for s in j.stages]
        assert df["share_reached"].tolist() == [s.share_reached for s in j.stages]
        assert df["share_of_started"].tolist() == [s.n_reached / j.n_started for s in j.stages]
        assert df["reached_within"].tolist() == pytest.approx(
            [s.reached_within(j.within) for s in j.stages], nan_ok=True
        )
        assert df["n_excluded"].tolist() == [s.n_excluded for s in j.stages]
        assert df["n_reached_before_start"].tolist() == [s.n_reached_before_start for s in j.stages]
        assert tds(df["median_from_previous"]) == [s.median for s in j.stages]
        assert tds(df["median_from_previous"])[0] is None  # not reached is NaT, never a number
        obs = j.observations_to_pandas()
        assert list(obs.columns) == [
            "customer_id",
            "start",
            "onboarded",
            "first_report",
            "ten_reports",
            "censored_at",
        ]
        assert dts(obs["first_report"]) == [r.stage_times[1] for r in j.observations()]

    def test_impact(self, results: dict[str, Any]) -> None:
        imp = results["impact"]
        df = imp.to_pandas()
        assert df["rank"].tolist() == list(range(1, len(imp.rows) + 1))
        assert df["intervention"].tolist() == [r.intervention for r in imp.rows]
        assert df["effect"].tolist() == [r.effect for r in imp.rows]
        assert df["p_adjusted"].tolist() == [r.p_adjusted for r in imp.rows]
        assert df["significant"].tolist() == [r.significant for r in imp.rows]
        assert df["testable"].tolist() == [r.tier < 3 for r in imp.rows]
        assert tds(df["landmark"]) == [timedelta(days=1)] * len(imp.rows)
        assert tds(df["median_difference"]) == [r.median_difference for r in imp.rows]
        for _, row in df.iterrows():
            assert row["effect_lower"] < row["effect"] < row["effect_upper"]
            assert row["n_exposed"] + row["n_not_exposed"] > 0

    def test_satisfaction(self, results: dict[str, Any]) -> None:
        sat = results["satisfaction"]
        df = sat.to_pandas()
        assert df["speed"].tolist() == ["immediate", "short", "long", "not_yet"]
        assert df["n"].tolist() == [g.n for g in sat.groups]
        assert df["mean"].tolist() == pytest.approx([g.mean for g in sat.groups])
        assert df["median"].tolist() == [g.median for g in sat.groups]
        obs = sat.observations_to_pandas()
        assert obs["score"].tolist() == [o.attributes[0] for o in sat.observations()]

    def test_hostile_names_become_columns_without_hiding_fixed_ones(
        self, hostile: dict[str, Any]
    ) -> None:
        obs = hostile["satisfaction"].observations_to_pandas()
        assert 'sc"ore$' in obs.columns
        obs = hostile["comparison"].observations_to_pandas()
        assert set(obs["group"]) == {SCRIPT, DOLLARS}
        assert obs["customer_id"].str.startswith(SCRIPT).all()

    def test_an_attribute_named_like_a_fixed_column_gets_a_suffix(self) -> None:
        lg = EventLog(FrozenClock(T0))
        lg.add("u1", "signup", {"start": "x"}, at=T0)
        lg.add("u2", "signup", {"start": "y"}, at=T0)
        lg.add("u1", "report", at=T0 + H)
        c = ttv.compare(lg, Milestone("r", event("report")), by="start", bootstrap=0)
        obs = c.observations_to_pandas()
        assert obs["start_2"].tolist() == ["x", "y"]
        assert dts(obs["start"]) == [T0, T0]


# --------------------------------------------------------------------------- plots


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def ink(data: bytes) -> float:
    """The share of pixels that are not (nearly) white."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(data), format="png")
    return float((pixels[..., :3].mean(axis=2) < 0.9).mean())


def figure_axes() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(7, 4)).add_subplot()


def all_text(ax: Any) -> str:
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    texts += [t.get_text() for t in ax.texts]
    texts += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(texts)


class TestPng:
    @pytest.mark.parametrize("name", [*ALL, "landmark", "not_reached"])
    def test_every_result_renders_a_png_with_content(
        self, results: dict[str, Any], name: str
    ) -> None:
        data = plotting.to_png(results[name])
        assert data.startswith(PNG_SIGNATURE)
        assert png_size(data) == (770, 440)  # 7 x 4 inches at 110 dpi
        assert len(data) > 15_000
        assert ink(data) > 0.03

    def test_size_and_dpi(self, results: dict[str, Any]) -> None:
        data = plotting.to_png(results["distribution"], width=5, height=3, dpi=80)
        assert png_size(data) == (400, 240)

    def test_save_png_writes_the_same_bytes(self, results: dict[str, Any], tmp_path: Path) -> None:
        path = tmp_path / "ttv.png"
        plotting.save_png(results["cohorts"], path)
        assert path.read_bytes() == plotting.to_png(results["cohorts"])

    def test_threads_may_render_at_once(self, results: dict[str, Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        names = ["distribution", "comparison", "journey", "satisfaction"]
        expected = [plotting.to_png(results[n]) for n in names]
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda n: plotting.to_png(results[n]), names))
        assert got == expected

    @pytest.mark.parametrize("name", ALL)
    def test_hostile_names_are_drawn_without_error(
        self, hostile: dict[str, Any], name: str
    ) -> None:
        assert ink(plotting.to_png(hostile[name])) > 0.02

    def test_bad_arguments(self, results: dict[str, Any]) -> None:
        d = results["distribution"]
        with pytest.raises(AnalysisError, match=r"options .*xmax.*not colour"):
            plotting.to_png(d, colour="red")
        with pytest.raises(AnalysisError, match="cannot plot a str"):
            plotting.to_png("dist")
        with pytest.raises(AnalysisError, match="width"):
            plotting.to_png(d, width=0)
        with pytest.raises(AnalysisError, match="xmax"):
            d.plot(figure_axes(), xmax=3)
        with pytest.raises(AnalysisError, match="unit"):
            d.plot(figure_axes(), unit="fortnights")


class TestPlot:
    def test_distribution_draws_share_reached_band_and_median(
        self, results: dict[str, Any]
    ) -> None:
        d = results["distribution"]
        ax = figure_axes()
        assert d.plot(ax) is ax
        step = ax.lines[0]
        _, ys = step.get_data()
        assert ys[0] == 0 and ys[-1] == pytest.approx(1 - d.curve.survival[-1])
        assert len(ax.collections) >= 1  # the CI band
        text = all_text(ax)
        lo, hi = d.median_ci
        assert f"median {format_duration(d.median)}" in text
        assert f"95% CI {format_duration(lo)} to {format_duration(hi)}" in text
        assert "days" in ax.get_xlabel() and "axis cut at" in ax.get_xlabel()
        assert ax.get_ylim() == (0.0, 1.02)
        assert f"{d.n:,} customers" in ax.get_title()

    def test_a_long_curve_is_drawn_in_its_drawn_rows_within_a_step(self) -> None:
        from ttvkit.plotting._axes import DRAWN_ROWS, draw_curve
        from ttvkit.stats import kaplan_meier

        durations = [float(t) for t in range(1, 10_001)]
        curve = kaplan_meier(durations, [t % 5 != 0 for t in range(10_000)])
        ax = figure_axes()
        draw_curve(ax, curve, 1.0, ci=True, color=None, label=None, view_end=20_000.0)
        xs, ys = ax.lines[0].get_data()
        kept = curve.drawn_rows(DRAWN_ROWS)
        assert len(kept) <= DRAWN_ROWS < len(curve.times)
        # (0, 0), the kept rows, then the last level held to the view's end.
        assert list(xs) == [0.0, *(curve.times[i] for i in kept), 20_000.0]
        assert list(ys[1:-1]) == [1.0 - curve.survival[i] for i in kept]
        # Drawn as steps, the kept rows stay within one step of every row.
        for t, s in zip(curve.times, curve.survival, strict=True):
            drawn = ys[bisect.bisect_right(list(xs), t) - 1]
            assert abs((1.0 - s) - drawn) < 1.0 / (DRAWN_ROWS - 2)
        (band,) = ax.collections
        rows = curve.rows_at(kept)
        top = max(path.vertices[:, 1].max() for path in band.get_paths())
        assert top == pytest.approx(max(1.0 - row.lower for row in rows))

    def test_distribution_options(self, results: dict[str, Any]) -> None:
        d = results["distribution"]
        ax = figure_axes()
        d.plot(ax, xmax=timedelta(hours=12), unit="hours", ci=False, title="mine")
        assert ax.get_xlim() == (0.0, 12.0)
        assert "(hours)" in ax.get_xlabel()
        assert len(ax.collections) == 0  # no band
        assert ax.get_title() == "mine"

    def test_median_not_reached(self, results: dict[str, Any]) -> None:
        ax = figure_axes()
        results["not_reached"].plot(ax)
        assert "median not reached" in all_text(ax)

    def test_comparison_legend_title_and_landmark(self, results: dict[str, Any]) -> None:
        c = results["comparison"]
        ax = figure_axes()
        c.plot(ax)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [
            f"{g.label}{' (reference)' if g.label == c.reference else ''}: n {g.n:,}, "
            f"median {format_duration(g.distribution.median).removesuffix(' 0h')}"
            for g in c.groups
        ]
        assert f"log-rank p {format_p(c.p_value)}" in ax.get_title()
        ax = figure_axes()
        results["landmark"].plot(ax)
        assert any("landmark 1d" in t.get_text() for t in ax.get_legend().get_texts())

    def test_cohorts_without_a_reached_median_say_so(self) -> None:
        log = EventLog()
        for i in range(12):  # three a day; one of the first day's reaches
            log.add(f"u{i}", "signup", at=datetime(2026, 1, 1 + i // 3, tzinfo=UTC))
        log.add("u0", "report", at=datetime(2026, 1, 1, 5, tzinfo=UTC))
        table = ttv.cohorts(log.events, Milestone("m", start="signup", reached="report"), "day")
        assert all(r.median is None for r in table.rows)
        ax = figure_axes()
        table.plot(ax)
        assert "no cohort has reached its median yet" in all_text(ax)

    def test_cohorts_hollow_markers_for_young_cohorts(self, results: dict[str, Any]) -> None:
        t = results["cohorts"]
        ax = figure_axes()
        t.plot(ax)
        hollow = [
            line
            for line in ax.lines
            if line.get_marker() == "o" and line.get_markerfacecolor() == "white"
        ]
        assert len(hollow) == sum(r.young for r in t.rows)
        ticks = [x.get_text() for x in ax.get_xticklabels()]
        assert ticks[0] == t.rows[0].start.strftime("%Y-%m")
        twin = [other for other in ax.figure.axes if other is not ax]
        assert len(twin) == 1 and "reached within 7d" in twin[0].get_ylabel()

    def test_journey_impact_satisfaction_annotations(self, results: dict[str, Any]) -> None:
        j = results["journey"]
        ax = figure_axes()
        j.plot(ax)
        first = j.stages[0]
        assert f"{first.n_reached} of {first.n_entered}" in all_text(ax)
        assert [p.get_width() for p in ax.patches[len(j.stages) :]] == pytest.approx(
            [s.n_reached / j.n_started for s in j.stages]
        )

        imp = results["impact"]
        ax = figure_axes()
        imp.plot(ax)
        text = all_text(ax)
        for r in imp.rows:
            assert r.intervention in text and f"{r.effect * 100:+.1f} pts" in text

        sat = results["satisfaction"]
        ax = figure_axes()
        sat.plot(ax)
        text = all_text(ax)
        for g in sat.groups:
            assert f"{g.mean:.2f}\nn {g.n:,}" in text

    def test_without_axes_it_draws_on_a_new_pyplot_figure(self, results: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        before = set(plt.get_fignums())
        ax = results["distribution"].plot()
        try:
            assert set(plt.get_fignums()) - before == {ax.figure.number}
        finally:
            plt.close(ax.figure)

    def test_to_png_leaves_pyplot_alone(self, results: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        before = plt.get_fignums()
        backend = matplotlib.get_backend()
        plotting.to_png(results["comparison"])
        assert plt.get_fignums() == before and matplotlib.get_backend() == backend


# --------------------------------------------------------------------------- missing extras


class TestMissingExtras:
    def test_to_pandas_without_pandas(
        self, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "pandas", None)
        for name in ALL:
            with pytest.raises(MissingDependencyError, match=r"pip install 'ttvkit\[pandas\]'"):
                results[name].to_pandas()
        with pytest.raises(ImportError, match="pandas"):  # also an ImportError
            results["distribution"].observations_to_pandas()

    def test_plots_without_matplotlib(
        self, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        with pytest.raises(MissingDependencyError, match=r"pip install 'ttvkit\[plot\]'"):
            plotting.to_png(results["distribution"])
        with pytest.raises(MissingDependencyError, match=r"ttvkit\[plot\]"):
            results["cohorts"].plot()

    def test_html_needs_neither(
        self, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "pandas", None)
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        for name in ALL:
            parse(results[name]._repr_html_())


class TestPlotsOfAwkwardData:
    """Data that once broke or garbled a chart."""

    def test_an_open_median_interval_ending_past_the_view(self) -> None:
        # Half reach within the hour, then a long flat wait: the median's interval has
        # no upper end and the view (cut after the rise) ends before the median.
        log = EventLog(FrozenClock(T0))
        for i in range(1000):
            log.add(f"u{i}", "signup", at=T0)
            if i < 500:
                log.add(f"u{i}", "done", at=T0 + timedelta(hours=1 if i < 496 else 10))
        log.add("z", "other", at=T0 + timedelta(hours=100))
        d = ttv.time_to_value(log.store(), Milestone("m", "done"))
        assert d.median_ci[1] is None
        for xmax in (None, timedelta(hours=2)):
            ax = figure_axes()
            d.plot(ax, xmax=xmax)  # was ValueError: 'xerr' must not contain negative values
            assert "unbounded" in all_text(ax)
        assert plotting.to_png(d).startswith(PNG_SIGNATURE)

    def test_labels_starting_with_an_underscore_and_bidi_controls(self) -> None:
        log = EventLog(FrozenClock(T0))
        for i, plan in enumerate(["_internal", "pro\u202e 10"] * 10):
            log.add(f"u{i}", "signup", {"plan": plan}, at=T0 + timedelta(hours=i))
            log.add(f"u{i}", "done", at=T0 + timedelta(hours=2 * i + 1))
        c = ttv.compare(log.store(), Milestone("m", "done"), by="plan", bootstrap=0)
        ax = figure_axes()
        c.plot(ax)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert [entry.split(":")[0] for entry in legend] == ["_internal (reference)", "pro 10"]
        assert not any("\u202e" in entry for entry in legend)
        d = ttv.time_to_value(log.store(), Milestone("m", "done"))
        ax = figure_axes()
        d.plot(ax, label="_baseline")
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["_baseline"]

    def test_negative_mean_scores_are_drawn(self) -> None:
        log = EventLog(FrozenClock(T0))
        for i in range(20):
            fast = i % 2 == 0
            log.add(f"u{i}", "signup", at=T0)
            log.add(f"u{i}", "done", at=T0 + (timedelta(minutes=1) if fast else timedelta(days=9)))
            log.add(f"u{i}", "csat", {"score": 1 if fast else -2}, at=T0 + timedelta(days=10))
        bands = SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))
        result = ttv.satisfaction(
            log.store(), Milestone("m", "done"), survey="csat", score="score", bands=bands
        )
        ax = figure_axes()
        result.plot(ax)
        bottom, top = ax.get_ylim()
        heights = [bar.get_height() for bar in ax.patches]
        assert sorted(heights) == [-2.0, 1.0]
        assert bottom < -2.0 and top > 1.0  # every bar inside the view
        assert "-2.00\nn 10" in all_text(ax)


def test_a_report_shows_in_a_notebook_as_its_page() -> None:
    import html as html_module

    from ttvkit.config import parse_config
    from ttvkit.report import build_report, render

    config = parse_config({"milestones": {"first <report>": {"reached": ds.REPORT_CREATED}}})
    report = build_report(ttv.MemoryStore(ds.saas_events(60, seed=1)), config, period=None)
    assert repr(report) == "Report(title='Time to Value report')"  # not every section
    shown = report._repr_html_()
    assert shown.startswith("<iframe ") and shown.endswith("</iframe>")
    tags = _Strict()
    tags.feed(shown)
    assert tags.tags == ["iframe"]  # the page's tags stay inside srcdoc
    srcdoc = shown.split('srcdoc="', 1)[1].split('" style=', 1)[0]
    assert html_module.unescape(srcdoc) == render(report, "html")


class TestPlotOptions:
    def test_a_colour_matplotlib_does_not_know_and_a_ci_that_is_not_a_flag(
        self, results: dict[str, Any]
    ) -> None:
        d, c = results["distribution"], results["comparison"]
        with pytest.raises(ttv.InvalidArgumentError, match="color='notacolor'"):
            d.plot(figure_axes(), color="notacolor")
        for result in (d, c):
            with pytest.raises(ttv.InvalidArgumentError, match="ci='no'"):
                result.plot(figure_axes(), ci="no")
        d.plot(figure_axes(), color="tab:green", ci=False)  # what is valid still draws

    def test_a_crowded_comparison_renders_without_a_warning(self) -> None:
        import warnings

        log = EventLog(FrozenClock(T0))
        for i in range(60):
            log.add(f"u{i}", "signup", {"plan": f"plan {i}"}, at=T0)
            log.add(f"u{i}", "done", at=T0 + timedelta(hours=1 + i % 7))
        c = ttv.compare(log.store(), Milestone("m", "done"), by="plan", bootstrap=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert plotting.to_png(c).startswith(PNG_SIGNATURE)
        # The chart draws the reference group and the largest others; the table has all.
        ax = figure_axes()
        c.plot(ax)
        assert len(ax.get_legend().get_texts()) == 12
        assert "(12 of 60 groups drawn: the reference and the largest)" in ax.get_title()
        assert len(c.table().rows) == 60


def test_distributions_overlaid_on_one_axes(results: dict[str, Any]) -> None:
    """notebooks.md: ``label`` overlays several distributions on one axes."""
    from ttvkit.plotting._axes import AT_RISK_GID

    first, other = results["distribution"], results["not_reached"]
    ax = figure_axes()
    first.plot(ax, label="first")
    unit = ax.get_xlabel()
    end = ax.get_xlim()[1]
    other.plot(ax, label="other")
    assert ax.get_xlabel().split(" (")[1].split(")")[0] == unit.split(" (")[1].split(")")[0]
    assert ax.get_xlim()[1] >= end
    rows = [
        t.get_text() for t in ax.texts if t.get_gid() == AT_RISK_GID and "at risk" in t.get_text()
    ]
    assert rows == ["at risk · first", "at risk · other"]  # one row per curve, not two on one line
    title = ax.get_title()
    assert f"first: n {first.n}" in title and f"other: n {other.n}" in title
    medians = [t.get_text() for t in ax.texts if "median" in t.get_text()]
    assert any(m.startswith("first: median") for m in medians)
    assert "other: median not reached" in medians
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["first", "other"]
    with pytest.raises(ttv.InvalidArgumentError, match="already show a curve in"):
        other.plot(ax, label="third", unit="seconds")


def test_a_title_keeps_the_lines_it_was_given(results: dict[str, Any]) -> None:
    for name in ALL:
        ax = figure_axes()
        results[name].plot(ax, title="Onboarding\nQ3 cohort $5")
        assert ax.get_title() == "Onboarding\nQ3 cohort \\$5"  # lines kept, no math mode
    ax = figure_axes()
    results["distribution"].plot(ax, title="a\x1b[31m\u202eb")
    assert ax.get_title() == "a [31mb"  # a control becomes a space, a bidi control goes
