"""SQLiteStore: value events in an SQLite file (or in memory), the embedded default.

Needs nothing beyond the standard library's :mod:`sqlite3`. A file store runs
in WAL mode, so readers never block the writer; several threads and several
processes may write one file at once (each write is one ``BEGIN IMMEDIATE``
transaction, retried with backoff while another writer holds the lock).
``observations()`` is computed by one SQL query rendered from ttvkit's query
plan (:mod:`ttvkit.stores.sql`, with
:class:`~ttvkit.stores.sql.engines.SQLiteDialect`). ``docs/stores-sqlite.md``
describes the schema, the guarantees and the limits.

The package, one job per module:

* :mod:`~ttvkit.stores.sqlite.store` — :class:`SQLiteStore` (URLs, reading, writing);
* :mod:`~ttvkit.stores.sqlite.schema` — :data:`MIGRATIONS` and preparing a file;
* :mod:`~ttvkit.stores.sqlite.connection` — connections across threads and
  ``fork()``, and the one busy-retry loop;
* :mod:`~ttvkit.stores.sqlite.failures` — what an SQLite error means, in words;
* :mod:`~ttvkit.stores.sqlite.rows` — rows read back as events, and ``check()``.
"""

from __future__ import annotations

from ttvkit.stores.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from ttvkit.stores.sqlite.store import SQLiteStore

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]
