"""Conditions: what counts as a customer reaching something.

Factories build immutable condition classes (the attrs pattern), which
users build through the factories and engines read as the nodes of a
milestone (``EventCondition``, ``Nth``, ``Total``, ``AllOf``, ``AnyOf``, with
``Predicate`` for a ``where`` value; see docs/architecture.md): :func:`event`
matches events by name and properties, ``.nth(k)``
asks for the k-th such event, :func:`total` for a running sum of a numeric
property reaching a target, and :func:`all_of` / :func:`any_of` combine
conditions. Every condition answers one question for one customer: *when
was it first reached?* (:meth:`Condition.first_time`).

Matching rules, identical on every store:

* ``where={"plan": "pro"}`` is JSON equality: strings equal strings, numbers
  equal numbers (``1 == 1.0``), booleans equal booleans only (``True`` is not
  ``1``), and ``None`` matches a missing key or an explicit ``null``.
* :func:`one_of` matches any of several scalars by the same equality.
* :func:`gt`, :func:`ge`, :func:`lt`, :func:`le` match numbers only (never
  booleans); a missing or non-numeric value does not match.
* :func:`total` sums the numeric values of the property over matching
  events (booleans and non-numbers count as 0). It is reached at the first
  timestamp at which the sum of all matching events up to and including that
  timestamp is at least the target, within a relative tolerance of 1e-9 so
  that floating-point rounding never decides.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Final, Literal, TypeAlias

import attrs

from ttvkit._json import from_numpy, json_key
from ttvkit.errors import InvalidMilestoneError
from ttvkit.events import MAX_NAME_LENGTH, JSONScalar, JSONValue, ValueEvent

__all__ = [
    "TOTAL_TOLERANCE",
    "AllOf",
    "AnyOf",
    "Condition",
    "EventCondition",
    "Nth",
    "Predicate",
    "Total",
    "all_of",
    "any_of",
    "event",
    "exact_sum",
    "ge",
    "gt",
    "le",
    "lt",
    "one_of",
    "total",
]

#: Relative tolerance of the :func:`total` comparison.
TOTAL_TOLERANCE: Final = 1e-9


def exact_sum(values: Iterable[float | Fraction]) -> float:
    """The sum :func:`total` compares: the exact sum of *values*, rounded once to a float
    (``math.fsum``), and infinite, with its sign, beyond the float range (where
    ``math.fsum`` raises, also when only a partial sum overflows)."""
    parts = list(values)
    try:
        return math.fsum(parts)
    except OverflowError:
        exact = sum((Fraction(part) for part in parts), Fraction(0))
        try:
            return float(exact)
        except OverflowError:
            return math.inf if exact > 0 else -math.inf


CompareOp: TypeAlias = Literal["gt", "ge", "lt", "le"]


#: The largest count a store can hold (a 64-bit integer), which bounds nth(k).
_INT64_MAX: Final = 2**63 - 1


def _shown(value: object) -> str:
    try:
        shown = repr(value)
    except ValueError:  # an int too long to show
        return "<an integer too long to show>"
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _check_storable_text(value: str, what: str) -> str:
    """Text every store can hold: no NUL (PostgreSQL) and no lone surrogate (UTF-8)."""
    if "\x00" in value:
        raise InvalidMilestoneError(
            f"{what}={_shown(value)}: contains a NUL character, which no store can hold "
            "and so no event can have; remove it"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidMilestoneError(
                f"{what}={_shown(value)}: contains a lone surrogate, which is not valid "
                "Unicode and no event can have; decode the text it came from properly"
            ) from None
    return value


def _check_scalar(value: object, what: str) -> JSONScalar:
    value = from_numpy(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _check_storable_text(value, what)
    if isinstance(value, int):
        return value  # any int is finite; math.isfinite overflows on huge ones
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidMilestoneError(f"{what}={value!r}: must be a finite number")
        return value
    raise InvalidMilestoneError(
        f"{what}={value!r}: must be a str, number, bool or None to compare with"
    )


def number_text(value: float) -> str:
    """A number as a name or a description says it, exactly: ``1000000``, ``2.5``,
    ``0.1`` (``:g`` would write 1000000 and 1000001 both as ``1e+06``)."""
    if isinstance(value, int) or (value.is_integer() and abs(value) < 2**53):
        return str(int(value))
    return repr(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(expected: JSONScalar, actual: JSONValue) -> bool:
    """JSON equality as conditions use it (see the module docstring)."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, str):
        return isinstance(actual, str) and expected == actual
    return _is_number(actual) and expected == actual


def _json_key(values: tuple[JSONScalar, ...]) -> tuple[tuple[bool, JSONScalar], ...]:
    """*values* as :func:`json_equal` tells them apart: a bool never equals a number."""
    return tuple(map(json_key, values))


