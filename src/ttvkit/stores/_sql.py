"""Observations as one SQLite query: the compiler behind ``SQLiteStore.observations()``.

:func:`compile_observations` turns a milestone, ``per``, ``as_of`` and the
attributes asked for into one parameterised ``SELECT`` that returns one row
per customer — ``(customer, start, reached, attribute columns...)`` with
times as integer microseconds — and :func:`assemble` turns those rows into
:class:`~ttvkit.observations.Observation` objects, applying the per-customer
rules that need no further data (``before_start``, the conversion window,
censoring). The answer is exactly what :func:`~ttvkit.observations.observe`
returns on the same events.

The shape of the query::

    SELECT d.c, d.st, <reached(d)>, <attribute(d)>...
    FROM (<one row per customer whose clock may have started: c, st>) AS d
    ORDER BY d.c

Each condition compiles to a correlated scalar subquery that answers "when
did customer ``d.c`` first reach it?" with an index seek on
``(name_id, customer, ts)``: an event is the first matching row in time
order, ``nth(k)`` skips ``k - 1`` rows, ``total()`` is a running
``TOTAL() OVER (ORDER BY ts)`` (whose default ``RANGE`` frame includes the
whole timestamp group, exactly the rule of :func:`~ttvkit.conditions.total`),
``all_of`` is the scalar ``MAX`` of its parts (``NULL`` when any part is) and
``any_of`` the smallest part that is not ``NULL``.

Property keys and values are data: every one is a bound parameter. A key
made only of ASCII letters, digits and ``_`` (not starting with a digit) is
read with ``json_type``/``json_extract`` and the *bound* path ``$.key``,
which SQLite cannot misread; any other key (``a"b``, ``x.y``, ``$[0]``) is
found with ``json_each(properties)`` filtered by ``key = :key``. JSON types
come from ``json_type``/``json_each.type``, so ``true`` is never the number
1. Values of attributes are read back in Python from the JSON text of the
chosen event, so they keep their exact Python type and value.

Only the SQLite dialect lives here (``json_each``, scalar ``MAX``/``MIN``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, TypeAlias

import attrs

from ttvkit.conditions import Condition, EventCondition, Predicate, _AllOf, _AnyOf, _Nth, _Total
from ttvkit.events import JSONScalar, JSONValue
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    AttributeValue,
    FirstTime,
    Observation,
    Per,
    PropertyOf,
    StartProperty,
    _start_filter,
)

__all__ = [
    "EPOCH",
    "ObservationQuery",
    "UnsupportedConditionError",
    "assemble",
    "compile_observations",
    "from_micros",
    "to_micros",
]

#: Timestamps are stored as integer microseconds since this instant.
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

# Larger than any stored timestamp (2200-01-01 is 7.3e15 µs): stands for
# "never" inside any_of(), where scalar MIN() would return NULL for a NULL part.
_NEVER: Final = 2**63 - 1
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

# Keys that are safe inside a JSON path: SQLite reads `$.` followed by these
# characters as one object label, with no quoting or escaping involved.
_PATH_SAFE_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_NUMBER_TYPES: Final = "('integer', 'real')"

CompareOp: TypeAlias = Literal["gt", "ge", "lt", "le"]
_SQL_OP: Final[Mapping[str, str]] = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}

# A test on a present JSON value, given SQL for its type and for its value.
_TypedTest: TypeAlias = Callable[[str, str], str]


def to_micros(when: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    return (when - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of :func:`to_micros`'s result (exact)."""
    return EPOCH + timedelta(0, 0, micros)  # positional: measurably faster per row


class UnsupportedConditionError(Exception):
    """A condition class the compiler does not know (a user-defined subclass).

    The store then falls back to the generic path, which runs the condition's
    own ``first_time()`` in Python.
    """


@attrs.frozen
class _AttributeReader:
    """Where one attribute's value comes from: a column after the first three, and
    the property to read from that column's JSON, or None when the column is a time."""

    column: int
    key: str | None


