"""Schema versions of the embedded stores (SQLite, DuckDB): one migration loop.

An embedded store's file records its schema version in a ``ttv_meta`` table
(key ``schema_version``). Its schema is a tuple of migrations: migration *i*
(from 1) takes a file from version *i - 1* to *i*, and :func:`migrate` applies
the missing ones in order, in one transaction, so a failed migration leaves
the file as it was. The engines differ only in how they find the meta table,
create it and open a write transaction (:class:`MetaTable`). PostgreSQL keeps
its own loop (:mod:`ttvkit.stores.postgres.schema`): it locks with an advisory
lock and keeps its version in a table named after the store's prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from ttvkit.errors import SchemaVersionError, StoreError

__all__ = ["Connection", "MetaTable", "Migrations", "check_version", "migrate", "schema_version"]

#: The statements of each migration, in order.
Migrations = Sequence[Sequence[str]]


class _Rows(Protocol):
    def fetchone(self) -> Any: ...


class Connection(Protocol):
    """What the loop needs of a connection: ``execute`` with ``?`` parameters."""

    def execute(self, sql: str, parameters: Any = ..., /) -> _Rows: ...


@attrs.frozen
class MetaTable:
    """Where an engine differs in keeping ``ttv_meta``."""

    #: A query that returns a row when ``ttv_meta`` exists.
    exists: str
    #: ``CREATE TABLE IF NOT EXISTS ttv_meta (key ... PRIMARY KEY, value ... NOT NULL)``.
    create: str
    #: Opens the write transaction the migrations run in.
    begin: str


_READ = "SELECT value FROM ttv_meta WHERE key = 'schema_version'"
_WRITE = (
    "INSERT INTO ttv_meta (key, value) VALUES ('schema_version', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def schema_version(connection: Connection, meta: MetaTable) -> int:
    """The version recorded in the file; 0 for a file without ttvkit's tables."""
    if connection.execute(meta.exists).fetchone() is None:
        return 0
    row = connection.execute(_READ).fetchone()
    if row is None:
        return 0
    try:
        return int(row[0])
    except ValueError:
        raise StoreError(f"ttv_meta.schema_version is {row[0]!r}, not a number") from None


def check_version(version: int, latest: int, where: str) -> None:
    """Refuse a file written by a newer ttvkit (its tables may mean something else)."""
    if version > latest:
        raise SchemaVersionError(
            f"{where} has ttvkit schema version {version}, written by a newer "
            f"ttvkit; this one understands versions up to {latest}. Upgrade ttvkit "
            "(pip install -U ttvkit) to open it"
        )


def migrate(
    connection: Connection,
    migrations: Migrations,
    meta: MetaTable,
    *,
    where: str,
    rollback: Callable[[], None],
    refuse: Callable[[int], StoreError] | None = None,
) -> None:
    """Bring the file at *connection* up to ``len(migrations)``, in one transaction.

    *where* names the file in messages. *rollback* undoes a failed
    transaction. *refuse*, when given, is called with the recorded version
    of a file that needs migrating, and its error raised instead (a
    read-only store cannot migrate).
    """
    latest = len(migrations)
    version = schema_version(connection, meta)
    check_version(version, latest, where)
    if version == latest:
        return
    if refuse is not None:
        raise refuse(version)
    connection.execute(meta.begin)
    try:
        # Another process may have migrated while this one waited for the lock.
        version = schema_version(connection, meta)
        check_version(version, latest, where)
        if version == 0:
            connection.execute(meta.create)
        for statements in migrations[version:]:
            for statement in statements:
                connection.execute(statement)
        connection.execute(_WRITE, (str(latest),))
        connection.execute("COMMIT")
    except BaseException:
        rollback()
        raise
