"""Issue 10: a new user's own file, first try: inline milestones, column mappings,
``ttvkit init``, vendor formats recognised, identities merged, names that match nothing.

The command-line paths run as subprocesses (exit 2, one line, no traceback)."""

from __future__ import annotations

import contextlib
import io
import json
import tomllib
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ttvkit as ttv
from tests.test_cli import assert_user_error, ok, ttvkit, write_rows
from ttvkit import datasets
from ttvkit.cli._files import with_stable_ids
from ttvkit.config import load_config, parse_config
from ttvkit.errors import ConfigurationError, TTVWarning, UnknownEventWarning
from ttvkit.io import read_file, read_posthog, read_segment
from ttvkit.report import Report, build_report, render
from ttvkit.stores import MemoryStore, event_names_of, open_store
from ttvkit.tracker import DeliveryFailure

T = datetime(2026, 3, 1, tzinfo=UTC)

# A Mixpanel/Amplitude-style CSV: event,time columns and a distinct_id.
MIXPANEL = (
    "distinct_id,event,time,plan\n"
    "u1,signup,2026-03-01T00:00:00Z,pro\n"
    "u1,first_dashboard_shared,2026-03-02T00:00:00Z,\n"
    "u1,first_dashboard_shared,2026-03-03T00:00:00Z,\n"
    "u2,signup,2026-03-01T00:00:00Z,free\n"
    "u2,first_dashboard_shared,2026-03-04T00:00:00Z,\n"
    "u2,invoice_paid,2026-03-05T00:00:00Z,\n"
    "u3,signup,2026-03-02T00:00:00Z,free\n"
    "u3,heartbeat,2026-03-10T00:00:00Z,\n"
)
COLUMNS = "user=distinct_id,name=event,timestamp=time"