@attrs.frozen
class ObservationQuery:
    """One compiled query: SQL text, its named parameters, and how to read its rows."""

    sql: str
    params: Mapping[str, object]
    readers: tuple[_AttributeReader, ...]


class _Compiler:
    """Builds the SQL text; every value goes through :meth:`bind`."""

    def __init__(self, per: Per, name_ids: Mapping[str, int], as_of: int) -> None:
        self.params: dict[str, object] = {"as_of": as_of}
        self._name_ids = name_ids
        self._name_params: dict[str, str] = {}
        # The customer column and, for accounts, the partial-index condition
        # that also drops events without an account.
        self.customer = "user_id" if per == "user" else "account_id"
        self._has_customer = "" if per == "user" else "account_id IS NOT NULL"

    def bind(self, value: object) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def name(self, event_name: str) -> str:
        # A name never stored binds NULL: `name_id = NULL` matches nothing.
        if event_name not in self._name_params:
            self._name_params[event_name] = self.bind(self._name_ids.get(event_name))
        return self._name_params[event_name]

    # -- rows of one event condition ---------------------------------------------------

    def customer_filter(self, alias: str) -> list[str]:
        return [f"{alias}.{self._has_customer}"] if self._has_customer else []

    def rows(
        self,
        condition: EventCondition,
        customer: str | None,
        since: str | None,
        alias: str = "e",
    ) -> str:
        """WHERE clause of the rows matching *condition* (for one customer, if given)."""
        terms = [f"{alias}.name_id = {self.name(condition.name)}"]
        if customer is not None:
            terms.append(f"{alias}.{self.customer} = {customer}")
        terms.extend(self.customer_filter(alias))
        terms.append(f"{alias}.ts <= :as_of")
        if since is not None:
            terms.append(f"{alias}.ts >= {since}")
        terms.extend(self.test(alias, key, predicate) for key, predicate in condition.where)
        return " AND ".join(terms)

    # -- property tests ------------------------------------------------------------------

    def test(self, alias: str, key: str, predicate: Predicate) -> str:
        """SQL that is true when the property *key* passes *predicate*."""
        missing_matches, present = self._predicate(predicate)
        props = f"{alias}.properties"
        if _PATH_SAFE_KEY.match(key):
            path = self.bind(f"$.{key}")
            type_, value = f"json_type({props}, {path})", f"json_extract({props}, {path})"
            terms = [f"COALESCE({type_}, 'null') = 'null'"] if missing_matches else []
            terms.extend(cond(type_, value) for cond in present)
        else:
            key_param = self.bind(key)
            each = f"SELECT 1 FROM json_each({props}) AS j WHERE j.key = {key_param}"
            terms = [f"NOT EXISTS ({each} AND j.type <> 'null')"] if missing_matches else []
            if present:
                tests = " OR ".join(cond("j.type", "j.value") for cond in present)
                terms.append(f"EXISTS ({each} AND ({tests}))")
        if not terms:
            return "0"
        return "(" + " OR ".join(terms) + ")"

    def number(self, alias: str, key: str) -> str:
        """The property as a number for totals: non-boolean numbers, else 0."""
        props = f"{alias}.properties"
        if _PATH_SAFE_KEY.match(key):
            path = self.bind(f"$.{key}")
            return (
                f"CASE WHEN json_type({props}, {path}) IN {_NUMBER_TYPES} "
                f"THEN json_extract({props}, {path}) ELSE 0 END"
            )
        return (
            f"COALESCE((SELECT j.value FROM json_each({props}) AS j "
            f"WHERE j.key = {self.bind(key)} AND j.type IN {_NUMBER_TYPES}), 0)"
        )

    def _predicate(self, predicate: Predicate) -> tuple[bool, list[_TypedTest]]:
        """(does a missing or null value match?, tests on a present value's type and value)."""
        if predicate.op in ("eq", "in"):
            missing = any(v is None for v in predicate.values)
            tests = [self._equals(v) for v in predicate.values if v is not None]
            return missing, tests
        bound = predicate.values[0]
        assert isinstance(bound, int | float)
        return False, [self._compare(predicate.op, bound)]

    def _equals(self, expected: JSONScalar) -> _TypedTest:
        if isinstance(expected, bool):
            literal = "'true'" if expected else "'false'"
            return lambda t, v: f"{t} = {literal}"
        if isinstance(expected, str):
            param = self.bind(expected)
            return lambda t, v: f"({t} = 'text' AND {v} = {param})"
        assert isinstance(expected, int | float)
        if isinstance(expected, int) and not _INT64_MIN <= expected <= _INT64_MAX:
            # No stored integer can equal it (they fit in 64 bits, SQLite could
            # not even bind it); a stored float can, only if exactly equal.
            as_float = _exact_float(expected)
            if as_float is None:
                return lambda t, v: "0"
            param = self.bind(as_float)
            return lambda t, v: f"({t} = 'real' AND {v} = {param})"
        param = self.bind(expected)
        return lambda t, v: f"({t} IN {_NUMBER_TYPES} AND {v} = {param})"

    def _compare(self, op: str, bound: float) -> _TypedTest:
        if not isinstance(bound, int) or _INT64_MIN <= bound <= _INT64_MAX:
            param, sql_op = self.bind(bound), _SQL_OP[op]
            return lambda t, v: f"({t} IN {_NUMBER_TYPES} AND {v} {sql_op} {param})"
        # A bound beyond 64 bits: every stored integer lies on one side of it,
        # and a stored float compares exactly as Python does after moving the
        # bound to its nearest float and adjusting the operator.
        above_all_ints = bound > 0
        ints_pass = (op in ("lt", "le")) == above_all_ints
        int_sql = "1" if ints_pass else "0"
        try:
            nearest = float(bound)
        except OverflowError:
            return lambda t, v: f"{t} IN {_NUMBER_TYPES}" if ints_pass else "0"
        real_op = _float_op(op, nearest, bound)
        param = self.bind(nearest)
        return lambda t, v: (
            f"(({t} = 'integer' AND {int_sql}) OR ({t} = 'real' AND {v} {real_op} {param}))"
        )

    # -- first times -----------------------------------------------------------------------

    def first_time(self, condition: Condition, customer: str, since: str | None) -> str:
        """A scalar subquery: when *customer* first reached *condition* (µs, or NULL)."""
        if isinstance(condition, EventCondition):
            where = self.rows(condition, customer, since)
            return f"(SELECT e.ts FROM ttv_events AS e WHERE {where} ORDER BY e.ts LIMIT 1)"
        if isinstance(condition, _Nth):
            where = self.rows(condition.event, customer, since)
            return (
                f"(SELECT e.ts FROM ttv_events AS e WHERE {where} "
                f"ORDER BY e.ts LIMIT 1 OFFSET {self.bind(condition.k - 1)})"
            )
        if isinstance(condition, _Total):
            where = self.rows(condition.event, customer, since)
            amount = self.number("e", condition.property_name)
            # RANGE frame: the running sum includes every event of the same
            # timestamp, so the order of simultaneous events never decides.
            return (
                f"(SELECT MIN(w.ts) FROM (SELECT e.ts AS ts, TOTAL({amount}) OVER "
                f"(ORDER BY e.ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run "
                f"FROM ttv_events AS e WHERE {where}) AS w "
                f"WHERE w.run >= {self.bind(condition.threshold)})"
            )
        if isinstance(condition, _AllOf | _AnyOf):
            parts = [self.first_time(p, customer, since) for p in condition.parts]
            if len(parts) == 1:
                return parts[0]
            if isinstance(condition, _AllOf):
                # scalar MAX() is NULL as soon as one part is: all must be reached
                return f"MAX({', '.join(parts)})"
            never = ", ".join(f"COALESCE({p}, {_NEVER})" for p in parts)
            return f"NULLIF(MIN({never}), {_NEVER})"
        raise UnsupportedConditionError(
            f"{type(condition).__name__} is not one of ttvkit's conditions"
        )

    # -- one row per customer whose clock started ------------------------------------------

    def starts(self, milestone: Milestone) -> str:
        """SELECT c, st: each candidate customer and its start time (µs) up to as_of,
        or NULL when the start condition was never reached."""
        c = self.customer
        start = milestone.start
        if isinstance(start, datetime):
            has = " ".join(f"AND {t}" for t in self.customer_filter("e"))
            # the later of the datetime and the first event may lie after as_of
            return (
                f"SELECT e.{c} AS c, MAX({self.bind(to_micros(start))}, MIN(e.ts)) AS st "
                f"FROM ttv_events AS e WHERE e.ts <= :as_of {has} GROUP BY e.{c} "
                f"HAVING st <= :as_of"
            )
        if isinstance(start, EventCondition):
            return (
                f"SELECT e.{c} AS c, MIN(e.ts) AS st FROM ttv_events AS e "
                f"WHERE {self.rows(start, None, None)} GROUP BY e.{c}"
            )
        # Any other start: candidates are customers with an event of one of its
        # names; the start time is the condition's first time for each, NULL
        # when never reached. Those rows are dropped in Python: a WHERE on `st`
        # would be pushed into this GROUP BY and evaluate the subquery again.
        # The alias is `g` because the condition's own subqueries use `e`.
        names = ", ".join(self.name(n) for n in sorted(start.event_names()))
        has = " ".join(f"AND {t}" for t in self.customer_filter("g"))
        first = self.first_time(start, f"g.{c}", None)
        return (
            f"SELECT g.{c} AS c, {first} AS st FROM ttv_events AS g "
            f"WHERE g.name_id IN ({names}) AND g.ts <= :as_of {has} GROUP BY g.{c}"
        )

    def start_properties(self, milestone: Milestone) -> str:
        """The JSON properties of each customer's start event (see StartProperty)."""
        accept = _start_filter(milestone)
        if accept is None:  # a datetime start: the customer's first event
            has = " ".join(f"AND {t}" for t in self.customer_filter("e"))
            return (
                f"(SELECT e.properties FROM ttv_events AS e WHERE e.{self.customer} = d.c "
                f"{has} AND e.ts <= :as_of ORDER BY e.ts, e.event_id LIMIT 1)"
            )
        where = self.rows(accept, "d.c", None)
        return (
            f"(SELECT e.properties FROM ttv_events AS e WHERE {where} AND e.ts = d.st "
            f"ORDER BY e.event_id LIMIT 1)"
        )

    def property_of(self, spec: PropertyOf) -> str:
        """The JSON properties of the customer's first or last event matching the spec."""
        order = "e.ts DESC, e.event_id DESC" if spec.which == "last" else "e.ts, e.event_id"
        where = self.rows(spec.condition, "d.c", None)
        return f"(SELECT e.properties FROM ttv_events AS e WHERE {where} ORDER BY {order} LIMIT 1)"


