"""SQLiteStore: value events in an SQLite file (or in memory), the embedded default.

Needs nothing beyond the standard library's :mod:`sqlite3`. A file store runs
in WAL mode, so readers never block the writer; several threads and several
processes may write one file at once (each write is one ``BEGIN IMMEDIATE``
transaction, retried with backoff while another writer holds the lock).
``observations()`` is computed by one SQL query rendered from ttvkit's query
plan (:mod:`ttvkit.stores.sql`, with
:class:`~ttvkit.stores.sql.engines.SQLiteDialect`). ``docs/stores-sqlite.md`` describes the schema,
the guarantees and the limits.

Connections: a file store gives each thread its own connection (created on
first use, closed when the thread ends or the store closes), so that a long
analysis in one thread never stalls a writer in another and SQLite's own
locking arbitrates between threads exactly as between processes. An
in-memory database exists only inside its one connection, so an in-memory
store shares that connection between threads behind a lock. After
``os.fork()`` the child never touches the parent's connections (see
:func:`_after_fork_in_child`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar
from urllib.parse import parse_qsl, quote, unquote

from ttvkit._fork import at_fork
from ttvkit._json import compact
from ttvkit.errors import (
    ConfigurationError,
    InvalidEventError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
)
from ttvkit.events import JSONValue, ValueEvent, trusted_event
from ttvkit.observations import EPOCH as _EPOCH
from ttvkit.observations import (
    check_aware,
    from_micros,
    to_micros,
)
from ttvkit.stores._base import BaseStore
from ttvkit.stores.sql import ObservationPlan
from ttvkit.stores.sql.engines import SQLiteDialect
from ttvkit.stores.sql.source import PlanQueries, StatementOf

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

_T = TypeVar("_T")

Synchronous = Literal["FULL", "NORMAL"]

#: The schema, as the list of migrations that build it: migration *i* (from 1)
#: takes a file from schema version *i - 1* to *i*. Versions are recorded in
#: ``ttv_meta`` (key ``schema_version``); a store opening a file applies the
#: missing migrations in order, in one transaction. Never edit a released
#: migration: append a new one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        # Event names are interned: the big indexes hold a small integer
        # instead of the name, and every condition seeks by (name, customer).
        """CREATE TABLE ttv_names (
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        )""",
        # ts: integer microseconds since 1970-01-01 UTC (exact round trip).
        # properties: the JSON object as text, NULL when empty.
        """CREATE TABLE ttv_events (
            event_id   TEXT NOT NULL UNIQUE,
            user_id    TEXT NOT NULL,
            account_id TEXT,
            name_id    INTEGER NOT NULL REFERENCES ttv_names (id),
            ts         INTEGER NOT NULL,
            properties TEXT
        )""",
        # First time of a condition per customer: one seek each.
        "CREATE INDEX ttv_events_name_user_ts ON ttv_events (name_id, user_id, ts)",
        """CREATE INDEX ttv_events_name_account_ts ON ttv_events (name_id, account_id, ts)
            WHERE account_id IS NOT NULL""",
        # A customer's first event (datetime starts), events(users=...).
        "CREATE INDEX ttv_events_user_ts ON ttv_events (user_id, ts)",
        """CREATE INDEX ttv_events_account_ts ON ttv_events (account_id, ts)
            WHERE account_id IS NOT NULL""",
        # events() in time order, latest_timestamp(), time ranges.
        "CREATE INDEX ttv_events_ts ON ttv_events (ts)",
    ),
)

#: The schema version this ttvkit writes.
SCHEMA_VERSION: Final = len(MIGRATIONS)

# SQLite features the store relies on: window functions (3.25), upsert's
# ON CONFLICT DO NOTHING (3.24), the JSON functions.
_MIN_SQLITE: Final = (3, 25, 0)

_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_FULL: Final = 13
_FIRST_BACKOFF: Final = 0.002
_MAX_BACKOFF: Final = 0.2
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
# Cheap (index seeks and a count of the small name table): ttv_names is dense
# (ids 1..N, as interning never deletes) and every name id in ttv_events is in
# it. A name row deleted by hand fails this, where a query joining on names
# would silently lose that name's events.
_NAMES_SUMMARY: Final = (
    "SELECT (SELECT COUNT(*) FROM ttv_names), (SELECT MAX(id) FROM ttv_names), "
    "(SELECT MIN(name_id) FROM ttv_events), (SELECT MAX(name_id) FROM ttv_events)"
)

# Stores that may hold connections, so that a forked child can drop them.
_LIVE_STORES: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()
# Connections a forked child inherited. ttvkit never uses or closes them in
# the child: closing runs SQLite code against the parent's files and locks
# (SQLite's "how to corrupt a database", section 2.6), and keeping them
# referenced stops the garbage collector from closing them at a random
# moment (only the child's interpreter shutdown finally releases them).
_INHERITED: list[sqlite3.Connection] = []


#: How long ``os.fork()`` waits for SQLite writes in progress in other threads.
_FORK_WAIT: Final = 5.0


class _ForkGate:
    """Makes ``os.fork()`` wait until no thread is inside an SQLite write.

    A connection of this process that holds the WAL write lock at the fork
    leaves that lock recorded in SQLite's per-process state in the child,
    where no thread will ever release it: every write of the child to the
    same file then fails as busy, for ever. A thread inside SQLite at the
    fork may also hold one of SQLite's mutexes, which the child would wait
    for. So writes (and opening connections) pass through this gate, and a
    fork first closes it and waits, at most :data:`_FORK_WAIT` seconds, for
    the writes in progress to finish (a ttvkit write transaction lasts
    milliseconds). Long reads are not gated: a read lock left in the child
    blocks only checkpoints, never the child's writes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._forking = False

    def __enter__(self) -> None:
        with self._cond:
            while self._forking:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *_: object) -> None:
        with self._cond:
            self._active -= 1
            if self._forking and not self._active:
                self._cond.notify_all()

    def before_fork(self) -> None:
        with self._cond:
            self._forking = True
            self._cond.wait_for(lambda: not self._active, _FORK_WAIT)

    def after_fork_in_parent(self) -> None:
        with self._cond:
            self._forking = False
            self._cond.notify_all()


