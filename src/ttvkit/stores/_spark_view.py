"""The canonical view of a pyspark DataFrame of events, for :mod:`ttvkit.stores.spark`.

The user's columns, named by a :class:`~ttvkit.io.ColumnMapping`, become
ttvkit's layout (``event_id, user_id, account_id, name, ts`` as µs
``BIGINT``, ``properties`` as JSON text), read and checked as the file
readers read and check them (:mod:`ttvkit.io`): the same column types, time
zones, epoch units, ranges and messages. The types are checked from the
schema alone; a value no event can hold fails the query that meets it (times)
or the one query :func:`first_bad_row` runs (ids, names and properties), as a
:class:`~ttvkit.io.ReadError` in the readers' words (:mod:`ttvkit.stores._spark_problems`).
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from functools import reduce
from typing import Any, Final, Literal

import attrs

from ttvkit.config import timezone_name
from ttvkit.errors import ConfigurationError
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TIMESTAMP,
)
from ttvkit.io import ALL_OTHER_COLUMNS, ColumnMapping, ReadError, TimestampUnit
from ttvkit.io.values import (
    MAX_PROPERTIES_TEXT,
    NOT_SPACE,
    PLAIN_OBJECT,
    RISKY_NUMBERS,
    json_object,
    range_problem,
    unit_micros,
)
from ttvkit.observations import to_micros
from ttvkit.stores._spark_problems import (
    SOURCE,
    Problem,
    also_a_key,
    properties_problem,
    property_column_problem,
    python_value,
    row_problem,
    said,
    text_problem,
)

__all__ = [
    "FEW_REPEATS",
    "CanonicalView",
    "EventIds",
    "canonical_view",
    "first_bad_row",
    "first_per_id",
    "functions_for",
    "job_errors",
    "rows_as_they_are",
    "without_repeats",
]

#: What id a row without one gets (as ``scan(event_ids=...)``).
EventIds = Literal["row", "content"]

#: What is wrong with a value a suspect row returned, in the readers' words, or None.

_INTEGER_TYPES: Final = ("bigint", "int", "smallint", "tinyint")
_ID_TYPES: Final = ("string", *_INTEGER_TYPES)
_MAX_MICROS: Final = to_micros(MAX_TIMESTAMP)
# A TIMESTAMP_NTZ column read in a zone, as wall-clock time in UTC (dropped by the select).
_UTC_COLUMN: Final = "__ttv_utc"
# Around the message of an error a Spark job raises (an epoch number out of range),
# so that it reaches the caller as a ReadError, without Spark's wrapping.
_RAISED: Final = "<<ttvkit>> "
_RAISED_END: Final = " <</ttvkit>>"
# Escapes the readers refuse (NUL, a surrogate without its pair), exactly but for an
# escaped backslash before "u" (such text takes the Python check, which decides).
_BAD_ESCAPES: Final = (
    r"\\u0000"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]"
)
# A flat JSON object as the readers take it, for java.util.regex: any JSON white
# space; strings with escapes other than NUL and surrogates; numbers of at most 18
# digits before and 17 after the point, without an exponent (as PLAIN_OBJECT).
# Possessive quantifiers: no backtracking into what matched.
_WS: Final = r"[ \t\n\r]*+"
_STRING: Final = (
    r'"[^"\\\x00-\x1f]*+'
    r'(?:\\(?:["\\/bfnrt]|u(?!0000)(?![dD][89a-fA-F])[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+"'
)
_NUMBER: Final = r"-?+(?:0|[1-9][0-9]{0,17}+)(?:\.[0-9]{1,17}+)?+"
_PAIR: Final = rf"{_STRING}{_WS}:{_WS}(?:{_STRING}|true|false|null|{_NUMBER})"
_FLAT_OBJECT: Final = rf"\A{_WS}\{{{_WS}(?:{_PAIR}(?:{_WS},{_WS}{_PAIR})*+)?{_WS}\}}{_WS}\z"
# Longest text matched against _FLAT_OBJECT, whose repeated groups java.util.regex
# matches by recursion, one level per key and per escape (longer text takes the other test).
_FLAT_TEXT: Final = 4096
# Nesting that the other test vouches for (deeper objects are left to Python).
_NESTING_PASSES: Final = 6
# Strict JSON for from_json: no single quotes, no NaN or Infinity.
_STRICT_JSON: Final = {"allowSingleQuotes": "false", "allowNonNumericNumbers": "false"}
# A value that to_json writes for a NaN or an infinity (a string that says so).
_NOT_FINITE: Final = r'"(?:NaN|-?Infinity)"'
# Rows fetched to the driver in each round of first_bad_row, then all the rest.
_SUSPECT_ROUNDS: Final = (1, 1000)
_PROPERTY_TYPES: Final = (
    "string",
    "boolean",
    "bigint",
    "int",
    "smallint",
    "tinyint",
    "double",
    "float",
)


def functions_for(df: Any) -> tuple[Any, Any]:
    """The ``functions`` module and ``Window`` class that build columns for *df*.

    pyspark chooses classic or Spark Connect columns by one switch for the
    whole process; a process that holds both kinds of session (a classic
    session serving Spark Connect, as the tests run) must choose by the
    DataFrame's own kind.
    """
    if type(df).__module__.startswith("pyspark.sql.connect."):
        from pyspark.sql.connect import functions as connect_functions
        from pyspark.sql.connect.window import Window as ConnectWindow

        return connect_functions, ConnectWindow
    from pyspark.sql import Window, functions

    return functions, Window


@contextlib.contextmanager
def job_errors() -> Iterator[None]:
    """A Spark job that fails on a value ttvkit checks raises its ReadError."""
    try:
        yield
    except Exception as exc:
        text = str(exc)
        start = text.find(_RAISED)
        end = text.find(_RAISED_END, start)
        if start < 0 or end < 0:
            raise
        raise ReadError(text[start + len(_RAISED) : end], source=SOURCE) from None


#: The canonical column that says whether a row's ``event_id`` dedupes (see canonical_view).
_DEDUPES: Final = "__ttv_dedupes"
_HASH: Final = "__ttv_id_hash"
#: The most repeated ids :func:`without_repeats` dedupes once and caches (their hashes
#: broadcast, 8 bytes each; their events deduped, one row each).
FEW_REPEATS: Final = 1_000_000
_COLUMNS: Final = ("event_id", "user_id", "account_id", "name", "ts", "properties")


@attrs.frozen
class CanonicalView:
    """A DataFrame of events in ttvkit's layout, and how to find its rows no event can hold.

    Read it through :func:`rows_as_they_are`, :func:`first_per_id` or
    :func:`without_repeats`.
    """

    frame: Any
    """The events (``event_id, user_id, account_id, name, ts, properties``), whether
    the row's id is one a resent copy shares (given, or made from the content), and
    the 64-bit hash of the given id (NULL for a row without one)."""
    suspects: Any
    """The rows whose id, name or property columns may hold a value no event can (see
    :func:`_suspect` and :func:`_object_suspect`)."""
    checked: tuple[tuple[str, Problem], ...]
    """(column, what is wrong with its value or None) for each of the suspects' columns."""


