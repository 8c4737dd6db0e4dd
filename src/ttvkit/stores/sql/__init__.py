"""ttvkit's query plan, rendered per SQL engine.

The interface for engine authors:

* :func:`build_plan` and the node types of :mod:`ttvkit.stores.sql.plan`:
  what to compute, engine-neutral;
* :class:`Dialect`: the hooks an engine overrides where its SQL differs in
  meaning (:mod:`ttvkit.stores.sql.engines` has SQLite, PostgreSQL, DuckDB);
* :func:`observations_statement` and :func:`cells_statement`: one statement
  per question, for any dialect;
* :func:`read_columns` and :func:`read_cells`: the rows those statements
  return, as :class:`~ttvkit.observations.ObservationColumns` and
  :class:`DurationCells` (:func:`read_column_lists` and
  :func:`read_cell_columns`: the same from an engine that hands back columns).

``docs/architecture.md`` shows how to add an engine.
"""

from ttvkit.stores.sql.dialect import Binder, BindKind, Dialect
from ttvkit.stores.sql.plan import ObservationPlan, UnsupportedConditionError, build_plan
from ttvkit.stores.sql.render import Statement, cells_statement, observations_statement
from ttvkit.stores.sql.rows import (
    DurationCells,
    read_cell_columns,
    read_cells,
    read_column_lists,
    read_columns,
)

__all__ = [
    "BindKind",
    "Binder",
    "Dialect",
    "DurationCells",
    "ObservationPlan",
    "Statement",
    "UnsupportedConditionError",
    "build_plan",
    "cells_statement",
    "observations_statement",
    "read_cell_columns",
    "read_cells",
    "read_column_lists",
    "read_columns",
]