_GATE = _ForkGate()


def _before_fork() -> None:
    _GATE.before_fork()


def _after_fork_in_parent() -> None:
    _GATE.after_fork_in_parent()


def _after_fork_in_child() -> None:
    global _GATE
    _GATE = _ForkGate()  # the parent's threads that were waiting at it do not exist here
    for store in list(_LIVE_STORES):
        store._forget_connections_after_fork()


at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


def _close_connection(connection: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        connection.close()


def _close_if_ours(connection: sqlite3.Connection, pid: int) -> None:
    """A finalizer's callback: close *connection* only in the process that opened it.

    In a forked child the parent's threads are gone, and their thread-local
    handles are freed while ``os.fork()`` is still returning, before any
    at-fork hook has run: closing the connection then would wait for a
    connection mutex that a parent thread held at the fork, for ever. The
    child keeps the connection referenced instead, and never uses it.
    """
    if os.getpid() == pid:
        _close_connection(connection)
    else:
        _INHERITED.append(connection)


class _Handle:
    """One thread's connection; closed by a finalizer when the thread ends."""

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection


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


_SQLITE_READONLY: Final = 8
_SQLITE_CANTOPEN: Final = 14


def _is_cannot_open(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CANTOPEN, _SQLITE_READONLY)
    message = str(exc)
    return "unable to open database file" in message or "readonly database" in message


def _on_read_only_file_system(directory: str) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _url_of(path: str) -> str:
    return "sqlite:///" + quote(path, safe="/")


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(exc)
    return "database is locked" in message or "database table is locked" in message


def _is_full(exc: sqlite3.Error) -> bool:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == _SQLITE_FULL
    return "database or disk is full" in str(exc)


def _aware_micros(value: datetime, what: str) -> int:
    return to_micros(check_aware(value, what))


# One encoder for every append: building one per call costs as much as encoding.
_ENCODE: Final = compact


def _dump_properties(properties: Mapping[str, JSONValue]) -> str | None:
    if not properties:
        return None
    return _ENCODE(dict(properties))


def _json_list(values: Collection[str]) -> str:
    # A collection travels as one bound JSON array, read with json_each():
    # no limit on its length, and nothing of it is ever SQL text.
    return json.dumps(list(values), ensure_ascii=False)


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
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old for SQLiteStore; it needs "
                f"{'.'.join(map(str, _MIN_SQLITE))} or newer (upgrade Python or libsqlite3)"
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
        self._timeout = float(timeout)
        self._synchronous: Synchronous = mode  # type: ignore[assignment]  # checked above
        self._closed = False
        self._registry_lock = threading.Lock()
        self._local = threading.local()
        self._finalizers: set[weakref.finalize[[sqlite3.Connection, int], _Handle]] = set()
        self._iterator_connections: set[sqlite3.Connection] = set()
        # name -> id of committed names; ids never change once committed.
        self._name_ids: dict[str, int] = {}
        self._lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None
        if self._memory:
            self._shared = self._connect()
            weakref.finalize(self, _close_if_ours, self._shared, os.getpid())
        try:
            self._run(self._prepare, transaction="none")
        except BaseException:
            self.close()
            raise
        _LIVE_STORES.add(self)

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Open a ``sqlite://`` URL.

        ``sqlite:///relative/ttv.db`` (relative to the working directory),
        ``sqlite:////var/lib/ttv.db`` (absolute), ``sqlite://`` or
        ``sqlite:///:memory:`` (in memory). Options go in the query string:
        ``?timeout=5&synchronous=NORMAL``; ``?mode=ro`` opens the file
        read-only and ``?mode=ro&immutable=1`` also as a file nothing changes
        (for a file on a read-only file system; see the class docstring).
        ``%xx`` escapes in the path are decoded, so a file name may contain
        ``?`` or ``#`` as ``%3F``/``%23``.
        """
        if not isinstance(url, str):
            raise ConfigurationError(f"store URL {url!r}: must be a str like 'sqlite:///ttv.db'")
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() != "sqlite":
            raise ConfigurationError(
                f"store URL {url!r}: expected 'sqlite:///relative.db', "
                "'sqlite:////absolute/path.db' or 'sqlite://' (in memory)"
            )
        location, _, query = rest.partition("?")
        if "#" in location or "#" in query:
            raise ConfigurationError(
                f"store URL {url!r}: a '#' in a file name must be written as %23"
            )
        if location and not location.startswith("/"):
            raise ConfigurationError(
                f"store URL {url!r}: SQLite URLs have no host; write 'sqlite:///{location}' "
                f"for a relative path or 'sqlite:////{location}' for an absolute one"
            )
        path = unquote(location[1:]) if location else ":memory:"
        if not path:
            raise ConfigurationError(
                f"store URL {url!r}: no file name; use 'sqlite:///ttv.db', or 'sqlite://' "
                "for an in-memory database"
            )
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError as exc:
            raise ConfigurationError(
                f"store URL {url!r}: bad options ({exc}); write ?timeout=5&synchronous=NORMAL"
            ) from None
        options = {key.lower(): value for key, value in pairs}
        timeout = 30.0
        synchronous = "FULL"
        read_only = immutable = False
        for key, value in options.items():
            if key == "timeout":
                try:
                    timeout = float(value)
                except ValueError:
                    raise ConfigurationError(
                        f"store URL {url!r}: timeout={value!r} is not a number of seconds"
                    ) from None
            elif key == "synchronous":
                synchronous = value.upper()
                if synchronous not in ("FULL", "NORMAL"):
                    raise ConfigurationError(
                        f"store URL {url!r}: synchronous={value!r} must be FULL or NORMAL"
                    )
            elif key == "mode":
                if value.lower() not in ("ro", "rwc"):
                    raise ConfigurationError(
                        f"store URL {url!r}: mode={value!r} must be ro (read-only) or rwc "
                        "(the default: read, write, create)"
                    )
                read_only = value.lower() == "ro"
            elif key == "immutable":
                if value not in ("0", "1"):
                    raise ConfigurationError(
                        f"store URL {url!r}: immutable={value!r} must be 1 or 0"
                    )
                immutable = value == "1"
            else:
                raise ConfigurationError(
                    f"store URL {url!r}: unknown option {key!r}; the options are "
                    "timeout, synchronous, mode and immutable"
                )
        return cls(
            path,
            timeout=timeout,
            synchronous=synchronous,  # type: ignore[arg-type]  # checked above
            read_only=read_only,
            immutable=immutable,
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
                timeout=self._timeout,
                isolation_level=None,  # we issue BEGIN and COMMIT ourselves
                check_same_thread=False,  # close() may run in another thread
                cached_statements=256,
            )
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc
        try:
            connection.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.Error as exc:
            _close_connection(connection)
            raise self._failure(exc) from exc
        return connection

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"this SQLiteStore ({self._path}) is closed; open a new one")

    def _thread_connection(self) -> sqlite3.Connection:
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None:
            return handle.connection
        connection = self._connect()
        handle = _Handle(connection)
        finalizer = weakref.finalize(handle, _close_if_ours, connection, os.getpid())
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
        if self._closed or (
            isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc).lower()
        ):
            return StoreError(f"this SQLiteStore ({self._path}) is closed; open a new one")
        if _is_full(exc):
            # Transient: space may come back (a log rotated, a volume grown),
            # so a Tracker retries instead of giving the batch up.
            return StoreUnavailableError(
                f"SQLite could not write to {self._path}: the disk (or the database's "
                f"max_page_count) is full ({exc}); nothing of this write was stored. "
                "Free some space and retry"
            )
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return StoreError(
                f"{self._path} is not an SQLite database (or it is encrypted or damaged); "
                "point the store at a new file"
            )
        if not self._memory and _is_cannot_open(exc):
            return StoreError(self._cannot_open(exc))
        return StoreError(f"SQLite failed on {self._path}: {exc}")

    def _cannot_open(self, exc: sqlite3.Error) -> str:
        """Why SQLite cannot open (or write) the file, and what to do about it."""
        directory = os.path.dirname(self._path)
        if os.path.isdir(self._path):
            return (
                f"cannot open the SQLite database {self._path}: it is a directory; name a "
                f"file in it, e.g. {os.path.join(self._path, 'ttv.db')}"
            )
        try:
            os.lstat(self._path)
        except FileNotFoundError:
            pass
        except OSError as error:  # a name too long, a loop of links, no permission
            return f"cannot open the SQLite database {self._path}: {error.strerror}"
        if not os.path.isdir(directory):
            return (
                f"cannot open the SQLite database {self._path}: the directory {directory} "
                "does not exist; create it first (mkdir -p), or point the store at a file "
                "in an existing directory"
            )
        if self._read_only:
            if "readonly" in str(exc):
                return (
                    f"{self._path} is opened read-only (mode=ro or immutable=1); open it "
                    "without them to write"
                )
            if not os.path.exists(self._path):
                return (
                    f"cannot open the SQLite database {self._path} read-only: there is no such file"
                )
            if not self._immutable:
                return (
                    f"cannot open the SQLite database {self._path} read-only ({exc}); if it "
                    "is on a read-only file system, add immutable=1: "
                    f"{_url_of(self._path)}?mode=ro&immutable=1"
                )
        if _on_read_only_file_system(directory) or not os.access(directory, os.W_OK):
            return (
                f"cannot open the SQLite database {self._path} ({exc}): it is on a read-only "
                "file system (or in a directory you cannot write), and SQLite must write "
                "beside a WAL database even to read it. Open it read-only with "
                f"{_url_of(self._path)}?mode=ro&immutable=1 (only while nothing else writes "
                "it), or copy it to a writable place"
            )
        return f"cannot open the SQLite database {self._path}: {exc}"

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
        deadline = time.monotonic() + self._timeout
        delay = _FIRST_BACKOFF
        gate = contextlib.nullcontext() if transaction == "read" else _GATE
        while True:
            try:
                with gate, self._connection() as connection:
                    return self._transaction(connection, work, transaction)
            except sqlite3.OperationalError as exc:
                # The busy timeout already waited inside SQLite; SQLite also
                # answers BUSY at once in a few cases (WAL recovery, a
                # concurrent switch to WAL), which are worth retrying.
                now = time.monotonic()
                if not _is_busy(exc) or self._closed:
                    raise self._failure(exc) from exc
                if now >= deadline:
                    raise StoreUnavailableError(
                        f"{self._path} stayed locked by another connection for more than "
                        f"{self._timeout:g}s ({exc}); retry later, or raise the timeout"
                    ) from exc
                time.sleep(min(delay, deadline - now) * random.uniform(0.5, 1.0))
                delay = min(delay * 2, _MAX_BACKOFF)
            except sqlite3.Error as exc:
                raise self._failure(exc) from exc

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
                _close_connection(connection)

    # -- schema ------------------------------------------------------------------------

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Switch a file to WAL and bring its schema up to date."""
        try:
            connection.execute("SELECT json_type('{}')").fetchone()
        except sqlite3.OperationalError:
            raise StoreError(
                f"this SQLite ({sqlite3.sqlite_version}) was built without the JSON "
                "functions, which SQLiteStore needs; use a Python linked against a newer SQLite"
            ) from None
        if not self._memory and not self._read_only:
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self._path}: SQLite could not switch to WAL mode (it reports "
                    f"{mode!r}); put the file on a local file system"
                )
        latest = len(MIGRATIONS)
        version = self._schema_version(connection)
        self._check_version(version, latest)
        if version == latest:
            return
        if self._read_only:
            raise StoreError(
                f"{self._path} is opened read-only but "
                + (
                    "holds no ttvkit events (no ttvkit schema)"
                    if version == 0
                    else f"has the older ttvkit schema version {version}; open it once "
                    "writable to upgrade it"
                )
            )
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = self._schema_version(connection)
            self._check_version(version, latest)
            if version == 0:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS ttv_meta ("
                    "key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    connection.execute(statement)
            connection.execute(
                "INSERT INTO ttv_meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(latest),),
            )
            connection.execute("COMMIT")
        except BaseException:
            self._rollback(connection)
            raise

    @staticmethod
    def _schema_version(connection: sqlite3.Connection) -> int:
        has_meta = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ttv_meta'"
        ).fetchone()
        if has_meta is None:
            return 0
        row = connection.execute(
            "SELECT value FROM ttv_meta WHERE key = 'schema_version'"
        ).fetchone()
        try:
            return 0 if row is None else int(row[0])
        except ValueError:
            raise StoreError(f"ttv_meta.schema_version is {row[0]!r}, not a number") from None

    def _check_version(self, version: int, latest: int) -> None:
        if version > latest:
            raise SchemaVersionError(
                f"{self._path} has ttvkit schema version {version}, written by a newer "
                f"ttvkit; this one understands versions up to {latest}. Upgrade ttvkit "
                "(pip install -U ttvkit) to open it"
            )

    def schema_version(self) -> int:
        """The schema version recorded in the database (:data:`SCHEMA_VERSION` once open)."""
        return self._run(self._schema_version, transaction="none")

    # -- writing -----------------------------------------------------------------------

    def append(self, events: Sequence[ValueEvent]) -> int:
        batch = list(events)
        for e in batch:
            if not isinstance(e, ValueEvent):
                raise InvalidEventError(
                    f"append() takes ValueEvent objects, not {type(e).__name__}; build them "
                    "with ValueEvent(...) or ValueEvent.from_mapping(row)"
                )
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
        problem = _names_problem(connection)
        if problem is not None:
            raise StoreError(
                f"{self._path} is damaged: {problem}; events would be missing from the "
                f"answer. Run 'ttvkit check {_url_of(self._path)}' for the full check"
            )

    def _bad_row(self, row: Sequence[object], exc: Exception) -> StoreError:
        return StoreError(
            f"{self._path} is damaged: the event with event_id {_shown(row[5])} cannot be "
            f"read ({_row_problem(row, exc)}); restore the file from a backup, or delete "
            f"that row. Run 'ttvkit check {_url_of(self._path)}' for every problem"
        )

    def _decode(self, row: tuple[str, str, int, str | None, str | None, str]) -> ValueEvent:
        try:
            return _event_from_row(row)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise self._bad_row(row, exc) from None

    def _file_events(
        self, sql: str, params: list[object], check_names: bool = False
    ) -> Iterator[ValueEvent]:
        # A connection of its own: one statement reads one WAL snapshot, and
        # the iterator may be consumed slowly, or from another thread, while
        # this store keeps writing.
        pid = os.getpid()
        with _GATE:
            connection = self._connect()
        with self._registry_lock:
            if self._closed:
                _close_connection(connection)
                self._check_open()
            self._iterator_connections.add(connection)
        try:
            if check_names:
                self._retry_read(lambda: self._check_names(connection))
            cursor = self._retry_read(lambda: connection.execute(sql, params))
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
                _close_connection(connection)

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
                _check_all(connection, problems, max_problems)
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                    raise
                problems.append(f"SQLite cannot read the file: {exc}")
            return problems[:max_problems]

        # No transaction: on a damaged file even COMMIT can fail; each statement
        # reads one consistent snapshot anyway.
        return self._run(run, transaction="none")

    def _retry_read(self, read: Callable[[], _T]) -> _T:
        deadline = time.monotonic() + self._timeout
        delay = _FIRST_BACKOFF
        while True:
            try:
                return read()
            except sqlite3.OperationalError as exc:
                now = time.monotonic()
                if not _is_busy(exc) or self._closed or now >= deadline:
                    raise self._failure(exc) from exc
                time.sleep(min(delay, deadline - now) * random.uniform(0.5, 1.0))
                delay = min(delay * 2, _MAX_BACKOFF)
            except sqlite3.Error as exc:
                raise self._failure(exc) from exc

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
        latest = self._run(_latest_micros, transaction="none")
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
            latest = _latest_micros(connection)  # also checks the ends of the ts column
            if latest is None:
                return None
            self._check_names(connection)  # a missing name would drop its events silently
            until = latest if given is None else given
            wanted = names if names is not None else _all_match_names(plan)
            ids = self._lookup_names(connection, wanted) if wanted else {}
            dialect = SQLiteDialect(ids)
            query = statement(plan, dialect, until)
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
            _close_connection(connection)
        if self._shared is not None:
            with self._lock:
                _close_connection(self._shared)
        _LIVE_STORES.discard(self)

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
                _INHERITED.append(detached[2][0])
        _INHERITED.extend(self._iterator_connections)
        self._finalizers = set()
        self._iterator_connections = set()
        self._local = threading.local()


