"""What every reader shares: the column mapping, the read error, the reader object, and
the conversion of one row of foreign values into a :class:`~ttvkit.events.ValueEvent`.

A format module turns its input into *rows* (a mapping of column or key names to
values) and calls :meth:`RowConverter.convert` on each; the converter validates
field by field, so an error names the source column, and builds the event with
:func:`~ttvkit.events.trusted_event` instead of validating everything twice.
Bad rows are *yielded* as :class:`ReadError` objects, not raised, so that
:class:`EventReader` decides whether to raise or to skip and count them.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final, Literal, TypeAlias

import attrs
from dateutil.parser import isoparse

from ttvkit._json import load_json
from ttvkit.errors import ConfigurationError, InvalidEventError
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    JSONValue,
    ValueEvent,
    check_text,
    new_event_id,
    parse_timestamp,
    trusted_event,
    validate_properties,
)

__all__ = [
    "MAX_REPORTED_ERRORS",
    "ColumnMapping",
    "EventReader",
    "OnError",
    "ReadError",
    "TimestampUnit",
]

OnError: TypeAlias = Literal["raise", "skip"]
TimestampUnit: TypeAlias = Literal["s", "ms", "us"]

#: How many skipped rows an :class:`EventReader` keeps as examples in ``errors``.
MAX_REPORTED_ERRORS: Final = 100

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_MICROSECONDS: Final = {"s": 1_000_000, "ms": 1_000, "us": 1}
_UNIT_NAMES: Final = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}
_INT64: Final = 2**63
# A JSON number, the only text a CSV cell may hold to be read as a number.
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
# Epoch values in a text cell: also a leading '+' and leading zeros, as spreadsheets write them.
_EPOCH_TEXT: Final = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")

# ISO-8601 in the extended form nearly every export writes; see to_utc().
_PLAIN_ISO: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)

ALL_OTHER_COLUMNS: Final = "*"


def _column_name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"a column name must be a non-empty str, not {value!r}")
    return value


def _optional_column_name(value: object) -> str | None:
    return None if value is None else _column_name(value)


def _property_columns(value: object) -> tuple[str, ...] | Literal["*"]:
    if value == ALL_OTHER_COLUMNS:
        return ALL_OTHER_COLUMNS
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigurationError(
            f"property_columns={value!r}: pass '*' (every column the mapping does not "
            "name) or a collection of column names, e.g. ('plan', 'amount'); () for none"
        )
    return tuple(_column_name(v) for v in value)


@attrs.frozen
class ColumnMapping:
    """Which column (or JSON key) of the input holds which field of a value event.

    ``user``, ``name`` and ``timestamp`` must exist. ``account``, ``event_id`` and
    ``properties`` are optional: under their default names they are used when the
    input has them; a name you set yourself must exist, so a misspelt column is an
    error rather than silently empty. ``None`` ignores the field even if present.

    ``properties`` names a column holding a JSON object (JSON text in CSV and
    Parquet, an object in JSON lines, a ``dict`` or JSON text in a DataFrame).
    ``property_columns`` adds plain columns as properties, one key per column:
    ``"*"`` (the default) takes every column the mapping does not name, a tuple
    takes exactly those, ``()`` none. Empty cells and nulls are left out.

    Example: ``ColumnMapping(user="distinct_id", name="event", property_columns=("plan",))``.
    """

    user: str = attrs.field(default="user_id", converter=_column_name)
    name: str = attrs.field(default="name", converter=_column_name)
    timestamp: str = attrs.field(default="timestamp", converter=_column_name)
    account: str | None = attrs.field(default="account_id", converter=_optional_column_name)
    event_id: str | None = attrs.field(default="event_id", converter=_optional_column_name)
    properties: str | None = attrs.field(default="properties", converter=_optional_column_name)
    property_columns: tuple[str, ...] | Literal["*"] = attrs.field(
        default=ALL_OTHER_COLUMNS, converter=_property_columns
    )

    def __attrs_post_init__(self) -> None:
        named = self._named()
        seen: dict[str, str] = {}
        for field, column in named.items():
            if column in seen:
                raise ConfigurationError(
                    f"column {column!r} is mapped to both {seen[column]} and {field}; "
                    "map each field to its own column"
                )
            seen[column] = field
        if self.property_columns != ALL_OTHER_COLUMNS:
            for column in self.property_columns:
                if column in seen:
                    raise ConfigurationError(
                        f"property_columns names {column!r}, which is already the "
                        f"{seen[column]} column; remove it from property_columns"
                    )

    def _named(self) -> dict[str, str]:
        """The fields the mapping reads, by field name, in the order rows are checked."""
        fields = {"user": self.user, "name": self.name, "timestamp": self.timestamp}
        for field in ("properties", "account", "event_id"):
            column = getattr(self, field)
            if column is not None:
                fields[field] = column
        return fields


_DEFAULT_MAPPING: Final = ColumnMapping()
_OPTIONAL_DEFAULTS: Final = {
    "account": _DEFAULT_MAPPING.account,
    "event_id": _DEFAULT_MAPPING.event_id,
    "properties": _DEFAULT_MAPPING.properties,
}


class ReadError(InvalidEventError):
    """A row of input could not be read as a value event, or the input's layout is wrong.

    The message names the source, the place (``line`` for text files, 1-based and
    counting the header; ``row`` for tables and JSON arrays, 0-based) and the column or
    key. The same facts are attributes, ``None`` where they do not apply. A
    :class:`~ttvkit.errors.InvalidEventError`, so code that already catches that
    keeps working.

    ``skippable`` is true for a bad row, which ``on_error="skip"`` would have
    skipped, and false for an error in the input as a whole (a missing column, a
    truncated ``.gz`` file, a damaged Parquet file), which always stops the reading.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "<input>",
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
        skippable: bool = False,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.row = row
        self.column = column
        self.skippable = skippable

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the attributes across pickling (multiprocessing, caching).
        kwargs = {
            "source": self.source,
            "line": self.line,
            "row": self.row,
            "column": self.column,
            "skippable": self.skippable,
        }
        return (_rebuild_read_error, (str(self), kwargs))


