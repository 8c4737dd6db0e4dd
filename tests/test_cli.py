"""The ``ttvkit`` command, run as users run it: in subprocesses, errors included.

Plus a few in-process checks of :mod:`ttvkit.report` (rendering rules that a
subprocess would only make slower to test).
"""

from __future__ import annotations

import base64
import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

import ttvkit as ttv
from ttvkit import datasets
from ttvkit.cli import content_id, demo_config, demo_config_text
from ttvkit.config import load_config, parse_config
from ttvkit.io import read_csv, write_csv
from ttvkit.report import MEASURES, Note, Overview, Report, Section, build_report, render

SCRIPT = Path(sys.executable).parent / "ttvkit"
USERS = 150  # enough for every section of the demo to have customers, and fast
REPORT_KINDS = [
    "overview",
    *["time_to_value"] * 6,
    "impact",
    "cohorts",
    "journey",
    "satisfaction",
]
DEMO_KINDS = [REPORT_KINDS[0], "note", *REPORT_KINDS[1:]]  # the demo adds a reading guide
PLOTTED = [k for k in DEMO_KINDS if k not in ("overview", "note")]


def ttvkit(
    *args: str, cwd: Path, script: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "ttvkit"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2 and exactly one line on stderr, ``ttvkit: error: ...``; returns it."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ttvkit: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not result.stdout  # "" (or None where the test closed stdout)
    return lines[0]


class _Page(HTMLParser):
    """Collects what the tests look at: h2 texts, images, and whether tags balance."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h2: list[str] = []
        self.images: list[str] = []
        self.sections: list[str] = []
        self.stack: list[str] = []
        self.doctype = ""
        self._in_h2 = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes.get("src") or "")
        if tag == "section":
            self.sections.append(attributes.get("class") or "")
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2[-1] += data


def parse_page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def plotting_available() -> bool:
    if importlib.util.find_spec("matplotlib") is None:
        return False
    try:
        import ttvkit.plotting as plotting
    except ImportError:
        return False
    return callable(getattr(plotting, "to_png", None))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with events.csv (a small synthetic log) and ttv.toml (the demo's config)."""
    path = tmp_path_factory.mktemp("cli")
    write_csv(datasets.saas_events(USERS, seed=3), path / "events.csv")
    (path / "ttv.toml").write_text(demo_config_text(), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- demo


def test_demo_prints_every_measure_lever_trend_stage_and_satisfaction(tmp_path: Path) -> None:
    result = ok(ttvkit("demo", "--users", str(USERS), cwd=tmp_path, env={"TMPDIR": str(tmp_path)}))
    out = result.stdout
    for measure in MEASURES.values():
        assert f"{measure}: " in out
    for heading in (
        "Overview",
        "What shortens time to basic value: first_report",
        "Cohorts (the trend): first_report",
        "Value in stages: onboarded -> first_report -> ten_reports",
        "Customer satisfaction: first_report",
    ):
        assert f"\n{heading}\n" in out
    assert "tutorial_completed" in out and "csm_assigned" in out
    assert "support_ticket_opened" in out
    assert "Spearman rho" in out
    assert f"{USERS:,} users" in out
    # Progress went to stderr, not into the report; the temporary database is gone.
    assert "loading the demo log into SQLite" in result.stderr
    assert "loading" not in out
    assert not list(tmp_path.glob("ttvkit-demo-*"))


def test_demo_json_has_every_section(tmp_path: Path) -> None:
    result = ok(ttvkit("demo", "--users", str(USERS), "--format", "json", cwd=tmp_path))
    report = json.loads(result.stdout)
    assert report["title"] == "Time to Value: the ttvkit demo"
    assert [s["kind"] for s in report["sections"]] == DEMO_KINDS
    measures = report["sections"][0]["result"]["measures"]
    assert [m["milestone"] for m in measures] == list(demo_config().milestones)
    assert report["sections"][1]["heading"] == "How to read this report"
    first = report["sections"][2]["result"]
    assert first["n"] == USERS
    assert set(first["speed_counts"]) == {"immediate", "short", "long", "undetermined"}
    impact = report["sections"][8]["result"]
    assert {r["intervention"] for r in impact["ranking"]} == {
        "tutorial_completed",
        "csm_assigned",
        "support_ticket_opened",
    }
    assert report["facts"]["per"] == "user"


def test_demo_is_deterministic_and_matches_the_library(tmp_path: Path) -> None:
    """The demo's figures are the library's figures for the same log and milestone."""
    result = ok(
        ttvkit("demo", "--users", str(USERS), "--seed", "7", "--format", "json", cwd=tmp_path)
    )
    report = json.loads(result.stdout)
    log = datasets.saas_events(USERS, seed=7)
    config = demo_config()
    expected = ttv.time_to_value(
        log, config.milestone("first_report"), bands=config.bands
    ).to_dict()
    assert report["sections"][2]["result"] == expected


def test_demo_html_page_parses_and_keeps_the_database(tmp_path: Path) -> None:
    db = tmp_path / "demo db?.sqlite"  # a name a URL would misread unless escaped
    page_file = tmp_path / "report.html"
    result = ok(
        ttvkit(
            "demo",
            "--users",
            str(USERS),
            "--db",
            str(db),
            "--format",
            "html",
            "--output",
            str(page_file),
            cwd=tmp_path,
            script=True,  # the console script the venv installed
        )
    )
    assert result.stdout == ""
    assert db.exists() and str(db) in result.stderr
    text = page_file.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    page = parse_page(text)
    assert page.doctype.lower() == "doctype html"
    assert page.h2[0] == "Overview"
    for measure in MEASURES.values():
        assert any(h.startswith(f"{measure}: ") for h in page.h2)
    assert "Customer satisfaction: first_report" in page.h2
    assert page.sections == DEMO_KINDS
    if plotting_available():
        # one chart per result section (all but the overview), each a real PNG
        assert len(page.images) == len(PLOTTED)
        for src in page.images:
            prefix = "data:image/png;base64,"
            assert src.startswith(prefix)
            assert base64.b64decode(src[len(prefix) :]).startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert page.images == []

    # The kept database reports the same as the demo, through `ttvkit report`.
    config = tmp_path / "ttv.toml"
    config.write_text(ok(ttvkit("demo", "--print-config", cwd=tmp_path)).stdout, encoding="utf-8")
    url = "sqlite:///" + str(db).replace("?", "%3F")
    again = ok(ttvkit("report", url, "--config", str(config), "--format", "json", cwd=tmp_path))
    assert [s["kind"] for s in json.loads(again.stdout)["sections"]] == REPORT_KINDS

    # Running the same demo on it again stores nothing twice; another log is refused.
    rerun = ok(ttvkit("demo", "--users", str(USERS), "--db", str(db), cwd=tmp_path))
    assert "Overview" in rerun.stdout
    with ttv.open_store(url) as store:
        assert store.count() == len(datasets.saas_events(USERS))
    assert_user_error(
        ttvkit("demo", "--users", str(USERS), "--seed", "1", "--db", str(db), cwd=tmp_path),
        "not this demo's log",
    )
    # Another --users starts with the same first event: refused too, before any write.
    assert_user_error(
        ttvkit("demo", "--users", str(USERS + 50), "--db", str(db), cwd=tmp_path),
        "not this demo's log",
    )
    with ttv.open_store(url) as store:
        assert store.count() == len(datasets.saas_events(USERS))


def test_demo_markdown(tmp_path: Path) -> None:
    out = ok(ttvkit("demo", "--users", str(USERS), "--format", "markdown", cwd=tmp_path)).stdout
    assert out.startswith("# Time to Value: the ttvkit demo\n")
    assert "\n## Time to basic value: first\\_report\n" in out
    assert out.count("\n## ") == len(DEMO_KINDS)
    assert out.count("```text\n") == len(DEMO_KINDS) - 1  # the note is a paragraph
    assert out.count("\n```\n") == len(DEMO_KINDS) - 1


def test_print_config_is_the_shipped_example(tmp_path: Path) -> None:
    out = ok(ttvkit("demo", "--print-config", cwd=tmp_path)).stdout
    assert out == demo_config_text()
    config = parse_config(tomllib.loads(out))
    assert [m.kind for m in config.milestones.values()] == list(MEASURES)
    # The feature's release in the TOML is the one of the generated log.
    assert config.milestone("export_adoption").start == datasets.feature_released_at()
    assert config.journey and config.interventions and config.satisfaction_milestone
    assert config.bands is not None


# --------------------------------------------------------------------------- report


def test_report_on_a_csv_file(workdir: Path) -> None:
    result = ok(
        ttvkit(
            "report",
            "events.csv",
            "--milestone",
            "first_report",
            "--by",
            "plan",
            "--format",
            "json",
            cwd=workdir,  # ttv.toml there is the default configuration
        )
    )
    report = json.loads(result.stdout)
    kinds = [s["kind"] for s in report["sections"]]
    assert kinds == [
        "overview",
        "time_to_value",
        "comparison",
        "impact",
        "cohorts",
        "satisfaction",  # of first_report; the journey has one selected stage only (issue 10)
    ]
    assert report["facts"]["source"] == "events.csv"
    comparison = report["sections"][2]["result"]
    assert comparison["by"] == "plan"
    assert {g["label"] for g in comparison["groups"]} == {"free", "pro", "team"}
    milestone = load_config(workdir / "ttv.toml").milestone("first_report")
    expected = ttv.time_to_value(read_csv(workdir / "events.csv"), milestone)
    assert report["sections"][1]["result"]["median_seconds"] == expected.curve.median
    assert report["sections"][1]["result"]["n_reached"] == expected.n_reached


def test_report_on_sqlite_equals_report_on_the_file(workdir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    ok(ttvkit("import", "events.csv", url, cwd=workdir))
    common = ["--config", str(workdir / "ttv.toml"), "--format", "json"]
    common += ["--as-of", "2025-09-30T12:00:00+02:00", "--per", "account", "--cohorts", "quarter"]
    from_store = json.loads(ok(ttvkit("report", url, *common, cwd=tmp_path)).stdout)
    from_file = json.loads(
        ok(ttvkit("report", str(workdir / "events.csv"), *common, cwd=tmp_path)).stdout
    )
    assert from_store["sections"] == from_file["sections"]
    assert from_store["facts"]["as of"] == "2025-09-30T10:00:00+00:00"
    assert from_store["facts"]["per"] == "account"
    first = from_store["sections"][1]["result"]
    assert first["as_of"] == "2025-09-30T10:00:00+00:00" and first["per"] == "account"
    cohorts = next(s for s in from_store["sections"] if s["kind"] == "cohorts")["result"]
    assert cohorts["period"] == "quarter"


def test_report_source_from_the_configuration_and_output_file(
    tmp_path: Path, workdir: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    ok(ttvkit("import", str(workdir / "events.csv"), url, cwd=tmp_path))
    config = tmp_path / "mine.toml"
    config.write_text(
        f'store = "{url}"\n'
        "[milestones.first_report]\n"
        'reached = "report_created"\n'
        "[milestones.tutorial]\n"
        'kind = "onboarding"\n'
        'reached = "tutorial_completed"\n',
        encoding="utf-8",
    )
    out = tmp_path / "report.md"
    result = ok(
        ttvkit(
            "report",
            "-c",
            str(config),
            "-m",
            "tutorial",
            "--cohorts",
            "none",
            "--format",
            "markdown",
            "-o",
            str(out),
            cwd=tmp_path,
        )
    )
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "## Onboarding time: tutorial" in text
    assert "first\\_report" not in text  # only the milestone asked for
    assert "Cohorts" not in text


def test_report_by_an_intervention_event(workdir: Path) -> None:
    result = ok(
        ttvkit(
            "report",
            "events.csv",
            "-m",
            "first_report",
            "--by",
            "event:tutorial_completed",
            cwd=workdir,
        )
    )
    assert "Time to basic value: first_report, by tutorial_completed" in result.stdout
    assert "exposure counted by 3h after the start" in result.stdout


def test_report_skips_what_the_data_cannot_answer_with_a_warning(tmp_path: Path) -> None:
    log = [
        ttv.ValueEvent(f"u{i}", "signup", datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i))
        for i in range(5)
    ] + [ttv.ValueEvent("u1", "report_created", datetime(2025, 1, 3, tzinfo=UTC))]
    write_csv(log, tmp_path / "tiny.csv")
    (tmp_path / "ttv.toml").write_text(demo_config_text(), encoding="utf-8")
    result = ok(ttvkit("report", "tiny.csv", "--format", "json", cwd=tmp_path))
    report = json.loads(result.stdout)
    skipped = [s for s in report["sections"] if s["kind"] == "skipped"]
    assert {s["heading"] for s in skipped} >= {
        "What shortens time to basic value: first_report",
        "Customer satisfaction: first_report",
    }
    assert all(s["result"]["text"].startswith("not computed: ") for s in skipped)
    warnings = result.stderr.splitlines()
    # The demo's configuration names events this log lacks: each is warned about once.
    unknown = [w for w in warnings if "never occurs in the source" in w]
    assert any("'invoice_paid'" in w for w in unknown)
    assert len(warnings) - len(unknown) == len(skipped)
    assert all(w.startswith("ttvkit: warning: ") for w in warnings)
    assert report["sections"][1]["result"]["n_reached"] == 1


# --------------------------------------------------------------------------- import


def test_import_twice_stores_nothing_twice(workdir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    n = len(datasets.saas_events(USERS, seed=3))
    first = ok(
        ttvkit("import", str(workdir / "events.csv"), url, "--batch-size", "500", cwd=tmp_path)
    )
    assert first.stdout.startswith(f"read {n:,}, new {n:,}, duplicates 0, skipped 0 ")
    assert f"importing {workdir / 'events.csv'}: {n:,} events" in first.stderr
    second = ok(ttvkit("import", str(workdir / "events.csv"), url, cwd=tmp_path, script=True))
    assert second.stdout.startswith(f"read {n:,}, new 0, duplicates {n:,}, skipped 0 ")
    with ttv.open_store(url) as store:
        assert store.count() == n


def test_import_derives_stable_ids_for_rows_without_one(tmp_path: Path) -> None:
    source = tmp_path / "no_ids.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "name", "timestamp", "plan"])
        writer.writerow(["u1", "signup", "2025-01-01T00:00:00Z", "free"])
        writer.writerow(["u1", "report_created", "2025-01-02T00:00:00+01:00", ""])
        writer.writerow(["u2", "signup", "2025-01-01T00:00:00Z", "pro"])
        writer.writerow(["u2", "signup", "2025-01-01T00:00:00Z", "pro"])  # sent twice
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    first = ok(ttvkit("import", str(source), url, cwd=tmp_path))
    assert first.stdout.startswith("read 4, new 3, duplicates 1, skipped 0 ")
    second = ok(ttvkit("import", str(source), url, cwd=tmp_path))
    assert second.stdout.startswith("read 4, new 0, duplicates 4, skipped 0 ")
    with ttv.open_store(url) as store:
        stored = sorted(store.events(), key=lambda e: e.event_id)
    expected = sorted(content_id(e) for e in read_csv(source))
    assert [e.event_id for e in stored] == sorted(set(expected))


def write_rows(rows: list[dict[str, object]], path: Path) -> Path:
    """*rows* as a CSV, JSON-lines or Parquet file, by *path*'s suffix (through pandas)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_import_reads_a_file_in_the_engine_and_stores_what_the_reader_stores(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With duckdb, ``import`` reads a CSV, JSON-lines or Parquet file in DuckDB (no
    reader per row); the store gets the same events, with the same ids, as from the
    reader, and importing again stores nothing twice."""
    pytest.importorskip("duckdb")

    from ttvkit.cli import _stores, main

    columns = ("event_id", "user_id", "name", "timestamp", "amount")
    day1, day2 = "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"
    rows = [
        dict(zip(columns, values, strict=True))
        for values in [
            ("e1", "u1", "signup", day1, None),
            (None, "u1", "paid", day2, 600.5),
            (None, "u2", "signup", day1, None),
            (None, "u2", "signup", day1, None),  # sent twice: one event
            ("e1", "u1", "signup", day1, None),  # the same id again: one event
        ]
    ]
    source = write_rows(rows, tmp_path / f"events.{fmt}")

    def no_reader(*args: object, **kwargs: object) -> None:
        raise AssertionError("import read the file row by row in Python")

    def imported(url: str) -> list[tuple[object, ...]]:
        assert main(["import", str(source), url]) == 0
        with ttv.open_store(url) as store:
            return sorted(
                (e.event_id, e.user_id, e.name, e.timestamp, sorted(e.properties.items()))
                for e in store.events()
            )

    with monkeypatch.context() as patched:
        patched.setattr(_stores, "open_reader", no_reader)
        in_engine = imported(f"sqlite:///{tmp_path / 'engine.db'}")
        assert capsys.readouterr().out.startswith("read 5, new 3, duplicates 2, skipped 0 ")
        again = main(["import", str(source), f"sqlite:///{tmp_path / 'engine.db'}"])
        assert again == 0
        assert capsys.readouterr().out.startswith("read 5, new 0, duplicates 5, skipped 0 ")
    monkeypatch.setattr(_stores, "scan_file", lambda *args, **kwargs: None)
    read = imported(f"sqlite:///{tmp_path / 'reader.db'}")
    assert capsys.readouterr().out.startswith("read 5, new 3, duplicates 2, skipped 0 ")
    assert in_engine == read
    assert {event_id for event_id, *_ in in_engine} >= {"e1"}
    assert len(in_engine) == 3


def test_content_id_depends_on_every_field() -> None:
    base = ttv.ValueEvent("u1", "x", "2025-01-01T00:00:00Z", {"a": 1}, account_id="a1")
    assert content_id(base) == content_id(
        ttv.ValueEvent("u1", "x", "2025-01-01T01:00:00+01:00", {"a": 1}, account_id="a1")
    )
    changed = [
        ttv.ValueEvent("u2", "x", "2025-01-01T00:00:00Z", {"a": 1}, account_id="a1"),
        ttv.ValueEvent("u1", "y", "2025-01-01T00:00:00Z", {"a": 1}, account_id="a1"),
        ttv.ValueEvent("u1", "x", "2025-01-01T00:00:00.000001Z", {"a": 1}, account_id="a1"),
        ttv.ValueEvent("u1", "x", "2025-01-01T00:00:00Z", {"a": 2}, account_id="a1"),
        ttv.ValueEvent("u1", "x", "2025-01-01T00:00:00Z", {"a": 1}, account_id=None),
    ]
    ids = {content_id(e) for e in changed}
    assert len(ids) == len(changed) and content_id(base) not in ids


def test_import_bad_rows_raise_or_skip(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(
        "user_id,name,timestamp\n"
        "u1,signup,2025-01-01T00:00:00Z\n"
        "u2,signup,yesterday\n"
        "u3,signup,2025-01-02T00:00:00Z\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    line = assert_user_error(ttvkit("import", str(source), url, cwd=tmp_path), "line 3")
    assert "--on-error skip" in line
    # The row before the bad one is stored, as the error says.
    assert "1 new events were stored before it" in line
    with ttv.open_store(url) as store:
        assert store.count() == 1
    skipped = ok(ttvkit("import", str(source), url, "--on-error", "skip", cwd=tmp_path))
    assert skipped.stdout.startswith("read 2, new 1, duplicates 1, skipped 1 ")
    assert "ttvkit: warning: skipped: " in skipped.stderr and "line 3" in skipped.stderr


# --------------------------------------------------------------------------- user errors


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["report", "missing.csv"], ["missing.csv", "No such file"]),
        (["import", "missing.csv", "sqlite:///x.db"], ["missing.csv", "No such file"]),
        (["import", "events.csv", "ftp://host/db"], ["unknown scheme 'ftp'"]),
        (["report", "mysql://host/db"], ["unknown scheme 'mysql'"]),
        (["import", "events.csv", "ttv.db"], ["expected SCHEME://"]),
        (["report", "sqlite:///nowhere.db"], ["nowhere.db", "no such SQLite database"]),
        (
            ["report", "sqlite:///x.db", "--timezone", "UTC", "--on-error", "skip"],
            ["--on-error, --timezone", "is a store, not a file of events", "leave them out"],
        ),
        (
            ["report", "sqlite:///x.db", "--columns", "user=uid", "--no-merge-identities"],
            ["--columns, --no-merge-identities", "would be ignored"],
        ),
        (["report", "events.txt"], ["cannot tell the format"]),
        (["report", "events.csv", "--config", "bad.toml"], ["bad.toml", "not valid TOML"]),
        (["report", "events.csv", "--config", "wrong.toml"], ["milestones.a.kind"]),
        (["report", "events.csv", "--config", "none.toml"], ["none.toml", "no such configuration"]),
        (["report", "events.csv", "-m", "nope"], ["unknown milestone 'nope'", "first_report"]),
        (["report", "events.csv", "--as-of", "2025-06-01"], ["--as-of", "no UTC offset"]),
        (["report", "events.csv", "--as-of", "soon"], ["--as-of", "not an ISO-8601"]),
        (["report", "events.csv", "--format", "pdf"], ["--format", "invalid choice: 'pdf'"]),
        (["report", "events.csv", "-m", "first_report", "--by", "plna"], ["'plna'"]),
        (["report", "events.csv", "--per", "team"], ["--per"]),
        (["demo", "--users", "0"], ["--users"]),
        (["demo", "--format", "yaml"], ["--format"]),
        (["import", "events.csv"], ["STORE_URL"]),
        (["frobnicate"], ["invalid choice"]),
        ([], ["choose a command"]),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    workdir: Path, tmp_path: Path, args: list[str], fragments: Sequence[str]
) -> None:
    for name in ("events.csv", "ttv.toml"):
        (tmp_path / name).write_bytes((workdir / name).read_bytes())
    (tmp_path / "events.txt").write_text("not events", encoding="utf-8")
    (tmp_path / "bad.toml").write_text("[milestones.a\nreached = 1\n", encoding="utf-8")
    (tmp_path / "wrong.toml").write_text(
        '[milestones.a]\nkind = "fastest"\nreached = "x"\n', encoding="utf-8"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_user_error(ttvkit(*args, cwd=tmp_path), *fragments)
    # A failed command leaves nothing behind (no SQLite file created for nothing).
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_report_without_a_configuration_names_the_flag(workdir: Path, tmp_path: Path) -> None:
    assert_user_error(
        ttvkit("report", str(workdir / "events.csv"), "-m", "first_report", cwd=tmp_path),
        "--config",
        "--milestone",
    )


def test_error_messages_do_not_echo_control_characters(tmp_path: Path) -> None:
    (tmp_path / "ttv.toml").write_text(demo_config_text(), encoding="utf-8")
    line = assert_user_error(ttvkit("report", "evil\x1b[2J\nname.csv", cwd=tmp_path))
    assert "\x1b" not in line and "\\x1b" in line


def test_version_and_help(tmp_path: Path) -> None:
    for script in (False, True):
        result = ok(ttvkit("--version", cwd=tmp_path, script=script))
        assert result.stdout.strip() == f"ttvkit {ttv.__version__}"
    help_text = ok(ttvkit("report", "--help", cwd=tmp_path)).stdout
    for option in ("--config", "--milestone", "--by", "--per", "--as-of", "--format", "--output"):
        assert option in help_text


# --------------------------------------------------------------------------- hostile data


HOSTILE = "<script>alert('x')</script>\x1b[31m`*_#|"


def test_hostile_names_are_escaped_in_every_format(tmp_path: Path) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    log = []
    for i in range(12):
        user = f"{HOSTILE}{i}"
        plan = HOSTILE if i % 2 else "</pre><img src=x onerror=alert(1)>"
        log.append(ttv.ValueEvent(user, HOSTILE, t0 + timedelta(hours=i), {"plan": plan}))
        if i % 3:
            log.append(ttv.ValueEvent(user, "value", t0 + timedelta(hours=i, minutes=5 * i)))
    write_csv(log, tmp_path / "hostile.csv")
    name = json.dumps(HOSTILE)  # a TOML basic string is JSON-compatible here
    (tmp_path / "ttv.toml").write_text(
        f'[milestones.{name}]\nstart = {name}\nreached = "value"\n', encoding="utf-8"
    )
    common = ["report", "hostile.csv", "--by", "plan", "--cohorts", "none"]

    page = ok(ttvkit(*common, "--format", "html", cwd=tmp_path)).stdout
    parsed = parse_page(page)  # still well-formed: nothing closed a tag early
    assert "<script" not in page and "<img src=x" not in page and "\x1b" not in page
    assert "&lt;script&gt;" in page
    assert any("<script>alert('x')</script>" in h for h in parsed.h2)

    text = ok(ttvkit(*common, cwd=tmp_path)).stdout
    assert "\x1b" not in text and "\\x1b[31m" in text

    markdown = ok(ttvkit(*common, "--format", "markdown", cwd=tmp_path)).stdout
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings and all("\\<script\\>" in h for h in headings[1:])
    assert all("\\`\\*\\_\\#\\|" in h for h in headings[1:])

    data = json.loads(ok(ttvkit(*common, "--format", "json", cwd=tmp_path)).stdout)
    assert data["sections"][1]["result"]["milestone"]["name"] == HOSTILE


# --------------------------------------------------------------------------- report, in process


def test_json_is_strict_and_sections_know_their_kind() -> None:
    class Odd:
        def to_dict(self) -> dict[str, object]:
            return {"nan": float("nan"), "inf": [float("inf")], "ok": 1.5}

    report = Report("t", [Section("odd", Odd()), Section("n", Note("hello"))], {"k": "v"})
    assert [s.kind for s in report.sections] == ["odd", "note"]
    text = render(report, "json")
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data == {
        "title": "t",
        "facts": {"k": "v"},
        "sections": [
            {"heading": "odd", "kind": "odd", "result": {"nan": None, "inf": [None], "ok": 1.5}},
            {"heading": "n", "kind": "note", "result": {"text": "hello"}},
        ],
    }
    with pytest.raises(ttv.ConfigurationError, match="format='pdf'"):
        render(report, "pdf")  # type: ignore[arg-type]
    with pytest.raises(ttv.ConfigurationError, match="to_dict"):
        Section("x", object())  # type: ignore[arg-type]


def test_markdown_fence_outgrows_backticks_in_the_content() -> None:
    class Ticks:
        def to_dict(self) -> dict[str, object]:
            return {}

        def __str__(self) -> str:
            return "a ```` b"

    markdown = render(Report("t", [Section("s", Ticks())]), "markdown")
    assert "`````text\na ```` b\n`````" in markdown


def test_build_report_in_process_matches_the_calculators() -> None:
    log = datasets.saas_events(USERS, seed=5)
    config = demo_config()
    report = build_report(log, config, milestones=["ten_reports", "first_report"], period=None)
    overview = report.sections[0].result
    assert isinstance(overview, Overview)
    assert [d.milestone.name for d in overview.distributions] == ["ten_reports", "first_report"]
    first = ttv.time_to_value(log, config.milestone("first_report"), bands=config.bands)
    assert overview.distributions[1].to_dict() == first.to_dict()
    assert [s.kind for s in report.sections] == [
        "overview",
        "time_to_value",
        "time_to_value",
        "impact",
        "journey",
        "satisfaction",
    ]
    # The levers are measured on the primary (first basic) milestone, not the first named.
    impact = report.sections[3].result
    assert isinstance(impact, ttv.ImpactReport)
    assert impact.milestone.name == "first_report"
    # Every section reads [analysis] within (3 days in the demo), the journey's stalls too.
    journey = report.sections[4].result
    assert isinstance(journey, ttv.JourneyReport)
    assert config.within == journey.within == timedelta(days=3)
    assert str(report) == render(report, "text")
    assert re.search(r"^as of\s+2025-12-31T", str(report), re.MULTILINE)


def test_a_misspelt_by_event_is_named_before_the_error_it_causes(tmp_path: Path) -> None:
    log = [
        ttv.ValueEvent(f"u{i}", name, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i + h))
        for i in range(6)
        for name, h in (("signup", 0), ("tutorial_completed", 1), ("report_created", 2))
    ]
    write_csv(log, tmp_path / "log.csv")
    result = ttvkit(
        "report",
        "log.csv",
        "--reached",
        "report_created",
        "--start",
        "signup",
        "--by",
        "event:tutorial_complete",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    warning, error = result.stderr.splitlines()
    assert warning.startswith("ttvkit: warning: ") and "'tutorial_complete'" in warning
    assert "did you mean 'tutorial_completed'?" in warning
    assert error.startswith("ttvkit: error: comparing by tutorial_complete needs two groups")


def test_report_and_check_never_create_a_missing_duckdb_file(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the DuckDB store needs ttvkit[duckdb]")
    for command in (
        ("report", "duckdb:///typo.duckdb", "--reached", "x"),
        ("check", "duckdb:///typo.duckdb"),
    ):
        result = ttvkit(*command, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr == "ttvkit: error: typo.duckdb: no such DuckDB database\n"
    assert not (tmp_path / "typo.duckdb").exists()


def test_by_a_property_one_milestone_fixes_skips_that_milestone_only(tmp_path: Path) -> None:
    """The demo's `upgraded` starts at signups where plan = 'free': by plan, it has one
    group. Named with -m it must be answerable; otherwise it is a skipped section."""
    ok(ttvkit("demo", "--users", "300", "--db", "demo.db", "--format", "json", cwd=tmp_path))
    (tmp_path / "ttv.toml").write_text(demo_config_text(), encoding="utf-8")
    result = ok(
        ttvkit("report", "sqlite:///demo.db", "--by", "plan", "--format", "json", cwd=tmp_path)
    )
    kinds = {s["heading"]: s["kind"] for s in json.loads(result.stdout)["sections"]}
    by_plan = {h: k for h, k in kinds.items() if h.endswith(", by plan")}
    assert [h for h, k in by_plan.items() if k == "skipped"] == [
        "Time to upgrade: upgraded (from signup where plan = 'free' to upgraded), by plan"
    ]
    assert sum(k == "comparison" for k in by_plan.values()) == len(by_plan) - 1
    assert "every customer has plan='free'" in result.stderr
    named = ttvkit("report", "sqlite:///demo.db", "--by", "plan", "-m", "upgraded", cwd=tmp_path)
    assert named.returncode == 2 and "every customer has plan='free'" in named.stderr