@pytest.fixture
def mixpanel(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(MIXPANEL, encoding="utf-8")
    return path


def report_json(*args: str, cwd: Path) -> tuple[dict[str, object], str]:
    result = ok(ttvkit("report", *args, "--format", "json", "--cohorts", "none", cwd=cwd))
    return json.loads(result.stdout), result.stderr


def overview(report: dict[str, object]) -> dict[str, object]:
    sections = report["sections"]
    assert isinstance(sections, list)
    first = sections[1]["result"]
    assert isinstance(first, dict)
    return first


def kind(report: dict[str, object]) -> object:
    milestone = overview(report)["milestone"]
    assert isinstance(milestone, dict)
    return milestone["kind"]


# --------------------------------------------------------------------------- inline milestones


def test_report_with_inline_milestone_and_columns(mixpanel: Path, tmp_path: Path) -> None:
    report, err = report_json(
        str(mixpanel), "--columns", COLUMNS, "--reached", "first_dashboard_shared", cwd=tmp_path
    )
    result = overview(report)
    assert (result["n"], result["n_reached"]) == (3, 2)
    assert err == ""


def test_inline_vocabulary_nth_where_window_kind_name(mixpanel: Path, tmp_path: Path) -> None:
    args = [str(mixpanel), "--columns", COLUMNS, "--reached", "first_dashboard_shared"]
    second, _ = report_json(*args, "--nth", "2", "--name", "twice", cwd=tmp_path)
    assert (overview(second)["n_reached"], kind(second)) == (1, "exceed")
    assert overview(second)["milestone"]["name"] == "twice"  # type: ignore[index]
    pro, _ = report_json(*args, "--where", "plan=pro", cwd=tmp_path)
    assert (overview(pro)["n"], overview(pro)["n_reached"]) == (1, 1)
    quick, _ = report_json(*args, "--window", "2d", "--kind", "upgrade", cwd=tmp_path)
    assert kind(quick) == "upgrade"
    assert overview(quick)["n_reached"] == 1  # u2 shared after 3 days, outside the window


def test_several_reached_mean_all_of_them(mixpanel: Path, tmp_path: Path) -> None:
    report, _ = report_json(
        str(mixpanel),
        "--columns",
        COLUMNS,
        "--reached",
        "first_dashboard_shared",
        "--reached",
        "invoice_paid",
        cwd=tmp_path,
    )
    result = overview(report)
    assert (result["n_reached"], kind(report)) == (1, "onboarding")


def test_total_at_least(tmp_path: Path) -> None:
    path = tmp_path / "roi.csv"
    path.write_text(
        "user_id,name,timestamp,amount\n"
        "a,signup,2026-03-01T00:00:00Z,\n"
        "a,invoice_paid,2026-03-02T00:00:00Z,600\n"
        "a,invoice_paid,2026-03-03T00:00:00Z,600\n"
        "b,signup,2026-03-01T00:00:00Z,\n"
        "b,invoice_paid,2026-03-02T00:00:00Z,100\n",
        encoding="utf-8",
    )
    report, _ = report_json(
        str(path), "--reached", "invoice_paid", "--total", "amount", "--at-least", "1000",
        cwd=tmp_path,
    )  # fmt: skip
    assert (overview(report)["n_reached"], kind(report)) == (1, "roi")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--start", "signup"], "need --reached EVENT"),
        (["--reached", "x", "--total", "amount"], "--total PROP and --at-least X go together"),
        (["--reached", "x", "--where", "plan"], "is not KEY=VALUE"),
        (["--reached", "x", "--window", "soon"], "is not a duration"),
        (["--columns", "user"], "is not FIELD=COLUMN"),
        (["--columns", "who=distinct_id"], "unknown key(s) who"),
        (["--reached", "x", "--kind", "fast"], "invalid choice"),
    ],
)
def test_inline_errors_are_one_line(
    mixpanel: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    assert_user_error(ttvkit("report", str(mixpanel), *args, cwd=tmp_path), fragment)


def test_without_milestones_the_error_names_the_inline_flags(
    mixpanel: Path, tmp_path: Path
) -> None:
    assert_user_error(ttvkit("report", str(mixpanel), cwd=tmp_path), "--reached EVENT", "init")


# --------------------------------------------------------------------------- columns


def test_unmapped_columns_say_the_cli_option_not_python(mixpanel: Path, tmp_path: Path) -> None:
    line = assert_user_error(
        ttvkit("report", str(mixpanel), "--reached", "x", cwd=tmp_path),
        "its fields are: distinct_id, event, time, plan",
        f"--columns {COLUMNS}",
    )
    assert "ColumnMapping" not in line
    # distinct_id alone (Mixpanel's, here) is no PostHog export: no hint the reader refuses.
    assert "--input-format posthog" not in line


def test_columns_table_in_the_toml(mixpanel: Path, tmp_path: Path) -> None:
    (tmp_path / "ttv.toml").write_text(
        '[columns]\nuser = "distinct_id"\nname = "event"\ntimestamp = "time"\n\n'
        '[milestones.shared]\nreached = "first_dashboard_shared"\n',
        encoding="utf-8",
    )
    report, _ = report_json(str(mixpanel), cwd=tmp_path)
    assert overview(report)["n_reached"] == 2
    config = load_config(tmp_path / "ttv.toml")
    assert config.columns is not None and config.columns.user == "distinct_id"
    with pytest.raises(ConfigurationError, match=r"columns: unknown key\(s\) who"):
        parse_config({"columns": {"who": "x"}})


def test_import_takes_columns_too(mixpanel: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    ok(ttvkit("import", str(mixpanel), url, "--columns", COLUMNS, cwd=tmp_path))
    with open_store(url) as store:
        assert store.count() == 8


# --------------------------------------------------------------------------- init


def test_init_writes_a_starter_that_reports(mixpanel: Path, tmp_path: Path) -> None:
    printed = ok(ttvkit("init", str(mixpanel), "--print", cwd=tmp_path))
    config = parse_config(tomllib.loads(printed.stdout))
    assert config.columns is not None and config.columns.timestamp == "time"
    first = next(iter(config.milestones.values()))
    assert first.reached.event_names() == {"first_dashboard_shared"}
    assert first.start.describe() == "signup"  # type: ignore[union-attr]
    assert "# invoice_paid: 1 events by 1 users" in printed.stdout
    ok(ttvkit("init", str(mixpanel), cwd=tmp_path))
    assert (tmp_path / "ttv.toml").read_text(encoding="utf-8") == printed.stdout
    report, _ = report_json(str(mixpanel), cwd=tmp_path)
    assert overview(report)["n_reached"] == 2
    assert_user_error(ttvkit("init", str(mixpanel), cwd=tmp_path), "ttv.toml exists")


def test_init_without_a_file_is_a_valid_template(tmp_path: Path) -> None:
    printed = ok(ttvkit("init", "--print", cwd=tmp_path))
    assert parse_config(tomllib.loads(printed.stdout)).milestones


def test_init_on_a_missing_file_is_one_line(tmp_path: Path) -> None:
    assert_user_error(ttvkit("init", "nope.csv", cwd=tmp_path), "nope.csv")


def _init_log() -> list[dict[str, str]]:
    """A log that tells the two ways of reading apart if they disagree: a row sent twice,
    an id sent twice, two events tied at a user's first instant, repeats."""

    def row(event_id: str, user: str, name: str, at: str) -> dict[str, str]:
        return {"event_id": event_id, "user_id": user, "name": name, "timestamp": at}

    rows = []
    for i in range(12):
        user, day = f"u{i}", f"2026-01-0{1 + i % 3}"
        rows += [
            row(f"s{i}", user, "signup", f"{day}T09:00:00Z"),
            row(f"r{i}a", user, "report", f"{day}T10:00:00Z"),
            row(f"r{i}b", user, "report", f"{day}T11:00:00Z"),
        ]
    # u20 starts with two events at one instant: the least name, "b_tie", counts first.
    rows += [
        row("t1", "u20", "c_tie", "2026-01-05T00:00:00Z"),
        row("t2", "u20", "b_tie", "2026-01-05T00:00:00Z"),
    ]
    rows.append(dict(rows[1]))  # the same row twice: one event
    rows.append(dict(rows[4]))
    return rows


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_init_reads_a_file_in_the_engine_with_the_readers_answers(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With duckdb, ``init`` counts a file's events in DuckDB (no event per row in
    Python); without it, the reader's events: the same starter either way."""
    pytest.importorskip("duckdb")

    from ttvkit.cli import _init, main

    path = write_rows(list(_init_log()), tmp_path / f"log.{fmt}")

    def no_reader(*args: object, **kwargs: object) -> None:
        raise AssertionError("init read the file row by row in Python")

    with monkeypatch.context() as patched:
        patched.setattr(_init, "open_reader", no_reader)
        assert main(["init", str(path), "--print"]) == 0
    in_engine = capsys.readouterr().out
    monkeypatch.setattr(_init, "scan_file", lambda *args, **kwargs: None)
    assert main(["init", str(path), "--print"]) == 0
    assert capsys.readouterr().out == in_engine
    assert "# report: 24 events by 12 users" in in_engine  # the row sent twice counts once
    assert "# b_tie: 1 events by 1 users" in in_engine
    config = parse_config(tomllib.loads(in_engine))
    assert {m.start.describe() for m in config.milestones.values()} == {"signup"}  # type: ignore[union-attr]
    # Each user's first event, tie broken by the least name, the same both ways.
    with ttv.scan(str(path), event_ids="content") as scanned:
        names, firsts = _init._names_in_engine(scanned)
    assert firsts == {"signup": 12, "b_tie": 1}
    assert (names, firsts) == _init._names_read(with_stable_ids(read_file(str(path))))


def test_init_counts_each_user_s_first_event_with_ties_to_the_least_name() -> None:
    from ttvkit.cli._init import _names_read

    t = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        ttv.ValueEvent("u1", "zeta", t, event_id="1"),
        ttv.ValueEvent("u1", "alpha", t, event_id="2"),
        ttv.ValueEvent("u2", "zeta", t, event_id="3"),
        ttv.ValueEvent("u2", "alpha", t + timedelta(seconds=1), event_id="4"),
        ttv.ValueEvent("u2", "alpha", t - timedelta(seconds=1), event_id="4"),  # a second copy
    ]
    names, firsts = _names_read(events)
    assert firsts == {"alpha": 1, "zeta": 1}
    assert names == {"zeta": (2, 2), "alpha": (2, 2)}


# --------------------------------------------------------------------------- vendor exports

SEGMENT = [
    {"type": "track", "anonymousId": "anon-1", "event": "Signed Up", "messageId": "m1",
     "timestamp": "2026-03-01T12:00:00Z", "properties": {"plan": "free"}},
    {"type": "page", "anonymousId": "anon-1", "name": "Pricing", "messageId": "m2",
     "timestamp": "2026-03-01T12:01:00Z"},
    {"type": "identify", "anonymousId": "anon-1", "userId": "u1", "messageId": "m3",
     "timestamp": "2026-03-01T12:02:00Z", "traits": {"email": "a@x.test"}},
    {"type": "track", "userId": "u1", "event": "Report Created", "messageId": "m4",
     "timestamp": "2026-03-02T12:00:00Z"},
    {"type": "track", "anonymousId": "anon-2", "event": "Signed Up", "messageId": "m5",
     "timestamp": "2026-03-01T13:00:00Z"},
    {"type": "alias", "previousId": "anon-2", "userId": "u2", "messageId": "m6",
     "timestamp": "2026-03-01T13:05:00Z"},
    {"type": "track", "userId": "u2", "event": "Report Created", "messageId": "m7",
     "timestamp": "2026-03-04T13:00:00Z"},
]  # fmt: skip

POSTHOG = [
    {"uuid": "e1", "event": "signed_up", "distinct_id": "anon-1",
     "properties": {"$browser": "Firefox"}, "person_properties": {"plan": "pro"},
     "timestamp": "2026-03-01T12:00:00+00:00"},
    {"uuid": "e2", "event": "$identify", "distinct_id": "u1",
     "properties": {"$anon_distinct_id": "anon-1"}, "timestamp": "2026-03-01T12:01:00+00:00"},
    {"uuid": "e3", "event": "report_created", "distinct_id": "u1",
     "properties": {"$groups": {"company": "acme"}}, "person_properties": {"plan": "pro"},
     "timestamp": "2026-03-02T12:00:00+00:00"},
    {"uuid": "e4", "event": "signed_up", "distinct_id": "anon-2", "properties": {},
     "timestamp": "2026-03-01T13:00:00+00:00"},
    {"uuid": "e5", "event": "$create_alias", "distinct_id": "u2",
     "properties": {"alias": "anon-2"}, "timestamp": "2026-03-01T13:01:00+00:00"},
    {"uuid": "e6", "event": "report_created", "distinct_id": "u2",
     "properties": {"$groups": {"company": "globex"}}, "timestamp": "2026-03-03T13:00:00+00:00"},
]  # fmt: skip


def jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_segment_identify_and_alias_merge_anonymous_ids(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "segment.jsonl", SEGMENT)
    reader = read_segment(path)
    events = list(reader)
    assert [(e.user_id, e.name) for e in events] == [
        ("u1", "Signed Up"), ("u1", "Report Created"), ("u2", "Signed Up"), ("u2", "Report Created")
    ]  # fmt: skip
    assert (reader.merged, reader.ignored) == (2, 3)
    apart = read_segment(path, merge_identities=False)
    assert {e.user_id for e in apart} == {"anon-1", "anon-2", "u1", "u2"}
    assert apart.merged == 0
    with path.open(encoding="utf-8") as file:  # a file object: read once, held in memory
        assert [e.user_id for e in read_segment(file)] == ["u1", "u1", "u2", "u2"]
    m = ttv.Milestone("first_report", "Report Created", start="Signed Up")
    assert ttv.time_to_value(events, m).n_reached == 2
    assert ttv.time_to_value(list(apart), m).n_reached == 0  # what issue 10 found


def test_posthog_identify_alias_person_properties_and_groups(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "posthog.jsonl", POSTHOG)
    reader = read_posthog(path, group_type="company", keep_properties=["plan"])
    events = list(reader)
    assert [(e.user_id, e.name) for e in events if not e.name.startswith("$")] == [
        ("u1", "signed_up"), ("u1", "report_created"), ("u2", "signed_up"),
        ("u2", "report_created"),
    ]  # fmt: skip
    assert reader.merged == 2
    assert dict(events[0].properties) == {"plan": "pro"}  # person_properties, kept
    assert "$anon_distinct_id" not in events[1].properties  # read for merging, not kept
    assert [e.account_id for e in events if e.name == "report_created"] == ["acme", "globex"]
    apart = read_posthog(path, merge_identities=False, person_properties=False)
    assert events[0].user_id == "u1" and next(iter(apart)).user_id == "anon-1"


def test_cli_recognises_vendor_exports_and_says_what_it_did(tmp_path: Path) -> None:
    segment = jsonl(tmp_path / "segment.json", SEGMENT)
    report, err = report_json(
        str(segment), "--start", "Signed Up", "--reached", "Report Created", cwd=tmp_path
    )
    assert overview(report)["n_reached"] == 2
    facts = report["facts"]
    assert isinstance(facts, dict)
    assert facts["format"] == "Segment export (recognised from its fields)"
    assert (facts["identities merged"], facts["calls ignored (not events)"]) == (2, 3)
    assert "a Segment export" in err and "2 anonymous ids merged" in err
    assert "3 rows that are not events" in err
    posthog = jsonl(tmp_path / "posthog.jsonl", POSTHOG)
    report, err = report_json(
        str(posthog), "--start", "signed_up", "--reached", "report_created",
        "--group-type", "company", "--by", "plan", cwd=tmp_path,
    )  # fmt: skip
    assert "PostHog export" in err
    assert overview(report)["n_reached"] == 2
    apart, _ = report_json(
        str(posthog), "--start", "signed_up", "--reached", "report_created",
        "--no-merge-identities", cwd=tmp_path,
    )  # fmt: skip
    assert overview(apart)["n_reached"] == 0


def test_a_partial_vendor_layout_suggests_the_input_format(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "e.jsonl", [{"distinct_id": "u", "event": "a", "timestamp": "x"}])
    assert_user_error(
        ttvkit("report", str(path), "--reached", "a", cwd=tmp_path), "--input-format posthog"
    )


# --------------------------------------------------------------------------- unknown names


def test_reached_typo_warns_with_the_closest_name(mixpanel: Path, tmp_path: Path) -> None:
    result = ok(
        ttvkit(
            "report", str(mixpanel), "--columns", COLUMNS, "--reached", "first_dashbord_shared",
            cwd=tmp_path,
        )
    )  # fmt: skip
    (line,) = result.stderr.splitlines()
    assert line.startswith("ttvkit: warning: ")
    assert "did you mean 'first_dashboard_shared'?" in line
    assert "names that match no event" in result.stdout


def test_start_typo_is_an_error_with_the_closest_name(mixpanel: Path, tmp_path: Path) -> None:
    assert_user_error(
        ttvkit(
            "report", str(mixpanel), "--columns", COLUMNS, "--start", "sigup",
            "--reached", "first_dashboard_shared", cwd=tmp_path,
        ),
        "starts on 'sigup'", "did you mean 'signup'?",
    )  # fmt: skip


def _log() -> list[ttv.ValueEvent]:
    return [
        ttv.ValueEvent("u1", "signup", T),
        ttv.ValueEvent("u1", "first_dashboard_shared", T + timedelta(days=1)),
        ttv.ValueEvent("u2", "signup", T),
        ttv.ValueEvent("u2", "tutorial_completed", T + timedelta(hours=1)),
        ttv.ValueEvent("u2", "csat", T + timedelta(days=2), properties={"score": 5}),
    ]


def test_library_warns_for_reached_levers_and_surveys() -> None:
    m = ttv.Milestone("shared", "first_dashbord_shared")
    with pytest.warns(UnknownEventWarning, match="did you mean 'first_dashboard_shared'"):
        assert ttv.time_to_value(_log(), m).n_reached == 0
    good = ttv.Milestone("shared", "first_dashboard_shared")
    # Both are errors as well (nobody exposed, no scores): the warning says why first.
    with (
        pytest.warns(UnknownEventWarning, match="lever.*'tutorial_complete'"),
        contextlib.suppress(ttv.AnalysisError),
    ):
        ttv.impact(_log(), good, ["tutorial_complete"], landmark=timedelta(hours=2))
    bands = ttv.SpeedBands(timedelta(minutes=5), timedelta(days=7))
    with (
        pytest.warns(UnknownEventWarning, match="survey event.*'csat_submitted'"),
        contextlib.suppress(ttv.AnalysisError),
    ):
        ttv.satisfaction(_log(), good, "csat_submitted", bands=bands)
    assert issubclass(UnknownEventWarning, TTVWarning) and issubclass(TTVWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ttv.time_to_value(_log(), good)  # names that exist: no warning


def test_library_start_typo_is_an_error() -> None:
    with pytest.raises(ttv.AnalysisError, match="did you mean 'signup'"):
        ttv.time_to_value(_log(), ttv.Milestone("m", "first_dashboard_shared", start="sigup"))


@pytest.mark.parametrize("url", ["memory://", "sqlite:///:memory:", "duckdb:///:memory:"])
def test_every_store_lists_its_event_names(url: str) -> None:
    pytest.importorskip("duckdb") if url.startswith("duckdb") else None
    with open_store(url) as store:
        assert event_names_of(store) == frozenset()
        store.append(_log())
        assert store.event_names() == {  # type: ignore[attr-defined]
            "signup", "first_dashboard_shared", "tutorial_completed", "csat"
        }  # fmt: skip


def test_scan_and_the_generic_fallback_list_names(mixpanel: Path) -> None:
    pytest.importorskip("duckdb")
    from ttvkit.io import ColumnMapping

    mapping = ColumnMapping(user="distinct_id", name="event", timestamp="time")
    with ttv.scan(mixpanel, mapping=mapping) as scanned:
        assert scanned.event_names() == {
            "signup", "first_dashboard_shared", "invoice_paid", "heartbeat"
        }  # fmt: skip
    with MemoryStore(_log()) as store:
        assert event_names_of(store) == store.event_names()
    assert event_names_of(object()) is None


# --------------------------------------------------------------------------- small things


def _demo_report(**options: object) -> Report:
    from ttvkit.cli import demo_config

    return build_report(
        datasets.saas_events(150, seed=3),
        demo_config(),
        bootstrap=20,
        **options,  # type: ignore[arg-type]
    )


def test_milestone_restricts_the_journey_and_satisfaction() -> None:
    everything = [s.heading for s in _demo_report().sections]
    assert any(h.startswith("Value in stages") for h in everything)
    assert any(h.startswith("Customer satisfaction") for h in everything)
    upgraded = [s.heading for s in _demo_report(milestones=["upgraded"]).sections]
    assert not any(h.startswith(("Value in stages", "Customer satisfaction")) for h in upgraded)
    two = _demo_report(milestones=["first_report", "ten_reports"])
    (stages,) = [s.heading for s in two.sections if s.heading.startswith("Value in stages")]
    assert stages == "Value in stages: first_report -> ten_reports"


def test_progress_names_each_section_and_is_off_without_a_terminal() -> None:
    from ttvkit.cli._output import SectionProgress as _SectionProgress

    seen: list[str] = []
    report = _demo_report(milestones=["first_report"], progress=seen.append)
    assert seen[0] == report.sections[1].heading  # after the Overview, which is not computed
    assert len(seen) == len(report.sections) - 1

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        with _SectionProgress(stream) as progress:
            progress("Cohorts (the trend): first_report")
    assert "computing Cohorts (the trend): first_report" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")
    assert log.getvalue() == ""


def test_html_without_matplotlib_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from ttvkit import cli, report

    monkeypatch.setattr(report._render, "_png_renderer", lambda: None)
    page = render(_demo_report(milestones=["first_report"]), "html")
    assert report.CHARTS_LEFT_OUT.replace("'", "&#x27;") in page
    path = tmp_path / "e.csv"
    path.write_text(MIXPANEL, encoding="utf-8")
    args = ["report", str(path), "--columns", COLUMNS, "--reached", "first_dashboard_shared"]
    assert cli.main([*args, "--format", "html"]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert cli.main(args) == 0  # text: no charts expected, nothing said
    assert capsys.readouterr().err == ""


def test_tracker_accepts_integer_ids_and_says_1_event() -> None:
    store = MemoryStore()
    with ttv.Tracker(store) as tracker:
        e = tracker.track(42, "signup", account_id=7, timestamp=T)
        with pytest.raises(ttv.InvalidEventError):
            tracker.track(True, "signup")  # type: ignore[arg-type]
    assert (e.user_id, e.account_id) == ("42", "7")
    assert [s.user_id for s in store.events()] == ["42"]
    failed = DeliveryFailure("failed", 1, OSError("disk full"), attempt=1)
    assert str(failed) == "gave up on 1 event after 1 attempt: OSError: disk full"
    assert "dropped 2 events" in str(DeliveryFailure("dropped", 2))


def test_help_points_to_the_docs_site(tmp_path: Path) -> None:
    result = ok(ttvkit("--help", cwd=tmp_path))
    assert "https://ttvkit.github.io/ttvkit/cli/" in " ".join(result.stdout.split())
    assert "docs/cli.md" not in result.stdout


def test_events_before_the_start_are_said(tmp_path: Path) -> None:
    path = tmp_path / "early.csv"
    path.write_text(
        "user_id,name,timestamp\n"
        "a,report_created,2026-03-01T00:00:00Z\n"
        "a,signup,2026-03-02T00:00:00Z\n"
        "b,signup,2026-03-01T00:00:00Z\n"
        "b,report_created,2026-03-03T00:00:00Z\n",
        encoding="utf-8",
    )
    report, err = report_json(str(path), "--reached", "report_created", cwd=tmp_path)
    facts = report["facts"]
    assert isinstance(facts, dict)
    assert facts["reached before the start (report_created)"] == 1
    assert "1 customer reached it before their start (before_start='zero'" in err


def test_posthog_person_properties_in_csv_and_parquet(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    columns = ["uuid", "event", "distinct_id", "properties", "person_properties", "timestamp"]
    frame = pd.DataFrame(
        [
            [r["uuid"], r["event"], r["distinct_id"], json.dumps(r["properties"]),
             json.dumps(r.get("person_properties", {})), r["timestamp"]]
            for r in POSTHOG
        ],
        columns=columns,
    )  # fmt: skip
    frame.to_csv(tmp_path / "export.csv", index=False)
    frame.to_parquet(tmp_path / "export.parquet")
    expected = list(read_posthog(jsonl(tmp_path / "export.jsonl", POSTHOG)))
    assert dict(expected[0].properties) == {"$browser": "Firefox", "plan": "pro"}
    assert list(read_posthog(tmp_path / "export.csv")) == expected
    assert list(read_posthog(tmp_path / "export.parquet")) == expected
    slim = list(read_posthog(tmp_path / "export.csv", keep_properties=["plan"]))
    assert dict(slim[0].properties) == {"plan": "pro"}
    apart = list(read_posthog(tmp_path / "export.csv", person_properties=False))
    assert dict(apart[0].properties) == {"$browser": "Firefox"}


def test_a_store_without_event_names_is_read_through_events() -> None:
    class Plain:  # the Store protocol only, without event_names()
        def __init__(self) -> None:
            self._inner = MemoryStore(_log())

        def __getattr__(self, name: str) -> object:
            if name == "event_names":
                raise AttributeError(name)
            return getattr(self._inner, name)

        def observations(self, *a: object, **k: object) -> object:
            return self._inner.observations(*a, **k)  # type: ignore[arg-type]

        def latest_timestamp(self) -> object:
            return self._inner.latest_timestamp()

        def close(self) -> None:
            self._inner.close()

        def __enter__(self) -> Plain:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

        def append(self, events: object) -> int:
            return self._inner.append(events)  # type: ignore[arg-type]

        def events(self, **k: object) -> object:
            return self._inner.events(**k)  # type: ignore[arg-type]

        def count(self) -> int:
            return self._inner.count()

    plain = Plain()
    assert isinstance(plain, ttv.Store) and not hasattr(plain, "event_names")
    assert event_names_of(plain) == {
        "signup",
        "first_dashboard_shared",
        "tutorial_completed",
        "csat",
    }
    with pytest.warns(UnknownEventWarning, match="did you mean 'first_dashboard_shared'"):
        ttv.time_to_value(plain, ttv.Milestone("m", "first_dashbord_shared"))  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
def test_an_analysis_of_a_misspelt_store_file_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    monkeypatch.chdir(tmp_path)
    milestone = ttv.Milestone("first_report", "report_created", start="signup")
    with pytest.raises(ConfigurationError, match=r"there is no database file 'evnets\.db'"):
        ttv.time_to_value(f"{scheme}:///evnets.db", milestone)
    assert list(tmp_path.iterdir()) == []
    with open_store(f"{scheme}:///events.db") as store:  # a file that exists is read
        store.append(
            [
                ttv.ValueEvent("u1", "signup", T),
                ttv.ValueEvent("u1", "report_created", T + timedelta(hours=1)),
            ]
        )
    assert ttv.time_to_value(f"{scheme}:///events.db", milestone).n_reached == 1
    with pytest.raises(ttv.AnalysisError, match="holds no events"):  # in memory: no file
        ttv.time_to_value(f"{scheme}://", milestone)


def test_init_asks_for_an_nth_time_only_of_events_users_repeat(tmp_path: Path) -> None:
    """Events each user does once get a first-time milestone: "the 3rd time" of one
    would be a milestone nobody can reach."""
    rows = ["user_id,name,timestamp"]
    for i in range(20):
        rows += [f"u{i},signup,2026-01-01T00:{i:02d}:00Z"]
        rows += [f"u{i},report,2026-01-02T0{k}:{i:02d}:00Z" for k in range(4)]  # 4 each
        rows += [f"u{i},imported,2026-01-03T00:{i:02d}:00Z"] if i < 18 else []  # once each
        rows += [f"u{i},shared,2026-01-04T0{k}:{i:02d}:00Z" for k in range(2)] if i < 15 else []
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    printed = ok(ttvkit("init", "log.csv", "--print", cwd=tmp_path)).stdout
    config = parse_config(tomllib.loads(printed))
    reached = {name: m.reached.describe() for name, m in config.milestones.items()}
    assert reached == {"report": "report", "imported": "imported", "shared": "shared (#2)"}
    assert {m.kind.value for n, m in config.milestones.items() if n != "shared"} == {"basic"}
    assert config.milestones["shared"].kind.value == "exceed"


def test_epoch_milliseconds_are_answered_with_the_cli_option(tmp_path: Path) -> None:
    (tmp_path / "ms.csv").write_text("user_id,name,timestamp\nu1,signup,1767000000000\n")
    (tmp_path / "ms.jsonl").write_text(
        '{"user_id": "u1", "name": "signup", "timestamp": 1767000000000}\n'
    )
    csv_line = assert_user_error(
        ttvkit("report", "ms.csv", "--reached", "x", cwd=tmp_path), "needs --timestamp-unit"
    )
    jsonl_line = assert_user_error(
        ttvkit("report", "ms.jsonl", "--reached", "x", cwd=tmp_path), "pass --timestamp-unit ms"
    )
    assert "timestamp_unit=" not in csv_line + jsonl_line
    ok(ttvkit("report", "ms.jsonl", "--reached", "signup", "--timestamp-unit", "ms", cwd=tmp_path))


def test_a_database_file_given_as_a_file_of_events_is_named_as_a_store(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'demo.db'}") as store:
        store.append([ttv.ValueEvent("u1", "signup", datetime(2026, 1, 1, tzinfo=UTC))])
    assert_user_error(
        ttvkit("report", "demo.db", "--reached", "x", cwd=tmp_path),
        "demo.db is a database file, not a file of events; name it as a store: sqlite:///demo.db",
    )
