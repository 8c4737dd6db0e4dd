"""Fuzzing the readers and ``ttvkit import``: exit 0 or 2, never a traceback.

Files of generated rows, hostile cells among them (``tests/strategies.py``),
go through ``ttvkit import --on-error skip`` in-process: an exception escaping
:func:`ttvkit.cli.main` fails the test with its traceback. When the import
succeeds, every row of the file was either committed or skipped and counted;
when it fails (bytes that are not UTF-8, a file the CSV parser gives up on), it
says so in one line. Raw bytes go straight to every reader, which may only
raise :class:`~ttvkit.errors.TTVError`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttvkit.cli import demo_config_text, main
from ttvkit.errors import TTVError
from ttvkit.io import read_file
from ttvkit.stores import open_store

from .strategies import hostile_cells

_counter = itertools.count()

FIELDS = ["user_id", "name", "timestamp", "properties", "plan"]
VALID = {
    "user_id": st.sampled_from(["u1", "u2", "u3"]),
    "name": st.sampled_from(["signup", "report_created"]),
    "timestamp": st.sampled_from(["2026-01-01T00:00:00Z", "2026-02-01T12:00:00+02:00"]),
    "properties": st.sampled_from(["", '{"plan": "pro"}', "{}"]),
    "plan": st.sampled_from(["free", "pro", ""]),
}


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, str]]:
    """Mostly valid rows, a field of some replaced by a hostile cell."""
    out = []
    for _ in range(draw(st.integers(0, 8))):
        row = {field: draw(VALID[field]) for field in FIELDS}
        for field in draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True)):
            row[field] = draw(hostile_cells)
        out.append(row)
    return out


def _encode(text: str) -> bytes:
    # Lone surrogates become bytes that are not UTF-8, as a broken exporter writes.
    return text.encode("utf-8", "surrogatepass")


def csv_file(data: list[dict[str, str]]) -> tuple[bytes, int | None]:
    """The CSV text, and its number of records (the header aside)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for row in data:
        writer.writerow([row[f] for f in FIELDS])
    return _encode(buffer.getvalue()), len(data)


def jsonl_file(data: list[dict[str, str]], raw: bool) -> tuple[bytes, int | None]:
    """JSON lines: each row as an object, or (*raw*) its cells pasted in unquoted, so that
    numbers, NaN and nesting reach the parser as such. The count of non-blank lines."""
    lines = []
    for row in data:
        if raw:
            cells = ", ".join(f"{json.dumps(k)}: {v}" for k, v in row.items() if k != "properties")
            lines.append("{" + cells.replace("\n", " ").replace("\r", " ") + "}")
        else:
            record: dict[str, object] = {k: v for k, v in row.items() if k != "properties"}
            lines.append(json.dumps(record, ensure_ascii=False))
    return _encode("".join(line + "\n" for line in lines)), len(lines)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=60)
@given(data=rows(), kind=st.sampled_from(["csv", "jsonl", "jsonl-raw"]))
def test_import_exits_0_or_2_and_counts_every_row(
    workdir: Path, data: list[dict[str, str]], kind: str
) -> None:
    n = next(_counter)
    if kind == "csv":
        content, expected = csv_file(data)
        source = workdir / f"f{n}.csv"
    else:
        content, expected = jsonl_file(data, raw=kind == "jsonl-raw")
        source = workdir / f"f{n}.jsonl"
    source.write_bytes(content)
    url = f"sqlite:///{workdir / f'f{n}.db'}"
    code, out, err = run("import", str(source), url, "--on-error", "skip", "--batch-size", "3")
    assert code in (0, 2), err
    if code == 2:
        (line,) = err.splitlines()
        assert line.startswith("ttvkit: error: ")
        assert "--on-error skip" not in line  # already skipping
        return
    match = re.match(r"read (\d+), new (\d+), duplicates \d+, skipped (\d+)", out)
    assert match, out
    read, new, skipped = map(int, match.groups())
    assert read + skipped == expected
    with open_store(url) as store:
        assert store.count() == new


@settings(max_examples=30)
@given(
    data=rows(),
    kind=st.sampled_from(["csv", "jsonl", "jsonl-raw"]),
    fmt=st.sampled_from(["text", "json", "html"]),
)
def test_report_exits_0_or_2(
    workdir: Path, data: list[dict[str, str]], kind: str, fmt: str
) -> None:
    n = next(_counter)
    config = workdir / "ttv.toml"
    if not config.exists():
        config.write_text(demo_config_text(), encoding="utf-8")
    if kind == "csv":
        content, _ = csv_file(data)
        source = workdir / f"p{n}.csv"
    else:
        content, _ = jsonl_file(data, raw=kind == "jsonl-raw")
        source = workdir / f"p{n}.jsonl"
    source.write_bytes(content)
    code, out, err = run(
        "report", str(source), "-c", str(config), "--on-error", "skip", "--format", fmt
    )
    assert code in (0, 2), err
    if code == 2:
        assert err.splitlines()[-1].startswith("ttvkit: error: ")
        assert out == ""
    else:
        assert out


@settings(max_examples=60)
@given(
    content=st.binary(max_size=300)
    | st.lists(hostile_cells, max_size=6).map(lambda cells: _encode("\n".join(cells))),
    format=st.sampled_from(["csv", "jsonl", "posthog", "segment"]),
)
def test_readers_raise_nothing_but_ttv_errors(workdir: Path, content: bytes, format: str) -> None:
    source = workdir / f"r{next(_counter)}.data"
    source.write_bytes(content)
    for on_error in ("raise", "skip"):
        reader = read_file(source, format=format, on_error=on_error)
        try:
            events = list(reader)
        except TTVError:
            continue
        assert reader.read == len(events)


@pytest.fixture(scope="module")
def parquet_bytes(workdir: Path) -> bytes:
    pytest.importorskip("pyarrow")
    from ttvkit.events import ValueEvent
    from ttvkit.io import write_parquet

    path = workdir / "intact.parquet"
    events = [
        ValueEvent(f"u{i}", "signup", 1_767_225_600 + i, {"plan": "pro" * (i % 4), "n": i})
        for i in range(300)
    ]
    write_parquet(events, path, batch_size=100)
    return path.read_bytes()


@settings(max_examples=60)
@given(
    changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=6)
)
def test_a_damaged_parquet_file_raises_nothing_but_ttv_errors(
    workdir: Path, parquet_bytes: bytes, changes: list[tuple[float, int]]
) -> None:
    data = bytearray(parquet_bytes)
    for where, value in changes:
        data[int(where * len(data))] = value
    source = workdir / f"q{next(_counter)}.parquet"
    source.write_bytes(bytes(data))
    reader = read_file(source, on_error="skip")
    try:
        events = list(reader)
    except TTVError:
        return
    assert reader.read == len(events)
