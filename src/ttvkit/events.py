"""Value events: what a customer did, when, and with which properties.

A :class:`ValueEvent` is immutable and always valid: its timestamp is an
aware ``datetime`` in UTC, its ids and name are non-empty strings within the
documented limits, and its properties are JSON values. Everything that can be
wrong with an event is caught here, before it reaches a store, and raised as
:class:`~ttvkit.errors.InvalidEventError` naming the field and the value.

Limits (module constants, documented in ``docs/concepts.md``):

* ids (``user_id``, ``account_id``, ``event_id``) and ``name``: at most
  :data:`MAX_ID_LENGTH` / :data:`MAX_NAME_LENGTH` characters, no NUL
  character (PostgreSQL cannot store one), valid Unicode;
* properties: a mapping of ``str`` keys to JSON values (``str``, finite
  ``int``/``float``, ``bool``, ``None``, lists and ``str``-keyed dicts),
  integers within 64 bits, at most :data:`MAX_PROPERTIES_BYTES` once
  serialised as UTF-8 JSON, nested at most :data:`MAX_PROPERTIES_DEPTH`
  levels deep (a structure that contains itself is too deep);
* timestamps: between :data:`MIN_TIMESTAMP` and :data:`MAX_TIMESTAMP`.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import types
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final, TypeAlias

import attrs
from dateutil.parser import isoparse

from ttvkit._fork import at_fork
from ttvkit._json import compact, from_numpy
from ttvkit.errors import InvalidEventError

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PROPERTIES_BYTES",
    "MAX_PROPERTIES_DEPTH",
    "MAX_TIMESTAMP",
    "MIN_TIMESTAMP",
    "JSONScalar",
    "JSONValue",
    "Properties",
    "TimestampLike",
    "ValueEvent",
    "check_text",
    "checked_event",
    "new_event_id",
    "parse_timestamp",
    "shown_value",
    "trusted_event",
    "validate_properties",
]

JSONScalar: TypeAlias = str | int | float | bool | None
JSONValue: TypeAlias = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]
Properties: TypeAlias = Mapping[str, JSONValue]
TimestampLike: TypeAlias = datetime | str | int | float

MAX_ID_LENGTH: Final = 256
MAX_NAME_LENGTH: Final = 200
MAX_PROPERTIES_BYTES: Final = 64 * 1024
MAX_PROPERTIES_DEPTH: Final = 64
MIN_TIMESTAMP: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP: Final = datetime(2200, 1, 1, tzinfo=UTC)

_INT64_MAX: Final = 2**63 - 1
_EMPTY: Final[Mapping[str, JSONValue]] = types.MappingProxyType({})


# Generated ids: a random per-process prefix and a counter. Cheaper than
# uuid4 on the track() path, unique across processes, and re-seeded in a
# forked child so parent and child never hand out the same id.
def _new_prefix() -> str:
    return os.urandom(10).hex()


_id_prefix = _new_prefix()
_id_counter = itertools.count()


def _reseed_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = _new_prefix()
    _id_counter = itertools.count()


at_fork(after_in_child=_reseed_ids)


def new_event_id() -> str:
    """Return a new unique event id (32 hex characters)."""
    return f"{_id_prefix}{next(_id_counter):012x}"


def shown_value(value: object) -> str:
    """*value* as an error message shows it: a date or time in ISO 8601
    (``5138-11-16T09:46:39+00:00``), anything else as its repr, cut to 80 characters."""
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        # An int over sys.get_int_max_str_digits() digits, or a structure
        # too deep for repr(): name the type instead of showing the value.
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(field: str, value: object, problem: str) -> InvalidEventError:
    if len(field) > 120:  # the path into a deeply nested property
        field = f"{field[:60]}...{field[-57:]}"
    return InvalidEventError(f"{field}={shown_value(value)}: {problem}")


def check_text(field: str, value: object, limit: int) -> str:
    """*value* as an id or name of at most *limit* characters, or InvalidEventError naming
    *field* (the readers check a column with it before they build an event)."""
    if not isinstance(value, str):
        raise _fail(field, value, f"must be a str, not {type(value).__name__}")
    if not value or value.isspace():
        raise _fail(field, value, "must not be empty or only whitespace")
    if len(value) > limit:
        raise _fail(field, value, f"is {len(value)} characters long; the limit is {limit}")
    _check_storable(field, value)
    return value


def _check_storable(field: str, value: str) -> None:
    if "\x00" in value:
        raise _fail(field, value, "contains a NUL character, which no store can keep; remove it")
    if value.isascii():  # no surrogates possible: skip the encode on the hot path
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(
            field, value, "contains a lone surrogate and is not valid Unicode; re-encode it"
        ) from None


def parse_timestamp(value: object, *, field: str = "timestamp") -> datetime:
    """Return *value* as an aware ``datetime`` in UTC.

    Accepts an aware ``datetime``, an ISO-8601 string with an offset (parsed
    by :func:`dateutil.parser.isoparse`), or epoch seconds (``int`` or
    ``float``). Naive datetimes and strings without an offset are rejected,
    never guessed.
    """
    # The track() hot path: datetime.now(UTC) needs no conversion.
    if type(value) is datetime and value.tzinfo is UTC and MIN_TIMESTAMP <= value < MAX_TIMESTAMP:
        return value
    if isinstance(value, datetime):
        if value != value:  # pandas' NaT: a missing time, not a naive one
            raise _fail(field, value, "is missing (NaT); every event needs a time")
        if value.tzinfo is None or value.utcoffset() is None:
            raise _fail(
                field,
                value,
                "is a naive datetime; pass an aware one, e.g. datetime.now(timezone.utc)",
            )
        result = _to_utc(value, field)
        if type(result) is not datetime:
            # a pandas Timestamp: a plain datetime, its nanoseconds cut as every
            # store and reader cuts them (the same events give the same answers)
            result = datetime(
                result.year,
                result.month,
                result.day,
                result.hour,
                result.minute,
                result.second,
                result.microsecond,
                tzinfo=UTC,
            )
    elif isinstance(value, str):
        try:
            parsed = isoparse(value.strip())
        except (ValueError, OverflowError) as exc:
            reason = str(exc)
            if _ISO_DATE.match(value.strip()) and (
                "out of range" in reason or " must be in " in reason or "Invalid" in reason
            ):
                # 2026-02-29: written as ISO 8601, but no such date (or time, or offset)
                raise _fail(field, value, f"is no valid date and time ({reason})") from None
            raise _fail(
                field, value, "is not an ISO-8601 timestamp, e.g. '2026-01-31T09:30:00Z'"
            ) from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise _fail(
                field,
                value,
                "has no UTC offset; add one, e.g. 'Z' or '+02:00', instead of guessing",
            )
        result = _to_utc(parsed, field, value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(field, value, "is not a finite number of epoch seconds")
        try:
            result = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise _fail(
                field,
                value,
                "is out of range as epoch seconds; check the unit (seconds, not milliseconds?)",
            ) from None
    elif isinstance(value, date):
        raise _fail(field, value, "is a date without a time; pass an aware datetime")
    elif from_numpy(value) is not value:  # np.int64 epoch seconds
        return parse_timestamp(from_numpy(value), field=field)
    else:
        raise _fail(
            field,
            value,
            f"must be an aware datetime, an ISO-8601 string or epoch seconds, "
            f"not {type(value).__name__}",
        )
    if not MIN_TIMESTAMP <= result < MAX_TIMESTAMP:
        raise _fail(
            field,
            value,
            f"is outside the supported range {MIN_TIMESTAMP.isoformat()} to "
            f"{MAX_TIMESTAMP.isoformat()}; check the unit (seconds, not milliseconds?)",
        )
    return result


# The start of an ISO-8601 date in the extended form (2026-02-29): text that is one,
# when isoparse finds no such date, is told apart from text that is none.
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _to_utc(value: datetime, field: str, shown: object = None) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59-14:00 or 0001-01-01T00:00+14:00: no UTC datetime exists.
        raise _fail(
            field,
            value if shown is None else shown,
            f"is outside the supported range {MIN_TIMESTAMP.isoformat()} to "
            f"{MAX_TIMESTAMP.isoformat()}",
        ) from None


def validate_properties(value: object, *, field: str = "properties") -> Mapping[str, JSONValue]:
    """Return a read-only copy of *value* after checking it holds only JSON values."""
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise _fail(
            field, value, f"must be a mapping of str to JSON values, not {type(value).__name__}"
        )
    if not value:
        return _EMPTY
    flat = _copy_flat(value)
    if flat is not None:
        return types.MappingProxyType(flat)
    budget = [0]
    copied = _copy_json_object(value, field, budget, 1)
    # budget is an upper bound of the serialised size; serialise exactly only
    # when the cheap bound says the limit might be exceeded.
    if budget[0] > MAX_PROPERTIES_BYTES:
        size = len(compact(copied).encode())
        if size > MAX_PROPERTIES_BYTES:
            raise _fail(
                field,
                f"<{size} bytes of JSON>",
                f"serialise to {size} bytes; the limit is {MAX_PROPERTIES_BYTES}. "
                "Store large payloads elsewhere and reference them by id",
            )
    return types.MappingProxyType(copied)


# Property keys seen valid (str, ASCII, no NUL): apps send the same few keys.
_VALID_KEYS: dict[str, None] = {}
_MAX_VALID_KEYS: Final = 4096


def _copy_flat(value: Mapping[Any, Any]) -> dict[str, JSONValue] | None:
    """A copy of a small flat mapping of ``str`` to valid scalars, or ``None``.

    The common case on the track() path, checked without the general walker;
    anything else (nesting, a bad value, a large payload) returns ``None`` and
    goes through :func:`_copy_json_object`, which explains what is wrong.
    """
    if len(value) > 64:
        return None
    # worst-case serialised size: every character escaped (6 bytes), 32 bytes per item
    chars = 0
    for key, item in value.items():
        if key not in _VALID_KEYS:
            if type(key) is not str or "\x00" in key or not key.isascii():
                return None
            if len(_VALID_KEYS) < _MAX_VALID_KEYS:
                _VALID_KEYS[key] = None
        chars += len(key)
        kind = type(item)
        if kind is str:
            if "\x00" in item or not item.isascii():
                return None
            chars += len(item)
        elif kind is int:
            if not -_INT64_MAX - 1 <= item <= _INT64_MAX:
                return None
        elif kind is float:
            if not math.isfinite(item):
                return None
        elif kind is not bool and item is not None:
            return None
    if 6 * chars + 32 * len(value) > MAX_PROPERTIES_BYTES:
        return None
    return dict(value)


def _copy_json_object(
    value: Mapping[Any, Any], path: str, budget: list[int], depth: int
) -> dict[str, JSONValue]:
    if depth > MAX_PROPERTIES_DEPTH:
        raise _fail(
            path,
            f"<{type(value).__name__} nested {depth} levels deep>",
            f"is nested deeper than {MAX_PROPERTIES_DEPTH} levels (or contains itself); flatten it",
        )
    out: dict[str, JSONValue] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidEventError(
                f"{path} has the key {shown_value(key)}, of type {type(key).__name__}; keys "
                "must be str"
            )
        _check_storable(f"{path} key", key)
        budget[0] += 6 * len(key) + 4
        out[key] = _copy_json(item, f"{path}[{key!r}]", budget, depth)
    return out


def _copy_json(value: object, path: str, budget: list[int], depth: int) -> JSONValue:
    # bool before int: bool is a subclass of int but a different JSON type.
    if value is None or isinstance(value, bool):
        budget[0] += 5
        return value
    if isinstance(value, str):
        _check_storable(path, value)
        budget[0] += 6 * len(value) + 2
        return value
    if isinstance(value, int):
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise _fail(path, value, "does not fit in 64 bits; store it as a string")
        budget[0] += 20
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(path, value, "is not finite; JSON has no NaN or infinity")
        budget[0] += 25
        return float(value)
    if isinstance(value, Mapping):
        budget[0] += 2
        return _copy_json_object(value, path, budget, depth + 1)
    if isinstance(value, list | tuple):
        budget[0] += 2
        if depth >= MAX_PROPERTIES_DEPTH:
            raise _fail(
                path,
                f"<{type(value).__name__} nested {depth + 1} levels deep>",
                f"is nested deeper than {MAX_PROPERTIES_DEPTH} levels (or contains itself); "
                "flatten it",
            )
        return [_copy_json(item, f"{path}[{i}]", budget, depth + 1) for i, item in enumerate(value)]
    plain = from_numpy(value)
    if plain is not value:  # np.int64(3), np.True_: the JSON value it holds
        return _copy_json(plain, path, budget, depth)
    raise _fail(
        path,
        value,
        f"is of type {type(value).__name__}, not a JSON value "
        "(str, int, float, bool, None, list or dict with str keys)",
    )


def _thaw(value: JSONValue | Mapping[str, JSONValue]) -> JSONValue:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    return value


def _present(value: object) -> object:
    """*value*, or None for what pandas writes in an empty cell (NaN, NaT, pd.NA)."""
    if isinstance(value, float) and value != value:
        return None
    if type(value).__module__.split(".")[0] == "pandas" and type(value).__name__ in (
        "NaTType",
        "NAType",
    ):
        return None
    return value


def _user_id(value: object) -> str:
    return check_text("user_id", value, MAX_ID_LENGTH)


def _name(value: object) -> str:
    return check_text("name", value, MAX_NAME_LENGTH)


def _account_id(value: object) -> str | None:
    return None if value is None else check_text("account_id", value, MAX_ID_LENGTH)


def _event_id(value: object) -> str:
    return new_event_id() if value is None else check_text("event_id", value, MAX_ID_LENGTH)


_MAPPING_FIELDS: Final = frozenset(
    {"user_id", "name", "timestamp", "properties", "account_id", "event_id"}
)


@attrs.frozen(hash=False)
class ValueEvent:
    """Something a customer did that matters for Time to Value.

    Construct it directly or with :meth:`from_mapping`; every field is
    validated and normalised (see the module docstring for the rules), and
    invalid input raises :class:`~ttvkit.errors.InvalidEventError`.
    ``properties`` is a read-only mapping; ``event_id`` is generated when not
    given and is what stores deduplicate on.
    """

    user_id: str = attrs.field(converter=_user_id)
    name: str = attrs.field(converter=_name)
    timestamp: datetime = attrs.field(converter=parse_timestamp)
    properties: Mapping[str, JSONValue] = attrs.field(default=None, converter=validate_properties)
    account_id: str | None = attrs.field(default=None, converter=_account_id)
    event_id: str = attrs.field(default=None, converter=_event_id)

    def __hash__(self) -> int:
        return hash(self.event_id)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled and copied by its fields: the read-only view of the properties
        # (a MappingProxyType) cannot be pickled itself. They were validated when
        # the event was built, so they are not checked again.
        properties = dict(self.properties)
        return trusted_event, (
            self.user_id,
            self.name,
            self.timestamp,
            properties,
            self.account_id,
            self.event_id,
        )

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> ValueEvent:
        """Build an event from a mapping with the keys of :meth:`to_dict`.

        ``user_id``, ``name`` and ``timestamp`` are required; ``properties``,
        ``account_id`` and ``event_id`` are optional, and missing when ``None``
        or (as ``df.to_dict("records")`` writes an empty cell) NaN, ``NaT`` or
        ``pd.NA``. Unknown keys are an error, so a misspelt column is not
        silently dropped.
        """
        if not isinstance(row, Mapping):
            raise _fail("row", row, f"must be a mapping, not {type(row).__name__}")
        unknown = set(row) - _MAPPING_FIELDS
        if unknown:
            raise InvalidEventError(
                f"row has unknown keys {', '.join(sorted(map(repr, map(str, unknown))))}; "
                f"the keys are {', '.join(sorted(_MAPPING_FIELDS))}"
            )
        missing = {"user_id", "name", "timestamp"} - set(row)
        if missing:
            raise _fail("row", dict(row), f"lacks {', '.join(sorted(missing))}")
        return cls(
            user_id=row["user_id"],
            name=row["name"],
            timestamp=row["timestamp"],
            properties=_present(row.get("properties")),
            account_id=_present(row.get("account_id")),
            event_id=_present(row.get("event_id")),
        )

    def to_dict(self) -> dict[str, JSONValue]:
        """Return a JSON-ready dict; the timestamp is an ISO-8601 string in UTC."""
        return {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "account_id": self.account_id,
            "name": self.name,
            "timestamp": self.timestamp.isoformat(),
            "properties": _thaw(self.properties),
        }


def trusted_event(
    user_id: str,
    name: str,
    timestamp: datetime,
    properties: Mapping[str, JSONValue],
    account_id: str | None,
    event_id: str,
) -> ValueEvent:
    """Build an event from values that passed validation already, skipping it.

    The interface for stores and readers: a store only hands back what passed
    validation on the way in, and checking it again on every read would cost
    more than the read. Never pass it values that were not validated.
    """
    event = object.__new__(ValueEvent)
    set_ = object.__setattr__
    set_(event, "user_id", user_id)
    set_(event, "name", name)
    set_(event, "timestamp", timestamp)
    set_(event, "properties", types.MappingProxyType(dict(properties)) if properties else _EMPTY)
    set_(event, "account_id", account_id)
    set_(event, "event_id", event_id)
    return event


# --------------------------------------------------------------------------- fast path

# The slots' own setters: a frozen attrs class refuses plain attribute
# assignment, and object.__setattr__ looks the slot up again on every call.
_SET_USER_ID: Final = ValueEvent.__dict__["user_id"].__set__
_SET_NAME: Final = ValueEvent.__dict__["name"].__set__
_SET_TIMESTAMP: Final = ValueEvent.__dict__["timestamp"].__set__
_SET_PROPERTIES: Final = ValueEvent.__dict__["properties"].__set__
_SET_ACCOUNT_ID: Final = ValueEvent.__dict__["account_id"].__set__
_SET_EVENT_ID: Final = ValueEvent.__dict__["event_id"].__set__
_new_object: Final = object.__new__
_proxy: Final = types.MappingProxyType

# Event names seen valid: an app tracks a handful of names millions of times.
_VALID_NAMES: dict[str, None] = {}
_MAX_VALID_NAMES: Final = 4096


def _plain_id(value: object, limit: int) -> bool:
    """Whether *value* is an id the cheap test can accept: printable ASCII, not blank."""
    return (
        type(value) is str
        and 0 < len(value) <= limit
        and value.isascii()
        and value.isprintable()
        and not value.isspace()
    )


def checked_event(
    user_id: object,
    name: object,
    timestamp: object,
    properties: object,
    account_id: object,
    event_id: object,
) -> ValueEvent:
    """``ValueEvent(...)``, with the checks of the common case made cheap.

    The :meth:`Tracker.track() <ttvkit.tracker.Tracker.track>` hot path, for any
    caller that builds many events from untrusted values. Every value the cheap
    tests accept, the full validation accepts too and leaves unchanged; anything
    else (a non-ASCII id, nested properties, a string timestamp, any invalid
    value) goes through the full constructor, so what is rejected, and the error, are
    exactly those of :class:`ValueEvent`.
    """
    if (
        type(name) is str
        and name in _VALID_NAMES
        and type(user_id) is str
        and 0 < len(user_id) <= MAX_ID_LENGTH
        and user_id.isascii()
        and user_id.isprintable()
        and not user_id.isspace()
        and type(timestamp) is datetime
        and timestamp.tzinfo is UTC
        and MIN_TIMESTAMP <= timestamp < MAX_TIMESTAMP
        and (account_id is None or _plain_id(account_id, MAX_ID_LENGTH))
        and (event_id is None or _plain_id(event_id, MAX_ID_LENGTH))
    ):
        if properties is None:
            frozen: Mapping[str, JSONValue] = _EMPTY
        elif type(properties) is dict and (flat := _copy_flat(properties)) is not None:
            frozen = _proxy(flat) if flat else _EMPTY
        else:
            frozen = validate_properties(properties)
        event = _new_object(ValueEvent)
        _SET_USER_ID(event, user_id)
        _SET_NAME(event, name)
        _SET_TIMESTAMP(event, timestamp)
        _SET_PROPERTIES(event, frozen)
        _SET_ACCOUNT_ID(event, account_id)
        _SET_EVENT_ID(event, new_event_id() if event_id is None else event_id)
        return event
    # The converters take any object and validate it (attrs types them so).
    event = ValueEvent(user_id, name, timestamp, properties, account_id, event_id)
    if len(_VALID_NAMES) < _MAX_VALID_NAMES:
        _VALID_NAMES[event.name] = None
    return event
