"""Observations through the plan for an engine that runs SQL text it is given.

:class:`PlanQueries` is a mixin for sources whose engine takes the rendered
statement as it is (DuckDB, over a table or over files at rest): it supplies
``observations()``, ``observation_columns()`` and ``duration_cells()`` from
two hooks, :meth:`PlanQueries.plan_dialect` and :meth:`PlanQueries.plan_rows`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    DurationCells,
    Observation,
    ObservationColumns,
    Per,
    check_attributes,
    check_aware,
    check_question,
    observe,
    to_micros,
)
from ttvkit.stores.sql.dialect import Dialect
from ttvkit.stores.sql.engines import DuckDBDialect
from ttvkit.stores.sql.plan import ObservationPlan, UnsupportedConditionError, build_plan
from ttvkit.stores.sql.render import Statement, cells_statement, observations_statement
from ttvkit.stores.sql.rows import read_cells, read_columns

__all__ = ["DuckDBQueries", "PlanQueries"]


class PlanQueries(abc.ABC):
    """Observations computed by the engine from ttvkit's plan (see the module docstring)."""

    @abc.abstractmethod
    def plan_dialect(self) -> Dialect:
        """The engine's dialect, naming the relation of its events."""

    @abc.abstractmethod
    def plan_rows(self, statement: Statement) -> list[tuple[Any, ...]]:
        """Run *statement*; all its rows."""

    @abc.abstractmethod
    def latest_timestamp(self) -> datetime | None: ...

    @abc.abstractmethod
    def plan_events(self, names: frozenset[str] | None, until: datetime) -> Sequence[Any]:
        """The events (``ValueEvent``) a user-defined condition needs, up to *until*."""

    def observations(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> list[Observation]:
        """One observation per customer, computed by the engine (exactly ``observe()``)."""
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
        """:meth:`observations` as columns."""
        checked = check_attributes(attributes)
        plan = self._plan(milestone, per, checked)
        until = self._until(as_of)
        if until is None:
            return ObservationColumns((), (), (), (), (), tuple(() for _ in checked))
        if plan is None:
            rows = observe(
                self.plan_events(None, until), milestone, as_of=until, per=per, attributes=checked
            )
            return ObservationColumns.from_rows(rows, len(checked))
        dialect = self.plan_dialect()
        statement = observations_statement(plan, dialect, to_micros(until))
        return read_columns(self.plan_rows(statement), plan, dialect)

    def duration_cells(
        self, milestone: Milestone, *, as_of: datetime | None = None, per: Per = "user"
    ) -> DurationCells:
        """The observations grouped by duration, computed by the engine."""
        plan = self._plan(milestone, per, ())
        until = self._until(as_of)
        if until is None:
            return DurationCells((), (), ())
        if plan is None:
            rows = observe(self.plan_events(None, until), milestone, as_of=until, per=per)
            return ObservationColumns.from_rows(rows).cells()
        statement = cells_statement(plan, self.plan_dialect(), to_micros(until))
        return read_cells(self.plan_rows(statement))

    def _until(self, as_of: datetime | None) -> datetime | None:
        return self.latest_timestamp() if as_of is None else check_aware(as_of, "as_of")

    @staticmethod
    def _plan(
        milestone: Milestone, per: Per, attributes: tuple[Attribute, ...]
    ) -> ObservationPlan | None:
        checked = check_question(milestone, per, attributes)
        try:
            return build_plan(milestone, per, checked)
        except UnsupportedConditionError:
            return None


class DuckDBQueries(PlanQueries):
    """Observations computed by DuckDB from ttvkit's query plan.

    Mixed into :class:`~ttvkit.stores.duckdb.DuckDBStore` and the sources of
    :func:`ttvkit.scan`, which supply the engine interface: ``relation_sql``
    (the canonical relation), ``query(sql, params)`` and ``events()``. The plan
    is rendered with :class:`~ttvkit.stores.sql.engines.DuckDBDialect`; only
    per-customer columns or duration cells come back to Python.
    """

    def plan_dialect(self) -> DuckDBDialect:
        engine: Any = self
        return DuckDBDialect(engine.relation_sql)

    def plan_rows(self, statement: Statement) -> list[tuple[Any, ...]]:
        engine: Any = self
        rows: list[tuple[Any, ...]] = engine.query(statement.sql, list(statement.params.values()))
        return rows

    def plan_events(self, names: frozenset[str] | None, until: datetime) -> list[Any]:
        engine: Any = self
        return list(engine.events(names=names, until=until))
