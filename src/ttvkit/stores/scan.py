"""scan(): events at rest (Parquet, CSV, JSON lines) and DataFrames, read in DuckDB.

:func:`scan` returns a read-only :class:`ScanSource`. DuckDB reads the files
(or the DataFrame's columns, without a copy where Arrow allows) and a view
normalises them to the *canonical relation* of :mod:`ttvkit.stores.duckdb`;
no :class:`~ttvkit.ValueEvent` is built per row unless someone asks for
``events()``. The view computes the ``properties`` JSON object only for the
queries that read it.

Validation is the readers' (:mod:`ttvkit.io`), message for message: when
``scan()`` is called, one pass over the input checks every row in the engine
with conservative rules (a row passes only when the engine is sure the reader
would accept it and read it to the same event). When every row passes, that
is all. When one does not, or the layout is wrong (a misspelt column), the
input is read again by the matching :mod:`ttvkit.io` reader, which raises its
own error for ``on_error="raise"`` or skips and counts bad rows for
``on_error="skip"``; the events it reads then live in an in-memory DuckDB
table. So answers and messages are always the readers'; only the cost of a
dirty input differs (Python per row).

Duplicated event ids count once (rule 1 of :mod:`ttvkit.observations`): when
the copies are identical, the view keeps one; when they differ, the input
takes the reader's path, whose store keeps the first copy in input order.
Rows without an event id get one from the scan: with ``event_ids="row"``
(the default) a random prefix per scan and the row's number, so every row is
an event, as the readers do; with ``event_ids="content"`` a hash of the row's
content, so rows identical in every field count once (what ``ttvkit report``
does with a file).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import hashlib
import importlib
import io
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeAlias, overload

import attrs

from ttvkit._json import canonical, compact
from ttvkit._optional import require
from ttvkit.errors import ConfigurationError
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PROPERTIES_DEPTH,
    MAX_TIMESTAMP,
    ValueEvent,
    new_event_id,
)
from ttvkit.io import (
    MAX_REPORTED_ERRORS,
    ColumnMapping,
    EventReader,
    ReadError,
    from_pandas,
    from_polars,
    read_file,
    read_jsonl,
)
from ttvkit.stores._base import BaseSource
from ttvkit.stores.spark import SparkSource, is_spark_dataframe
from ttvkit.stores.sql.source import DuckDBQueries

if TYPE_CHECKING:
    from ttvkit.stores.duckdb import DuckDBEngine, DuckDBStore

__all__ = ["DataFrameLike", "ScanInput", "ScanSource", "scan"]


class DataFrameLike(Protocol):
    """A pandas or polars DataFrame, or a pyarrow Table (all speak the interchange protocol)."""

    def __dataframe__(self, *args: Any, **kwargs: Any) -> Any: ...


#: What :func:`scan` reads: a path, a glob, a directory, or a table.
ScanInput: TypeAlias = "str | os.PathLike[str] | DataFrameLike"

Format: TypeAlias = Literal["parquet", "csv", "jsonl"]
_SUFFIXES: Final[dict[str, Format]] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_FORMATS: Final = ("parquet", "csv", "jsonl")
# The column DuckDB adds with each Parquet row's file (its row number is "file_row_number").
_FILE_COLUMN: Final = "__ttvkit_file"
# The column scan() adds to a table it reads: each row's position.
_ROW_COLUMN: Final = "__ttvkit_row"
_CHUNK: Final = 50_000
#: How much memory :func:`scan` lets DuckDB take by default before it spills to disk.
DEFAULT_MEMORY_LIMIT: Final = "1GB"
_MEMORY_SIZE: Final = re.compile(r"[0-9]+(\.[0-9]+)? ?(B|[KMGT]i?B)", re.IGNORECASE)
# Conservative bound on the properties' JSON text (the readers' limit is
# 64 KiB of compact JSON): a larger one takes the reader's path, which decides.
_MAX_PROPERTIES_TEXT: Final = 60_000
_MAX_MICROS: Final = (MAX_TIMESTAMP - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
_UNIT_FACTOR: Final = {None: 1_000_000, "s": 1_000_000, "ms": 1_000, "us": 1}
_INTEGER_TYPES: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)
_BIG_INTEGER_TYPES: Final = frozenset({"UBIGINT", "HUGEINT", "UHUGEINT"})
_FLOAT_TYPES: Final = frozenset({"FLOAT", "DOUBLE"})
_NAIVE_TIMESTAMPS: Final = frozenset({"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"})
_AWARE_TIMESTAMPS: Final = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS"})


_INT64: Final = 2**63
# Python's str.isspace(): a text passes when it has a character outside this class.
_NOT_SPACE: Final = r"[^\t\n\x0b\f\r \x{1c}-\x{1f}\x{85}\p{Z}]"
# What the readers parse fast and DuckDB reads to the same instant.
_ISO_BODY: Final = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?"
)
_OFFSET: Final = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
# JSON text the engine keeps only when none of this appears outside its strings
# (numbers beyond 64 bits or a float's range, NaN, Infinity) ...
_RISKY_NUMBERS: Final = r"[0-9]{19}|[eE][+-]?[0-9]{3}|NaN|Infinity"
_JSON_STRING: Final = r'"(?:[^"\\]|\\.)*"'
# ... nor inside them (NUL, lone surrogates; a pair of surrogates takes the reader's path too).
_RISKY_ESCAPES: Final = r"\\u0000|\\u[dD][89a-fA-F]"


def _risky_json(text: str) -> str:
    """SQL: whether the JSON *text* may hold what the readers reject or read differently."""
    numbers = f"regexp_replace({text}, {_lit(_JSON_STRING)}, '\"\"', 'g')"
    risky = _lit(_RISKY_NUMBERS)
    # Nesting: fewer opening brackets than the depth limit cannot nest deeper
    # (brackets inside strings count too: only ever on the safe side).
    brackets = f"(strlen({text}) - strlen(regexp_replace({text}, '[\\[{{]', '', 'g')))"
    # The cheap test first; strings are taken out only when it matches somewhere.
    return (
        f"((regexp_matches({text}, {risky}) AND regexp_matches({numbers}, {risky})) "
        f"OR regexp_matches({text}, {_lit(_RISKY_ESCAPES)}) "
        f"OR {brackets} > {MAX_PROPERTIES_DEPTH})"
    )


# A compact JSON object whose values are plain strings (no escapes, no
# control characters), booleans, nulls, or numbers of at most 18 digits
# before and 17 after the point without an exponent: valid, an object, flat,
# and clear of everything _risky_json looks for. In such text no string holds
# a quote.
_PLAIN_STRING: Final = r'"[^"\\\x00-\x1f]*"'
_PLAIN_VALUE: Final = (
    rf"({_PLAIN_STRING}|true|false|null|-?(0|[1-9][0-9]{{0,17}})(\.[0-9]{{1,17}})?)"
)
_PLAIN_PAIR: Final = rf"{_PLAIN_STRING}:{_PLAIN_VALUE}"
_PLAIN_OBJECT: Final = rf"\{{({_PLAIN_PAIR}(,{_PLAIN_PAIR})*)?\}}"


def _object_ok(text: str, checked: str) -> str:
    """SQL: whether the JSON *text* is a property object the readers take.

    *checked* is the full test. Most objects are plain (see _PLAIN_OBJECT)
    and take a cheaper one: a CASE evaluates a branch only for the rows that
    reach it. A plain object without ',"' has at most one key; with more,
    its keys are compared.
    """
    keys = f"json_keys({text})"
    return (
        f"CASE WHEN {text} = '{{}}' THEN TRUE "
        f"WHEN strlen({text}) <= {_MAX_PROPERTIES_TEXT} "
        f"AND regexp_full_match({text}, {_lit(_PLAIN_OBJECT)}) "
        f"THEN (NOT contains({text}, ',\"') OR list_unique({keys}) = len({keys})) "
        f"ELSE {checked} END"
    )


_ROW_OK: Final = (
    f"row_ok AND (properties IS NULL OR (json_valid(properties) "
    f"AND strlen(properties) <= {_MAX_PROPERTIES_TEXT}))"
)
_CSV_NUMBER: Final = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?"


def _lit(text: str) -> str:
    from ttvkit.stores.duckdb import quote_literal

    return quote_literal(text)


def _ident(name: str) -> str:
    from ttvkit.stores.duckdb import quote_identifier

    return quote_identifier(name)


def _micros_of(column: str, kind: str) -> str:
    """Integer microseconds of a timestamp column; nanoseconds truncated, as the readers do."""
    if kind.endswith("_NS"):
        return f"(epoch_ns({column}) // 1000)"
    return f"epoch_us({column})"


def _json_key(key: str) -> str:
    """The SQL literal of a JSON object key, as ``"key":`` text."""
    return _lit(compact(key) + ":")


def _pointer(key: str) -> str:
    """The SQL literal of the JSON pointer to a top-level *key*."""
    return _lit("/" + key.replace("~", "~0").replace("/", "~1"))


def _is_utc(zone: tzinfo | None) -> bool:
    if zone is None:
        return False
    now = datetime(2000, 1, 1)
    return (
        zone is UTC
        or zone == UTC
        or (
            getattr(zone, "key", None) in ("UTC", "Etc/UTC") and zone.utcoffset(now) == timedelta(0)
        )
    )


class _Dirty(Exception):
    """The input needs the reader's path (a layout the fast path does not take)."""


