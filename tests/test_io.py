"""ttvkit.io: round trips, column mappings, DataFrames, vendor exports, and bad input."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ttvkit import (
    ConfigurationError,
    InvalidEventError,
    MemoryStore,
    MissingDependencyError,
    ValueEvent,
)
from ttvkit.events import parse_timestamp
from ttvkit.io import (
    MAX_REPORTED_ERRORS,
    ColumnMapping,
    EventReader,
    ReadError,
    from_pandas,
    from_polars,
    read_csv,
    read_file,
    read_jsonl,
    read_parquet,
    read_posthog,
    read_segment,
    write_csv,
    write_jsonl,
    write_parquet,
)
from ttvkit.io.values import to_utc

from .strategies import value_events

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def event(**overrides: Any) -> ValueEvent:
    fields: dict[str, Any] = {"user_id": "u1", "name": "signup", "timestamp": T}
    fields.update(overrides)
    return ValueEvent(**fields)


# --- round trips ----------------------------------------------------------------------

#: Events with hostile ids, names and property keys, at microsecond precision.
precise_events = st.builds(
    lambda e, us: attrs.evolve(e, timestamp=e.timestamp + timedelta(microseconds=us)),
    value_events(hostile=True),
    st.integers(0, 10**12),
)
logs = st.lists(precise_events, max_size=25)

WRITERS: dict[str, tuple[Callable[..., int], Callable[..., EventReader]]] = {
    "events.csv": (write_csv, read_csv),
    "events.csv.gz": (write_csv, read_csv),
    "events.jsonl": (write_jsonl, read_jsonl),
    "events.jsonl.gz": (write_jsonl, read_jsonl),
    "events.parquet": (write_parquet, read_parquet),
}


@pytest.mark.parametrize("filename", list(WRITERS))
@given(events=logs)
def test_events_written_and_read_back_are_equal(
    tmp_path_factory: pytest.TempPathFactory, filename: str, events: list[ValueEvent]
) -> None:
    writer, reader = WRITERS[filename]
    path = tmp_path_factory.mktemp("rt") / filename
    assert writer(events, path) == len(events)
    back = reader(path)
    assert list(back) == events
    assert (back.read, back.skipped) == (len(events), 0)
    # read_file picks the same reader from the name
    assert list(read_file(path)) == events


@given(events=logs)
def test_round_trips_through_text_file_objects(events: list[ValueEvent]) -> None:
    for writer, reader in ((write_csv, read_csv), (write_jsonl, read_jsonl)):
        buffer = io.StringIO(newline="")
        writer(events, buffer)
        buffer.seek(0)
        assert list(reader(buffer)) == events


def test_hostile_strings_survive_csv(tmp_path: Path) -> None:
    nasty = ['a"b', "a,b", "line\nbreak", "cr\rlf\r\n", "\u2028sep\x85", "=cmd|' /C calc'!A0"]
    events = [
        event(user_id=s, name=s, account_id=s, properties={s: [s, {s: None}]}, event_id=s)
        for s in nasty
    ]
    write_csv(events, tmp_path / "e.csv", delimiter=";")
    assert list(read_csv(tmp_path / "e.csv", delimiter=";")) == events


def test_write_csv_layout_is_documented(tmp_path: Path) -> None:
    e = event(properties={"plan": "pro", "n": 1.0}, account_id="acme", event_id="e1")
    write_csv([e, event(event_id="e2")], tmp_path / "e.csv")
    lines = (tmp_path / "e.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [
        "event_id,user_id,account_id,name,timestamp,properties",
        'e1,u1,acme,signup,2026-03-01T12:00:00+00:00,"{""plan"":""pro"",""n"":1.0}"',
        "e2,u1,,signup,2026-03-01T12:00:00+00:00,{}",
    ]


def test_write_parquet_schema(tmp_path: Path) -> None:
    write_parquet([event(event_id="e1")], tmp_path / "e.parquet")
    schema = pq.read_schema(tmp_path / "e.parquet")
    assert schema.names == ["event_id", "user_id", "account_id", "name", "timestamp", "properties"]
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert [f.nullable for f in schema] == [False, False, True, False, False, False]


def test_write_parquet_in_several_batches(tmp_path: Path) -> None:
    events = [event(user_id=f"u{i}", timestamp=T + timedelta(seconds=i)) for i in range(25)]
    assert write_parquet(iter(events), tmp_path / "e.parquet", batch_size=10) == 25
    assert list(read_parquet(tmp_path / "e.parquet", batch_size=7)) == events


def test_writers_reject_what_is_not_an_event(tmp_path: Path) -> None:
    with pytest.raises(InvalidEventError, match="expected ValueEvent objects, got a dict"):
        write_jsonl([{"user_id": "u1"}], tmp_path / "e.jsonl")  # type: ignore[list-item]


def test_readers_feed_stores() -> None:
    buffer = io.StringIO("user_id,name,timestamp\nu1,signup,2026-03-01T12:00:00Z\n")
    store = MemoryStore(read_csv(buffer))
    assert [e.user_id for e in store.events()] == ["u1"]


# --- the column mapping and CSV cells -----------------------------------------------


def test_mapping_with_other_column_names(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv",
        "distinct_id,event,ts,org,id\nu1,signup,2026-03-01T13:00:00+01:00,acme,x1\n",
    )
    mapping = ColumnMapping(
        user="distinct_id", name="event", timestamp="ts", account="org", event_id="id"
    )
    assert list(read_csv(path, mapping=mapping)) == [
        ValueEvent("u1", "signup", T, account_id="acme", event_id="x1")
    ]


def test_other_columns_become_properties_with_json_types(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv",
        "user_id,name,timestamp,plan,amount,count,flag,zip,big,empty,text\n"
        "u1,paid,2026-03-01T12:00:00Z,pro,12.50,3,true,007,123456789012345678901,,1e999\n",
    )
    (e,) = read_csv(path)
    assert dict(e.properties) == {
        "plan": "pro",
        "amount": 12.5,
        "count": 3,
        "flag": True,
        "zip": "007",  # not a JSON number: kept as text
        "big": "123456789012345678901",  # beyond 64 bits: kept as text
        "text": "1e999",  # overflows a float: kept as text
    }
    assert isinstance(e.properties["count"], int)
    (raw,) = read_csv(path, infer_types=False)
    assert raw.properties["amount"] == "12.50"
    assert raw.properties["flag"] == "true"


def test_property_columns_can_be_listed_or_none(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv", "user_id,name,timestamp,plan,notes\nu1,a,2026-03-01T12:00Z,pro,x\n"
    )
    (only,) = read_csv(path, mapping=ColumnMapping(property_columns=["plan"]))
    assert dict(only.properties) == {"plan": "pro"}
    (none,) = read_csv(path, mapping=ColumnMapping(property_columns=()))
    assert dict(none.properties) == {}


def test_json_properties_column_merges_with_property_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv",
        "user_id,name,timestamp,properties,plan\n"
        'u1,a,2026-03-01T12:00Z,"{""n"": [1, {""x"": null}]}",pro\n'
        'u2,a,2026-03-01T12:00Z,"{""plan"": ""free""}",pro\n',
    )
    reader = read_csv(path, on_error="skip")
    (e,) = reader
    assert dict(e.properties) == {"n": [1, {"x": None}], "plan": "pro"}
    assert str(reader.errors[0]) == (
        f"{path} line 3, column \"plan\": is also a key of the JSON object in 'properties'; "
        "rename the column or drop it from property_columns"
    )


def test_optional_columns_under_default_names_may_be_absent(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,name,timestamp\nu1,a,2026-03-01T12:00Z\n")
    (e,) = read_csv(path)
    assert e.account_id is None
    assert len(e.event_id) == 32  # generated


def test_optional_columns_named_explicitly_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,name,timestamp,org\nu1,a,2026-03-01T12:00Z,x\n")
    with pytest.raises(ReadError) as info:
        list(read_csv(path, mapping=ColumnMapping(account="orgg")))
    assert str(info.value) == (
        f"{path} line 1: there is no column 'orgg', which the mapping reads account from; "
        "the columns are: 'user_id', 'name', 'timestamp', 'org'. Pass "
        "mapping=ColumnMapping(...) naming yours, e.g. ColumnMapping(user='distinct_id', "
        "name='event')"
    )


def test_a_mapped_field_can_be_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv", "user_id,name,timestamp,account_id\nu1,a,2026-03-01T12:00Z,x\n"
    )
    (e,) = read_csv(path, mapping=ColumnMapping(account=None, property_columns=()))
    assert e.account_id is None
    assert dict(e.properties) == {}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"user": ""}, "non-empty str"),
        ({"user": "a", "name": "a"}, "mapped to both user and name"),
        ({"property_columns": "plan"}, "pass '*'"),
        ({"property_columns": ["user_id"]}, "already the user column"),
        # read_*: every row "is also a key of the JSON object in None"; scan: accepted
        ({"property_columns": ["plan", "b", "plan"]}, "names 'plan' more than once"),
    ],
)
def test_bad_mappings_are_rejected(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        ColumnMapping(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"on_error": "ignore"}, "pass 'raise' or 'skip'"),
        ({"timestamp_unit": "ns"}, "pass 's', 'ms' or 'us'"),
        ({"assume_timezone": "UTC"}, "pass a tzinfo"),
        ({"mapping": {"user": "id"}}, "must be a ColumnMapping"),
        ({"delimiter": ",,"}, "one character"),
    ],
)
def test_bad_options_are_rejected_when_called(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        read_csv(io.StringIO(""), **kwargs)


def test_crlf_bom_blank_lines_and_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(
        b'\xef\xbb\xbfuser_id,name,timestamp\r\n\r\nu1,"two\r\nlines",2026-03-01T12:00Z\r\n'
        b"u2,a,bad\r\n"
    )
    reader = read_csv(path, on_error="skip")
    assert [e.name for e in reader] == ["two\r\nlines"]
    assert reader.errors[0].line == 5  # the header is line 1; the blank line counts


# --- timestamps -------------------------------------------------------------------


def test_naive_timestamps_are_rejected_unless_a_zone_is_assumed(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,name,timestamp\nu1,a,2026-03-01 13:00:00\n")
    with pytest.raises(ReadError, match="has no UTC offset"):
        list(read_csv(path))
    (e,) = read_csv(path, assume_timezone=ZoneInfo("Europe/Berlin"))
    assert e.timestamp == T
    (utc,) = read_csv(path, assume_timezone=UTC)
    assert utc.timestamp == T + timedelta(hours=1)


def test_an_assumed_zone_never_overrides_an_offset(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,name,timestamp\nu1,a,2026-03-01T12:00:00Z\n")
    (e,) = read_csv(path, assume_timezone=timezone(timedelta(hours=5)))
    assert e.timestamp == T


@pytest.mark.parametrize(
    ("unit", "cell", "expected"),
    [
        ("s", "1772366400", T),
        ("s", "1772366400.25", T + timedelta(milliseconds=250)),
        ("ms", "1772366400123", T + timedelta(milliseconds=123)),
        ("us", "1772366400123456", T + timedelta(microseconds=123456)),
        ("ms", "2026-03-01T12:00:00Z", T),  # ISO text still works with a unit
    ],
)
def test_epoch_timestamps_with_a_unit(unit: str, cell: str, expected: datetime) -> None:
    source = io.StringIO(f"user_id,name,timestamp\nu1,a,{cell}\n")
    (e,) = read_csv(source, timestamp_unit=unit)  # type: ignore[arg-type]
    assert e.timestamp == expected


def test_numeric_text_is_not_an_epoch_without_a_unit() -> None:
    source = io.StringIO("user_id,name,timestamp\nu1,a,1772366400\n")
    with pytest.raises(ReadError, match=r'column "timestamp": \'1772366400\''):
        list(read_csv(source))


@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(UTC)
    ),
    offset=st.integers(-14 * 60, 14 * 60),
    timespec=st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds", "auto"]),
    sep=st.sampled_from(["T", " "]),
    zulu=st.booleans(),
)
def test_timestamp_text_reads_as_parse_timestamp_reads_it(
    moment: datetime, offset: int, timespec: str, sep: str, zulu: bool
) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=offset)))
    text = local.isoformat(sep=sep, timespec=timespec)
    if zulu and offset == 0:
        text = text.replace("+00:00", "Z")
    assert to_utc(text, None, None) == parse_timestamp(text)
    assert to_utc(text, None, None).tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2026-02-30T00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:00:00.5+05:30"]
)
def test_timestamp_text_edge_cases_agree_with_parse_timestamp(text: str) -> None:
    try:
        expected: object = parse_timestamp(text)
    except InvalidEventError as exc:
        expected = str(exc)
    try:
        got: object = to_utc(text, None, UTC)
    except InvalidEventError as exc:
        got = str(exc)
    assert got == expected


def test_epoch_numbers_in_json(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.jsonl",
        '{"user_id": "u1", "name": "a", "timestamp": 1772366400123}\n'
        '{"user_id": "u1", "name": "a", "timestamp": 1e300}\n',
    )
    reader = read_jsonl(path, timestamp_unit="ms", on_error="skip")
    assert [e.timestamp for e in reader] == [T + timedelta(milliseconds=123)]
    assert "is out of range as epoch milliseconds" in str(reader.errors[0])
    with pytest.raises(ReadError, match="check the unit"):
        list(read_jsonl(path))  # milliseconds read as seconds


# --- malformed input --------------------------------------------------------------

BAD_CSV = (
    "user_id,name,timestamp,properties\n"  # 1
    "u1,signup,2026-03-01T12:00:00Z,\n"  # 2 good
    "u2,signup,2026-13-01,\n"  # 3 bad timestamp
    ",signup,2026-03-01T12:00:00Z,\n"  # 4 empty user
    'u3,signup,2026-03-01T12:00:00Z,"{""plan"": pro}"\n'  # 5 bad JSON
    "u4,signup,2026-03-01T12:00:00Z,[1]\n"  # 6 JSON, not an object
    "u5,signup,2026-03-01T12:00:00Z,,extra\n"  # 7 too many cells
    "u6,,2026-03-01T12:00:00Z,\n"  # 8 empty name
    "u7,report,2026-03-02T12:00:00Z,{}\n"  # 9 good
)


def test_each_malformed_row_has_its_own_message(tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", BAD_CSV)
    reader = read_csv(path, on_error="skip")
    assert [e.user_id for e in reader] == ["u1", "u7"]
    assert (reader.read, reader.skipped) == (2, 6)
    messages = [str(e).removeprefix(f"{path} ") for e in reader.errors]
    assert messages == [
        "line 3, column \"timestamp\": '2026-13-01' is no valid date and time (month must "
        "be in 1..12)",
        'line 4, column "user_id": is empty; every event needs a user_id',
        'line 5, column "properties": is not valid JSON (Expecting value at character 9); '
        'the column must hold a JSON object such as {"plan": "pro"}',
        'line 6, column "properties": holds a JSON array, not a JSON object; properties '
        'must be an object such as {"plan": "pro"}',
        "line 7: has 5 cells but the header has 4 columns; quote cells that contain the delimiter",
        'line 8, column "name": is empty; every event needs a name',
    ]
    assert [(e.line, e.column) for e in reader.errors] == [
        (3, "timestamp"),
        (4, "user_id"),
        (5, "properties"),
        (6, "properties"),
        (7, None),
        (8, "name"),
    ]


def test_the_first_malformed_row_raises_by_default(tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", BAD_CSV)
    seen: list[str] = []
    with pytest.raises(ReadError) as info:
        seen.extend(e.user_id for e in read_csv(path))
    assert seen == ["u1"]  # streamed before the bad row
    assert str(info.value).startswith(f'{path} line 3, column "timestamp": ')
    assert isinstance(info.value, InvalidEventError)
    assert isinstance(info.value, ValueError)
    assert (info.value.source, info.value.line, info.value.row) == (str(path), 3, None)


def test_a_missing_column_raises_before_any_row_even_when_skipping(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user,name,timestamp\nu1,a,2026-03-01T12:00Z\n")
    with pytest.raises(ReadError, match=r"line 1: there is no column 'user_id'") as info:
        list(read_csv(path, on_error="skip"))
    assert info.value.line == 1


def test_an_empty_file_is_said_to_be_empty() -> None:
    # It was "there is no column 'user_id' ... the columns are: none. Map yours with
    # --columns", which cannot help.
    with pytest.raises(ReadError, match="line 1: has no header: a CSV file starts with a line"):
        list(read_csv(io.StringIO("")))


def test_duplicate_header_names_are_an_error() -> None:
    with pytest.raises(ReadError, match='line 1, column "plan": names column "plan" twice'):
        list(read_csv(io.StringIO("user_id,name,timestamp,plan,plan\n")))


def test_invalid_property_values_name_their_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.jsonl",
        '{"user_id": "u1", "name": "a", "timestamp": "2026-03-01T12:00Z", "score": NaN}\n'
        '{"user_id": "u1", "name": "a", "timestamp": "2026-03-01T12:00Z", '
        '"n": 99999999999999999999}\n'
        '{"user_id": "u1", "name": "a", "timestamp": "2026-03-01T12:00Z", '
        '"properties": {"x": "' + "y" * 70_000 + '"}}\n',
    )
    reader = read_jsonl(path, on_error="skip")
    assert list(reader) == []
    # NaN is not JSON: the row is bad (it used to be dropped silently, as a null).
    assert "line 1: is not valid JSON (NaN is not a JSON value)" in str(reader.errors[0])
    assert [e.column for e in reader.errors[1:]] == ["n", "properties"]
    assert "does not fit in 64 bits" in str(reader.errors[1])
    assert "the limit is 65536" in str(reader.errors[2])


def test_skipped_rows_are_all_counted_but_only_some_kept(tmp_path: Path) -> None:
    bad = MAX_REPORTED_ERRORS + 50
    path = write(tmp_path / "e.csv", "user_id,name,timestamp\n" + "u1,a,never\n" * bad)
    reader = read_csv(path, on_error="skip")
    assert list(reader) == []
    assert reader.skipped == bad
    assert len(reader.errors) == MAX_REPORTED_ERRORS
    assert reader.errors[-1].line == MAX_REPORTED_ERRORS + 1


def test_undecodable_bytes_say_so(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"user_id,name,timestamp\nu\xe9,a,2026-03-01T12:00Z\n")
    with pytest.raises(ReadError, match=r"is not valid UTF-8 .*encoding='latin-1'"):
        list(read_csv(path, on_error="skip"))
    (e,) = read_csv(path, encoding="latin-1")
    assert e.user_id == "ué"


# --- JSON lines -------------------------------------------------------------------


def test_jsonl_rows_keys_and_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.jsonl",
        '{"user_id": 42, "name": "a", "timestamp": "2026-03-01T12:00:00Z", '
        '"properties": {"deep": {"list": [1, 2.5, "x"]}}, "plan": "pro"}\n'
        "\n"
        "[1, 2]\n"
        "{not json}\n"
        '{"name": "a", "timestamp": "2026-03-01T12:00:00Z"}\n'
        '{"user_id": 4.0, "name": "a", "timestamp": "2026-03-01T12:00:00Z"}\n'
        '{"user_id": "u", "name": "a", "timestamp": "2026-03-01T12:00:00Z", "account_id": 7}\n',
    )
    reader = read_jsonl(path, on_error="skip")
    first, last = reader
    assert first.user_id == "42"  # integer ids become text
    assert dict(first.properties) == {"deep": {"list": [1, 2.5, "x"]}, "plan": "pro"}
    assert last.account_id == "7"
    messages = [str(e).removeprefix(f"{path} ") for e in reader.errors]
    assert messages == [
        "line 3: is a JSON array, not a JSON object; each line must be one object such as "
        '{"user_id": "u1", "name": "signup", "timestamp": ...}',
        "line 4: is not valid JSON (Expecting property name enclosed in double quotes at "
        "character 2)",
        'line 5, key "user_id": is missing; every event needs a user_id',
        'line 6, key "user_id": 4.0 is a float; ids must be text or integers (read the '
        "column as text, or as a nullable integer type such as pandas' Int64)",
    ]


def test_jsonl_reads_a_json_array_too(tmp_path: Path) -> None:
    rows = [event(user_id=f"u{i}").to_dict() for i in range(3)]
    rows[1]["timestamp"] = "later"
    path = write(tmp_path / "e.json", json.dumps(rows, indent=2))
    reader = read_jsonl(path, on_error="skip")
    assert [e.user_id for e in reader] == ["u0", "u2"]
    assert str(reader.errors[0]).startswith(f"{path} row 1, key \"timestamp\": 'later'")


def test_a_reader_over_a_path_reads_again_but_a_file_object_once(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,name,timestamp\nu1,a,2026-03-01T12:00Z\nu2,a,x\n")
    reader = read_csv(path, on_error="skip")
    assert len(list(reader)) == len(list(reader)) == 1
    assert reader.skipped == 1  # counts are for the latest pass
    assert repr(reader) == f"<EventReader {path}: 1 read, 1 skipped, 0 ignored>"
    with path.open(encoding="utf-8", newline="") as file:
        once = read_csv(file, on_error="skip")
        assert once.source == str(path)
        assert len(list(once)) == 1
        with pytest.raises(ConfigurationError, match="was read already"):
            iter(once)


def test_read_errors_pickle_with_their_location() -> None:
    error = ReadError("x", source="e.csv", line=3, column="timestamp")
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (str(back), back.source, back.line, back.column) == ("x", "e.csv", 3, "timestamp")


# --- DataFrames and Parquet -------------------------------------------------------


def test_from_pandas_with_dtypes_and_nulls() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3"],
            "name": ["signup", "report", "report"],
            "timestamp": pd.to_datetime(
                ["2026-03-01T12:00:00.123456789Z", "2026-03-01T13:00:00Z", "2026-03-01T14:00:00Z"],
                format="ISO8601",
            ),
            "account_id": pd.array([7, None, 9], dtype="Int64"),
            "amount": [1.5, float("nan"), 3.0],
            "plan": ["pro", None, "team"],
            "when": pd.to_datetime(["2026-01-01", None, "2026-01-02"]),
            "properties": [{"a": [1]}, None, '{"b": true}'],
        },
        index=["x", "y", "z"],
    )
    first, second, third = from_pandas(df)
    assert first.timestamp == T + timedelta(microseconds=123456)  # nanoseconds truncated
    assert type(first.timestamp) is datetime
    assert first.account_id == "7"
    assert dict(first.properties) == {
        "a": [1],
        "amount": 1.5,
        "plan": "pro",
        "when": "2026-01-01T00:00:00",
    }
    assert second.account_id is None
    assert dict(second.properties) == {}
    assert dict(third.properties) == {
        "b": True,
        "amount": 3.0,
        "plan": "team",
        "when": "2026-01-02T00:00:00",
    }


def test_from_pandas_errors_name_the_row_position() -> None:
    df = pd.DataFrame(
        {
            "uid": ["u1", "u2", "u3"],
            "event": ["a", "b", "c"],
            "ts": pd.to_datetime(["2026-03-01 12:00", "2026-03-01 13:00", None]),
        },
        index=[10, 20, 30],
    )
    mapping = ColumnMapping(user="uid", name="event", timestamp="ts")
    with pytest.raises(ReadError, match=r'DataFrame row 0, column "ts": .* naive datetime'):
        list(from_pandas(df, mapping=mapping))
    reader = from_pandas(df, mapping=mapping, assume_timezone=UTC, on_error="skip", chunk_size=2)
    assert [e.timestamp for e in reader] == [T, T + timedelta(hours=1)]
    assert str(reader.errors[0]) == (
        'DataFrame row 2, column "ts": is empty; every event needs a timestamp'
    )
    assert list(reader) != []  # a DataFrame reader can be iterated again


def test_from_pandas_requires_the_mapped_columns() -> None:
    with pytest.raises(ReadError, match="DataFrame: there is no column 'timestamp'"):
        list(from_pandas(pd.DataFrame({"user_id": ["u"], "name": ["a"]})))
    with pytest.raises(ConfigurationError, match=r"takes a pandas\.DataFrame, not list"):
        from_pandas([])


def test_from_polars() -> None:
    df = pl.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "name": ["signup", "report"],
            "timestamp": [T, T + timedelta(hours=1)],
            "amount": [1.5, None],
            "tags": [["a", "b"], None],
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ns", "Europe/Berlin")))
    first, second = from_polars(df, chunk_size=1)
    assert (first.timestamp, second.timestamp) == (T, T + timedelta(hours=1))
    assert dict(first.properties) == {"amount": 1.5, "tags": ["a", "b"]}
    assert dict(second.properties) == {}
    with pytest.raises(ConfigurationError, match=r"call \.collect\(\) first"):
        from_polars(df.lazy())


def test_from_polars_errors_name_the_row() -> None:
    df = pl.DataFrame({"user_id": ["u1", ""], "name": ["a", "b"], "timestamp": [T, T]})
    reader = from_polars(df, on_error="skip")
    assert len(list(reader)) == 1
    assert str(reader.errors[0]) == (
        "DataFrame row 1, column \"user_id\": '' must not be empty or only whitespace"
    )


def test_read_parquet_written_by_other_tools(tmp_path: Path) -> None:
    table = pa.table(
        {
            "uid": ["u1", "u2", "u3"],
            "event": ["a", "b", "c"],
            "at": pa.array(
                [1_772_366_400_000_000_001, 1_772_370_000_000_000_000, None],
                pa.timestamp("ns"),
            ),
            "props": pa.array(
                [{"plan": "pro"}, None, {"plan": None}], pa.struct([("plan", pa.string())])
            ),
            "seats": pa.array([3, 4, None], pa.int32()),
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    mapping = ColumnMapping(user="uid", name="event", timestamp="at", properties="props")
    reader = read_parquet(
        tmp_path / "e.parquet",
        mapping=mapping,
        assume_timezone=UTC,
        on_error="skip",
        batch_size=1,
    )
    first, second = reader
    assert first.timestamp == T  # naive timestamps read as the assumed zone; ns truncated
    assert dict(first.properties) == {"plan": "pro", "seats": 3}
    assert dict(second.properties) == {"seats": 4}
    assert str(reader.errors[0]) == (
        f'{tmp_path / "e.parquet"} row 2, column "at": is empty; every event needs a timestamp'
    )


def test_read_parquet_rejects_what_is_not_parquet(tmp_path: Path) -> None:
    path = write(tmp_path / "e.parquet", "user_id,name\n")
    with pytest.raises(ReadError, match="is not a Parquet file"):
        list(read_parquet(path))


# --- PostHog ----------------------------------------------------------------------

#: Two events as PostHog's batch export writes them in JSON lines (fields per its docs).
POSTHOG_ROWS = [
    {
        "uuid": "01890000-0000-7000-8000-000000000001",
        "event": "$pageview",
        "distinct_id": "anon-1",
        "person_id": "0189-p",
        "properties": {"$current_url": "https://x.test/", "$browser": "Firefox"},
        "person_properties": {"email": "a@x.test"},
        "elements_chain": "",
        "timestamp": "2026-03-01T12:00:00.000000+00:00",
        "created_at": "2026-03-01T12:00:01.000000+00:00",
        "_inserted_at": "2026-03-01T12:00:02.000000+00:00",
    },
    {
        "uuid": "01890000-0000-7000-8000-000000000002",
        "event": "report_created",
        "distinct_id": "user-1",
        "person_id": "0189-p",
        "properties": {
            "$group_0": "acme",
            "$groups": {"company": "acme", "project": "p-9"},
            "format": "pdf",
        },
        "person_properties": {},
        "elements_chain": "",
        "timestamp": "2026-03-01T13:00:00.123456",  # no offset: PostHog's are UTC
        "created_at": "2026-03-01T13:00:01.000000+00:00",
        "_inserted_at": "2026-03-01T13:00:02.000000+00:00",
    },
]


def test_read_posthog_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.writelines(json.dumps(row) + "\n" for row in POSTHOG_ROWS)
    view, report = read_posthog(path, person_properties=False)
    assert view == ValueEvent(
        "anon-1",
        "$pageview",
        T,
        properties={"$current_url": "https://x.test/", "$browser": "Firefox"},
        event_id="01890000-0000-7000-8000-000000000001",
    )
    with_person, _ = read_posthog(path)  # person_properties are read by default
    assert dict(with_person.properties) == {**view.properties, "email": "a@x.test"}
    assert report.timestamp == T + timedelta(hours=1, microseconds=123456)
    assert report.account_id == "acme"  # $group_0
    (by_project,) = [e for e in read_posthog(path, group_type="project") if e.account_id]
    assert by_project.account_id == "p-9"
    (slim,) = [e for e in read_posthog(path, keep_properties=["format"]) if e.properties]
    assert dict(slim.properties) == {"format": "pdf"}
    assert slim.account_id == "acme"  # taken before the properties are trimmed
    with pytest.raises(ReadError, match="has no UTC offset"):
        list(read_posthog(path, assume_timezone=None))


def test_read_posthog_api_results_and_arrays(tmp_path: Path) -> None:
    api = [{**r, "id": r["uuid"]} for r in POSTHOG_ROWS]
    for r in api:
        del r["uuid"]
    wrapped = write(tmp_path / "api.json", json.dumps({"next": None, "results": api}, indent=2))
    array = write(tmp_path / "array.json", json.dumps(POSTHOG_ROWS, indent=1))
    assert list(read_posthog(wrapped)) == list(read_posthog(array))
    assert [e.event_id[-1] for e in read_posthog(wrapped)] == ["1", "2"]


def test_read_posthog_csv_and_parquet(tmp_path: Path) -> None:
    columns = ["uuid", "event", "distinct_id", "properties", "timestamp", "elements_chain"]
    frame = pd.DataFrame(
        [[r[c] if c != "properties" else json.dumps(r[c]) for c in columns] for r in POSTHOG_ROWS],
        columns=columns,
    )
    frame.to_csv(tmp_path / "export.csv", index=False)
    expected = list(
        read_posthog(
            write(tmp_path / "e.jsonl", "\n".join(map(json.dumps, POSTHOG_ROWS))),
            person_properties=False,  # the CSV below has no person_properties column
        )
    )
    assert list(read_posthog(tmp_path / "export.csv")) == expected
    # Parquet as the batch export writes it: properties as JSON text, UTC timestamps
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601", utc=True)
    frame.to_parquet(tmp_path / "export.parquet")
    assert list(read_posthog(tmp_path / "export.parquet")) == expected
    assert list(read_file(tmp_path / "export.parquet", format="posthog")) == expected


def test_read_posthog_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.jsonl",
        '{"event": "a", "timestamp": "2026-03-01T12:00:00Z", "distinct_id": ""}\n'
        '"just text"\n'
        '{"event": "a", "timestamp": "2026-03-01T12:00:00Z", "distinct_id": "u", '
        '"properties": {"$group_0": ["x"]}}\n',
    )
    reader = read_posthog(path, on_error="skip")
    assert list(reader) == []
    assert [str(e).removeprefix(f"{path} ") for e in reader.errors] == [
        "line 1, key \"distinct_id\": '' must not be empty or only whitespace",
        "line 2: is a JSON string, not a JSON object; each event must be an object",
        "line 3, key \"properties.$group_0\": ['x'] must be a str, not list",
    ]


# --- Segment ----------------------------------------------------------------------

SEGMENT_CALLS = [
    {"type": "identify", "userId": "u1", "traits": {"email": "a@x.test"},
     "messageId": "m0", "timestamp": "2026-03-01T11:00:00Z"},
    {"type": "track", "anonymousId": "anon-1", "event": "Signed Up",
     "properties": {"plan": "free"}, "messageId": "m1", "timestamp": "2026-03-01T12:00:00Z",
     "originalTimestamp": "2026-03-01T11:59:58Z", "receivedAt": "2026-03-01T12:00:01Z",
     "sentAt": "2026-03-01T12:00:00Z", "context": {"ip": "203.0.113.1"}},
    {"type": "track", "userId": "u1", "anonymousId": "anon-1", "event": "Report Created",
     "properties": {"format": "pdf"}, "messageId": "m2",
     "originalTimestamp": "2026-03-01T13:00:00.5Z", "context": {"groupId": "acme"}},
    {"type": "page", "userId": "u1", "name": "Home", "messageId": "m3",
     "timestamp": "2026-03-01T13:30:00Z"},
]  # fmt: skip


def test_read_segment_track_calls(tmp_path: Path) -> None:
    path = write(tmp_path / "calls.jsonl", "\n".join(json.dumps(c) for c in SEGMENT_CALLS))
    reader = read_segment(path, merge_identities=False)
    signed_up, report = reader
    assert signed_up == ValueEvent(
        "anon-1", "Signed Up", T, properties={"plan": "free"}, event_id="m1"
    )
    assert reader.merged == 0
    assert report == ValueEvent(
        "u1",
        "Report Created",
        T + timedelta(hours=1, milliseconds=500),  # originalTimestamp when no timestamp
        properties={"format": "pdf"},
        account_id="acme",
        event_id="m2",
    )
    assert (reader.read, reader.ignored, reader.skipped) == (2, 2, 0)
    identified = read_segment(path, use_anonymous_id=False)
    assert [e.user_id for e in identified] == ["u1"]
    assert identified.ignored == 3


def test_read_segment_batches_and_errors(tmp_path: Path) -> None:
    batch = {"batch": [*SEGMENT_CALLS, {"event": "x"}, {"type": "track", "event": "y"}]}
    path = write(tmp_path / "batch.json", json.dumps(batch, indent=2))
    reader = read_segment(path, on_error="skip")
    assert [e.event_id for e in reader] == ["m1", "m2"]
    assert [str(e).removeprefix(f"{path} ") for e in reader.errors] == [
        'row 4, key "type": is missing; every Segment call has a "type" such as "track"',
        'row 5, key "userId": is missing, and so is anonymousId; a track call needs one of them',
    ]
    one_line = write(tmp_path / "b.jsonl", json.dumps(batch) + "\n" + json.dumps(batch))
    assert [e.event_id for e in read_segment(one_line, on_error="skip")] == ["m1", "m2"] * 2


def test_read_file_dispatch(tmp_path: Path) -> None:
    path = write(tmp_path / "calls.ndjson", json.dumps(SEGMENT_CALLS[1]))
    assert [e.event_id for e in read_file(path, format="segment")] == ["m1"]
    with pytest.raises(ReadError, match='key "user_id": is missing'):
        list(read_file(path))  # JSON lines by its name, with the default mapping
    with pytest.raises(ConfigurationError, match="cannot tell the format"):
        read_file(tmp_path / "calls.txt")
    with pytest.raises(ConfigurationError, match="format='xml'"):
        read_file(path, format="xml")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("events.csv", "csv"),
        ("dir.v2/EVENTS.CSV.GZ", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
        ("a.json", "jsonl"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.txt", None),
        ("a.csv.zip", None),
        ("csv", None),
    ],
)
def test_one_rule_tells_a_format_from_a_name(
    tmp_path: Path, name: str, expected: str | None
) -> None:
    """read_file, scan() and the command line all read the name with format_of_name."""
    from ttvkit.io import format_of_name
    from ttvkit.stores.scan._inputs import format_of

    assert format_of_name(name) == expected
    assert format_of_name(tmp_path / name) == expected
    if expected is None:
        with pytest.raises(ConfigurationError, match="cannot tell the format"):
            read_file(tmp_path / name)
        with pytest.raises(ConfigurationError, match="cannot tell the format"):
            format_of(name, None)
    else:
        assert format_of(name, None) == expected


# --- optional dependencies --------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "call", "extra"),
    [
        ("pyarrow", lambda p: read_parquet(p / "e.parquet"), "parquet"),
        ("pyarrow", lambda p: write_parquet([], p / "e.parquet"), "parquet"),
        ("pyarrow", lambda p: read_posthog(p / "e.parquet"), "parquet"),
        ("pandas", lambda p: from_pandas(None), "pandas"),
        ("polars", lambda p: from_polars(None), "polars"),
    ],
)
def test_missing_extras_name_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    module: str,
    call: Callable[[Path], object],
    extra: str,
) -> None:
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, module, None)  # type: ignore[arg-type]
    with pytest.raises(MissingDependencyError, match=rf"pip install 'ttvkit\[{extra}\]'"):
        call(tmp_path)


def test_importing_ttvkit_io_imports_no_optional_library() -> None:
    code = (
        "import sys, ttvkit.io;"
        "heavy = {'pandas', 'pyarrow', 'polars', 'numpy'};"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- numbers written with a decimal comma ------------------------------------------------


@example(1, 234)
@example(-12, 500)
@given(st.integers(-(10**12), 10**12), st.integers(0, 10**6))
def test_a_decimal_comma_reads_as_the_point_reads(whole: int, fraction: int) -> None:
    from ttvkit.io.values import infer_scalar

    sign = "-" if whole < 0 else ""
    pointed = f"{sign}{abs(whole)}.{fraction}"
    assert infer_scalar(pointed.replace(".", ","), ",") == infer_scalar(pointed) == float(pointed)
    # the other writing is text under each mark (but 1.234, points grouping thousands,
    # under ","); whole numbers are numbers under both
    grouped = re.fullmatch(r"-?[1-9][0-9]{0,2}\.[0-9]{3}", pointed)
    assert infer_scalar(pointed, ",") == (int(pointed.replace(".", "")) if grouped else pointed)
    assert infer_scalar(pointed.replace(".", ",")) == pointed.replace(".", ",")
    assert infer_scalar(str(whole), ",") == whole


def test_read_csv_reads_a_decimal_comma_and_decimal_commas_finds_the_columns(
    tmp_path: Path,
) -> None:
    from ttvkit.errors import ConfigurationError
    from ttvkit.io import decimal_commas

    path = tmp_path / "e.csv"
    path.write_text(
        "user_id;name;timestamp;amount;mixed;text\n"
        "u1;pay;2026-01-01T00:00:00Z;3,5;1,5;a,b\n"
        "u1;pay;2026-01-02T00:00:00Z;12;2.5;\n",
        encoding="utf-8",
    )
    assert decimal_commas(path, delimiter=";") == ("amount",)
    assert decimal_commas(path) == ()  # read with commas, no cell is such a number
    assert decimal_commas(tmp_path / "missing.csv") == ()
    # Commas that group thousands are no decimal commas (a review caught 1,000 and
    # 1,234.50 read as 1.0 and text); 1,000 alone may be either and decides nothing;
    # points grouping thousands (1.200,00) are a decimal comma's file.
    columns = {
        "us": ["1,000", "1,234.50", "12,5"],
        "us_millions": ["1,234,567", "3,5"],
        "either": ["1,000", "12,500", "7"],
        "eu": ["1.200,00", "1.234", "600,5"],
        "eu_grouped_only": ["1.200,00"],
    }
    lines = ["user_id;name;timestamp;" + ";".join(columns)]
    lines += [
        f"u{i};pay;2026-01-01T00:00:00Z;"
        + ";".join(c[i] if i < len(c) else "" for c in columns.values())
        for i in range(3)
    ]
    grouped = tmp_path / "grouped.csv"
    grouped.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert decimal_commas(grouped, delimiter=";") == ("eu", "eu_grouped_only")
    read = [dict(e.properties) for e in read_csv(grouped, delimiter=";", decimal=",")]
    assert [r.get("eu") for r in read] == [1200.0, 1234, 600.5]
    read = [dict(e.properties) for e in read_csv(path, delimiter=";", decimal=",")]
    assert read[0] == {"amount": 3.5, "mixed": 1.5, "text": "a,b"}
    assert read[1] == {"amount": 12, "mixed": "2.5"}
    assert next(iter(read_csv(path, delimiter=";"))).properties["amount"] == "3,5"
    with pytest.raises(ConfigurationError, match=r"decimal='x': pass '\.'"):
        read_csv(path, decimal="x")
