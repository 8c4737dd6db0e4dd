"""Vendor exports at their edges: identities linked both ways, damaged archives and
gzip files, person properties in every format, merge counts and group lists."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ttvkit.io import (
    ReadError,
    read_amplitude,
    read_file,
    read_mixpanel,
    read_posthog,
    read_segment,
    sniff,
)

EPOCH = 1772352000


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def posthog(uuid: str, event: str, user: str, minute: int, **properties: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "event": event,
        "distinct_id": user,
        "timestamp": f"2026-03-01T09:{minute:02d}:00Z",
        "properties": properties,
    }


def mixpanel(event: str, user: str, seconds: int, **properties: Any) -> dict[str, Any]:
    return {"event": event, "properties": {"distinct_id": user, "time": seconds, **properties}}


def amplitude_lines(hour: int, n: int) -> bytes:
    rows = (
        {
            "event_type": "A",
            "event_time": f"2026-03-01 {hour:02d}:00:00.000000",
            "user_id": f"u{i}",
            "device_id": "d",
            "uuid": f"{hour}-{i}",
        }
        for i in range(n)
    )
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


# -- 1. identities linked both ways (alias, then identify) are one person -----------------


def test_posthog_alias_then_identify_is_one_user(tmp_path: Path) -> None:
    rows = [
        posthog("e1", "signed_up", "anon-1", 0),
        posthog("e2", "$create_alias", "anon-1", 1, alias="u1"),
        posthog("e3", "$identify", "u1", 2, **{"$anon_distinct_id": "anon-1"}),
        posthog("e4", "report_created", "u1", 30),
    ]
    reader = read_posthog(jsonl(tmp_path / "ph.jsonl", rows))
    assert [e.user_id for e in reader] == ["u1"] * 4
    assert reader.merged == 1


def test_mixpanel_alias_then_identify_is_one_user(tmp_path: Path) -> None:
    records = [
        mixpanel("Sign Up", "anon-1", EPOCH, **{"$insert_id": "i1"}),
        mixpanel("$create_alias", "anon-1", EPOCH + 10, alias="u1", **{"$insert_id": "i2"}),
        mixpanel(
            "$identify",
            "u1",
            EPOCH + 20,
            **{"$anon_distinct_id": "anon-1", "$identified_id": "u1", "$insert_id": "i3"},
        ),
        mixpanel("Report Created", "u1", EPOCH + 7200, **{"$insert_id": "i4"}),
    ]
    reader = read_mixpanel(jsonl(tmp_path / "mp.jsonl", records))
    assert [e.user_id for e in reader] == ["u1"] * 4
    assert reader.merged == 1


def test_a_loop_resolves_to_the_target_of_its_latest_link(tmp_path: Path) -> None:
    # identify first (a -> b), then an alias the other way (b -> a): the latest link
    # points at a.
    rows = [
        posthog("e1", "x", "b", 0),
        posthog("e2", "$identify", "b", 1, **{"$anon_distinct_id": "a"}),
        posthog("e3", "$create_alias", "a", 2, alias="b"),
        posthog("e4", "y", "a", 3),
    ]
    reader = read_posthog(jsonl(tmp_path / "loop.jsonl", rows))
    assert {e.user_id for e in reader} == {"a"}
    # A chain leading into a loop joins it too.
    rows.append(posthog("e5", "$identify", "b", 4, **{"$anon_distinct_id": "c"}))
    rows.append(posthog("e6", "z", "c", 5))
    reader = read_posthog(jsonl(tmp_path / "loop2.jsonl", rows))
    assert {e.user_id for e in reader} == {"a"}
    assert reader.merged == 2  # b and c


# -- 2. a damaged Amplitude archive names the member --------------------------------------


def test_amplitude_zip_crc_mismatch_is_a_read_error_naming_the_member(tmp_path: Path) -> None:
    path = tmp_path / "amp.zip"
    member = "123/123_2026-03-01_8#0.json.gz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, gzip.compress(amplitude_lines(8, 50)))
    data = bytearray(path.read_bytes())
    data[14] ^= 0xFF  # the CRC-32 of the local header
    central = data.rfind(b"PK\x01\x02")
    data[central + 16] ^= 0xFF  # and of the central directory
    path.write_bytes(bytes(data))
    for on_error in ("raise", "skip"):
        with pytest.raises(ReadError, match=f"amp.zip:{member}: could not be read") as info:
            list(read_amplitude(path, on_error=on_error))  # type: ignore[arg-type]
        assert "CRC" in str(info.value)


def test_amplitude_truncated_gzip_member_is_named(tmp_path: Path) -> None:
    path = tmp_path / "amp.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for hour in (7, 8, 9):
            data = gzip.compress(amplitude_lines(hour, 100))
            archive.writestr(f"1/1_2026-03-01_{hour}#0.json.gz", data[:-30] if hour == 8 else data)
    with pytest.raises(
        ReadError, match=r"amp\.zip:1/1_2026-03-01_8#0\.json\.gz: is not a complete"
    ):
        list(read_amplitude(path))


def test_amplitude_damaged_deflated_member_is_not_called_gzip(tmp_path: Path) -> None:
    path = tmp_path / "amp.zip"
    member = "1/1_2026-03-01_8#0.json"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, amplitude_lines(8, 2000))
    info = zipfile.ZipFile(path).getinfo(member)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(member.encode()) + len(info.extra)
    for i in range(start + 200, start + 260):
        data[i] ^= 0x55  # damage the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(ReadError) as caught:
        list(read_amplitude(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:{member}: could not be read from the archive")
    assert "gzip" not in message


# -- 3. PostHog person properties: keep_properties, and file objects ----------------------


def _posthog_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["uuid", "event", "distinct_id", "timestamp", "properties", "person_properties"]
        )
        writer.writerow(
            [
                "e1",
                "signed_up",
                "u1",
                "2026-03-01T09:00:00Z",
                json.dumps({"format": "x", "$browser": "Firefox"}),
                json.dumps({"plan": "pro", "email": "ann@example.com"}),
            ]
        )
    return path


def test_posthog_csv_keep_properties_applies_to_person_properties(tmp_path: Path) -> None:
    path = _posthog_csv(tmp_path / "ph.csv")
    (e,) = read_posthog(path, keep_properties=["format", "plan"])
    assert dict(e.properties) == {"format": "x", "plan": "pro"}


def test_posthog_csv_file_object_reads_person_properties(tmp_path: Path) -> None:
    path = _posthog_csv(tmp_path / "ph.csv")
    with path.open(newline="", encoding="utf-8") as f:
        (e,) = read_posthog(f, format="csv")
    assert dict(e.properties) == {
        "plan": "pro",
        "email": "ann@example.com",
        "format": "x",
        "$browser": "Firefox",
    }
    text = io.StringIO(path.read_text(encoding="utf-8"))
    (e,) = read_posthog(text, format="csv", keep_properties=["email"])
    assert dict(e.properties) == {"email": "ann@example.com"}


def test_posthog_parquet_keep_properties_applies_to_person_properties(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "uuid": ["e1"],
            "event": ["signed_up"],
            "distinct_id": ["u1"],
            "timestamp": ["2026-03-01T09:00:00Z"],
            "properties": [json.dumps({"format": "x", "$browser": "Firefox"})],
            "person_properties": [json.dumps({"plan": "pro", "email": "a@x.com"})],
        }
    )
    path = tmp_path / "ph.parquet"
    pq.write_table(table, path)
    (e,) = read_posthog(path, keep_properties=["format"])
    assert dict(e.properties) == {"format": "x"}
    with path.open("rb") as f:
        (e,) = read_posthog(f, format="parquet")  # type: ignore[arg-type]
    assert dict(e.properties)["plan"] == "pro"


# -- 4. a truncated .gz: sniffed from what can be read; merged events before the damage ----


def _truncated_mixpanel(path: Path, n: int = 1000) -> Path:
    lines = "".join(
        json.dumps(mixpanel("A", f"u{i}", EPOCH, **{"$insert_id": f"i{i}"})) + "\n"
        for i in range(n)
    )
    path.write_bytes(gzip.compress(lines.encode())[:-40])
    return path


def test_sniff_a_truncated_gzip_from_what_can_be_read(tmp_path: Path) -> None:
    path = _truncated_mixpanel(tmp_path / "mp.jsonl.gz")
    assert sniff(path, "jsonl").format == "mixpanel"


def test_merging_reader_yields_the_events_before_the_damage(tmp_path: Path) -> None:
    path = _truncated_mixpanel(tmp_path / "mp.jsonl.gz")
    plain = []
    with pytest.raises(ReadError, match="is not a complete gzip file"):
        plain.extend(read_mixpanel(path, merge_identities=False))
    merged = []
    with pytest.raises(ReadError, match="is not a complete gzip file"):
        merged.extend(read_mixpanel(path))
    assert len(merged) == len(plain) > 900


def test_merging_reader_of_a_truncated_file_object(tmp_path: Path) -> None:
    path = _truncated_mixpanel(tmp_path / "mp.jsonl.gz")
    merged = []
    with (
        gzip.open(path, "rt", encoding="utf-8") as f,
        pytest.raises(ReadError, match="is not a complete gzip file"),
    ):
        merged.extend(read_mixpanel(f))
    assert len(merged) > 900


def test_merging_amplitude_and_segment_yield_the_events_before_the_damage(
    tmp_path: Path,
) -> None:
    amp = tmp_path / "amp.jsonl.gz"
    amp.write_bytes(gzip.compress(amplitude_lines(8, 1000))[:-40])
    events = []
    with pytest.raises(ReadError, match="is not a complete gzip file"):
        events.extend(read_amplitude(amp))
    assert len(events) > 900
    calls = "".join(
        json.dumps(
            {
                "type": "track",
                "userId": f"u{i}",
                "event": "A",
                "messageId": f"m{i}",
                "timestamp": "2026-03-01T09:00:00Z",
            }
        )
        + "\n"
        for i in range(1000)
    )
    seg = tmp_path / "seg.jsonl.gz"
    seg.write_bytes(gzip.compress(calls.encode())[:-40])
    events = []
    with pytest.raises(ReadError, match="is not a complete gzip file"):
        events.extend(read_segment(seg))
    assert len(events) > 900


# -- 5. Amplitude's merged counts devices ------------------------------------------------


def test_amplitude_merged_counts_devices(tmp_path: Path) -> None:
    def row(uuid: str, user: str | None, device: str, amplitude_id: int) -> dict[str, Any]:
        return {
            "event_type": "A",
            "event_time": "2026-03-01 08:00:00.000000",
            "user_id": user,
            "device_id": device,
            "amplitude_id": amplitude_id,
            "uuid": uuid,
        }

    rows = [
        row("a1", None, "d1", 111),
        row("a2", None, "d2", 222),
        row("a3", "u1", "d1", 111),
        row("a4", None, "d3", 222),
        row("a5", "u2", "d4", 222),
    ]
    reader = read_amplitude(jsonl(tmp_path / "amp.jsonl", rows))
    assert [e.user_id for e in reader] == ["u1", "u2", "u1", "u2", "u2"]
    assert reader.merged == 3  # d1, d2 and d3


# -- 6. a Mixpanel group key holding a list ----------------------------------------------


def test_mixpanel_group_key_list_takes_the_first(tmp_path: Path) -> None:
    records = [
        mixpanel("A", "u1", EPOCH, company_id=["acme", "beta"], **{"$insert_id": "i1"}),
        mixpanel("B", "u1", EPOCH, company_id=[], **{"$insert_id": "i2"}),
    ]
    reader = read_mixpanel(jsonl(tmp_path / "mp.jsonl", records), group_key="company_id")
    assert [e.account_id for e in reader] == ["acme", None]


def test_segment_fields_mean_a_segment_export_in_json_only(tmp_path: Path) -> None:
    # The Segment reader reads JSON: a CSV with its columns is a plain CSV to map.
    record = {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m1"}
    record["timestamp"] = "2026-03-01T09:00:00Z"
    assert sniff(jsonl(tmp_path / "s.jsonl", [record]), "jsonl").format == "segment"
    table = tmp_path / "s.csv"
    with table.open("w", newline="", encoding="utf-8") as file:
        out = csv.DictWriter(file, fieldnames=list(record))
        out.writeheader()
        out.writerow(record)
    assert sniff(table, "csv").format is None


def test_a_key_a_mixpanel_record_lacks_is_missing_not_empty(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "mp.jsonl",
        [
            {"event": "A", "properties": {"time": EPOCH, "$insert_id": "x"}},
            {"event": "A", "properties": {"distinct_id": "u1", "$insert_id": "y"}},
            {"event": "A", "properties": {"distinct_id": None, "time": EPOCH}},
        ],
    )
    reader = read_mixpanel(path, on_error="skip")
    assert list(reader) == []
    assert [str(e).split(": ", 1)[1] for e in reader.errors] == [
        "is missing; every event needs a user_id",
        "is missing; every event needs a timestamp",
        "is empty; every event needs a user_id",  # null: there, but empty
    ]


# --------------------------------------------------------------------------- read as plain events


def _vendor_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """A file of each vendor's export, named as plain events, with its format."""
    posthog_csv = tmp_path / "posthog.csv"
    with posthog_csv.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["uuid", "event", "distinct_id", "timestamp"])
        writer.writerow(["a", "signup", "u1", "2026-03-01T09:00:00Z"])
    segment = {
        "type": "track",
        "event": "signup",
        "userId": "u1",
        "messageId": "m1",
        "timestamp": "2026-03-01T09:00:00Z",
    }
    amplitude = {
        "event_type": "signup",
        "event_time": "2026-03-01 09:00:00.000000",
        "user_id": "u1",
        "device_id": "d1",
    }
    return {
        "PostHog CSV": (posthog_csv, "posthog"),
        "PostHog": (
            jsonl(tmp_path / "posthog.jsonl", [posthog("a", "signup", "u1", 0)]),
            "posthog",
        ),
        "Mixpanel": (
            jsonl(tmp_path / "mixpanel.jsonl", [mixpanel("signup", "u1", EPOCH)]),
            "mixpanel",
        ),
        "Segment": (jsonl(tmp_path / "segment.jsonl", [segment]), "segment"),
        "Amplitude": (jsonl(tmp_path / "amplitude.jsonl", [amplitude]), "amplitude"),
    }


