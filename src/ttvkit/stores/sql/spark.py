"""The Spark SQL dialects of the query plan (Spark 4 with VARIANT; Spark 3.5).

The statement is the one every engine runs (:mod:`ttvkit.stores.sql.render`):
CTE layers, window running counts over ``ORDER BY ts`` with the default
``RANGE`` frame (which takes in every row of the same timestamp, as in the
other engines), ``MIN(ts) FILTER (WHERE ...)`` aggregates, ``GROUP BY`` and
``ROW_NUMBER()``; no correlated subqueries. Spark plans it as shuffles by
customer and runs it on the executors.

What differs from the other engines:

* **Parameters** are Spark SQL named parameters (``:p0``), bound with
  ``spark.sql(sql, args=params)``; ints and floats are cast to ``BIGINT`` and
  ``DOUBLE`` in the text so that their type never depends on the literal.
* **JSON typing** uses ``VARIANT`` (Spark 4): the relation parses each
  event's properties once (``parse_json``) into a ``MAP<STRING, VARIANT>``,
  so any key (quotes, dots, ``$``) is looked up exactly with
  ``try_element_at`` and a bound key, never through a JSON path. Each value
  keeps its JSON type, read with ``schema_of_variant``: ``BOOLEAN``,
  ``STRING``, ``VOID`` (JSON null), integers (``BIGINT``…), and numbers with
  a fraction or an exponent (``DECIMAL(p,s)`` or ``DOUBLE``). So ``true`` is
  not ``1`` and ``"1"`` is not ``1``, while ``1 == 1.0``. Integers (which fit
  in 64 bits in every stored event) are compared as ``BIGINT`` with an integer
  bound that splits them as Python does; other numbers as ``DOUBLE`` (a
  decimal is cast to the nearest double, the value Python's ``json`` reads),
  with the bound moved to its nearest float and the operator adjusted, as the
  DuckDB dialect does. ``get_json_object`` was not chosen: it returns a string
  ``"1"`` and a number ``1`` as the same text, and addresses keys by a path
  that cannot spell every key.
* ``GREATEST``/``LEAST`` skip NULLs in Spark, as :meth:`Dialect.earliest`
  needs; :meth:`Dialect.latest` already returns NULL when any part is NULL.
"""

from __future__ import annotations

import json
import math
from typing import Final

from ttvkit.conditions import Predicate
from ttvkit.events import JSONScalar
from ttvkit.observations import AttributeValue
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

__all__ = [
    "Spark35Dialect",
    "SparkDialect",
    "spark35_relation",
    "spark_dialect",
    "spark_relation",
]

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_INTS: Final = "('BIGINT', 'INT', 'SMALLINT', 'TINYINT')"
# A number with a fraction or an exponent: what Python's json reads as a float.
_FLOATS: Final = "('DOUBLE', 'FLOAT')"
# attribute() prefixes the JSON text with the kind, so read() can give floats back as floats
# (parse_json keeps 1.0 as DECIMAL(1,0), whose JSON text is "1").
_FLOAT_MARK: Final = "f"
_OTHER_MARK: Final = "j"
_STRING_MARK: Final = "s"  # Spark35Dialect: the text of a string follows as it is


def spark_relation(view: str) -> str:
    """The events relation of the plan over *view* (a canonical temp view).

    *view* has ``event_id, user_id, account_id, name, ts`` (µs ``BIGINT``) and
    ``properties`` as JSON text; the relation parses the properties into a
    ``MAP<STRING, VARIANT>`` once per event (NULL when absent or not an object).
    """
    return (
        "(SELECT event_id, user_id, account_id, name, ts, "
        "try_variant_get(try_parse_json(properties), '$', 'map<string,variant>') AS properties "
        f"FROM {view})"
    )


def _is_float(kind: str) -> str:
    return f"({kind} IN {_FLOATS} OR {kind} LIKE 'DECIMAL%')"


