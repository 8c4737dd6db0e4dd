"""The PostgreSQL store's tables: their names, their migrations, and creating them.

Tables live in a schema the user names and carry a prefix the user names
(both checked by :func:`check_identifier` and :func:`check_prefix`, then
quoted with ``psycopg.sql.Identifier``). The version is kept in
``{prefix}schema_version``; :func:`migrate` applies the missing migrations
under an advisory lock, so that concurrent processes do not race.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import psycopg
from psycopg import sql

from ttvkit.errors import ConfigurationError, SchemaVersionError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "check_identifier",
    "check_prefix",
    "migrate",
    "table_names",
]

Conn: TypeAlias = "psycopg.Connection[tuple[Any, ...]]"
#: Fills a statement template's identifiers in (the store's ``_sql``).
Compose: TypeAlias = Callable[[str], sql.Composed]

#: The version of the tables this ttvkit writes; see :data:`MIGRATIONS`.
SCHEMA_VERSION: Final = 1

# Lower-case so that the quoted identifier is the one an unquoted mention
# means too (PostgreSQL folds unquoted names to lower case).
_IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]*")
_PREFIX: Final = re.compile(r"[a-z_][a-z0-9_]*|")
_MAX_IDENTIFIER: Final = 63
_MAX_PREFIX: Final = 40  # leaves room for "events_name_ts_idx" within 63 bytes

# One statement per entry; {schema}, {events}, {version} and the index names
# are identifiers. MIGRATIONS[v] takes the tables from version v-1 to v;
# a new store applies all of them, an older one the missing ones.
MIGRATIONS: Final[Mapping[int, tuple[str, ...]]] = {
    1: (
        """
        CREATE TABLE {events} (
            event_id   text COLLATE "C" NOT NULL,
            user_id    text COLLATE "C" NOT NULL,
            account_id text COLLATE "C",
            name       text COLLATE "C" NOT NULL,
            ts         timestamptz NOT NULL,
            properties jsonb NOT NULL,
            CONSTRAINT {events_pkey} PRIMARY KEY (event_id)
        )
        """,
        # events() pages through (ts, event_id); latest_timestamp() reads its end.
        "CREATE INDEX {events_ts_idx} ON {events} (ts, event_id)",
        # observations() reads the events of a few names up to as_of.
        "CREATE INDEX {events_name_ts_idx} ON {events} (name, ts)",
    ),
}


def check_identifier(value: object, what: str) -> str:
    """*value* if it can name a schema (lower-case, at most 63 characters), else an error."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ConfigurationError(
            f"{what}={value!r}: use lower-case letters, digits and '_', starting with a "
            "letter or '_' (e.g. 'analytics')"
        )
    if len(value) > _MAX_IDENTIFIER:
        raise ConfigurationError(f"{what}={value!r}: at most {_MAX_IDENTIFIER} characters")
    return value


def check_prefix(value: object) -> str:
    """*value* if it can start a table name (or is ``""``), else an error."""
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise ConfigurationError(
            f"table_prefix={value!r}: use lower-case letters, digits and '_', starting with "
            "a letter or '_' (e.g. 'ttv_'), or '' for none"
        )
    if len(value) > _MAX_PREFIX:
        raise ConfigurationError(f"table_prefix={value!r}: at most {_MAX_PREFIX} characters")
    return value


def table_names(schema: str, prefix: str) -> dict[str, sql.Composable]:
    """The identifiers statement templates may name: ``{schema}``, ``{events}``, ..."""
    ident = sql.Identifier
    return {
        "schema": ident(schema),
        "events": ident(schema, f"{prefix}events"),
        "version": ident(schema, f"{prefix}schema_version"),
        "events_pkey": ident(f"{prefix}events_pkey"),
        "events_ts_idx": ident(f"{prefix}events_ts_idx"),
        "events_name_ts_idx": ident(f"{prefix}events_name_ts_idx"),
    }


def migrate(conn: Conn, schema: str, prefix: str, compose: Compose, where: str) -> None:
    """Create or upgrade the tables, under an advisory lock against racing processes."""
    key = int.from_bytes(
        hashlib.sha256(f"ttvkit:{schema}.{prefix}".encode()).digest()[:8],
        "big",
        signed=True,
    )
    events_name, version_name = f"{prefix}events", f"{prefix}schema_version"
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s::bigint)", (key,))
        cur.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s::text[])",
            (schema, [events_name, version_name]),
        )
        existing = {row[0] for row in cur.fetchall()}
        if version_name in existing:
            cur.execute(compose("SELECT version FROM {version}"))
            row = cur.fetchone()
            current = 0 if row is None else int(row[0])
        elif events_name in existing:
            raise ConfigurationError(
                f"table {schema}.{events_name} exists but was not created by "
                f"ttvkit (there is no {version_name} table); choose another "
                "table_prefix or schema"
            )
        else:
            cur.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,))
            if cur.fetchone() is None:
                cur.execute(compose("CREATE SCHEMA {schema}"))
            cur.execute(
                compose(
                    "CREATE TABLE {version} (only_row boolean PRIMARY KEY DEFAULT true "
                    "CHECK (only_row), version integer NOT NULL)"
                )
            )
            cur.execute(compose("INSERT INTO {version} (version) VALUES (0)"))
            current = 0
        if current > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the tables in schema {schema!r} at {where} have schema "
                f"version {current}, written by a newer ttvkit; this one knows version "
                f"{SCHEMA_VERSION}. Upgrade ttvkit (pip install -U 'ttvkit[postgres]')"
            )
        for target in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                cur.execute(compose(statement))
            cur.execute(compose("UPDATE {version} SET version = %s"), (target,))
