"""SparkSource: a pyspark DataFrame of events as a read-only source for every calculator.

The DataFrame is registered as a temporary view in ttvkit's canonical layout
(``event_id, user_id, account_id, name, ts`` as µs ``BIGINT``, ``properties``
as JSON text) and every question is one Spark SQL statement rendered from
ttvkit's query plan (:class:`~ttvkit.stores.sql.spark.SparkDialect`). The
executors do the work; the driver receives only aggregates:

* ``duration_cells()`` (what ``time_to_value`` needs): one row per distinct
  duration;
* ``observation_columns()`` / ``observations()`` (``compare``, ``impact``,
  ``cohorts``, ``journey``, ``satisfaction``, and a distribution's drill-down):
  one row per customer, streamed partition by partition with
  ``toLocalIterator``;
* :meth:`SparkSource.to_spark`: the same rows as a Spark DataFrame, which
  stays on the cluster.

Events themselves never reach the driver, except through :meth:`events`
(streamed with ``toLocalIterator``), which only a user-defined condition
class, one that has no SQL form, makes ttvkit call.

Needs ``pip install 'ttvkit[spark]'`` (pyspark 3.5 or later, classic or Spark
Connect): only the DataFrame API and SQL are used, no RDDs and no JVM access.
"""

from __future__ import annotations

import contextlib
import json
import operator
import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, tzinfo
from functools import reduce
from types import TracebackType
from typing import Any, Final, Self

from ttvkit._optional import require
from ttvkit.config import timezone_name
from ttvkit.errors import ConfigurationError, InvalidEventError, StoreError
from ttvkit.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TIMESTAMP,
    ValueEvent,
    check_text,
    trusted_event,
)
from ttvkit.io import ColumnMapping, TimestampUnit
from ttvkit.io._mapping import ALL_OTHER_COLUMNS
from ttvkit.io._reader import ReadError
from ttvkit.io._values import (
    NOT_SPACE,
    check_unit,
    check_zone,
    range_problem,
    shown,
    unit_micros,
)
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    Per,
    check_aware,
    check_question,
    from_micros,
    to_micros,
)
from ttvkit.stores.sql.plan import ObservationPlan, UnsupportedConditionError, build_plan
from ttvkit.stores.sql.render import cells_statement, observations_statement
from ttvkit.stores.sql.source import PlanQueries, StatementOf
from ttvkit.stores.sql.spark import SparkDialect, spark_dialect

__all__ = ["SparkSource", "is_spark_dataframe", "spark_session"]

_SOURCE: Final = "the Spark DataFrame"
_INTEGER_TYPES: Final = ("bigint", "int", "smallint", "tinyint")
_ID_TYPES: Final = ("string", *_INTEGER_TYPES)
_MAX_MICROS: Final = to_micros(MAX_TIMESTAMP)
# A TIMESTAMP_NTZ column read in a zone, as wall-clock time in UTC (dropped by the select).
_UTC_COLUMN: Final = "__ttv_utc"
# Around the message of an error a Spark job raises (an epoch number out of range),
# so that it reaches the caller as a ReadError, without Spark's wrapping.
_RAISED: Final = "<<ttvkit>> "
_RAISED_END: Final = " <</ttvkit>>"
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


def is_spark_dataframe(value: object) -> bool:
    """Whether *value* is a pyspark DataFrame (classic or Spark Connect); imports nothing."""
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.sql")


