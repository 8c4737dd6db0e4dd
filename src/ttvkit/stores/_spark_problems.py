"""The readers' verdict on the rows Spark's check fetched: a problem function per
checked column, in the readers' words (see :func:`ttvkit.stores._spark_view.first_bad_row`).

Spark's query marks the rows it cannot vouch for; these functions, in Python,
say what the readers would find wrong with each value, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

from ttvkit.errors import InvalidEventError
from ttvkit.events import MAX_ID_LENGTH, MAX_NAME_LENGTH, check_text, validate_properties
from ttvkit.io import ReadError
from ttvkit.io.values import jsonable, shown

__all__ = [
    "SOURCE",
    "Problem",
    "also_a_key",
    "properties_problem",
    "property_column_problem",
    "python_value",
    "row_problem",
    "said",
    "text_problem",
]

#: What a problem function is: the readers' words for what is wrong with a value, or None.
Problem = Callable[[Any], str | None]

#: How errors name a Spark source.
SOURCE: Final = "the Spark DataFrame"


def python_value(value: Any) -> Any:
    """A MAP, STRUCT or VARIANT value as collected, in the plain Python the readers
    check: dicts, lists, and JSON scalars (a DECIMAL as the number ``to_json`` writes)."""
    if hasattr(value, "asDict"):  # a Row, from a STRUCT
        value = value.asDict()
    elif hasattr(value, "toPython"):  # a VariantVal
        value = value.toPython()
    if isinstance(value, dict):
        return {key: python_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [python_value(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return jsonable(value)


def row_problem(row: Sequence[Any], checks: Sequence[tuple[str, Problem]]) -> ReadError | None:
    """The readers' error for the first of *checks* (column, problem) that finds
    something wrong with its value in *row*, or None."""
    for value, (column, problem_of) in zip(row, checks, strict=True):
        problem = problem_of(value)
        if problem is not None:
            where = f'{SOURCE}, column "{column}"'
            return ReadError(f"{where}: {problem}", source=SOURCE, column=column)
    return None


def text_problem(field: str, required: bool) -> Problem:
    """What the readers find wrong with an id or name (*field*)."""
    limit = MAX_NAME_LENGTH if field == "name" else MAX_ID_LENGTH

    def problem(value: Any) -> str | None:
        if value is None:
            return f"is empty; every event needs a {field}" if required else None
        text = str(value)
        try:
            check_text(field, text, limit)
        except InvalidEventError as exc:
            message = str(exc).removeprefix(f"{field}={shown(text)}: ")
            return f"{shown(text)} {message}"
        return None

    return problem


def also_a_key(properties: str | None) -> Problem:
    """The readers' words for a property column whose key the JSON object also holds."""
    said = (
        f"is also a key of the JSON object in {properties!r}; "
        "rename the column or drop it from property_columns"
    )
    return lambda _value: said


def said(value: Any) -> str | None:
    """What is wrong, as the query said it (see :func:`ttvkit.stores._spark_view._in_range`)."""
    return None if value is None else str(value)


def properties_problem(read: Callable[[Any], Any]) -> Problem:
    """What the readers find wrong with properties that *read* makes a mapping of."""

    def problem(value: Any) -> str | None:
        if value is None:
            return None
        try:
            validate_properties(read(value))
        except ValueError as exc:  # InvalidEventError too; json_object's own
            return str(exc)
        return None

    return problem


def property_column_problem(column: str) -> Problem:
    """What the readers find wrong with the value of the property column *column*."""
    return properties_problem(lambda value: {column: value})
