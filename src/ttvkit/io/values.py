"""Foreign values as event fields: timestamps to UTC, CSV text to JSON scalars, and the
words for what is wrong with a value.

These are the rules every reader of events applies: the file readers of
:mod:`ttvkit.io`, :func:`ttvkit.scan` and :class:`ttvkit.stores.spark.SparkSource`.
A source of your own (a warehouse table, another engine) that reads and reports
values with them accepts and refuses what the built-in ones do, in the same
words: :func:`to_utc` for a timestamp in Python, :func:`unit_micros`,
:func:`range_problem` and :data:`NOT_SPACE` for the same checks written in an
engine's SQL, :func:`shown` for a value in a message, :func:`check_unit` and
:func:`check_zone` for the ``timestamp_unit`` and ``assume_timezone`` arguments
(:func:`check_encoding` for ``encoding``).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final, Literal, TypeAlias

from dateutil.parser import isoparse

from ttvkit._json import compact, load_json
from ttvkit.errors import ConfigurationError, InvalidEventError
from ttvkit.events import MAX_TIMESTAMP, MIN_TIMESTAMP, JSONValue, parse_timestamp, shown_value

__all__ = [
    "COMMA_NUMBER",
    "DECIMALS",
    "DELIMITERS",
    "JSON_STRING",
    "MAX_PROPERTIES_TEXT",
    "NOT_SPACE",
    "PLAIN_OBJECT",
    "RISKY_NUMBERS",
    "TAB_NAMES",
    "ZONE_ADVICE",
    "TimestampUnit",
    "check_decimal",
    "check_delimiter",
    "check_encoding",
    "check_unit",
    "check_zone",
    "comma_number",
    "delimiter_in",
    "delimiter_of_name",
    "gzip_problem",
    "infer_scalar",
    "is_gzipped",
    "is_utf8",
    "json_kind",
    "json_object",
    "json_problem",
    "jsonable",
    "range_problem",
    "shown",
    "to_utc",
    "unit_micros",
    "value_problem",
    "wide_text_problem",
]

TimestampUnit: TypeAlias = Literal["s", "ms", "us"]
"""The unit of epoch numbers in a timestamp column: seconds, milliseconds or microseconds."""

# Python's str.isspace() as a regular expression (RE2 for DuckDB, java.util.regex for
# Spark): a text that is not only white space has a character outside this class.
NOT_SPACE: Final = r"[^\t\n\x0b\f\r \x{1c}-\x{1f}\x{85}\p{Z}]"
"""A character that is not white space, as a regular expression (RE2 and
``java.util.regex``): ids and names without one are blank and refused."""

ZONE_ADVICE: Final = (
    "if all the input's times are in one zone, say which with assume_timezone= when "
    "reading it (e.g. ttvkit.scan(path, assume_timezone=datetime.UTC))"
)
"""How a reader's error for a time without a zone ends (the command line says the same
with ``--timezone``)."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# JSON property text, as regular expressions (RE2 and java.util.regex alike) for an
# engine to vouch for most rows in SQL and leave the rest to json_object() and
# validate_properties(), which decide.

MAX_PROPERTIES_TEXT: Final = 50_000
"""Bytes of JSON property text an engine may vouch for without Python. The readers'
limit is :data:`~ttvkit.events.MAX_PROPERTIES_BYTES` of *compact* JSON, which can be
longer than the text: a number that is not one of :data:`RISKY_NUMBERS` is at most
about 1.2 times as long written compact (``12345678901234567.5`` is
``1.2345678901234568e+16``, ``1e-7`` is ``1e-07``), with the comma or bracket beside it."""

JSON_STRING: Final = r'"(?:[^"\\]|\\.)*"'
"""A JSON string, escapes included (replace these by ``""`` to look at the rest)."""

RISKY_NUMBERS: Final = (
    r"[0-9]{20}|9[0-9]{18}|[0-9][eE]\+?[0-9]|[eE]-0*[1-4]([^0-9]|$)|[eE][+-]?[0-9]{3}"
    r"|NaN|Infinity|,[ \t\n\r]*[\]}]"
)
"""Outside strings: what may be a number beyond 64 bits (20 digits, or 19 from 9e18
up: a 19-digit id below that, such as a snowflake id, is within them) or a float's
range, a number
whose exponent may make it far longer written compact (``1E15`` is
``1000000000000000.0``, ``1e-4`` is ``0.0001``; ``1e-7`` stays ``1e-07``), a
constant JSON does not have, or a comma before a closing bracket (``{"k": 1,}``,
which DuckDB's JSON functions take and the readers refuse). Text without it holds
none of these."""

