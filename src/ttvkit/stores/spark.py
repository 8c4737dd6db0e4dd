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
import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, tzinfo
from types import TracebackType
from typing import Any, Literal, Self

from ttvkit._optional import require
from ttvkit.errors import ConfigurationError, StoreError
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.io import ColumnMapping, TimestampUnit
from ttvkit.io.values import check_unit, check_zone
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    Per,
    check_aware,
    check_question,
    from_micros,
    to_micros,
)
from ttvkit.stores._base import event_filter
from ttvkit.stores._spark_view import (
    canonical_view,
    first_bad_row,
    first_per_id,
    job_errors,
    rows_as_they_are,
    without_repeats,
)
from ttvkit.stores.sql.plan import ObservationPlan, UnsupportedConditionError, build_plan
from ttvkit.stores.sql.render import cells_statement, observations_statement
from ttvkit.stores.sql.source import PlanQueries, StatementOf
from ttvkit.stores.sql.spark import SparkDialect, spark_dialect

__all__ = ["SparkSource", "is_spark_dataframe", "spark_session"]


def is_spark_dataframe(value: object) -> bool:
    """Whether *value* is a pyspark DataFrame (classic or Spark Connect); imports nothing."""
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.sql")


def _version(text: str) -> tuple[int, int]:
    """(major, minor) of a Spark version such as ``4.0.1`` or ``3.5.3-databricks``."""
    parts = [int("".join(c for c in part if c.isdigit()) or 0) for part in text.split(".")[:2]]
    return (parts[0], parts[1] if len(parts) > 1 else 0)


@contextlib.contextmanager
def spark_session(master: str = "local[*]", app_name: str = "ttvkit") -> Iterator[Any]:
    """The active Spark session, or a new one on *master* (stopped on exit).

    A new session uses the UTC session time zone and draws no progress bars
    (they would mix with ttvkit's own output, or fill a log that stderr goes
    to). Inside ``spark-submit`` or a notebook the session that already runs
    is used as it is, and kept.
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
        .config("spark.ui.showConsoleProgress", "false")
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
    user, name, account and properties). Before the first question one
    query finds the ids that repeat (a shuffle of 64-bit hashes of the ids
    alone) and caches them on the cluster: when none repeats, the questions
    read the rows as they are; when up to a million do, one more query
    dedupes the events with those ids and caches them (one row per id), and
    the questions read the other rows as they are (a broadcast join leaves
    the repeated ones out) and the cached ones; beyond that, every question
    shuffles every event. ``close()`` frees the cache. The table is
    taken to keep its ids while the source is in use. ``dedupe=False``
    takes the rows as they are and skips that query, for a table whose ids
    are known to be unique.

    A row without an id (no ``event_id`` column, or NULL) gets one made from
    its content, so ties break the same way in every query. With
    *event_ids* ``"row"`` (the default, as :func:`ttvkit.scan` and the
    readers) every such row is an event; with ``"content"`` rows alike in
    every field are one event sent twice and count once (what ``ttvkit
    report`` does with a file). Validation reads only the schema; no Spark
    job runs until a question is asked.

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
        event_ids: Literal["row", "content"] = "row",
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
        if event_ids not in ("row", "content"):
            raise ConfigurationError(f"event_ids={event_ids!r}: pass 'row' or 'content'")
        self._spark = df.sparkSession
        version = _version(str(self._spark.version))
        if version < (3, 5):
            raise ConfigurationError(
                f"Spark {self._spark.version}: ttvkit needs Spark 3.5 or later; upgrade the "
                "cluster or the Spark Connect server"
            )
        # Spark 4 types JSON with VARIANT; 3.5 reads the type from the value's text.
        variant = version >= (4, 0)
        self._view = f"ttv_events_{uuid.uuid4().hex}"
        self._canonical = canonical_view(
            df, mapping, zone=zone, unit=unit, variant=variant, event_ids=event_ids
        )
        self._dedupe = dedupe
        # Until the ids are known not to repeat (see _ready), each question dedupes.
        canonical = self._canonical
        view = first_per_id(canonical.frame) if dedupe else rows_as_they_are(canonical)
        view.createOrReplaceTempView(self._view)
        self._closed = False
        self._rows_checked = False
        self._cached: list[Any] = []
        self._names: frozenset[str] | None = None
        self._latest: tuple[datetime | None] | None = None

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
        event_ids: Literal["row", "content"] = "row",
    ) -> SparkSource:
        """A source over files Spark reads: a path, a directory or a glob (``s3a://...``).

        *format* is any format of ``spark.read`` with a schema in the files
        (``parquet``, ``orc``, ``delta`` where installed); *mapping*, *dedupe*,
        *assume_timezone*, *timestamp_unit* and *event_ids* are those of
        :class:`SparkSource`.
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
            event_ids=event_ids,
        )

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
        with job_errors():
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
        name_list, user_list = event_filter(names, "names"), event_filter(users, "users")
        for label, values in (("name", name_list), ("user_id", user_list)):
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
        # Rows that share an id are one event each in the queries (id-less rows alike
        # in every field, with event_ids="row"): they come one after the other, and
        # each copy after the first gets the id with "~2", "~3", ... as events do not.
        last, copies = None, 0
        with job_errors():  # a failing job raises on the first row or later
            for event_id, user, account, name, ts, properties in frame.toLocalIterator():
                copies = copies + 1 if (event_id, ts) == last else 1
                last = (event_id, ts)
                loaded = {} if properties is None else json.loads(properties)
                yield trusted_event(
                    user,
                    name,
                    from_micros(int(ts)),
                    loaded if isinstance(loaded, dict) else {},
                    account,
                    event_id if copies == 1 else f"{event_id}~{copies}",
                )

    def event_names(self) -> frozenset[str]:
        """The distinct event names: one ``SELECT DISTINCT`` on the cluster (names only
        reach the driver), asked once per source (the table is taken not to change)."""
        self._ready()
        if self._names is None:
            with job_errors():
                rows = self._spark.sql(f"SELECT DISTINCT name FROM {self._view}").collect()
            self._names = frozenset(str(r[0]) for r in rows if r[0] is not None)
        return self._names

    def latest_timestamp(self) -> datetime | None:
        """The latest event's time: one ``MAX`` on the cluster, asked once per source."""
        self._ready()
        if self._latest is None:
            with job_errors():
                (latest,) = self._spark.sql(f"SELECT MAX(ts) FROM {self._view}").first()
            self._latest = (None if latest is None else from_micros(int(latest)),)
        return self._latest[0]

    def count(self) -> int:
        self._ready()
        with job_errors():
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
        """Open; every id and name checked as the readers check them; and, when deduping,
        the cheapest dedupe the ids allow (see ``without_repeats``). Once, before the
        first question.

        The row check is one query that stops at the first row no event can hold.
        (Checked inside every question instead, in the same projection, the checks
        made a question three times slower at 1e7 events; this query adds about a
        tenth.) The ids are checked by one more, which shuffles their hashes alone:
        when none repeats, the questions read the rows as they are, without the
        shuffle of every row that the dedupe costs each of them.
        """
        self._check_open()
        if self._rows_checked:
            return
        problem = first_bad_row(self._canonical)
        if problem is not None:
            raise problem
        if self._dedupe:
            frame, self._cached = without_repeats(self._canonical)
            frame.createOrReplaceTempView(self._view)
        self._rows_checked = True

    def close(self) -> None:
        """Drop the temporary view (the DataFrame and the session stay)."""
        if not self._closed:
            self._closed = True
            self._spark.catalog.dropTempView(self._view)
            for cached in self._cached:
                cached.unpersist()

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