VENDORS = ["PostHog CSV", "PostHog", "Mixpanel", "Segment", "Amplitude"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_export_read_as_plain_events_is_told_its_format(
    tmp_path: Path, vendor: str
) -> None:
    # A new user's export, read by its name: "key 'user_id' is missing" said nothing of
    # the format= that reads it.
    path, fmt = _vendor_files(tmp_path)[vendor]
    name = vendor.split()[0]
    with pytest.raises(ReadError) as raised:
        list(read_file(path))
    message = str(raised.value)
    assert f"are those of {'an' if name[0] in 'AEIOU' else 'a'} {name} export: " in message
    assert message.count(f"read it with read_file(path, format={fmt!r})") == 1
    # ... and that format reads it.
    assert [e.name for e in read_file(path, format=fmt)] == ["signup"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_scan_tells_a_vendor_export_its_format_too(tmp_path: Path, vendor: str) -> None:
    pytest.importorskip("duckdb")
    from ttvkit.stores.scan import scan

    path, fmt = _vendor_files(tmp_path)[vendor]
    with pytest.raises(ReadError, match=re.escape(f"read it with read_file(path, format={fmt!r})")):
        scan(path)


def test_plain_events_missing_a_column_get_no_vendor_advice(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "e.jsonl", [{"user": "u1", "name": "a", "timestamp": "2026-03-01"}])
    with pytest.raises(ReadError) as raised:
        list(read_file(path))
    assert str(raised.value).endswith('key "user_id": is missing; every event needs a user_id')


def test_the_command_line_says_the_vendor_format_as_its_option(tmp_path: Path) -> None:
    from ttvkit.cli import main

    path, _ = _vendor_files(tmp_path)["PostHog CSV"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["report", str(path), "--reached", "signup", "--input-format", "csv"])
    assert code == 2
    assert (
        err.getvalue()
        .rstrip()
        .endswith(
            "These columns are those of a PostHog export: read it with --input-format posthog, "
            "or map yours with --columns"
        )
    )


def test_an_anonymous_first_amplitude_row_is_told_its_format(tmp_path: Path) -> None:
    # Amplitude's anonymous events have "user_id": null: the advice was given only for an
    # absent key.
    row = {"event_type": "signup", "event_time": "2026-03-01 09:00:00.000000", "user_id": None}
    path = jsonl(tmp_path / "amplitude.jsonl", [{**row, "device_id": "d1"}])
    with pytest.raises(ReadError) as raised:
        list(read_file(path))
    assert str(raised.value).endswith(
        "is empty; every event needs a user_id; these keys are those of an Amplitude "
        "export: read it with read_file(path, format='amplitude')"
    )


def test_read_file_of_a_directory_says_so(tmp_path: Path) -> None:
    from ttvkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="is a directory: read_file reads one file"):
        read_file(tmp_path)


@pytest.mark.parametrize(
    ("name", "option", "taken"),
    [
        ("x.jsonl", "delimiter", "encoding="),
        ("x.parquet", "encoding", "batch_size="),
        ("x.csv", "batch_size", "delimiter="),
    ],
)
def test_read_file_refuses_an_option_its_reader_does_not_take(
    tmp_path: Path, name: str, option: str, taken: str
) -> None:
    # A JSON file given delimiter= was a TypeError from inside the JSON reader.
    from ttvkit.errors import ConfigurationError

    path = tmp_path / name
    path.write_text("")
    with pytest.raises(ConfigurationError) as raised:
        read_file(path, **{option: ";"})
    message = str(raised.value)
    assert f"reader takes no {option}=; its options are mapping=" in message
    assert taken in message


def test_columns_are_refused_for_a_vendor_export(tmp_path: Path) -> None:
    from ttvkit.cli import main

    path, _ = _vendor_files(tmp_path)["Mixpanel"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(
            [
                "report",
                str(path),
                "--reached",
                "signup",
                "--input-format",
                "mixpanel",
                "--columns",
                "user=zzz,name=yyy",
            ]
        )
    assert code == 2
    assert "--columns is for csv, jsonl and parquet files; the fields of a Mixpanel" in (
        err.getvalue()
    )
