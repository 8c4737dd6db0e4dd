"""The SQLite store's schema: its migrations, and preparing a file to hold events.

``docs/stores-sqlite.md`` describes the tables. Versions are recorded in
``ttv_meta``; :func:`ttvkit.stores._migrations.migrate` applies the missing
migrations in order, in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Final

from ttvkit.errors import StoreError
from ttvkit.stores import _migrations

__all__ = ["MIGRATIONS", "MIN_SQLITE", "SCHEMA_VERSION", "prepare", "recorded_version"]

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

#: SQLite features the store relies on: FILTER on aggregates (3.30), window
#: functions (3.25), upsert's ON CONFLICT DO NOTHING (3.24), the JSON functions.
MIN_SQLITE: Final = (3, 30, 0)

_META: Final = _migrations.MetaTable(
    exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ttv_meta'",
    create=(
        "CREATE TABLE IF NOT EXISTS ttv_meta ("
        "key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
    ),
    # The write lock up front: a second process migrating waits here, then
    # finds the file migrated.
    begin="BEGIN IMMEDIATE",
)


def recorded_version(connection: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a file without ttvkit's tables)."""
    return _migrations.schema_version(connection, _META)


def prepare(
    connection: sqlite3.Connection,
    path: str,
    *,
    wal: bool,
    read_only: bool,
    rollback: Callable[[], None],
) -> None:
    """Check this SQLite, switch a file to WAL (when *wal*) and bring its schema up to date.

    A *read_only* store refuses a file that needs migrating. *rollback*
    undoes a failed migration.
    """
    try:
        connection.execute("SELECT json_type('{}')").fetchone()
    except sqlite3.OperationalError:
        raise StoreError(
            f"this SQLite ({sqlite3.sqlite_version}) was built without the JSON "
            "functions, which SQLiteStore needs; use a Python linked against a newer SQLite"
        ) from None
    if wal:
        (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            raise StoreError(
                f"{path}: SQLite could not switch to WAL mode (it reports "
                f"{mode!r}); put the file on a local file system"
            )

    def refuse(version: int) -> StoreError:
        return StoreError(
            f"{path} is opened read-only but "
            + (
                "holds no ttvkit events (no ttvkit schema)"
                if version == 0
                else f"has the older ttvkit schema version {version}; open it once "
                "writable to upgrade it"
            )
        )

    # MIGRATIONS is looked up here, at each call, so that a test may extend it.
    _migrations.migrate(
        connection,
        MIGRATIONS,
        _META,
        where=path,
        rollback=rollback,
        refuse=refuse if read_only else None,
    )