def first_bad_row(view: CanonicalView) -> ReadError | None:
    """The readers' error for the first row that no event can hold, or None.

    The suspect rows are fetched in rounds (one, then a thousand, then all the
    rest, streamed), each a Spark job that stops once it has enough: a suspect
    row is almost always a bad one, so the first round decides, but a few
    kinds of valid properties are suspects too (see :func:`_object_suspect`),
    and Python decides each.
    """
    with job_errors():
        for limit in (*_SUSPECT_ROUNDS, None):
            if limit is None:
                rows = view.suspects.toLocalIterator()
            else:
                rows = iter(view.suspects.limit(limit).collect())
            seen = 0
            for row in rows:
                seen += 1
                problem = row_problem(tuple(row), view.checked)
                if problem is not None:
                    return problem
            if limit is None or seen < limit:
                return None
    return None


def rows_as_they_are(view: CanonicalView) -> Any:
    """The events of *view* in the canonical layout, every row one event."""
    return view.frame.select(*_COLUMNS)


def first_per_id(frame: Any) -> Any:
    """The events of a canonical *frame* (all of a :class:`CanonicalView`'s, or some) in
    the canonical layout, a repeated ``event_id`` once: the earliest copy, then the
    smallest user, name, account and properties (as the stores keep the first copy
    sent). A shuffle of every event of *frame*."""
    F, Window = functions_for(frame)
    first = Window.partitionBy("event_id").orderBy(
        "ts", "user_id", "name", "account_id", "properties"
    )
    ranked = frame.withColumn("__ttv_rank", F.row_number().over(first))
    return ranked.where((F.col("__ttv_rank") == 1) | ~F.col(_DEDUPES)).select(*_COLUMNS)


