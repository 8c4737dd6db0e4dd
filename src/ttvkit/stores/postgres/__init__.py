"""PostgresStore: value events in PostgreSQL, observations computed by the server.

Needs the ``postgres`` extra (psycopg 3): ``pip install 'ttvkit[postgres]'``.
``docs/stores-postgres.md`` describes the tables, the URL options, and how
the store behaves under concurrency, outages and ``fork()``.

The package, one job per module:

* :mod:`~ttvkit.stores.postgres.store` — :class:`PostgresStore`. One
  connection per store, shared by threads under a lock, opened lazily and
  re-opened after it breaks; observations computed by PostgreSQL from
  ttvkit's query plan (:mod:`ttvkit.stores.sql`, rendered with
  :class:`~ttvkit.stores.sql.engines.PostgresDialect`): scanning, matching,
  ``nth``, running totals, per-customer minima and the censoring rules all
  run inside the server; Python only reads the columns.
* :mod:`~ttvkit.stores.postgres.schema` — table names, the versioned DDL
  (:data:`~ttvkit.stores.postgres.schema.MIGRATIONS`), applied under an
  advisory lock so that concurrent processes do not race.
* :mod:`~ttvkit.stores.postgres.connection` — connections whose every wait
  for the server has a deadline.
* :mod:`~ttvkit.stores.postgres.adapters` — binary COPY of events, and
  properties sent as ttvkit's exact JSON text.

Every value is a bound parameter; only fixed SQL fragments and identifiers
that passed :func:`~ttvkit.stores.postgres.schema.check_identifier` (quoted
with ``psycopg.sql.Identifier``) are composed into statements.
"""

from __future__ import annotations

from ttvkit._optional import missing

try:
    import psycopg  # noqa: F401  # checked here, before any module of the package needs it
except ImportError as exc:  # pragma: no cover - exercised by a test that hides psycopg
    raise missing("psycopg", "postgres", "PostgresStore") from exc

from ttvkit.stores.postgres.schema import SCHEMA_VERSION
from ttvkit.stores.postgres.store import PostgresStore

__all__ = ["SCHEMA_VERSION", "PostgresStore"]