class _Field:
    """A canonical field's SQL: its value, and whether the engine vouches for the row."""

    __slots__ = ("ok", "value")

    def __init__(self, value: str, ok: str) -> None:
        self.value = value
        self.ok = ok


class _Plan:
    """The SQL that normalises one raw relation to the canonical one."""

    def __init__(
        self,
        columns: dict[str, str],
        mapping: ColumnMapping,
        *,
        text: bool,
        infer_types: bool,
        zone: tzinfo | None,
        unit: str | None,
    ) -> None:
        self.columns = columns
        self.mapping = mapping
        self.text = text
        self.infer_types = infer_types
        self.zone_is_utc = _is_utc(zone)
        self.unit = unit

    # -- generic column expressions ------------------------------------------------------

    def missing(self, column: str) -> str:
        c = _ident(column)
        kind = self.columns[column]
        if self.text and kind == "VARCHAR":
            return f"({c} IS NULL OR {c} = '')"
        if kind in _FLOAT_TYPES:
            return f"({c} IS NULL OR isnan({c}))"
        return f"({c} IS NULL)"

    @staticmethod
    def text_ok(expr: str, limit: int) -> str:
        # The common case first, in byte comparisons (a CASE evaluates its ELSE
        # only for the rows its WHEN rejects): no more bytes than the limit (so
        # no more characters), and a first byte that is printable ASCII other
        # than a space (so not all of it is white space).
        full = f"(length({expr}) <= {limit} AND regexp_matches({expr}, {_lit(_NOT_SPACE)}))"
        return (
            f"(NOT contains({expr}, chr(0)) AND CASE WHEN strlen({expr}) <= {limit} "
            f"AND {expr} >= '!' AND {expr} < chr(127) THEN TRUE ELSE {full} END)"
        )

    def id_field(self, column: str | None, limit: int, *, required: bool, name: bool) -> _Field:
        if column is None:
            return _Field("NULL::VARCHAR", "TRUE")
        c = _ident(column)
        kind = self.columns[column]
        missing = self.missing(column)
        absent_ok = "FALSE" if required else "TRUE"
        if kind == "VARCHAR":
            # The bare column where only NULL is missing: the engine can then push a
            # question's conditions on it down into the file reader.
            value = (
                c if missing == f"({c} IS NULL)" else f"CASE WHEN {missing} THEN NULL ELSE {c} END"
            )
            return _Field(
                value, f"CASE WHEN {missing} THEN {absent_ok} ELSE {self.text_ok(c, limit)} END"
            )
        if kind in _INTEGER_TYPES and not name:
            value = f"CAST({c} AS VARCHAR)"
            return _Field(value, f"CASE WHEN {missing} THEN {absent_ok} ELSE TRUE END")
        # Floats, decimals, nested values: the reader says what is wrong.
        return _Field("NULL::VARCHAR", f"{missing} AND {absent_ok}")

    def timestamp(self) -> _Field:
        column = self.mapping.timestamp
        c = _ident(column)
        kind = self.columns[column]
        if kind in _AWARE_TIMESTAMPS or (kind in _NAIVE_TIMESTAMPS and self.zone_is_utc):
            micros = _micros_of(c, kind)
        elif kind == "VARCHAR":
            micros = self._text_micros(c)
        elif kind in _INTEGER_TYPES:
            micros = f"(CAST({c} AS HUGEINT) * {_UNIT_FACTOR[self.unit]})"
        elif kind in _FLOAT_TYPES:
            micros = (
                f"CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 "
                f"THEN CAST({c} AS HUGEINT) * {_UNIT_FACTOR[self.unit]} END"
            )
        else:
            micros = "NULL::HUGEINT"
        value = f"CAST({micros} AS BIGINT)"
        ok = f"COALESCE({micros} >= 0 AND {micros} < {_MAX_MICROS}, FALSE)"
        return _Field(value, ok)

    def _text_micros(self, c: str) -> str:
        parts: list[str] = []
        if self.unit is not None:
            parts.append(
                f"WHEN regexp_full_match({c}, '[+-]?[0-9]{{1,15}}') "
                f"THEN CAST({c} AS HUGEINT) * {_UNIT_FACTOR[self.unit]}"
            )
        parts.append(
            f"WHEN regexp_full_match({c}, {_lit(_ISO_BODY + _OFFSET)}) "
            f"THEN epoch_us(TRY_CAST({c} AS TIMESTAMPTZ))"
        )
        if self.zone_is_utc:
            parts.append(
                f"WHEN regexp_full_match({c}, {_lit(_ISO_BODY)}) "
                f"THEN epoch_us(TRY_CAST({c} AS TIMESTAMP))"
            )
        return f"(CASE {' '.join(parts)} END)"

    # -- properties ----------------------------------------------------------------------

    def object_column(self, column: str | None) -> tuple[str, str, str]:
        """(minified JSON object text or NULL, ok, the object's keys as a list)."""
        if column is None:
            return "NULL::VARCHAR", "TRUE", "[]::VARCHAR[]"
        c = _ident(column)
        kind = self.columns[column]
        missing = self.missing(column)
        if kind not in ("VARCHAR", "JSON"):
            return "NULL::VARCHAR", missing, "[]::VARCHAR[]"
        checked = (
            f"(json_valid({c}) AND json_type({c}) = 'OBJECT' AND strlen({c}) <= "
            f"{_MAX_PROPERTIES_TEXT} AND NOT {_risky_json(c)} "
            f"AND len(json_keys({c})) = len(list_distinct(json_keys({c}))))"
        )
        valid = _object_ok(c, checked)
        ok = f"({missing} OR COALESCE({valid}, FALSE))"
        value = f"CASE WHEN {missing} THEN NULL ELSE json({c})::VARCHAR END"
        keys = f"CASE WHEN {missing} THEN []::VARCHAR[] ELSE json_keys({c}) END"
        return value, ok, keys

    def cell(self, column: str) -> tuple[str, str]:
        """(the JSON text of a property column's cell, ok) for a present cell."""
        c = _ident(column)
        kind = self.columns[column]
        if kind == "VARCHAR":
            plain = f"to_json({c})::VARCHAR"
            if self.text and self.infer_types:
                value = (
                    f"CASE WHEN {c} IN ('true', 'false') THEN {c} "
                    f"WHEN regexp_full_match({c}, '-?(0|[1-9][0-9]*)') "
                    f"THEN CASE WHEN TRY_CAST({c} AS BIGINT) IS NULL THEN {plain} ELSE {c} END "
                    f"WHEN regexp_full_match({c}, {_lit(_CSV_NUMBER)}) THEN {c} "
                    f"ELSE {plain} END"
                )
                # An exponent of three digits may overflow a float: the reader decides.
                ok = f"NOT regexp_full_match({c}, '-?[0-9.]+[eE][+-]?[0-9]{{3,}}')"
                return value, f"(NOT contains({c}, chr(0)) AND {ok})"
            return plain, f"NOT contains({c}, chr(0))"
        if kind == "BOOLEAN":
            return f"CASE WHEN {c} THEN 'true' ELSE 'false' END", "TRUE"
        if kind in _INTEGER_TYPES:
            return f"CAST({c} AS VARCHAR)", "TRUE"
        if kind in _BIG_INTEGER_TYPES:
            return (
                f"CAST({c} AS VARCHAR)",
                f"({c} >= -{_INT64} AND {c} < {_INT64})",
            )
        if kind in _FLOAT_TYPES:
            return f"to_json(CAST({c} AS DOUBLE))::VARCHAR", f"isfinite({c})"
        if kind == "DATE":
            return f"to_json(strftime({c}, '%Y-%m-%d'))::VARCHAR", f"year({c}) >= 1000"
        if kind in _AWARE_TIMESTAMPS | _NAIVE_TIMESTAMPS:
            micros = _micros_of(c, kind)
            naive = f"make_timestamp({micros})"
            fraction = (
                f"CASE WHEN {micros} % 1000000 = 0 THEN '' "
                f"ELSE '.' || lpad(CAST({micros} % 1000000 AS VARCHAR), 6, '0') END"
            )
            offset = "'+00:00'" if kind in _AWARE_TIMESTAMPS else "''"
            text = f"strftime({naive}, '%Y-%m-%dT%H:%M:%S') || {fraction} || {offset}"
            return f"to_json({text})::VARCHAR", f"{micros} >= 0 AND {micros} < {_MAX_MICROS}"
        return "NULL::VARCHAR", "FALSE"


