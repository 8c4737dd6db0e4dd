"""PostgresStore: value events in PostgreSQL, observations computed by the server."""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
import re
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar, cast
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from ttvkit._fork import at_fork
from ttvkit.errors import ConfigurationError, StoreError, StoreUnavailableError
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.observations import check_aware, to_micros
from ttvkit.stores import shown_url
from ttvkit.stores._base import BaseStore, appended_batch, event_filter
from ttvkit.stores.deadline import current_limit
from ttvkit.stores.postgres.adapters import (
    COPY_STAGING,
    CREATE_STAGING,
    STAGING,
    JSONTextDumper,
    copy_rows,
)
from ttvkit.stores.postgres.connection import (
    NETWORK_DEFAULTS,
    BoundedConnection,
    Deadline,
    first_line,
)
from ttvkit.stores.postgres.schema import (
    Conn,
    check_identifier,
    check_prefix,
    migrate,
    table_names,
)
from ttvkit.stores.sql import ObservationPlan
from ttvkit.stores.sql.engines import PostgresDialect
from ttvkit.stores.sql.source import PlanQueries, StatementOf

__all__ = ["PostgresStore"]

#: The plan's hooks for PostgreSQL; ``{events}`` is filled in by ``_sql``.
_DIALECT: Final = PostgresDialect("{events}")

_T = TypeVar("_T")

#: Query options of a store URL that ttvkit consumes; the rest go to libpq.
_OWN_URL_OPTIONS: Final = frozenset({"schema", "table_prefix", "connect_timeout", "query_timeout"})

#: How long close() waits for a call in another thread to give up its connection.
_CLOSE_WAIT: Final = 2.0

#: Events fetched per round trip by :meth:`PostgresStore.events`.
_PAGE_SIZE: Final = 5000

_EVENT_ID: Final = operator.attrgetter("event_id")


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
    return check_aware(value, what)


def _hosts_text(params: Mapping[str, object]) -> str:
    """``host:port`` of each host libpq may try, comma-separated (libpq's defaults filled in).

    libpq lists several hosts as ``host=a,b`` and their ports as ``port=5432,5433``,
    one port for all, or an empty entry for the default.
    """
    hosts = str(params.get("host") or "").split(",")
    ports = str(params.get("port") or "").split(",")
    if len(ports) == 1:
        ports *= len(hosts)
    pairs = itertools.zip_longest(hosts, ports, fillvalue="")
    return ",".join(f"{host or 'localhost'}:{port or 5432}" for host, port in pairs)


