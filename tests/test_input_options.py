"""How a file's values are read, from the command line and the TOML: ``--timezone`` for
timestamps written without an offset (an Amplitude CSV's ``event_time``, a spreadsheet's
local times) and ``--timestamp-unit`` for epoch numbers; ``[input]`` in the TOML.

Every path is checked: ``report`` (DuckDB's scan of the file), ``import`` (the reader
into a store), ``init`` (which writes the options it was given into the starter)."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_cli import assert_user_error, ok, ttvkit
from ttvkit.config import parse_config, parse_timezone, timezone_name
from ttvkit.errors import ConfigurationError
from ttvkit.stores import open_store

COLUMNS = "user=user_id,name=event_type,timestamp=event_time"
INLINE = ["--start", "Sign Up", "--reached", "Report Created"]

# An Amplitude-style CSV export: UTC times written without an offset.
NAIVE = (
    "user_id,event_type,event_time\n"
    "u1,Sign Up,2026-01-10 08:00:00.000000\n"
    "u1,Report Created,2026-01-11 08:00:00.000000\n"
    "u2,Sign Up,2026-01-10 09:00:00.000000\n"
    "u2,Report Created,2026-01-13 09:30:00.000000\n"
    "u3,Sign Up,2026-01-12 00:00:00.000000\n"
)
LATEST = datetime(2026, 1, 13, 9, 30)  # the file's latest time, as written

# The same events as epoch milliseconds (UTC).
EPOCH_MS = "user_id,event_type,event_time\n" + "".join(
    f"{line.split(',')[0]},{line.split(',')[1]},"
    f"{int(datetime.fromisoformat(line.split(',')[2]).replace(tzinfo=UTC).timestamp() * 1000)}\n"
    for line in NAIVE.splitlines()[1:]
)


@pytest.fixture
def naive(tmp_path: Path) -> Path:
    path = tmp_path / "amplitude.csv"
    path.write_text(NAIVE, encoding="utf-8")
    return path


def as_of(*args: str, cwd: Path) -> tuple[datetime, dict[str, object]]:
    """The report's analysis time (the latest event) and its first milestone's result."""
    result = ok(ttvkit("report", *args, "--format", "json", "--cohorts", "none", cwd=cwd))
    report = json.loads(result.stdout)
    first = report["sections"][1]["result"]
    return datetime.fromisoformat(first["as_of"]), first


def test_naive_times_are_an_error_that_names_the_option(naive: Path, tmp_path: Path) -> None:
    line = assert_user_error(
        ttvkit("report", str(naive), "--columns", COLUMNS, *INLINE, cwd=tmp_path),
        "has no UTC offset",
        "--timezone",
    )
    assert "--on-error skip" not in line  # skipping every row is not the fix
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    line = assert_user_error(
        ttvkit("import", str(naive), url, "--columns", COLUMNS, cwd=tmp_path),
        "has no UTC offset",
        "--timezone UTC",
    )
    assert "--on-error skip" not in line


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("UTC", timedelta(0)),
        ("+02:00", timedelta(hours=2)),
        ("-0530", timedelta(hours=-5, minutes=-30)),
        ("Europe/Berlin", timedelta(hours=1)),  # January: CET
        ("America/New_York", timedelta(hours=-5)),  # January: EST
    ],
)
def test_report_reads_naive_times_in_the_zone_given(
    naive: Path, tmp_path: Path, zone: str, offset: timedelta
) -> None:
    when, first = as_of(str(naive), "--columns", COLUMNS, "--timezone", zone, *INLINE, cwd=tmp_path)
    assert when == (LATEST - offset).replace(tzinfo=UTC)
    assert (first["n"], first["n_reached"]) == (3, 2)


def test_import_reads_naive_times_in_the_zone_given(naive: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    args = ["--columns", COLUMNS, "--timezone", "Europe/Berlin"]
    ok(ttvkit("import", str(naive), url, *args, cwd=tmp_path))
    with open_store(url) as store:
        assert store.count() == 5
        assert store.latest_timestamp() == LATEST.replace(tzinfo=ZoneInfo("Europe/Berlin"))


def test_an_iana_zone_follows_daylight_saving(tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    path.write_text(
        "user_id,name,timestamp\n"
        "a,signup,2026-03-28 12:00:00\n"  # CET, +01:00
        "a,report,2026-03-30 12:00:00\n",  # CEST, +02:00 since the 29th
        encoding="utf-8",
    )
    args = [str(path), "--timezone", "Europe/Berlin", "--start", "signup", "--reached", "report"]
    _, first = as_of(*args, cwd=tmp_path)
    assert first["median_seconds"] == (timedelta(days=2) - timedelta(hours=1)).total_seconds()


def test_epoch_milliseconds_with_the_unit(tmp_path: Path) -> None:
    path = tmp_path / "epoch.csv"
    path.write_text(EPOCH_MS, encoding="utf-8")
    args = [str(path), "--columns", COLUMNS, *INLINE]
    assert_user_error(ttvkit("report", *args, cwd=tmp_path), "event_time")
    when, first = as_of(*args, "--timestamp-unit", "ms", cwd=tmp_path)
    assert when == LATEST.replace(tzinfo=UTC)
    assert first["n_reached"] == 2
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    ok(
        ttvkit(
            "import", str(path), url, "--columns", COLUMNS, "--timestamp-unit", "ms", cwd=tmp_path
        )
    )
    with open_store(url) as store:
        assert store.latest_timestamp() == LATEST.replace(tzinfo=UTC)


def test_the_toml_input_table_and_the_command_line_winning(naive: Path, tmp_path: Path) -> None:
    (tmp_path / "ttv.toml").write_text(
        '[columns]\nuser = "user_id"\nname = "event_type"\ntimestamp = "event_time"\n\n'
        '[input]\ntimezone = "+03:00"\n\n'
        '[milestones.report]\nstart = "Sign Up"\nreached = "Report Created"\n',
        encoding="utf-8",
    )
    when, _ = as_of(str(naive), cwd=tmp_path)
    assert when == (LATEST - timedelta(hours=3)).replace(tzinfo=UTC)
    when, _ = as_of(str(naive), "--timezone", "UTC", cwd=tmp_path)
    assert when == LATEST.replace(tzinfo=UTC)


def test_init_writes_the_options_it_was_given(naive: Path, tmp_path: Path) -> None:
    guessed = ttvkit("init", str(naive), cwd=tmp_path)  # the columns guessed, then the times
    assert guessed.returncode == 2 and "Traceback" not in guessed.stderr
    note, error = guessed.stderr.splitlines()
    assert f"reading it with --columns {COLUMNS}" in note
    assert "has no UTC offset" in error and "--timezone UTC" in error
    args = ["init", str(naive), "--columns", COLUMNS, "--timezone", "Asia/Kolkata"]
    printed = ok(ttvkit(*args, "--print", cwd=tmp_path)).stdout
    config = parse_config(tomllib.loads(printed))
    assert config.timezone == ZoneInfo("Asia/Kolkata")
    assert config.timestamp_unit is None
    ok(ttvkit(*args, cwd=tmp_path))
    when, _ = as_of(str(naive), cwd=tmp_path)
    assert when == (LATEST - timedelta(hours=5, minutes=30)).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--timezone", "Mars/Olympus"], "'Mars/Olympus' is not a time zone"),
        (["--timezone", "+25:00"], "is not a time zone"),
        (["--timezone", "../../etc/passwd"], "is not a time zone"),
        (["--timestamp-unit", "ns"], "invalid choice: 'ns'"),
        (["--input-format", "segment", "--timestamp-unit", "ms"], "--timestamp-unit is for csv"),
    ],
)
def test_bad_options_are_one_line(
    naive: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    assert_user_error(ttvkit("import", str(naive), url, *args, cwd=tmp_path), fragment)


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"timezone": "Nowhere"}, "input.timezone: 'Nowhere' is not a time zone"),
        ({"timezone": 2}, "input.timezone: 2 is not a time zone"),
        ({"timestamp_unit": "ns"}, "input.timestamp_unit: 'ns'"),
        ({"zone": "UTC"}, "input: unknown key(s) zone"),
    ],
)
def test_bad_input_tables_name_the_key(table: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_config({"input": table})
    assert fragment in str(info.value)


def test_timezone_text_forms() -> None:
    assert parse_timezone("utc") is UTC
    assert parse_timezone("Z") is UTC
    assert parse_timezone("+00:00") is UTC
    assert parse_timezone(" +0200 ") == timezone(timedelta(hours=2))
    assert parse_timezone("-03") == timezone(timedelta(hours=-3))
    assert parse_timezone("Etc/GMT+3").utcoffset(None) == timedelta(hours=-3)  # POSIX's sign
    for bad in ("", "UTC+3", "2", "+2:00", "Europe/", "/etc/localtime", "a\x00b"):
        with pytest.raises(ConfigurationError, match="is not a time zone"):
            parse_timezone(bad)


@given(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
def test_an_offset_is_written_as_it_is_read(minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    text = timezone_name(zone)
    assert parse_timezone(text).utcoffset(None) == timedelta(minutes=minutes)
    assert timezone_name(parse_timezone(text)) == text


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe"])
def test_an_iana_zone_is_written_by_its_name(name: str) -> None:
    assert timezone_name(parse_timezone(name)) == name


@pytest.mark.parametrize("kind", ["parquet", "pandas"])
def test_times_without_a_zone_in_a_typed_column_name_the_option_that_reads_them(
    tmp_path: Path, kind: str
) -> None:
    # Parquet and DataFrames hold naive datetimes, not text: the advice is the same as
    # for text without an offset, in the API's words and in the command line's.
    import pandas as pd

    import ttvkit as ttv
    from ttvkit.io import ReadError

    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1"],
            "name": ["Sign Up", "Report Created"],
            "timestamp": [datetime(2026, 1, 13, 8, 0), datetime(2026, 1, 13, 9, 30)],
        }
    )
    source: object = frame
    if kind == "parquet":
        source = tmp_path / "naive.parquet"
        frame.to_parquet(source)
    milestone = ttv.Milestone("report", start="Sign Up", reached="Report Created")
    with pytest.raises(ReadError) as raised:
        ttv.time_to_value(source, milestone)  # type: ignore[arg-type]
    message = str(raised.value)
    assert "is a naive datetime" in message
    assert "assume_timezone= when reading it (e.g. ttvkit.scan(path, assume_timezone=" in message
    with ttv.scan(source, assume_timezone=UTC) as events:  # type: ignore[arg-type]
        assert ttv.time_to_value(events, milestone).median == timedelta(hours=1, minutes=30)
    if kind == "parquet":
        for command in (["report", str(source), *INLINE], ["import", str(source), "memory://"]):
            error = assert_user_error(ttvkit(*command, cwd=tmp_path))
            assert "say which with --timezone (e.g. --timezone UTC)" in error
            assert "assume_timezone" not in error and "--on-error" not in error
        assert ok(ttvkit("report", str(source), *INLINE, "--timezone", "UTC", cwd=tmp_path))


def test_encoding_reads_a_latin1_file_in_report_import_and_init(tmp_path: Path) -> None:
    text = (
        "user_id,name,timestamp,city\r\n"
        "u1,signup,2026-03-01T09:00:00Z,Zürich\r\n"
        "u1,report,2026-03-01T10:00:00Z,Zürich\r\n"
    )
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    inline = ["--start", "signup", "--reached", "report"]
    error = assert_user_error(ttvkit("report", "latin.csv", *inline, cwd=tmp_path))
    assert "line 2: is not valid UTF-8" in error and "e.g. --encoding latin-1" in error
    assert "encoding='" not in error
    reported = ok(ttvkit("report", "latin.csv", *inline, "--encoding", "latin-1", cwd=tmp_path))
    assert "1h" in reported.stdout
    url = f"duckdb:///{tmp_path / 'events.duckdb'}"
    ok(ttvkit("import", "latin.csv", url, "--encoding", "cp1252", cwd=tmp_path))
    with open_store(url) as store:
        assert {e.properties["city"] for e in store.events()} == {"Zürich"}
    printed = ok(ttvkit("init", "latin.csv", "--encoding", "latin-1", "--print", cwd=tmp_path))
    assert parse_config(tomllib.loads(printed.stdout)).encoding == "latin-1"
    (tmp_path / "ttv.toml").write_text(printed.stdout, encoding="utf-8")
    assert ok(ttvkit("report", "latin.csv", cwd=tmp_path)).stdout  # the encoding from [input]
    bad = assert_user_error(
        ttvkit("report", "latin.csv", *inline, "--encoding", "nope", cwd=tmp_path)
    )
    assert "argument --encoding: not a text encoding Python knows" in bad
    (tmp_path / "e.parquet").write_bytes(b"")
    for command in (["report", "e.parquet", *inline], ["import", "e.parquet", url]):
        refused = assert_user_error(ttvkit(*command, "--encoding", "latin-1", cwd=tmp_path))
        assert "--encoding (or the configuration's [input] encoding) is for csv" in refused


def test_a_config_encoding_python_does_not_know_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"input\.encoding: 'nope': not a text encoding"):
        parse_config(
            {"milestones": {"m": {"start": "a", "reached": "b"}}, "input": {"encoding": "nope"}}
        )


def test_report_reads_a_directory_or_a_glob_of_files_as_one_log(tmp_path: Path) -> None:
    import pandas as pd

    from ttvkit.datasets import saas_events
    from ttvkit.io import write_parquet

    events = saas_events(60, seed=8)
    half = len(events) // 2
    for day, part in (("dt=2026-01-01", events[:half]), ("dt=2026-01-02", events[half:])):
        (tmp_path / "lake" / day).mkdir(parents=True)
        write_parquet(part, tmp_path / "lake" / day / "part-0.parquet")
    (tmp_path / "lake" / "_SUCCESS").write_text("")
    write_parquet(events, tmp_path / "all.parquet")
    inline = ["--start", "signup", "--reached", "report_created", "--format", "json"]
    whole = json.loads(ok(ttvkit("report", "all.parquet", *inline, cwd=tmp_path)).stdout)
    pattern = str(Path("lake", "**", "*.parquet"))
    parts = json.loads(ok(ttvkit("report", pattern, *inline, cwd=tmp_path)).stdout)
    assert parts["sections"] == whole["sections"]
    assert parts["facts"]["files"] == 2 and parts["facts"]["events"] == len(events)
    # The directory's own files: none here, and the error names the glob to pass.
    error = assert_user_error(ttvkit("report", "lake", *inline, cwd=tmp_path))
    assert "subdirectories hold 2 .parquet files" in error and "lake/**/*.parquet" in error
    # The report may not replace a file it reads.
    target = str(Path("lake", "dt=2026-01-01", "part-0.parquet"))
    refused = assert_user_error(ttvkit("report", pattern, *inline, "-o", target, cwd=tmp_path))
    assert "is the source" in refused
    assert pd.read_parquet(tmp_path / target).shape[0] == half

    # init counts every file, as the report will: the same starter as for one file.
    def starter(source: str) -> list[str]:
        printed = ok(ttvkit("init", source, "--print", cwd=tmp_path)).stdout
        return [line for line in printed.splitlines() if source not in line]

    assert starter(pattern) == starter("all.parquet")
    vendor = assert_user_error(
        ttvkit("init", pattern, "--input-format", "posthog", "--print", cwd=tmp_path)
    )
    assert "a PostHog export is read one file at a time" in vendor
    # import takes each file of a glob in turn (the same files scan() reads).
    url = f"sqlite:///{tmp_path / 'lake.db'}"
    imported = ok(ttvkit("import", pattern, url, cwd=tmp_path)).stdout.splitlines()
    assert len(imported) == 3 and imported[-1].startswith("imported 2 files")
    again = ok(ttvkit("import", pattern, url, cwd=tmp_path)).stdout
    assert again.count("new 0,") == 2
    with open_store(url) as store:
        assert store.count() == len({e.event_id for e in events})
    (tmp_path / "lake" / "dt=2026-01-02" / "part-1.parquet").write_bytes(b"PAR1 not parquet")
    failed = ttvkit("import", pattern, url, cwd=tmp_path)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "2 files before" in failed.stderr and "part-1.parquet" in failed.stderr
    vendor = assert_user_error(
        ttvkit("report", pattern, *inline, "--group-type", "c", cwd=tmp_path)
    )
    assert "--group-type" in vendor


def test_encoding_errors_are_said_in_the_command_lines_words(tmp_path: Path) -> None:
    from ttvkit.datasets import saas_events
    from ttvkit.io import write_parquet

    inline = ["--start", "signup", "--reached", "report_created"]
    (tmp_path / "lake").mkdir()
    write_parquet(saas_events(5, seed=1), tmp_path / "lake" / "a.parquet")
    glob_error = assert_user_error(
        ttvkit("report", "lake/*.parquet", *inline, "--encoding", "latin-1", cwd=tmp_path)
    )
    assert glob_error.startswith("ttvkit: error: --encoding latin-1: is for CSV and JSON-lines")
    (tmp_path / "ttv.toml").write_text(
        '[input]\nencoding = "latin-1"\n[milestones.m]\nstart = "signup"\n'
        'reached = "report_created"\n',
        encoding="utf-8",
    )
    config_error = assert_user_error(ttvkit("report", "lake/a.parquet", cwd=tmp_path))
    assert "--encoding (or the configuration's [input] encoding) is for csv" in config_error
    (tmp_path / "ttv.toml").unlink()
    text = "user_id,name,timestamp\nu1,signup,2026-03-01T09:00:00Z\n"
    (tmp_path / "wide.csv").write_bytes(text.encode("utf-16-le"))
    wide = assert_user_error(ttvkit("report", "wide.csv", *inline, cwd=tmp_path))
    assert "UTF-16 text, not UTF-8" in wide and "--encoding utf-16-le" in wide
    bom_less = assert_user_error(
        ttvkit("import", "wide.csv", "memory://", "--encoding", "utf-16", cwd=tmp_path)
    )
    assert "UTF-16 stream does not start with BOM" in bom_less
    assert "--encoding utf-16-le" in bom_less


# --------------------------------------------------------------------------- delimiters

# A spreadsheet's CSV where the comma is the decimal sign: columns separated by ';'.
SEMICOLONS = (
    "user_id;name;timestamp;amount\n"
    "u1;signup;2026-03-01T09:00:00Z;\n"
    'u1;report;2026-03-01T10:00:00Z;"1,5"\n'
    "u2;signup;2026-03-01T09:00:00Z;\n"
)


@pytest.mark.parametrize(("delimiter", "said"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_report_import_and_init_read_a_header_split_by_another_delimiter(
    tmp_path: Path, delimiter: str, said: str
) -> None:
    # Every command refused such a file with "map them with --columns", and the
    # command line had no way to name the delimiter.
    (tmp_path / "e.csv").write_text(SEMICOLONS.replace(";", delimiter), encoding="utf-8")
    inline = ["--start", "signup", "--reached", "report"]
    told = f"e.csv has its columns separated by {said}; reading it so (--delimiter {said})"
    reported = ok(ttvkit("report", "e.csv", *inline, "--format", "json", cwd=tmp_path))
    # "1,5" (quoted: a comma in a cell is no delimiter) is then a number, 1.5
    decimals = "e.csv: column 'amount' holds numbers written with a decimal comma (3,5)"
    assert reported.stderr.splitlines()[0] == f"ttvkit: note: {told}"
    assert reported.stderr.splitlines()[1].startswith(f"ttvkit: note: {decimals}")
    report = json.loads(reported.stdout)
    first = report["sections"][1]["result"]
    assert (first["n"], first["n_reached"]) == (2, 1)
    assert report["facts"]["delimiter"] == ("tab" if delimiter == "\t" else delimiter)
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    imported = ok(ttvkit("import", "e.csv", url, cwd=tmp_path))
    assert told in imported.stderr
    # import guesses no decimal mark (ids made from content depend on it): it says so
    assert "imported as text; pass --decimal , (or [input] decimal)" in imported.stderr
    with open_store(url) as store:
        assert [e.properties.get("amount") for e in store.events(names=["report"])] == ["1,5"]
    printed = ok(ttvkit("init", "e.csv", "--print", cwd=tmp_path)).stdout
    assert parse_config(tomllib.loads(printed)).delimiter == delimiter
    (tmp_path / "ttv.toml").write_text(printed, encoding="utf-8")
    from_config = ok(ttvkit("report", "e.csv", "--format", "json", cwd=tmp_path))
    assert from_config.stderr == ""  # read with the configuration's delimiter, no guess
    # The option, spelt as a shell passes it, gives the same report.
    spelt = "tab" if delimiter == "\t" else delimiter
    given = ok(
        ttvkit("report", "e.csv", *inline, "--delimiter", spelt, "--decimal", ",", cwd=tmp_path)
    )
    assert given.stderr == ""
    assert ok(ttvkit("report", "e.csv", *inline, cwd=tmp_path)).stdout == given.stdout


def test_a_wrong_delimiter_is_an_error_that_names_the_right_one(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text(SEMICOLONS, encoding="utf-8")
    inline = ["--start", "signup", "--reached", "report"]
    assert_user_error(
        ttvkit("report", "e.csv", *inline, "--delimiter", "|", cwd=tmp_path),
        "its header, 'user_id;name;timestamp;amount', splits into more columns at ';': if "
        "that separates its columns, pass --delimiter ';'",
    )
    (tmp_path / "c.csv").write_text(SEMICOLONS.replace(";", ","), encoding="utf-8")
    # A glob is read by scan(): the readers' advice, in the command line's words.
    assert_user_error(
        ttvkit("report", "*.csv", *inline, "--delimiter", ";", cwd=tmp_path),
        "The header splits into more columns at ',': if that separates the file's columns, "
        "pass --delimiter ',', or map yours with --columns",
    )
    (tmp_path / "e.jsonl").write_text("", encoding="utf-8")
    assert_user_error(
        ttvkit("report", "e.jsonl", *inline, "--delimiter", ";", cwd=tmp_path),
        "--delimiter (or the configuration's [input] delimiter) is for csv files",
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "pass one character other than a quote or a newline"),
        (";;", "pass one character"),
        ('"', "pass one character other than a quote"),
    ],
)
def test_bad_delimiters_are_refused_on_the_command_line_and_in_the_toml(
    naive: Path, tmp_path: Path, value: str, fragment: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    assert_user_error(
        ttvkit("import", str(naive), url, "--delimiter", value, cwd=tmp_path),
        f"argument --delimiter: {fragment}",
    )
    with pytest.raises(ConfigurationError, match=re.escape(f"input.delimiter: {value!r}: ")):
        parse_config(
            {"milestones": {"m": {"start": "a", "reached": "b"}}, "input": {"delimiter": value}}
        )


def test_the_readers_name_the_delimiter_a_one_column_header_holds(tmp_path: Path) -> None:
    from ttvkit.io import ReadError, read_csv

    semicolons = tmp_path / "e.csv"
    semicolons.write_text(SEMICOLONS, encoding="utf-8")
    advice = (
        "splits into more columns at ';': if that separates the file's columns, pass delimiter=';'"
    )
    with pytest.raises(ReadError, match=re.escape(advice)):
        list(read_csv(semicolons))
    assert [e.name for e in read_csv(semicolons, delimiter=";")] == ["signup", "report", "signup"]
    commas = tmp_path / "c.csv"
    commas.write_text(SEMICOLONS.replace(";", ","), encoding="utf-8")
    with pytest.raises(ReadError, match=re.escape("pass delimiter=','")):
        list(read_csv(commas, delimiter=";"))


def test_a_tsv_file_is_read_with_tabs_by_its_name(tmp_path: Path) -> None:
    # ".tsv" was "cannot tell the format", even with --delimiter tab.
    from ttvkit.io import read_csv, read_file
    from ttvkit.stores.scan import scan

    (tmp_path / "e.tsv").write_text(SEMICOLONS.replace(";", "\t"), encoding="utf-8")
    inline = ["--start", "signup", "--reached", "report"]
    reported = ok(ttvkit("report", "e.tsv", *inline, "--format", "json", cwd=tmp_path))
    assert "separated by" not in reported.stderr  # no guess: the name says it
    first = json.loads(reported.stdout)["sections"][1]["result"]
    assert (first["n"], first["n_reached"]) == (2, 1)
    names = ["signup", "report", "signup"]
    assert [e.name for e in read_file(tmp_path / "e.tsv")] == names
    assert [e.name for e in read_csv(tmp_path / "e.tsv")] == names
    with scan(tmp_path / "e.tsv") as scanned:
        assert sorted(e.name for e in scanned.events()) == sorted(names)
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    assert ok(ttvkit("import", "e.tsv", url, cwd=tmp_path)).stdout.startswith("read 3, new 3")


def test_an_explicit_csv_format_still_finds_the_delimiter(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text(SEMICOLONS, encoding="utf-8")
    inline = ["--start", "signup", "--reached", "report", "--input-format", "csv"]
    reported = ok(ttvkit("report", "e.txt", *inline, cwd=tmp_path))
    assert "e.txt has its columns separated by ';'" in reported.stderr
    printed = ok(ttvkit("init", "e.txt", "--input-format", "csv", "--print", cwd=tmp_path))
    assert parse_config(tomllib.loads(printed.stdout)).delimiter == ";"


def test_a_quoted_header_cell_holding_a_semicolon_is_no_delimiter(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text('"user_id;name;timestamp"\nu1\n', encoding="utf-8")
    result = assert_user_error(ttvkit("report", "q.csv", "--reached", "x", cwd=tmp_path))
    assert "separated by" not in result  # no note that it was read with ';'


def test_a_comma_inside_a_header_name_does_not_hide_the_delimiter(tmp_path: Path) -> None:
    text = SEMICOLONS.replace("amount", '"price, EUR"')
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    inline = ["--start", "signup", "--reached", "report"]
    assert_user_error(
        ttvkit("report", "e.csv", *inline, "--delimiter", ",", cwd=tmp_path),
        "splits into more columns at ';': if that separates its columns, pass --delimiter ';'",
    )


@pytest.mark.parametrize("value", ["tab", "\\t", "\t"])
def test_the_toml_names_a_tab_as_the_command_line_does(value: str) -> None:
    config = parse_config(
        {"milestones": {"m": {"start": "a", "reached": "b"}}, "input": {"delimiter": value}}
    )
    assert config.delimiter == "\t"


def test_a_header_with_spaces_after_its_delimiters_is_said_and_can_be_mapped(
    tmp_path: Path,
) -> None:
    # "its fields are: user_id,  name,  timestamp" hid the spaces, and --columns
    # stripped them from what it was given.
    text = (
        "user_id, name, timestamp\nu1,signup,2026-03-01T09:00:00Z\nu1,report,2026-03-01T10:00:00Z\n"
    )
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    inline = ["--start", "signup", "--reached", "report"]
    assert_user_error(
        ttvkit("report", "e.csv", *inline, cwd=tmp_path),
        "its column names have spaces around them (' name', ' timestamp')",
        "or quote the names in --columns",
    )
    columns = "user=user_id,name=\" name\",timestamp=' timestamp'"
    reported = ok(
        ttvkit("report", "e.csv", *inline, "--columns", columns, "--format", "json", cwd=tmp_path)
    )
    first = json.loads(reported.stdout)["sections"][1]["result"]
    assert (first["n"], first["n_reached"]) == (1, 1)


def test_a_vendor_export_with_another_delimiter_is_one_clear_error(tmp_path: Path) -> None:
    # The PostHog reader reads commas: a .tsv said "line 1: is not valid JSON", and
    # `init` of a ';' file refused a --delimiter nobody gave.
    rows = ["uuid,event,distinct_id,timestamp", "a,signup,u1,2026-03-01T09:00:00Z"]
    for name, delimiter, said in (("ph.tsv", "\t", "tab"), ("ph.csv", ";", "';'")):
        (tmp_path / name).write_text(
            "\n".join(r.replace(",", delimiter) for r in rows) + "\n", encoding="utf-8"
        )
        told = (
            f"{name} has the fields of a PostHog export with its columns separated by {said}, "
            "and the PostHog reader reads commas"
        )
        for command in (["report", name, "--reached", "signup"], ["init", name, "--print"]):
            result = ttvkit(*command, cwd=tmp_path)
            assert result.returncode == 2 and "Traceback" not in result.stderr
            assert told in result.stderr.splitlines()[-1]


def test_a_configuration_s_columns_do_not_stop_a_vendor_export(tmp_path: Path) -> None:
    # [columns] may be another file's (ttvkit init writes it): only --columns is refused.
    (tmp_path / "ttv.toml").write_text(
        '[columns]\nuser = "uid"\nname = "event"\ntimestamp = "time"\n\n'
        '[milestones.m]\nstart = "signup"\nreached = "report"\n',
        encoding="utf-8",
    )
    rows = [
        {"uuid": "a", "event": "signup", "distinct_id": "u1", "timestamp": "2026-03-01T09:00:00Z"},
        {"uuid": "b", "event": "report", "distinct_id": "u1", "timestamp": "2026-03-01T10:00:00Z"},
    ]
    (tmp_path / "ph.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    reported = ok(ttvkit("report", "ph.jsonl", "--input-format", "posthog", cwd=tmp_path))
    assert "1h" in reported.stdout
    refused = assert_user_error(
        ttvkit(
            "report", "ph.jsonl", "--input-format", "posthog", "--columns", "user=x", cwd=tmp_path
        )
    )
    assert (
        "--columns is for csv, jsonl and parquet files; the fields of a PostHog export" in refused
    )


def test_write_csv_and_read_csv_agree_on_a_tsv_name(tmp_path: Path) -> None:
    from ttvkit import datasets
    from ttvkit.io import read_csv, write_csv

    events = datasets.saas_events(20, seed=1)[:40]
    write_csv(events, tmp_path / "out.tsv")
    assert (tmp_path / "out.tsv").read_text("utf-8").startswith("event_id\tuser_id\t")
    assert list(read_csv(tmp_path / "out.tsv")) == events


def test_scan_checks_its_delimiter_as_the_readers_do(tmp_path: Path) -> None:
    from ttvkit.stores.scan import scan, scan_in_engine

    (tmp_path / "e.csv").write_text(SEMICOLONS.replace(";", "\t"), encoding="utf-8")
    with scan(tmp_path / "e.csv", delimiter="tab") as scanned:
        assert scanned.read_in_engine  # 'tab' is a tab, read by DuckDB
    for bad in ("ab", "", 5):
        with pytest.raises(ConfigurationError, match="pass one character"):
            scan_in_engine(tmp_path / "e.csv", delimiter=bad)  # type: ignore[arg-type]


def test_a_delimiter_inside_a_quoted_header_name_is_not_counted(tmp_path: Path) -> None:
    text = 'user_id|name|timestamp|"note;a;b;c"\nu1|signup|2026-03-01T09:00:00Z|x\n'
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    reported = ok(ttvkit("report", "e.csv", "--reached", "signup", cwd=tmp_path))
    assert "separated by '|'" in reported.stderr


def test_spaces_in_other_column_names_leave_the_usual_advice(tmp_path: Path) -> None:
    text = 'distinct_id,event,time,"Notes "\nu1,signup,2026-03-01T09:00:00Z,x\n'
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    assert_user_error(
        ttvkit("report", "e.csv", "--reached", "signup", cwd=tmp_path),
        "map them with --columns user=distinct_id,name=event,timestamp=time",
    )


def test_import_reads_the_file_as_the_configuration_of_init_says(tmp_path: Path) -> None:
    # `ttvkit init FILE` then `ttvkit import FILE URL` failed on the columns init had
    # found: import read no configuration, unlike report.
    text = SEMICOLONS.replace("user_id", "distinct_id").replace(";name;", ";event;")
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    ok(ttvkit("init", "e.csv", cwd=tmp_path))
    config = parse_config(tomllib.loads((tmp_path / "ttv.toml").read_text("utf-8")))
    assert (config.delimiter, config.columns is not None) == (";", True)
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    imported = ok(ttvkit("import", "e.csv", url, cwd=tmp_path))
    assert "separated by" not in imported.stderr  # the configuration says it: no guess
    with open_store(url) as store:
        assert sorted(e.name for e in store.events()) == ["report", "signup", "signup"]
    # --config names another; the command line's options win over it
    (tmp_path / "ttv.toml").rename(tmp_path / "other.toml")
    again = f"sqlite:///{tmp_path / 'again.db'}"
    ok(ttvkit("import", "e.csv", again, "--config", "other.toml", cwd=tmp_path))
    assert_user_error(
        ttvkit("import", "e.csv", again, "--config", "other.toml", "--delimiter", "|", cwd=tmp_path)
    )


COMMA_DECIMALS = (
    "user_id;name;timestamp;amount\n"
    "u1;signup;2026-03-01T09:00:00Z;\n"
    "u1;pay;2026-03-02T09:00:00Z;600,5\n"
    "u1;pay;2026-03-03T09:00:00Z;399,5\n"
    "u2;signup;2026-03-01T09:00:00Z;\n"
    "u2;pay;2026-03-02T09:00:00Z;12\n"
)
ROI = (
    '[milestones.roi]\nstart = "signup"\n'
    'reached = { total = "pay", property = "amount", at_least = 1000 }\n'
)


def _roi_reached(result: object) -> int:
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    results = [s.get("result") or {} for s in report["sections"]]
    first = next(r for r in results if "n_reached" in r and r["milestone"]["name"] == "roi")
    return int(first["n_reached"])


def test_numbers_with_a_decimal_comma_are_found_and_summed(tmp_path: Path) -> None:
    # 600,5 + 399,5 reach 1000 only when read as numbers: they were text, and total()
    # skipped them without a word (0 reached).
    (tmp_path / "e.csv").write_text(COMMA_DECIMALS, encoding="utf-8")
    (tmp_path / "ttv.toml").write_text(ROI, encoding="utf-8")
    found = ok(ttvkit("report", "e.csv", "--format", "json", cwd=tmp_path))
    assert "column 'amount' holds numbers written with a decimal comma (3,5); reading" in (
        found.stderr
    )
    assert _roi_reached(found) == 1
    kept = ok(ttvkit("report", "e.csv", "--decimal", ".", "--format", "json", cwd=tmp_path))
    assert "decimal comma" not in kept.stderr
    assert _roi_reached(kept) == 0
    # init writes what it found, and report then reads it without a note
    (tmp_path / "ttv.toml").unlink()
    ok(ttvkit("init", "e.csv", cwd=tmp_path))
    config = parse_config(tomllib.loads((tmp_path / "ttv.toml").read_text("utf-8")))
    assert (config.delimiter, config.decimal) == (";", ",")
    with (tmp_path / "ttv.toml").open("a", encoding="utf-8") as file:
        file.write("\n" + ROI)
    again = ok(ttvkit("report", "e.csv", "--format", "json", cwd=tmp_path))
    assert "decimal comma" not in again.stderr
    assert _roi_reached(again) == 1


def test_a_decimal_comma_in_a_comma_separated_file_is_only_told(tmp_path: Path) -> None:
    # With commas between columns "1,5" may be a number of another writing: no guess.
    text = COMMA_DECIMALS.replace(";", ",").replace(",600,5", ',"600,5"')
    text = text.replace(",399,5", ',"399,5"')
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    (tmp_path / "ttv.toml").write_text(ROI, encoding="utf-8")
    told = ok(ttvkit("report", "e.csv", "--format", "json", cwd=tmp_path))
    assert "read as text (total() skips them); pass --decimal , to read them" in told.stderr
    assert _roi_reached(told) == 0
    given = ok(ttvkit("report", "e.csv", "--decimal", ",", "--format", "json", cwd=tmp_path))
    assert _roi_reached(given) == 1
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    ok(ttvkit("import", "e.csv", url, "--decimal", ",", cwd=tmp_path))
    with open_store(url) as store:
        amounts = sorted(e.properties["amount"] for e in store.events() if e.name == "pay")
    assert amounts == [12, 399.5, 600.5]


def test_files_read_together_share_the_decimal_comma_one_of_them_shows(tmp_path: Path) -> None:
    # `report DIR` looked at no file for it (0 reached), where `report DIR/a.csv` did.
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.csv").write_text(COMMA_DECIMALS, encoding="utf-8")
    (folder / "b.csv").write_text(
        "user_id;name;timestamp;amount\nu7;signup;2026-03-01T09:00:00Z;\n", encoding="utf-8"
    )
    (tmp_path / "ttv.toml").write_text(ROI, encoding="utf-8")
    reported = ok(ttvkit("report", "d", "--format", "json", cwd=tmp_path))
    assert reported.stderr.count("holds numbers written with a decimal comma") == 1
    assert _roi_reached(reported) == 1


def test_decimal_is_refused_for_files_whose_numbers_are_not_text(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text(
        '{"user_id": "u1", "name": "signup", "timestamp": "2026-03-01T09:00:00Z"}\n', "utf-8"
    )
    assert_user_error(
        ttvkit("report", "e.jsonl", "--reached", "signup", "--decimal", ",", cwd=tmp_path),
        "--decimal (or the configuration's [input] decimal) is for csv files",
    )
    (tmp_path / "ttv.toml").write_text('[input]\ndecimal = ";"\n', encoding="utf-8")
    assert_user_error(
        ttvkit("report", "e.jsonl", "--reached", "signup", cwd=tmp_path), "input.decimal"
    )
    # a configuration written for a CSV file, given a glob of Parquet files: the
    # command line's words (it was scan()'s "delimiter=';'")
    import pandas as pd

    (tmp_path / "pq").mkdir()
    stamp = datetime(2026, 3, 1, tzinfo=UTC)
    frame = pd.DataFrame({"user_id": ["u1"], "name": ["signup"], "timestamp": [stamp]})
    frame.to_parquet(tmp_path / "pq" / "a.parquet")
    (tmp_path / "ttv.toml").write_text('[input]\ndelimiter = ";"\n', encoding="utf-8")
    assert_user_error(
        ttvkit("report", "pq/*.parquet", "--reached", "signup", cwd=tmp_path),
        "--delimiter (or the configuration's [input] delimiter) is for csv files; parquet "
        "files have no delimiter",
    )
    # refused with --engine spark before Spark starts, as --delimiter is
    (tmp_path / "ttv.toml").unlink()
    spark = ["--engine", "spark", "--decimal", ","]
    assert_user_error(
        ttvkit("report", "pq/a.parquet", "--reached", "signup", *spark, cwd=tmp_path),
        "--decimal",
    )


def test_import_takes_its_store_from_the_configuration(tmp_path: Path) -> None:
    # `report` took its source from the configuration's 'store', `import` required
    # STORE_URL even so.
    (tmp_path / "e.csv").write_text(SEMICOLONS, encoding="utf-8")
    assert_user_error(
        ttvkit("import", "e.csv", "--delimiter", ";", cwd=tmp_path),
        "no STORE_URL: pass the store to import into",
    )
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    (tmp_path / "ttv.toml").write_text(f'store = "{url}"\n', encoding="utf-8")
    imported = ok(ttvkit("import", "e.csv", "--delimiter", ";", cwd=tmp_path))
    assert "kept.db" in imported.stdout
    with open_store(url) as store:
        assert sorted(e.name for e in store.events()) == ["report", "signup", "signup"]
    # A store named on the command line wins; a file of events as 'store' is refused.
    other = f"sqlite:///{tmp_path / 'other.db'}"
    ok(ttvkit("import", "e.csv", other, "--delimiter", ";", cwd=tmp_path))
    with open_store(other) as store:
        assert store.count() == 3
    (tmp_path / "ttv.toml").write_text('store = "e.csv"\n', encoding="utf-8")
    assert_user_error(
        ttvkit("import", "e.csv", "--delimiter", ";", cwd=tmp_path),
        "the configuration's 'store' is 'e.csv', a file of events",
    )


def test_a_directory_is_read_with_its_files_delimiter_or_told_they_differ(tmp_path: Path) -> None:
    # report used the first file's delimiter for all and blamed the second file.
    inline = ["--start", "signup", "--reached", "report"]
    alike = tmp_path / "alike"
    alike.mkdir()
    (alike / "a.csv").write_text(SEMICOLONS, encoding="utf-8")
    (alike / "b.csv").write_text(SEMICOLONS.replace("u1", "u7").replace("u2", "u8"), "utf-8")
    reported = ok(ttvkit("report", "alike", *inline, "--format", "json", cwd=tmp_path))
    assert "reading the files so (--delimiter ';')" in reported.stderr
    first = json.loads(reported.stdout)["sections"][1]["result"]
    assert (first["n"], first["n_reached"]) == (4, 2)
    differ = tmp_path / "differ"
    differ.mkdir()
    (differ / "a.csv").write_text(SEMICOLONS.replace(";", ","), encoding="utf-8")
    (differ / "b.csv").write_text(SEMICOLONS, encoding="utf-8")
    assert_user_error(
        ttvkit("report", "differ", *inline, cwd=tmp_path),
        "the files of differ have their columns separated differently: differ/a.csv by ',', "
        "differ/b.csv by ';'",
    )
    # Files whose names say their delimiters (.csv and .tsv) are read each by its own.
    named = tmp_path / "named"
    named.mkdir()
    (named / "a.csv").write_text(SEMICOLONS.replace(";", ","), encoding="utf-8")
    (named / "b.tsv").write_text(
        SEMICOLONS.replace(";", "\t").replace("u1", "u7").replace("u2", "u8"), "utf-8"
    )
    both = ok(ttvkit("report", "named", *inline, "--format", "json", cwd=tmp_path))
    assert json.loads(both.stdout)["sections"][1]["result"]["n"] == 4