def _resolve(mapping: ColumnMapping, columns: Sequence[str]) -> dict[str, str | None]:
    """The column of each field, as the readers resolve it; raises _Dirty when the reader
    would reject the layout (it then raises its own error)."""
    present = set(columns)
    defaults = ColumnMapping()
    resolved: dict[str, str | None] = {}
    for field in ("user", "name", "timestamp"):
        column = getattr(mapping, field)
        if column not in present:
            raise _Dirty
        resolved[field] = column
    for field in ("account", "event_id", "properties"):
        column = getattr(mapping, field)
        if column is not None and column not in present:
            if column != getattr(defaults, field):
                raise _Dirty
            column = None
        resolved[field] = column
    return resolved


def _mapped(mapping: ColumnMapping) -> set[str]:
    named = [mapping.user, mapping.name, mapping.timestamp]
    named += [c for c in (mapping.properties, mapping.account, mapping.event_id) if c is not None]
    return set(named)


class ScanSource(DuckDBQueries, BaseSource):
    """Events at rest or in a DataFrame, read by DuckDB: a read-only source.

    Made by :func:`scan`. Pass it to any calculator; ``events()`` streams
    the events (oldest first, ties by ``event_id``) for drill-down. It offers
    the engine interface of :mod:`ttvkit.stores.duckdb` (``sql_engine``,
    ``relation_sql``, ``query``). ``skipped`` and ``errors`` tell what
    ``on_error="skip"`` left out, as :class:`~ttvkit.io.EventReader` does.
    """

    events_unique_and_ordered = True
    sql_engine: Final = "duckdb"

    def __init__(
        self,
        engine: DuckDBEngine,
        description: str,
        *,
        in_engine: bool,
        generated: Callable[[str], bool],
        skipped: int = 0,
        errors: tuple[ReadError, ...] = (),
    ) -> None:
        self._engine = engine
        self._generated = generated
        self._description = description
        self._skipped = skipped
        self._errors = errors
        self._in_engine = in_engine

    @property
    def relation_sql(self) -> str:
        """The SQL name of the canonical relation (see :mod:`ttvkit.stores.duckdb`)."""
        return self._engine.relation_sql

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run one parameterised statement on the canonical relation's database."""
        return self._engine.query(sql, params)

    @property
    def skipped(self) -> int:
        """Bad rows skipped (only with ``on_error="skip"``)."""
        return self._skipped

    @property
    def errors(self) -> tuple[ReadError, ...]:
        """The first skipped rows, as :class:`~ttvkit.io.ReadError` objects."""
        return self._errors

    def is_generated_id(self, event_id: str) -> bool:
        """Whether *event_id* was made up by this scan for a row that had none.

        ``ttvkit import`` gives such events an id from their content instead.
        """
        return self._generated(event_id)

    @property
    def read_in_engine(self) -> bool:
        """True when DuckDB reads the input directly; False when a reader's pass was needed."""
        return self._in_engine

    def __repr__(self) -> str:
        how = "in DuckDB" if self._in_engine else "through the ttvkit.io reader"
        state = ", closed" if self._engine._closed else ""
        skipped = f", {self._skipped} skipped" if self._skipped else ""
        return f"<ScanSource {self._description} ({how}{skipped}{state})>"

    def event_names(self) -> frozenset[str]:
        """The distinct event names, by one ``SELECT DISTINCT`` in DuckDB."""
        rows = self.query(f"SELECT DISTINCT name FROM {self.relation_sql}", [])
        return frozenset(str(r[0]) for r in rows if r[0] is not None)

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        self._engine._check_open()
        sql, params = self._engine._events_sql(names, users, since, until)
        return self._engine._stream(sql, params)

    def latest_timestamp(self) -> datetime | None:
        return self._engine._latest_timestamp()

    def count(self) -> int:
        """How many events the input holds (duplicate ids once, skipped rows not at all)."""
        return self._engine._count()

    def close(self) -> None:
        """Release DuckDB's memory and files; idempotent. Further use raises StoreError."""
        self._engine._close()


