"""The DuckDB store's schema: its migrations, and preparing a database to hold events.

The table is the canonical relation of :mod:`ttvkit.stores.duckdb`. Versions are
recorded in ``ttv_meta``; :func:`ttvkit.stores._migrations.migrate` applies the
missing migrations in order, in one transaction.
"""

from __future__ import annotations

import contextlib
from typing import Final

import duckdb

from ttvkit.stores import _migrations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "prepare", "recorded_version"]

#: The schema, as the list of migrations that build it: migration *i* (from 1)
#: takes a file from schema version *i - 1* to *i*, recorded in ``ttv_meta``
#: (key ``schema_version``). Never edit a released migration: append a new one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        # The canonical relation itself (see ttvkit.stores.duckdb): the
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

_META: Final = _migrations.MetaTable(
    exists=(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = 'ttv_meta'"
    ),
    create=(
        "CREATE TABLE IF NOT EXISTS ttv_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
    ),
    begin="BEGIN TRANSACTION",
)


def recorded_version(cursor: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the database (0 for one without ttvkit's tables)."""
    return _migrations.schema_version(cursor, _META)


def prepare(cursor: duckdb.DuckDBPyConnection, path: str) -> None:
    """Bring the database's schema up to date (*path* names it in messages)."""
    _migrations.migrate(cursor, MIGRATIONS, _META, where=path, rollback=lambda: rollback(cursor))


def rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction, if any."""
    # No transaction open, or the connection gone: nothing to undo.
    with contextlib.suppress(duckdb.Error):
        cursor.execute("ROLLBACK")
