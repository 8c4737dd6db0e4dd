"""PostgresStore: value events in PostgreSQL, observations computed by the server.

Needs the ``postgres`` extra (psycopg 3): ``pip install 'ttvkit[postgres]'``.
``docs/stores-postgres.md`` describes the tables, the URL options, and how
the store behaves under concurrency, outages and ``fork()``.

What lives here:

* :class:`PostgresStore` — the store. One connection per store, shared by
  threads under a lock, opened lazily and re-opened after it breaks.
* the schema (versioned DDL in :data:`_MIGRATIONS`, applied under an
  advisory lock so that concurrent processes do not race);
* :class:`_ObservationQuery` — compiles a milestone into one SQL statement
  that returns one row per customer, so that scanning, matching, ``nth``,
  running totals and per-customer minima happen inside PostgreSQL. Only the
  final assembly of each :class:`~ttvkit.observations.Observation` (the
  before-start rule, the window, the censoring time) runs in Python.

Every value is a bound parameter; only fixed SQL fragments and identifiers
that passed :func:`_check_identifier` (quoted with ``psycopg.sql.Identifier``)
are composed into statements.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import operator
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias, TypeVar, cast
from urllib.parse import unquote, urlsplit, urlunsplit

from ttvkit.conditions import Condition, EventCondition, Predicate, _AllOf, _AnyOf, _Nth, _Total
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    InvalidEventError,
    InvalidMilestoneError,
    MissingDependencyError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
)
from ttvkit.events import JSONValue, ValueEvent, _trusted_event
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    AttributeValue,
    FirstTime,
    Observation,
    Per,
    PropertyOf,
    StartProperty,
    _start_filter,
    check_attributes,
    check_per,
)
from ttvkit.stores._base import BaseStore, needed_event_names
from ttvkit.stores._deadline import current_limit

try:
    import psycopg
    from psycopg import sql
    from psycopg.adapt import Dumper
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.postgres import types as postgres_types
    from psycopg.pq import Format, TransactionStatus
except ImportError as exc:  # pragma: no cover - exercised by a test that hides psycopg
    raise MissingDependencyError(
        "PostgresStore needs psycopg 3, which is not installed: pip install 'ttvkit[postgres]'"
    ) from exc

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

#: The version of the tables this ttvkit writes; see :data:`_MIGRATIONS`.
SCHEMA_VERSION: Final = 1

_T = TypeVar("_T")
_Conn: TypeAlias = "psycopg.Connection[tuple[Any, ...]]"

# Lower-case so that the quoted identifier is the one an unquoted mention
# means too (PostgreSQL folds unquoted names to lower case).
_IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]*")
_PREFIX: Final = re.compile(r"[a-z_][a-z0-9_]*|")
_MAX_IDENTIFIER: Final = 63
_MAX_PREFIX: Final = 40  # leaves room for "events_name_ts_idx" within 63 bytes

#: Query options of a store URL that ttvkit consumes; the rest go to libpq.
_OWN_URL_OPTIONS: Final = frozenset({"schema", "table_prefix", "connect_timeout", "query_timeout"})

#: How often a call waiting for the server checks its deadline and close().
_WAIT_SLICE: Final = 0.1
#: How long close() waits for a call in another thread to give up its connection.
_CLOSE_WAIT: Final = 2.0

_WaitTimeout: Final[type[Exception]] = getattr(psycopg.errors, "_WaitTimeout", TimeoutError)

#: Events fetched per round trip by :meth:`PostgresStore.events`.
_PAGE_SIZE: Final = 5000

#: Connection parameters ttvkit sets unless the conninfo sets them: a dead
#: peer is noticed within about a minute instead of the kernel's 2 hours.
_NETWORK_DEFAULTS: Final[Mapping[str, str]] = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
    "application_name": "ttvkit",
}

# One statement per entry; {schema}, {events}, {version} and the index names
# are identifiers. _MIGRATIONS[v] takes the tables from version v-1 to v;
# a new store applies all of them, an older one the missing ones.
_MIGRATIONS: Final[Mapping[int, tuple[str, ...]]] = {
    1: (
        """
        CREATE TABLE {events} (
            event_id   text COLLATE "C" NOT NULL,
            user_id    text COLLATE "C" NOT NULL,
            account_id text COLLATE "C",
            name       text COLLATE "C" NOT NULL,
            ts         timestamptz NOT NULL,
            properties jsonb NOT NULL,
            CONSTRAINT {events_pkey} PRIMARY KEY (event_id)
        )
        """,
        # events() pages through (ts, event_id); latest_timestamp() reads its end.
        "CREATE INDEX {events_ts_idx} ON {events} (ts, event_id)",
        # observations() reads the events of a few names up to as_of.
        "CREATE INDEX {events_name_ts_idx} ON {events} (name, ts)",
    ),
}

# A session-local table for batches that may hold stored event ids.
_STAGING: Final = "pg_temp.ttvkit_staging"
_CREATE_STAGING: Final = sql.SQL(
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (event_id text, user_id text, "
    "account_id text, name text, ts timestamptz, properties jsonb) ON COMMIT DELETE ROWS"
)
_COPY_STAGING: Final = sql.SQL(
    f"COPY {_STAGING} (event_id, user_id, account_id, name, ts, properties) "
    "FROM STDIN (FORMAT BINARY)"
)
_LATEST: Final = datetime.max.replace(tzinfo=UTC)
_EVENT_ID: Final = operator.attrgetter("event_id")
_COPY_TYPES: Final = ["text", "text", "text", "text", "timestamptz", "jsonb"]


class _Deadline(psycopg.OperationalError):
    """A call gave up waiting for the server; the connection was abandoned."""


class _BoundedConnection(psycopg.Connection[tuple[Any, ...]]):
    """A psycopg connection whose every wait for the server has a deadline.

    psycopg waits for the socket in :meth:`wait`; this one waits in slices
    of :data:`_WAIT_SLICE` seconds and, between slices, asks its store for
    the deadline (the call's ``query_timeout``, or a tighter one a tracker
    lent, see :mod:`ttvkit.stores._deadline`) and whether the store was
    closed. Past the deadline, or once closed, the connection is abandoned
    (its socket closed, never reused) and :class:`_Deadline` raised. A
    server that stops answering, or a network that drops every packet,
    therefore holds a call no longer than its deadline plus one slice, which
    TCP keepalives and ``tcp_user_timeout`` cannot promise: the kernel of a
    frozen server, or a proxy in between, still acknowledges the packets.
    """

    ttv_deadline: Callable[[], float | None] | None = None

    def wait(self, gen: Any, interval: float = _WAIT_SLICE, timeout: float | None = None) -> Any:
        deadline_of = self.ttv_deadline
        if deadline_of is None:
            return super().wait(gen, interval, timeout)
        given = None if timeout is None else time.monotonic() + timeout
        while True:
            deadline = deadline_of()
            if given is not None:
                deadline = given if deadline is None else min(deadline, given)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self._abandon()
                raise _Deadline("the server did not answer in time")
            step = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - now)
            try:
                return super().wait(gen, interval, step)
            except _WaitTimeout:
                continue  # the generator is resumable: look at the deadline again

    def _abandon(self) -> None:
        # The protocol state is unknown: close the socket, never send more.
        with contextlib.suppress(Exception):
            self.pgconn.finish()


class _JSONTextDumper(Dumper):
    """Send JSON text that ttvkit serialised itself as binary jsonb.

    Registered by oid only, so COPY's ``set_types`` picks it for the
    properties column; nothing else on the connection dumps jsonb.
    """

    format = Format.BINARY
    oid = postgres_types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()  # jsonb's binary format: version 1, then the text


def _copy_rows(
    cur: psycopg.Cursor[Any], statement: sql.SQL | sql.Composed, events: list[ValueEvent]
) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(_COPY_TYPES)
        write = copy.write_row
        for e in events:
            write(
                (
                    e.event_id,
                    e.user_id,
                    e.account_id,
                    e.name,
                    e.timestamp,
                    _properties_text(e.properties),
                )
            )


class _Unsupported(Exception):
    """A condition this module cannot compile to SQL (a user-defined subclass)."""


# --------------------------------------------------------------------------- JSON


_encode: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _json_text(value: JSONValue | Mapping[str, JSONValue]) -> str:
    """Serialise *value* so that PostgreSQL's jsonb gives the same Python value back.

    jsonb keeps numbers as ``numeric``: ``1e+16`` would come back as the int
    ``10000000000000000``. Floats whose repr has an exponent are therefore
    written out in full with a ``.0`` (exact for floats that large), which
    jsonb keeps, and ``json.loads`` reads back as the same float.
    """
    text = _encode(value)
    # "e+" only appears in the repr of a large float, or inside some string;
    # the slow path is exact in both cases.
    return _encode_exact(value) if "e+" in text else text


def _encode_exact(value: object) -> str:
    if isinstance(value, float):
        text = repr(value)
        return f"{value:.1f}" if "e+" in text else text
    if isinstance(value, Mapping):
        return (
            "{"
            + ",".join(f"{_encode(key)}:{_encode_exact(item)}" for key, item in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode_exact(item) for item in value) + "]"
    return _encode(value)


def _properties_text(properties: Mapping[str, JSONValue]) -> str:
    # ValueEvent wraps only the top level in a read-only proxy; nested values
    # are plain dicts and lists the encoder takes as they are.
    return _json_text(dict(properties)) if properties else "{}"


# --------------------------------------------------------------------- identifiers


def _check_identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ConfigurationError(
            f"{what}={value!r}: use lower-case letters, digits and '_', starting with a "
            "letter or '_' (e.g. 'analytics')"
        )
    if len(value) > _MAX_IDENTIFIER:
        raise ConfigurationError(f"{what}={value!r}: at most {_MAX_IDENTIFIER} characters")
    return value


def _check_prefix(value: object) -> str:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise ConfigurationError(
            f"table_prefix={value!r}: use lower-case letters, digits and '_', starting with "
            "a letter or '_' (e.g. 'ttv_'), or '' for none"
        )
    if len(value) > _MAX_PREFIX:
        raise ConfigurationError(f"table_prefix={value!r}: at most {_MAX_PREFIX} characters")
    return value


def _check_timeout(value: object, what: str = "connect_timeout", example: int = 10) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(
            f"{what}={value!r}: must be a number of seconds > 0 (e.g. {example})"
        )
    return float(value)


def _aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise AnalysisError(
            f"{what}={value!r}: must be an aware datetime, e.g. datetime.now(timezone.utc)"
        )
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------- observations


def _scalar_sql(value: str) -> str:
    """Lists and objects read as None, as StartProperty and PropertyOf promise."""
    return f"CASE WHEN jsonb_typeof({value}) IN ('object', 'array') THEN NULL ELSE {value} END"


class _ObservationQuery:
    """One observations() call as one SQL statement with named parameters.

    The statement's layers (CTEs), each over the rows of the one before:

    ``lim``    the as_of bound (given, or the latest stored timestamp);
    ``base``   the customer's events up to as_of, with one boolean column
               per distinct event filter (``m0``, ``m1``, …);
    ``win``    running counts (``nth``) and running sums (``total``) per
               customer, over ``ORDER BY ts`` with the default RANGE frame,
               which takes in every event of the same timestamp;
    ``cand``   one row per customer whose clock started: the start, the
               reached time and the FirstTime attributes, as MIN(ts)
               FILTER (...) aggregates;
    ``after``/``win2``/``reach``  with before_start="ignore": the reached
               condition again, over the events at or after the start only;
    ``sev``    the start event, for StartProperty;
    ``po<i>``  the first or last event matching a PropertyOf filter.
    """

    def __init__(
        self,
        milestone: Milestone,
        as_of: datetime | None,
        per: Per,
        attributes: Sequence[Attribute],
    ) -> None:
        self.params: dict[str, object] = {}
        self._flags: dict[EventCondition, str] = {}
        self._flag_sql: list[str] = []
        self._windows: dict[str, dict[Condition, str]] = {"win": {}, "win2": {}}
        self._window_sql: dict[str, list[str]] = {"win": [], "win2": []}
        self._ctes: list[str] = []
        self.text = self._compile(milestone, as_of, per, attributes)

    def bind(self, value: object, cast: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s::{cast}"

    # -- matching one event

    def flag(self, condition: EventCondition) -> str:
        """The column of ``base`` that says whether a row matches *condition*."""
        alias = self._flags.get(condition)
        if alias is None:
            alias = self._flags[condition] = f"m{len(self._flags)}"
            tests = [f"name = {self.bind(condition.name, 'text')}"]
            tests += [self._predicate(key, test) for key, test in condition.where]
            self._flag_sql.append(f"({' AND '.join(tests)}) AS {alias}")
        return alias

    def _predicate(self, key: str, test: Predicate) -> str:
        value = f"(properties -> {self.bind(key, 'text')})"
        if test.op in ("eq", "in"):
            parts = [self._equals(value, expected) for expected in test.values]
            return parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"
        symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[test.op]
        # jsonb compares two numbers as numeric, i.e. exactly, like Python
        # compares int and float; the type test keeps booleans out.
        bound = self.bind(_json_text(test.values[0]), "jsonb")
        return f"(jsonb_typeof({value}) = 'number' AND {value} {symbol} {bound})"

    def _equals(self, value: str, expected: object) -> str:
        if expected is None:  # a missing key or an explicit null
            return f"({value} IS NULL OR jsonb_typeof({value}) = 'null')"
        # jsonb equality is JSON equality: 1 = 1.0, true is not 1, strings exact.
        assert isinstance(expected, str | int | float)
        return f"({value} = {self.bind(_json_text(expected), 'jsonb')})"

    # -- first times

    def first_time(self, condition: Condition, layer: str) -> str:
        """An aggregate over *layer*'s rows of one customer: when *condition* is first met."""
        if isinstance(condition, EventCondition):
            return f"MIN(ts) FILTER (WHERE {self.flag(condition)})"
        if isinstance(condition, _Nth):
            flag = self.flag(condition.event)
            seen = self._window(layer, condition, f"COUNT(*) FILTER (WHERE {flag})")
            # numeric, not bigint: k may be any int, even beyond 64 bits.
            return f"MIN(ts) FILTER (WHERE {seen} >= {self.bind(condition.k, 'numeric')})"
        if isinstance(condition, _Total):
            flag = self.flag(condition.event)
            value = f"(properties -> {self.bind(condition.property_name, 'text')})"
            # Booleans and non-numbers count 0; float8 as Python's float sum,
            # the threshold's tolerance absorbs the rounding of another order.
            running = self._window(
                layer,
                condition,
                f"SUM(CASE WHEN {flag} AND jsonb_typeof({value}) = 'number' "
                f"THEN ({value})::float8 ELSE 0 END)",
            )
            threshold = self.bind(condition.threshold, "float8")
            return f"MIN(ts) FILTER (WHERE {flag} AND {running} >= {threshold})"
        if isinstance(condition, _AllOf):
            parts = [self.first_time(part, layer) for part in condition.parts]
            missing = " OR ".join(f"{part} IS NULL" for part in parts)
            return f"(CASE WHEN {missing} THEN NULL ELSE GREATEST({', '.join(parts)}) END)"
        if isinstance(condition, _AnyOf):
            # LEAST ignores NULLs: the earliest part reached, NULL if none.
            return f"LEAST({', '.join(self.first_time(part, layer) for part in condition.parts)})"
        raise _Unsupported(condition)

    def _window(self, layer: str, condition: Condition, aggregate: str) -> str:
        known = self._windows[layer]
        alias = known.get(condition)
        if alias is None:
            alias = known[condition] = f"{layer}_{len(known)}"
            self._window_sql[layer].append(f"{aggregate} OVER w AS {alias}")
        return alias

    def _layer(self, name: str, source: str) -> str:
        """A CTE with *layer*'s window columns over *source*; *source* when it has none."""
        if not self._window_sql[name]:
            return source
        columns = ", ".join(self._window_sql[name])
        self._ctes.append(
            f"{name} AS (SELECT *, {columns} FROM {source} "
            "WINDOW w AS (PARTITION BY c ORDER BY ts))"
        )
        return name

    # -- the statement

    def _compile(
        self,
        milestone: Milestone,
        as_of: datetime | None,
        per: Per,
        attributes: Sequence[Attribute],
    ) -> str:
        ignore = milestone.before_start == "ignore"
        # Aggregates first: they register the flags and window columns the
        # lower layers must provide.
        if isinstance(milestone.start, datetime):
            start = f"GREATEST(MIN(ts), {self.bind(milestone.start, 'timestamptz')})"
        else:
            start = self.first_time(milestone.start, "win")
        reached = "NULL::timestamptz" if ignore else self.first_time(milestone.reached, "win")
        first_times = [
            f"{self.first_time(a.condition, 'win')} AS a{i}"
            for i, a in enumerate(attributes)
            if isinstance(a, FirstTime)
        ]
        reached_after = self.first_time(milestone.reached, "win2") if ignore else None
        start_flag = None
        if any(isinstance(a, StartProperty) for a in attributes):
            start_filter = _start_filter(milestone)
            start_flag = None if start_filter is None else self.flag(start_filter)
        property_of = {
            i: (self.flag(a.condition), self.bind(a.name, "text"), a.which)
            for i, a in enumerate(attributes)
            if isinstance(a, PropertyOf)
        }

        customer = "user_id" if per == "user" else "account_id"
        where = ["ts <= (SELECT as_of FROM lim)"]
        if per == "account":
            where.append("account_id IS NOT NULL")
        names = needed_event_names(milestone, attributes)
        if names is not None:
            where.append(f"name = ANY({self.bind(sorted(names), 'text[]')})")
        flags = "".join(f", {flag}" for flag in self._flag_sql)
        self._ctes.append(
            f"lim AS (SELECT COALESCE({self.bind(as_of, 'timestamptz')}, "
            "(SELECT max(ts) FROM {events})) AS as_of)"
        )
        self._ctes.append(
            f"base AS (SELECT {customer} AS c, ts, event_id, properties{flags} "
            f"FROM {{events}} WHERE {' AND '.join(where)})"
        )
        win = self._layer("win", "base")
        self._ctes.append(
            f"cand AS (SELECT * FROM (SELECT c, {start} AS start, {reached} AS reached"
            f"{''.join(', ' + f for f in first_times)} FROM {win} GROUP BY c) AS per_customer "
            "WHERE start IS NOT NULL AND start <= (SELECT as_of FROM lim))"
        )
        joins = []
        reached_column = "cand.reached"
        if reached_after is not None:
            self._ctes.append(
                "after AS (SELECT base.* FROM base JOIN cand ON cand.c = base.c "
                "WHERE base.ts >= cand.start)"
            )
            win2 = self._layer("win2", "after")
            self._ctes.append(
                f"reach AS (SELECT c, {reached_after} AS reached FROM {win2} GROUP BY c)"
            )
            joins.append("LEFT JOIN reach ON reach.c = cand.c")
            reached_column = "reach.reached"
        if any(isinstance(a, StartProperty) for a in attributes):
            if start_flag is None:  # a datetime start: the customer's first event
                self._ctes.append(
                    "sev AS (SELECT DISTINCT ON (c) c, properties FROM base "
                    "ORDER BY c, ts, event_id)"
                )
            else:  # the first matching event at the start time
                self._ctes.append(
                    "sev AS (SELECT DISTINCT ON (base.c) base.c, base.properties "
                    "FROM base JOIN cand ON cand.c = base.c "
                    f"WHERE base.ts = cand.start AND base.{start_flag} "
                    "ORDER BY base.c, base.event_id)"
                )
            joins.append("LEFT JOIN sev ON sev.c = cand.c")
        for i, (flag, key, which) in property_of.items():
            order = "ts, event_id" if which == "first" else "ts DESC, event_id DESC"
            self._ctes.append(
                f"po{i} AS (SELECT DISTINCT ON (c) c, properties -> {key} AS v "
                f"FROM base WHERE {flag} ORDER BY c, {order})"
            )
            joins.append(f"LEFT JOIN po{i} ON po{i}.c = cand.c")

        columns = ["cand.c", "cand.start", reached_column, "(SELECT as_of FROM lim)"]
        for i, a in enumerate(attributes):
            if isinstance(a, StartProperty):
                columns.append(_scalar_sql(f"(sev.properties -> {self.bind(a.name, 'text')})"))
            elif isinstance(a, FirstTime):
                columns.append(f"cand.a{i}")
            else:
                columns.append(_scalar_sql(f"po{i}.v"))
        return (
            f"WITH {', '.join(self._ctes)} SELECT {', '.join(columns)} FROM cand "
            f"{' '.join(joins)} ORDER BY cand.c"
        )