_PLAIN_STRING: Final = r'"[^"\\\x00-\x1f]*"'
_PLAIN_VALUE: Final = (
    rf"({_PLAIN_STRING}|true|false|null|-?(0|[1-9][0-9]{{0,17}})(\.[0-9]{{1,17}})?)"
)
_PLAIN_PAIR: Final = rf"{_PLAIN_STRING}:{_PLAIN_VALUE}"
PLAIN_OBJECT: Final = rf"\{{({_PLAIN_PAIR}(,{_PLAIN_PAIR})*)?\}}"
"""A compact JSON object whose values are plain strings (no escapes, no control
characters), booleans, nulls, or numbers of at most 18 digits before and 17 after
the point without an exponent. Text that matches it whole is valid JSON, an object,
flat, and holds nothing the readers refuse (a key twice is the last one, as
``json.loads`` reads it); no string in it holds a quote."""
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


def check_unit(value: object) -> TimestampUnit | None:
    """*value* as a ``timestamp_unit`` argument, or :class:`~ttvkit.errors.ConfigurationError`."""
    if value is None or value in _UNIT_MICROSECONDS:
        return value  # type: ignore[return-value]
    raise ConfigurationError(
        f"timestamp_unit={value!r}: pass 's', 'ms' or 'us' (epoch seconds, milliseconds "
        "or microseconds), or None for ISO-8601 text and epoch seconds"
    )


#: How a tab may be named where typing one is awkward (a command line, a TOML literal
#: string): a backslash and ``t``, or the word.
TAB_NAMES: Final = frozenset({"\\t", "tab", "TAB", "Tab"})


def delimiter_of_name(path: str) -> str:
    """The delimiter a CSV file's name implies: a tab for ``.tsv`` (``.tsv.gz``), else a
    comma."""
    return "\t" if path.lower().removesuffix(".gz").endswith(".tsv") else ","


def check_delimiter(value: object) -> str:
    """*value* as a CSV delimiter: one character other than a quote or a newline (a tab
    also by one of :data:`TAB_NAMES`), or a ConfigurationError saying so."""
    if isinstance(value, str) and value in TAB_NAMES:
        return "\t"
    if isinstance(value, str) and len(value) == 1 and value not in '"\r\n':
        return value
    raise ConfigurationError(
        f"delimiter={value!r}: pass one character other than a quote or a newline, "
        "e.g. ',' or ';' (a tab: '\\t' or 'tab')"
    )


#: The delimiters a CSV file's header is looked at for, when read with another one.
DELIMITERS: Final = (",", ";", "\t", "|")


_QUOTED: Final = re.compile(r'"[^"]*"')


def delimiter_in(header: Sequence[str], used: str = ",", *, one_column: bool = True) -> str | None:
    """The delimiter a CSV header read with *used* seems to have instead: another of
    :data:`DELIMITERS` that splits it in more columns (the one that splits it most).

    With *one_column*, only a header read as one cell (``'user_id;name;timestamp'``)
    is looked at; otherwise also one that a cell holding *used* split (``user_id;name;
    "price, EUR"`` read with commas). None when no other delimiter splits it more.
    """
    if one_column and len(header) != 1:
        return None
    # Delimiters inside quotes (a column named "note;a;b") separate nothing.
    text = _QUOTED.sub("", used.join(header))
    counts = {d: text.count(d) for d in DELIMITERS if d != used}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] + 1 > len(header) else None


def check_encoding(value: object) -> str:
    """*value* as the ``encoding`` of a text file, or :class:`~ttvkit.errors.ConfigurationError`."""
    try:
        known = isinstance(value, str) and codecs.lookup(value)._is_text_encoding
    except LookupError:
        known = False
    if known:
        return value  # type: ignore[return-value]
    raise ConfigurationError(
        f"encoding={value!r}: not a text encoding Python knows; pass the file's encoding, "
        "such as 'utf-8', 'latin-1', 'cp1252' or 'utf-16'"
    )


