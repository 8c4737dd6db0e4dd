"""Hostile files, arguments and disks through ``ttvkit``: one line and exit 2, never a traceback.

Each case here was found by a red team (issue 9) and used to end in a traceback
(exit 1), in a silently wrong import, or in a message that did not say what was
wrong. The CLI runs in-process (:func:`ttvkit.cli.main`), so an exception that
escapes it fails the test with its traceback.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import ttvkit as ttv
from ttvkit import datasets
from ttvkit.cli import demo_config_text, main
from ttvkit.errors import ConfigurationError, StoreError
from ttvkit.io import ReadError, read_csv, read_file, read_jsonl, write_csv, write_parquet
from ttvkit.stores import _registered, open_store
from ttvkit.stores.sqlite import SQLiteStore

GOOD = '{"user_id": "u1", "name": "signup", "timestamp": "2026-01-01T00:00:00Z"}'
LATE = "9999-12-31T23:59:00-14:00"  # after year 9999 once in UTC
EARLY = "0001-01-01T00:00:00+14:00"  # before year 1 once in UTC
HUGE = "9" * 5000  # more digits than int() converts
DEEP = 100_000  # deeper than json can parse
NESTED = 700  # json parses it; walking it recursively does not


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def one_error_line(code: int, out: str, err: str, *fragments: str) -> str:
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ttvkit: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def summary(out: str) -> dict[str, int]:
    match = re.match(r"read ([\d,]+), new ([\d,]+), duplicates [\d,]+, skipped ([\d,]+)", out)
    assert match, out
    read, new, skipped = (int(g.replace(",", "")) for g in match.groups())
    return {"read": read, "new": new, "skipped": skipped}


def jsonl(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def row(**fields: object) -> str:
    base: dict[str, object] = {"user_id": "u2", "name": "signup", "timestamp": "2026-01-02T00:00Z"}
    return json.dumps({**base, **fields})


# --------------------------------------------------------------------------- bad rows

# name: (file name, text, extra arguments, good rows, bad rows, fragment of the error)
BAD_ROWS: dict[str, tuple[str, str, list[str], int, int, str]] = {
    "csv: a property cell of 5,000 digits stays text": (
        "e.csv",
        f"user_id,name,timestamp,n\nu1,signup,2026-01-01T00:00:00Z,{HUGE}\n",
        [],
        1,
        0,
        "",
    ),
    "csv: a properties object with a 5,000-digit number": (
        "e.csv",
        f'user_id,name,timestamp,properties\nu1,signup,2026-01-01T00:00:00Z,"{{""n"": {HUGE}}}"\n'
        "u2,signup,2026-01-01T00:00:00Z,\n",
        [],
        1,
        1,
        "more digits",
    ),
    "jsonl: a value of 5,000 digits": (
        "e.jsonl",
        jsonl(GOOD, row(n=0).replace("0}", HUGE + "}")),
        [],
        1,
        1,
        "more digits",
    ),
    "jsonl: a user id of 5,000 digits": (
        "e.jsonl",
        jsonl(GOOD, row().replace('"u2"', HUGE)),
        [],
        1,
        1,
        "more digits",
    ),
    "jsonl: a timestamp of 5,000 digits": (
        "e.jsonl",
        jsonl(GOOD, row().replace('"2026-01-02T00:00Z"', HUGE)),
        [],
        1,
        1,
        "more digits",
    ),
    "jsonl: nested deeper than json parses": (
        "e.jsonl",
        jsonl(GOOD, row(properties=0).replace("0}", "[" * DEEP + "]" * DEEP + "}")),
        [],
        1,
        1,
        "nested too deeply",
    ),
    "jsonl: nested deeper than a recursive walk": (
        "e.jsonl",
        jsonl(GOOD, row(properties=0).replace("0}", '{"a":' * NESTED + "1" + "}" * NESTED + "}")),
        [],
        1,
        1,
        "line 2",
    ),
    "csv: a properties cell nested deeper than json parses": (
        "e.csv",
        'user_id,name,timestamp,properties\nu1,signup,2026-01-01T00:00:00Z,"'
        + '{""a"":' * 10_000  # deeper than json parses, within the CSV field limit
        + "1"
        + "}" * 10_000
        + '"\n',
        [],
        0,
        1,
        "nested too deeply",
    ),
    "csv: an offset past year 9999": (
        "e.csv",
        f"user_id,name,timestamp\nu1,signup,2026-01-01T00:00:00Z\nu2,signup,{LATE}\n",
        [],
        1,
        1,
        f"'{LATE}' is outside the supported range",
    ),
    "csv: an offset before year 1": (
        "e.csv",
        f"user_id,name,timestamp\nu1,signup,{EARLY}\nu2,signup,2026-01-01T00:00:00Z\n",
        [],
        1,
        1,
        f"'{EARLY}' is outside the supported range",
    ),
    "jsonl: an offset past year 9999": (
        "e.jsonl",
        jsonl(GOOD, row(timestamp=LATE)),
        [],
        1,
        1,
        "outside the supported range",
    ),
    "segment: an offset before year 1": (
        "e.json",
        jsonl(
            '{"type": "track", "userId": "u1", "event": "a", "timestamp": "2026-01-01T00:00Z"}',
            json.dumps({"type": "track", "userId": "u2", "event": "a", "timestamp": EARLY}),
        ),
        ["--input-format", "segment"],
        1,
        1,
        "outside the supported range",
    ),
    "jsonl: a top-level NaN is a bad row, not a missing value": (
        "e.jsonl",
        jsonl(GOOD, row().replace("}", ', "score": NaN}')),
        [],
        1,
        1,
        "NaN is not a JSON value",
    ),
    "jsonl: a byte-order mark does not cost the first row": (
        "e.jsonl",
        "\ufeff" + jsonl(GOOD, row()),
        [],
        2,
        0,
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_rows_are_one_line_or_skipped_and_counted(tmp_path: Path, case: str) -> None:
    name, text, extra, good, bad, fragment = BAD_ROWS[case]
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    code, out, err = run("import", str(source), url, "--on-error", "skip", *extra)
    assert code == 0, err
    assert summary(out) == {"read": good, "new": good, "skipped": bad}
    if bad:
        assert fragment in err
        assert "--on-error skip" not in err  # the hint is for raise mode only
        code, out, err = run("import", str(source), f"sqlite:///{tmp_path / 'x.db'}", *extra)
        line = one_error_line(code, out, err, fragment, "--on-error skip")
        assert "Traceback" not in line


def test_an_out_of_range_timestamp_is_shown_as_given(tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("user_id,name,timestamp\nu1,signup,2300-01-01T00:00:00Z\n", "utf-8")
    code, out, err = run("import", str(source), f"sqlite:///{tmp_path / 'ttv.db'}")
    line = one_error_line(code, out, err, "line 2", "'2300-01-01T00:00:00Z' is outside")
    assert "datetime.datetime" not in line
    assert "milliseconds" not in line  # text has no unit to get wrong


def test_the_milliseconds_hint_is_kept_for_numbers(tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text(jsonl(row(timestamp=1_767_225_600_000)), encoding="utf-8")
    with pytest.raises(ReadError, match=r"1767225600000 is out of range as epoch seconds.*ms"):
        list(read_jsonl(source))


def test_epoch_text_of_thousands_of_digits_is_a_bad_row() -> None:
    reader = read_csv(
        io.StringIO(f"user_id,name,timestamp\nu1,a,{HUGE}\nu2,a,1767225600\n"),
        timestamp_unit="s",
        on_error="skip",
    )
    assert [e.user_id for e in reader] == ["u2"]
    assert "out of range as epoch seconds" in str(reader.errors[0])


def test_as_of_at_the_year_limits_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "ttv.toml"
    config.write_text(demo_config_text(), encoding="utf-8")
    source = tmp_path / "e.jsonl"
    source.write_text(jsonl(GOOD), encoding="utf-8")
    for value in (LATE, EARLY, "1969-12-31T23:59:59Z"):
        code, out, err = run("report", str(source), "-c", str(config), "--as-of", value)
        line = one_error_line(code, out, err, f"'{value}' is outside the supported range")
        assert "milliseconds" not in line


# --------------------------------------------------------------------------- broken containers


def _csv_text(events: list[ttv.ValueEvent]) -> str:
    buffer = io.StringIO()
    write_csv(events, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def many_events() -> list[ttv.ValueEvent]:
    return datasets.saas_events(2_000, seed=3)[:20_000]


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_truncated_gzip_file_says_how_many_events_were_stored(
    tmp_path: Path, many_events: list[ttv.ValueEvent], on_error: str
) -> None:
    data = gzip.compress(_csv_text(many_events).encode())
    source = tmp_path / "events.csv.gz"
    source.write_bytes(data[: len(data) * 3 // 4])
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    code, out, err = run("import", str(source), url, "--on-error", on_error)
    line = one_error_line(code, out, err, str(source), "is not a complete gzip file")
    assert "--on-error skip" not in line  # skipping cannot help
    with open_store(url) as store:
        stored = store.count()
    assert stored > 5_000
    assert f"{stored:,} new events were stored before it" in line


def test_a_file_that_is_not_gzip_is_named(tmp_path: Path) -> None:
    source = tmp_path / "events.csv.gz"
    source.write_text("user_id,name,timestamp\n", encoding="utf-8")
    code, out, err = run("import", str(source), f"sqlite:///{tmp_path / 'ttv.db'}")
    one_error_line(code, out, err, f"{source}: is not a complete gzip file")


def _gzipped(events: list[ttv.ValueEvent], name: str) -> bytes:
    if ".csv" in name.lower():
        return gzip.compress(_csv_text(events).encode())
    return gzip.compress("".join(json.dumps(e.to_dict()) + "\n" for e in events).encode())


@pytest.mark.parametrize("name", ["events.csv.gz", "events.jsonl.gz"])
def test_an_empty_gzip_file_is_named_not_read_as_no_events(tmp_path: Path, name: str) -> None:
    # gzip reads a file of 0 bytes as no data: the log was read as empty ("the source
    # holds no events"), where a gzip file of no events is 20 bytes: this one was cut.
    source = tmp_path / name
    source.write_bytes(b"")
    message = f"{source}: is empty (0 bytes), so not a gzip file; the file is truncated"
    with pytest.raises(ReadError, match=re.escape(message)) as raised:
        list(read_file(source, on_error="skip"))
    assert not raised.value.skippable
    code, out, err = run("import", str(source), f"sqlite:///{tmp_path / 'ttv.db'}")
    one_error_line(code, out, err, message)


@pytest.mark.parametrize("name", ["events.csv.gz", "events.jsonl.gz"])
def test_scan_names_an_empty_gzip_file_alone_or_in_a_glob(
    tmp_path: Path, many_events: list[ttv.ValueEvent], name: str
) -> None:
    pytest.importorskip("duckdb")
    source = tmp_path / name
    source.write_bytes(b"")
    (tmp_path / f"good{name[6:]}").write_bytes(_gzipped(many_events[:10], name))
    message = f"{source}: is empty (0 bytes), so not a gzip file"
    for given in (source, tmp_path / f"*{name[6:]}"):
        with pytest.raises(ReadError, match=re.escape(message)):
            ttv.scan(given)


def _damaged(data: bytes, how: str) -> bytes:
    if how == "cut":
        return data[: len(data) // 2]
    if how == "flipped":  # inside the deflate stream
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    # "stored": no compression, so a changed byte is still valid deflate: only the CRC
    # in the trailer tells (DuckDB read such a file as different events)
    return data.replace(b"signup", b"signuq", 1)


@pytest.mark.parametrize("how", ["cut", "flipped", "stored"])
@pytest.mark.parametrize("suffix", [".csv.gz", ".jsonl.gz"])
def test_a_damaged_gzip_file_is_one_error_in_every_path(
    tmp_path: Path, many_events: list[ttv.ValueEvent], how: str, suffix: str
) -> None:
    # DuckDB checks no CRC and stops quietly at a cut: the command line read such
    # files as fewer or different events, or crashed with zlib.error.
    events = many_events[:200]
    plain = (
        _csv_text(events)
        if suffix == ".csv.gz"
        else "".join(json.dumps(e.to_dict()) + "\n" for e in events)
    )
    data = gzip.compress(plain.encode(), compresslevel=0 if how == "stored" else 9)
    source = tmp_path / f"events{suffix}"
    source.write_bytes(_damaged(data, how))
    assert source.read_bytes() != data
    # The reader streams: a flipped byte may garble a row before the CRC is reached.
    with pytest.raises(ReadError, match=re.escape(str(source))):
        list(read_file(source))
    damaged = f"{source}: is not a complete gzip file"
    for command in (
        ["report", str(source), "--reached", "signup"],
        ["init", str(source), "--print"],
    ):
        code, out, err = run(*command)
        if importlib.util.find_spec("duckdb") is not None or how != "flipped":
            one_error_line(code, out, err, damaged)
        else:
            one_error_line(code, out, err, str(source))


@pytest.mark.parametrize("how", ["cut", "flipped", "stored"])
def test_scan_refuses_a_damaged_gzip_file_as_the_readers_do(
    tmp_path: Path, many_events: list[ttv.ValueEvent], how: str
) -> None:
    pytest.importorskip("duckdb")
    level = 0 if how == "stored" else 9
    data = gzip.compress(_csv_text(many_events[:200]).encode(), compresslevel=level)
    source = tmp_path / "events.csv.gz"
    source.write_bytes(_damaged(data, how))
    with pytest.raises(ReadError, match=f"{re.escape(str(source))}: is not a complete gzip file"):
        ttv.scan(source)


@pytest.mark.parametrize("name", ["EVENTS.CSV.GZ", "Events.JSONL.Gz"])
def test_a_gzip_file_named_in_capitals_is_read_through_gzip(
    tmp_path: Path, many_events: list[ttv.ValueEvent], name: str
) -> None:
    # The format came from the name in any case, but the file was opened as plain
    # text: "is not valid UTF-8 ... pass the file's encoding, e.g. encoding='utf-16'".
    events = many_events[:50]
    source = tmp_path / name
    source.write_bytes(_gzipped(events, name))
    assert list(read_file(source)) == events


@pytest.mark.parametrize("name", ["EVENTS.CSV.GZ", "Events.JSONL.Gz"])
def test_scan_reads_a_gzip_file_named_in_capitals(
    tmp_path: Path, many_events: list[ttv.ValueEvent], name: str
) -> None:
    pytest.importorskip("duckdb")
    events = many_events[:50]
    source = tmp_path / name
    source.write_bytes(_gzipped(events, name))
    with ttv.scan(source) as scanned:
        assert sorted(scanned.events(), key=lambda e: str(e.event_id)) == sorted(
            events, key=lambda e: str(e.event_id)
        )


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_damaged_parquet_file_is_one_line_with_the_count(
    tmp_path: Path, many_events: list[ttv.ValueEvent], on_error: str
) -> None:
    pytest.importorskip("pyarrow")
    intact = tmp_path / "intact.parquet"
    write_parquet(many_events[:6_000], intact, batch_size=2_000)
    data = bytearray(intact.read_bytes())
    middle = len(data) // 2  # inside the column chunks, far from the footer
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    source = tmp_path / "damaged.parquet"
    source.write_bytes(bytes(data))
    url = f"sqlite:///{tmp_path / 'ttv.db'}"
    code, out, err = run("import", str(source), url, "--on-error", on_error, "--batch-size", "500")
    line = one_error_line(code, out, err, str(source), "is damaged")
    with open_store(url) as store:
        assert f"{store.count():,} new events were stored before it" in line


def test_a_decode_error_names_the_line_of_the_byte(tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    lines = [b"user_id,name,timestamp", *[b"u1,signup,2026-01-01T00:00:00Z"] * 2]
    source.write_bytes(b"\n".join([*lines, b"u\xff,signup,2026-01-01T00:00:00Z", b""]))
    code, out, err = run("import", str(source), f"sqlite:///{tmp_path / 'ttv.db'}")
    one_error_line(code, out, err, f"{source} line 4", "not valid UTF-8")


def test_a_layout_error_has_no_skip_hint(tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("user,name,timestamp\nu1,signup,2026-01-01T00:00:00Z\n", "utf-8")
    code, out, err = run("import", str(source), f"sqlite:///{tmp_path / 'ttv.db'}")
    line = one_error_line(code, out, err, "has no user (column 'user_id')")
    assert "--on-error" not in line


# --------------------------------------------------------------------------- the disk and the store


def test_import_on_a_full_disk_says_how_many_events_were_stored(
    tmp_path: Path, many_events: list[ttv.ValueEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "full.db"

    def full_sqlite(url: str) -> SQLiteStore:
        store = SQLiteStore(path, timeout=1)
        with store._connection() as connection:  # this thread's, which import uses
            (pages,) = connection.execute("PRAGMA page_count").fetchone()
            connection.execute(f"PRAGMA max_page_count = {pages + 40}")
        return store

    monkeypatch.setitem(_registered, "fullsqlite", full_sqlite)
    source = tmp_path / "events.csv"
    source.write_text(_csv_text(many_events[:5_000]), encoding="utf-8")
    code, out, err = run("import", str(source), "fullsqlite://", "--batch-size", "100")
    line = one_error_line(code, out, err, "full")
    with open_store(f"sqlite:///{path}") as store:
        stored = store.count()
    assert 0 < stored < 5_000
    assert f"{stored:,} new events were stored before it" in line


def test_a_nul_in_a_store_url_is_a_configuration_error(tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text(jsonl(GOOD), encoding="utf-8")
    code, out, err = run("import", str(source), "sqlite:///x%00.db")
    one_error_line(code, out, err, "NUL")
    for url in ("sqlite:///x%00.db", "sqlite:///x\x00.db", "memory://\x00", "postgresql://h/d%00b"):
        with pytest.raises(ConfigurationError, match="NUL"):
            open_store(url)
    with pytest.raises(ConfigurationError, match="NUL"):
        SQLiteStore(tmp_path / "x\x00.db")
    with pytest.raises(ConfigurationError, match="lone surrogate"):
        open_store("sqlite:///\udcff.db")


def test_unusable_store_urls_are_one_line(tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text(jsonl(GOOD), encoding="utf-8")
    (tmp_path / "adir").mkdir()
    cases = [
        ("postgresql://[::1/test", "is not a valid URL"),
        (f"sqlite:///{tmp_path / 'adir'}", "it is a directory; name a file in it"),
        (f"sqlite:///{tmp_path / ('x' * 300)}.db", "File name too long"),
        (f"sqlite:///{tmp_path / 'missing' / 'x.db'}", "does not exist; create it"),
    ]
    for url, fragment in cases:
        code, out, err = run("import", str(source), url)
        one_error_line(code, out, err, fragment)


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing_dir"
    with pytest.raises(StoreError, match=f"the directory {missing} does not exist"):
        ttv.Tracker(f"sqlite:///{missing / 'x.db'}")


# --------------------------------------------------------------------------- report --output


@pytest.fixture
def report_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    config = tmp_path / "ttv.toml"
    config.write_text(demo_config_text(), encoding="utf-8")
    source = tmp_path / "events.csv"
    source.write_text(_csv_text(datasets.saas_events(40, seed=2)), encoding="utf-8")
    database = tmp_path / "ttv.db"
    with open_store(f"sqlite:///{database}") as store:
        store.append(datasets.saas_events(40, seed=2))
    return config, source, database


def test_report_refuses_to_write_over_what_it_reads(
    tmp_path: Path, report_inputs: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, source, database = report_inputs
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{database}"
    cases = [
        (str(source), str(source)),
        (str(source), str(link)),  # through a symbolic link
        (str(link), "events.csv"),  # a relative path
        (str(source), str(config)),  # the configuration
        (url, str(database)),  # the store's file
        (url, f"{database}-wal"),  # and its log
        (url, "ttv.db"),
    ]
    before = {p: p.read_bytes() for p in (config, source, database)}
    for reported, output in cases:
        code, out, err = run("report", reported, "-c", str(config), "-o", output)
        one_error_line(code, out, err, f"--output {output} is the", "pass another file name")
    assert {p: p.read_bytes() for p in before} == before


def test_output_dash_is_stdout(
    tmp_path: Path, report_inputs: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, source, _ = report_inputs
    monkeypatch.chdir(tmp_path)
    code, out, err = run("report", str(source), "-c", str(config), "-o", "-", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["title"]
    assert not (tmp_path / "-").exists()


def test_a_failed_write_names_the_output(
    tmp_path: Path, report_inputs: tuple[Path, Path, Path]
) -> None:
    config, source, _ = report_inputs
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    code, _, err = run("report", str(source), "-c", str(config), "-o", "/dev/full")
    assert code == 2
    # (warnings about sections the small log cannot fill come first)
    assert err.splitlines()[-1] == "ttvkit: error: /dev/full: No space left on device"


def test_json_constants_json_does_not_have_make_the_row_bad(tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text(
        jsonl(
            GOOD,
            row().replace("}", ', "score": Infinity}'),
            row().replace("}", ', "properties": {"x": -Infinity}}'),
        ),
        encoding="utf-8",
    )
    reader = read_jsonl(source, on_error="skip")
    assert [e.user_id for e in reader] == ["u1"]
    assert [e.line for e in reader.errors] == [2, 3]
    assert all("is not a JSON value" in str(e) for e in reader.errors)


def test_read_errors_say_whether_skipping_could_help(tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("user_id,name,timestamp\nu1,signup,yesterday\n", "utf-8")
    with pytest.raises(ReadError) as bad_row:
        list(read_csv(source))
    assert bad_row.value.skippable
    with pytest.raises(ReadError) as layout:
        list(read_csv(io.StringIO("user,name,timestamp\n")))
    assert not layout.value.skippable
    truncated = tmp_path / "e.csv.gz"
    truncated.write_bytes(gzip.compress(source.read_bytes())[:-12])
    with pytest.raises(ReadError) as container:
        list(read_csv(truncated, on_error="skip"))
    assert not container.value.skippable


def test_a_first_record_nested_too_deep_is_a_bad_row_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Sniffing the format reads the first record: nesting deeper than Python's
    # JSON decoder goes raised RecursionError out of `ttvkit import`.
    deep = "[" * 100_000 + "]" * 100_000
    good = '{"user_id": "u1", "name": "signup", "timestamp": "2026-01-01T00:00:00Z"}'
    path = tmp_path / "deep.jsonl"
    path.write_text(
        f'{{"user_id": {deep}, "name": "signup", "timestamp": "2026-01-01T00:00:00Z"}}\n{good}\n',
        encoding="utf-8",
    )
    db = tmp_path / "ttv.db"
    code = main(["import", str(path), f"sqlite:///{db}", "--on-error", "skip"])
    assert code == 0, capsys.readouterr().err
    with SQLiteStore(db) as store:
        assert [e.user_id for e in store.events()] == ["u1"]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        # The quote is never closed: the cell took in every later line as its text,
        # and the file read as one event (the report: "1 customer, 0 reached").
        (
            'u1,signup,2026-03-01T09:00:00Z,"open quote',
            "line 3: starts a quoted cell that is never closed: the file ends inside it",
        ),
    ],
)
def test_broken_csv_quoting_stops_the_reading_at_its_line(
    tmp_path: Path, row: str, problem: str
) -> None:
    lines = ["user_id,name,timestamp,note", "u0,signup,2026-03-01T08:00:00Z,ok", row]
    lines += [f"u{i},signup,2026-03-01T09:00:00Z,ok" for i in range(2, 22)]
    source = tmp_path / "events.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for on_error in ("raise", "skip"):  # skipping cannot help: where the rows end is lost
        with pytest.raises(ReadError, match=re.escape(f"{source} {problem}")) as raised:
            list(read_csv(source, on_error=on_error))
        assert not raised.value.skippable
    code, out, err = run("report", str(source), "--reached", "signup")
    one_error_line(code, out, err, f"{source} {problem}")
    if importlib.util.find_spec("duckdb") is not None:
        with pytest.raises(ReadError, match=re.escape(problem)):
            ttv.scan(source)


@pytest.mark.parametrize(
    ("name", "text", "options", "why"),
    [
        ("e.jsonl", "", [], "it has no rows"),
        ("e.csv", "user_id,name,timestamp\n", [], "it has no rows"),
        (
            "e.csv",
            "user_id,name,timestamp\n,signup,2026-03-01T09:00:00Z\n",
            ["--on-error", "skip"],
            "every row was bad, and skipped (1; --on-error skip)",
        ),
    ],
)
def test_a_file_without_events_is_named_not_told_to_track_some(
    tmp_path: Path, name: str, text: str, options: list[str], why: str
) -> None:
    # "the source holds no events; track or import some first" is a store's advice.
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    code, out, err = run("report", str(source), "--reached", "signup", *options)
    # the skipped row's warning first, then the one error
    line = one_error_line(code, out, err.splitlines()[-1], f"{source} holds no events: {why}")
    assert "track or import" not in line


def test_text_after_a_closing_quote_is_read_as_before_in_every_path(tmp_path: Path) -> None:
    # Strict quoting refused `"signup" ,` (hand-made exports write it), which DuckDB
    # reads: the readers keep reading it leniently, so scan() and read_csv agree on
    # whether it can be read.
    source = tmp_path / "e.csv"
    source.write_text(
        'user_id,name,timestamp\nu1,"signup" ,2024-01-01T00:00:00Z\n'
        'u1,buy,"2024-01-02T00:00:00Z"  \n',
        encoding="utf-8",
    )
    assert [(e.user_id, e.name.strip()) for e in read_csv(source)] == [
        ("u1", "signup"),
        ("u1", "buy"),
    ]
    if importlib.util.find_spec("duckdb") is not None:
        with ttv.scan(source) as scanned:
            assert len(list(scanned.events())) == 2
