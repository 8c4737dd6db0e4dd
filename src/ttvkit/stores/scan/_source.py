"""ScanSource: the read-only source scan() returns."""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ttvkit.events import (
    ValueEvent,
)
from ttvkit.io import (
    ReadError,
)
from ttvkit.stores._base import BaseSource
from ttvkit.stores.sql.source import DuckDBQueries

if TYPE_CHECKING:
    from ttvkit.stores.duckdb import DuckDBEngine

_T = TypeVar("_T")


class ScanSource(DuckDBQueries, BaseSource):
    """Events at rest or in a DataFrame, read by DuckDB: a read-only source.

    Made by :func:`scan`. Pass it to any calculator; ``events()`` streams
    the events (oldest first, ties by ``event_id``) for drill-down. It offers
    the engine interface of :mod:`ttvkit.stores.duckdb` (``sql_engine``,
    ``relation_sql``, ``query``). ``skipped`` and ``errors`` tell what
    ``on_error="skip"`` left out, as :class:`~ttvkit.io.EventReader` does.
    """

    events_unique_and_ordered = True
    sql_engine: Final = "duckdb"

    def __init__(
        self,
        engine: DuckDBEngine,
        description: str,
        *,
        in_engine: bool,
        generated: Callable[[str], bool],
        rows: int,
        skipped: int = 0,
        errors: tuple[ReadError, ...] = (),
        files: Sequence[str] = (),
    ) -> None:
        self._engine = engine
        self._files = tuple(files)
        self._remembered: dict[str, tuple[object, Any]] = {}
        self._generated = generated
        self._description = description
        self._rows = rows
        self._skipped = skipped
        self._errors = errors
        self._in_engine = in_engine

    @property
    def relation_sql(self) -> str:
        """The SQL name of the canonical relation (see :mod:`ttvkit.stores.duckdb`)."""
        return self._engine.relation_sql

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run one parameterised statement on the canonical relation's database."""
        return self._engine.query(sql, params)

    def query_batches(
        self, sql: str, params: Sequence[object], size: int | None = None
    ) -> Iterator[list[tuple[Any, ...]]]:
        """:meth:`query`, its rows fetched *size* at a time as the iterator is consumed
        (None: 2,048 rows)."""
        return self._engine.query_batches(sql, params, size)

    def query_int_columns(self, sql: str, params: Sequence[object]) -> list[array[int]] | None:
        """:meth:`query`'s columns as 64-bit integer arrays, or None without NumPy
        (see :meth:`DuckDBEngine.query_int_columns`)."""
        return self._engine.query_int_columns(sql, params)

    def query_columns(self, sql: str, params: Sequence[object]) -> list[list[Any]] | None:
        """:meth:`query`'s columns as lists, or None without NumPy
        (see :meth:`DuckDBEngine.query_columns`)."""
        return self._engine.query_columns(sql, params)

    @property
    def rows(self) -> int:
        """The rows read as events (every row but those skipped), counted before the
        copies of an id count once: :meth:`count` may be fewer."""
        return self._rows

    @property
    def files(self) -> tuple[str, ...]:
        """The files read, in name order (empty for a DataFrame)."""
        return self._files

    @property
    def skipped(self) -> int:
        """Bad rows skipped (only with ``on_error="skip"``)."""
        return self._skipped

    @property
    def errors(self) -> tuple[ReadError, ...]:
        """The first skipped rows, as :class:`~ttvkit.io.ReadError` objects."""
        return self._errors

    def is_generated_id(self, event_id: str) -> bool:
        """Whether *event_id* was made up by this scan for a row that had none.

        ``ttvkit import`` gives such events an id from their content instead.
        """
        return self._generated(event_id)

    @property
    def read_in_engine(self) -> bool:
        """True when DuckDB reads the input directly; False when a reader's pass was needed."""
        return self._in_engine

    def __repr__(self) -> str:
        how = "in DuckDB" if self._in_engine else "through the ttvkit.io reader"
        state = ", closed" if self._engine._closed else ""
        skipped = f", {self._skipped} skipped" if self._skipped else ""
        return f"<ScanSource {self._description} ({how}{skipped}{state})>"

    def event_names(self) -> frozenset[str]:
        """The distinct event names, by one ``SELECT DISTINCT`` in DuckDB.

        Remembered while the input's files keep their size and modification
        time (a DataFrame's are fixed): every analysis asks for them.
        """
        return self._remember("names", self._engine._event_names)

    def _remember(self, what: str, compute: Callable[[], _T]) -> _T:
        """*compute*'s answer, asked again only when a file of the input has changed."""
        self._engine._check_open()
        try:
            state: object = tuple(
                (path, stat.st_size, stat.st_mtime_ns)
                for path, stat in zip(self._files, map(os.stat, self._files), strict=True)
            )
        except OSError:
            state = object()  # gone or unreadable: asked every time (the query says what)
        known = self._remembered.get(what)
        if known is not None and known[0] == state:
            answer: _T = known[1]
            return answer
        answer = compute()
        self._remembered[what] = (state, answer)
        return answer

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        self._engine._check_open()
        sql, params = self._engine._events_sql(names, users, since, until)
        return self._engine._stream(sql, params)

    def latest_timestamp(self) -> datetime | None:
        """The latest event's time (remembered as :meth:`event_names` is)."""
        return self._remember("latest", self._engine._latest_timestamp)

    def count(self) -> int:
        """How many events the input holds (duplicate ids once, skipped rows not at all)."""
        return self._engine._count()

    def close(self) -> None:
        """Release DuckDB's memory and files; idempotent. Further use raises StoreError."""
        self._engine._close()