# --- resolving the input --------------------------------------------------------------


def _frame_kind(source: object) -> str | None:
    module = type(source).__module__.split(".")[0]
    if module == "pandas" and type(source).__name__ == "DataFrame":
        return "pandas"
    if module == "polars" and type(source).__name__ == "DataFrame":
        return "polars"
    if module == "pyarrow" and type(source).__name__ in ("Table", "RecordBatch"):
        return "pyarrow"
    return None


def is_frame(source: object) -> bool:
    """Whether *source* is a table :func:`scan` reads (pandas, polars, pyarrow)."""
    return _frame_kind(source) is not None


def _format_of(path: str, format: str | None) -> Format:
    if format is not None:
        if format not in _FORMATS:
            raise ConfigurationError(f"format={format!r}: pass one of {', '.join(_FORMATS)}")
        return format  # type: ignore[return-value]
    lowered = path.lower().removesuffix(".gz")
    for suffix, kind in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return kind
    raise ConfigurationError(
        f"cannot tell the format of {path!r} from its name; pass format= one of "
        f"{', '.join(_FORMATS)}"
    )


def _files(source: str | os.PathLike[str], format: str | None) -> tuple[list[str], Format]:
    path = os.fspath(source)
    if os.path.isdir(path):
        found = sorted(
            os.path.join(path, n)
            for n in os.listdir(path)
            if os.path.isfile(os.path.join(path, n))
            and (format is not None or n.lower().removesuffix(".gz").endswith(tuple(_SUFFIXES)))
        )
        if not found:
            raise ConfigurationError(
                f"directory {path!r} holds no .parquet, .csv or .jsonl files; pass a file "
                "or a glob such as 'exports/*.parquet'"
            )
    elif glob.has_magic(path):
        found = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not found:
            raise ConfigurationError(f"no file matches {path!r}; check the pattern")
    else:
        if not os.path.exists(path):
            raise ConfigurationError(f"{path!r} does not exist; check the path")
        found = [path]
    kinds = {_format_of(p, format) for p in found}
    if len(kinds) > 1:
        raise ConfigurationError(
            f"{path!r} mixes formats ({', '.join(sorted(kinds))}); scan one format at a time "
            "or pass format="
        )
    return found, kinds.pop()