def _all_match_names(plan: ObservationPlan) -> list[str]:
    """The event names the plan's row filters test (a fixed start reads every name)."""
    return sorted({m.condition.name for m in plan.matches})


def _latest_micros(connection: sqlite3.Connection) -> int | None:
    """The latest ``ts``, after checking (cheaply, by two index seeks) that the earliest
    and the latest are timestamps: a text or out-of-range ``ts`` sorts to one end."""
    earliest, latest = connection.execute(
        "SELECT (SELECT MIN(ts) FROM ttv_events), (SELECT MAX(ts) FROM ttv_events)"
    ).fetchone()
    if latest is None:
        return None
    for ts in (earliest, latest):
        try:
            if type(ts) is not int:
                raise TypeError
            from_micros(ts)
        except (TypeError, OverflowError):
            raise StoreError(
                f"the SQLite file is damaged: ttv_events holds a ts of {_shown(ts)}, not "
                "integer microseconds within datetime's range; run 'ttvkit check' on it to "
                "find the row"
            ) from None
    return int(latest)


def _event_from_row(row: tuple[str, str, int, str | None, str | None, str]) -> ValueEvent:
    """The event a row holds; ValueError (or TypeError, OverflowError) for a row that
    does not hold one (a file changed by hand): its name missing, a ``ts`` that is
    not integer microseconds in range, ``properties`` that are not a JSON object."""
    user_id, name, ts, properties, account_id, event_id = row
    if name is None:
        raise _RowProblem("its name_id has no row in ttv_names")
    decoded = json.loads(properties) if properties is not None else {}
    if type(decoded) is not dict:
        raise _RowProblem(f"properties hold a JSON {type(decoded).__name__}, not an object")
    return trusted_event(user_id, name, from_micros(ts), decoded, account_id, event_id)


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