def _rebuild_read_error(message: str, kwargs: dict[str, Any]) -> ReadError:
    return ReadError(message, **kwargs)


@attrs.frozen
class Location:
    """Where a row is, for messages: a line of a text file or a row of a table."""

    source: str
    line: int | None = None
    row: int | None = None
    #: what the input calls a column: "column" in tables, "key" in JSON
    noun: str = "column"

    def error(self, problem: str, column: str | None = None) -> ReadError:
        where = self.source
        if self.line is not None:
            where += f" line {self.line}"
        elif self.row is not None:
            where += f" row {self.row}"
        if column is not None:
            where += f', {self.noun} "{column}"'
        return ReadError(
            f"{where}: {problem}",
            source=self.source,
            line=self.line,
            row=self.row,
            column=column,
        )


class _Absent:
    """A key the row does not have (JSON), told apart from an explicit null."""


_ABSENT: Final = _Absent()


def _absent_or_empty(value: object) -> str:
    return "missing" if value is _ABSENT else "empty"


class _Ignored:
    """Yielded for input a reader passes over on purpose (a Segment identify call)."""


IGNORED: Final = _Ignored()
Item: TypeAlias = "ValueEvent | ReadError | _Ignored"


class EventReader:
    """The value events read from one source: iterate it, then look at what was skipped.

    Reading is lazy and streams: nothing is read until you iterate, and a large file
    is never held in memory. A reader over a path or a DataFrame can be iterated again
    (it reads the source afresh and resets the counts); one over an open file object
    can be iterated once.

    With ``on_error="raise"`` the first bad row raises :class:`ReadError` (events
    before it were already yielded). With ``on_error="skip"`` bad rows are skipped:
    ``skipped`` counts them and ``errors`` keeps the first
    :data:`MAX_REPORTED_ERRORS` as :class:`ReadError` objects. ``ignored`` counts
    input passed over on purpose (Segment calls other than ``track``), and ``merged``
    the anonymous ids a vendor reader merged into identified users. Errors in the
    layout (a missing column) always raise, before any row is read.
    """

    __slots__ = (
        "_errors",
        "_ignored",
        "_items",
        "_merges",
        "_once",
        "_raise",
        "_read",
        "_skipped",
        "_source",
        "_started",
    )

    def __init__(
        self,
        source: str,
        items: Callable[[], Iterator[Item]],
        *,
        on_error: OnError,
        once: bool = False,
        merges: Callable[[], int] | None = None,
    ) -> None:
        self._source = source
        self._items = items
        self._merges = merges
        self._raise = _check_on_error(on_error) == "raise"
        self._once = once
        self._started = False
        self._read = 0
        self._skipped = 0
        self._ignored = 0
        self._errors: list[ReadError] = []

    @property
    def source(self) -> str:
        """The file name (or a description of the input) used in messages."""
        return self._source

    @property
    def read(self) -> int:
        """Events yielded so far by the current (or last) iteration."""
        return self._read

    @property
    def skipped(self) -> int:
        """Bad rows skipped so far (only with ``on_error="skip"``)."""
        return self._skipped

    @property
    def ignored(self) -> int:
        """Input passed over on purpose, such as Segment calls other than ``track``."""
        return self._ignored

    @property
    def merged(self) -> int:
        """Anonymous ids merged into the user they were identified as (PostHog, Segment)."""
        return 0 if self._merges is None else self._merges()

    @property
    def errors(self) -> tuple[ReadError, ...]:
        """The first :data:`MAX_REPORTED_ERRORS` skipped rows, as errors to inspect or print."""
        return tuple(self._errors)

    def __repr__(self) -> str:
        return (
            f"<EventReader {self._source}: {self._read} read, {self._skipped} skipped, "
            f"{self._ignored} ignored>"
        )

    def __iter__(self) -> Iterator[ValueEvent]:
        if self._once and self._started:
            raise ConfigurationError(
                f"{self._source} is an open file object and was read already; "
                "pass a path to read it again, or keep the events: list(reader)"
            )
        self._started = True
        self._read = self._skipped = self._ignored = 0
        self._errors = []
        return self._iterate()

    def _iterate(self) -> Iterator[ValueEvent]:
        for item in self._items():
            if type(item) is ValueEvent:
                self._read += 1
                yield item
            elif isinstance(item, ReadError):
                item.skippable = True
                if self._raise:
                    raise item
                self._skipped += 1
                if len(self._errors) < MAX_REPORTED_ERRORS:
                    self._errors.append(item)
            else:
                self._ignored += 1