@attrs.frozen
class Predicate:
    """A test on one property value; build it with :func:`one_of`, :func:`gt`, …"""

    op: Literal["eq", "in", "gt", "ge", "lt", "le"]
    values: tuple[JSONScalar, ...] = attrs.field(eq=_json_key)
    """Compared and hashed as JSON values: ``True`` is not ``1`` (``1`` is ``1.0``), so
    two conditions that match different events are never equal."""

    def test(self, actual: JSONValue) -> bool:
        """Whether *actual* (``None`` when the key is missing) passes."""
        if self.op == "eq":
            return json_equal(self.values[0], actual)
        if self.op == "in":
            return any(json_equal(v, actual) for v in self.values)
        if not _is_number(actual):
            return False
        bound = self.values[0]
        assert isinstance(actual, int | float)
        assert isinstance(bound, int | float)
        if self.op == "gt":
            return actual > bound
        if self.op == "ge":
            return actual >= bound
        if self.op == "lt":
            return actual < bound
        return actual <= bound

    def describe(self) -> str:
        if self.op == "eq":
            return f"= {self.values[0]!r}"
        if self.op == "in":
            return f"in {list(self.values)!r}"
        symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[self.op]
        return f"{symbol} {self.values[0]!r}"


def one_of(*values: JSONScalar) -> Predicate:
    """Match a property equal to any of *values*."""
    if not values:
        raise InvalidMilestoneError("one_of() needs at least one value")
    return Predicate("in", tuple(_check_scalar(v, "one_of value") for v in values))


def _compare(op: CompareOp, bound: float) -> Predicate:
    bound = from_numpy(bound)  # type: ignore[assignment]  # np.int64(3): the number 3
    if not _is_number(bound) or (isinstance(bound, float) and not math.isfinite(bound)):
        raise InvalidMilestoneError(f"{op}({_shown(bound)}): the bound must be a finite number")
    return Predicate(op, (bound,))


def gt(bound: float) -> Predicate:
    """Match a numeric property greater than *bound*."""
    return _compare("gt", bound)


def ge(bound: float) -> Predicate:
    """Match a numeric property greater than or equal to *bound*."""
    return _compare("ge", bound)


def lt(bound: float) -> Predicate:
    """Match a numeric property less than *bound*."""
    return _compare("lt", bound)


def le(bound: float) -> Predicate:
    """Match a numeric property less than or equal to *bound*."""
    return _compare("le", bound)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidMilestoneError(f"{what}={_shown(name)}: must be a non-empty str")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidMilestoneError(f"{what}: longer than {MAX_NAME_LENGTH} characters")
    return _check_storable_text(name, what)


def _normalise_where(
    where: Mapping[str, JSONScalar | Predicate] | None,
) -> tuple[tuple[str, Predicate], ...]:
    if where is None:
        return ()
    if not isinstance(where, Mapping):
        raise InvalidMilestoneError(
            f"where={where!r}: must be a mapping of property name to value or predicate"
        )
    out = []
    for key, test in where.items():
        if not isinstance(key, str) or not key:
            raise InvalidMilestoneError(f"where key {_shown(key)}: must be a non-empty str")
        _check_storable_text(key, "where key")
        if not isinstance(test, Predicate):
            test = Predicate("eq", (_check_scalar(test, f"where[{key!r}]"),))
        out.append((key, test))
    return tuple(sorted(out, key=lambda kv: kv[0]))


class Condition(abc.ABC):
    """Something a customer can reach; subclasses are private, built by factories."""

    __slots__ = ()

    @abc.abstractmethod
    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        """When this condition is first reached in *events* (one customer's, sorted by time)."""

    @abc.abstractmethod
    def event_names(self) -> frozenset[str]:
        """The event names this condition looks at (stores use it to filter)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A short human-readable description."""


@attrs.frozen
class EventCondition(Condition):
    """Reached at the first event named ``name`` whose properties pass ``where``.

    Build it with :func:`event`.
    """

    name: str
    where: tuple[tuple[str, Predicate], ...] = ()

    def matches(self, event: ValueEvent) -> bool:
        if event.name != self.name:
            return False
        props = event.properties
        return all(test.test(props.get(key)) for key, test in self.where)

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        for e in events:
            if self.matches(e):
                return e.timestamp
        return None

    def nth(self, k: int) -> Condition:
        """Reached at the *k*-th matching event (``k`` counts from 1)."""
        k = from_numpy(k)  # type: ignore[assignment]  # np.int64(3): the count 3
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= _INT64_MAX:
            raise InvalidMilestoneError(
                f"nth({_shown(k)}): k must be an int from 1 to 2**63 - 1 (a count a store can hold)"
            )
        if k == 1:
            return self
        return Nth(self, k)

    def event_names(self) -> frozenset[str]:
        return frozenset((self.name,))

    def describe(self) -> str:
        if not self.where:
            return self.name
        tests = ", ".join(f"{k} {t.describe()}" for k, t in self.where)
        return f"{self.name} where {tests}"


def event(name: str, where: Mapping[str, JSONScalar | Predicate] | None = None) -> EventCondition:
    """Match events named *name* whose properties pass *where*.

    >>> event("invoice_paid", where={"currency": "EUR", "amount": gt(0)}).nth(3)
    """
    return EventCondition(_check_name(name, "event name"), _normalise_where(where))