class SparkDialect(Dialect):
    """Spark SQL over :func:`spark_relation` (named ``:name`` parameters)."""

    name = "spark"

    def placeholder(self, name: str, kind: BindKind) -> str:
        if kind == "int":
            return f"CAST(:{name} AS BIGINT)"
        if kind == "float":
            return f"CAST(:{name} AS DOUBLE)"
        return f":{name}"

    def adapt(self, value: object, kind: BindKind) -> object:
        if kind == "float":
            assert isinstance(value, int | float)
            return float(value)
        return value

    # -- JSON properties -------------------------------------------------------------

    def _value(self, binder: Binder, properties: str, key: str) -> str:
        return f"try_element_at({properties}, {binder.bind(key, 'text')})"

    # The typing hooks: how a property value (an expression) is tested for
    # each JSON type and read as a number. Spark35Dialect overrides only these.

    def _is_missing(self, value: str) -> str:
        return f"({value} IS NULL OR is_variant_null({value}))"

    def _is_bool(self, value: str, literal: str) -> str:
        kind = f"schema_of_variant({value})"
        return f"({kind} = 'BOOLEAN' AND try_variant_get({value}, '$', 'boolean') = {literal})"

    def _is_string(self, value: str, param: str) -> str:
        kind = f"schema_of_variant({value})"
        return f"({kind} = 'STRING' AND try_variant_get({value}, '$', 'string') = {param})"

    def _is_int(self, value: str) -> str:
        return f"schema_of_variant({value}) IN {_INTS}"

    def _is_float(self, value: str) -> str:
        return _is_float(f"schema_of_variant({value})")

    def _as_bigint(self, value: str) -> str:
        return f"try_variant_get({value}, '$', 'bigint')"

    def _as_double(self, value: str) -> str:
        return f"try_variant_get({value}, '$', 'double')"

    def test(self, binder: Binder, key: str, predicate: Predicate) -> str:
        value = self._value(binder, "properties", key)
        terms = []
        if missing_matches(predicate):
            terms.append(self._is_missing(value))
        if predicate.op in ("eq", "in"):
            terms.extend(
                self._equals(binder, expected, value) for expected in present_values(predicate)
            )
        else:
            bound = predicate.values[0]
            assert isinstance(bound, int | float)
            terms.append(self._compare(binder, predicate.op, bound, value))
        return "(" + " OR ".join(terms) + ")" if terms else "FALSE"

    def _equals(self, binder: Binder, expected: JSONScalar, value: str) -> str:
        if isinstance(expected, bool):
            return self._is_bool(value, "TRUE" if expected else "FALSE")
        if isinstance(expected, str):
            return self._is_string(value, binder.bind(expected, "text"))
        assert isinstance(expected, int | float)
        terms = []
        if (isinstance(expected, int) or expected.is_integer()) and (
            _INT64_MIN <= expected <= _INT64_MAX
        ):
            whole = binder.bind(int(expected), "int")
            terms.append(f"({self._is_int(value)} AND {self._as_bigint(value)} = {whole})")
        as_double = expected if isinstance(expected, float) else exact_float(expected)
        if as_double is not None:
            param = binder.bind(as_double, "float")
            terms.append(f"({self._is_float(value)} AND {self._as_double(value)} = {param})")
        return "(" + " OR ".join(terms) + ")" if terms else "FALSE"

    def _compare(self, binder: Binder, op: str, bound: int | float, value: str) -> str:
        # Integers: compare with the integer bound that splits them as Python does.
        if isinstance(bound, int):
            whole = bound
        else:
            whole = math.floor(bound) if op in ("gt", "le") else math.ceil(bound)
        is_int, is_float = self._is_int(value), self._is_float(value)
        if whole > _INT64_MAX or whole < _INT64_MIN:
            ints_pass = (op in ("lt", "le")) == (whole > 0)
            ints = is_int if ints_pass else "FALSE"
        else:
            ints = (
                f"({is_int} AND {self._as_bigint(value)} {SQL_OP[op]} {binder.bind(whole, 'int')})"
            )
        as_double = self._as_double(value)
        if isinstance(bound, float):
            param = binder.bind(bound, "float")
            doubles = f"({is_float} AND {as_double} {SQL_OP[op]} {param})"
        else:
            try:
                nearest = float(bound)
            except OverflowError:  # beyond every float: all doubles on one side
                below = (op in ("lt", "le")) == (bound > 0)
                doubles = is_float if below else "FALSE"
            else:
                real_op = float_op(op, nearest, bound)
                param = binder.bind(nearest, "float")
                doubles = f"({is_float} AND {as_double} {real_op} {param})"
        return f"({ints} OR {doubles})"

    def number(self, binder: Binder, key: str) -> str:
        value = self._value(binder, "properties", key)
        return (
            f"(CASE WHEN {self._is_int(value)} OR {self._is_float(value)} "
            f"THEN {self._as_double(value)} ELSE 0 END)"
        )

    def attribute(self, binder: Binder, properties: str, key: str) -> str:
        value = self._value(binder, properties, key)
        kind = f"schema_of_variant({value})"
        return (
            f"(CASE WHEN {value} IS NULL OR {kind} LIKE 'OBJECT%' OR {kind} LIKE 'ARRAY%' "
            f"THEN NULL WHEN {_is_float(kind)} THEN concat('{_FLOAT_MARK}', to_json({value})) "
            f"ELSE concat('{_OTHER_MARK}', to_json({value})) END)"
        )

    def read(self, cell: object, key: str) -> AttributeValue:
        if cell is None:
            return None
        assert isinstance(cell, str)
        if cell.startswith(_STRING_MARK):
            return cell[1:]
        value = json.loads(cell[1:])
        if cell.startswith(_FLOAT_MARK):
            return float(value)
        assert value is None or isinstance(value, str | bool | int)
        return value

    # -- aggregates ------------------------------------------------------------------

    def running_sum(self, expression: str) -> str:
        return f"SUM(CAST({expression} AS DOUBLE))"


