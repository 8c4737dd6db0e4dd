"""The DuckDB engine interface: a database (file or in memory) and one canonical relation.

:class:`DuckDBEngine` is the part :class:`~ttvkit.stores.duckdb.DuckDBStore` and the
sources of :func:`ttvkit.scan` share (see :mod:`ttvkit.stores.duckdb` for the
interface): cursors per operation, error translation, streaming ``events()``
of the canonical relation, ``latest_timestamp()``, ``count()``, ``query()``,
closing, and refusing use in a forked child.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import threading
import weakref
from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any, Final, TypeVar

import duckdb

from ttvkit.errors import (
    ConfigurationError,
    StoreError,
    StoreUnavailableError,
)
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.observations import check_aware, from_micros, to_micros
from ttvkit.stores._base import event_filter

__all__ = [
    "CANONICAL_COLUMNS",
    "DuckDBEngine",
    "close_quietly",
    "is_disk_full",
    "is_interrupt",
    "keyboard_interrupts",
    "numpy_or_none",
    "quote_identifier",
    "quote_literal",
]

_T = TypeVar("_T")

_FETCH_SIZE: Final = 2048

#: What DuckDB says (the C library's ``strerror()``) when a file cannot grow:
#: a full disk (ENOSPC), a quota (EDQUOT), a file size limit (EFBIG).
_NO_SPACE: Final = frozenset(
    {"No space left on device", "Disk quota exceeded", "File too large"}
    | {os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)}
)


def is_disk_full(exc: duckdb.Error) -> bool:
    """Whether *exc* says a file could not grow for lack of space, which may come back.

    DuckDB raises it as an ``IOException`` or, failing a commit, as a
    ``TransactionException`` whose text carries the system's words. A fatal
    error (the database invalidated, which only reopening it cures) is not
    transient whatever it says.
    """
    if isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc):
        return False
    text = str(exc)
    return any(words in text for words in _NO_SPACE)


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


@contextlib.contextmanager
def keyboard_interrupts() -> Iterator[None]:
    """Let a Ctrl-C that DuckDB stopped a query for go on as :class:`KeyboardInterrupt`.

    DuckDB reports it as ``duckdb.InterruptException`` or, from ``execute()``,
    as ``RuntimeError('Query interrupted')``: neither is a store failure.
    """
    try:
        yield
    except (duckdb.InterruptException, RuntimeError) as exc:
        if is_interrupt(exc):
            raise KeyboardInterrupt from exc
        raise


def is_interrupt(exc: BaseException) -> bool:
    """Whether *exc* is DuckDB saying it stopped a query for a Ctrl-C."""
    return isinstance(exc, duckdb.InterruptException) or (
        type(exc) is RuntimeError and str(exc) == "Query interrupted"
    )


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
        #: What to do when DuckDB runs out of memory, told with the error (scan sets it).
        self.memory_advice = ""
        self._after_close: list[Callable[[], object]] = []
        try:
            self._connection = duckdb.connect(database)
        except duckdb.IOException as exc:
            if is_disk_full(exc):
                raise StoreUnavailableError(
                    f"cannot create the DuckDB database {database!r}: the disk is full "
                    f"({exc}); free some space and retry"
                ) from exc
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

    def on_close(self, cleanup: Callable[[], object]) -> None:
        """Run *cleanup* once the connection is closed (scan removes its spill directory)."""
        self._after_close.append(cleanup)

    def _failure(self, exc: duckdb.Error) -> StoreError:
        if self._closed or (
            isinstance(exc, duckdb.ConnectionException) and "closed" in str(exc).lower()
        ):
            return StoreError(f"this {self._what} is closed; open a new one")
        if is_disk_full(exc):
            # Transient: space may come back (a log rotated, a volume grown),
            # so a Tracker retries instead of giving the batch up.
            return StoreUnavailableError(
                f"DuckDB could not write to {self._what}: the disk (or a quota, or a "
                f"file size limit) is full ({exc}); the transaction was rolled back. "
                "Free some space and retry"
            )
        if isinstance(exc, duckdb.OutOfMemoryException) and self.memory_advice:
            first = str(exc).split("\n", 1)[0]
            return StoreError(
                f"DuckDB ran out of memory on {self._what} ({first}); {self.memory_advice}"
            )
        return StoreError(f"DuckDB failed on {self._what}: {exc}")

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        cursor = self._cursor()
        try:
            with keyboard_interrupts():
                return work(cursor)
        except duckdb.Error as exc:
            raise self._failure(exc) from exc
        finally:
            close_quietly(cursor)

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
            params.append(event_filter(names, "names"))
        if users is not None:
            terms.append("list_contains(?::VARCHAR[], user_id)")
            params.append(event_filter(users, "users"))
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
        forked = (
            "this events() iterator was started before os.fork(); "
            "call events() again in the child process"
        )
        for rows in self._batches(sql, params, _FETCH_SIZE, forked):
            yield from map(_event_from_row, rows)

    def query_batches(
        self, sql: str, params: Sequence[object], size: int | None = None
    ) -> Iterator[list[tuple[Any, ...]]]:
        """:meth:`query`, its rows fetched *size* at a time as the iterator is consumed
        (None: 2,048 rows).

        The rows never all exist as Python tuples at once: the duration cells
        of 1e8 events are about ten million rows. The statement runs on a
        cursor of its own, closed when the iterator ends or is closed.
        """
        forked = (
            "this query's rows were being fetched when os.fork() was called; "
            "run the query again in the child process"
        )
        return self._batches(sql, list(params), size or _FETCH_SIZE, forked)

    def _batches(
        self, sql: str, params: list[object], size: int, forked: str
    ) -> Iterator[list[tuple[Any, ...]]]:
        cursor = self._cursor()
        pid = self._pid
        try:
            try:
                with keyboard_interrupts():
                    cursor.execute(sql, params)
            except duckdb.Error as exc:
                raise self._failure(exc) from exc
            while True:
                try:
                    with keyboard_interrupts():
                        rows = cursor.fetchmany(size)
                except duckdb.Error as exc:
                    raise self._failure(exc) from exc
                if not rows:
                    return
                if os.getpid() != pid:
                    raise StoreError(forked)
                yield rows
        finally:
            if os.getpid() == pid:
                close_quietly(cursor)

    def query_int_columns(self, sql: str, params: Sequence[object]) -> list[array[int]] | None:
        """:meth:`query`'s result as columns of 64-bit integers, or None without NumPy.

        DuckDB hands the columns over as NumPy arrays (``fetchnumpy()``), copied
        into ``array('q')`` columns: no Python object per value, where
        :meth:`query_batches` makes a tuple per row and an ``int`` per value
        (for a million duration cells, about 0.03 s against 0.5 s). Every
        column must be of an integer type and hold no NULL. NumPy comes with
        ``ttvkit[duckdb]``; without it this returns None and the caller reads
        rows instead.
        """
        numpy = numpy_or_none()
        if numpy is None:
            return None

        def work(cursor: duckdb.DuckDBPyConnection) -> list[array[int]]:
            columns = cursor.execute(sql, list(params)).fetchnumpy()
            return [_int_column(numpy, name, column) for name, column in columns.items()]

        return self._run(work)

    def query_columns(self, sql: str, params: Sequence[object]) -> list[list[Any]] | None:
        """:meth:`query`'s result as one list per column, or None without NumPy.

        DuckDB hands the columns over as NumPy arrays (``fetchnumpy()``), made
        into lists in C (``tolist()``; a NULL is ``None``): no tuple per row,
        where :meth:`query_batches` makes one and transposing them takes a
        Python step per value. Columns must be integers, booleans or Python
        objects (text): a float column could have been a wider integer that
        NumPy rounded, and a list would be a NumPy array, so columns of other
        SQL types are refused (see ``LISTED_TYPES``). Without NumPy this
        returns None and the caller reads rows instead.
        """
        numpy = numpy_or_none()
        if numpy is None:
            return None

        def work(cursor: duckdb.DuckDBPyConnection) -> list[list[Any]]:
            result = cursor.execute(sql, list(params))
            for name, kind, *_ in result.description or ():
                if str(kind) not in LISTED_TYPES:
                    raise StoreError(
                        f"DuckDB returned values of type {kind} in column {name!r}, where "
                        "ttvkit's statement expects integers, booleans or text; this is a "
                        "bug in ttvkit, please report it"
                    )
            # A list per column, made in C; a NULL (a masked value) is None.
            return [column.tolist() for column in result.fetchnumpy().values()]

        return self._run(work)

    def _event_names(self) -> frozenset[str]:
        rows = self.query(f"SELECT DISTINCT name FROM {self.relation_sql}", ())
        return frozenset(str(r[0]) for r in rows if r[0] is not None)

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
            close_quietly(cursor)
        close_quietly(self._connection)
        self._on_cursor = None  # let go of a scanned table
        for cleanup in self._after_close:
            cleanup()


@functools.cache
def numpy_or_none() -> ModuleType | None:
    """NumPy, or None when it is not installed (it is optional, as DuckDB's own use of it)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _int_column(numpy: ModuleType, name: str, column: Any) -> array[int]:
    """One column from ``fetchnumpy()`` as an ``array('q')`` (one copy of its bytes)."""
    if column.dtype.kind != "i" or numpy.ma.is_masked(column):
        what = "a NULL" if column.dtype.kind == "i" else f"values of type {column.dtype}"
        raise StoreError(
            f"DuckDB returned {what} in column {name!r}, where ttvkit's statement "
            "expects signed integers; this is a bug in ttvkit, please report it"
        )
    values = array("q")
    values.frombytes(memoryview(numpy.ascontiguousarray(column, dtype=numpy.int64)).cast("B"))
    return values


#: The SQL types :meth:`DuckDBEngine.query_columns` hands back: those NumPy holds
#: exactly and lists as the values a row fetch gives.
LISTED_TYPES: Final = frozenset(
    {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "BOOLEAN", "VARCHAR", "JSON"}
)


def close_quietly(cursor: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        cursor.close()