def gzip_problem(exc: BaseException) -> str:
    """What is wrong with a gzip file whose reading raised *exc* (cut short, damaged, or
    not gzip at all)."""
    return f"is not a complete gzip file ({exc}); the file is truncated or damaged"


def is_gzipped(path: str) -> bool:
    """Whether the file at *path* is read and written through gzip: its name ends in
    ``.gz``, in any case (``EVENTS.CSV.GZ``, as some exports name it)."""
    return path.lower().endswith(".gz")


def is_utf8(encoding: str) -> bool:
    """Whether *encoding* is UTF-8 by any name (``'UTF8'``, ``'utf-8-sig'``): the readers'
    default, which skips a byte-order mark, as DuckDB does."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def wide_text_problem(letters: str, encoding: str) -> str | None:
    """What is wrong with a file whose header decoded as *letters*, if it is UTF-16 read
    as *encoding*: ASCII in UTF-16 without a byte-order mark decodes as "valid" UTF-8,
    with a NUL after every letter (little-endian) or before it (big-endian)."""
    if not letters or letters.count("\x00") * 3 < len(letters):
        return None
    order = "le" if letters[1:2] == "\x00" else "be"
    return (
        f"has a NUL character between its letters: the file is UTF-16 text, not {encoding}; "
        f"pass the file's encoding, e.g. encoding='utf-16-{order}'"
    )


def check_zone(value: object) -> tzinfo | None:
    """*value* as an ``assume_timezone`` argument, or :class:`~ttvkit.errors.ConfigurationError`."""
    if value is None or isinstance(value, tzinfo):
        return value
    raise ConfigurationError(
        f"assume_timezone={value!r}: pass a tzinfo such as datetime.UTC or "
        "zoneinfo.ZoneInfo('Europe/Berlin'), or None to reject timestamps without an offset"
    )


#: *value* as a message shows it: a date or time in ISO 8601, anything else as its
#: repr, cut to 80 characters (the rule of :mod:`ttvkit.events`' own errors, so that a
#: reader can reword them).
shown: Final = shown_value


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


def json_kind(value: object) -> str:
    """What a decoded JSON value is, for messages: "a JSON array", "JSON null", ..."""
    if isinstance(value, Mapping):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool) or value is None:
        return f"JSON {compact(value)}"
    if isinstance(value, int | float):
        return "a JSON number"
    return f"a {type(value).__name__}"


def json_object(value: object) -> Mapping[str, Any]:
    """A JSON properties cell as the object it holds: JSON text is parsed, JSON
    ``null`` (``None``) is an empty object, a mapping is itself.

    Raises :class:`ValueError` saying, in the readers' words, why it is not an
    object (not valid JSON, or JSON of another kind). The values are not
    checked: pass the result to :func:`~ttvkit.events.validate_properties`.
    """
    if isinstance(value, str):
        try:
            value = load_json(value)
        except (ValueError, RecursionError) as exc:
            problem = (
                f"{exc.msg} at character {exc.pos}"
                if isinstance(exc, json.JSONDecodeError)
                else value_problem(exc)
            )
            raise ValueError(
                f"is not valid JSON ({problem}); the column must "
                'hold a JSON object such as {"plan": "pro"}'
            ) from None
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    raise ValueError(
        f"holds {json_kind(value)}, not a JSON object; properties must be an object "
        'such as {"plan": "pro"}'
    )


#: The decimal marks a CSV file's numbers may be written with.
DECIMALS: Final = (".", ",")

COMMA_NUMBER: Final = r"-?(0|[1-9][0-9]{0,2}(\.[0-9]{3})+|[1-9][0-9]*)(,[0-9]+)?"
"""A number as spreadsheets of much of Europe write it, as a regular expression (Python's
and RE2, the one rule of the readers and of DuckDB): digits, grouped in threes by points
or not (``1.234.567``), then perhaps a comma and a fraction (``3,5``); no exponent. Its
value is the text without its points, the comma read as the point."""
_COMMA_NUMBER: Final = re.compile(COMMA_NUMBER)


def check_decimal(value: object) -> str:
    """*value* as a CSV file's decimal mark (one of :data:`DECIMALS`), or a
    ConfigurationError saying so."""
    if isinstance(value, str) and value in DECIMALS:
        return value
    raise ConfigurationError(
        f"decimal={value!r}: pass '.' (numbers as 3.5, the default) or ',' (numbers as 3,5)"
    )


def comma_number(text: str) -> tuple[str, str | None] | None:
    """*text* as a number written with a decimal comma (:data:`COMMA_NUMBER`): its
    integer part's digits and its fraction's (None without one), or None when it is no
    such number. ``"1.234,50"`` is ``("1234", "50")``, ``"12"`` ``("12", None)``."""
    match = _COMMA_NUMBER.fullmatch(text)
    if match is None:
        return None
    digits = match.group(1).replace(".", "")
    fraction = match.group(3)
    return ("-" if text.startswith("-") else "") + digits, fraction and fraction[1:]


def infer_scalar(text: str, decimal: str = ".") -> JSONValue:
    """A CSV cell as a JSON scalar: a JSON number or ``true``/``false``, else the text.

    Integers beyond 64 bits and numbers that overflow a float stay text, so a long
    numeric id is kept rather than rejected. With *decimal* ``","`` a number is
    written as :data:`COMMA_NUMBER` says (``3,5``, ``1.234,50``, ``1.234``; no
    exponent), and ``3.5`` is text, as pandas reads ``decimal=","``.
    """
    if text == "true":
        return True
    if text == "false":
        return False
    if decimal == ",":
        parts = comma_number(text)
        if parts is None:
            return text
        whole = parts[1] is None
        number_text = parts[0] if whole else f"{parts[0]}.{parts[1]}"
    else:
        match = _NUMBER.fullmatch(text)
        if match is None:
            return text
        whole = match.group(1) is None and match.group(2) is None
        number_text = text
    if whole:
        if len(number_text) > 20:  # beyond 64 bits (and perhaps beyond int()'s digit limit)
            return text
        number = int(number_text)
        return number if -_INT64 <= number < _INT64 else text
    real = float(number_text)
    return real if math.isfinite(real) else text


def jsonable(value: object) -> object:
    """Plain Python for a value from a DataFrame or Arrow: numpy scalars and arrays
    (as lists), datetimes."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(UTC)
        return _plain_datetime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if type(value).__module__ == "numpy":
        if type(value).__name__ == "ndarray":
            # an Arrow-backed list cell in pandas (pd.ArrowDtype(pa.list_(...)), what
            # read_parquet(dtype_backend="pyarrow") gives), or an array in an object column
            items: list[object] = value.tolist()  # type: ignore[attr-defined]
            return [jsonable(item) for item in items]
        if hasattr(value, "item"):
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
    return InvalidEventError(f"timestamp={shown(value)}: {problem}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def unit_micros(unit: TimestampUnit | None) -> int:
    """Microseconds in one *unit* of an epoch number (``None``: seconds)."""
    return _UNIT_MICROSECONDS[unit or "s"]


def range_problem(unit: TimestampUnit | None, *, epoch: bool) -> str:
    """What is wrong with a timestamp outside the supported range: an *epoch* number
    read in *unit*, or a date and time."""
    supported = f"{MIN_TIMESTAMP.isoformat()} to {MAX_TIMESTAMP.isoformat()}"
    if not epoch:
        return f"is outside the supported range {supported}"
    if unit in (None, "s"):
        hint = "check the unit (milliseconds? pass timestamp_unit='ms')"
    else:
        hint = "check timestamp_unit"
    return f"is out of range as epoch {_UNIT_NAMES[unit or 's']} (supported: {supported}); {hint}"


def _out_of_range(value: object, unit: TimestampUnit | None) -> InvalidEventError:
    """The error for a timestamp outside the supported range, showing *value* as given."""
    epoch = _is_number(value) or (unit is not None and isinstance(value, str))
    return _fail(value, range_problem(unit, epoch=epoch))


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
        elif parsed is not None and parsed.tzinfo is None:
            raise _fail(
                given,
                "has no UTC offset; add one, e.g. 'Z' or '+02:00', instead of guessing, "
                f"or {ZONE_ADVICE}",
            )
    elif isinstance(value, datetime):
        value = _plain_datetime(value)
        if zone is None and (value.tzinfo is None or value.utcoffset() is None):
            raise _fail(given, f"is a naive datetime (a time without a zone); {ZONE_ADVICE}")
    if isinstance(value, datetime):
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
