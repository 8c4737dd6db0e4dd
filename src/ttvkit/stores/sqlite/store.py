"""SQLiteStore: value events in an SQLite file (or in memory), the embedded default.

Connections: a file store gives each thread its own connection (created on
first use, closed when the thread ends or the store closes), so that a long
analysis in one thread never stalls a writer in another and SQLite's own
locking arbitrates between threads exactly as between processes. An
in-memory database exists only inside its one connection, so an in-memory
store shares that connection between threads behind a lock. After
``os.fork()`` the child never touches the parent's connections (see
:mod:`ttvkit.stores.sqlite.connection`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

from ttvkit._json import compact
from ttvkit.errors import ConfigurationError, StoreError
from ttvkit.events import ValueEvent
from ttvkit.observations import EPOCH as _EPOCH
from ttvkit.observations import check_aware, from_micros, to_micros
from ttvkit.stores._base import BaseStore, appended_batch, event_filter
from ttvkit.stores.sql import ObservationPlan
from ttvkit.stores.sql.engines import SQLiteDialect, add_sqlite_functions
from ttvkit.stores.sql.rows import paused_gc
from ttvkit.stores.sql.source import PlanQueries, StatementOf
from ttvkit.stores.sqlite.connection import (
    BUSY_SLICE,
    GATE,
    INHERITED,
    Handle,
    close_connection,
    close_if_ours,
    is_busy,
    retry_while_busy,
    unwatch_forks,
    watch_forks,
)
from ttvkit.stores.sqlite.failures import Opened, failure, url_of
from ttvkit.stores.sqlite.rows import (
    check_all,
    event_from_row,
    latest_micros,
    names_problem,
    row_problem,
    shown,
)
from ttvkit.stores.sqlite.schema import MIN_SQLITE, prepare, recorded_version
from ttvkit.stores.sqlite.url import parse_url

__all__ = ["SQLiteStore", "Synchronous"]

_T = TypeVar("_T")

Synchronous = Literal["FULL", "NORMAL"]

_FETCH_SIZE: Final = 1000
_MICROSECOND: Final = timedelta(microseconds=1)

_INSERT_EVENT: Final = (
    "INSERT INTO ttv_events (event_id, user_id, account_id, name_id, ts, properties) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING"
)
_SELECT_EVENTS: Final = (
    "SELECT e.user_id, n.name, e.ts, e.properties, e.account_id, e.event_id "
    "FROM ttv_events AS e LEFT JOIN ttv_names AS n ON n.id = e.name_id"
)

# One encoder for every append: building one per call costs as much as encoding.
_ENCODE: Final = compact


def _check_path_text(path: str) -> None:
    if "\x00" in path:
        raise ConfigurationError(
            f"SQLiteStore path={path!r}: contains a NUL character, which no file name can "
            "hold; remove it"
        )
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"SQLiteStore path={path!r}: contains a lone surrogate (bytes that are not "
            "UTF-8), which SQLite cannot open; rename the file"
        ) from None


def _aware_micros(value: datetime, what: str) -> int:
    return to_micros(check_aware(value, what))


def _json_list(values: Collection[str]) -> str:
    # A collection travels as one bound JSON array, read with json_each():
    # no limit on its length, and nothing of it is ever SQL text.
    return compact(list(values))


class SQLiteStore(PlanQueries, BaseStore):
    """Value events in an SQLite database file, or in memory.

    ``path`` is a file (created when missing, with its schema) or
    ``":memory:"`` for a private in-memory database that all threads of this
    store share. ``timeout`` is how long, in seconds, a write waits for
    another writer before :class:`~ttvkit.errors.StoreUnavailableError`;
    ``synchronous="FULL"`` (the default) makes every append durable once it
    returns, ``"NORMAL"`` is faster and may lose the last appends on power
    loss (never corrupting the file).

    ``read_only=True`` opens an existing file without writing to it (appends
    raise :class:`~ttvkit.errors.StoreError`); ``immutable=True`` (implies
    ``read_only``) also tells SQLite that nothing changes the file while it is
    open, which is what a WAL database on a read-only file system needs: SQLite
    then uses no lock and no ``-shm`` file. Never set it on a file another
    process may write.

    >>> with SQLiteStore("ttv.db") as store:          # doctest: +SKIP
    ...     store.append([ValueEvent("u1", "signup", "2026-01-01T09:00:00Z")])
    1
    """

    #: A Tracker whose queue is deep hands this many batches to one append()
    #: (one transaction): fewer commits, each as durable as before.
    _ttvkit_write_batches = 8

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        timeout: float = 30.0,
        synchronous: Synchronous = "FULL",
        read_only: bool = False,
        immutable: bool = False,
    ) -> None:
        raw = os.fspath(path)
        if not isinstance(raw, str) or not raw:
            raise ConfigurationError(f"SQLiteStore path={path!r}: pass a file path or ':memory:'")
        _check_path_text(raw)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ConfigurationError(f"SQLiteStore timeout={timeout!r}: must be seconds (> 0)")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigurationError(f"SQLiteStore timeout={timeout!r}: must be seconds (> 0)")
        mode = synchronous.upper() if isinstance(synchronous, str) else synchronous
        if mode not in ("FULL", "NORMAL"):
            raise ConfigurationError(
                f"SQLiteStore synchronous={synchronous!r}: must be 'FULL' or 'NORMAL'"
            )
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old for SQLiteStore; it needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer (upgrade Python or libsqlite3)"
            )
        self._memory = raw == ":memory:"
        self._immutable = bool(immutable)
        self._read_only = bool(read_only) or self._immutable
        if self._memory and self._read_only:
            raise ConfigurationError(
                "SQLiteStore: an in-memory database cannot be read-only or immutable"
            )
        # Absolute, so that threads opening connections later find the same
        # file even if the process changes directory.
        self._path = raw if self._memory else os.path.abspath(raw)
        self._opened = Opened(self._path, self._memory, self._read_only, self._immutable)
        self._timeout = float(timeout)
        self._synchronous: Synchronous = mode  # type: ignore[assignment]  # checked above
        self._closed = False
        self._registry_lock = threading.Lock()
        self._local = threading.local()
        self._finalizers: set[weakref.finalize[[sqlite3.Connection, int], Handle]] = set()
        self._iterator_connections: set[sqlite3.Connection] = set()
        # name -> id of committed names; ids never change once committed.
        self._name_ids: dict[str, int] = {}
        self._lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None
        if self._memory:
            self._shared = self._connect()
            weakref.finalize(self, close_if_ours, self._shared, os.getpid())
        try:
            self._run(self._prepare, transaction="none")
        except BaseException:
            self.close()
            raise
        watch_forks(self)

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Open a ``sqlite://`` URL: ``sqlite:///relative.db``, ``sqlite:////absolute.db``,
        ``sqlite://`` (in memory), options such as ``?timeout=5&synchronous=NORMAL`` or
        ``?mode=ro&immutable=1`` (see :func:`~ttvkit.stores.sqlite.url.parse_url`)."""
        parsed = parse_url(url)
        return cls(
            parsed.path,
            timeout=parsed.timeout,
            synchronous=parsed.synchronous,
            read_only=parsed.read_only,
            immutable=parsed.immutable,
        )

    @property
    def path(self) -> str:
        """The absolute path of the database file, or ``":memory:"``."""
        return self._path

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<SQLiteStore {self._path!r}{state}>"

    # -- connections -----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        target = self._path
        if self._read_only:
            flags = "mode=ro&immutable=1" if self._immutable else "mode=ro"
            target = f"file:{quote(self._path)}?{flags}"
        try:
            connection = sqlite3.connect(
                target,
                uri=self._read_only,
                # SQLite waits for a lock in short slices; retry_while_busy
                # waits out the store's timeout between them.
                timeout=min(self._timeout, BUSY_SLICE),
                isolation_level=None,  # we issue BEGIN and COMMIT ourselves
                check_same_thread=False,  # close() may run in another thread
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc
        try:
            connection.execute(f"PRAGMA synchronous = {self._synchronous}")
            add_sqlite_functions(connection)
        except sqlite3.Error as exc:
            close_connection(connection)
            raise self._failure(exc) from exc
        return connection

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"this SQLiteStore ({self._path}) is closed; open a new one")

    def _thread_connection(self) -> sqlite3.Connection:
        handle: Handle | None = getattr(self._local, "handle", None)
        if handle is not None:
            return handle.connection
        connection = self._connect()
        handle = Handle(connection)
        finalizer = weakref.finalize(handle, close_if_ours, connection, os.getpid())
        # Not at interpreter exit: another thread (a tracker's writer, a user's
        # daemon thread) may still be using the connection then, and closing it
        # under them can crash the process. Every commit is already durable in
        # the WAL, so leaving the file to the operating system loses nothing.
        finalizer.atexit = False
        with self._registry_lock:
            if self._closed:
                finalizer()
                self._check_open()
            self._finalizers = {f for f in self._finalizers if f.alive}
            self._finalizers.add(finalizer)
        self._local.handle = handle
        return connection

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self._shared is not None:
            with self._lock:
                self._check_open()
                yield self._shared
        else:
            self._check_open()
            yield self._thread_connection()

    def _failure(self, exc: sqlite3.Error) -> StoreError:
        return failure(exc, self._opened, closed=self._closed)

    def _run(
        self,
        work: Callable[[sqlite3.Connection], _T],
        *,
        transaction: Literal["write", "read", "none"],
    ) -> _T:
        """Run *work* on this thread's connection, retrying while the database is busy.

        ``"write"`` wraps it in ``BEGIN IMMEDIATE`` (the write lock is taken
        up front, so the transaction cannot fail half-way for lack of it),
        ``"read"`` in ``BEGIN`` (one snapshot for several statements).
        """
        gate = contextlib.nullcontext() if transaction == "read" else GATE

        def attempt() -> _T:
            with gate, self._connection() as connection:
                return self._transaction(connection, work, transaction)

        return self._retry(attempt)

    def _retry(self, operation: Callable[[], _T]) -> _T:
        return retry_while_busy(
            operation,
            timeout=self._timeout,
            closed=lambda: self._closed,
            failure=self._failure,
            path=self._path,
        )

    def _transaction(
        self,
        connection: sqlite3.Connection,
        work: Callable[[sqlite3.Connection], _T],
        transaction: Literal["write", "read", "none"],
    ) -> _T:
        if transaction == "none":
            return work(connection)
        connection.execute("BEGIN IMMEDIATE" if transaction == "write" else "BEGIN")
        try:
            result = work(connection)
            connection.execute("COMMIT")
        except BaseException:
            self._rollback(connection)
            raise
        return result

    def _rollback(self, connection: sqlite3.Connection) -> None:
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            # A connection that cannot roll back must not be used again.
            if connection is not self._shared:
                self._local.handle = None
                close_connection(connection)

    # -- schema ------------------------------------------------------------------------

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Switch a file to WAL and bring its schema up to date."""
        prepare(
            connection,
            self._path,
            wal=not self._memory and not self._read_only,
            read_only=self._read_only,
            rollback=lambda: self._rollback(connection),
        )

    def schema_version(self) -> int:
        """The schema version recorded in the database (:data:`SCHEMA_VERSION` once open)."""
        return self._run(recorded_version, transaction="none")

    # -- writing -----------------------------------------------------------------------

    def append(self, events: Sequence[ValueEvent]) -> int:
        batch = appended_batch(events)
        if not batch:
            self._check_open()
            return 0
        # The stored form, built before the transaction so that the write
        # lock is held only for the inserts: integer microseconds, JSON text,
        # and the name's id where it is known (every name, once seen).
        encode, epoch, micro = _ENCODE, _EPOCH, _MICROSECOND
        known = self._name_ids
        rows = [
            (
                e.event_id,
                e.user_id,
                e.account_id,
                known.get(e.name, e.name),
                (e.timestamp - epoch) // micro,
                encode(dict(e.properties)) if e.properties else None,
            )
            for e in batch
        ]
        missing = {e.name for e in batch if e.name not in known}

        def write(connection: sqlite3.Connection) -> tuple[int, dict[str, int]]:
            ids = self._intern_names(connection, missing) if missing else {}
            before = connection.total_changes
            connection.executemany(
                _INSERT_EVENT,
                [(i, u, a, n if isinstance(n, int) else ids[n], t, p) for i, u, a, n, t, p in rows]
                if missing
                else rows,
            )
            return connection.total_changes - before, ids

        new, ids = self._run(write, transaction="write")
        # Only after COMMIT: an id from a rolled-back transaction may be given
        # to another name by the next writer.
        self._name_ids.update(ids)
        return new

    def _intern_names(self, connection: sqlite3.Connection, names: set[str]) -> dict[str, int]:
        known = self._name_ids
        ids = {n: known[n] for n in names if n in known}
        missing = [n for n in names if n not in ids]
        if missing:
            connection.executemany(
                "INSERT INTO ttv_names (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
                [(n,) for n in missing],
            )
            ids.update(self._lookup_names(connection, missing))
        return ids

    @staticmethod
    def _lookup_names(connection: sqlite3.Connection, names: Collection[str]) -> dict[str, int]:
        rows = connection.execute(
            "SELECT name, id FROM ttv_names WHERE name IN (SELECT value FROM json_each(?))",
            (_json_list(names),),
        )
        return dict(rows)

    # -- reading -----------------------------------------------------------------------

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        self._check_open()
        names, users = event_filter(names, "names"), event_filter(users, "users")
        terms: list[str] = []
        params: list[object] = []
        if names is not None:
            terms.append("n.name IN (SELECT value FROM json_each(?))")
            params.append(_json_list(names))
        if users is not None:
            terms.append("e.user_id IN (SELECT value FROM json_each(?))")
            params.append(_json_list(users))
        if since is not None:
            terms.append("e.ts >= ?")
            params.append(_aware_micros(since, "since"))
        if until is not None:
            terms.append("e.ts <= ?")
            params.append(_aware_micros(until, "until"))
        where = f" WHERE {' AND '.join(terms)}" if terms else ""
        sql = f"{_SELECT_EVENTS}{where} ORDER BY e.ts, e.event_id"
        # Without a name filter, a row whose name is missing is seen (LEFT JOIN)
        # and reported; with one, it would just not match: check the names first.
        check_names = names is not None
        if self._shared is not None:
            return self._shared_events(sql, params, check_names)
        return self._file_events(sql, params, check_names)

    def _check_names(self, connection: sqlite3.Connection) -> None:
        problem = names_problem(connection)
        if problem is not None:
            raise StoreError(
                f"{self._path} is damaged: {problem}; events would be missing from the "
                f"answer. Run 'ttvkit check {url_of(self._path)}' for the full check"
            )

    def _bad_row(self, row: Sequence[object], exc: Exception) -> StoreError:
        return StoreError(
            f"{self._path} is damaged: the event with event_id {shown(row[5])} cannot be "
            f"read ({row_problem(row, exc)}); restore the file from a backup, or delete "
            f"that row. Run 'ttvkit check {url_of(self._path)}' for every problem"
        )

    def _decode(self, row: tuple[str, str, int, str | None, str | None, str]) -> ValueEvent:
        try:
            return event_from_row(row)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise self._bad_row(row, exc) from None

    def _file_events(
        self, sql: str, params: list[object], check_names: bool = False
    ) -> Iterator[ValueEvent]:
        # A connection of its own: one statement reads one WAL snapshot, and
        # the iterator may be consumed slowly, or from another thread, while
        # this store keeps writing.
        pid = os.getpid()
        with GATE:
            connection = self._connect()
        with self._registry_lock:
            if self._closed:
                close_connection(connection)
                self._check_open()
            self._iterator_connections.add(connection)
        try:
            if check_names:
                self._retry(lambda: self._check_names(connection))
            cursor = self._retry(lambda: connection.execute(sql, params))
            while True:
                try:
                    rows = cursor.fetchmany(_FETCH_SIZE)
                except sqlite3.Error as exc:
                    raise self._failure(exc) from exc
                if not rows:
                    return
                for row in rows:
                    if os.getpid() != pid:
                        raise StoreError(
                            "this events() iterator was started before os.fork(); "
                            "call events() again in the child process"
                        )
                    yield self._decode(row)
        finally:
            if os.getpid() == pid:
                with self._registry_lock:
                    self._iterator_connections.discard(connection)
                close_connection(connection)

    def _shared_events(
        self, sql: str, params: list[object], check_names: bool = False
    ) -> Iterator[ValueEvent]:
        # The in-memory database has one connection: read it a chunk at a
        # time under the lock, so other threads can write in between. Rows
        # appended meanwhile may or may not be seen (documented).
        def start() -> sqlite3.Cursor:
            with self._connection() as connection:
                if check_names:
                    self._check_names(connection)
                return connection.execute(sql, params)

        try:
            cursor = start()
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc
        try:
            while True:
                try:
                    with self._connection():
                        rows = cursor.fetchmany(_FETCH_SIZE)
                except sqlite3.Error as exc:
                    raise self._failure(exc) from exc
                if not rows:
                    return
                yield from map(self._decode, rows)
        finally:
            with contextlib.suppress(sqlite3.Error):
                cursor.close()

    def check(self, *, max_problems: int = 20) -> list[str]:
        """Check the whole database; return the problems found, ``[]`` when it is intact.

        Runs SQLite's ``PRAGMA integrity_check``, checks that ``ttv_names`` is
        complete, and reads and validates every event as :class:`ValueEvent`
        would on the way in (a row changed by hand may hold what no append
        writes). Stops at *max_problems*. Reads the whole file, so it takes
        about as long as reading every event; ``ttvkit check`` runs it.
        """
        if isinstance(max_problems, bool) or not isinstance(max_problems, int) or max_problems < 1:
            raise ConfigurationError(f"max_problems={max_problems!r}: pass an int >= 1")

        def run(connection: sqlite3.Connection) -> list[str]:
            problems: list[str] = []
            try:
                check_all(connection, problems, max_problems)
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                    raise
                problems.append(f"SQLite cannot read the file: {exc}")
            return problems[:max_problems]

        # No transaction: on a damaged file even COMMIT can fail; each statement
        # reads one consistent snapshot anyway.
        return self._run(run, transaction="none")

    def event_names(self) -> frozenset[str]:
        """The distinct stored event names (from the interned-name table)."""

        def names(connection: sqlite3.Connection) -> frozenset[str]:
            self._check_names(connection)
            rows = connection.execute(
                "SELECT n.name FROM ttv_names AS n "
                "WHERE EXISTS (SELECT 1 FROM ttv_events AS e WHERE e.name_id = n.id)"
            ).fetchall()
            return frozenset(str(r[0]) for r in rows)

        return self._run(names, transaction="none")

    def latest_timestamp(self) -> datetime | None:
        latest = self._run(latest_micros, transaction="none")
        return None if latest is None else from_micros(latest)

    def count(self) -> int:
        def count(connection: sqlite3.Connection) -> int:
            (n,) = connection.execute("SELECT COUNT(*) FROM ttv_events").fetchone()
            return int(n)

        return self._run(count, transaction="none")

    def run_plan(
        self, plan: ObservationPlan, as_of: datetime | None, statement: StatementOf
    ) -> tuple[list[Any], SQLiteDialect] | None:
        """The plan rendered for SQLite and run in one read transaction (see PlanQueries)."""
        given = None if as_of is None else _aware_micros(as_of, "as_of")
        names = sorted(plan.names or ()) if plan.names is not None else None

        def read(connection: sqlite3.Connection) -> tuple[list[Any], SQLiteDialect] | None:
            # One read transaction: as_of, the name ids and the rows all come
            # from the same snapshot.
            latest = latest_micros(connection)  # also checks the ends of the ts column
            if latest is None:
                return None
            self._check_names(connection)  # a missing name would drop its events silently
            until = latest if given is None else given
            wanted = names if names is not None else _all_match_names(plan)
            ids = self._lookup_names(connection, wanted) if wanted else {}
            dialect = SQLiteDialect(ids)
            query = statement(plan, dialect, until)
            with paused_gc():  # a row tuple per customer or cell
                return connection.execute(query.sql, query.params).fetchall(), dialect

        return self._run(read, transaction="read")

    # -- closing and forking -------------------------------------------------------------

    def close(self) -> None:
        """Close every connection of this store; idempotent. Further use raises StoreError."""
        with self._registry_lock:
            if self._closed:
                return
            self._closed = True
            finalizers, self._finalizers = self._finalizers, set()
            iterators, self._iterator_connections = self._iterator_connections, set()
        for finalizer in finalizers:
            finalizer()
        for connection in iterators:
            close_connection(connection)
        if self._shared is not None:
            with self._lock:
                close_connection(self._shared)
        unwatch_forks(self)

    def _forget_connections_after_fork(self) -> None:
        """In a forked child: never use (or close) the connections of the parent.

        A file store reconnects lazily. An in-memory database lives in this
        process's memory, which the child owns a copy of: the child keeps
        using its copy (as with MemoryStore); only the lock is renewed, since
        a thread that no longer exists may have held it.
        """
        self._registry_lock = threading.Lock()
        self._lock = threading.RLock()
        if self._shared is not None:
            if self._shared.in_transaction:  # another thread was mid-write at fork
                with contextlib.suppress(sqlite3.Error):
                    self._shared.execute("ROLLBACK")
            return
        for finalizer in self._finalizers:
            detached = finalizer.detach()
            if detached is not None:
                INHERITED.append(detached[2][0])
        INHERITED.extend(self._iterator_connections)
        self._finalizers = set()
        self._iterator_connections = set()
        self._local = threading.local()


def _all_match_names(plan: ObservationPlan) -> list[str]:
    """The event names the plan's row filters test (a fixed start reads every name)."""
    return sorted({m.condition.name for m in plan.matches})