def _exact_float(value: int) -> float | None:
    try:
        as_float = float(value)
    except OverflowError:
        return None
    return as_float if as_float == value else None


def _float_op(op: str, nearest: float, bound: int) -> str:
    """The operator that compares a float with *nearest* as Python compares it with *bound*.

    *nearest* is the float closest to *bound*, so no float lies strictly
    between them: ``f > bound`` is ``f >= nearest`` when *nearest* is above
    *bound*, and ``f > nearest`` when it is below (and so on).
    """
    if nearest == bound:
        return _SQL_OP[op]
    if nearest > bound:
        return {"gt": ">=", "ge": ">=", "lt": "<", "le": "<"}[op]
    return {"gt": ">", "ge": ">", "lt": "<=", "le": "<="}[op]


def compile_observations(
    milestone: Milestone,
    *,
    per: Per,
    as_of: int,
    attributes: Sequence[Attribute],
    name_ids: Mapping[str, int],
) -> ObservationQuery:
    """Compile the observations query (see the module docstring).

    *as_of* is in microseconds; *name_ids* maps stored event names to their
    ids (names missing from it match nothing). Raises
    :class:`UnsupportedConditionError` for conditions it cannot compile.
    """
    sql = _Compiler(per, name_ids, as_of)
    since = "d.st" if milestone.before_start == "ignore" else None
    select = ["d.c", "d.st", sql.first_time(milestone.reached, "d.c", since)]
    readers: list[_AttributeReader] = []
    # Equal attribute specs share one column; every StartProperty shares the
    # start event's properties.
    seen: dict[object, int] = {}
    for spec in attributes:
        key: object
        if isinstance(spec, FirstTime):
            key, read = ("first", spec.condition), None
        elif isinstance(spec, PropertyOf):
            key, read = ("of", spec.condition, spec.which), spec.name
        else:
            assert isinstance(spec, StartProperty)
            key, read = "start", spec.name
        if key not in seen:
            seen[key] = len(seen)
            if isinstance(spec, FirstTime):
                select.append(sql.first_time(spec.condition, "d.c", None))
            elif isinstance(spec, PropertyOf):
                select.append(sql.property_of(spec))
            else:
                select.append(sql.start_properties(milestone))
        readers.append(_AttributeReader(seen[key], read))
    text = f"SELECT {', '.join(select)} FROM ({sql.starts(milestone)}) AS d ORDER BY d.c"
    return ObservationQuery(text, sql.params, tuple(readers))


