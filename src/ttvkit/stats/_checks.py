"""Input checks shared by the statistics: one value per customer, finite numbers, alpha.

Each check raises :class:`~ttvkit.errors.InvalidStatisticsInputError` naming
the first offending position and what to pass instead.
"""

from __future__ import annotations

import math
import numbers
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ttvkit.errors import InvalidStatisticsInputError

_T = TypeVar("_T")

#: The type codes of ``array`` that hold integers.
_INT_CODES = frozenset("bBhHiIlLqQ")


def as_list(values: Iterable[Any], name: str) -> list[Any]:
    """The values as a list; numpy arrays and pandas Series via their fast ``tolist()``."""
    if isinstance(values, (str, bytes)):
        raise InvalidStatisticsInputError(
            f"{name} is a string; pass a sequence with one value per customer"
        )
    to_list = getattr(values, "tolist", None)
    try:
        items = to_list() if callable(to_list) else list(values)
    except TypeError:
        raise InvalidStatisticsInputError(
            f"{name} is not a sequence ({type(values).__name__}); pass one value per customer"
        ) from None
    if not isinstance(items, list):
        raise InvalidStatisticsInputError(
            f"{name} is a single value; pass a sequence with one value per customer"
        )
    return items


def durations_of(raw: Iterable[float]) -> list[float]:
    values = finite_floats(non_empty(as_list(raw, "durations"), "durations"), "durations")
    check_not_negative(values, "durations")
    return values


def non_empty(items: list[Any], name: str) -> list[Any]:
    if not items:
        raise InvalidStatisticsInputError(f"{name} is empty; pass at least one duration")
    return items


def check_not_negative(values: list[float], name: str) -> None:
    if min(values) < 0.0:
        position = first_position(values, lambda value: value < 0.0)
        raise InvalidStatisticsInputError(
            f"{name}[{position}] is {values[position]!r}; durations cannot be negative "
            "(a milestone reached before the start counts as reached at 0)"
        )


def counts(raw: Iterable[float], length: int, name: str) -> tuple[list[Any], bool]:
    """Numbers of customers: ``int`` or real frequencies, finite and not negative.

    Returns the items as given if every one is an ``int`` (and ``True``),
    else the items as floats (and ``False``).
    """
    items = as_list(raw, name)
    check_length(items, length, name, of="times")
    # An array of integers (an engine's counts) holds ints and nothing else.
    kinds = (
        {int} if isinstance(raw, array) and raw.typecode in _INT_CODES else set(map(type, items))
    )
    if bool in kinds:
        position = first_position(items, lambda item: isinstance(item, bool))
        raise InvalidStatisticsInputError(
            f"{name}[{position}] is {items[position]!r}; pass numbers of customers "
            "(0, 1, 2, ...), not True/False flags"
        )
    exact = kinds == {int}
    values = items if exact else finite_floats(items, name)  # an int is always finite
    if min(values) < 0:
        position = first_position(values, lambda value: value < 0)
        raise InvalidStatisticsInputError(
            f"{name}[{position}] is {items[position]!r}; counts of customers cannot be negative"
        )
    return values, exact


def both_counts(
    reached: Iterable[float], censored: Iterable[float], length: int
) -> tuple[list[Any], list[Any], bool]:
    """Reached and censored counts, both ``int`` (exact) or else both ``float``."""
    reached_items, reached_exact = counts(reached, length, "reached")
    censored_items, censored_exact = counts(censored, length, "censored")
    if reached_exact and censored_exact:
        return reached_items, censored_items, True
    if reached_exact:
        reached_items = list(map(float, reached_items))
    if censored_exact:
        censored_items = list(map(float, censored_items))
    return reached_items, censored_items, False


def observed_flags(raw: Iterable[bool], length: int) -> list[int]:
    items = as_list(raw, "observed")
    check_length(items, length, "observed")
    try:
        kinds = set(items)
    except TypeError:  # an unhashable item; the scan below names it
        kinds = {None}
    if not kinds <= {False, True}:  # 0 and 1 (and numpy booleans) are equal to these
        position = first_position(items, lambda item: not is_bool_like(item))
        raise InvalidStatisticsInputError(
            f"observed[{position}] is {items[position]!r}; use True (reached) or False "
            "(still on the way, censored), or 1 and 0"
        )
    return items  # each equal to 1 (reached) or 0 (censored)


def positive_weights(raw: Iterable[float], length: int) -> list[float]:
    items = as_list(raw, "weights")
    check_length(items, length, "weights")
    values = finite_floats(items, "weights")
    if min(values) <= 0.0:
        position = first_position(values, lambda value: value <= 0.0)
        raise InvalidStatisticsInputError(
            f"weights[{position}] is {values[position]!r}; weights must be above 0 "
            "(leave out customers who should not count)"
        )
    return values


def finite_floats(items: list[Any], name: str) -> list[float]:
    """The items as floats, if every one is a finite real number."""
    try:
        # One C-level pass: the sum is a finite number only if every item is one
        # (or the finite items overflow, which the scan below lets through).
        total = sum(items, 0.0)
    except (TypeError, ValueError, OverflowError):  # a non-number, inf - inf, or overflow
        total = math.nan
    if not math.isfinite(total):
        for position, item in enumerate(items):
            if not is_finite_number(item):
                raise InvalidStatisticsInputError(
                    f"{name}[{position}] is {item!r}; {name} must be finite numbers"
                )
    return list(map(float, items))


def is_finite_number(item: object) -> bool:
    if isinstance(item, (str, bytes)):
        return False
    try:
        return math.isfinite(item)  # type: ignore[arg-type]
    except (TypeError, OverflowError):  # not a number, or an int too large for a float
        return False


def is_bool_like(item: object) -> bool:
    try:
        return item in (False, True)
    except (TypeError, ValueError):  # e.g. an array, whose comparison is ambiguous
        return False


def check_length(items: list[Any], length: int, name: str, *, of: str = "durations") -> None:
    if len(items) != length:
        raise InvalidStatisticsInputError(
            f"{name} has {len(items)} values but {of} has {length}; "
            f"pass one {name} value per {of[:-1]}"
        )


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float if it is a significance level: a real number strictly
    between 0 and 1 (``True`` is not one); else :class:`~ttvkit.errors.InvalidStatisticsInputError`.

    The one check of every ``alpha`` in ttvkit, the calculators' included.

    >>> check_alpha(0.05)
    0.05
    """
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, numbers.Real)
        or not 0.0 < float(alpha) < 1.0
    ):
        raise InvalidStatisticsInputError(
            f"alpha is {alpha!r}; use a number strictly between 0 and 1 (0.05 for 95% bands)"
        )
    if not 1.0 - float(alpha) / 2.0 < 1.0:  # the band's quantile 1 - alpha/2 rounds to 1
        raise InvalidStatisticsInputError(
            f"alpha is {alpha!r}, too small for a float to tell 1 - alpha/2 from 1; use "
            "alpha of at least 1e-15 (0.05 for 95% bands)"
        )
    return float(alpha)


def check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise InvalidStatisticsInputError(f"{name} is {value!r}; pass a number")


def first_position(items: Sequence[_T], is_bad: Callable[[_T], bool]) -> int:
    """The position of the first item for which ``is_bad`` is true (slow path of errors)."""
    return next(position for position, item in enumerate(items) if is_bad(item))
