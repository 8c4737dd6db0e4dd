"""Observations: one row per customer, the input of every TTV statistic.

A customer (a user, or an account with ``per="account"``) whose clock has
started becomes one :class:`Observation`: when the clock started, when the
milestone was reached (or ``None``), and the moment the observation ends —
the time reached, or the censoring time when the customer is still on the
way. Stores compute observations inside their engine; :func:`observe` is the
pure-Python reference over any iterable of events, which the memory store
uses and every other store must agree with exactly.

The rules (``docs/concepts.md`` explains why):

1. Events with the same ``event_id`` count once; events after ``as_of`` do
   not exist yet.
2. The clock starts at the customer's first time reaching the milestone's
   start condition; with a datetime start, at the later of that datetime and
   the customer's first event. A customer whose clock has not started is not
   an observation.
3. The milestone is reached at the first time its condition holds over the
   customer's events, in time order (ties broken by ``event_id``; no
   condition's answer depends on the order of simultaneous events).
   Reached before the start: see :data:`~ttvkit.milestones.BeforeStart`.
4. Censoring happens at ``as_of``, or at the end of the conversion window if
   that is earlier; a milestone reached after the window's end is censored
   at the window's end.
5. ``attributes`` are extra per-customer values the analyses need (a
   property of the start event, the first time of another condition, a
   property of the first or last matching event), computed over the same
   events (up to ``as_of``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

import attrs

from ttvkit.conditions import Condition, EventCondition
from ttvkit.errors import AnalysisError, InvalidMilestoneError
from ttvkit.events import JSONScalar, JSONValue, ValueEvent
from ttvkit.milestones import Milestone

__all__ = [
    "Attribute",
    "AttributeValue",
    "FirstTime",
    "Observation",
    "Per",
    "PropertyOf",
    "StartProperty",
    "check_attributes",
    "check_per",
    "observe",
    "observe_ordered",
]

Per: TypeAlias = Literal["user", "account"]
AttributeValue: TypeAlias = JSONScalar | datetime


@attrs.frozen
class StartProperty:
    """The value of property ``name`` on the customer's start event.

    With a datetime start, the customer's first event is read instead.
    Only scalars are returned; a list or object value reads as ``None``.
    """

    name: str


@attrs.frozen
class FirstTime:
    """When the customer first reached ``condition`` (any time up to ``as_of``)."""

    condition: Condition


@attrs.frozen
class PropertyOf:
    """Property ``name`` of the customer's first (or last) event matching ``condition``.

    Only scalars are returned; a list or object value reads as ``None``.
    """

    condition: EventCondition
    name: str
    which: Literal["first", "last"] = "first"


Attribute: TypeAlias = StartProperty | FirstTime | PropertyOf


@attrs.frozen
class Observation:
    """One customer on the way to a milestone.

    ``end`` is ``reached_at`` when the milestone was reached, otherwise the
    censoring time. ``reached_before_start`` marks customers counted as
    reached at duration 0 because the milestone came before their start.
    ``attributes`` hold the values of the attributes asked for, in order.
    """

    customer_id: str
    start: datetime
    reached_at: datetime | None
    end: datetime
    reached_before_start: bool = False
    attributes: tuple[AttributeValue, ...] = ()

    @property
    def observed(self) -> bool:
        """Whether the milestone was reached (not censored)."""
        return self.reached_at is not None

    @property
    def censored(self) -> bool:
        """Whether the customer is still on the way (censored at ``end``)."""
        return self.reached_at is None

    @property
    def duration(self) -> timedelta:
        """Time from the start to the milestone, or to the censoring time."""
        return self.end - self.start

    def to_dict(self) -> dict[str, JSONValue]:
        """JSON-ready; times are ISO-8601 strings, ``duration_seconds`` a float."""
        return {
            "customer_id": self.customer_id,
            "start": self.start.isoformat(),
            "reached_at": None if self.reached_at is None else self.reached_at.isoformat(),
            "end": self.end.isoformat(),
            "duration_seconds": self.duration.total_seconds(),
            "censored": self.censored,
            "reached_before_start": self.reached_before_start,
            "attributes": [
                a.isoformat() if isinstance(a, datetime) else a for a in self.attributes
            ],
        }


def check_per(per: object) -> Per:
    """Validate the ``per`` argument every analysis takes."""
    if per not in ("user", "account"):
        raise AnalysisError(f"per={per!r}: must be 'user' or 'account'")
    return per  # type: ignore[return-value,unused-ignore]  # checked against the Literal


def _scalar(value: JSONValue) -> JSONScalar:
    return None if isinstance(value, list | dict) else value


def _attribute(
    spec: Attribute, events: Sequence[ValueEvent], start_event: ValueEvent | None
) -> AttributeValue:
    if isinstance(spec, StartProperty):
        return None if start_event is None else _scalar(start_event.properties.get(spec.name))
    if isinstance(spec, FirstTime):
        return spec.condition.first_time(events)
    if isinstance(spec, PropertyOf):
        matching = (e for e in (reversed(events) if spec.which == "last" else events))
        for e in matching:
            if spec.condition.matches(e):
                return _scalar(e.properties.get(spec.name))
        return None
    raise InvalidMilestoneError(
        f"{spec!r} is not an attribute (StartProperty, FirstTime, PropertyOf)"
    )


def _start_filter(milestone: Milestone) -> EventCondition | None:
    """The event filter whose matching event at the start time is the start event."""
    start = milestone.start
    if isinstance(start, datetime):
        return None
    if isinstance(start, EventCondition):
        return start
    inner = getattr(start, "event", None)  # nth() and total() wrap one event filter
    if isinstance(inner, EventCondition):
        return inner
    raise InvalidMilestoneError(
        f"StartProperty needs a milestone whose start is built with event(), nth() or total(), "
        f"not {start.describe()!r}: with several start events there is no one start event"
    )


def _start_event(milestone: Milestone, events: Sequence[ValueEvent], start: datetime) -> ValueEvent:
    """The customer's start event: the first event (by time, then event_id) at the
    start time that matches the start filter; with a datetime start, the first event."""
    accept = _start_filter(milestone)
    if accept is None:
        return events[0]
    return next(e for e in events if e.timestamp == start and accept.matches(e))


def observe(
    events: Iterable[ValueEvent],
    milestone: Milestone,
    *,
    as_of: datetime | None = None,
    per: Per = "user",
    attributes: Sequence[Attribute] = (),
) -> list[Observation]:
    """Compute one observation per customer from raw events, in pure Python.

    The reference implementation (see the module docstring for the rules).
    ``as_of`` defaults to the latest event's timestamp. Observations come
    back sorted by ``customer_id``.
    """
    _check_question(milestone, per, attributes)
    unique: dict[str, ValueEvent] = {}
    for e in events:
        unique.setdefault(e.event_id, e)
    if as_of is None:
        if not unique:
            return []
        as_of = max(e.timestamp for e in unique.values())
    return observe_ordered(
        unique.values(), milestone, as_of=as_of, per=per, attributes=attributes, ordered=False
    )


def _check_question(
    milestone: Milestone, per: object, attributes: Sequence[Attribute]
) -> tuple[Attribute, ...]:
    check_per(per)
    checked = check_attributes(attributes)
    if any(isinstance(a, StartProperty) for a in checked):
        _start_filter(milestone)
    return checked


def observe_ordered(
    events: Iterable[ValueEvent],
    milestone: Milestone,
    *,
    as_of: datetime,
    per: Per = "user",
    attributes: Sequence[Attribute] = (),
    ordered: bool = True,
) -> list[Observation]:
    """:func:`observe` for events whose ids are unique, in (timestamp, event_id) order.

    For stores that guarantee both (the memory store): it skips the
    deduplication and the per-customer sort. With ``ordered=False`` only the
    deduplication is skipped.
    """
    attributes = _check_question(milestone, per, attributes)
    by_customer: defaultdict[str, list[ValueEvent]] = defaultdict(list)
    for e in events:
        if e.timestamp > as_of:
            continue
        key = e.user_id if per == "user" else e.account_id
        if key is not None:
            by_customer[key].append(e)
    return [
        obs
        for customer in sorted(by_customer)
        if (
            obs := _observe_one(
                customer, by_customer[customer], milestone, as_of, attributes, ordered
            )
        )
        is not None
    ]


def _observe_one(
    customer: str,
    events: list[ValueEvent],
    milestone: Milestone,
    as_of: datetime,
    attributes: Sequence[Attribute],
    ordered: bool,
) -> Observation | None:
    if not ordered:
        events.sort(key=lambda e: (e.timestamp, e.event_id))
    if isinstance(milestone.start, datetime):
        start: datetime | None = max(milestone.start, events[0].timestamp)
    else:
        start = milestone.start.first_time(events)
    if start is None or start > as_of:
        return None
    before = False
    if milestone.before_start == "ignore":
        reached = milestone.reached.first_time([e for e in events if e.timestamp >= start])
    else:
        reached = milestone.reached.first_time(events)
        if reached is not None and reached < start:
            if milestone.before_start == "exclude":
                return None
            reached, before = start, True
    censor_at = as_of
    if milestone.window is not None and milestone.window < datetime.max.replace(tzinfo=UTC) - start:
        window_end = start + milestone.window
        if reached is not None and reached > window_end:
            reached = None
        censor_at = min(as_of, window_end)
    start_event = (
        _start_event(milestone, events, start)
        if any(isinstance(a, StartProperty) for a in attributes)
        else None
    )
    return Observation(
        customer_id=customer,
        start=start,
        reached_at=reached,
        end=reached if reached is not None else censor_at,
        reached_before_start=before,
        attributes=tuple(_attribute(a, events, start_event) for a in attributes),
    )


def check_attributes(attributes: Sequence[Attribute]) -> tuple[Attribute, ...]:
    """Validate the attribute specs a store is asked for."""
    out = tuple(attributes)
    for a in out:
        if not isinstance(a, StartProperty | FirstTime | PropertyOf):
            raise InvalidMilestoneError(
                f"{a!r} is not an attribute (StartProperty, FirstTime, PropertyOf)"
            )
    return out