def _quote(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _error(problem: str, column: str | None = None) -> ReadError:
    where = _SOURCE if column is None else f'{_SOURCE}, column "{column}"'
    return ReadError(f"{where}: {problem}", source=_SOURCE, column=column)


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


@contextlib.contextmanager
def _job_errors() -> Iterator[None]:
    """A Spark job that fails on a value ttvkit checks raises its ReadError."""
    try:
        yield
    except Exception as exc:
        text = str(exc)
        start = text.find(_RAISED)
        end = text.find(_RAISED_END, start)
        if start < 0 or end < 0:
            raise
        raise ReadError(text[start + len(_RAISED) : end], source=_SOURCE) from None


def _in_range(
    F: Any, value: Any, micros: Any, shown: Any, column: str, problem: str, factor: int = 1
) -> Any:
    """*micros*, or, for a row whose *value* (µs / *factor*) is missing or outside the
    supported range, a failed job whose error (see :func:`_job_errors`) shows the value."""
    where = f'{_RAISED}{_SOURCE}, column "{column}": '
    inside = (value >= 0) & (value < -(-_MAX_MICROS // factor))  # value·factor < MAX
    missing = F.lit(f"{where}is empty; every event needs a timestamp{_RAISED_END}")
    bad = F.concat(F.lit(where), shown.cast("string"), F.lit(f" {problem}{_RAISED_END}"))
    return (
        F.when(inside, micros)
        .when(value.isNull(), F.raise_error(missing))
        .otherwise(F.raise_error(bad))
    )


def _suspect(F: Any, value: Any, field: str, *, text: bool, required: bool) -> Any:
    """Whether ``ValueEvent`` may refuse the id or name *value*: missing (when
    *required*), empty or only white space, too long, or holding NUL. Exact for
    the rows it passes; :func:`_row_problem` says what is wrong with the others."""
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


def _row_problem(row: Sequence[Any], fields: Sequence[tuple[str, str, bool]]) -> ReadError | None:
    """The readers' error for the first of *fields* (column, field, required) in *row*
    that no event can hold, or None."""
    for value, (column, field, required) in zip(row, fields, strict=True):
        if value is None:
            if not required:
                continue
            problem = f"is empty; every event needs a {field}"
        else:
            text = str(value)
            try:
                check_text(field, text, MAX_NAME_LENGTH if field == "name" else MAX_ID_LENGTH)
                continue
            except InvalidEventError as exc:
                message = str(exc)
                prefix = f"{field}={shown(text)}: "
                problem = f"{shown(text)} {message.removeprefix(prefix)}"
        return ReadError(f'{_SOURCE}, column "{column}": {problem}', source=_SOURCE, column=column)
    return None


def _version(text: str) -> tuple[int, int]:
    """(major, minor) of a Spark version such as ``4.0.1`` or ``3.5.3-databricks``."""
    parts = [int("".join(c for c in part if c.isdigit()) or 0) for part in text.split(".")[:2]]
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def _functions_for(df: Any) -> tuple[Any, Any]:
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
def spark_session(master: str = "local[*]", app_name: str = "ttvkit") -> Iterator[Any]:
    """The active Spark session, or a new one on *master* (stopped on exit).

    A new session uses the UTC session time zone. Inside ``spark-submit`` or a
    notebook the session that already runs is used as it is, and kept.
    """
    sql = require("pyspark.sql", "spark", "the Spark engine")
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    session = (
        sql.SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        yield session
    finally:
        session.stop()


class SparkSource(PlanQueries):
    """Events in a pyspark DataFrame, analysed by Spark (read-only).

    *mapping* names the DataFrame's columns (:class:`~ttvkit.io.ColumnMapping`,
    as for files): ``user`` and ``name`` (text; integer ids are read as text),
    ``timestamp``, optional ``account`` and ``event_id``, and the
    properties: ``properties`` as a JSON text, ``MAP<STRING, …>``, ``STRUCT`` or
    ``VARIANT`` column, and/or plain columns (``property_columns``; a column
    wins over a key of the same name in the JSON object; nulls are left out).

    By default (``dedupe=True``) a repeated ``event_id`` counts once, as in
    the stores (keeping the row with the earliest time, then the smallest
    user, name, account and properties); that costs a shuffle of every
    event, before the name filter. ``dedupe=False`` takes the rows as they
    are: faster, for a table whose ids are known to be unique. Rows
    without an id get one from their content (identical rows get the same
    id), so ties break the same way in every query. Validation reads only the
    schema; no Spark job runs until a question is asked.

    The timestamp column is one of:

    * ``TIMESTAMP``: an instant, whatever the session's time zone;
    * ``TIMESTAMP_NTZ`` (wall-clock time without a zone) with *assume_timezone*,
      the zone all its times are in (a ``zoneinfo.ZoneInfo``, ``datetime.UTC``
      or a fixed-offset ``datetime.timezone``); a time that a daylight-saving
      change repeats is read as the earlier one, a skipped one as shifted
      forward, as the file readers do. Without *assume_timezone* it is refused;
    * an integer column of epoch numbers in *timestamp_unit* (``"s"``, the
      default, ``"ms"`` or ``"us"``). A number before 1970-01-01 or from 2200-01-01
      fails the query that meets it with a :class:`~ttvkit.io.ReadError`
      that shows it (Spark checks every row then; it cannot skip rows).
    """

    def __init__(
        self,
        df: Any,
        mapping: ColumnMapping | None = None,
        *,
        dedupe: bool = True,
        assume_timezone: tzinfo | None = None,
        timestamp_unit: TimestampUnit | None = None,
    ) -> None:
        if not is_spark_dataframe(df):
            raise ConfigurationError(
                f"SparkSource takes a pyspark DataFrame, not {type(df).__name__}"
            )
        require("pyspark.sql", "spark", "a Spark DataFrame source")
        mapping = ColumnMapping() if mapping is None else mapping
        if not isinstance(mapping, ColumnMapping):
            raise ConfigurationError(f"mapping={mapping!r}: pass a ttvkit.io.ColumnMapping")
        zone, unit = check_zone(assume_timezone), check_unit(timestamp_unit)
        self._spark = df.sparkSession
        version = _version(str(self._spark.version))
        if version < (3, 5):
            raise ConfigurationError(
                f"Spark {self._spark.version}: ttvkit needs Spark 3.5 or later; upgrade the "
                "cluster or the Spark Connect server"
            )
        # Spark 4 types JSON with VARIANT; 3.5 reads the type from the value's text.
        self._variant = version >= (4, 0)
        self._view = f"ttv_events_{uuid.uuid4().hex}"
        canonical = self._canonical(df, mapping, zone, unit)
        if dedupe:
            F, Window = _functions_for(df)
            first = Window.partitionBy("event_id").orderBy(
                "ts", "user_id", "name", "account_id", "properties"
            )
            canonical = (
                canonical.withColumn("__ttv_rank", F.row_number().over(first))
                .where(F.col("__ttv_rank") == 1)
                .drop("__ttv_rank")
            )
        canonical.createOrReplaceTempView(self._view)
        self._closed = False
        self._rows_checked = False

    @classmethod
    def read(
        cls,
        path: str,
        *,
        spark: Any,
        format: str = "parquet",
        mapping: ColumnMapping | None = None,
        dedupe: bool = True,
        assume_timezone: tzinfo | None = None,
        timestamp_unit: TimestampUnit | None = None,
    ) -> SparkSource:
        """A source over files Spark reads: a path, a directory or a glob (``s3a://...``).

        *format* is any format of ``spark.read`` with a schema in the files
        (``parquet``, ``orc``, ``delta`` where installed); *mapping*, *dedupe*,
        *assume_timezone* and *timestamp_unit* are those of :class:`SparkSource`.
        """
        if format in ("csv", "jsonl", "json"):
            raise ConfigurationError(
                f"format={format!r}: text files carry no types (timestamps would be text); "
                "convert them to Parquet, or read them yourself and pass the DataFrame"
            )
        return cls(
            spark.read.format(format).load(path),
            mapping,
            dedupe=dedupe,
            assume_timezone=assume_timezone,
            timestamp_unit=timestamp_unit,
        )

    # -- the canonical view ----------------------------------------------------------

    def _canonical(
        self, df: Any, mapping: ColumnMapping, zone: tzinfo | None, unit: TimestampUnit | None
    ) -> Any:
        F, _ = _functions_for(df)

        types = {field.name: field.dataType for field in df.schema.fields}
        names = list(types)
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

        # The id and name columns, and whether a row may hold one no event can: checked
        # by a query of their own before the first question (see _check_rows).
        checked: list[tuple[str, str, bool]] = []
        suspects: list[Any] = []

        def text(column: str, field: str) -> Any:
            if kind(column) not in _ID_TYPES or (field == "name" and kind(column) != "string"):
                allowed = "STRING" if field == "name" else "STRING or an integer type"
                raise _error(f"is {kind(column).upper()}; the {field} must be {allowed}", column)
            required = field in ("user_id", "name")
            checked.append((column, field, required))
            suspects.append(
                _suspect(F, col(column), field, text=kind(column) == "string", required=required)
            )
            return col(column).cast("string")

        df, ts = self._timestamp(df, F, col, kind, mapping.timestamp, zone, unit)
        if not self._variant and optional["properties"] is not None and folded:
            raise _error(
                "holds JSON properties, and property_columns adds columns to them: merging "
                "the two needs Spark 4.0 (VARIANT). On Spark 3.5 use one or the other, or "
                "add the columns to the JSON text yourself",
                optional["properties"],
            )
        properties = self._properties(F, col, kind, optional["properties"], folded)
        user = text(mapping.user, "user_id")
        name = text(mapping.name, "name")
        account = (
            F.lit(None).cast("string")
            if optional["account"] is None
            else text(optional["account"], "account_id")
        )
        content = F.to_json(F.struct(user, account, name, ts, properties))
        event_id = F.concat(F.lit("c"), F.substring(F.sha2(content, 256), 1, 31))
        if optional["event_id"] is not None:  # a row without one gets one all the same
            event_id = F.coalesce(text(optional["event_id"], "event_id"), event_id)
        self._checked = checked
        self._suspects = df.where(reduce(operator.or_, suspects)).select(
            *(col(column) for column, _, _ in checked)
        )
        return df.select(
            event_id.alias("event_id"),
            user.alias("user_id"),
            account.alias("account_id"),
            name.alias("name"),
            ts.alias("ts"),
            properties.alias("properties"),
        )

    @staticmethod
    def _timestamp(
        df: Any,
        F: Any,
        col: Any,
        kind: Any,
        column: str,
        zone: tzinfo | None,
        unit: TimestampUnit | None,
    ) -> tuple[Any, Any]:
        """(*df*, the timestamp as µs since the epoch): an instant, a wall-clock time in
        *zone*, or epoch numbers in *unit* (seconds by default, as the file readers)."""
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
            return df, _in_range(F, micros, micros, col(column), column, outside)
        if found in _INTEGER_TYPES:
            factor = unit_micros(unit)
            number = col(column).cast("bigint")
            problem = range_problem(unit, epoch=True)
            # Compared before multiplying, which could overflow.
            return df, _in_range(F, number, number * factor, number, column, problem, factor)
        raise _error(
            f"is {found.upper()}; the timestamp must be a TIMESTAMP column, TIMESTAMP_NTZ with "
            "assume_timezone, or an integer column of epoch numbers (timestamp_unit 's', 'ms' "
            "or 'us'); convert text with F.to_timestamp",
            column,
        )

    @staticmethod
    def _properties(
        F: Any,
        col: Any,
        kind: Any,
        column: str | None,
        folded: Sequence[str],
    ) -> Any:
        """The properties as JSON text (NULL for none)."""
        obj = None
        if column is not None:
            found = kind(column)
            if found == "string":
                obj = col(column)
            elif found.startswith(("map<string,", "struct<")) or found == "variant":
                obj = F.to_json(col(column))
            else:
                raise _error(
                    f"is {found.upper()}; properties must be JSON text, a MAP<STRING, ...>, "
                    "a STRUCT or a VARIANT column",
                    column,
                )
        cells = []
        for name in folded:
            found = kind(name)
            if found not in _PROPERTY_TYPES:
                raise _error(
                    f"is {found.upper()}; a property column must be STRING, BOOLEAN, "
                    "an integer or a floating-point type (cast it, or leave it out of "
                    "property_columns)",
                    name,
                )
            cell = col(name)
            if found in ("double", "float"):  # NaN is how a missing number often looks
                cell = F.when(F.isnan(cell), F.lit(None)).otherwise(cell)
            cells.append(cell.alias(name))
        if not cells:
            return F.lit(None).cast("string") if obj is None else obj
        columns = F.to_json(F.struct(*cells))  # nulls are left out
        if obj is None:
            return columns

        def as_map(text: Any) -> Any:
            return F.try_variant_get(F.try_parse_json(text), "$", "map<string,variant>")

        keys = F.array(*[F.lit(n) for n in folded])
        empty = F.create_map().cast("map<string,variant>")
        own = F.map_filter(F.coalesce(as_map(obj), empty), lambda k, v: ~F.array_contains(keys, k))
        return F.to_json(F.map_concat(own, as_map(columns)))

    # -- PlanQueries -----------------------------------------------------------------

    def run_plan(
        self, plan: ObservationPlan, as_of: datetime | None, statement: StatementOf
    ) -> tuple[list[tuple[Any, ...]], SparkDialect] | None:
        """The plan rendered for Spark SQL and run on the cluster (see PlanQueries).

        Duration cells are collected (they are few); per-customer rows are
        streamed with ``toLocalIterator``. Events never reach the driver.
        """
        self._ready()
        until = as_of if as_of is not None else self.latest_timestamp()
        if until is None:
            return None
        dialect = self._dialect()
        query = statement(plan, dialect, to_micros(until))
        frame = self._spark.sql(query.sql, args=dict(query.params))
        with _job_errors():
            if statement is cells_statement:
                return [tuple(row) for row in frame.collect()], dialect
            return [tuple(row) for row in frame.toLocalIterator()], dialect

    def _dialect(self) -> SparkDialect:
        return spark_dialect(self._view, str(self._spark.version))

    # -- the Store protocol (read-only) ----------------------------------------------

    def append(self, events: Sequence[ValueEvent]) -> int:
        """A DataFrame source is read-only: raises :class:`~ttvkit.errors.StoreError`."""
        raise StoreError(
            "a SparkSource is read-only: write events to your table or files, then build "
            "a new SparkSource over them"
        )

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        """Events oldest first (ties by ``event_id``), streamed with ``toLocalIterator``."""
        self._ready()
        where = ["TRUE"]
        args: dict[str, object] = {}
        for label, values in (("name", names), ("user_id", users)):
            if values is not None:
                marks = []
                for value in values:
                    args[f"p{len(args)}"] = value
                    marks.append(f":p{len(args) - 1}")
                where.append(f"{label} IN ({', '.join(marks)})" if marks else "FALSE")
        for op, bound in ((">=", since), ("<=", until)):
            if bound is not None:
                args[f"p{len(args)}"] = to_micros(bound)
                where.append(f"ts {op} CAST(:p{len(args) - 1} AS BIGINT)")
        frame = self._spark.sql(
            f"SELECT event_id, user_id, account_id, name, ts, properties FROM {self._view} "
            f"WHERE {' AND '.join(where)} ORDER BY ts, event_id",
            args=args,
        )
        with _job_errors():  # a failing job raises on the first row or later
            for event_id, user, account, name, ts, properties in frame.toLocalIterator():
                loaded = {} if properties is None else json.loads(properties)
                yield trusted_event(
                    user,
                    name,
                    from_micros(int(ts)),
                    loaded if isinstance(loaded, dict) else {},
                    account,
                    event_id,
                )

    def event_names(self) -> frozenset[str]:
        """The distinct event names: one ``SELECT DISTINCT`` on the cluster (names only
        reach the driver)."""
        self._ready()
        with _job_errors():
            rows = self._spark.sql(f"SELECT DISTINCT name FROM {self._view}").collect()
        return frozenset(str(r[0]) for r in rows if r[0] is not None)

    def latest_timestamp(self) -> datetime | None:
        self._ready()
        with _job_errors():
            (latest,) = self._spark.sql(f"SELECT MAX(ts) FROM {self._view}").first()
        return None if latest is None else from_micros(int(latest))

    def count(self) -> int:
        self._ready()
        with _job_errors():
            (n,) = self._spark.sql(f"SELECT COUNT(*) FROM {self._view}").first()
        return int(n)

    def to_spark(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> Any:
        """The observations as a Spark DataFrame, computed on the cluster and left there.

        Columns: ``customer_id``, ``start``, ``end`` (µs ``BIGINT``), ``observed``
        and ``reached_before_start`` (0 or 1), then ``a0, a1, …`` for
        *attributes* (first times as µs; properties as JSON text after a one-letter
        kind mark). Use it to drill down without bringing customers to the driver.
        """
        checked = check_question(milestone, per, attributes)
        if as_of is not None:
            check_aware(as_of, "as_of")
        try:
            plan = build_plan(milestone, per, checked)
        except UnsupportedConditionError:
            raise ConfigurationError(
                f"milestone {milestone.name!r} uses a condition class ttvkit cannot run in "
                "Spark SQL; use observations() instead"
            ) from None
        self._ready()
        until = as_of if as_of is not None else self.latest_timestamp()
        dialect = self._dialect()
        statement = observations_statement(
            plan, dialect, to_micros(until if until is not None else from_micros(0))
        )
        frame = self._spark.sql(statement.sql, args=dict(statement.params))
        names = ["customer_id", "start", "end", "observed", "reached_before_start"]
        return frame.toDF(*names, *(f"a{i}" for i in range(len(checked))))

    # -- lifetime --------------------------------------------------------------------

    @property
    def view(self) -> str:
        """The name of the temporary view in the canonical layout."""
        return self._view

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this SparkSource is closed; build a new one over the DataFrame")

    def _ready(self) -> None:
        """Open, and every id and name checked as the readers check them: one query,
        before the first question, that stops at the first row no event can hold.
        (Checked inside every question instead, in the same projection, the checks
        made a question three times slower at 1e7 events; this query adds about a tenth.)"""
        self._check_open()
        if self._rows_checked:
            return
        with _job_errors():
            rows = self._suspects.limit(1).collect()
        for row in rows:
            problem = _row_problem(tuple(row), self._checked)
            if problem is not None:
                raise problem
        self._rows_checked = True

    def close(self) -> None:
        """Drop the temporary view (the DataFrame and the session stay)."""
        if not self._closed:
            self._closed = True
            self._spark.catalog.dropTempView(self._view)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SparkSource view={self._view}>"