@attrs.frozen
class Nth(Condition):
    """The ``k``-th event matching ``event`` (build it with ``event(...).nth(k)``).

    Node types (:class:`EventCondition`, :class:`Nth`, :class:`Total`,
    :class:`AllOf`, :class:`AnyOf`) are the documented interface engines
    translate; users build them with the factories.
    """

    event: EventCondition
    k: int

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        seen = 0
        for e in events:
            if self.event.matches(e):
                seen += 1
                if seen == self.k:
                    return e.timestamp
        return None

    def event_names(self) -> frozenset[str]:
        return self.event.event_names()

    def describe(self) -> str:
        return f"{self.event.describe()} (#{self.k})"


@attrs.frozen
class Total(Condition):
    """The running sum of ``property_name`` over ``event`` reaching ``at_least``
    (build it with :func:`total`); engines compare against :attr:`threshold`."""

    event: EventCondition
    property_name: str
    at_least: float

    @property
    def threshold(self) -> float:
        """The target less the tolerance, which every store compares against."""
        return self.at_least - TOTAL_TOLERANCE * max(1.0, abs(self.at_least))

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        # Sum whole timestamp groups: the order of simultaneous events must
        # not decide whether a target was crossed.
        threshold = self.threshold
        parts: list[float] = []
        pending: datetime | None = None
        for e in events:
            if not self.event.matches(e):
                continue
            if pending is not None and e.timestamp != pending and exact_sum(parts) >= threshold:
                return pending
            pending = e.timestamp
            value = e.properties.get(self.property_name)
            if _is_number(value):
                assert isinstance(value, int | float)
                parts.append(float(value))
        if pending is not None and exact_sum(parts) >= threshold:
            return pending
        return None

    def event_names(self) -> frozenset[str]:
        return self.event.event_names()

    def describe(self) -> str:
        return (
            f"total {self.property_name} of {self.event.describe()} >= {number_text(self.at_least)}"
        )


def total(
    name: str,
    property: str,
    *,
    at_least: float,
    where: Mapping[str, JSONScalar | Predicate] | None = None,
) -> Condition:
    """Reached when the running sum of *property* over *name* events reaches *at_least*.

    The time to a preferred ROI: ``total("invoice_paid", "amount", at_least=1000)``.
    """
    if not isinstance(property, str) or not property:
        raise InvalidMilestoneError(f"total(): property={_shown(property)} must be a non-empty str")
    _check_storable_text(property, "total() property")
    target = _finite_float(at_least)
    if target is None or target <= 0:
        raise InvalidMilestoneError(
            f"total(): at_least={_shown(at_least)} must be a finite number > 0 and at most "
            f"{_MAX_FLOAT:.6g} (a target of 0 or less is reached before anything happens)"
        )
    return Total(event(name, where), property, target)


_MAX_FLOAT: Final = 1.7976931348623157e308


def _finite_float(value: object) -> float | None:
    """*value* as a finite float, or None (not a number, not finite, or too large)."""
    value = from_numpy(value)
    if not _is_number(value):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # a number, checked above
    except OverflowError:  # an int beyond the float range, e.g. 10**400
        return None
    return number if math.isfinite(number) else None


@attrs.frozen
class AllOf(Condition):
    """Every part reached: at the latest of their first times (build it with :func:`all_of`)."""

    parts: tuple[Condition, ...]

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        times = [c.first_time(events) for c in self.parts]
        if any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def event_names(self) -> frozenset[str]:
        return frozenset().union(*(c.event_names() for c in self.parts))

    def describe(self) -> str:
        return "all of (" + ", ".join(c.describe() for c in self.parts) + ")"


@attrs.frozen
class AnyOf(Condition):
    """Any part reached: at the earliest of their first times (build it with :func:`any_of`)."""

    parts: tuple[Condition, ...]

    def first_time(self, events: Sequence[ValueEvent]) -> datetime | None:
        times = [t for t in (c.first_time(events) for c in self.parts) if t is not None]
        return min(times) if times else None

    def event_names(self) -> frozenset[str]:
        return frozenset().union(*(c.event_names() for c in self.parts))

    def describe(self) -> str:
        return "any of (" + ", ".join(c.describe() for c in self.parts) + ")"


def _as_conditions(parts: Iterable[Condition | str], what: str) -> tuple[Condition, ...]:
    out = tuple(event(p) if isinstance(p, str) else p for p in parts)
    if not out:
        raise InvalidMilestoneError(f"{what}() needs at least one condition")
    for p in out:
        if not isinstance(p, Condition):
            raise InvalidMilestoneError(f"{what}(): {p!r} is not a condition or event name")
    return out


def all_of(*parts: Condition | str) -> Condition:
    """Reached when every part has been reached: at the latest of their first times."""
    conditions = _as_conditions(parts, "all_of")
    return conditions[0] if len(conditions) == 1 else AllOf(conditions)


def any_of(*parts: Condition | str) -> Condition:
    """Reached when any part is reached: at the earliest of their first times."""
    conditions = _as_conditions(parts, "any_of")
    return conditions[0] if len(conditions) == 1 else AnyOf(conditions)