def without_repeats(view: CanonicalView) -> tuple[Any, list[Any]]:
    """The events of *view* in the canonical layout, a repeated ``event_id`` once (as
    :func:`first_per_id`), at the least cost the table allows; and the DataFrames
    cached for it, to unpersist when the source closes.

    One Spark job finds the 64-bit hashes of the ids that repeat (it shuffles the
    hashes alone: numbers group far faster than text) and caches them. Then:

    * none repeats: the rows as they are, with no shuffle in the questions;
    * up to :data:`FEW_REPEATS` ids repeat, all given ones (not made from the
      content of rows without an id): one more job dedupes the events with those
      ids and caches them (one row per id); each question reads the other rows as
      they are, leaving the repeated ones out by a broadcast join on the hash of
      the given id (which reads the id column alone), and the cached rows;
    * otherwise: :func:`first_per_id`, a shuffle of every event in every question.

    Two ids with one hash (a chance of about 3e-6 among 1e7 ids) only route a
    row through the dedupe, which compares the ids themselves.
    """
    F, _ = functions_for(view.frame)
    repeats = (
        view.frame.where(F.col(_DEDUPES))
        .groupBy(F.xxhash64("event_id").alias("key"))  # of a given id: its _HASH
        .agg(F.count(F.lit(1)).alias("n"), F.max(F.col(_HASH).isNull()).alias("made"))
        .where(F.col("n") > 1)
    )
    repeated, how_many = _cached(repeats)
    if how_many == 0:
        repeated.unpersist()
        return rows_as_they_are(view), []
    if how_many > FEW_REPEATS or repeated.where(F.col("made")).limit(1).count():
        repeated.unpersist()
        return first_per_id(view.frame), []
    few = F.broadcast(repeated.select(F.col("key").alias(_HASH)))
    try:
        shared, _ = _cached(first_per_id(view.frame.join(few, _HASH, "left_semi")))
    except BaseException:
        repeated.unpersist()
        raise
    # A row without a given id has a NULL hash, which matches nothing: it stays.
    alone = view.frame.join(few, _HASH, "left_anti").select(*_COLUMNS)
    return alone.unionByName(shared), [repeated, shared]


def _cached(frame: Any) -> tuple[Any, int]:
    """*frame* cached on the cluster, and its row count (the job that fills the cache)."""
    with job_errors():  # Spark Connect runs the job when asked to cache
        cached = frame.cache()
        try:
            return cached, int(cached.count())
        except BaseException:
            cached.unpersist()
            raise


