"""Engine hooks: the few places where SQL engines differ in meaning.

A :class:`Dialect` says how an engine binds a value, names its events
relation and its columns, tests a JSON property with ttvkit's equality rules
(``true`` is not ``1``, ``"1"`` is not ``1.0``, ``1 == 1.0``), sums numbers,
and takes the greatest or least of several possibly-NULL times. The renderer
(:mod:`ttvkit.stores.sql.render`) writes everything else once, for every
engine. SQLite, PostgreSQL and DuckDB are defined in
:mod:`ttvkit.stores.sql.engines`; a new engine subclasses :class:`Dialect`
and overrides what differs.

Conventions every hook keeps:

* Times in the rendered statement are integer microseconds since
  1970-01-01 UTC (:meth:`Dialect.ts` converts the stored column).
* A bound value is always a parameter (:meth:`Binder.bind`); only fixed SQL
  fragments and identifiers quoted by the store enter the text.
* Row filters are boolean SQL expressions over the relation's columns
  (``properties`` is the JSON object, or NULL when an event has none).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Final, Literal, TypeAlias

from ttvkit.conditions import Predicate
from ttvkit.events import JSONScalar
from ttvkit.observations import AttributeValue, Per

__all__ = [
    "SQL_OP",
    "BindKind",
    "Binder",
    "Dialect",
    "exact_float",
    "float_op",
    "missing_matches",
    "present_values",
]

#: How a bound value is typed: engines that need casts add them.
#: ``int`` fits 64 bits; ``wide`` is an integer up to ±2^100 (JSON number tests).
BindKind: TypeAlias = Literal["text", "int", "wide", "float", "time", "names", "json"]

SQL_OP: Final = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


class Binder:
    """Collects the parameters of one statement under generated names."""

    def __init__(self, dialect: Dialect) -> None:
        self.params: dict[str, object] = {}
        self._dialect = dialect

    def bind(self, value: object, kind: BindKind) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = self._dialect.adapt(value, kind)
        return self._dialect.placeholder(name, kind)


class Dialect(abc.ABC):
    """The base: ANSI-ish SQL with ``FILTER``, window functions and ``GREATEST``.

    ``relation`` is the quoted name of the events relation with columns
    ``event_id, user_id, account_id, name, ts, properties``.
    """

    name: str = "sql"

    #: Whether :func:`~ttvkit.stores.sql.cells_statement` groups the customers by
    #: duration in the engine (``GROUP BY``), or only sorts them and lets
    #: :func:`~ttvkit.stores.sql.read_cells` add up equal durations: cheaper
    #: where grouping builds a B-tree and durations in µs barely repeat (SQLite).
    groups_cells: bool = True

    #: How the first (or last) row per customer is picked, for a start event's or a
    #: first/last event's properties: ``ROW_NUMBER() OVER (PARTITION BY ...)`` (True),
    #: or a ``GROUP BY`` whose ``MIN()``/``MAX()`` gives the row its other columns come
    #: from (False: SQLite's "bare column" rule). SQLite cannot index a window
    #: function's result when joining it, so each customer scanned every row: quadratic.
    first_row_by_window: bool = True

    def __init__(self, relation: str) -> None:
        self.relation = relation

    # -- parameters ------------------------------------------------------------------

    def placeholder(self, name: str, kind: BindKind) -> str:
        """The text of a named parameter."""
        return f":{name}"

    def adapt(self, value: object, kind: BindKind) -> object:
        """The Python value handed to the driver for a parameter of *kind*."""
        return value

    # -- columns ---------------------------------------------------------------------

    def customer(self, per: Per) -> str:
        return "user_id" if per == "user" else "account_id"

    def ts(self) -> str:
        """The stored time as integer microseconds since the epoch."""
        return "ts"

    def ts_at_most(self, binder: Binder, micros: int) -> str:
        """A filter on the stored time column: at or before *micros* (index-friendly)."""
        return f"ts <= {binder.bind(micros, 'int')}"

    def name_is(self, binder: Binder, name: str) -> str:
        return f"name = {binder.bind(name, 'text')}"

    def name_in(self, binder: Binder, names: Sequence[str]) -> str:
        if not names:
            return "1 = 0"
        return "name IN (" + ", ".join(binder.bind(n, "text") for n in names) + ")"

    def seeks_first_match(self, per: Per) -> bool:
        """Whether a customer's first matching row is best found by an index seek.

        True where an index on (name, customer, time) finds it in one step
        (SQLite's store, per user and per account): the renderer then reads the reached
        milestone's first times by a correlated ``MIN(ts)`` subquery per
        customer instead of grouping every row of its names.
        """
        return False

    # -- JSON properties -------------------------------------------------------------

    @abc.abstractmethod
    def test(self, binder: Binder, key: str, predicate: Predicate) -> str:
        """True when property *key* passes *predicate* (see ttvkit.conditions)."""

    @abc.abstractmethod
    def number(self, binder: Binder, key: str) -> str:
        """Property *key* as a float for totals: non-boolean numbers, else 0."""

    def attribute(self, binder: Binder, properties: str, key: str) -> str:
        """SQL for the value of property *key* of a chosen row (read by :meth:`read`)."""
        return properties

    @abc.abstractmethod
    def read(self, cell: object, key: str) -> AttributeValue:
        """The Python value of :meth:`attribute`'s cell (scalars only; lists and
        objects read as None)."""

    # -- aggregates ------------------------------------------------------------------

    def summand(self, binder: Binder, key: str) -> str:
        """SQL for the number :meth:`running_sum` adds up for property *key* (0 for a
        missing or non-numeric value): :meth:`number` unless the engine sums another
        type more exactly."""
        return self.number(binder, key)

    def running_sum(self, expression: str) -> str:
        """The running sum of :meth:`summand` values behind ``total()``. The reference
        adds them up exactly (``math.fsum``): an engine that can should too, or the
        sum of values that cancel (``1e16``, ``2.5``, ``-1e16``) loses the small ones."""
        return f"SUM({expression})"

    def reaches(self, running: str, target: str) -> str:
        """Whether the running sum (a column of :meth:`running_sum`) has reached the
        target (a bound float, already less its tolerance)."""
        return f"{running} >= {target}"

    def greater(self, a: str, b: str) -> str:
        """The larger of two non-NULL values."""
        return f"GREATEST({a}, {b})"

    def latest(self, parts: Sequence[str]) -> str:
        """The latest of *parts*; NULL when any part is NULL (all_of)."""
        missing = " OR ".join(f"{p} IS NULL" for p in parts)
        return f"(CASE WHEN {missing} THEN NULL ELSE GREATEST({', '.join(parts)}) END)"

    def earliest(self, parts: Sequence[str]) -> str:
        """The earliest part that is not NULL; NULL when all are (any_of)."""
        return f"LEAST({', '.join(parts)})"


def exact_float(value: int) -> float | None:
    """*value* as a float when that is exact, else None."""
    try:
        as_float = float(value)
    except OverflowError:
        return None
    return as_float if as_float == value else None


def float_op(op: str, nearest: float, bound: int) -> str:
    """The operator that compares a float with *nearest* as Python compares it with *bound*.

    *nearest* is the float closest to *bound*, so no float lies strictly
    between them: ``f > bound`` is ``f >= nearest`` when *nearest* is above
    *bound*, and ``f > nearest`` when it is below (and so on).
    """
    if nearest == bound:
        return SQL_OP[op]
    if nearest > bound:
        return {"gt": ">=", "ge": ">=", "lt": "<", "le": "<"}[op]
    return {"gt": ">", "ge": ">", "lt": "<=", "le": "<="}[op]


def missing_matches(predicate: Predicate) -> bool:
    """Whether a missing key (or JSON null) passes *predicate*."""
    return predicate.op in ("eq", "in") and any(v is None for v in predicate.values)


def present_values(predicate: Predicate) -> list[JSONScalar]:
    """The non-null values an equality predicate accepts."""
    return [v for v in predicate.values if v is not None]