# --------------------------------------------------------------------------- Spark 3.5

# Every JSON string that is the value of an object's key opens right after the
# key's colon: `:` (and JSON whitespace) then an unescaped `"`. That sequence
# never occurs inside a string (a quote there is escaped), so the replacement
# below touches only values, and puts an escaped quote (`\"`) at the start of
# each string: parsed, a string value begins with `"`, which no other JSON
# value's text does. In the replacement, `$1` is the whitespace and `\\` a
# backslash (Java's regex replacement syntax); chr(92) is a backslash.
_MARK_STRINGS: Final = (
    "regexp_replace({text}, ':([ \\t\\n\\r]*)\"', concat(':$1\"', chr(92), chr(92), '\"'))"
)


def spark35_relation(view: str) -> str:
    """The events relation of the plan over *view* on Spark 3.5 (no ``VARIANT``).

    Like :func:`spark_relation`, but ``properties`` becomes a ``MAP<STRING,
    STRING>`` whose values keep their JSON type in their text: a string's text
    starts with ``"`` (then the string as it is), anything else is the value's
    JSON text (``true``, ``12``, ``1.5``, ``{...}``); JSON null is NULL. It
    is NULL when the properties are absent or not an object.
    """
    marked = _MARK_STRINGS.format(text="properties")
    return (
        "(SELECT event_id, user_id, account_id, name, ts, "
        f"from_json({marked}, 'map<string,string>') AS properties FROM {view})"
    )


class Spark35Dialect(SparkDialect):
    """Spark SQL 3.5 over :func:`spark35_relation`: JSON typed from the value's text.

    Spark 3.5 has no ``VARIANT``; ``from_json`` into ``MAP<STRING, STRING>``
    keeps each value's JSON text but would give the string ``"true"`` and the
    boolean ``true`` the same text. :func:`spark35_relation` therefore marks
    strings first, and the typing hooks read the type from the text: a string
    starts with ``"``, ``true``/``false`` are booleans, an integer is digits
    with an optional ``-``, any other number has a fraction or an exponent.
    The comparisons themselves are :class:`SparkDialect`'s.
    """

    name = "spark3.5"

    def _is_missing(self, value: str) -> str:
        return f"({value} IS NULL)"

    def _is_bool(self, value: str, literal: str) -> str:
        return f"({value} = '{literal.lower()}')"

    def _is_string(self, value: str, param: str) -> str:
        return f"(left({value}, 1) = '\"' AND substr({value}, 2) = {param})"

    def _is_int(self, value: str) -> str:
        return f"({value} RLIKE '^-?[0-9]+$')"

    def _is_float(self, value: str) -> str:
        return f"({value} RLIKE '^-?[0-9][0-9.]*[.eE]')"

    def _as_bigint(self, value: str) -> str:
        return f"try_cast({value} AS BIGINT)"

    def _as_double(self, value: str) -> str:
        return f"try_cast({value} AS DOUBLE)"

    def attribute(self, binder: Binder, properties: str, key: str) -> str:
        value = self._value(binder, properties, key)
        return (
            f"(CASE WHEN {value} IS NULL OR left({value}, 1) IN ('{{', '[') THEN NULL "
            f"WHEN left({value}, 1) = '\"' THEN concat('{_STRING_MARK}', substr({value}, 2)) "
            f"WHEN {self._is_float(value)} THEN concat('{_FLOAT_MARK}', {value}) "
            f"ELSE concat('{_OTHER_MARK}', {value}) END)"
        )


def spark_dialect(view: str, version: str) -> SparkDialect:
    """The dialect for Spark *version* (``spark.version``) over the canonical *view*:
    :class:`SparkDialect` (``VARIANT``) from 4.0, :class:`Spark35Dialect` before."""
    major = int(version.split(".")[0])
    if major >= 4:
        return SparkDialect(spark_relation(view))
    return Spark35Dialect(spark35_relation(view))