def _check_on_error(value: object) -> OnError:
    if value == "raise":
        return "raise"
    if value == "skip":
        return "skip"
    raise ConfigurationError(f"on_error={value!r}: pass 'raise' or 'skip'")


def _check_unit(value: object) -> TimestampUnit | None:
    if value is None or value in _UNIT_MICROSECONDS:
        return value  # type: ignore[return-value]
    raise ConfigurationError(
        f"timestamp_unit={value!r}: pass 's', 'ms' or 'us' (epoch seconds, milliseconds "
        "or microseconds), or None for ISO-8601 text and epoch seconds"
    )


def _check_zone(value: object) -> tzinfo | None:
    if value is None or isinstance(value, tzinfo):
        return value
    raise ConfigurationError(
        f"assume_timezone={value!r}: pass a tzinfo such as datetime.UTC or "
        "zoneinfo.ZoneInfo('Europe/Berlin'), or None to reject timestamps without an offset"
    )


def _check_mapping(value: object) -> ColumnMapping:
    if isinstance(value, ColumnMapping):
        return value
    raise ConfigurationError(
        f"mapping must be a ColumnMapping, not {type(value).__name__}; "
        "e.g. ColumnMapping(user='distinct_id', name='event')"
    )


def source_name(source: object) -> str:
    """How messages name *source*: the path as given, or a file object's name."""
    if isinstance(source, str | os.PathLike):
        return str(os.fspath(source))
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"<{type(source).__name__}>"


