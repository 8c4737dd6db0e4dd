"""How events travel to PostgreSQL: binary COPY rows, properties as ttvkit's exact JSON text.

Properties are serialised once by :func:`ttvkit._json.exact_json_text` (so
``1.0`` stays ``1.0`` and ``true`` is not ``1``) and sent as binary ``jsonb``
by :class:`JSONTextDumper`; batches that may hold stored event ids go
through a session-local staging table (:data:`CREATE_STAGING`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.postgres import types as postgres_types
from psycopg.pq import Format

from ttvkit._json import exact_json_text
from ttvkit.events import JSONValue, ValueEvent

__all__ = [
    "COPY_STAGING",
    "CREATE_STAGING",
    "STAGING",
    "JSONTextDumper",
    "copy_rows",
    "properties_text",
]

#: A session-local table for batches that may hold stored event ids.
STAGING: Final = "pg_temp.ttvkit_staging"
CREATE_STAGING: Final = sql.SQL(
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (event_id text, user_id text, "
    "account_id text, name text, ts timestamptz, properties jsonb) ON COMMIT DELETE ROWS"
)
COPY_STAGING: Final = sql.SQL(
    f"COPY {STAGING} (event_id, user_id, account_id, name, ts, properties) "
    "FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES: Final = ["text", "text", "text", "text", "timestamptz", "jsonb"]


class JSONTextDumper(Dumper):
    """Send JSON text that ttvkit serialised itself as binary jsonb.

    Registered by oid only, so COPY's ``set_types`` picks it for the
    properties column; nothing else on the connection dumps jsonb.
    """

    format = Format.BINARY
    oid = postgres_types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()  # jsonb's binary format: version 1, then the text


def copy_rows(
    cur: psycopg.Cursor[Any], statement: sql.SQL | sql.Composed, events: list[ValueEvent]
) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(_COPY_TYPES)
        write = copy.write_row
        for e in events:
            write(
                (
                    e.event_id,
                    e.user_id,
                    e.account_id,
                    e.name,
                    e.timestamp,
                    properties_text(e.properties),
                )
            )


def properties_text(properties: Mapping[str, JSONValue]) -> str:
    # ValueEvent wraps only the top level in a read-only proxy; nested values
    # are plain dicts and lists the encoder takes as they are.
    return exact_json_text(dict(properties)) if properties else "{}"