def _csv_header(path: str, delimiter: str) -> list[str] | None:
    opener: Any = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as file:
            return next(csv.reader(file, delimiter=delimiter), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


# --- scan -------------------------------------------------------------------------------


@overload
def scan(
    source: ScanInput,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: Literal["s", "ms", "us"] | None = None,
    delimiter: str = ",",
    infer_types: bool = True,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    engine: Literal["duckdb"] | None = None,
    spark: None = None,
) -> ScanSource: ...


@overload
def scan(
    source: Any,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: Literal["s", "ms", "us"] | None = None,
    delimiter: str = ",",
    infer_types: bool = True,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    engine: Literal["spark"],
    spark: Any = None,
) -> SparkSource: ...


def scan(
    source: Any,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: Literal["s", "ms", "us"] | None = None,
    delimiter: str = ",",
    infer_types: bool = True,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    engine: Literal["duckdb", "spark"] | None = None,
    spark: Any = None,
) -> ScanSource | SparkSource:
    """Read events at rest, or a DataFrame, in DuckDB: a read-only source for the calculators.

    *source* is a Parquet, CSV or JSON-lines file (``.gz`` too), a glob
    (``"exports/*.parquet"``, ``**`` for subdirectories), a directory of such
    files, or a pandas or polars DataFrame or a pyarrow Table. *format*
    (``"parquet"``, ``"csv"``, ``"jsonl"``) is taken from the file names when
    not given. *mapping*, *on_error*, *assume_timezone*, *timestamp_unit*,
    *delimiter* and *infer_types* mean what they mean for the
    :mod:`ttvkit.io` readers, with the same validation and messages.
    *event_ids* says what id a row without one gets: ``"row"`` a new one per
    row (every row is an event), ``"content"`` one made from its content (rows
    identical in every field are one event sent twice, and count once).
    *memory_limit* caps the memory DuckDB takes for the scan (DuckDB's size
    syntax: ``"1GB"``, ``"512MiB"``); beyond it, DuckDB spills to a private
    temporary directory that closing the source removes. ``None`` leaves
    DuckDB's own default, 80 % of the machine's memory: faster on the largest
    inputs when the memory is there to take.

    Needs ``pip install 'ttvkit[duckdb]'``. Close the source when done (or
    use ``with``); the calculators close one they open themselves.

    A pyspark DataFrame, or ``engine="spark"`` with a path Spark reads
    (``"s3a://bucket/events/*.parquet"``, *format* any of ``spark.read``'s,
    *spark* the session, by default the active one), gives a
    :class:`~ttvkit.stores.spark.SparkSource` instead, computed by Spark
    (``pip install 'ttvkit[spark]'``; see ``docs/spark.md``).

    >>> with scan("exports/*.parquet") as events:           # doctest: +SKIP
    ...     ttv.time_to_value(events, first_report)
    """
    if engine == "spark" or (engine is None and is_spark_dataframe(source)):
        return _spark_source(source, mapping=mapping, format=format, spark=spark)
    if engine not in (None, "duckdb"):
        raise ConfigurationError(f"engine={engine!r}: pass 'duckdb' or 'spark'")
    from ttvkit.stores.duckdb import DuckDBEngine, DuckDBStore

    mapping = ColumnMapping() if mapping is None else mapping
    if not isinstance(mapping, ColumnMapping):
        raise ConfigurationError(
            f"mapping must be a ColumnMapping, not {type(mapping).__name__}; "
            "e.g. mapping=ColumnMapping(user='distinct_id', name='event')"
        )
    if on_error not in ("raise", "skip"):
        raise ConfigurationError(f"on_error={on_error!r}: pass 'raise' or 'skip'")
    if event_ids not in ("row", "content"):
        raise ConfigurationError(f"event_ids={event_ids!r}: pass 'row' or 'content'")
    if memory_limit is not None and (
        not isinstance(memory_limit, str) or not _MEMORY_SIZE.fullmatch(memory_limit)
    ):
        raise ConfigurationError(
            f"memory_limit={memory_limit!r}: pass a size such as '1GB' or '512MiB', or None "
            "for DuckDB's default"
        )
    options: dict[str, Any] = {
        "mapping": mapping,
        "on_error": on_error,
        "assume_timezone": assume_timezone,
        "timestamp_unit": timestamp_unit,
    }
    kind = _frame_kind(source)
    if kind is not None:
        description = f"{kind} table of {_frame_rows(source):,} rows"
        frame: Any = source
        frame_kind: str = kind

        def readers() -> list[EventReader]:
            return [_frame_reader(frame, frame_kind, options)]

        fmt: Format | None = None
        files: list[str] = []
    elif isinstance(source, str | os.PathLike):
        files, fmt = _files(source, format)
        description = repr(os.fspath(source))
        csv_options = {"delimiter": delimiter, "infer_types": infer_types}

        def readers() -> list[EventReader]:
            extra = csv_options if fmt == "csv" else {}
            return [read_file(p, format=fmt, **options, **extra) for p in files]
    else:
        raise ConfigurationError(
            f"scan() takes a path, a glob, a directory, or a pandas/polars DataFrame or "
            f"pyarrow Table, not {type(source).__name__}"
        )
    # The readers' checks of the options, with their messages (a bad unit or zone).
    read_jsonl(io.StringIO(""), **options)

    duck = DuckDBEngine(":memory:", what=f"scan of {description}", relation="ttv_scan")
    try:
        generated = _fast_path(
            duck,
            source if kind is not None else files,
            kind or fmt,
            mapping,
            assume_timezone=assume_timezone,
            timestamp_unit=timestamp_unit,
            delimiter=delimiter,
            infer_types=infer_types,
            event_ids=event_ids,
            memory_limit=memory_limit,
        )
        if generated is not None:
            prefix = generated
            return ScanSource(
                duck,
                description,
                in_engine=True,
                generated=lambda event_id: event_id.startswith(prefix),
            )
    except BaseException:
        duck._close()
        raise
    duck._close()
    store = DuckDBStore(":memory:")
    made_up = _MadeUpSince()
    try:
        skipped, errors = _load(store, readers(), made_up if event_ids == "content" else None)
    except BaseException:
        store.close()
        raise
    made_up.stop()
    return ScanSource(
        store, description, in_engine=False, generated=made_up, skipped=skipped, errors=errors
    )


def _frame_rows(source: Any) -> int:
    rows = getattr(source, "num_rows", None)
    return int(rows) if rows is not None else len(source)


def _arrow(source: Any, kind: str) -> Any:
    """*source* as a pyarrow Table, or None when the fast path cannot take it.

    pandas goes through Arrow, not DuckDB's own pandas scan, which would turn
    an object column mixing numbers and text into text silently.
    """
    try:
        pa: Any = importlib.import_module("pyarrow")
    except ImportError:
        return None
    try:
        if kind == "pandas":
            table = pa.Table.from_pandas(source, preserve_index=False)
        elif kind == "polars":
            table = source.to_arrow()
        elif isinstance(source, pa.RecordBatch):
            table = pa.Table.from_batches([source])
        else:
            table = source
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    names = [str(n) for n in table.schema.names]
    if len(set(names)) != len(names) or "" in names or _ROW_COLUMN in names:
        return None
    # Each row's position, for the ids of rows without one (8 bytes a row, no window).
    return table.append_column(_ROW_COLUMN, pa.array(range(table.num_rows), pa.int64()))


def _frame_reader(source: Any, kind: str, options: dict[str, Any]) -> EventReader:
    if kind == "pandas":
        return from_pandas(source, **options)
    if kind == "polars":
        return from_polars(source, **options)
    # pyarrow: the Parquet reader reads Arrow types exactly as from a file.
    pa: Any = importlib.import_module("pyarrow")
    pq: Any = importlib.import_module("pyarrow.parquet")

    buffer = io.BytesIO()
    table = pa.Table.from_batches([source]) if isinstance(source, pa.RecordBatch) else source
    pq.write_table(table, buffer)
    buffer.seek(0)
    buffer.name = "DataFrame"  # what messages call a table
    return read_file(buffer, format="parquet", **options)  # type: ignore[arg-type]


class _MadeUpSince:
    """Tells the ids :func:`~ttvkit.events.new_event_id` made in this process since now.

    Such an id is a random per-process prefix of 20 hex characters and a
    counter of 12; an id read from a file that this process wrote earlier has
    the same prefix but a smaller counter.
    """

    def __init__(self) -> None:
        first = new_event_id()
        self._prefix = first[:20]
        self._after = int(first[20:], 16)
        self._before: int | None = None

    def stop(self) -> None:
        """From now on, ids made later are not counted."""
        self._before = int(new_event_id()[20:], 16)

    def __call__(self, event_id: str) -> bool:
        if len(event_id) != 32 or not event_id.startswith(self._prefix):
            return False
        try:
            counter = int(event_id[20:], 16)
        except ValueError:
            return False
        return self._after < counter and (self._before is None or counter < self._before)


def _content_event(event: ValueEvent) -> ValueEvent:
    content = [
        event.user_id,
        event.account_id,
        event.name,
        event.timestamp.isoformat(),
        event.to_dict()["properties"],
    ]
    text = canonical(content)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:31]
    return attrs.evolve(event, event_id="c" + digest)


