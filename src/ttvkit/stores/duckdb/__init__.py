"""DuckDBStore: value events in a DuckDB database file (or in memory), for large logs.

Needs ``pip install 'ttvkit[duckdb]'`` (DuckDB 1.3 or newer). DuckDB is a
columnar, vectorised engine: whole-log queries read only the columns they
need, on every core.
``docs/stores-duckdb.md`` describes the URLs, the schema and the limits.

Concurrency: DuckDB lets one *process* open a file for writing. Within that
process any number of threads may use the store: each operation runs on its
own cursor (a connection to the same database instance), appends are
serialised by a lock, and reads see committed data without waiting for
writers. A second process opening the same file gets
:class:`~ttvkit.errors.StoreUnavailableError`. After ``os.fork()`` the child
must not use a store the parent opened (DuckDB's threads and file lock stay
with the parent): it raises :class:`~ttvkit.errors.StoreError` there, and the
child opens its own once the parent has closed the file.

The engine interface
--------------------
:class:`DuckDBStore` and the read-only sources of :func:`ttvkit.scan` expose
the same three members, which a query plan rendered for DuckDB needs and
nothing else:

``sql_engine``
    ``"duckdb"``: the dialect the plan is rendered in.
``relation_sql``
    The SQL name (safely quoted) of *the canonical relation*: one row per
    event, columns exactly ``event_id VARCHAR NOT NULL`` (unique),
    ``user_id VARCHAR NOT NULL``, ``account_id VARCHAR`` (NULL when none),
    ``name VARCHAR NOT NULL``, ``ts BIGINT NOT NULL`` (microseconds since
    1970-01-01 UTC, exact) and ``properties JSON`` (the JSON object as text,
    JSON types preserved: ``true`` is not ``1`` and ``"1"`` is not ``1``;
    NULL when the event has no properties). Numbers in ``properties`` keep
    the text they were written with (``2.0`` stays ``2.0``).
``query(sql, params)``
    Runs one parameterised statement (``?`` placeholders) on a cursor of its
    own (thread-safe) and returns every row; DuckDB errors are raised as
    :class:`~ttvkit.errors.StoreError`.

The package, one job per module: :mod:`~ttvkit.stores.duckdb.store` (the
store), :mod:`~ttvkit.stores.duckdb.schema` (:data:`MIGRATIONS`) and
:mod:`~ttvkit.stores.duckdb.engine` (the engine interface, shared with
:func:`ttvkit.scan`).
"""

from __future__ import annotations

from ttvkit._optional import missing

try:
    import duckdb  # noqa: F401  # checked here, before any module of the package needs it
except ImportError as exc:  # pragma: no cover - the test environment has duckdb
    raise missing("duckdb", "duckdb", "DuckDBStore and ttvkit.scan()") from exc

# DuckDBEngine and CANONICAL_COLUMNS: the engine interface ttvkit.scan() builds on.
from ttvkit.stores.duckdb.engine import CANONICAL_COLUMNS as CANONICAL_COLUMNS
from ttvkit.stores.duckdb.engine import DuckDBEngine as DuckDBEngine
from ttvkit.stores.duckdb.engine import quote_identifier, quote_literal
from ttvkit.stores.duckdb.schema import MIGRATIONS, SCHEMA_VERSION
from ttvkit.stores.duckdb.store import DuckDBStore

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "DuckDBStore", "quote_identifier", "quote_literal"]