class _RowProblem(ValueError):
    """A row that holds no event, found by _event_from_row's own checks."""


def _row_problem(row: Sequence[object], exc: Exception) -> str:
    """What is wrong with a row that does not decode, in words."""
    if isinstance(exc, _RowProblem):
        return str(exc)
    if isinstance(exc, json.JSONDecodeError):
        return f"properties are not valid JSON: {exc.msg} at character {exc.pos}"
    if isinstance(exc, RecursionError):
        return "properties are nested too deeply to read"
    if isinstance(exc, TypeError | OverflowError):
        return f"ts is {_shown(row[2])}, not integer microseconds within datetime's range"
    return f"properties cannot be read: {exc}"


def _check_all(connection: sqlite3.Connection, problems: list[str], limit: int) -> None:
    """SQLiteStore.check()'s work: add what is wrong to *problems*, up to *limit*."""
    for (line,) in connection.execute(f"PRAGMA integrity_check({int(limit)})"):
        if line != "ok":
            problems.append(f"integrity_check: {line}")
    if problems:  # a damaged b-tree: reading on could fail anywhere
        return
    names = _names_problem(connection)
    if names is not None:
        problems.append(names)
    rows = connection.execute(
        "SELECT e.user_id, n.name, e.ts, e.properties, e.account_id, e.event_id, e.rowid "
        "FROM ttv_events AS e LEFT JOIN ttv_names AS n ON n.id = e.name_id ORDER BY e.rowid"
    )
    for row in rows:
        if len(problems) >= limit:
            return
        problem = _invalid_row(row)
        if problem is not None:
            problems.append(f"row {row[6]} (event_id {_shown(row[5])}): {problem}")