# --- converting one row ------------------------------------------------------------


@attrs.frozen
class Options:
    """How values are read, resolved once per reader."""

    mapping: ColumnMapping
    assume_timezone: tzinfo | None = None
    timestamp_unit: TimestampUnit | None = None
    #: every value is text (CSV): "" is missing, numbers and booleans are inferred
    text: bool = False
    infer_types: bool = True
    #: where to take an account from when no account column has one (PostHog groups)
    account_from: Callable[[Mapping[str, Any]], tuple[str, object]] | None = None
    keep_properties: frozenset[str] | None = None

    @classmethod
    def build(
        cls,
        mapping: object,
        *,
        assume_timezone: object = None,
        timestamp_unit: object = None,
        **kwargs: Any,
    ) -> Options:
        return cls(
            _check_mapping(mapping),
            _check_zone(assume_timezone),
            _check_unit(timestamp_unit),
            **kwargs,
        )


class _Problem(Exception):
    """One bad value in a row; turned into a ReadError with the row's location."""

    def __init__(self, column: str | None, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


class RowConverter:
    """Turns rows into value events for one layout (a header, or JSON keys per row)."""

    def __init__(
        self,
        options: Options,
        location: Location,
        columns: Sequence[str] | None,
        *,
        strict_optional: bool = True,
    ) -> None:
        """Resolve the mapping against *columns* (``None`` when each row has its own keys).

        Raises :class:`ReadError` at *location* (the header) when a column is missing.
        ``strict_optional=False`` lets optional columns under any name be absent, for
        the fixed layouts of vendor exports.
        """
        m = options.mapping
        self._options = options
        self._location = location
        self._text = options.text
        self._user = m.user
        self._name = m.name
        self._timestamp = m.timestamp
        self._account = m.account
        self._event_id = m.event_id
        self._properties = m.properties
        mapped = set(m._named().values())
        self._mapped = frozenset(mapped)
        # Fixed columns are resolved once; per-row keys (JSON) fold whatever is unmapped.
        self._fold_all = m.property_columns == ALL_OTHER_COLUMNS and columns is None
        self._property_columns: tuple[str, ...] = ()
        if columns is None:
            if m.property_columns != ALL_OTHER_COLUMNS:
                self._property_columns = m.property_columns
            return
        present = set(columns)
        missing = [
            (field, column)
            for field, column in m._named().items()
            if column not in present
            and (
                field not in _OPTIONAL_DEFAULTS
                or (strict_optional and column != _OPTIONAL_DEFAULTS[field])
            )
        ]
        if m.property_columns != ALL_OTHER_COLUMNS:
            missing += [("a property", c) for c in m.property_columns if c not in present]
        if missing:
            field, column = missing[0]
            shown = ", ".join(repr(c) for c in columns) or "none"
            raise location.error(
                f"there is no {location.noun} {column!r}, which the mapping reads {field} from; "
                f"the {location.noun}s are: {shown}. Pass mapping=ColumnMapping(...) naming "
                "yours, e.g. ColumnMapping(user='distinct_id', name='event')"
            )
        if self._account not in present:
            self._account = None
        if self._event_id not in present:
            self._event_id = None
        if self._properties not in present:
            self._properties = None
        if m.property_columns == ALL_OTHER_COLUMNS:
            self._property_columns = tuple(c for c in columns if c and c not in mapped)
        else:
            self._property_columns = m.property_columns

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns a row needs, for a fixed layout: read only these."""
        named = (
            self._user,
            self._name,
            self._timestamp,
            self._account,
            self._event_id,
            self._properties,
        )
        return tuple(c for c in named if c is not None) + self._property_columns

    def convert(
        self, values: Mapping[str, object], *, line: int | None = None, row: int | None = None
    ) -> ValueEvent | ReadError:
        """The event in *values*, or the error (not raised) that says what is wrong.

        *line* (text files, 1-based) or *row* (tables, 0-based) say where it is.
        """
        try:
            return self._convert(values)
        except _Problem as problem:
            where = attrs.evolve(self._location, line=line, row=row)
            return where.error(problem.problem, problem.column)
        except (ValueError, ArithmeticError, RecursionError, TypeError) as exc:
            # Whatever else a value makes Python raise (a number too long to
            # convert, nesting too deep to walk) is this row's problem, not a crash.
            where = attrs.evolve(self._location, line=line, row=row)
            return where.error(f"cannot be read: {value_problem(exc)}")

    def _convert(self, values: Mapping[str, object]) -> ValueEvent:
        options = self._options
        user = self._required_text(values, self._user, "user_id", MAX_ID_LENGTH)
        name = self._required_text(values, self._name, "name", MAX_NAME_LENGTH)
        timestamp = self._timestamp_of(values)
        merged, from_object, folded = self._merge_properties(values)
        account: str | None = None
        if self._account is not None:
            account = self._optional_text(values.get(self._account), self._account, "account_id")
        if account is None and options.account_from is not None:
            label, raw = options.account_from(merged)
            account = self._optional_text(raw, label, "account_id")
        if options.keep_properties is not None:
            merged = {k: v for k, v in merged.items() if k in options.keep_properties}
        properties = self._validate_properties(merged, from_object, folded)
        event_id: str | None = None
        if self._event_id is not None:
            event_id = self._optional_text(values.get(self._event_id), self._event_id, "event_id")
        return trusted_event(
            user,
            name,
            timestamp,
            properties,
            account,
            new_event_id() if event_id is None else event_id,
        )

    def _missing(self, value: object) -> bool:
        # None is null everywhere; "" is an empty CSV cell; NaN is how pandas says null.
        return (
            value is None
            or value is _ABSENT
            or (self._text and value == "")
            or (isinstance(value, float) and math.isnan(value))
        )

    def _text_of(self, value: object, column: str, field: str, limit: int) -> str:
        # Integer ids are common in exports and convert without loss; floats do not.
        if isinstance(value, int) and not isinstance(value, bool) and field != "name":
            value = str(value)
        elif isinstance(value, float) and field != "name":
            raise _Problem(
                column,
                f"{value!r} is a float; ids must be text or integers (read the column as "
                "text, or as a nullable integer type such as pandas' Int64)",
            )
        try:
            return check_text(field, value, limit)
        except InvalidEventError as exc:
            raise _Problem(column, _reword(exc, field, value)) from None

    def _required_text(
        self, values: Mapping[str, object], column: str, field: str, limit: int
    ) -> str:
        value = values.get(column, _ABSENT)
        if self._missing(value):
            raise _Problem(column, f"is {_absent_or_empty(value)}; every event needs a {field}")
        return self._text_of(value, column, field, limit)

    def _optional_text(self, value: object, column: str, field: str) -> str | None:
        if self._missing(value):
            return None
        return self._text_of(value, column, field, MAX_ID_LENGTH)

    def _timestamp_of(self, values: Mapping[str, object]) -> datetime:
        column = self._timestamp
        value = values.get(column, _ABSENT)
        if self._missing(value):
            raise _Problem(column, f"is {_absent_or_empty(value)}; every event needs a timestamp")
        try:
            return to_utc(value, self._options.timestamp_unit, self._options.assume_timezone)
        except InvalidEventError as exc:
            raise _Problem(column, _reword(exc, "timestamp", value)) from None

    def _merge_properties(
        self, values: Mapping[str, object]
    ) -> tuple[dict[str, Any], Mapping[str, Any], Sequence[str]]:
        """The JSON object column and the property columns, merged but not yet validated."""
        merged: dict[str, Any] = {}
        from_object: Mapping[str, Any] = {}
        if self._properties is not None:
            from_object = self._json_object(values.get(self._properties), self._properties)
            merged.update(from_object)
        if self._fold_all:
            folded: Sequence[str] = [k for k in values if k not in self._mapped]
        else:
            folded = self._property_columns
        for column in folded:
            value = values.get(column)
            if self._missing(value):
                continue
            if column in merged:
                raise _Problem(
                    column,
                    f"is also a key of the JSON object in {self._properties!r}; "
                    "rename the column or drop it from property_columns",
                )
            merged[column] = self._cell(value)
        return merged, from_object, folded

    def _validate_properties(
        self, merged: dict[str, Any], from_object: Mapping[str, Any], folded: Sequence[str]
    ) -> Mapping[str, JSONValue]:
        try:
            return validate_properties(merged)
        except InvalidEventError as exc:
            # Only on failure: find the column at fault, the JSON object or a folded one.
            for column in folded:
                if column in merged:
                    try:
                        validate_properties({column: merged[column]})
                    except InvalidEventError as inner:
                        raise _Problem(column, str(inner)) from None
            raise _Problem(self._properties if from_object else None, str(exc)) from None

    def _json_object(self, value: object, column: str) -> Mapping[str, Any]:
        if self._missing(value):
            return {}
        if isinstance(value, str):
            try:
                value = load_json(value)
            except (ValueError, RecursionError) as exc:
                problem = (
                    f"{exc.msg} at character {exc.pos}"
                    if isinstance(exc, json.JSONDecodeError)
                    else value_problem(exc)
                )
                raise _Problem(
                    column,
                    f"is not valid JSON ({problem}); the column must "
                    'hold a JSON object such as {"plan": "pro"}',
                ) from None
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return value
        raise _Problem(
            column,
            f"holds {json_kind(value)}, not a JSON object; properties must be an object "
            'such as {"plan": "pro"}',
        )

    def _cell(self, value: object) -> object:
        if isinstance(value, str):
            return infer_scalar(value) if self._text and self._options.infer_types else value
        return jsonable(value)


def _shown(value: object) -> str:
    try:
        shown = repr(value)
    except ValueError:  # an int too long to convert to text
        return "<an integer too long to show>"
    return shown if len(shown) <= 80 else shown[:77] + "..."


def json_problem(exc: BaseException) -> str:
    """What :func:`load_json` (or another reader of values) found wrong, in words."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at character {exc.colno}"
    return value_problem(exc)


def value_problem(exc: BaseException) -> str:
    """An exception raised while reading a value, as a phrase for a message."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    message = str(exc)
    if "Exceeds the limit" in message and "digits" in message:
        return "holds an integer with more digits than Python converts (4300)"
    return message or type(exc).__name__


def _reword(exc: InvalidEventError, field: str, value: object) -> str:
    """``field=value: problem`` (ttvkit.events) as ``value problem``: the column says the field."""
    message = str(exc)
    prefix = f"{field}={_shown(value)}: "
    if message.startswith(prefix):
        return f"{_shown(value)} {message[len(prefix) :]}"
    return message


def json_kind(value: object) -> str:
    """What a decoded JSON value is, for messages: "a JSON array", "JSON null", ..."""
    if isinstance(value, Mapping):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool) or value is None:
        return f"JSON {json.dumps(value)}"
    if isinstance(value, int | float):
        return "a JSON number"
    return f"a {type(value).__name__}"


def infer_scalar(text: str) -> JSONValue:
    """A CSV cell as a JSON scalar: a JSON number or ``true``/``false``, else the text.

    Integers beyond 64 bits and numbers that overflow a float stay text, so a long
    numeric id is kept rather than rejected.
    """
    if text == "true":
        return True
    if text == "false":
        return False
    match = _NUMBER.fullmatch(text)
    if match is None:
        return text
    if match.group(1) is None and match.group(2) is None:
        if len(text) > 20:  # beyond 64 bits (and perhaps beyond int()'s digit limit)
            return text
        number = int(text)
        return number if -_INT64 <= number < _INT64 else text
    real = float(text)
    return real if math.isfinite(real) else text


def jsonable(value: object) -> object:
    """Plain Python for a value from a DataFrame or Arrow: numpy scalars, datetimes."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(UTC)
        return _plain_datetime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def _plain_datetime(value: datetime) -> datetime:
    # pandas.Timestamp is a datetime subclass with nanoseconds: rebuild a plain
    # datetime, truncating to microseconds (ttvkit's precision) without a warning.
    if type(value) is datetime:
        return value
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
        fold=value.fold,
    )


