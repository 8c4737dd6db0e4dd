"""DuckDBStore: value events in a DuckDB database file (or in memory), for large logs.

Needs ``pip install 'ttvkit[duckdb]'`` (DuckDB 1.3 or newer). DuckDB is a
columnar, vectorised engine: whole-log queries read only the columns they
need, on every core.
``docs/stores-duckdb.md`` describes the URLs, the schema and the limits.

Concurrency: DuckDB lets one *process* open a file for writing. Within that
process any number of threads may use the store: each operation runs on its
own cursor (a connection to the same database instance), appends are
serialised by a lock, and reads see committed data without waiting for
writers. A second process opening the same file gets
:class:`~ttvkit.errors.StoreUnavailableError`. After ``os.fork()`` the child
must not use a store the parent opened (DuckDB's threads and file lock stay
with the parent): it raises :class:`~ttvkit.errors.StoreError` there, and the
child opens its own once the parent has closed the file.

The engine interface
--------------------
:class:`DuckDBStore` and the read-only sources of :func:`ttvkit.scan` expose
the same three members, which a query plan rendered for DuckDB needs and
nothing else:

``sql_engine``
    ``"duckdb"``: the dialect the plan is rendered in.
``relation_sql``
    The SQL name (safely quoted) of *the canonical relation*: one row per
    event, columns exactly ``event_id VARCHAR NOT NULL`` (unique),
    ``user_id VARCHAR NOT NULL``, ``account_id VARCHAR`` (NULL when none),
    ``name VARCHAR NOT NULL``, ``ts BIGINT NOT NULL`` (microseconds since
    1970-01-01 UTC, exact) and ``properties JSON`` (the JSON object as text,
    JSON types preserved: ``true`` is not ``1`` and ``"1"`` is not ``1``;
    NULL when the event has no properties). Numbers in ``properties`` keep
    the text they were written with (``2.0`` stays ``2.0``).
``query(sql, params)``
    Runs one parameterised statement (``?`` placeholders) on a cursor of its
    own (thread-safe) and returns every row; DuckDB errors are raised as
    :class:`~ttvkit.errors.StoreError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import unquote

from ttvkit._json import compact
from ttvkit._optional import missing
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    InvalidEventError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
)
from ttvkit.events import JSONValue, ValueEvent, trusted_event
from ttvkit.observations import check_aware, from_micros, to_micros
from ttvkit.stores._base import BaseStore
from ttvkit.stores.sql.source import DuckDBQueries

try:
    import duckdb
except ImportError as exc:  # pragma: no cover - the test environment has duckdb
    raise missing("duckdb", "duckdb", "DuckDBStore and ttvkit.scan()") from exc

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "DuckDBStore", "quote_identifier", "quote_literal"]

_T = TypeVar("_T")

#: The schema, as the list of migrations that build it: migration *i* (from 1)
#: takes a file from schema version *i - 1* to *i*, recorded in ``ttv_meta``
#: (key ``schema_version``). Never edit a released migration: append a new one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        # The canonical relation itself (see the module docstring): the
        # primary key makes append idempotent and lets one id be found
        # without a scan.
        """CREATE TABLE ttv_events (
            event_id   VARCHAR NOT NULL PRIMARY KEY,
            user_id    VARCHAR NOT NULL,
            account_id VARCHAR,
            name       VARCHAR NOT NULL,
            ts         BIGINT NOT NULL,
            properties JSON
        )""",
    ),
)

#: The schema version this ttvkit writes.
SCHEMA_VERSION: Final = len(MIGRATIONS)

_FETCH_SIZE: Final = 2048

# Appends arrive as one list per column and are unnested in the engine: one
# statement per batch, no per-row round trip and no temporary table.
_INSERT_EVENTS: Final = (
    "INSERT INTO ttv_events (event_id, user_id, account_id, name, ts, properties) "
    "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
    "unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[])::JSON "
    "ON CONFLICT (event_id) DO NOTHING"
)

# One encoder for every append, as in SQLiteStore; compact, so a property
# written by ttvkit is the same text in every store.
_ENCODE: Final = compact


def quote_identifier(name: str) -> str:
    """*name* as a DuckDB identifier: in double quotes, inner quotes doubled.

    Used for the names of relations and of columns found in a user's file,
    which are data and never pasted into SQL unquoted.
    """
    if "\x00" in name:
        raise ConfigurationError(f"name {name!r} contains a NUL character; rename it")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """*text* as a DuckDB string literal: in single quotes, inner quotes doubled.

    Only for text a view definition must contain (views take no parameters):
    column names and file paths. Values in queries are always bound.
    """
    if "\x00" in text:
        raise ConfigurationError(f"text {text!r} contains a NUL character")
    return "'" + text.replace("'", "''") + "'"


def _aware_micros(value: datetime, what: str) -> int:
    return to_micros(check_aware(value, what))


def _dump_properties(properties: Mapping[str, JSONValue]) -> str | None:
    if not properties:
        return None
    return _ENCODE(dict(properties))


def _event_from_row(row: tuple[Any, ...]) -> ValueEvent:
    event_id, user_id, account_id, name, ts, properties = row
    return trusted_event(
        user_id,
        name,
        from_micros(ts),
        json.loads(properties) if properties is not None else {},
        account_id,
        event_id,
    )


#: The canonical columns, in order, as :func:`_event_from_row` reads them.
CANONICAL_COLUMNS: Final = "event_id, user_id, account_id, name, ts, properties"


class DuckDBEngine:
    """A DuckDB database (file or in memory) and the engine interface over one relation.

    The part :class:`DuckDBStore` and the sources of :func:`ttvkit.scan` share:
    cursors per operation, error translation, streaming ``events()`` of the
    canonical relation, ``latest_timestamp()``, ``count()``, ``query()``,
    closing, and refusing use in a forked child.
    """

    sql_engine: Final = "duckdb"

    def __init__(self, database: str, *, what: str, relation: str) -> None:
        self._database = database
        self._what = what
        #: The SQL name of the canonical relation (see the module docstring).
        self.relation_sql = quote_identifier(relation)
        self._pid = os.getpid()
        self._closed = False
        self._registry_lock = threading.Lock()
        self._open_cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        #: Run on every new cursor (scan registers its DataFrame there).
        self._on_cursor: Callable[[duckdb.DuckDBPyConnection], object] | None = None
        try:
            self._connection = duckdb.connect(database)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreUnavailableError(
                    f"{self._what}: another process has this DuckDB file open ({exc}); "
                    "DuckDB allows one process at a time: write through that process, "
                    "or close it first"
                ) from exc
            raise StoreError(
                f"cannot open the DuckDB database {database!r}: {exc}; check that the "
                "directory exists and is writable"
            ) from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the DuckDB database {database!r}: {exc}") from exc

    # -- cursors and errors ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"this {self._what} is closed; open a new one")
        if os.getpid() != self._pid:
            raise StoreError(
                f"this {self._what} was opened before os.fork(); DuckDB cannot be shared "
                "with a child process: open the store in the child (after the parent "
                "closes a file store)"
            )

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._registry_lock:
            self._check_open()
            try:
                cursor = self._connection.cursor()
                if self._on_cursor is not None:
                    self._on_cursor(cursor)
            except duckdb.Error as exc:
                raise self._failure(exc) from exc
            self._open_cursors.add(cursor)
        return cursor

    def _failure(self, exc: duckdb.Error) -> StoreError:
        if self._closed or (
            isinstance(exc, duckdb.ConnectionException) and "closed" in str(exc).lower()
        ):
            return StoreError(f"this {self._what} is closed; open a new one")
        return StoreError(f"DuckDB failed on {self._what}: {exc}")

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        cursor = self._cursor()
        try:
            return work(cursor)
        except duckdb.Error as exc:
            raise self._failure(exc) from exc
        finally:
            _close_quietly(cursor)

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run one parameterised statement (``?`` placeholders) and return every row.

        Thread-safe: the statement runs on a cursor of its own. DuckDB errors
        are raised as :class:`~ttvkit.errors.StoreError`.
        """
        return self._run(lambda cursor: cursor.execute(sql, list(params)).fetchall())

    # -- reading --------------------------------------------------------------------------

    def _events_sql(
        self,
        names: Collection[str] | None,
        users: Collection[str] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> tuple[str, list[object]]:
        terms: list[str] = []
        params: list[object] = []
        if names is not None:
            terms.append("list_contains(?::VARCHAR[], name)")
            params.append(_str_list(names, "names"))
        if users is not None:
            terms.append("list_contains(?::VARCHAR[], user_id)")
            params.append(_str_list(users, "users"))
        if since is not None:
            terms.append("ts >= ?")
            params.append(_aware_micros(since, "since"))
        if until is not None:
            terms.append("ts <= ?")
            params.append(_aware_micros(until, "until"))
        where = f" WHERE {' AND '.join(terms)}" if terms else ""
        sql = f"SELECT {CANONICAL_COLUMNS} FROM {self.relation_sql}{where} ORDER BY ts, event_id"
        return sql, params

    def _stream(self, sql: str, params: list[object]) -> Iterator[ValueEvent]:
        # A cursor of its own: the iterator may be consumed slowly, or in
        # another thread, while the store keeps writing (DuckDB's MVCC gives
        # it one snapshot).
        cursor = self._cursor()
        pid = self._pid
        try:
            try:
                cursor.execute(sql, params)
            except duckdb.Error as exc:
                raise self._failure(exc) from exc
            while True:
                try:
                    rows = cursor.fetchmany(_FETCH_SIZE)
                except duckdb.Error as exc:
                    raise self._failure(exc) from exc
                if not rows:
                    return
                if os.getpid() != pid:
                    raise StoreError(
                        "this events() iterator was started before os.fork(); "
                        "call events() again in the child process"
                    )
                yield from map(_event_from_row, rows)
        finally:
            if os.getpid() == pid:
                _close_quietly(cursor)

    def _latest_timestamp(self) -> datetime | None:
        rows = self.query(f"SELECT MAX(ts) FROM {self.relation_sql}", ())
        latest = rows[0][0]
        return None if latest is None else from_micros(int(latest))

    def _count(self) -> int:
        rows = self.query(f"SELECT COUNT(*) FROM {self.relation_sql}", ())
        return int(rows[0][0])

    def _close(self) -> None:
        with self._registry_lock:
            if self._closed:
                return
            self._closed = True
            if os.getpid() != self._pid:
                return  # never touch the parent's DuckDB from a forked child
            cursors = list(self._open_cursors)
        for cursor in cursors:
            _close_quietly(cursor)
        _close_quietly(self._connection)
        self._on_cursor = None  # let go of a scanned table


def _close_quietly(cursor: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        cursor.close()


def _str_list(values: Collection[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise AnalysisError(f"{what}={values!r}: pass a collection of str, not one str")
    return [str(v) for v in values]


class DuckDBStore(DuckDBQueries, DuckDBEngine, BaseStore):
    """Value events in a DuckDB database file, or in memory.

    ``path`` is a file (created when missing, with its schema) or
    ``":memory:"`` for a private in-memory database that all threads of this
    store share. Appends are idempotent by ``event_id`` and atomic (one
    transaction per call). See the module docstring for concurrency and for
    the engine interface (``sql_engine``, ``relation_sql``, ``query``).

    >>> with DuckDBStore("ttv.duckdb") as store:        # doctest: +SKIP
    ...     store.append([ValueEvent("u1", "signup", "2026-01-01T09:00:00Z")])
    1
    """

    events_unique_and_ordered = True

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        raw = os.fspath(path)
        if not isinstance(raw, str) or not raw:
            raise ConfigurationError(f"DuckDBStore path={path!r}: pass a file path or ':memory:'")
        self._memory = raw == ":memory:"
        self._path = raw if self._memory else os.path.abspath(raw)
        super().__init__(self._path, what=f"DuckDBStore ({self._path})", relation="ttv_events")
        self._write_lock = threading.Lock()
        try:
            self._run(self._prepare)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_url(cls, url: str) -> DuckDBStore:
        """Open a ``duckdb://`` URL.

        ``duckdb:///relative/ttv.duckdb`` (relative to the working directory),
        ``duckdb:////var/lib/ttv.duckdb`` (absolute), ``duckdb://`` or
        ``duckdb:///:memory:`` (in memory). ``%xx`` escapes in the path are
        decoded, so a file name may contain ``?`` or ``#`` as ``%3F``/``%23``.
        """
        if not isinstance(url, str):
            raise ConfigurationError(
                f"store URL {url!r}: must be a str like 'duckdb:///ttv.duckdb'"
            )
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() != "duckdb":
            raise ConfigurationError(
                f"store URL {url!r}: expected 'duckdb:///relative.duckdb', "
                "'duckdb:////absolute/path.duckdb' or 'duckdb://' (in memory)"
            )
        if "?" in rest or "#" in rest:
            raise ConfigurationError(
                f"store URL {url!r}: DuckDB URLs take no options; write a '?' or '#' in "
                "a file name as %3F or %23"
            )
        if rest and not rest.startswith("/"):
            raise ConfigurationError(
                f"store URL {url!r}: DuckDB URLs have no host; write 'duckdb:///{rest}' "
                f"for a relative path or 'duckdb:////{rest}' for an absolute one"
            )
        path = unquote(rest[1:]) if rest else ":memory:"
        if not path:
            raise ConfigurationError(
                f"store URL {url!r}: no file name; use 'duckdb:///ttv.duckdb', or 'duckdb://' "
                "for an in-memory database"
            )
        return cls(path)

    @property
    def path(self) -> str:
        """The absolute path of the database file, or ``":memory:"``."""
        return self._path

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<DuckDBStore {self._path!r}{state}>"

    # -- schema ---------------------------------------------------------------------------

    def _prepare(self, cursor: duckdb.DuckDBPyConnection) -> None:
        latest = len(MIGRATIONS)
        version = _schema_version(cursor)
        self._check_version(version, latest)
        if version == latest:
            return
        cursor.execute("BEGIN TRANSACTION")
        try:
            if version == 0:
                cursor.execute(
                    "CREATE TABLE IF NOT EXISTS ttv_meta ("
                    "key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    cursor.execute(statement)
            cursor.execute(
                "INSERT INTO ttv_meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(latest)],
            )
            cursor.execute("COMMIT")
        except BaseException:
            _rollback(cursor)
            raise

    def _check_version(self, version: int, latest: int) -> None:
        if version > latest:
            raise SchemaVersionError(
                f"{self._path} has ttvkit schema version {version}, written by a newer "
                f"ttvkit; this one understands versions up to {latest}. Upgrade ttvkit "
                "(pip install -U ttvkit) to open it"
            )

    def schema_version(self) -> int:
        """The schema version recorded in the database (:data:`SCHEMA_VERSION` once open)."""
        return self._run(_schema_version)

    # -- the Store protocol ---------------------------------------------------------------

    def append(self, events: Sequence[ValueEvent]) -> int:
        batch = list(events)
        for e in batch:
            if not isinstance(e, ValueEvent):
                raise InvalidEventError(
                    f"append() takes ValueEvent objects, not {type(e).__name__}; build them "
                    "with ValueEvent(...) or ValueEvent.from_mapping(row)"
                )
        self._check_open()
        if not batch:
            return 0
        columns: tuple[list[object], ...] = ([], [], [], [], [], [])
        ids, users, accounts, names, stamps, properties = columns
        # The first of a batch wins, as in every store: which copy DuckDB's
        # ON CONFLICT would keep within one statement is not specified.
        seen: set[str] = set()
        for e in batch:
            if e.event_id in seen:
                continue
            seen.add(e.event_id)
            ids.append(e.event_id)
            users.append(e.user_id)
            accounts.append(e.account_id)
            names.append(e.name)
            stamps.append(to_micros(e.timestamp))
            properties.append(_dump_properties(e.properties))

        def write(cursor: duckdb.DuckDBPyConnection) -> int:
            cursor.execute("BEGIN TRANSACTION")
            try:
                row = cursor.execute(_INSERT_EVENTS, list(columns)).fetchone()
                cursor.execute("COMMIT")
            except BaseException:
                _rollback(cursor)
                raise
            return 0 if row is None else int(row[0])

        # One writer at a time in this process: DuckDB's optimistic
        # concurrency would otherwise abort one of two appends that insert
        # the same event_id.
        with self._write_lock:
            return self._run(write)

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        self._check_open()
        sql, params = self._events_sql(names, users, since, until)
        return self._stream(sql, params)

    def event_names(self) -> frozenset[str]:
        """The distinct event names, by one ``SELECT DISTINCT`` in DuckDB."""
        rows = self.query(f"SELECT DISTINCT name FROM {self.relation_sql}", [])
        return frozenset(str(r[0]) for r in rows if r[0] is not None)

    def latest_timestamp(self) -> datetime | None:
        return self._latest_timestamp()

    def count(self) -> int:
        return self._count()

    def close(self) -> None:
        """Close the database; idempotent. Further use raises StoreError."""
        self._close()


def _schema_version(cursor: duckdb.DuckDBPyConnection) -> int:
    has_meta = cursor.execute(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = 'ttv_meta'"
    ).fetchone()
    if has_meta is None:
        return 0
    row = cursor.execute("SELECT value FROM ttv_meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return 0
    try:
        return int(row[0])
    except ValueError:
        raise StoreError(f"ttv_meta.schema_version is {row[0]!r}, not a number") from None


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    # No transaction open, or the connection gone: nothing to undo.
    with contextlib.suppress(duckdb.Error):
        cursor.execute("ROLLBACK")