def canonical_view(
    df: Any,
    mapping: ColumnMapping,
    *,
    zone: tzinfo | None,
    unit: TimestampUnit | None,
    variant: bool,
    event_ids: EventIds,
) -> CanonicalView:
    """*df* in the canonical layout, and the query that finds its suspect rows.

    Reads only the schema: a misnamed column or one of a type no event can hold
    raises :class:`~ttvkit.io.ReadError` here; values are checked by the queries.
    *variant*: the session types JSON with VARIANT (Spark 4). A row without an
    ``event_id`` gets one made from its content; with *event_ids* ``"content"`` it
    dedupes as a given one does (identical rows are one event), with ``"row"``
    it does not (every row is an event).
    """
    F, _ = functions_for(df)

    types = {field.name: field.dataType for field in df.schema.fields}
    names = list(types)
    _check_names(df, [field.name for field in df.schema.fields])
    named = {"user": mapping.user, "name": mapping.name, "timestamp": mapping.timestamp}
    defaults = ColumnMapping()
    optional: dict[str, str | None] = {}
    for field in ("account", "event_id", "properties"):
        column = getattr(mapping, field)
        if column is not None and column not in types and column == getattr(defaults, field):
            column = None  # an optional column under its default name may be absent
        optional[field] = column
        if column is not None:
            named[field] = column
    if mapping.property_columns == ALL_OTHER_COLUMNS:
        folded = [c for c in names if c not in set(named.values())]
    else:
        folded = list(mapping.property_columns)
    for field, column in [*named.items(), *(("a property", c) for c in folded)]:
        if column not in types:
            shown = ", ".join(repr(c) for c in names) or "none"
            raise _error(
                f"there is no column {column!r}, which the mapping reads {field} from; "
                f"the columns are: {shown}. Pass mapping=ColumnMapping(...) naming yours, "
                "e.g. ColumnMapping(user='distinct_id', name='event')"
            )

    def col(name: str) -> Any:
        return F.col(_quote(name))

    def kind(name: str) -> str:
        return str(types[name].simpleString())

    # The id, name, time and property columns, and whether a row may hold what no event
    # can: checked by a query of their own before the first question (see first_bad_row).
    checked: list[tuple[str, Problem]] = []
    suspect: list[Any] = []
    returned: list[Any] = []  # what the query returns of each

    def watch(column: str, suspicious: Any, problem: Problem, value: Any = None) -> None:
        checked.append((column, problem))
        suspect.append(suspicious)
        returned.append(col(column) if value is None else value)

    def text(column: str, field: str) -> Any:
        if kind(column) not in _ID_TYPES or (field == "name" and kind(column) != "string"):
            allowed = "STRING" if field == "name" else "STRING or an integer type"
            raise _error(f"is {kind(column).upper()}; the {field} must be {allowed}", column)
        required = field in ("user_id", "name")
        is_text = kind(column) == "string"
        suspicious = _suspect(F, col(column), field, text=is_text, required=required)
        watch(column, suspicious, text_problem(field, required))
        return col(column).cast("string")

    df, ts, ts_problem = _timestamp(df, F, col, kind, mapping.timestamp, zone, unit)
    watch(mapping.timestamp, ts_problem.isNotNull(), said, ts_problem)
    if not variant and optional["properties"] is not None and folded:
        raise _error(
            "holds JSON properties, and property_columns adds columns to them: merging "
            "the two needs Spark 4.0 (VARIANT). On Spark 3.5 use one or the other, or "
            "add the columns to the JSON text yourself",
            optional["properties"],
        )
    properties = _properties(F, col, kind, optional["properties"], folded)
    if (column := optional["properties"]) is not None:
        if kind(column) == "string":
            watch(column, _object_suspect(F, col(column)), properties_problem(json_object))
        else:  # MAP, STRUCT or VARIANT: to_json writes NaN and infinities as strings
            written = F.to_json(col(column))
            suspicious = _object_suspect(F, written) | written.rlike(_NOT_FINITE)
            watch(column, suspicious, properties_problem(python_value))
    json_keys = None
    if (column := optional["properties"]) is not None and folded:
        json_keys = F.map_keys(_json_map(F, _object_text(F, col, kind, column)))
    for column in folded:
        if kind(column) == "void":
            continue  # nulls only: nothing to check, nothing to fold
        cell = col(column)
        one = property_column_problem(column)
        if kind(column) in ("double", "float"):
            watch(column, F.abs(cell) == F.lit(float("inf")), one)
        elif kind(column) == "string":
            too_long = F.octet_length(cell) > MAX_PROPERTIES_TEXT
            watch(column, (F.instr(cell, "\x00") > 0) | too_long, one)
        if json_keys is not None:
            # A value in the column and the same key in the object: the readers refuse it.
            clash = _present(F, cell, kind(column)) & F.array_contains(json_keys, F.lit(column))
            watch(column, F.coalesce(clash, F.lit(False)), also_a_key(optional["properties"]))
    user = text(mapping.user, "user_id")
    name = text(mapping.name, "name")
    account = (
        F.lit(None).cast("string")
        if optional["account"] is None
        else text(optional["account"], "account_id")
    )
    content = F.to_json(F.struct(user, account, name, ts, properties))
    event_id = F.concat(F.lit("c"), F.substring(F.sha2(content, 256), 1, 31))
    dedupes = F.lit(event_ids == "content")
    given_hash = F.lit(None).cast("bigint")
    if optional["event_id"] is not None:  # a row without one gets one all the same
        given = text(optional["event_id"], "event_id")
        event_id = F.coalesce(given, event_id)
        dedupes = dedupes | given.isNotNull()
        given_hash = F.when(given.isNotNull(), F.xxhash64(given))
    frame = df.select(
        event_id.alias("event_id"),
        user.alias("user_id"),
        account.alias("account_id"),
        name.alias("name"),
        ts.alias("ts"),
        properties.alias("properties"),
        dedupes.alias(_DEDUPES),
        given_hash.alias(_HASH),
    )
    suspects = df.where(reduce(operator.or_, suspect)).select(*returned)
    return CanonicalView(frame, suspects, tuple(checked))


