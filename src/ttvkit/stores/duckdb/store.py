"""DuckDBStore: value events in a DuckDB database file (or in memory)."""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Final
from urllib.parse import unquote

import duckdb

from ttvkit._json import compact
from ttvkit.errors import ConfigurationError
from ttvkit.events import JSONValue, ValueEvent
from ttvkit.observations import to_micros
from ttvkit.stores._base import BaseStore, appended_batch
from ttvkit.stores.duckdb.engine import DuckDBEngine, numpy_or_none
from ttvkit.stores.duckdb.schema import prepare, recorded_version, rollback
from ttvkit.stores.sql.source import DuckDBQueries

__all__ = ["DuckDBStore", "parse_url"]

# Appends arrive as one column per field, one statement per batch, no per-row
# round trip and no temporary table: NumPy arrays registered as a relation (DuckDB
# reads them in about half the time it takes to bind lists), or, without NumPy,
# lists unnested in the engine.
_INSERT_REGISTERED: Final = (
    "INSERT INTO ttv_events (event_id, user_id, account_id, name, ts, properties) "
    "SELECT event_id::VARCHAR, user_id::VARCHAR, account_id::VARCHAR, name::VARCHAR, ts, "
    "properties::VARCHAR::JSON FROM ttv_append ON CONFLICT (event_id) DO NOTHING"
)
_COLUMN_NAMES: Final = ("event_id", "user_id", "account_id", "name", "ts", "properties")
_INSERT_EVENTS: Final = (
    "INSERT INTO ttv_events (event_id, user_id, account_id, name, ts, properties) "
    "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
    "unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[])::JSON "
    "ON CONFLICT (event_id) DO NOTHING"
)

# One encoder for every append, as in SQLiteStore; compact, so a property
# written by ttvkit is the same text in every store.
_ENCODE: Final = compact


def _dump_properties(properties: Mapping[str, JSONValue]) -> str | None:
    if not properties:
        return None
    return _ENCODE(dict(properties))


def parse_url(url: str) -> str:
    """The database a ``duckdb://`` URL names: a file path, or ``":memory:"``.

    ``duckdb:///relative/ttv.duckdb`` (relative to the working directory),
    ``duckdb:////var/lib/ttv.duckdb`` (absolute), ``duckdb://`` or
    ``duckdb:///:memory:`` (in memory). ``%xx`` escapes in the path are
    decoded, so a file name may contain ``?`` or ``#`` as ``%3F``/``%23``.
    A bad URL is a :class:`~ttvkit.errors.ConfigurationError`.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"store URL {url!r}: must be a str like 'duckdb:///ttv.duckdb'")
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
    return path


class DuckDBStore(DuckDBQueries, DuckDBEngine, BaseStore):
    """Value events in a DuckDB database file, or in memory.

    ``path`` is a file (created when missing, with its schema) or
    ``":memory:"`` for a private in-memory database that all threads of this
    store share. Appends are idempotent by ``event_id`` and atomic (one
    transaction per call). See :mod:`ttvkit.stores.duckdb` for concurrency and for
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
        """Open a ``duckdb://`` URL (see :func:`parse_url`)."""
        return cls(parse_url(url))

    @property
    def path(self) -> str:
        """The absolute path of the database file, or ``":memory:"``."""
        return self._path

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<DuckDBStore {self._path!r}{state}>"

    # -- schema ---------------------------------------------------------------------------

    def _prepare(self, cursor: duckdb.DuckDBPyConnection) -> None:
        prepare(cursor, self._path)

    def schema_version(self) -> int:
        """The schema version recorded in the database (:data:`SCHEMA_VERSION` once open)."""
        return self._run(recorded_version)

    # -- the Store protocol ---------------------------------------------------------------

    def append(self, events: Sequence[ValueEvent]) -> int:
        batch = appended_batch(events)
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

        numpy = numpy_or_none()

        def write(cursor: duckdb.DuckDBPyConnection) -> int:
            if numpy is not None:
                # Visible to this cursor only, which is closed after the write.
                arrays = {
                    name: numpy.array(column, dtype=numpy.int64 if name == "ts" else object)
                    for name, column in zip(_COLUMN_NAMES, columns, strict=True)
                }
                cursor.register("ttv_append", arrays)
            cursor.execute("BEGIN TRANSACTION")
            try:
                if numpy is None:
                    row = cursor.execute(_INSERT_EVENTS, list(columns)).fetchone()
                else:
                    row = cursor.execute(_INSERT_REGISTERED).fetchone()
                cursor.execute("COMMIT")
            except BaseException:
                rollback(cursor)
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
        return self._event_names()

    def latest_timestamp(self) -> datetime | None:
        return self._latest_timestamp()

    def count(self) -> int:
        return self._count()

    def close(self) -> None:
        """Close the database; idempotent. Further use raises StoreError."""
        self._close()
