"""The query plan: an engine-neutral description of one observations question.

:func:`build_plan` turns a milestone, ``per`` and the attributes asked for into
an :class:`ObservationPlan` made of a few node types. These node types are the
documented interface for engine authors: a renderer (``render.py``) turns a
plan into one SQL statement through a :class:`~ttvkit.stores.sql.Dialect`, and
a third-party engine may translate the same nodes into its own query language.

Node types (times are integer microseconds since 1970-01-01 UTC):

* :class:`Match` — a row-level test: the event's name and ``where`` filter.
* :class:`FirstMatch` — the first time a row matches.
* :class:`NthMatch` — the time of the ``k``-th matching row, counting every
  row of the same timestamp together (a running count over ``ORDER BY ts``
  with the default ``RANGE`` frame reaches ``k`` at that timestamp).
* :class:`TotalReached` — the first time the running sum of a numeric
  property over matching rows (booleans and non-numbers count 0), summed by
  whole timestamp groups, is at least ``threshold``.
* :class:`Latest` / :class:`Earliest` — ``all_of`` (NULL unless every part is
  reached) and ``any_of`` (the earliest part reached, NULL if none).

The rules a plan carries and every engine must keep are those of
:mod:`ttvkit.observations`: the clock start, ``before_start`` (the plan's
``reached_from_start`` for ``"ignore"``), the conversion window and censoring
(:func:`ttvkit.observations.settle`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

import attrs

from ttvkit.conditions import AllOf, AnyOf, Condition, EventCondition, Nth, Total
from ttvkit.errors import TTVError
from ttvkit.milestones import BeforeStart, Milestone
from ttvkit.observations import (
    Attribute,
    FirstTime,
    Per,
    PropertyOf,
    StartProperty,
    start_filter,
    to_micros,
)

__all__ = [
    "AttributeNode",
    "Earliest",
    "FirstMatch",
    "FirstTimeColumn",
    "Latest",
    "Match",
    "Node",
    "NthMatch",
    "ObservationPlan",
    "PropertyColumn",
    "StartPropertyColumn",
    "TotalReached",
    "UnsupportedConditionError",
    "build_plan",
]


class UnsupportedConditionError(TTVError, NotImplementedError):
    """A condition class the plan does not know (a user-defined subclass).

    Stores then fall back to the generic path, which runs the condition's own
    ``first_time()`` in Python over the streamed events. A :class:`TTVError`, so a
    store that lets it through still raises one of ttvkit's errors.
    """


@attrs.frozen
class Match:
    """Rows whose event matches ``condition`` (name and ``where`` filter)."""

    condition: EventCondition


@attrs.frozen
class FirstMatch:
    """The first time a row matches."""

    match: Match


@attrs.frozen
class NthMatch:
    """The time of the ``k``-th matching row (ties counted by whole timestamps)."""

    match: Match
    k: int


@attrs.frozen
class TotalReached:
    """The first timestamp at which the running sum of ``key`` reaches ``threshold``."""

    match: Match
    key: str
    threshold: float


@attrs.frozen
class Latest:
    """All parts reached: the latest of their times; NULL when any part is NULL."""

    parts: tuple[Node, ...]


@attrs.frozen
class Earliest:
    """Any part reached: the earliest of their times, ignoring NULL parts."""

    parts: tuple[Node, ...]


Node: TypeAlias = FirstMatch | NthMatch | TotalReached | Latest | Earliest


@attrs.frozen
class StartPropertyColumn:
    """Property ``key`` of the customer's start event (the first event with a datetime start)."""

    key: str


@attrs.frozen
class FirstTimeColumn:
    """When the customer first reached ``node`` (any time up to ``as_of``)."""

    node: Node


@attrs.frozen
class PropertyColumn:
    """Property ``key`` of the customer's first or last row matching ``match``."""

    match: Match
    key: str
    which: Literal["first", "last"]


AttributeNode: TypeAlias = StartPropertyColumn | FirstTimeColumn | PropertyColumn