def _scalar_property(properties: str | None, key: str) -> JSONScalar:
    if properties is None:
        return None
    value: JSONValue = json.loads(properties).get(key)
    return None if isinstance(value, list | dict) else value


def assemble(
    rows: Sequence[Sequence[object]],
    query: ObservationQuery,
    milestone: Milestone,
    as_of: int,
) -> list[Observation]:
    """Observations from the query's rows: before_start, the window and censoring."""
    window = None if milestone.window is None else milestone.window // _MICROSECOND
    mode = milestone.before_start
    as_of_time = from_micros(as_of)
    out: list[Observation] = []
    for row in rows:
        customer, start, reached = row[0], row[1], row[2]
        if start is None:  # the start condition was never reached
            continue
        assert isinstance(customer, str)
        assert isinstance(start, int)
        assert reached is None or isinstance(reached, int)
        before = False
        if reached is not None and reached < start:  # never with "ignore"
            if mode == "exclude":
                continue
            reached, before = start, True
        censor_at = as_of
        if window is not None:
            window_end = start + window
            if reached is not None and reached > window_end:
                reached = None
            censor_at = min(as_of, window_end)
        reached_at = None if reached is None else from_micros(reached)
        if reached_at is not None:
            end = reached_at
        else:
            end = as_of_time if censor_at == as_of else from_micros(censor_at)
        # positional arguments: customer_id, start, reached_at, end,
        # reached_before_start, attributes (keywords cost ~10% per row)
        out.append(
            Observation(
                customer, from_micros(start), reached_at, end, before, _attributes(row, query)
            )
        )
    return out


def _attributes(row: Sequence[object], query: ObservationQuery) -> tuple[AttributeValue, ...]:
    if not query.readers:
        return ()
    values: list[AttributeValue] = []
    for reader in query.readers:
        cell = row[3 + reader.column]
        if reader.key is None:
            assert cell is None or isinstance(cell, int)
            values.append(None if cell is None else from_micros(cell))
        else:
            assert cell is None or isinstance(cell, str)
            values.append(_scalar_property(cell, reader.key))
    return tuple(values)