def _timestamp(
    df: Any,
    F: Any,
    col: Any,
    kind: Any,
    column: str,
    zone: tzinfo | None,
    unit: TimestampUnit | None,
) -> tuple[Any, Any, Any]:
    """(*df*, the timestamp as µs since the epoch, what is wrong with it or NULL): an
    instant, a wall-clock time in *zone*, or epoch numbers in *unit* (seconds by
    default, as the file readers)."""
    found = kind(column)
    named = None if zone is None else _zone_id(zone)
    if found == "timestamp_ntz" and named is None:
        raise _error(
            "is TIMESTAMP_NTZ, a timestamp without a time zone, so the instant is "
            "unknown; if all its times are in one zone, say which with "
            "assume_timezone=ZoneInfo('Europe/Paris') (--timezone on the command "
            "line), or convert the column to TIMESTAMP",
            column,
        )
    if found in ("timestamp", "timestamp_ntz"):
        if found == "timestamp":
            micros = F.unix_micros(col(column))
        else:
            # Wall-clock time in the zone -> wall-clock time in UTC -> µs: no step
            # reads the session's time zone (a cast to TIMESTAMP would).
            utc = F.convert_timezone(F.lit(named), F.lit("UTC"), col(column))
            df = df.withColumn(_UTC_COLUMN, utc)
            epoch = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"
            micros = F.expr(f"timestampdiff(MICROSECOND, {epoch}, {_quote(_UTC_COLUMN)})")
        outside = range_problem(None, epoch=False)
        return df, *_in_range(F, micros, micros, col(column), column, outside)
    if found in _INTEGER_TYPES:
        factor = unit_micros(unit)
        number = col(column).cast("bigint")
        problem = range_problem(unit, epoch=True)
        # Compared before multiplying, which could overflow.
        return df, *_in_range(F, number, number * factor, number, column, problem, factor)
    raise _error(
        f"is {found.upper()}; the timestamp must be a TIMESTAMP column, TIMESTAMP_NTZ with "
        "assume_timezone, or an integer column of epoch numbers (timestamp_unit 's', 'ms' "
        "or 'us'); convert text with F.to_timestamp",
        column,
    )


def _check_names(df: Any, names: list[str]) -> None:
    """A column named twice (after a join, say) is the readers' error; two named alike
    but for case are one column to Spark's default resolution, and ambiguous."""
    seen: dict[str, str] = {}
    try:
        exact = str(df.sparkSession.conf.get("spark.sql.caseSensitive", "false")) == "true"
    except Exception:
        exact = False
    for name in names:
        if name in seen.values():
            raise _error(f'names column "{name}" twice; rename one of them', name)
        key = name if exact else name.casefold()
        if key in seen:
            raise _error(
                f"and column {seen[key]!r} differ only in case, which Spark does not tell "
                "apart (spark.sql.caseSensitive is false): rename one of them, e.g. with "
                "df.withColumnRenamed",
                name,
            )
        seen[key] = name