# -------------------------------------------------------------------------- store


class PostgresStore(BaseStore):
    """Value events in PostgreSQL; observations computed by the server.

    ``conninfo`` is a libpq connection string or URL
    (``postgresql://user@host:5432/db`` or ``"host=... dbname=..."``).
    Tables live in ``schema`` (created if missing) and are named
    ``{table_prefix}events`` and ``{table_prefix}schema_version``.

    The store connects on first use, keeps one connection that threads share
    under a lock, and reconnects after the connection broke (a server
    restart, a network cut, ``pg_terminate_backend``): an idle connection
    found broken is replaced and the call retried once, transparently; when
    the server cannot be reached the call raises
    :class:`~ttvkit.errors.StoreUnavailableError`. A forked child never
    touches its parent's connection; it opens its own.

    Every call, connecting included, gives up after ``query_timeout``
    seconds (default 60) with :class:`~ttvkit.errors.StoreUnavailableError`,
    even when the server stops answering without closing the connection;
    :meth:`close` from another thread makes a waiting call give up at once.
    """

    #: A Tracker whose queue is deep hands this many batches to one append()
    #: (one transaction): fewer commits, each as durable as before.
    _ttvkit_write_batches = 8

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "public",
        table_prefix: str = "ttv_",
        connect_timeout: float = 10,
        query_timeout: float = 60,
    ) -> None:
        self._schema = _check_identifier(schema, "schema")
        self._prefix = _check_prefix(table_prefix)
        self._timeout = _check_timeout(connect_timeout)
        self._query_timeout = _check_timeout(query_timeout, "query_timeout", 60)
        self._call_deadline: float | None = None
        if not isinstance(conninfo, str):
            raise ConfigurationError(
                f"conninfo={conninfo!r}: must be a str such as 'postgresql://user@host/db'"
            )
        try:
            params = conninfo_to_dict(conninfo)
            overrides = {k: v for k, v in _NETWORK_DEFAULTS.items() if k not in params}
            options = f"{params.get('options') or ''} -c TimeZone=UTC".strip()
            self._conninfo = make_conninfo(
                conninfo,
                connect_timeout=str(max(2, math.ceil(self._timeout))),
                options=options,
                **overrides,
            )
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"PostgreSQL connection string: {_first_line(exc)}; see "
                "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING"
            ) from None
        user = params.get("user") or ""
        self._where = (
            f"{user}{'@' if user else ''}{params.get('host') or 'localhost'}"
            f":{params.get('port') or 5432}/{params.get('dbname') or user}"
        )
        ident = sql.Identifier
        self._names: dict[str, sql.Composable] = {
            "schema": ident(self._schema),
            "events": ident(self._schema, f"{self._prefix}events"),
            "version": ident(self._schema, f"{self._prefix}schema_version"),
            "events_pkey": ident(f"{self._prefix}events_pkey"),
            "events_ts_idx": ident(f"{self._prefix}events_ts_idx"),
            "events_name_ts_idx": ident(f"{self._prefix}events_name_ts_idx"),
        }
        self._copy_events = self._sql(
            "COPY {events} (event_id, user_id, account_id, name, ts, properties) "
            "FROM STDIN (FORMAT BINARY)"
        )
        self._insert_staged = self._sql(
            "INSERT INTO {events} (event_id, user_id, account_id, name, ts, properties) "
            f"SELECT event_id, user_id, account_id, name, ts, properties FROM {_STAGING} "
            'ORDER BY event_id COLLATE "C" ON CONFLICT (event_id) DO NOTHING'
        )
        self._lock = threading.RLock()
        self._conn: _Conn | None = None
        self._ready = False  # tables checked (and created or migrated) once
        self._staging_ready = False  # the current connection has its temp table
        self._expect_duplicates = False  # the last batch held stored event ids
        self._closed = False
        _live_stores.add(self)

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """Open ``postgresql://user@host:port/db?schema=analytics`` (or ``postgres://``).

        ttvkit takes the query options ``schema``, ``table_prefix``,
        ``connect_timeout`` and ``query_timeout`` (seconds); every other option goes to libpq as
        written (``sslmode=require``, ``application_name=...``).
        """
        if not isinstance(url, str):
            raise ConfigurationError(f"store URL {url!r}: must be a str")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("postgresql", "postgres"):
            raise ConfigurationError(
                f"store URL {url!r}: expected postgresql://user@host:port/dbname"
            )
        own: dict[str, str] = {}
        passed: list[str] = []
        # Split the query by hand: re-encoding what libpq reads could change it.
        for item in filter(None, parts.query.split("&")):
            raw_key, _, raw_value = item.partition("=")
            key = unquote(raw_key)
            if key not in _OWN_URL_OPTIONS:
                passed.append(item)
            elif key in own:
                raise ConfigurationError(f"store URL: option {key!r} is given twice")
            else:
                own[key] = unquote(raw_value)
        timeouts: dict[str, float] = {}
        for key in ("connect_timeout", "query_timeout"):
            if key in own:
                try:
                    timeouts[key] = float(own[key])
                except ValueError:
                    raise ConfigurationError(
                        f"store URL: {key}={own[key]!r} is not a number of seconds"
                    ) from None
        return cls(
            urlunsplit(parts._replace(query="&".join(passed))),
            schema=own.get("schema", "public"),
            table_prefix=own.get("table_prefix", "ttv_"),
            connect_timeout=timeouts.get("connect_timeout", 10),
            query_timeout=timeouts.get("query_timeout", 60),
        )

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (
            f"<PostgresStore {self._where} schema={self._schema!r} "
            f"table_prefix={self._prefix!r}{state}>"
        )

    # -- connection management

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this PostgresStore is closed; open a new one")

    def _connection(self) -> _Conn:
        """The shared connection, opened (and the tables set up) if needed."""
        if self._conn is not None:
            if not self._conn.closed:
                return self._conn
            self._drop_connection()
        options: dict[str, Any] = {}
        deadline = self._deadline()
        if deadline is not None and deadline <= time.monotonic():
            raise self._too_slow()
        if deadline is not None and deadline - time.monotonic() < self._timeout:
            # libpq's smallest connect timeout is 2 s: a tighter deadline
            # (a tracker's sync_timeout) waits that long for a connection.
            options["connect_timeout"] = max(2, math.ceil(deadline - time.monotonic()))
        try:
            conn = _BoundedConnection.connect(self._conninfo, autocommit=True, **options)
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc
        if self._closed:  # close() ran while this thread was connecting
            conn.close()
            self._check_open()
        store = weakref.ref(self)

        def deadline_of() -> float | None:
            owner = store()
            if owner is None or owner._closed:
                return 0.0  # closed from another thread: give up now
            return owner._deadline()

        conn.ttv_deadline = deadline_of
        conn.adapters.register_dumper(None, _JSONTextDumper)
        try:
            if not self._ready:
                self._migrate(conn)
                self._ready = True
        except BaseException as exc:
            conn.close()
            if isinstance(exc, psycopg.Error):
                if isinstance(exc, _Deadline) or isinstance(exc.__context__, _Deadline):
                    raise self._too_slow() from exc
                if conn.broken or conn.closed:
                    raise self._unavailable(exc) from exc
                raise StoreError(
                    f"cannot set up ttvkit's tables in schema {self._schema!r} at "
                    f"{self._where}: {_first_line(exc)}. The first connection creates them; "
                    "it needs the CREATE privilege on the database (or on the schema)"
                ) from exc
            raise
        self._conn = conn
        self._staging_ready = False
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._staging_ready = False
        if conn is not None:
            with contextlib.suppress(psycopg.Error):  # broken already: nothing to release
                conn.close()

    def _deadline(self) -> float | None:
        """When the current call must give up: its query_timeout, or a tracker's tighter limit."""
        own = self._call_deadline
        lent = current_limit()
        if own is None:
            return lent
        return own if lent is None else min(own, lent)

    def _too_slow(self) -> StoreError:
        if self._closed:
            return StoreError("this PostgresStore was closed during the call; open a new one")
        return StoreUnavailableError(
            f"PostgreSQL at {self._where} did not answer in time (query_timeout="
            f"{self._query_timeout:g}s, or the caller's deadline); the connection was "
            "abandoned and the store reconnects on the next call. Retry later"
        )

    def _unavailable(self, exc: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"PostgreSQL at {self._where} is unavailable: {_first_line(exc)}. "
            "The store reconnects on the next call; retry later"
        )

    def _run(self, operation: Callable[[_Conn], _T]) -> _T:
        """Run *operation* on the shared connection, reconnecting once if it broke.

        The whole call, reconnecting included, is bounded by ``query_timeout``
        (and by a deadline a tracker lent this thread); past it the
        connection is abandoned and :class:`~ttvkit.errors.StoreUnavailableError`
        raised.
        """
        with self._lock:
            self._check_open()
            self._call_deadline = time.monotonic() + self._query_timeout
            try:
                return self._attempt(operation)
            finally:
                self._call_deadline = None
                if self._closed:  # close() from another thread gave up waiting for us
                    self._drop_connection()

    def _attempt(self, operation: Callable[[_Conn], _T]) -> _T:
        for attempt in range(2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                return operation(conn)
            except psycopg.Error as exc:
                if not conn.closed:
                    # The server answered: the statement failed, the
                    # transaction rolled back, the connection is fine.
                    raise StoreError(
                        f"PostgreSQL at {self._where} rejected a ttvkit statement: "
                        f"{_first_line(exc)}"
                    ) from exc
                self._drop_connection()
                if isinstance(exc, _Deadline) or isinstance(exc.__context__, _Deadline):
                    raise self._too_slow() from exc
                # A connection that sat idle may have been cut long ago
                # (restart, pg_terminate_backend); one retry on a new one
                # tells that apart from a server that is down right now.
                # The retry cannot duplicate: transactions roll back and
                # appends skip event ids already stored.
                if not reused or attempt:
                    raise self._unavailable(exc) from exc
            except BaseException:
                # Interrupted mid-statement (KeyboardInterrupt, ...): the
                # protocol state is unknown, so never reuse the connection.
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    self._drop_connection()
                raise
        raise AssertionError("unreachable: the loop returns or raises")

    def _migrate(self, conn: _Conn) -> None:
        """Create or upgrade the tables, under an advisory lock against racing processes."""
        key = int.from_bytes(
            hashlib.sha256(f"ttvkit:{self._schema}.{self._prefix}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        events_name, version_name = f"{self._prefix}events", f"{self._prefix}schema_version"
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s::bigint)", (key,))
            cur.execute(
                "SELECT c.relname FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = ANY(%s::text[])",
                (self._schema, [events_name, version_name]),
            )
            existing = {row[0] for row in cur.fetchall()}
            if version_name in existing:
                cur.execute(self._sql("SELECT version FROM {version}"))
                row = cur.fetchone()
                current = 0 if row is None else int(row[0])
            elif events_name in existing:
                raise ConfigurationError(
                    f"table {self._schema}.{events_name} exists but was not created by "
                    f"ttvkit (there is no {version_name} table); choose another "
                    "table_prefix or schema"
                )
            else:
                cur.execute(
                    "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (self._schema,)
                )
                if cur.fetchone() is None:
                    cur.execute(self._sql("CREATE SCHEMA {schema}"))
                cur.execute(
                    self._sql(
                        "CREATE TABLE {version} (only_row boolean PRIMARY KEY DEFAULT true "
                        "CHECK (only_row), version integer NOT NULL)"
                    )
                )
                cur.execute(self._sql("INSERT INTO {version} (version) VALUES (0)"))
                current = 0
            if current > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"the tables in schema {self._schema!r} at {self._where} have schema "
                    f"version {current}, written by a newer ttvkit; this one knows version "
                    f"{SCHEMA_VERSION}. Upgrade ttvkit (pip install -U 'ttvkit[postgres]')"
                )
            for target in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    cur.execute(self._sql(statement))
                cur.execute(self._sql("UPDATE {version} SET version = %s"), (target,))

    def _sql(self, template: str) -> sql.Composed:
        # Templates are module constants; only validated identifiers go in.
        return sql.SQL(template).format(**self._names)

    # -- writing

    def append(self, events: Sequence[ValueEvent]) -> int:
        """Store *events* in one transaction; return how many were new.

        An event whose ``event_id`` is stored already (or came earlier in
        this batch) is skipped. On failure nothing of the batch is stored,
        so retrying it is safe.
        """
        self._check_open()
        batch: dict[str, ValueEvent] = {}
        for e in events:
            if not isinstance(e, ValueEvent):
                raise InvalidEventError(
                    f"append() takes ValueEvent objects, got {type(e).__name__}; "
                    "build them with ValueEvent(...) or ValueEvent.from_mapping(row)"
                )
            batch.setdefault(e.event_id, e)  # the first occurrence wins
        if not batch:
            return 0
        # In event_id order: sessions inserting overlapping batches then wait
        # for each other in one order and never deadlock.
        unique = sorted(batch.values(), key=_EVENT_ID)

        def write(conn: _Conn) -> int:
            # Optimistic: COPY straight into the table, so that the server
            # inserts while this process encodes the next rows. One stored
            # event_id fails the COPY as a whole; the batch then goes through
            # a staging table and INSERT ... ON CONFLICT DO NOTHING, and so
            # do the following batches until one turns out to be all new
            # (a retried batch, a re-import: duplicates come in runs).
            if not self._expect_duplicates:
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        _copy_rows(cur, self._copy_events, unique)
                    return len(unique)
                except psycopg.errors.UniqueViolation:
                    self._expect_duplicates = True
            with conn.transaction(), conn.cursor() as cur:
                if not self._staging_ready:
                    cur.execute(_CREATE_STAGING)
                _copy_rows(cur, _COPY_STAGING, unique)
                cur.execute(self._insert_staged)
                new = cur.rowcount
            self._staging_ready = True  # committed, so the temp table exists
            self._expect_duplicates = new < len(unique)
            return new

        return self._run(write)

    # -- reading

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        """Stored events, oldest first (ties by ``event_id``), fetched page by page.

        Each page is one query, so a slow consumer holds no transaction and
        no lock; events appended meanwhile may or may not be seen.
        """
        self._check_open()
        where: list[str] = []
        params: dict[str, object] = {}
        if names is not None:
            where.append("name = ANY(%(names)s::text[])")
            params["names"] = list(names)
        if users is not None:
            where.append("user_id = ANY(%(users)s::text[])")
            params["users"] = list(users)
        if since is not None:
            where.append("ts >= %(since)s::timestamptz")
            params["since"] = _aware(since, "since")
        if until is not None:
            where.append("ts <= %(until)s::timestamptz")
            params["until"] = _aware(until, "until")
        return self._pages(where, params)

    def _pages(self, where: list[str], params: dict[str, object]) -> Iterator[ValueEvent]:
        columns = "SELECT event_id, user_id, account_id, name, ts, properties FROM {events}"
        order = " ORDER BY ts, event_id LIMIT %(limit)s"
        first = self._sql(columns + (" WHERE " + " AND ".join(where) if where else "") + order)
        after = " AND ".join([*where, "(ts, event_id) > (%(last_ts)s, %(last_id)s::text)"])
        following = self._sql(f"{columns} WHERE {after}{order}")
        query, params = first, {**params, "limit": _PAGE_SIZE}

        def fetch(conn: _Conn) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()

        while True:
            rows = self._run(fetch)
            for event_id, user_id, account_id, name, ts, properties in rows:
                yield _trusted_event(user_id, name, ts, properties, account_id, event_id)
            if len(rows) < _PAGE_SIZE:
                return
            query = following
            params = {**params, "last_ts": rows[-1][4], "last_id": rows[-1][0]}

    def latest_timestamp(self) -> datetime | None:
        """The newest stored event's timestamp, or ``None`` when empty."""
        return cast("datetime | None", self._scalar(self._sql("SELECT max(ts) FROM {events}")))

    def count(self) -> int:
        """How many events are stored."""
        return int(self._scalar(self._sql("SELECT count(*) FROM {events}")))

    def _scalar(self, query: sql.Composed) -> Any:
        def fetch(conn: _Conn) -> Any:
            row = conn.execute(query).fetchone()
            return None if row is None else row[0]

        return self._run(fetch)

    def observations(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> list[Observation]:
        """One observation per customer, computed by PostgreSQL (see the module docstring).

        Returns exactly what :func:`ttvkit.observations.observe` returns on
        the stored events. A milestone built from a user-defined
        :class:`~ttvkit.conditions.Condition` subclass, which has no SQL
        form, is evaluated in Python over the streamed events instead.
        """
        per = check_per(per)
        attributes = check_attributes(attributes)
        if not isinstance(milestone, Milestone):
            raise InvalidMilestoneError(f"{milestone!r} is not a Milestone")
        if as_of is not None:
            as_of = _aware(as_of, "as_of")
        try:
            query = _ObservationQuery(milestone, as_of, per, attributes)
        except _Unsupported:
            return super().observations(milestone, as_of=as_of, per=per, attributes=attributes)
        statement = self._sql(query.text)

        def fetch(conn: _Conn) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(statement, query.params)
                return cur.fetchall()

        rows = self._run(fetch)
        out: list[Observation] = []
        window = milestone.window
        for customer, start, reached, latest, *values in rows:
            # The rules of observations._observe_one, on one row per customer.
            before = False
            if milestone.before_start != "ignore" and reached is not None and reached < start:
                if milestone.before_start == "exclude":
                    continue
                reached, before = start, True
            censor_at: datetime = latest if as_of is None else as_of
            # A window reaching past datetime.max is no window (as in observe()).
            if window is not None and window < _LATEST - start:
                window_end: datetime = start + window
                if reached is not None and reached > window_end:
                    reached = None
                censor_at = min(censor_at, window_end)
            attribute_values: tuple[AttributeValue, ...] = tuple(values)
            out.append(
                Observation(
                    customer_id=customer,
                    start=start,
                    reached_at=reached,
                    end=reached if reached is not None else censor_at,
                    reached_before_start=before,
                    attributes=attribute_values,
                )
            )
        return out

    # -- closing and forking

    def close(self) -> None:
        """Close the connection; further use raises :class:`~ttvkit.errors.StoreError`.

        Safe from any thread, and bounded: a call that another thread is
        making gives up within a fraction of a second (its connection is
        abandoned), and close() waits at most about two seconds for it.
        """
        self._closed = True  # seen by a call waiting for the server, which then gives up
        if self._lock.acquire(timeout=_CLOSE_WAIT):
            try:
                self._drop_connection()
            finally:
                self._lock.release()
        # else: that call drops the connection itself when it returns (see _run).
        _live_stores.discard(self)

    def _after_fork_in_child(self) -> None:
        # The child shares the parent's socket: closing the connection would
        # send Terminate and end the parent's session. Keep the object alive
        # (its finaliser would warn) and never use it; connect anew lazily.
        # The lock may have been held by a parent thread that does not exist here.
        self._lock = threading.RLock()
        if self._conn is not None:
            _inherited_connections.append(self._conn)
            self._conn = None
        self._staging_ready = False


_live_stores: weakref.WeakSet[PostgresStore] = weakref.WeakSet()
_inherited_connections: list[object] = []


def _forget_connections_in_child() -> None:
    for store in list(_live_stores):
        store._after_fork_in_child()


os.register_at_fork(after_in_child=_forget_connections_in_child)
