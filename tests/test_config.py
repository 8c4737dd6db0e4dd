"""TOML configuration: milestones defined once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ttvkit import ConfigurationError, MilestoneKind, event, gt, one_of, total
from ttvkit.conditions import all_of
from ttvkit.config import load_config, parse_duration

EXAMPLE = """
store = "sqlite:///ttv.db"
per = "account"

[bands]
immediate = "5m"
short = { days = 7 }

[milestones.first_report]
kind = "basic"
reached = "report_created"
window = "30d"

[milestones.ten_reports]
kind = "exceed"
reached = { event = "report_created", nth = 10 }

[milestones.saved_1k]
kind = "roi"

[milestones.saved_1k.reached]
total = "invoice_paid"
property = "amount"
at_least = 1000
where = { amount = { gt = 0 } }

[milestones.onboarded]
kind = "onboarding"
start = { event = "signup", where = { plan = { one_of = ["pro", "team"] } } }
reached = { all_of = ["profile_completed", "data_imported"] }

[milestones.export_adoption]
kind = "feature_adoption"
start = 2026-07-01T00:00:00Z
reached = "export_used"

[analysis]
interventions = ["tutorial_completed", "csm_assigned"]
journey = ["onboarded", "first_report", "ten_reports"]
landmark = "1d"
within = "2w"

[satisfaction]
milestone = "first_report"
survey = "csat"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ttv.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_example(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.store == "sqlite:///ttv.db"
    assert config.per == "account"
    assert config.bands is not None and config.bands.short == timedelta(days=7)
    first = config.milestone("first_report")
    assert first.reached == event("report_created") and first.window == timedelta(days=30)
    assert config.milestone("ten_reports").reached == event("report_created").nth(10)
    assert config.milestone("ten_reports").kind is MilestoneKind.EXCEED
    assert config.milestone("saved_1k").reached == total(
        "invoice_paid", "amount", at_least=1000, where={"amount": gt(0)}
    )
    onboarded = config.milestone("onboarded")
    assert onboarded.start == event("signup", where={"plan": one_of("pro", "team")})
    assert onboarded.reached == all_of("profile_completed", "data_imported")
    assert config.milestone("export_adoption").start == datetime(2026, 7, 1, tzinfo=UTC)
    assert config.interventions == ("tutorial_completed", "csm_assigned")
    assert config.journey == ("onboarded", "first_report", "ten_reports")
    assert (config.landmark, config.within) == (timedelta(days=1), timedelta(weeks=2))
    assert (config.satisfaction_milestone, config.survey, config.score) == (
        "first_report",
        "csat",
        "score",
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[milestones.x]\nreached = 'a'\nkind = 'fast'", "milestones.x.kind: 'fast' is not one of"),
        ("[milestones.x]\nkind = 'basic'", "milestones.x: reached is required"),
        ("[milestones.x]\nreached = { evnt = 'a' }", "exactly one of event"),
        ("[milestones.x]\nreached = { event = 'a', nht = 2 }", "unknown key(s) nht"),
        ("[milestones.x]\nreached = { event = 'a', nth = 0 }", "k must be an int"),
        ("[milestones.x]\nreached = 'a'\nwindow = 'soon'", "is not a duration"),
        ("[milestones.x]\nreached = 'a'\nwindow = '0d'", "window"),
        (
            "[milestones.x]\nreached = { total = 'a', property = 'p' }",
            "needs property and at_least",
        ),
        (
            "[milestones.x]\nreached = { event = 'a', where = { p = { between = 1 } } }",
            "use one of",
        ),
        ("[bands]\nimmediate = '7d'\nshort = '5m'", "shorter than short"),
        ("[analysis]\njourney = ['nope', 'never']", "'nope' is not a milestone"),
        ("per = 'team'", "per"),
        ("colour = 'blue'", "unknown key(s) colour"),
        ("[analysis]\nlandmark = { hours = -3 }", "analysis.landmark: {'hours': -3} must be"),
        ("[analysis]\nwithin = '0s'", "analysis.within: '0s' must be a duration longer than 0"),
        (
            "[bands]\nimmediate = '5m'\nshort = '7d'\n[milestones.m]\nreached = 'a'\n"
            "[satisfaction]\nmilestone = ['m']",
            "satisfaction.milestone: ['m']: expected a name",
        ),
        ("[satisfaction]\nsurvey = 5", "satisfaction.survey: 5: expected a name"),
        ("[satisfaction]\nscore = ''", "satisfaction.score: '': expected a name"),
        ("this is = not toml", "not valid TOML"),
    ],
)
def test_errors_name_the_place(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_config(write(tmp_path, text))
    assert fragment in str(info.value)
    assert str(tmp_path / "ttv.toml") in str(info.value)


def test_missing_file_and_unknown_milestone(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        load_config(tmp_path / "missing.toml")
    config = load_config(write(tmp_path, EXAMPLE))
    with pytest.raises(ConfigurationError, match=r"unknown milestone 'nope'.*first_report"):
        config.milestone("nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1.5h", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(days=14)),
        ({"hours": 3}, timedelta(hours=3)),
    ],
)
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_equal_configurations_hash_alike(tmp_path: Path) -> None:
    text = "[milestones.x]\nreached = 'a'\n[analysis]\nwithin = '3d'"
    one, two = load_config(write(tmp_path, text)), load_config(write(tmp_path, text))
    assert one == two and hash(one) == hash(two)
    assert {one: "cached"}[two] == "cached"