def _invalid_row(row: Sequence[object]) -> str | None:
    """What is wrong with a row of ttv_events (a file changed by hand), or None."""
    user_id, name, ts, properties, account_id, event_id = row[:6]
    try:
        event = _event_from_row(row[:6])  # type: ignore[arg-type]  # checked below
        ValueEvent(user_id, name, event.timestamp, event.properties, account_id, event_id)
    except InvalidEventError as exc:
        return str(exc)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return _row_problem(row, exc)
    if type(ts) is not int:
        return f"ts is {_shown(ts)}, not integer microseconds"
    if properties is not None and not isinstance(properties, str):
        return f"properties is {_shown(properties)}, not JSON text"
    return None


def _names_problem(connection: sqlite3.Connection) -> str | None:
    """What is wrong with ttv_names, found cheaply; None when nothing is."""
    count, top, lowest, highest = connection.execute(_NAMES_SUMMARY).fetchone()
    if lowest is None:
        return None  # no events
    if type(lowest) is not int or type(highest) is not int:
        return "ttv_events.name_id holds something other than an integer"
    top = top or 0
    if lowest < 1 or highest > top:
        return "some events have a name_id with no row in ttv_names"
    if count != top:
        return f"ttv_names has {count:,} rows but ids up to {top:,}: some names were deleted"
    return None
