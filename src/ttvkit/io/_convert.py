"""One row of foreign values as a :class:`~ttvkit.events.ValueEvent`.

A format module turns its input into *rows* (a mapping of column or key names to
values) and calls :meth:`RowConverter.convert` on each; the converter validates
field by field, so an error names the source column, and builds the event with
:func:`~ttvkit.events.trusted_event` instead of validating everything twice.
Bad rows are returned as :class:`~ttvkit.io.ReadError` objects, not raised, so
that the :class:`~ttvkit.io.EventReader` decides whether to raise or to skip them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final

import attrs

from ttvkit.errors import InvalidEventError
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    JSONValue,
    ValueEvent,
    check_text,
    new_event_id,
    trusted_event,
    validate_properties,
)
from ttvkit.io._mapping import ALL_OTHER_COLUMNS, OPTIONAL_DEFAULTS, ColumnMapping, check_mapping
from ttvkit.io._reader import Location, ReadError
from ttvkit.io._vendor_fields import vendor_advice
from ttvkit.io.values import (
    TimestampUnit,
    check_unit,
    check_zone,
    delimiter_in,
    infer_scalar,
    json_object,
    jsonable,
    shown,
    to_utc,
    value_problem,
)

__all__ = ["Options", "RowConverter"]


class _Absent:
    """A key the row does not have (JSON), told apart from an explicit null."""


_ABSENT: Final = _Absent()


def _absent_or_empty(value: object) -> str:
    return "missing" if value is _ABSENT else "empty"


@attrs.frozen
class Options:
    """How values are read, resolved once per reader."""

    mapping: ColumnMapping
    assume_timezone: tzinfo | None = None
    timestamp_unit: TimestampUnit | None = None
    #: every value is text (CSV): "" is missing, numbers and booleans are inferred
    text: bool = False
    infer_types: bool = True
    #: what separates the columns of a CSV file
    delimiter: str = ","
    #: the decimal mark of a CSV file's numbers ("." or ",")
    decimal: str = "."
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
            check_mapping(mapping),
            check_zone(assume_timezone),
            check_unit(timestamp_unit),
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
        if not columns and options.text:
            raise location.error(
                "has no header: a CSV file starts with a line naming its columns (this file "
                "is empty, or that line is blank)"
            )
        present: set[str] = set()
        for column in columns:
            if column and column in present:
                raise location.error(f'names column "{column}" twice; rename one of them', column)
            present.add(column)
        missing = [
            (field, column)
            for field, column in m._named().items()
            if column not in present
            and (
                field not in OPTIONAL_DEFAULTS
                or (strict_optional and column != OPTIONAL_DEFAULTS[field])
            )
        ]
        if m.property_columns != ALL_OTHER_COLUMNS:
            missing += [("a property", c) for c in m.property_columns if c not in present]
        if missing:
            field, column = missing[0]
            shown = ", ".join(repr(c) for c in columns) or "none"
            other = (
                delimiter_in(columns, options.delimiter, one_column=False) if options.text else None
            )
            advice: str | None = None
            if other is not None:
                advice = (
                    f"the header splits into more columns at {other!r}: if that separates "
                    f"the file's columns, pass delimiter={other!r} (to read_csv, read_file "
                    "or scan)"
                )
            elif options.delimiter == ",":  # the vendors' readers read commas only
                advice = vendor_advice(columns, noun=location.noun)
            raise location.error(
                f"there is no {location.noun} {column!r}, which the mapping reads {field} from; "
                f"the {location.noun}s are: {shown}. "
                + (
                    f"{advice[0].upper()}{advice[1:]}, or pass mapping=ColumnMapping(...)"
                    if advice
                    else "Pass mapping=ColumnMapping(...) naming yours, e.g. "
                    "ColumnMapping(user='distinct_id', name='event')"
                )
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
            raise self._lacking(values, column, value, field)
        return self._text_of(value, column, field, limit)

    def _lacking(
        self, values: Mapping[str, object], column: str, value: object, field: str
    ) -> _Problem:
        """The problem of a row without the *field* every event needs; where the row's
        keys are a vendor's export's, what reads it."""
        problem = f"is {_absent_or_empty(value)}; every event needs a {field}"
        if value is _ABSENT or value is None:  # a key absent or null: JSON's row
            advice = vendor_advice(values.keys(), values, noun=self._location.noun)
            if advice is not None:
                problem = f"{problem}; {advice}"
        return _Problem(column, problem)

    def _optional_text(self, value: object, column: str, field: str) -> str | None:
        if self._missing(value):
            return None
        return self._text_of(value, column, field, MAX_ID_LENGTH)

    def _timestamp_of(self, values: Mapping[str, object]) -> datetime:
        column = self._timestamp
        value = values.get(column, _ABSENT)
        if self._missing(value):
            raise self._lacking(values, column, value, "timestamp")
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
        try:
            return json_object(value)
        except ValueError as exc:
            raise _Problem(column, str(exc)) from None

    def _cell(self, value: object) -> object:
        if isinstance(value, str):
            if self._text and self._options.infer_types:
                return infer_scalar(value, self._options.decimal)
            return value
        return jsonable(value)


def _reword(exc: InvalidEventError, field: str, value: object) -> str:
    """``field=value: problem`` (ttvkit.events) as ``value problem``: the column says the field."""
    message = str(exc)
    prefix = f"{field}={shown(value)}: "
    if message.startswith(prefix):
        return f"{shown(value)} {message[len(prefix) :]}"
    return message
