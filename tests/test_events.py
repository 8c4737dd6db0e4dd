"""ValueEvent: validation, normalisation, round trips."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given

from ttvkit import InvalidEventError, ValueEvent
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PROPERTIES_BYTES,
    new_event_id,
    parse_timestamp,
)

from .strategies import properties

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make(**overrides: object) -> ValueEvent:
    fields: dict[str, object] = {"user_id": "u1", "name": "signup", "timestamp": T}
    fields.update(overrides)
    return ValueEvent(**fields)  # type: ignore[arg-type]


class TestTimestamps:
    def test_aware_datetime_is_normalised_to_utc(self) -> None:
        cet = timezone(timedelta(hours=1))
        e = make(timestamp=datetime(2026, 3, 1, 13, 0, tzinfo=cet))
        assert e.timestamp == T
        assert e.timestamp.tzinfo is UTC

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-03-01T12:00:00Z", T),
            ("2026-03-01T14:00:00+02:00", T),
            ("2026-03-01 12:00:00.250000+00:00", T + timedelta(milliseconds=250)),
            ("  2026-03-01T12:00Z  ", T),
        ],
    )
    def test_iso_strings_with_offsets_parse(self, text: str, expected: datetime) -> None:
        assert make(timestamp=text).timestamp == expected

    def test_epoch_seconds_parse(self) -> None:
        assert make(timestamp=T.timestamp()).timestamp == T
        assert make(timestamp=int(T.timestamp())).timestamp == T

    @pytest.mark.parametrize(
        ("value", "fragment"),
        [
            (datetime(2026, 3, 1, 12), "naive datetime"),
            ("2026-03-01T12:00:00", "no UTC offset"),
            ("yesterday", "not an ISO-8601"),
            ("", "not an ISO-8601"),
            (math.nan, "not a finite"),
            (math.inf, "not a finite"),
            (1e20, "out of range"),
            (1.7e12, "not milliseconds"),  # milliseconds by mistake
            (-5, "outside the supported range"),
            (True, "not bool"),
            (date(2026, 3, 1), "date without a time"),
            (None, "not NoneType"),
        ],
    )
    def test_bad_timestamps_are_rejected_with_the_field_named(
        self, value: object, fragment: str
    ) -> None:
        with pytest.raises(InvalidEventError, match="timestamp") as info:
            make(timestamp=value)
        assert fragment in str(info.value)

    @pytest.mark.parametrize(
        ("value", "shown"),
        [
            (datetime(2026, 3, 1, 12), "timestamp=2026-03-01T12:00:00: "),
            (date(2026, 3, 1), "timestamp=2026-03-01: "),
            (datetime(1969, 12, 31, 23, tzinfo=UTC), "timestamp=1969-12-31T23:00:00+00:00: "),
        ],
    )
    def test_dates_and_times_are_shown_in_iso_8601(self, value: object, shown: str) -> None:
        # Not as datetime.datetime(1969, 12, 31, 23, 0, tzinfo=datetime.timezone.utc),
        # which is what a command line user was shown.
        with pytest.raises(InvalidEventError) as info:
            make(timestamp=value)
        assert str(info.value).startswith(shown)

    def test_error_is_a_value_error_too(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            parse_timestamp(datetime(2026, 1, 1))


class TestIdsAndNames:
    @pytest.mark.parametrize("field", ["user_id", "name", "account_id", "event_id"])
    @pytest.mark.parametrize("value", ["", "   ", "\t\n", 42, b"bytes"])
    def test_empty_or_non_str_rejected(self, field: str, value: object) -> None:
        with pytest.raises(InvalidEventError, match=field):
            make(**{field: value})

    def test_length_limits(self) -> None:
        assert make(name="n" * MAX_NAME_LENGTH).name == "n" * MAX_NAME_LENGTH
        with pytest.raises(InvalidEventError, match="limit is 200"):
            make(name="n" * (MAX_NAME_LENGTH + 1))
        with pytest.raises(InvalidEventError, match=f"limit is {MAX_ID_LENGTH}"):
            make(user_id="u" * (MAX_ID_LENGTH + 1))

    @pytest.mark.parametrize("bad", ["a\x00b", "\ud800"])
    def test_unstorable_characters_rejected(self, bad: str) -> None:
        with pytest.raises(InvalidEventError, match="user_id"):
            make(user_id=bad)
        with pytest.raises(InvalidEventError, match="properties"):
            make(properties={"k": bad})
        with pytest.raises(InvalidEventError, match="properties"):
            make(properties={bad: 1})

    def test_hostile_but_storable_strings_are_kept_verbatim(self) -> None:
        name = "'; DROP TABLE events; -- é🚀"
        assert make(name=name).name == name

    def test_generated_event_ids_are_unique(self) -> None:
        ids = {new_event_id() for _ in range(10_000)}
        assert len(ids) == 10_000
        assert make().event_id != make().event_id

    def test_forked_child_generates_different_ids(self) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.write(write, new_event_id().encode())
            os._exit(0)
        os.waitpid(pid, 0)
        child_id = os.read(read, 100).decode()
        os.close(read)
        os.close(write)
        parent_id = new_event_id()
        assert child_id[:20] != parent_id[:20]


class TestProperties:
    def test_json_values_accepted_and_copied(self) -> None:
        source = {
            "plan": "pro",
            "seats": 3,
            "ratio": 0.5,
            "trial": False,
            "note": None,
            "tags": ["a", 1],
            "nested": {"k": [True]},
        }
        e = make(properties=source)
        source["plan"] = "changed"
        source["tags"].append("x")  # type: ignore[attr-defined]
        assert e.properties["plan"] == "pro"
        assert e.properties["tags"] == ["a", 1]

    def test_properties_are_read_only(self) -> None:
        e = make(properties={"a": 1})
        with pytest.raises(TypeError):
            e.properties["a"] = 2  # type: ignore[index]

    @pytest.mark.parametrize(
        ("props", "fragment"),
        [
            ({"x": math.nan}, "not finite"),
            ({"x": [math.inf]}, "not finite"),
            ({"x": object()}, "not a JSON value"),
            # the key is shown as the key (it read "properties=1: has a key of type int")
            ({"x": {1: "a"}}, "properties['x'] has the key 1, of type int; keys must be str"),
            ({1: "a"}, "properties has the key 1, of type int; keys must be str"),
            ({"x": 2**70}, "64 bits"),
            ({"x": {1, 2}}, "not a JSON value"),
            (["not", "a", "mapping"], "must be a mapping"),
        ],
    )
    def test_non_json_rejected(self, props: object, fragment: str) -> None:
        with pytest.raises(InvalidEventError, match="properties") as info:
            make(properties=props)
        assert fragment in str(info.value)

    def test_size_limit(self) -> None:
        ok = {"blob": "x" * (MAX_PROPERTIES_BYTES - 20)}
        assert make(properties=ok).properties["blob"] == ok["blob"]
        with pytest.raises(InvalidEventError, match=f"limit is {MAX_PROPERTIES_BYTES}"):
            make(properties={"blob": "x" * MAX_PROPERTIES_BYTES})

    def test_size_limit_counts_utf8_bytes(self) -> None:
        # 3 bytes per character in UTF-8: fewer characters than the limit, too many bytes
        with pytest.raises(InvalidEventError, match="bytes"):
            make(properties={"blob": "漢" * (MAX_PROPERTIES_BYTES // 2)})

    @given(properties)
    def test_any_generated_properties_round_trip_through_json(self, props: dict) -> None:  # type: ignore[type-arg]
        e = make(properties=props)
        assert json.loads(json.dumps(e.to_dict()))["properties"] == props


class TestMappingRoundTrip:
    def test_to_dict_and_from_mapping_round_trip(self) -> None:
        e = make(properties={"plan": "pro"}, account_id="acme", event_id="e-1")
        d = e.to_dict()
        assert d == {
            "event_id": "e-1",
            "user_id": "u1",
            "account_id": "acme",
            "name": "signup",
            "timestamp": "2026-03-01T12:00:00+00:00",
            "properties": {"plan": "pro"},
        }
        assert ValueEvent.from_mapping(json.loads(json.dumps(d))) == e

    def test_unknown_keys_rejected(self) -> None:
        with pytest.raises(InvalidEventError, match="unknown keys"):
            ValueEvent.from_mapping({"user_id": "u", "name": "n", "timestamp": T, "usr": "x"})

    def test_missing_keys_rejected(self) -> None:
        with pytest.raises(InvalidEventError, match="lacks timestamp"):
            ValueEvent.from_mapping({"user_id": "u", "name": "n"})

    def test_events_are_immutable_and_hash_by_id(self) -> None:
        e = make(event_id="same")
        with pytest.raises(AttributeError):
            e.name = "other"  # type: ignore[misc]
        assert hash(e) == hash(make(event_id="same", name="other"))
        assert len({e, make(event_id="same")}) == 1


def test_size_limit_holds_for_flat_ascii_with_escapes() -> None:
    # 64 control characters per value escape to 6 bytes each in JSON
    props = {f"k{i}": "\x01" * 200 for i in range(60)}
    with pytest.raises(InvalidEventError, match="bytes"):
        make(properties=props)
    small = {f"k{i}": "\x01" * 10 for i in range(10)}
    assert make(properties=small).properties == small


def test_numpy_scalars_are_the_json_values_they_hold() -> None:
    # df["seats"].max() is an np.int64: it was "is a int64, not a JSON value" in
    # properties, and refused as a time, a bound, a where value, nth's k and a target.
    import numpy as np

    import ttvkit as ttv

    e = make(
        properties={
            "n": np.int64(3),
            "b": np.bool_(True),
            "f": np.float32(1.5),
            "nested": [np.uint8(2), {"x": np.int16(-1)}],
        }
    )
    assert e.properties == {"n": 3, "b": True, "f": 1.5, "nested": [2, {"x": -1}]}
    assert [type(v) for v in e.properties.values()][:3] == [int, bool, float]
    assert make(timestamp=np.int64(1772355600)).timestamp == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert ttv.gt(np.int64(3)) == ttv.gt(3)
    assert ttv.event("x", where={"seats": np.int64(3)}) == ttv.event("x", where={"seats": 3})
    assert ttv.event("x").nth(np.int64(3)) == ttv.event("x").nth(3)
    assert ttv.total("x", "a", at_least=np.int64(10)) == ttv.total("x", "a", at_least=10)
    assert ttv.one_of(np.int64(1), np.bool_(False)) == ttv.one_of(1, False)
    with pytest.raises(InvalidEventError, match="is of type datetime64, not a JSON value"):
        make(properties={"d": np.datetime64("2026-01-01")})
    # a longdouble's item() is a longdouble: refused, not recursed into for ever
    with pytest.raises(InvalidEventError, match="is of type longdouble, not a JSON value"):
        make(properties={"x": np.longdouble(1.5)})
    with pytest.raises(InvalidEventError, match="not longdouble"):
        make(timestamp=np.longdouble(1772355600))


def test_a_pandas_timestamp_is_a_plain_utc_datetime_cut_to_microseconds() -> None:
    # Its nanoseconds were kept: a list of events gave a start after the end (and
    # other answers than the same frame read by a reader or a store, which cut them).
    import pandas as pd

    stamp = pd.Timestamp("2026-03-01 10:00:00.0000005", tz="Europe/Berlin")
    e = make(timestamp=stamp)
    assert type(e.timestamp) is datetime
    assert e.timestamp == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert e.timestamp.tzinfo is UTC
    with pytest.raises(InvalidEventError, match=r"timestamp=NaT: is missing \(NaT\)"):
        make(timestamp=pd.NaT)


def test_records_of_a_dataframe_read_empty_cells_as_missing_and_errors_name_the_item() -> None:
    # df.to_dict("records") writes NaN for an empty cell: account_id=nan "must be a str";
    # and no message said which of the records was bad.
    import numpy as np
    import pandas as pd

    import ttvkit as ttv

    row = {"user_id": "u1", "name": "signup", "timestamp": T}
    for empty in (np.nan, float("nan"), pd.NaT, pd.NA, None):
        e = ValueEvent.from_mapping({**row, "account_id": empty, "properties": empty})
        assert (e.account_id, dict(e.properties)) == (None, {})
        assert ValueEvent.from_mapping({**row, "event_id": empty}).event_id
    with pytest.raises(InvalidEventError, match="user_id=nan: must be a str"):
        ValueEvent.from_mapping({**row, "user_id": np.nan})  # required: not missing
    records = [row, {**row, "user_id": " "}]
    milestone = ttv.Milestone("m", "signup")
    with pytest.raises(InvalidEventError, match=r"^source item 1: user_id=' ': must not be"):
        ttv.time_to_value(records, milestone)
    with pytest.raises(InvalidEventError, match=r"^source item 1: row has unknown keys 'plan'; "):
        ttv.time_to_value([row, {**row, "plan": "pro"}], milestone)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-02-29T09:00:00Z", "day is out of range for month"),
        ("2026-01-01T25:00:00Z", "hour must be in 0..23"),
        ("2026-01-01T09:00:00+25:00", "Invalid hours in time zone offset"),
    ],
)
def test_an_impossible_date_is_told_apart_from_text_that_is_no_timestamp(
    text: str, reason: str
) -> None:
    # 2026-02-29 was "is not an ISO-8601 timestamp": it is one, of a day that does not exist.
    with pytest.raises(InvalidEventError) as raised:
        make(timestamp=text)
    assert str(raised.value) == f"timestamp={text!r}: is no valid date and time ({reason})"
    with pytest.raises(InvalidEventError, match=r"is not an ISO-8601 timestamp, e\.g\."):
        make(timestamp="yesterday")