def _load(
    store: DuckDBStore, readers: Iterable[EventReader], content_ids: _MadeUpSince | None
) -> tuple[int, tuple[ReadError, ...]]:
    """Read every reader into *store*; return the rows skipped and the first errors.

    With *content_ids*, an event whose id the reader made up gets one from its content.
    """
    skipped = 0
    errors: list[ReadError] = []
    for reader in readers:
        batch: list[ValueEvent] = []
        for event in reader:
            if content_ids is not None and content_ids(event.event_id):
                event = _content_event(event)
            batch.append(event)
            if len(batch) >= _CHUNK:
                store.append(batch)
                batch = []
        if batch:
            store.append(batch)
        skipped += reader.skipped
        errors.extend(reader.errors)
    return skipped, tuple(errors[:MAX_REPORTED_ERRORS])


def _fast_path(
    engine: DuckDBEngine,
    source: Any,
    kind: str | None,
    mapping: ColumnMapping,
    *,
    assume_timezone: tzinfo | None,
    timestamp_unit: str | None,
    delimiter: str,
    infer_types: bool,
    event_ids: str,
    memory_limit: str | None,
) -> str | None:
    """Define the canonical view over *source* when the engine vouches for every row.

    Returns the prefix of the ids it makes up for rows without one, or None
    when the input needs the reader's path.
    """
    import duckdb

    connection = engine._connection
    try:
        with contextlib.suppress(duckdb.Error):
            connection.execute("SET TimeZone = 'UTC'")
        if memory_limit is not None:
            # DuckDB creates the directory when it first spills, and removes
            # what it created when the connection closes.
            spill = os.path.join(tempfile.gettempdir(), f"ttvkit-scan-{uuid.uuid4().hex}")
            connection.execute(f"SET memory_limit = {_lit(memory_limit)}")
            connection.execute(f"SET temp_directory = {_lit(spill)}")
        if kind in ("pandas", "polars", "pyarrow"):
            table = _arrow(source, kind)
            if table is None:
                return None
            # A registered table is visible to the connection that registered
            # it: every cursor of the engine registers it again (no copy).
            engine._on_cursor = lambda cursor: cursor.register("ttv_input", table)
            connection.register("ttv_input", table)
            raw = "ttv_input"
        elif kind == "parquet":
            raw = (
                f"read_parquet([{', '.join(map(_lit, source))}], union_by_name = true, "
                f"filename = {_lit(_FILE_COLUMN)}, file_row_number = true)"
            )
        elif kind == "csv":
            if len(delimiter) != 1:
                return None
            for path in source:
                header = _csv_header(path, delimiter)
                if not header or len(set(header)) != len(header) or "" in header:
                    return None
            raw = (
                f"read_csv([{', '.join(map(_lit, source))}], header = true, all_varchar = true, "
                f"delim = {_lit(delimiter)}, quote = '\"', escape = '\"', "
                "union_by_name = true, auto_detect = true)"
            )
        else:
            raw = _jsonl_raw(source, mapping)
        described = connection.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
        columns = {str(row[0]): str(row[1]) for row in described}
        # Where a row is, when the input says: the ids of rows without one need no window.
        where: str | None = None
        if kind == "parquet":
            del columns[_FILE_COLUMN], columns["file_row_number"]
            where = f"{_ident(_FILE_COLUMN)} AS ttv_file, file_row_number AS ttv_row"
        elif kind in ("pandas", "polars", "pyarrow"):
            del columns[_ROW_COLUMN]
            where = f"'' AS ttv_file, {_ident(_ROW_COLUMN)} AS ttv_row"
        if kind == "csv":
            headers = [_csv_header(p, delimiter) or [] for p in source]
            if set(columns) != {c for h in headers for c in h}:
                return None
        if kind == "jsonl":
            select, ok = _jsonl_select(mapping, timestamp_unit, assume_timezone)
        else:
            resolved = _resolve(mapping, list(columns))
            plan = _Plan(
                columns,
                mapping,
                text=kind == "csv",
                infer_types=infer_types,
                zone=assume_timezone,
                unit=timestamp_unit,
            )
            select, ok = _fixed_select(plan, resolved, mapping, list(columns))
            if where is not None:
                select += f", {where}"
        prefix = uuid.uuid4().hex[:16]
        connection.execute(
            f"CREATE VIEW ttv_checked AS SELECT *, {ok} AS ttv_ok FROM (SELECT {select} FROM {raw})"
        )
        bad, duplicates = connection.execute(
            "SELECT count(*) FILTER (WHERE NOT ttv_ok), "
            "count(event_id) - count(DISTINCT event_id) FROM ttv_checked"
        ).fetchone() or (1, 0)
        if bad:
            return None
        if duplicates:  # only then: do the copies of an id differ?
            (conflicting,) = connection.execute(
                "SELECT count(*) FROM (SELECT event_id FROM ttv_checked WHERE event_id IS NOT NULL "
                "GROUP BY event_id HAVING count(DISTINCT (user_id, account_id, name, ts, "
                "properties)) > 1)"
            ).fetchone() or (1,)
            if conflicting:
                return None
        # Ids for rows without one: unique in this scan, stable within a query.
        if event_ids == "content":
            content = (
                "concat_ws(chr(1), user_id, COALESCE(account_id, chr(2)), name, "
                "CAST(ts AS VARCHAR), COALESCE(properties, chr(2)))"
            )
            identified = f"COALESCE(event_id, {_lit(prefix + '-')} || md5({content}))"
        elif where is not None:
            identified = (
                f"COALESCE(event_id, {_lit(prefix + '-')} || CAST(ttv_row AS VARCHAR) || '@' "
                "|| ttv_file)"
            )
        else:
            # A window over the whole input, computed only by queries that read event_id.
            identified = (
                f"COALESCE(event_id, {_lit(prefix + '-')} || CAST(row_number() OVER () AS VARCHAR))"
            )
        body = (
            f"SELECT {identified} AS event_id, user_id, account_id, name, ts, "
            f"properties::JSON AS properties FROM ttv_checked"
        )
        if duplicates or event_ids == "content":
            body = f"SELECT DISTINCT ON (event_id) * FROM ({body})"
        connection.execute(f"CREATE VIEW ttv_scan AS {body}")

    except _Dirty:
        return None
    except duckdb.Error:
        # DuckDB could not read the input as the fast path needs (a ragged CSV,
        # an encoding): the reader reads it, and says what is wrong if anything.
        return None
    return prefix + "-"


