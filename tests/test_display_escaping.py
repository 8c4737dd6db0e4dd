"""Data shown to people: every ``str()``, ``_repr_html_()`` and report treats it as hostile.

Event, milestone and intervention names and property values are written by
whoever sends events. Shown in a table, a summary or a report they must stay
on their line and in their column: control characters, bidi controls,
newlines and tabs come out as escapes (``\\x1b``, ``\\u202e``, ``\\n``), so
data can neither forge a heading or a table row nor steer a terminal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ttvkit as ttv
from ttvkit._format import (
    display_width,
    escaped_for,
    one_line,
    shown,
    shown_in_line,
    text_table,
)
from ttvkit.config import parse_config
from ttvkit.report import build_report, render

ESC = "\x1b[31m"
RLO = "\u202e"
HEADING = "\n\nAll good\n========"
FAKE_ROW = "\n  FAKE ROW        1      1   1m   100.0%"

DONE = f"done{HEADING}"
LEVER = f"tab\there{ESC}"
MILESTONE = f"m{ESC}{RLO}\r"
FREE = f"free{FAKE_ROW}"
PRO = f"pro{RLO}\t{ESC}"
SURVEY = f"csat{ESC}"

# What must never reach a person raw: the control characters (newline kept
# only where the layout puts it), bidi controls and invisible format characters.
RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BANDS = ttv.SpeedBands(immediate=timedelta(minutes=5), short=timedelta(days=7))


def _events() -> list[ttv.ValueEvent]:
    events = []
    for u in range(40):
        t = T0 + timedelta(hours=u)
        user = f"u{u}"
        events.append(
            ttv.ValueEvent(user, "signup", t, properties={"plan": FREE if u % 2 else PRO})
        )
        if u % 3:
            events.append(ttv.ValueEvent(user, LEVER, t + timedelta(minutes=3)))
        if u % 4:
            events.append(ttv.ValueEvent(user, DONE, t + timedelta(hours=u % 7 + 1)))
            events.append(
                ttv.ValueEvent(user, SURVEY, t + timedelta(hours=9), properties={"score": u % 5})
            )
    return events


@pytest.fixture(scope="module")
def store() -> ttv.MemoryStore:
    return ttv.MemoryStore(_events())


@pytest.fixture(scope="module")
def results(store: ttv.MemoryStore) -> dict[str, Any]:
    done = ttv.Milestone(MILESTONE, reached=ttv.event(DONE))
    surveyed = ttv.Milestone(f"surveyed{HEADING}", reached=ttv.event(SURVEY))
    return {
        "time_to_value": ttv.time_to_value(store, done, bands=BANDS),
        "compare": ttv.compare(store, done, by="plan", bootstrap=0),
        "compare_event": ttv.compare(
            store, done, by=ttv.event(LEVER), bootstrap=0, landmark=timedelta(hours=1)
        ),
        "cohorts": ttv.cohorts(store, done, "month"),
        "journey": ttv.journey(store, [done, surveyed]),
        "impact": ttv.impact(store, done, [LEVER], landmark=timedelta(hours=1), bootstrap=0),
        "satisfaction": ttv.satisfaction(store, done, survey=SURVEY, score="score", bands=BANDS),
    }


@pytest.fixture(scope="module")
def report(store: ttv.MemoryStore) -> Any:
    config = parse_config(
        {
            "milestones": {
                "done": {"reached": DONE},
                "surveyed": {"reached": SURVEY},
            },
            "bands": {"immediate": "5m", "short": "7d"},
            "analysis": {
                "interventions": [LEVER],
                "landmark": "1h",
                "journey": ["done", "surveyed"],
            },
            "satisfaction": {"milestone": "done", "survey": SURVEY, "score": "score"},
        }
    )
    return build_report(store, config, by="plan", bootstrap=0, as_of=T0 + timedelta(days=3))


def _assert_aligned(lines: list[str], rows: list[list[str]]) -> None:
    """Every row of a laid-out table is as wide as its header line.

    A row whose last cell is empty is left out: ``rstrip()`` trims its end.
    """
    assert len(lines) == 1 + len(rows)
    full = [line for line, row in zip(lines[1:], rows, strict=True) if row[-1]]
    assert full, "no row to compare"
    assert {display_width(line) for line in full} == {display_width(lines[0])}, lines


def _forged(text: str) -> list[str]:
    """Lines of *text* that data made: a fake heading, underline or table row."""
    return [
        line
        for line in text.splitlines()
        if line.strip() in ("All good", "========") or line.lstrip().startswith("FAKE ROW")
    ]


# --------------------------------------------------------------------------- the rule


def test_shown_in_line_escapes_newlines_and_tabs_and_shown_keeps_them() -> None:
    assert shown_in_line("a\nb\tc\r\x1b\u202e\u2028") == "a\\nb\\tc\\r\\x1b\\u202e\\u2028"
    assert shown("a\nb\tc\x1b") == "a\nb\tc\\x1b"
    # Idempotent on its own output: a report may show a result's text again.
    once = shown_in_line(DONE + PRO)
    assert shown_in_line(once) == once == shown(once)


def test_one_line_folds_line_breaks_and_keeps_the_spaces_of_a_line() -> None:
    # A message quoting a user id of three spaces must show three spaces: folding
    # every run of white space showed it as one, a different id.
    assert one_line("user_id '   ' is blank") == "user_id '   ' is blank"
    assert one_line("  first\n    second\u2028third\tfourth\n\n") == "first second third fourth"
    assert one_line("a\x1b[2Jb\r\nc") == "a\\x1b[2Jb\\r c"


@given(st.text())
def test_one_line_is_one_line_of_shown_text(text: str) -> None:
    line = one_line(text)
    assert not re.search(r"[\n\t\u2028\u2029]", line)
    assert line == line.strip()
    # Nothing but white space is added or taken away.
    assert "".join(line.split()) == "".join(shown(text).split())


def test_text_table_escapes_each_cell_before_measuring_columns() -> None:
    rows = [[FREE, "1"], [PRO, "22"], ["漢字", "333"], ["e\u0301", "4"], ["plain", "5"]]
    lines = text_table(["group", "n"], rows).split("\n")
    assert len(lines) == 1 + len(rows)  # no row added by a newline in a name
    assert not any(RAW.search(line) for line in lines)
    assert "\t" not in "".join(lines)
    assert len({display_width(line) for line in lines}) == 1, lines


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_tables_laid_out_for_a_stream_that_escapes_what_it_cannot_encode(encoding: str) -> None:
    """On a stdout in *encoding* written with ``errors="backslashreplace"``, ``Δ`` comes
    out as ``\\u0394`` (six columns): laid out within ``escaped_for``, the columns
    line up once the stream has escaped the characters."""
    rows = [["café Δ", "1"], ["漢字", "22"], ["plain", "333"], ["🎉 x", "4"]]
    plain = text_table(["Δ group", "n"], rows)
    with escaped_for(encoding):
        laid_out = text_table(["Δ group", "n"], rows)
    assert text_table(["Δ group", "n"], rows) == plain  # the block ended: as before
    written = laid_out.encode(encoding, "backslashreplace").decode(encoding).split("\n")
    assert "\\u0394" in written[0]
    assert len({len(line) for line in written}) == 1, written
    # Without the block, the escapes push the cells out of their columns.
    shifted = plain.encode(encoding, "backslashreplace").decode(encoding).split("\n")
    assert len({len(line) for line in shifted}) > 1, shifted


def test_escaped_for_utf8_or_none_changes_nothing() -> None:
    rows = [["café Δ 漢字 e\u0301", "1"]]
    plain = text_table(["Δ", "n"], rows)
    for encoding in ("utf-8", None):
        with escaped_for(encoding):
            assert text_table(["Δ", "n"], rows) == plain


# --------------------------------------------------------------------------- results


KINDS = [
    "time_to_value",
    "compare",
    "compare_event",
    "cohorts",
    "journey",
    "impact",
    "satisfaction",
]


@pytest.mark.parametrize("kind", KINDS)
def test_str_shows_no_raw_control_or_bidi_characters(results: dict[str, Any], kind: str) -> None:
    text = str(results[kind])
    assert not RAW.search(text), repr(text)
    assert "\t" not in text
    assert _forged(text) == []


@pytest.mark.parametrize("kind", KINDS)
def test_repr_html_shows_no_raw_control_or_bidi_characters(
    results: dict[str, Any], kind: str
) -> None:
    fragment = results[kind]._repr_html_()
    assert not RAW.search(fragment), repr(fragment)
    assert "\t" not in fragment and "\n" not in fragment
    assert "\\x1b" in fragment  # shown, not dropped


@pytest.mark.parametrize("kind", ["compare", "compare_event", "cohorts", "journey", "impact"])
def test_str_tables_stay_aligned(results: dict[str, Any], kind: str) -> None:
    result = results[kind]
    table = result.table()
    laid_out = table.text().split("\n")
    assert len(laid_out) == 1 + len(table.rows)
    assert "\n".join(laid_out) in str(result)
    _assert_aligned(laid_out, table.rows)


def test_print_sends_no_escape_sequence(
    results: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    for result in results.values():
        print(result)
    out = capsys.readouterr().out
    assert "\x1b" not in out and RLO not in out
    assert "\\x1b[31m" in out


# --------------------------------------------------------------------------- reports


def test_text_report_has_no_forged_heading_or_row(report: Any) -> None:
    text = render(report, "text")
    assert not RAW.search(text), repr(text)
    assert "\t" not in text
    assert _forged(text) == []
    assert "done\\n\\nAll good\\n========" in text
    assert "tab\\there\\x1b[31m" in text


def test_text_report_comparison_table_stays_aligned(report: Any) -> None:
    section = next(s for s in report.sections if s.kind == "comparison")
    lines = render(report, "text").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("  group "))
    rows = section.result.table().rows
    table = lines[start : start + 1 + len(rows)]
    assert any("\\u202e" in line for line in table)
    _assert_aligned(table, rows)


def test_markdown_report_has_no_forged_heading_or_row(report: Any) -> None:
    text = render(report, "markdown")
    assert not RAW.search(text), repr(text)
    assert "\t" not in text
    assert _forged(text) == []
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert all(line.startswith(("# ", "## ")) for line in headings)
    assert not any("All good" in line for line in headings)


def test_html_report_shows_no_raw_control_or_bidi_characters(report: Any) -> None:
    page = render(report, "html")
    assert not RAW.search(page)
    assert "\t" not in page
    assert "\\u202e" in page and "\\x1b" in page


def test_text_report_measures_wide_names_in_terminal_cells(store: ttv.MemoryStore) -> None:
    """The overview's columns, the underlines and the facts are laid out in terminal
    cells: a wide (CJK) character takes two, as in every other table."""
    config = parse_config(
        {
            "milestones": {"初回レポート": {"reached": DONE}, "done": {"reached": SURVEY}},
        }
    )
    report = build_report(
        store, config, bootstrap=0, as_of=T0 + timedelta(days=3), title="価値までの時間"
    )
    lines = render(report, "text").split("\n")
    assert lines[0] == "価値までの時間" and lines[1] == "=" * 14
    headings = [i for i, line in enumerate(lines) if line and set(line) == {"-"}]
    assert all(len(lines[i]) == display_width(lines[i - 1]) for i in headings)
    overview = next(s for s in report.sections if s.kind == "overview").result
    start = next(i for i, line in enumerate(lines) if line.startswith("  measure "))
    rows = overview._rows()
    _assert_aligned(lines[start : start + 1 + len(rows)], rows)
    assert any("初回レポート" in line for line in lines[start:])


def test_report_headings_escape_tabs_rather_than_fold_them(store: ttv.MemoryStore) -> None:
    """Two milestones named "a\\tb" and "a b" get two headings, in every format."""
    config = parse_config({"milestones": {"a\tb": {"reached": DONE}, "a b": {"reached": DONE}}})
    report = build_report(store, config, bootstrap=0, as_of=T0 + timedelta(days=3), period=None)
    text = render(report, "text").splitlines()
    assert "Time to basic value: a\\tb" in text and "Time to basic value: a b" in text
    markdown = render(report, "markdown").splitlines()
    assert "## Time to basic value: a\\\\tb" in markdown
    assert "## Time to basic value: a b" in markdown
    page = render(report, "html")
    assert "\t" not in page
    assert "<h2>Time to basic value: a\\tb</h2>" in page
    assert "<h2>Time to basic value: a b</h2>" in page


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(microseconds=5), "5µs"),
        (timedelta(microseconds=999), "999µs"),
        (timedelta(milliseconds=250), "0.25s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12, seconds=5), "12m 5s"),
        (timedelta(days=4, hours=6), "4d 6h"),
        (-timedelta(hours=3), "-3h"),
    ],
)
def test_durations_in_words_never_in_scientific_notation(duration: timedelta, words: str) -> None:
    from ttvkit._format import format_duration

    assert format_duration(duration) == words