class PostgresStore(PlanQueries, BaseStore):
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
        self._schema = check_identifier(schema, "schema")
        self._prefix = check_prefix(table_prefix)
        self._timeout = _check_timeout(connect_timeout)
        self._query_timeout = _check_timeout(query_timeout, "query_timeout", 60)
        self._call_deadline: float | None = None
        if not isinstance(conninfo, str):
            raise ConfigurationError(
                f"conninfo={conninfo!r}: must be a str such as 'postgresql://user@host/db'"
            )
        try:
            params = conninfo_to_dict(conninfo)
            overrides = {k: v for k, v in NETWORK_DEFAULTS.items() if k not in params}
            options = f"{params.get('options') or ''} -c TimeZone=UTC".strip()
            self._conninfo = make_conninfo(
                conninfo,
                connect_timeout=str(max(2, math.ceil(self._timeout))),
                options=options,
                **overrides,
            )
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"PostgreSQL connection string: {_without_secrets(first_line(exc), conninfo)}; "
                "see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING"
            ) from None
        user = params.get("user") or ""
        self._where = (
            f"{user}{'@' if user else ''}{_hosts_text(params)}/{params.get('dbname') or user}"
        )
        self._names = table_names(self._schema, self._prefix)
        self._latest_micros = self._sql(
            "SELECT (EXTRACT(EPOCH FROM max(ts)) * 1000000)::int8 FROM {events}"
        )
        self._copy_events = self._sql(
            "COPY {events} (event_id, user_id, account_id, name, ts, properties) "
            "FROM STDIN (FORMAT BINARY)"
        )
        self._insert_staged = self._sql(
            "INSERT INTO {events} (event_id, user_id, account_id, name, ts, properties) "
            f"SELECT event_id, user_id, account_id, name, ts, properties FROM {STAGING} "
            'ORDER BY event_id COLLATE "C" ON CONFLICT (event_id) DO NOTHING'
        )
        self._lock = threading.RLock()
        self._conn: Conn | None = None
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
            raise ConfigurationError(f"store URL of type {type(url).__name__}: must be a str")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("postgresql", "postgres"):
            raise ConfigurationError(
                f"store URL {shown_url(url)!r}: expected postgresql://user@host:port/dbname"
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
        # Rebuilt as text: urlunsplit() turns postgresql:///db (a local socket) into
        # postgresql:/db, which libpq no longer reads as a URI.
        base = url.split("?", 1)[0].split("#", 1)[0]
        query = f"?{'&'.join(passed)}" if passed else ""
        return cls(
            f"{base}{query}{'#' + parts.fragment if parts.fragment else ''}",
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

    def _connection(self) -> Conn:
        """The shared connection, opened (and the tables set up) if needed."""
        if self._conn is not None:
            if not self._conn.closed:
                return self._conn
            self._drop_connection()
        if (deadline := self._deadline()) is not None and deadline <= time.monotonic():
            raise self._too_slow()
        store = weakref.ref(self)

        def deadline_of() -> float | None:
            owner = store()
            if owner is None or owner._closed:
                return 0.0  # closed from another thread: give up now
            return owner._deadline()

        try:
            # libpq's connect_timeout bounds each attempt; the call's deadline
            # (query_timeout, a tracker's) and close() cut it short.
            conn = BoundedConnection.connect_until(self._conninfo, deadline_of, autocommit=True)
        except Deadline as exc:
            raise self._too_slow() from exc
        except psycopg.Error as exc:
            if _BAD_OPTION_VALUE.search(str(exc)):
                # libpq checks option values when it connects: a wrong one is a
                # mistake in the URL, which no retry mends.
                raise ConfigurationError(
                    f"PostgreSQL connection string: {_without_secrets(str(exc), self._conninfo)}"
                    " (an option libpq knows, with a value it does not take)"
                ) from exc
            raise self._unavailable(exc) from exc
        if self._closed:  # close() ran while this thread was connecting
            conn.close()
            self._check_open()
        conn.adapters.register_dumper(None, JSONTextDumper)
        try:
            if not self._ready:
                self._migrate(conn)
                self._ready = True
        except BaseException as exc:
            lost = conn.broken or conn.closed  # before close(), after which it is always closed
            conn.close()
            if isinstance(exc, psycopg.Error):
                if isinstance(exc, Deadline) or isinstance(exc.__context__, Deadline):
                    raise self._too_slow() from exc
                if lost:
                    raise self._unavailable(exc) from exc
                # Refused by the server (a privilege, a table in the way): permanent,
                # retrying will not help.
                why = (
                    "The first connection creates them; it needs the CREATE privilege on the "
                    "database (or on the schema), and USAGE on the schema"
                    if isinstance(exc, psycopg.errors.InsufficientPrivilege)
                    else "A table of that name that ttvkit did not create may be in the way: "
                    "use another schema or table_prefix"
                )
                raise StoreError(
                    f"cannot set up ttvkit's tables in schema {self._schema!r} at "
                    f"{self._where}: {first_line(exc)}. {why}"
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
            f"PostgreSQL at {self._where} is unavailable: {first_line(exc)}. "
            "The store reconnects on the next call; retry later"
        )

    def _run(self, operation: Callable[[Conn], _T]) -> _T:
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

    def _attempt(self, operation: Callable[[Conn], _T]) -> _T:
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
                        f"{first_line(exc)}"
                    ) from exc
                self._drop_connection()
                if isinstance(exc, Deadline) or isinstance(exc.__context__, Deadline):
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

    def _migrate(self, conn: Conn) -> None:
        migrate(conn, self._schema, self._prefix, self._sql, self._where)

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
        for e in appended_batch(events):
            batch.setdefault(e.event_id, e)  # the first occurrence wins
        if not batch:
            return 0
        # In event_id order: sessions inserting overlapping batches then wait
        # for each other in one order and never deadlock.
        unique = sorted(batch.values(), key=_EVENT_ID)

        def write(conn: Conn) -> int:
            # Optimistic: COPY straight into the table, so that the server
            # inserts while this process encodes the next rows. One stored
            # event_id fails the COPY as a whole; the batch then goes through
            # a staging table and INSERT ... ON CONFLICT DO NOTHING, and so
            # do the following batches until one turns out to be all new
            # (a retried batch, a re-import: duplicates come in runs).
            if not self._expect_duplicates:
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        copy_rows(cur, self._copy_events, unique)
                    return len(unique)
                except psycopg.errors.UniqueViolation:
                    self._expect_duplicates = True
            with conn.transaction(), conn.cursor() as cur:
                if not self._staging_ready:
                    cur.execute(CREATE_STAGING)
                copy_rows(cur, COPY_STAGING, unique)
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
        names, users = event_filter(names, "names"), event_filter(users, "users")
        where: list[str] = []
        params: dict[str, object] = {}
        if names is not None:
            where.append("name = ANY(%(names)s::text[])")
            params["names"] = names
        if users is not None:
            where.append("user_id = ANY(%(users)s::text[])")
            params["users"] = users
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

        def fetch(conn: Conn) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()

        while True:
            rows = self._run(fetch)
            for event_id, user_id, account_id, name, ts, properties in rows:
                yield trusted_event(user_id, name, ts, properties, account_id, event_id)
            if len(rows) < _PAGE_SIZE:
                return
            query = following
            params = {**params, "last_ts": rows[-1][4], "last_id": rows[-1][0]}

    def event_names(self) -> frozenset[str]:
        """The distinct stored event names: one seek of the ``(name, ts)`` index per name.

        PostgreSQL has no skip scan: ``SELECT DISTINCT name`` reads every row
        (0.8 s for 4.6 million events), and every analysis asks. The recursive
        query jumps from each name to the next one up, so it reads as many index
        entries as there are names.
        """

        def fetch(conn: Conn) -> frozenset[str]:
            query = self._sql(
                "WITH RECURSIVE names(name) AS ("
                "(SELECT name FROM {events} ORDER BY name LIMIT 1) "
                "UNION ALL SELECT (SELECT e.name FROM {events} AS e WHERE e.name > n.name "
                "ORDER BY e.name LIMIT 1) FROM names AS n WHERE n.name IS NOT NULL) "
                "SELECT name FROM names WHERE name IS NOT NULL"
            )
            rows = conn.execute(query).fetchall()
            return frozenset(str(r[0]) for r in rows)

        return self._run(fetch)

    def latest_timestamp(self) -> datetime | None:
        """The newest stored event's timestamp, or ``None`` when empty."""
        return cast("datetime | None", self._scalar(self._sql("SELECT max(ts) FROM {events}")))

    def count(self) -> int:
        """How many events are stored."""
        return int(self._scalar(self._sql("SELECT count(*) FROM {events}")))

    def _scalar(self, query: sql.Composed) -> Any:
        def fetch(conn: Conn) -> Any:
            row = conn.execute(query).fetchone()
            return None if row is None else row[0]

        return self._run(fetch)

    def run_plan(
        self, plan: ObservationPlan, as_of: datetime | None, statement: StatementOf
    ) -> tuple[list[tuple[Any, ...]], PostgresDialect] | None:
        """The plan rendered for PostgreSQL and run in one transaction (see PlanQueries)."""
        given = None if as_of is None else to_micros(_aware(as_of, "as_of"))

        def fetch(conn: Conn) -> list[tuple[Any, ...]]:
            # One transaction: the latest timestamp and the rows come from
            # the same snapshot.
            with conn.transaction(), conn.cursor() as cur:
                until = given
                if until is None:
                    cur.execute(self._latest_micros)
                    row = cur.fetchone()
                    if row is None or row[0] is None:
                        return []
                    until = int(row[0])
                query = statement(plan, _DIALECT, until)
                cur.execute(self._sql(query.sql), query.params)
                return cur.fetchall()

        rows = self._run(fetch)
        return (rows, _DIALECT) if rows else None

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


at_fork(after_in_child=_forget_connections_in_child)


#: libpq's words for an option it knows given a value it does not take.
_BAD_OPTION_VALUE: Final = re.compile(
    r'invalid (?:integer )?value "[^"]*" for connection option|invalid \w+ value: "'
)


def _without_secrets(text: str, conninfo: str) -> str:
    """*text* (libpq's words about *conninfo*, which may quote it) with the password of
    *conninfo* replaced by ``***``, as written and percent-decoded."""
    secrets = set()
    try:
        password = urlsplit(conninfo).password
    except ValueError:
        password = None
    if password:
        secrets |= {password, unquote(password)}
    secrets |= set(re.findall(r"(?i)\bpassword\s*=\s*'?([^'\s&]+)", conninfo))
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return shown_url(text)