def _object_text(F: Any, col: Any, kind: Any, column: str) -> Any:
    """The properties column *column* as JSON text."""
    found = kind(column)
    if found == "string":
        return col(column)
    if found.startswith(("map<string,", "struct<")) or found == "variant":
        return F.to_json(col(column))
    raise _error(
        f"is {found.upper()}; properties must be JSON text, a MAP<STRING, ...>, "
        "a STRUCT or a VARIANT column",
        column,
    )


def _json_map(F: Any, text: Any) -> Any:
    """JSON object text as a MAP<STRING, VARIANT> (Spark 4), an empty map for none."""
    parsed = F.try_variant_get(F.try_parse_json(text), "$", "map<string,variant>")
    return F.coalesce(parsed, F.create_map().cast("map<string,variant>"))


def _present(F: Any, cell: Any, found: str) -> Any:
    """Whether a property column's cell holds a value (NULL and NaN are left out)."""
    if found in ("double", "float"):
        return cell.isNotNull() & ~F.isnan(cell)
    return cell.isNotNull()


def _properties(
    F: Any,
    col: Any,
    kind: Any,
    column: str | None,
    folded: Sequence[str],
) -> Any:
    """The properties as JSON text (NULL for none)."""
    obj = None if column is None else _object_text(F, col, kind, column)
    cells = []
    kept = [name for name in folded if kind(name) != "void"]
    for name in kept:  # VOID: a column of nulls only (F.lit(None), an all-None column)
        found = kind(name)
        if found not in _PROPERTY_TYPES:
            raise _error(
                f"is {found.upper()}; a property column must be STRING, BOOLEAN, "
                "an integer or a floating-point type (cast it, or leave it out of "
                "property_columns)",
                name,
            )
        cell = col(name)
        if found == "float":
            # the value a FLOAT holds, as the readers read it (0.1f is
            # 0.10000000149011612; to_json would write 0.1)
            cell = cell.cast("double")
        if found in ("double", "float"):  # NaN is how a missing number often looks
            cell = F.when(F.isnan(cell), F.lit(None)).otherwise(cell)
        cells.append(cell.alias(name))
    if not cells:
        return F.lit(None).cast("string") if obj is None else obj
    columns = F.to_json(F.struct(*cells))  # nulls are left out
    if obj is None:
        return columns
    # The object's keys that a column also holds, on this row: a clash is refused by
    # the row check, so only a null (or NaN) cell leaves the object's value, which stays.
    given = F.array_compact(
        F.array(
            *[F.when(_present(F, col(n), kind(n)), F.lit(n)) for n in folded if kind(n) != "void"]
        )
    )
    own = F.map_filter(_json_map(F, obj), lambda k, v: ~F.array_contains(given, k))
    return F.to_json(F.map_concat(own, _json_map(F, columns)))