@attrs.frozen
class ObservationPlan:
    """Everything an engine needs to compute one row per customer.

    ``start`` is a node, or a fixed instant (µs) meaning "the later of it and
    the customer's first event". ``start_match`` is the filter whose row at the
    start time is the start event (``None`` with a fixed start).
    ``reached_from_start`` is True for ``before_start="ignore"``: the reached
    node then counts only rows at or after the customer's start.
    ``names`` are the event names that can matter, or ``None`` for all.
    """

    per: Per
    start: Node | int
    start_match: Match | None
    reached: Node
    reached_from_start: bool
    before_start: BeforeStart
    window: int | None
    attributes: tuple[AttributeNode, ...]
    names: frozenset[str] | None

    @property
    def matches(self) -> tuple[Match, ...]:
        """Every distinct row filter, in first-use order."""
        seen: dict[Match, None] = {}

        def visit(node: Node) -> None:
            if isinstance(node, Latest | Earliest):
                for part in node.parts:
                    visit(part)
            else:
                seen.setdefault(node.match)

        if not isinstance(self.start, int):
            visit(self.start)
        visit(self.reached)
        if self.start_match is not None:
            seen.setdefault(self.start_match)
        for a in self.attributes:
            if isinstance(a, FirstTimeColumn):
                visit(a.node)
            elif isinstance(a, PropertyColumn):
                seen.setdefault(a.match)
        return tuple(seen)


def node_of(condition: Condition) -> Node:
    """The plan node of a condition; raises :class:`UnsupportedConditionError`."""
    if isinstance(condition, EventCondition):
        return FirstMatch(Match(condition))
    if isinstance(condition, Nth):
        # No customer has 2^63 events: a larger k is the same unreachable k.
        return NthMatch(Match(condition.event), min(condition.k, _INT64_MAX))
    if isinstance(condition, Total):
        return TotalReached(Match(condition.event), condition.property_name, condition.threshold)
    if isinstance(condition, AllOf):
        return Latest(tuple(node_of(p) for p in condition.parts))
    if isinstance(condition, AnyOf):
        return Earliest(tuple(node_of(p) for p in condition.parts))
    raise UnsupportedConditionError(f"{type(condition).__name__} is not one of ttvkit's conditions")


_ONE_MICROSECOND = timedelta(microseconds=1)
_INT64_MAX = 2**63 - 1
#: Microseconds of the latest instant an aware datetime can hold.
_MAX_MICROS = to_micros(datetime.max.replace(tzinfo=UTC))
_MIN_MICROS = to_micros(datetime.min.replace(tzinfo=UTC))


def build_plan(
    milestone: Milestone, per: Per, attributes: tuple[Attribute, ...]
) -> ObservationPlan:
    """The plan of ``observe(events, milestone, per=per, attributes=attributes)``."""
    start: Node | int
    if isinstance(milestone.start, datetime):
        start, names = to_micros(milestone.start), None
    else:
        start = node_of(milestone.start)
        names = set(milestone.start.event_names()) | milestone.reached.event_names()
    columns: list[AttributeNode] = []
    needs_start_event = False
    for a in attributes:
        if isinstance(a, StartProperty):
            columns.append(StartPropertyColumn(a.name))
            needs_start_event = True
        elif isinstance(a, FirstTime):
            columns.append(FirstTimeColumn(node_of(a.condition)))
            if names is not None:
                names |= a.condition.event_names()
        else:
            assert isinstance(a, PropertyOf)
            columns.append(PropertyColumn(Match(a.condition), a.name, a.which))
            if names is not None:
                names |= a.condition.event_names()
    accept = start_filter(milestone) if needs_start_event else None
    window = None
    if milestone.window is not None:
        micros = milestone.window // _ONE_MICROSECOND
        # Longer than any span two instants can have: the window never ends.
        window = micros if micros <= _MAX_MICROS - _MIN_MICROS else None
    return ObservationPlan(
        per=per,
        start=start,
        start_match=None if accept is None else Match(accept),
        reached=node_of(milestone.reached),
        reached_from_start=milestone.before_start == "ignore",
        before_start=milestone.before_start,
        window=window,
        attributes=tuple(columns),
        names=None if names is None else frozenset(names),
    )


def max_micros() -> int:
    """The latest representable instant, in µs (the window rule's overflow bound)."""
    return _MAX_MICROS