def _fail(value: object, problem: str) -> InvalidEventError:
    return InvalidEventError(f"timestamp={_shown(value)}: {problem}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _out_of_range(value: object, unit: TimestampUnit | None) -> InvalidEventError:
    """The error for a timestamp outside the supported range, showing *value* as given."""
    supported = f"{MIN_TIMESTAMP.isoformat()} to {MAX_TIMESTAMP.isoformat()}"
    if _is_number(value) or (unit is not None and isinstance(value, str)):
        if unit in (None, "s"):
            hint = "check the unit (milliseconds? pass timestamp_unit='ms')"
        else:
            hint = "check timestamp_unit"
        name = _UNIT_NAMES[unit or "s"]
        return _fail(value, f"is out of range as epoch {name} (supported: {supported}); {hint}")
    return _fail(value, f"is outside the supported range {supported}")


def to_utc(value: object, unit: TimestampUnit | None, zone: tzinfo | None) -> datetime:
    """A timestamp from foreign input as an aware UTC datetime.

    Text is ISO-8601 (see :func:`~ttvkit.events.parse_timestamp`); numbers are epoch
    values in *unit* (seconds when ``None``), and with a unit set, numeric text is
    too. A timestamp without an offset gets *zone* when given, else is rejected.
    Errors show the value as the input gave it.
    """
    given = value
    if unit is not None and isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
        text = value.strip()
        try:
            value = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:  # more digits than int() converts
            raise _out_of_range(given, unit) from None
    if _is_number(value) and unit not in (None, "s"):
        assert unit is not None
        assert isinstance(value, int | float)
        if not math.isfinite(value):
            raise _fail(given, f"is not a finite number of epoch {_UNIT_NAMES[unit]}")
        try:
            value = _EPOCH + timedelta(microseconds=value * _UNIT_MICROSECONDS[unit])
        except OverflowError:
            raise _out_of_range(given, unit) from None
    elif _is_number(value):
        assert isinstance(value, int | float)
        if not math.isfinite(value):
            raise _fail(given, "is not a finite number of epoch seconds")
        try:
            value = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise _out_of_range(given, unit) from None
    elif isinstance(value, str):
        text = value.strip()
        parsed: datetime | None = None
        try:
            # The shape nearly every export writes: fromisoformat reads it 50 times
            # faster than isoparse, to the same datetime.
            plain = _PLAIN_ISO.fullmatch(text)
            parsed = datetime.fromisoformat(text) if plain else isoparse(text)
        except (ValueError, OverflowError):
            pass  # parse_timestamp below says what is wrong with the text (or reads 24:00)
        if parsed is not None and (parsed.tzinfo is not None or zone is not None):
            value = parsed
    if isinstance(value, datetime):
        value = _plain_datetime(value)
        if zone is not None and (value.tzinfo is None or value.utcoffset() is None):
            value = value.replace(tzinfo=zone)
        if value.tzinfo is not None and value.utcoffset() is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # 9999-12-31T23:59-14:00 is after year 9999 in UTC
                raise _out_of_range(given, unit) from None
            if not MIN_TIMESTAMP <= value < MAX_TIMESTAMP:
                raise _out_of_range(given, unit)
    try:
        return parse_timestamp(value)
    except InvalidEventError:
        raise
    except (ValueError, OverflowError):
        raise _fail(given, "is not an ISO-8601 timestamp, e.g. '2026-01-31T09:30:00Z'") from None
