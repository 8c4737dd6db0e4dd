"""Mixpanel's raw event export and Amplitude's export, read in their vendors' layouts:
fields, time zones and units, identities merged, groups, bad rows, archives, and the
command line recognising both."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_cli import assert_user_error, ok, ttvkit
from ttvkit.errors import ConfigurationError
from ttvkit.io import ReadError, read_amplitude, read_file, read_mixpanel, sniff

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
EPOCH = int(T.timestamp())


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def mixpanel(event: str, user: str, seconds: float, **properties: Any) -> dict[str, Any]:
    return {"event": event, "properties": {"distinct_id": user, "time": seconds, **properties}}


def amplitude(event: str, user: str | None, when: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_type": event,
        "event_time": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "user_id": user,
        **fields,
    }


# --------------------------------------------------------------------------- Mixpanel


def test_a_mixpanel_time_out_of_range_is_shown_as_the_time_it_was_read_as(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixpanel.jsonl"
    row = mixpanel("signup", "u1", 0)
    row["properties"]["time"] = 99_999_999_999_999  # epoch milliseconds, year 5138
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ReadError) as info:
        list(read_mixpanel(path))
    assert str(info.value) == (
        f'{path} line 1, key "properties.time": 5138-11-16T09:46:39.999000+00:00 is outside '
        "the supported range 1970-01-01T00:00:00+00:00 to 2200-01-01T00:00:00+00:00"
    )


def test_mixpanel_fields(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "export.jsonl",
        [
            mixpanel(
                "Signed Up", "u1", EPOCH, **{"$insert_id": "i1", "token": "secret", "plan": "pro"}
            )
        ],
    )
    (e,) = read_mixpanel(path)
    assert (e.user_id, e.name, e.timestamp, e.event_id) == ("u1", "Signed Up", T, "i1")
    assert dict(e.properties) == {"plan": "pro"}  # the project token and Mixpanel's own left out


def test_mixpanel_time_in_milliseconds_and_fractions(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "export.jsonl",
        [
            mixpanel("a", "u1", EPOCH * 1000 + 250),
            mixpanel("b", "u1", EPOCH + 0.25),
        ],
    )
    first, second = read_mixpanel(path, merge_identities=False)
    assert first.timestamp == second.timestamp == T + timedelta(milliseconds=250)


def test_mixpanel_project_timezone_reads_wall_clock_seconds(tmp_path: Path) -> None:
    # A project created before 2023 in US/Pacific: `time` counts Pacific wall-clock seconds.
    wall = datetime(2022, 7, 1, 9, 30)
    seconds = int(wall.replace(tzinfo=UTC).timestamp())
    path = jsonl(tmp_path / "export.jsonl", [mixpanel("a", "u1", seconds)])
    (utc,) = read_mixpanel(path)
    (pacific,) = read_mixpanel(path, project_timezone=ZoneInfo("America/Los_Angeles"))
    assert utc.timestamp == wall.replace(tzinfo=UTC)
    assert pacific.timestamp == datetime(2022, 7, 1, 16, 30, tzinfo=UTC)  # PDT is UTC-7
    with pytest.raises(ConfigurationError, match="project_timezone=None"):
        read_mixpanel(path, project_timezone=None)  # type: ignore[arg-type]


def test_mixpanel_identities_merge(tmp_path: Path) -> None:
    records = [
        # Original ID Merge: $identify links the anonymous id to the identified one.
        mixpanel("Signed Up", "anon-1", EPOCH),
        mixpanel(
            "$identify",
            "alice",
            EPOCH + 1,
            **{"$anon_distinct_id": "anon-1", "$identified_id": "alice"},
        ),
        # An alias: events sent under the alias are the original id's.
        mixpanel("$create_alias", "bob", EPOCH + 2, alias="bob@example.com"),
        mixpanel("Report Created", "bob@example.com", EPOCH + 3),
        # Simplified ID Merge: an event with $device_id and $user_id claims the device.
        mixpanel("Signed Up", "$device:d9", EPOCH + 4, **{"$device_id": "d9"}),
        mixpanel("Login", "carol", EPOCH + 5, **{"$device_id": "d9", "$user_id": "carol"}),
    ]
    path = jsonl(tmp_path / "export.jsonl", records)
    reader = read_mixpanel(path)
    users = [e.user_id for e in reader]
    assert users == ["alice", "alice", "bob", "bob", "carol", "carol"]
    assert reader.merged == 3
    apart = [e.user_id for e in read_mixpanel(path, merge_identities=False)]
    assert apart == ["anon-1", "alice", "bob", "bob@example.com", "$device:d9", "carol"]
    # A file object is read once, held, and merged the same way.
    with path.open(encoding="utf-8") as file:
        assert [e.user_id for e in read_mixpanel(file)] == users


def test_mixpanel_keep_properties_drops_the_links_after_merging(tmp_path: Path) -> None:
    records = [
        mixpanel("Signed Up", "anon-1", EPOCH, plan="free", browser="x"),
        mixpanel("$identify", "alice", EPOCH + 1, **{"$anon_distinct_id": "anon-1"}),
    ]
    events = list(read_mixpanel(jsonl(tmp_path / "e.jsonl", records), keep_properties=["plan"]))
    assert [e.user_id for e in events] == ["alice", "alice"]
    assert [dict(e.properties) for e in events] == [{"plan": "free"}, {}]


def test_mixpanel_group_key_is_the_account(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "e.jsonl", [mixpanel("a", "u1", EPOCH, company_id="acme")])
    (e,) = read_mixpanel(path, group_key="company_id")
    assert e.account_id == "acme"
    with pytest.raises(ConfigurationError, match="group_key="):
        read_mixpanel(path, group_key="")


def test_mixpanel_bad_rows_say_where_and_skip(tmp_path: Path) -> None:
    records: list[Any] = [
        {"event": "a", "properties": ["not", "an", "object"]},
        {"event": "a", "properties": {"time": EPOCH}},
        mixpanel("a", "u1", True),
        mixpanel("a", "u1", "yesterday"),
        [1, 2],
        mixpanel("ok", "u1", EPOCH),
    ]
    path = jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(
        ReadError, match=r'line 1, key "properties": is a JSON array, not a JSON object'
    ):
        list(read_mixpanel(path))
    reader = read_mixpanel(path, on_error="skip")
    assert [e.name for e in reader] == ["ok"]
    assert reader.skipped == 5
    assert 'key "properties.distinct_id"' in str(reader.errors[1])
    assert 'key "properties.time"' in str(reader.errors[2])


# --------------------------------------------------------------------------- Amplitude


def test_amplitude_fields_and_user_properties(tmp_path: Path) -> None:
    record = amplitude(
        "Report Created",
        "u1",
        T,
        uuid="6f0c",
        device_id="d1",
        event_properties={"n": 1, "plan": "event's own"},
        user_properties={"plan": "pro", "country": "DE"},
    )
    path = jsonl(tmp_path / "export.json", [record])
    (e,) = read_amplitude(path)
    assert (e.user_id, e.name, e.timestamp, e.event_id) == ("u1", "Report Created", T, "6f0c")
    assert dict(e.properties) == {"n": 1, "plan": "event's own", "country": "DE"}
    (bare,) = read_amplitude(path, user_properties=False)
    assert dict(bare.properties) == {"n": 1, "plan": "event's own"}
    with pytest.raises(ReadError, match="has no UTC offset"):
        list(read_amplitude(path, assume_timezone=None))
    (berlin,) = read_amplitude(path, assume_timezone=ZoneInfo("Europe/Berlin"))
    assert berlin.timestamp == T - timedelta(hours=1)


def test_amplitude_insert_id_when_there_is_no_uuid(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "e.json", [amplitude("a", "u1", T, **{"$insert_id": "ins-1"})])
    assert next(iter(read_amplitude(path))).event_id == "ins-1"


def test_amplitude_devices_merge_into_their_users(tmp_path: Path) -> None:
    records = [
        amplitude("Sign Up", None, T, device_id="d1", amplitude_id=11),
        amplitude("Login", "alice", T + timedelta(minutes=5), device_id="d1", amplitude_id=11),
        # Another device of the same Amplitude user: linked through amplitude_id.
        amplitude("Open", None, T, device_id="d2", amplitude_id=11),
        amplitude("Open", None, T, device_id="d3", amplitude_id=33),  # never logged in
    ]
    path = jsonl(tmp_path / "e.json", records)
    reader = read_amplitude(path)
    assert [e.user_id for e in reader] == ["alice", "alice", "alice", "d3"]
    assert reader.merged == 2
    apart = [e.user_id for e in read_amplitude(path, merge_identities=False)]
    assert apart == ["d1", "alice", "d2", "d3"]


def test_amplitude_group_type_is_the_account(tmp_path: Path) -> None:
    records = [
        amplitude("a", "u1", T, groups={"company": ["acme", "other"]}),
        amplitude("a", "u2", T, groups={"company": "initech"}),
        amplitude("a", "u3", T, groups={}),
    ]
    path = jsonl(tmp_path / "e.json", records)
    assert [e.account_id for e in read_amplitude(path, group_type="company")] == [
        "acme",
        "initech",
        None,
    ]


def test_amplitude_bad_rows_and_a_bad_user_property(tmp_path: Path) -> None:
    deep: Any = "x"
    for _ in range(100):
        deep = {"k": deep}
    records = [
        amplitude("a", None, T),  # no user, no device
        amplitude("a", "u1", T, user_properties={"deep": deep}, event_properties={"n": 1}),
    ]
    path = jsonl(tmp_path / "e.json", records)
    reader = read_amplitude(path, on_error="skip")
    (e,) = reader
    assert dict(e.properties) == {"n": 1}  # the user property ttvkit cannot store is left out
    assert reader.skipped == 1
    assert 'key "user_id": is missing, and so is device_id' in str(reader.errors[0])


def zip_export(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_amplitude_zip_archive_is_read_member_by_member(tmp_path: Path) -> None:
    first = [amplitude("a", "u1", T, uuid="1"), amplitude("b", "u1", T, uuid="2")]
    second = [amplitude("c", "u2", T, uuid="3")]
    lines = [("".join(json.dumps(r) + "\n" for r in part)).encode() for part in (first, second)]
    path = zip_export(
        tmp_path / "export.zip",
        {
            "42/42_2026-03-01_13#0.json.gz": gzip.compress(lines[1]),
            "42/42_2026-03-01_12#0.json.gz": gzip.compress(lines[0]),
        },
    )
    assert [e.event_id for e in read_amplitude(path)] == ["1", "2", "3"]  # in name order
    assert [e.event_id for e in read_file(path, format="amplitude")] == ["1", "2", "3"]


def test_a_damaged_amplitude_archive_is_one_error(tmp_path: Path) -> None:
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"plain text")
    with pytest.raises(ReadError, match="is not a readable zip archive"):
        list(read_amplitude(not_zip))
    cut = gzip.compress(b'{"event_type": "a"}\n' * 50)[:-20]
    truncated = zip_export(tmp_path / "cut.zip", {"42/x.json.gz": cut})
    with pytest.raises(ReadError, match="is not a complete gzip file"):
        list(read_amplitude(truncated, on_error="skip"))
    bad_line = zip_export(tmp_path / "line.zip", {"42/x.json": b"{oops\n"})
    with pytest.raises(ReadError, match=r"line\.zip:42/x\.json line 1"):
        list(read_amplitude(bad_line))


# --------------------------------------------------------------------------- round trips

_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
)
_scalars = st.one_of(st.booleans(), st.integers(-(2**53), 2**53), _names)
_rows = st.lists(
    st.tuples(
        _names.filter(lambda s: s.strip() == s),
        _names.filter(lambda s: s.strip() == s),
        st.integers(0, 3_000_000_000),
        st.dictionaries(_names.filter(lambda k: not k.startswith("$")), _scalars, max_size=3),
    ),
    max_size=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows)
def test_what_each_vendor_writes_reads_back(
    rows: list[tuple[str, str, int, dict[str, Any]]],
) -> None:
    expected = [
        (user, name, datetime.fromtimestamp(seconds, UTC), str(i), properties)
        for i, (user, name, seconds, properties) in enumerate(rows)
    ]
    mixpanel_file = io.StringIO(
        "".join(
            json.dumps(
                {
                    "event": name,
                    "properties": {
                        **{
                            k: v
                            for k, v in props.items()
                            if k not in ("distinct_id", "time", "token")
                        },
                        "distinct_id": user,
                        "time": seconds,
                        "$insert_id": str(i),
                    },
                }
            )
            + "\n"
            for i, (user, name, seconds, props) in enumerate(rows)
        )
    )
    got = [
        (e.user_id, e.name, e.timestamp, e.event_id, dict(e.properties))
        for e in read_mixpanel(mixpanel_file, merge_identities=False)
    ]
    assert got == [
        (u, n, t, i, {k: v for k, v in p.items() if k not in ("distinct_id", "time", "token")})
        for u, n, t, i, p in expected
    ]
    amplitude_file = io.StringIO(
        "".join(
            json.dumps(
                amplitude(
                    name,
                    user,
                    datetime.fromtimestamp(seconds, UTC),
                    uuid=str(i),
                    event_properties=props,
                )
            )
            + "\n"
            for i, (user, name, seconds, props) in enumerate(rows)
        )
    )
    got = [
        (e.user_id, e.name, e.timestamp, e.event_id, dict(e.properties))
        for e in read_amplitude(amplitude_file, merge_identities=False)
    ]
    assert got == expected


# --------------------------------------------------------------------------- recognised


def test_sniff_recognises_both_in_json_only(tmp_path: Path) -> None:
    mp = jsonl(tmp_path / "mp.jsonl", [mixpanel("a", "u1", EPOCH)])
    amp = jsonl(tmp_path / "amp.json", [amplitude("a", "u1", T, device_id="d", amplitude_id=1)])
    assert sniff(mp, "jsonl").format == "mixpanel"
    assert sniff(amp, "jsonl").format == "amplitude"
    csv = tmp_path / "amp.csv"
    csv.write_text("user_id,device_id,event_type,event_time\n", encoding="utf-8")
    assert sniff(csv, "csv").format is None  # no CSV reader for Amplitude: the mapping's job
    plain = jsonl(tmp_path / "plain.jsonl", [{"event": "a", "properties": {"x": 1}}])
    assert sniff(plain, "jsonl").format is None


def test_cli_reads_both_and_says_so(tmp_path: Path) -> None:
    records = [
        mixpanel("Sign Up", "u1", EPOCH, company_id="acme"),
        mixpanel("Report Created", "u1", EPOCH + 3600),
        mixpanel("Sign Up", "u2", EPOCH),
    ]
    jsonl(tmp_path / "mixpanel.jsonl", records)
    args = ["--start", "Sign Up", "--reached", "Report Created", "--format", "json"]
    result = ok(ttvkit("report", "mixpanel.jsonl", *args, "--cohorts", "none", cwd=tmp_path))
    assert "has the fields of a Mixpanel export" in result.stderr
    report = json.loads(result.stdout)
    assert report["facts"]["format"] == "Mixpanel export (recognised from its fields)"
    first = report["sections"][1]["result"]
    assert (first["n"], first["n_reached"], first["median_seconds"]) == (2, 1, 3600.0)
    # --timezone is Mixpanel's project zone: the times move, the durations do not.
    shifted = ok(ttvkit("report", "mixpanel.jsonl", *args, "--timezone", "+02:00", cwd=tmp_path))
    as_of = json.loads(shifted.stdout)["sections"][1]["result"]["as_of"]
    assert datetime.fromisoformat(as_of) == T + timedelta(hours=1) - timedelta(hours=2)

    data = "".join(
        json.dumps(r) + "\n"
        for r in [
            amplitude("Sign Up", None, T, device_id="d1", groups={"company": ["acme"]}),
            amplitude("Report Created", "alice", T + timedelta(hours=2), device_id="d1"),
        ]
    )
    zip_export(
        tmp_path / "export.zip", {"1/1_2026-03-01_12#0.json.gz": gzip.compress(data.encode())}
    )
    result = ok(ttvkit("report", "export.zip", *args, "--cohorts", "none", cwd=tmp_path))
    assert "reading it as an Amplitude export" in result.stderr
    assert "1 anonymous id merged" in result.stderr
    first = json.loads(result.stdout)["sections"][1]["result"]
    assert (first["n"], first["n_reached"], first["median_seconds"]) == (1, 1, 7200.0)
    assert_user_error(
        ttvkit(
            "report",
            "export.zip",
            *args,
            "--input-format",
            "amplitude",
            "--timestamp-unit",
            "ms",
            cwd=tmp_path,
        ),
        "--timestamp-unit is for csv, jsonl and parquet files",
    )
