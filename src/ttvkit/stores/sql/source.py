"""Observations through the plan, for every SQL engine: one implementation.

:class:`PlanQueries` gives a source ``observations()``,
``observation_columns()`` and ``duration_cells()`` computed by its engine
from ttvkit's query plan. An engine supplies one hook, :meth:`PlanQueries.run_plan`:
render the statement with its dialect at ``as_of`` (the latest event by
default, read in the same snapshot as the rows) and run it. Conditions the
plan does not know (user-defined classes) take
:meth:`~ttvkit.stores.BaseSource.generic_observations`.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    DurationCells,
    Observation,
    ObservationColumns,
    Per,
    check_aware,
    check_question,
    to_micros,
)
from ttvkit.stores._base import BaseSource
from ttvkit.stores.sql.dialect import Dialect
from ttvkit.stores.sql.engines import DuckDBDialect
from ttvkit.stores.sql.plan import ObservationPlan, UnsupportedConditionError, build_plan
from ttvkit.stores.sql.render import Statement, cells_statement, observations_statement
from ttvkit.stores.sql.rows import (
    BATCH_ROWS,
    read_cell_columns,
    read_cells,
    read_column_lists,
    read_columns,
)

__all__ = ["DuckDBQueries", "PlanQueries", "StatementOf"]

#: One of :func:`observations_statement` and :func:`cells_statement`.
StatementOf: TypeAlias = Callable[[ObservationPlan, Any, int], Statement]


class PlanQueries(BaseSource):
    """A source whose engine computes observations from ttvkit's plan."""

    @abc.abstractmethod
    def run_plan(
        self, plan: ObservationPlan, as_of: datetime | None, statement: StatementOf
    ) -> tuple[Iterable[Sequence[Any]], Dialect] | None:
        """Render ``statement(plan, dialect, as_of µs)`` for this engine and run it.

        *as_of* ``None`` means the latest stored event, read in the same
        snapshot as the rows. Returns the rows (a list, or an iterator that
        fetches them from the engine as it is consumed) and the dialect that
        rendered them, or None when the source holds no events.
        """

    def observations(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> list[Observation]:
        """One observation per customer, computed by the engine.

        Exactly what :func:`ttvkit.observations.observe` returns on the same
        events. Conditions of types other than ttvkit's own fall back to the
        generic path (events streamed through ``observe()``).
        """
        return self.observation_columns(
            milestone, as_of=as_of, per=per, attributes=attributes
        ).rows()

    def observation_columns(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> ObservationColumns:
        """:meth:`observations` as columns, computed by the engine."""
        checked = check_question(milestone, per, attributes)
        if as_of is not None:
            check_aware(as_of, "as_of")
        try:
            plan = build_plan(milestone, per, checked)
        except UnsupportedConditionError:
            rows = self.generic_observations(milestone, as_of=as_of, per=per, attributes=checked)
            return ObservationColumns.from_rows(rows, len(checked))
        return self.plan_columns(plan, as_of)

    def duration_cells(
        self, milestone: Milestone, *, as_of: datetime | None = None, per: Per = "user"
    ) -> DurationCells:
        """The observations grouped by duration, computed by the engine."""
        check_question(milestone, per, ())
        if as_of is not None:
            check_aware(as_of, "as_of")
        try:
            plan = build_plan(milestone, per, ())
        except UnsupportedConditionError:
            rows = self.generic_observations(milestone, as_of=as_of, per=per)
            return ObservationColumns.from_rows(rows).cells()
        return self.plan_cells(plan, as_of)

    def plan_columns(self, plan: ObservationPlan, as_of: datetime | None) -> ObservationColumns:
        """The plan's customers at *as_of* (None: the latest event), by :meth:`run_plan`.

        An engine that can hand back columns rather than rows overrides this.
        """
        result = self.run_plan(plan, as_of, observations_statement)
        if result is None:
            return ObservationColumns.from_rows((), len(plan.attributes))
        rows, dialect = result
        return read_columns(rows, plan, dialect)

    def plan_cells(self, plan: ObservationPlan, as_of: datetime | None) -> DurationCells:
        """The plan's duration cells at *as_of* (None: the latest event), by :meth:`run_plan`.

        An engine that can hand back columns rather than rows overrides this.
        """
        result = self.run_plan(plan, as_of, cells_statement)
        return read_cells([] if result is None else result[0])


class DuckDBQueries(PlanQueries):
    """:class:`PlanQueries` for DuckDB, over the class's ``relation_sql`` and ``query_batches()``.

    Mixed into :class:`~ttvkit.stores.duckdb.DuckDBStore` and the sources of
    :func:`ttvkit.scan`, which supply the engine interface: ``relation_sql``
    (the canonical relation), ``query(sql, params)``,
    ``query_batches(sql, params, size)``, ``query_int_columns(sql, params)`` and
    ``query_columns(sql, params)``.
    The plan is rendered with :class:`~ttvkit.stores.sql.engines.DuckDBDialect`;
    only per-customer columns or duration cells come back to Python, the cells
    as columns of integers when NumPy is installed.
    """

    def run_plan(
        self, plan: ObservationPlan, as_of: datetime | None, statement: StatementOf
    ) -> tuple[Iterable[Sequence[Any]], Dialect] | None:
        engine: Any = self  # the class this is mixed into has relation_sql and query_batches()
        rendered = self._render(plan, as_of, statement)
        if rendered is None:
            return None
        query, dialect = rendered
        # Fetched in batches as the rows are read: a row tuple per customer or
        # cell never exists for all of them at once.
        batches = engine.query_batches(query.sql, list(query.params.values()), BATCH_ROWS)
        return itertools.chain.from_iterable(batches), dialect

    def plan_columns(self, plan: ObservationPlan, as_of: datetime | None) -> ObservationColumns:
        """The customers as columns (``query_columns``), or from rows without NumPy."""
        engine: Any = self  # the class this is mixed into has query_columns()
        rendered = self._render(plan, as_of, observations_statement)
        if rendered is None:
            return ObservationColumns.from_rows((), len(plan.attributes))
        query, dialect = rendered
        params = list(query.params.values())
        columns = engine.query_columns(query.sql, params)
        if columns is None:  # no NumPy: the rows, a batch at a time
            batches = engine.query_batches(query.sql, params, BATCH_ROWS)
            return read_columns(itertools.chain.from_iterable(batches), plan, dialect)
        return read_column_lists(columns, plan, dialect)

    def plan_cells(self, plan: ObservationPlan, as_of: datetime | None) -> DurationCells:
        """The cells as columns (``query_int_columns``), or as rows without NumPy."""
        engine: Any = self  # the class this is mixed into has query_int_columns()
        rendered = self._render(plan, as_of, cells_statement)
        if rendered is None:
            return read_cells([])
        query = rendered[0]
        params = list(query.params.values())
        columns = engine.query_int_columns(query.sql, params)
        if columns is None:  # no NumPy: the rows, a batch at a time
            batches = engine.query_batches(query.sql, params, BATCH_ROWS)
            return read_cells(itertools.chain.from_iterable(batches))
        return read_cell_columns([columns])

    def _render(
        self, plan: ObservationPlan, as_of: datetime | None, statement: StatementOf
    ) -> tuple[Statement, Dialect] | None:
        """*statement* rendered for DuckDB at *as_of*, or None when there are no events."""
        engine: Any = self  # the class this is mixed into has relation_sql
        until = as_of if as_of is not None else self.latest_timestamp()
        if until is None:
            return None
        dialect = DuckDBDialect(engine.relation_sql)
        return statement(plan, dialect, to_micros(until)), dialect
