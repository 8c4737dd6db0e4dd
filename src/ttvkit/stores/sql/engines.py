"""The dialects of the engines ttvkit ships: SQLite, PostgreSQL and DuckDB.

Each overrides only what differs in meaning from :class:`~ttvkit.stores.sql.Dialect`:

* **SQLite** stores names as ids (``name_id``), times as integer µs and
  properties as JSON text; types come from ``json_type``; scalar ``MAX``/``MIN``
  replace ``GREATEST``/``LEAST`` (and differ on NULL); sums use ``TOTAL()``,
  which never overflows.
* **PostgreSQL** stores ``timestamptz`` and ``jsonb``; jsonb equality is JSON
  equality (``1 = 1.0``, ``true`` is not ``1``) and jsonb compares numbers as
  ``numeric``, i.e. exactly, as Python compares int and float.
* **DuckDB** stores integer µs and JSON text; keys are addressed with JSON
  pointers (``/key``, any character allowed); ``'1'::JSON = '1.0'::JSON`` is
  false there, so numbers are compared by their type and value, exactly.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Final, TypeAlias

from ttvkit._json import exact_json_text
from ttvkit.conditions import Predicate, exact_sum
from ttvkit.events import JSONScalar, JSONValue
from ttvkit.observations import AttributeValue, Per, from_micros
from ttvkit.stores.sql.dialect import (
    SQL_OP,
    Binder,
    BindKind,
    Dialect,
    exact_float,
    float_op,
    missing_matches,
    present_values,
)

__all__ = ["DuckDBDialect", "ExactSum", "PostgresDialect", "SQLiteDialect", "add_sqlite_functions"]

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

# A test on a present JSON value, given SQL for its type and for its value.
_TypedTest: TypeAlias = Callable[[str, str], str]


def _scalar(value: JSONValue) -> JSONScalar:
    return None if isinstance(value, list | dict) else value


def _property_of_text(cell: object, key: str) -> AttributeValue:
    if cell is None:
        return None
    assert isinstance(cell, str)
    properties = json.loads(cell)
    return _scalar(properties.get(key)) if isinstance(properties, dict) else None


# ------------------------------------------------------------------------------ SQLite

# Keys that are safe inside a JSON path: SQLite reads `$.` followed by these
# characters as one object label, with no quoting or escaping involved.
_PATH_SAFE_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SQLITE_NUMBERS: Final = "('integer', 'real')"
# Larger than any stored timestamp: stands for "never" inside any_of(),
# where scalar MIN() would return NULL for a NULL part.
_NEVER: Final = 2**63 - 1


class SQLiteDialect(Dialect):
    """SQLite: ``ttv_events`` with ``name_id``; *name_ids* maps stored names to ids.

    ``total()`` adds up with ``ttv_fsum``, a window function of the connection
    (:func:`add_sqlite_functions`): SQLite's own sums round each addition.
    """

    name = "sqlite"
    # SQLite groups through a temporary B-tree: on a million customers sorting them and
    # adding up equal durations in Python takes about a third of the time.
    groups_cells = False
    # A LEFT JOIN of a ROW_NUMBER() subquery gets no automatic index in SQLite (60k
    # customers: 397 s against 1.4 s): GROUP BY with a bare column does.
    first_row_by_window = False

    def __init__(self, name_ids: Mapping[str, int], relation: str = "ttv_events") -> None:
        super().__init__(relation)
        self._name_ids = name_ids

    def name_is(self, binder: Binder, name: str) -> str:
        # A name never stored binds NULL: `name_id = NULL` matches nothing.
        return f"name_id = {binder.bind(self._name_ids.get(name), 'int')}"

    def name_in(self, binder: Binder, names: Sequence[str]) -> str:
        ids = [self._name_ids[n] for n in names if n in self._name_ids]
        if not ids:
            return "0"
        return "name_id IN (" + ", ".join(binder.bind(i, "int") for i in ids) + ")"

    def seeks_first_match(self, per: Per) -> bool:
        # The store's covering indexes: (name_id, user_id, ts) and (name_id, account_id, ts).
        return True

    def test(self, binder: Binder, key: str, predicate: Predicate) -> str:
        missing, present = missing_matches(predicate), self._tests(binder, predicate)
        if _PATH_SAFE_KEY.match(key):
            path = binder.bind(f"$.{key}", "text")
            type_, value = f"json_type(properties, {path})", f"json_extract(properties, {path})"
            terms = [f"COALESCE({type_}, 'null') = 'null'"] if missing else []
            terms.extend(test(type_, value) for test in present)
        else:
            key_param = binder.bind(key, "text")
            each = f"SELECT 1 FROM json_each(properties) AS j WHERE j.key = {key_param}"
            terms = [f"NOT EXISTS ({each} AND j.type <> 'null')"] if missing else []
            if present:
                tests = " OR ".join(test("j.type", "j.value") for test in present)
                terms.append(f"EXISTS ({each} AND ({tests}))")
        return "(" + " OR ".join(terms) + ")" if terms else "0"

    def number(self, binder: Binder, key: str) -> str:
        if _PATH_SAFE_KEY.match(key):
            path = binder.bind(f"$.{key}", "text")
            return (
                f"CASE WHEN json_type(properties, {path}) IN {_SQLITE_NUMBERS} "
                f"THEN json_extract(properties, {path}) ELSE 0 END"
            )
        return (
            f"COALESCE((SELECT j.value FROM json_each(properties) AS j "
            f"WHERE j.key = {binder.bind(key, 'text')} AND j.type IN {_SQLITE_NUMBERS}), 0)"
        )

    def read(self, cell: object, key: str) -> AttributeValue:
        return _property_of_text(cell, key)

    def running_sum(self, expression: str) -> str:
        # TOTAL() rounds each addition (before SQLite 3.43); ttv_fsum adds up exactly.
        return f"ttv_fsum({expression})"

    def greater(self, a: str, b: str) -> str:
        return f"MAX({a}, {b})"

    def latest(self, parts: Sequence[str]) -> str:
        # scalar MAX() is NULL as soon as one part is: all must be reached
        return f"MAX({', '.join(parts)})"

    def earliest(self, parts: Sequence[str]) -> str:
        never = ", ".join(f"COALESCE({p}, {_NEVER})" for p in parts)
        return f"NULLIF(MIN({never}), {_NEVER})"

    def _tests(self, binder: Binder, predicate: Predicate) -> list[_TypedTest]:
        if predicate.op in ("eq", "in"):
            return [self._equals(binder, v) for v in present_values(predicate)]
        bound = predicate.values[0]
        assert isinstance(bound, int | float)
        return [self._compare(binder, predicate.op, bound)]

    def _equals(self, binder: Binder, expected: JSONScalar) -> _TypedTest:
        if isinstance(expected, bool):
            literal = "'true'" if expected else "'false'"
            return lambda t, v: f"{t} = {literal}"
        if isinstance(expected, str):
            param = binder.bind(expected, "text")
            return lambda t, v: f"({t} = 'text' AND {v} = {param})"
        assert isinstance(expected, int | float)
        if isinstance(expected, int) and not _INT64_MIN <= expected <= _INT64_MAX:
            # No stored integer can equal it (they fit in 64 bits); a stored
            # float can, only if exactly equal.
            as_float = exact_float(expected)
            if as_float is None:
                return lambda t, v: "0"
            param = binder.bind(as_float, "float")
            return lambda t, v: f"({t} = 'real' AND {v} = {param})"
        param = binder.bind(expected, "float" if isinstance(expected, float) else "int")
        return lambda t, v: f"({t} IN {_SQLITE_NUMBERS} AND {v} = {param})"

    def _compare(self, binder: Binder, op: str, bound: float) -> _TypedTest:
        if not isinstance(bound, int) or _INT64_MIN <= bound <= _INT64_MAX:
            kind: BindKind = "int" if isinstance(bound, int) else "float"
            param, sql_op = binder.bind(bound, kind), SQL_OP[op]
            return lambda t, v: f"({t} IN {_SQLITE_NUMBERS} AND {v} {sql_op} {param})"
        # A bound beyond 64 bits: every stored integer lies on one side of it,
        # and a stored float compares exactly as Python does after moving the
        # bound to its nearest float and adjusting the operator.
        ints_pass = (op in ("lt", "le")) == (bound > 0)
        int_sql = "1" if ints_pass else "0"
        try:
            nearest = float(bound)
        except OverflowError:
            return lambda t, v: f"{t} IN {_SQLITE_NUMBERS}" if ints_pass else "0"
        real_op = float_op(op, nearest, bound)
        param = binder.bind(nearest, "float")
        return lambda t, v: (
            f"(({t} = 'integer' AND {int_sql}) OR ({t} = 'real' AND {v} {real_op} {param}))"
        )


# -------------------------------------------------------------------------- PostgreSQL

_PG_CASTS: Final[Mapping[BindKind, str]] = {
    "text": "text",
    "int": "int8",
    "wide": "numeric",
    "float": "float8",
    "time": "timestamptz",
    "names": "text[]",
    "json": "jsonb",
}


class PostgresDialect(Dialect):
    """PostgreSQL: ``timestamptz`` times and ``jsonb`` properties (``%(name)s`` parameters).

    ``total()`` adds up ``numeric`` values (the JSON numbers' own digits), exactly, and
    compares the sum as ``float8``: the rounding of an exact sum, as ``math.fsum``.
    """

    name = "postgresql"

    def summand(self, binder: Binder, key: str) -> str:
        value = f"(properties -> {binder.bind(key, 'text')})"
        return f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::numeric ELSE 0 END)"

    def reaches(self, running: str, target: str) -> str:
        # An exact sum beyond the float range would fail the whole statement when it is
        # compared as float8: held to the largest float instead (infinite elsewhere).
        largest = repr(sys.float_info.max)
        return f"LEAST(GREATEST({running}, -{largest}), {largest}) >= {target}"

    def placeholder(self, name: str, kind: BindKind) -> str:
        return f"%({name})s::{_PG_CASTS[kind]}"

    def adapt(self, value: object, kind: BindKind) -> object:
        if kind == "time":
            assert isinstance(value, int)
            return from_micros(value)
        if kind == "json":
            return exact_json_text(value)
        if kind == "names":
            assert isinstance(value, Sequence)
            return list(value)
        return value

    def ts(self) -> str:
        # EXTRACT(EPOCH ...) is numeric, exact to the microsecond.
        return "(EXTRACT(EPOCH FROM ts) * 1000000)::int8"

    def ts_at_most(self, binder: Binder, micros: int) -> str:
        return f"ts <= {binder.bind(micros, 'time')}"

    def name_in(self, binder: Binder, names: Sequence[str]) -> str:
        return f"name = ANY({binder.bind(list(names), 'names')})"

    def test(self, binder: Binder, key: str, predicate: Predicate) -> str:
        value = f"(properties -> {binder.bind(key, 'text')})"
        if predicate.op in ("eq", "in"):
            parts = [self._equals(binder, value, expected) for expected in predicate.values]
            return parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"
        # jsonb compares two numbers as numeric, i.e. exactly, like Python
        # compares int and float; the type test keeps booleans out.
        bound = binder.bind(predicate.values[0], "json")
        return f"(jsonb_typeof({value}) = 'number' AND {value} {SQL_OP[predicate.op]} {bound})"

    def _equals(self, binder: Binder, value: str, expected: JSONScalar) -> str:
        if expected is None:  # a missing key or an explicit null
            return f"({value} IS NULL OR jsonb_typeof({value}) = 'null')"
        # jsonb equality is JSON equality: 1 = 1.0, true is not 1, strings exact.
        return f"({value} = {binder.bind(expected, 'json')})"

    def number(self, binder: Binder, key: str) -> str:
        value = f"(properties -> {binder.bind(key, 'text')})"
        return f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::float8 ELSE 0 END)"

    def attribute(self, binder: Binder, properties: str, key: str) -> str:
        value = f"({properties} -> {binder.bind(key, 'text')})"
        return (
            f"(CASE WHEN jsonb_typeof({value}) IN ('object', 'array') THEN NULL ELSE {value} END)"
        )

    def read(self, cell: object, key: str) -> AttributeValue:
        # psycopg decodes jsonb to the Python value; lists and objects were
        # already turned into NULL by attribute().
        assert cell is None or isinstance(cell, str | int | float | bool)
        return cell


# ------------------------------------------------------------------------------ DuckDB

_DUCK_INTS: Final = "('BIGINT', 'UBIGINT')"
_DUCK_NUMBERS: Final = "('BIGINT', 'UBIGINT', 'DOUBLE')"
# Stored integers fit in 64 bits; a bound clamped to ±2^100 compares the
# same with every one of them and still fits DuckDB's HUGEINT.
_CLAMP: Final = 2**100


def exact_or_nearest_float(value: int) -> float | None:
    """The float nearest to *value*, or None beyond the float range."""
    try:
        return float(value)
    except OverflowError:
        return None


def _pointer(key: str) -> str:
    """The JSON pointer of a top-level key (RFC 6901): any key, exactly."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


class DuckDBDialect(Dialect):
    """DuckDB: integer µs times, JSON text properties, numbered ``$n`` parameters
    (run a statement with ``list(statement.params.values())``)."""

    name = "duckdb"

    def placeholder(self, name: str, kind: BindKind) -> str:
        # Numbered ($1, $2…): the statement's parameters, in order, as a list.
        number = f"${int(name.removeprefix('p')) + 1}"
        if kind == "int":
            return f"CAST({number} AS BIGINT)"
        if kind == "wide":
            return f"CAST({number} AS HUGEINT)"
        if kind == "float":
            return f"CAST({number} AS DOUBLE)"
        return number

    def test(self, binder: Binder, key: str, predicate: Predicate) -> str:
        path = binder.bind(_pointer(key), "text")
        type_ = f"json_type(properties, {path})"
        text = f"json_extract_string(properties, {path})"
        as_int = f"TRY_CAST({text} AS HUGEINT)"
        as_float = f"TRY_CAST(json_extract(properties, {path}) AS DOUBLE)"
        terms = [f"COALESCE({type_}, 'NULL') = 'NULL'"] if missing_matches(predicate) else []
        if predicate.op in ("eq", "in"):
            terms.extend(
                self._equals(binder, expected, type_, text, as_int, as_float)
                for expected in present_values(predicate)
            )
        else:
            bound = predicate.values[0]
            assert isinstance(bound, int | float)
            terms.append(self._compare(binder, predicate.op, bound, type_, as_int, as_float))
        return "(" + " OR ".join(terms) + ")" if terms else "FALSE"

    def _equals(
        self,
        binder: Binder,
        expected: JSONScalar,
        type_: str,
        text: str,
        as_int: str,
        as_float: str,
    ) -> str:
        if isinstance(expected, bool):
            literal = "'true'" if expected else "'false'"
            return f"({type_} = 'BOOLEAN' AND {text} = {literal})"
        if isinstance(expected, str):
            return f"({type_} = 'VARCHAR' AND {text} = {binder.bind(expected, 'text')})"
        assert isinstance(expected, int | float)
        terms = []
        if isinstance(expected, int) or expected.is_integer():
            whole = int(expected)
            if abs(whole) < _CLAMP:
                terms.append(
                    f"({type_} IN {_DUCK_INTS} AND {as_int} = {binder.bind(whole, 'wide')})"
                )
        as_double = expected if isinstance(expected, float) else exact_float(expected)
        if as_double is not None:
            terms.append(f"({type_} = 'DOUBLE' AND {as_float} = {binder.bind(as_double, 'float')})")
        return "(" + " OR ".join(terms) + ")" if terms else "FALSE"

    def _compare(
        self, binder: Binder, op: str, bound: int | float, type_: str, as_int: str, as_float: str
    ) -> str:
        # Integers: compare with the integer bound that splits them as Python does.
        if isinstance(bound, int):
            whole = bound
        else:
            whole = math.floor(bound) if op in ("gt", "le") else math.ceil(bound)
        whole = max(-_CLAMP, min(_CLAMP, whole))
        ints = f"({type_} IN {_DUCK_INTS} AND {as_int} {SQL_OP[op]} {binder.bind(whole, 'wide')})"
        # Doubles: the nearest float, with the operator adjusted (exact).
        if isinstance(bound, float):
            doubles = (
                f"({type_} = 'DOUBLE' AND {as_float} {SQL_OP[op]} {binder.bind(bound, 'float')})"
            )
        else:
            nearest = exact_or_nearest_float(bound)
            if nearest is None:  # beyond every float: all doubles on one side
                below = (op in ("lt", "le")) == (bound > 0)
                doubles = f"{type_} = 'DOUBLE'" if below else "FALSE"
            else:
                real_op = float_op(op, nearest, bound)
                doubles = (
                    f"({type_} = 'DOUBLE' AND {as_float} {real_op} {binder.bind(nearest, 'float')})"
                )
        return f"({ints} OR {doubles})"

    def number(self, binder: Binder, key: str) -> str:
        path = binder.bind(_pointer(key), "text")
        return (
            f"(CASE WHEN json_type(properties, {path}) IN {_DUCK_NUMBERS} "
            f"THEN TRY_CAST(json_extract(properties, {path}) AS DOUBLE) ELSE 0 END)"
        )

    def read(self, cell: object, key: str) -> AttributeValue:
        return _property_of_text(cell, key)

    def running_sum(self, expression: str) -> str:
        # Kahan–Babuška–Neumaier summation: the small values survive a large one that
        # cancels (a plain SUM of 2.5, -2**63, 2**63 is 0.0).
        return f"fsum(CAST({expression} AS DOUBLE))"


class ExactSum:
    """``ttv_fsum``: SQLite's window aggregate of :func:`ttvkit.conditions.exact_sum`.

    It keeps Shewchuk's non-overlapping partials (what ``math.fsum`` keeps), so a
    running sum costs a few float additions a row, and removing a row (a sliding
    frame) is exact too. Past the float range it carries on in exact fractions.
    """

    def __init__(self) -> None:
        self._partials: list[float] = []
        self._exact: Fraction | None = None

    def _add(self, x: float) -> None:
        if self._exact is not None:
            self._exact += Fraction(x)
            return
        partials, i = self._partials, 0
        for j, y in enumerate(partials):
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            if math.isinf(high):  # beyond the float range: exact fractions from here
                # x and y, the lows kept so far (before i), the partials not yet met.
                rest = [*partials[:i], *partials[j + 1 :]]
                self._exact = sum(map(Fraction, rest), Fraction(x) + Fraction(y))
                return
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]

    def step(self, value: float | None) -> None:
        if value is not None:
            self._add(float(value))

    def inverse(self, value: float | None) -> None:
        if value is not None:
            self._add(-float(value))

    def value(self) -> float:
        if self._exact is None:
            return exact_sum(self._partials)
        return exact_sum([self._exact])

    def finalize(self) -> float:
        return self.value()


def add_sqlite_functions(connection: sqlite3.Connection) -> None:
    """Make the functions :class:`SQLiteDialect`'s statements call known to *connection*."""
    connection.create_window_function("ttv_fsum", 1, ExactSum)