def _fixed_select(
    plan: _Plan, resolved: dict[str, str | None], mapping: ColumnMapping, columns: list[str]
) -> tuple[str, str]:
    user = plan.id_field(resolved["user"], MAX_ID_LENGTH, required=True, name=False)
    name = plan.id_field(resolved["name"], MAX_NAME_LENGTH, required=True, name=True)
    account = plan.id_field(resolved["account"], MAX_ID_LENGTH, required=False, name=False)
    event_id = plan.id_field(resolved["event_id"], MAX_ID_LENGTH, required=False, name=False)
    ts = plan.timestamp()
    base, base_ok, base_keys = plan.object_column(resolved["properties"])
    mapped = _mapped(mapping)
    if mapping.property_columns == "*":
        folded = [c for c in columns if c and c not in mapped]
    else:
        folded = list(mapping.property_columns)
    pairs: list[str] = []
    oks = [user.ok, name.ok, account.ok, event_id.ok, ts.ok, base_ok]
    for column in folded:
        value, ok = plan.cell(column)
        missing = plan.missing(column)
        pairs.append(f"CASE WHEN {missing} THEN NULL ELSE {_json_key(column)} || {value} END")
        clash = f"list_contains({base_keys}, {_lit(column)})"
        oks.append(f"({missing} OR (COALESCE({ok}, FALSE) AND NOT {clash}))")
    folded_text = f"concat_ws(',', {', '.join(pairs)})" if pairs else "''"
    properties = _merge_properties(base, folded_text)
    select = (
        f"{event_id.value} AS event_id, {user.value} AS user_id, {account.value} AS account_id, "
        f"{name.value} AS name, {ts.value} AS ts, {properties} AS properties, "
        f"({' AND '.join(f'COALESCE({o}, FALSE)' for o in oks)}) AS row_ok"
    )
    # Without folded columns the text is the object column's, minified by the engine's
    # JSON parser: valid, and no longer than the checked input.
    return select, _ROW_OK if pairs else "row_ok"


def _merge_properties(base: str, folded: str) -> str:
    return (
        f"CASE WHEN {base} IS NOT NULL AND {base} <> '{{}}' AND {folded} <> '' "
        f"THEN left({base}, -1) || ',' || {folded} || '}}' "
        f"WHEN {base} IS NOT NULL AND {base} <> '{{}}' THEN {base} "
        f"WHEN {folded} <> '' THEN '{{' || {folded} || '}}' END"
    )


def _jsonl_raw(files: Sequence[str], mapping: ColumnMapping) -> str:
    """One row per JSON line: the line ``j``, the mapped keys' values ``v``, its keys ``k``
    and its type ``t``, each parsed once."""
    read = f"read_ndjson_objects([{', '.join(map(_lit, files))}])"
    pointers = ", ".join(_pointer(key) for key in _jsonl_keys(mapping))
    return (
        f"(SELECT json AS j, json_extract(json, [{pointers}]) AS v, json_keys(json) AS k, "
        f"json_type(json) AS t FROM {read})"
    )


def _jsonl_keys(mapping: ColumnMapping) -> list[str]:
    """The keys the mapping reads, in the order of ``v`` in :func:`_jsonl_raw`."""
    keys = [mapping.user, mapping.name, mapping.timestamp]
    keys += [k for k in (mapping.account, mapping.event_id, mapping.properties) if k is not None]
    return keys