def _quote(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _error(problem: str, column: str | None = None) -> ReadError:
    where = SOURCE if column is None else f'{SOURCE}, column "{column}"'
    return ReadError(f"{where}: {problem}", source=SOURCE, column=column)


def _zone_id(zone: tzinfo) -> str:
    """*zone* as Spark names it: an IANA name, ``UTC`` or a fixed offset ``+02:00``."""
    try:
        return timezone_name(zone)
    except ConfigurationError:
        raise ConfigurationError(
            f"assume_timezone={zone!r}: Spark needs a zone it can name; pass a "
            "zoneinfo.ZoneInfo ('Europe/Paris'), datetime.UTC or a fixed-offset "
            "datetime.timezone"
        ) from None


def _in_range(
    F: Any, value: Any, micros: Any, shown: Any, column: str, problem: str, factor: int = 1
) -> tuple[Any, Any]:
    """(*micros*, NULL) for a row whose *value* (µs / *factor*) is inside the supported
    range; for another, what is wrong with it, showing the value, and in place of
    *micros* a failed job with that error (see :func:`job_errors`).

    The check before the first question reports such a row (see :func:`first_bad_row`);
    the failed job is for a table that changed since."""
    inside = (value >= 0) & (value < -(-_MAX_MICROS // factor))  # value·factor < MAX
    wrong = (
        F.when(value.isNull(), F.lit("is empty; every event needs a timestamp"))
        .when(~inside, F.concat(shown.cast("string"), F.lit(f" {problem}")))
        .otherwise(F.lit(None).cast("string"))
    )
    where = f'{_RAISED}{SOURCE}, column "{column}": '
    failed = F.raise_error(F.concat(F.lit(where), wrong, F.lit(_RAISED_END)))
    return F.when(inside, micros).otherwise(failed), wrong


def _object_suspect(F: Any, text: Any) -> Any:
    """Whether the readers may refuse the JSON *text* as a row's properties (NULL:
    none). Exact for the rows it passes; Python decides the others (see
    :func:`row_problem`).

    Most objects are flat, and a regular expression vouches for them: the cheaper
    :data:`~ttvkit.io.values.PLAIN_OBJECT` for compact ones without escapes, then
    :data:`_FLAT_OBJECT` for any white space and escapes. Another object passes when
    ``from_json`` parses it strictly, nothing outside its strings may be a number
    the readers refuse, no escape is one they refuse, and it is one object: with its
    strings taken out, :data:`_NESTING_PASSES` passes of replacing each innermost
    ``{...}`` or ``[...]`` by ``0`` leave a lone ``0`` (``from_json`` reads
    ``{...}{...}`` as the first object and ignores the rest). Valid objects it
    leaves to Python: nested deeper than that, an integer from 9e18 up within 64 bits, a
    number with a positive exponent, the text ``null``, an escaped
    backslash before ``u``, text longer than
    :data:`~ttvkit.io.values.MAX_PROPERTIES_TEXT` bytes.
    """
    size = F.octet_length(text)
    # Escapes out first, then strings hold no quote: no pattern repeats a group,
    # which java.util.regex does by recursion, one level per repeat.
    stripped = F.regexp_replace(F.regexp_replace(text, r"\\[\s\S]", ""), r'"[^"]*"', '""')
    # The same, white space out too: a different expression, which Spark does not
    # evaluate for every row ahead of the CASE as it would a repeated one.
    reduced = F.regexp_replace(F.regexp_replace(text, r"\\[\s\S]|[ \t\n\r]", ""), r'"[^"]*"', "")
    for _ in range(_NESTING_PASSES):
        reduced = F.regexp_replace(reduced, r"\{[^\[\]{}]*\}|\[[^\[\]{}]*\]", "0")
    vouched = (
        F.when(text == F.lit("{}"), F.lit(True))
        .when((size <= _FLAT_TEXT) & text.rlike(f"\\A{PLAIN_OBJECT}\\z"), F.lit(True))
        .when(size > MAX_PROPERTIES_TEXT, F.lit(False))
        .when((size <= _FLAT_TEXT) & text.rlike(_FLAT_OBJECT), F.lit(True))
        .when(text.rlike(_BAD_ESCAPES), F.lit(False))
        .when(text.rlike(RISKY_NUMBERS) & stripped.rlike(RISKY_NUMBERS), F.lit(False))
        .when(F.from_json(text, "map<string,string>", _STRICT_JSON).isNull(), F.lit(False))
        .otherwise(reduced == F.lit("0"))
    )
    return text.isNotNull() & ~vouched


def _suspect(F: Any, value: Any, field: str, *, text: bool, required: bool) -> Any:
    """Whether ``ValueEvent`` may refuse the id or name *value*: missing (when
    *required*), empty or only white space, too long, or holding NUL. Exact for
    the rows it passes; :func:`row_problem` says what is wrong with the others."""
    missing = value.isNull() if required else F.lit(False)
    if not text:  # an integer id: its text is always a valid id
        return missing
    limit = MAX_NAME_LENGTH if field == "name" else MAX_ID_LENGTH
    first = F.substring(value, 1, 1)
    # A first character in printable ASCII other than a space: not only white space,
    # without the regular expression (and bytes before characters: the cheaper count).
    blank = ~((first >= F.lit("!")) & (first <= F.lit("~"))) & ~value.rlike(NOT_SPACE)
    long = (F.octet_length(value) > limit) & (F.length(value) > limit)
    return missing | blank | long | (F.instr(value, "\x00") > 0)