def _jsonl_select(mapping: ColumnMapping, unit: str | None, zone: tzinfo | None) -> tuple[str, str]:
    """The canonical fields of one JSON object per line (see :func:`_jsonl_raw`)."""
    j = "j"
    utc = _is_utc(zone)
    position = {key: i + 1 for i, key in enumerate(_jsonl_keys(mapping))}

    def value(key: str) -> str:
        return f"v[{position[key]}]"

    def kind(key: str) -> str:
        return f"json_type({value(key)})"

    def text(key: str) -> str:
        return f"json_extract_string({value(key)}, '$')"

    def missing(key: str) -> str:
        return f"({value(key)} IS NULL OR {kind(key)} = 'NULL')"

    def id_field(key: str | None, limit: int, required: bool, name: bool) -> _Field:
        if key is None:
            return _Field("NULL::VARCHAR", "TRUE")
        absent_ok = "FALSE" if required else "TRUE"
        integer = "FALSE" if name else f"{kind(key)} IN ('BIGINT', 'UBIGINT')"
        result = f"CASE WHEN {kind(key)} = 'VARCHAR' OR {integer} THEN {text(key)} END"
        ok = (
            f"CASE WHEN {missing(key)} THEN {absent_ok} "
            f"WHEN {kind(key)} = 'VARCHAR' THEN {_Plan.text_ok(text(key), limit)} "
            f"ELSE {integer} END"
        )
        return _Field(result, ok)

    user = id_field(mapping.user, MAX_ID_LENGTH, True, False)
    name = id_field(mapping.name, MAX_NAME_LENGTH, True, True)
    account = id_field(mapping.account, MAX_ID_LENGTH, False, False)
    event_id = id_field(mapping.event_id, MAX_ID_LENGTH, False, False)
    t = mapping.timestamp
    factor = _UNIT_FACTOR[unit]
    t_text = text(t)
    texts = [
        f"WHEN {kind(t)} = 'VARCHAR' AND regexp_full_match({t_text}, {_lit(_ISO_BODY + _OFFSET)}) "
        f"THEN epoch_us(TRY_CAST({t_text} AS TIMESTAMPTZ))"
    ]
    if utc:
        texts.append(
            f"WHEN {kind(t)} = 'VARCHAR' AND regexp_full_match({t_text}, {_lit(_ISO_BODY)}) "
            f"THEN epoch_us(TRY_CAST({t_text} AS TIMESTAMP))"
        )
    if unit is not None:
        texts.append(
            f"WHEN {kind(t)} = 'VARCHAR' AND regexp_full_match({t_text}, '[+-]?[0-9]{{1,15}}') "
            f"THEN CAST({t_text} AS HUGEINT) * {factor}"
        )
    texts.append(
        f"WHEN {kind(t)} IN ('BIGINT', 'UBIGINT') AND abs(CAST({t_text} AS HUGEINT)) < 1e15 "
        f"THEN CAST({t_text} AS HUGEINT) * {factor}"
    )
    micros = f"(CASE {' '.join(texts)} END)"
    ts = _Field(
        f"CAST({micros} AS BIGINT)",
        f"COALESCE({micros} >= 0 AND {micros} < {_MAX_MICROS}, FALSE)",
    )
    top_keys = "k"
    checks = (
        f"strlen({j}) <= {_MAX_PROPERTIES_TEXT} AND NOT {_risky_json(j)} AND t = 'OBJECT' "
        f"AND len({top_keys}) = len(list_distinct({top_keys}))"
    )
    mapped = _mapped(mapping)
    p = mapping.properties
    if p is not None:
        base = f"CASE WHEN {kind(p)} = 'OBJECT' THEN {value(p)}::VARCHAR END"
        base_keys = f"COALESCE(json_keys({value(p)}), []::VARCHAR[])"
        base_ok = (
            f"({missing(p)} OR ({kind(p)} = 'OBJECT' AND len({base_keys}) = "
            f"len(list_distinct({base_keys}))))"
        )
    else:
        base, base_keys, base_ok = "NULL::VARCHAR", "[]::VARCHAR[]", "TRUE"
    mapped_list = f"[{', '.join(map(_lit, sorted(mapped)))}]::VARCHAR[]"
    pointer_of = "'/' || replace(replace(k, '~', '~0'), '/', '~1')"
    if mapping.property_columns == "*":
        # Most lines have no other key: the null test (a parse per key) only runs on those.
        others = f"list_filter({top_keys}, lambda k: NOT list_contains({mapped_list}, k))"
        keys = (
            f"CASE WHEN len({others}) = 0 THEN []::VARCHAR[] ELSE list_filter({others}, "
            f"lambda k: json_type({j}, {pointer_of}) <> 'NULL') END"
        )
    else:
        wanted = f"[{', '.join(map(_lit, mapping.property_columns))}]::VARCHAR[]"
        keys = (
            f"list_filter({wanted}, lambda k: json_type({j}, {pointer_of}) IS NOT NULL "
            f"AND json_type({j}, {pointer_of}) <> 'NULL')"
        )
    folded = (
        f"array_to_string(list_transform({keys}, lambda k: to_json(k)::VARCHAR || ':' || "
        f"json_extract({j}, {pointer_of})::VARCHAR), ',')"
    )
    clash_ok = f"NOT list_has_any({keys}, {base_keys})"
    properties = _merge_properties(base, f"COALESCE({folded}, '')")
    oks = [user.ok, name.ok, account.ok, event_id.ok, ts.ok, base_ok, clash_ok, checks]
    select = (
        f"{event_id.value} AS event_id, {user.value} AS user_id, {account.value} AS account_id, "
        f"{name.value} AS name, {ts.value} AS ts, {properties} AS properties, "
        f"({' AND '.join(f'COALESCE({o}, FALSE)' for o in oks)}) AS row_ok"
    )
    # The object is built from JSON the engine parsed: valid by construction.
    return select, f"row_ok AND strlen(COALESCE(properties, '')) <= {_MAX_PROPERTIES_TEXT}"


def _spark_source(
    source: Any, *, mapping: ColumnMapping | None, format: str | None, spark: Any
) -> SparkSource:
    """``scan()`` with Spark: a pyspark DataFrame, or files Spark reads."""
    if is_spark_dataframe(source):
        return SparkSource(source, mapping)
    if not isinstance(source, str | os.PathLike):
        raise ConfigurationError(
            f"scan(engine='spark') takes a pyspark DataFrame or a path Spark reads "
            f"(e.g. 's3a://bucket/events/*.parquet'), not {type(source).__name__}"
        )
    if spark is None:
        pyspark_sql = require("pyspark.sql", "spark", "scan(engine='spark')")
        spark = pyspark_sql.SparkSession.getActiveSession()
        if spark is None:
            raise ConfigurationError(
                "scan(engine='spark') needs a Spark session: pass spark=session, or start "
                "one first (SparkSession.builder.getOrCreate())"
            )
    return SparkSource.read(
        os.fspath(source), spark=spark, format=format or "parquet", mapping=mapping
    )
