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

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate, compress, islice, repeat
from operator import add, and_, mul, ne, not_, rshift, sub, xor
from typing import Final, Literal, NamedTuple, TypeAlias, TypeVar

import attrs

from ttvkit._gc import paused_gc
from ttvkit.conditions import Condition, EventCondition
from ttvkit.errors import InvalidArgumentError, InvalidMilestoneError
from ttvkit.events import JSONScalar, JSONValue, ValueEvent
from ttvkit.milestones import BeforeStart, Milestone

__all__ = [
    "EPOCH",
    "Attribute",
    "AttributeValue",
    "DurationCells",
    "FirstTime",
    "Observation",
    "ObservationColumns",
    "Per",
    "PropertyOf",
    "Settled",
    "StartProperty",
    "check_attributes",
    "check_aware",
    "check_per",
    "check_question",
    "from_micros",
    "observe",
    "observe_ordered",
    "settle",
    "start_filter",
    "to_micros",
]

Per: TypeAlias = Literal["user", "account"]
AttributeValue: TypeAlias = JSONScalar | datetime

#: Engines hand times over as integer microseconds since this instant.
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MAX_MICROS: Final = (datetime.max.replace(tzinfo=UTC) - EPOCH) // _MICROSECOND


def to_micros(when: datetime) -> int:
    """An aware datetime as integer microseconds since :data:`EPOCH` (exact)."""
    return (when - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of :func:`to_micros`'s result (exact)."""
    return EPOCH + timedelta(0, 0, micros)  # positional: measurably faster per row


class Settled(NamedTuple):
    """One customer's observation after rules 3 and 4: where it ends, and how."""

    end: int
    observed: bool
    reached_before_start: bool


def settle(
    start: int,
    reached: int | None,
    as_of: int,
    window: int | None,
    before_start: BeforeStart,
) -> Settled | None:
    """Rules 3 (reached before the start) and 4 (window, censoring), in microseconds.

    The one definition of these rules: :func:`observe` calls it per customer
    and the SQL plan renders exactly this (``stores/sql/render.py``; a test
    holds every engine to it). *reached* is the first time the milestone was
    reached (with ``before_start="ignore"``, over events at or after the
    start only). ``None`` means the customer is not an observation
    (``before_start="exclude"``).
    """
    before = False
    if reached is not None and reached < start:
        if before_start == "exclude":
            return None
        reached, before = start, True
    censor_at = as_of
    # A window reaching past the last representable instant is no window.
    if window is not None and start < _MAX_MICROS - window:
        window_end = start + window
        if reached is not None and reached > window_end:
            reached = None
        censor_at = min(as_of, window_end)
    if reached is None:
        return Settled(censor_at, False, before)
    return Settled(reached, True, before)


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
    """Validate the ``per`` argument every analysis takes (an :class:`InvalidArgumentError`)."""
    if not isinstance(per, str) or per not in ("user", "account"):
        raise InvalidArgumentError(f"per={per!r}: must be 'user' or 'account'")
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


def start_filter(milestone: Milestone) -> EventCondition | None:
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
    accept = start_filter(milestone)
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
    check_question(milestone, per, attributes)
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


def check_aware(value: object, what: str) -> datetime:
    """An aware datetime argument (``as_of``, ``since``, ``until``), or InvalidArgumentError."""
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{what}={value!r}: must be an aware datetime")
    try:
        offset = value.utcoffset()
    except ValueError:  # pandas.NaT is a datetime that holds no time
        raise InvalidArgumentError(
            f"{what}={value!r}: holds no time; pass an aware datetime"
        ) from None
    if offset is None:
        raise InvalidArgumentError(
            f"{what}={value!r}: is a naive datetime; pass an aware one, "
            "e.g. datetime(2026, 1, 31, tzinfo=timezone.utc)"
        )
    return value


def check_question(
    milestone: object, per: object, attributes: Sequence[Attribute]
) -> tuple[Attribute, ...]:
    """Validate one observations question, with the same errors on every store."""
    if not isinstance(milestone, Milestone):
        raise InvalidMilestoneError(f"milestone={milestone!r}: pass a ttvkit.Milestone")
    check_per(per)
    checked = check_attributes(attributes)
    if any(isinstance(a, StartProperty) for a in checked):
        start_filter(milestone)
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
    attributes = check_question(milestone, per, attributes)
    check_aware(as_of, "as_of")
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
    if milestone.before_start == "ignore":
        reached = milestone.reached.first_time([e for e in events if e.timestamp >= start])
    else:
        reached = milestone.reached.first_time(events)
    start_us = to_micros(start)
    settled = settle(
        start_us,
        None if reached is None else to_micros(reached),
        to_micros(as_of),
        None if milestone.window is None else milestone.window // _MICROSECOND,
        milestone.before_start,
    )
    if settled is None:
        return None
    start_event = (
        _start_event(milestone, events, start)
        if any(isinstance(a, StartProperty) for a in attributes)
        else None
    )
    end = from_micros(settled.end)
    return Observation(
        customer_id=customer,
        start=start,
        reached_at=end if settled.observed else None,
        end=end,
        reached_before_start=settled.reached_before_start,
        attributes=tuple(_attribute(a, events, start_event) for a in attributes),
    )


def check_attributes(attributes: Sequence[Attribute]) -> tuple[Attribute, ...]:
    """Validate the attribute specs a store is asked for, fields included.

    A spec of the wrong kind, or one holding a field of the wrong type (a
    name where a condition belongs, say), is an
    :class:`~ttvkit.errors.InvalidMilestoneError` here, before any engine
    sees it, rather than an engine's own error later.
    """
    given: object = attributes  # typed, but checked: callers may pass anything
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        raise InvalidArgumentError(
            f"attributes={given!r}: pass a sequence of StartProperty, FirstTime or PropertyOf specs"
        )
    out = tuple(attributes)
    for a in out:
        _check_attribute(a)
    return out


def _check_attribute(a: object) -> None:
    # The fields are typed, but a spec can be built with anything: read them as objects.
    condition: object = getattr(a, "condition", None)
    name: object = getattr(a, "name", None)
    which: object = getattr(a, "which", "first")
    if isinstance(a, StartProperty):
        problem = None if isinstance(name, str) else "its name must be a str"
    elif isinstance(a, FirstTime):
        problem = None if isinstance(condition, Condition) else "its condition must be a Condition"
    elif isinstance(a, PropertyOf):
        if not isinstance(condition, EventCondition):
            problem = "its condition must be an event(...) condition"
        elif not isinstance(name, str):
            problem = "its name must be a str"
        elif which not in ("first", "last"):
            problem = "which must be 'first' or 'last'"
        else:
            problem = None
    else:
        raise InvalidMilestoneError(
            f"{a!r} is not an attribute (StartProperty, FirstTime, PropertyOf)"
        )
    if problem is not None:
        raise InvalidMilestoneError(f"{a!r} is not a valid attribute: {problem}")


@attrs.frozen
class ObservationColumns:
    """Observations as columns: what engines hand back, one position per customer.

    Times are integer microseconds since :data:`EPOCH`; ``attributes`` holds
    one column per attribute asked for. :class:`Observation` objects are made
    only when :meth:`rows` is called (drill-down); the statistics read the
    columns directly. Customers are sorted by ``customer_ids``.
    """

    customer_ids: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    observed: tuple[bool, ...]
    reached_before_start: tuple[bool, ...]
    attributes: tuple[tuple[AttributeValue, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.customer_ids)

    @classmethod
    def from_rows(cls, rows: Iterable[Observation], n_attributes: int = 0) -> ObservationColumns:
        """Columns of :class:`Observation` objects (the pure-Python path)."""
        rows = list(rows)
        return cls(
            tuple(o.customer_id for o in rows),
            tuple(to_micros(o.start) for o in rows),
            tuple(to_micros(o.end) for o in rows),
            tuple(o.reached_at is not None for o in rows),
            tuple(o.reached_before_start for o in rows),
            tuple(tuple(o.attributes[i] for o in rows) for i in range(n_attributes)),
        )

    def rows(self) -> list[Observation]:
        """One :class:`Observation` per customer (built now, not stored)."""
        out = []
        values = list(zip(*self.attributes, strict=True)) if self.attributes else None
        for i, customer in enumerate(self.customer_ids):
            end = from_micros(self.ends[i])
            out.append(
                Observation(
                    customer,
                    from_micros(self.starts[i]),
                    end if self.observed[i] else None,
                    end,
                    self.reached_before_start[i],
                    values[i] if values is not None else (),
                )
            )
        return out

    def durations(self) -> list[float]:
        """Seconds from each start to its end (``timedelta.total_seconds()``, exactly)."""
        return [(e - s) / 1_000_000 for s, e in zip(self.starts, self.ends, strict=True)]

    def cells(self, positions: Sequence[int] | None = None) -> DurationCells:
        """The same customers grouped by duration (what a curve needs).

        With *positions*, only the customers at those positions (as
        ``take(positions).cells()``, without copying the other columns).
        """
        if not len(self.starts) == len(self.ends) == len(self.observed):
            raise ValueError("ObservationColumns: starts, ends and observed differ in length")
        starts: Sequence[int] = self.starts
        ends: Sequence[int] = self.ends
        observed: Sequence[bool] = self.observed
        before: Sequence[bool] = self.reached_before_start
        if positions is not None:
            starts = list(map(starts.__getitem__, positions))
            ends = list(map(ends.__getitem__, positions))
            observed = list(map(observed.__getitem__, positions))
            before = list(map(before.__getitem__, positions))
        durations = list(map(sub, ends, starts))
        return DurationCells.from_split(
            list(compress(durations, observed)),
            list(compress(durations, map(not_, observed))),
            sum(before),
        )

    def take(self, positions: Sequence[int]) -> ObservationColumns:
        """The customers at *positions*, in that order."""

        def taken(column: Sequence[_T]) -> tuple[_T, ...]:
            return tuple(map(column.__getitem__, positions))

        return ObservationColumns(
            taken(self.customer_ids),
            taken(self.starts),
            taken(self.ends),
            taken(self.observed),
            taken(self.reached_before_start),
            tuple(map(taken, self.attributes)),
        )


_T = TypeVar("_T")


def _int_column(values: Iterable[int]) -> array[int]:
    """A column of 64-bit integers (an ``array('q')`` is kept as it is)."""
    if type(values) is array and values.typecode == "q":
        return values
    return array("q", values)


@attrs.frozen
class DurationCells:
    """Observations grouped by duration: everything a Kaplan–Meier curve needs.

    ``durations`` are distinct, ascending, in microseconds; ``reached`` and
    ``censored`` count the customers at each. Engines return these from one
    ``GROUP BY`` when an analysis needs only the curve.

    The three columns are held as ``array('q')`` (64-bit integers, 8 bytes a
    value, where a tuple of Python ints takes about 36): at 1e8 events there
    are about ten million cells, since durations in microseconds barely
    group. Any iterable of ints is taken; treat the arrays as read-only.
    """

    durations: Sequence[int] = attrs.field(converter=_int_column, hash=False)
    reached: Sequence[int] = attrs.field(converter=_int_column, hash=False)
    censored: Sequence[int] = attrs.field(converter=_int_column, hash=False)
    reached_before_start: int = 0

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, bool]], before: int = 0) -> DurationCells:
        """Cells of ``(duration µs, observed)`` pairs, one per customer."""
        reached_at: list[int] = []
        censored_at: list[int] = []
        with paused_gc():  # no object per cell: ints and two lists, counted in C
            for duration, observed in pairs:
                (reached_at if observed else censored_at).append(duration)
        return cls.from_split(reached_at, censored_at, before)

    @classmethod
    def from_split(
        cls, reached_at: Iterable[int], censored_at: Iterable[int], before: int = 0
    ) -> DurationCells:
        """Cells of the durations (µs) of those who reached and of those censored."""
        with paused_gc():
            reached_list = list(reached_at)
            censored_list = list(censored_at)
            reached = Counter(reached_list)
            censored = Counter(censored_list)
            if 2 * (len(reached) + len(censored)) > len(reached_list) + len(censored_list):
                # Mostly distinct durations, as in microseconds: sort them all.
                return cls._sorted(reached_list, censored_list, before)
            # Durations repeat (whole days, seconds): count per distinct duration.
            order = sorted(reached.keys() | censored.keys())
            return cls(
                order,
                map(reached.get, order, repeat(0)),
                map(censored.get, order, repeat(0)),
                before,
            )

    @classmethod
    def _sorted(cls, reached_at: list[int], censored_at: list[int], before: int) -> DurationCells:
        """:meth:`from_split` where most durations are distinct, as in microseconds.

        Each duration is doubled, plus 1 for a censored customer: one sort of
        integers brings each duration's customers together and keeps which are
        censored (the low bit), with no dictionary lookup per customer (for a
        million customers, in sorted order, those lookups miss the CPU's caches).
        """
        keys = list(map(mul, reached_at, repeat(2)))
        keys.extend(map(add, map(mul, censored_at, repeat(2)), repeat(1)))
        keys.sort()
        durations = list(map(rshift, keys, repeat(1)))
        censored = list(map(and_, keys, repeat(1)))
        size = len(keys)
        # Where each run of one duration starts (every row, without ties).
        runs = compress(range(1, size), map(ne, durations, islice(durations, 1, None)))
        starts = [0, *runs] if size else []
        if len(starts) == size:
            return cls(durations, map(xor, censored, repeat(1)), censored, before)
        ends = [*starts[1:], size]
        # Censored per run: the running count of censored rows at its end, less at its start.
        censored_before = list(accumulate(censored, initial=0))
        at_end = map(censored_before.__getitem__, ends)
        censored_per = list(map(sub, at_end, map(censored_before.__getitem__, starts)))
        return cls(
            map(durations.__getitem__, starts),
            map(sub, map(sub, ends, starts), censored_per),
            censored_per,
            before,
        )

    @property
    def n(self) -> int:
        """Customers in the cells."""
        return sum(self.reached) + sum(self.censored)

    @property
    def n_reached(self) -> int:
        """Customers who reached the milestone."""
        return sum(self.reached)

    def seconds(self) -> list[float]:
        """The durations in seconds (as ``timedelta.total_seconds()`` gives them)."""
        return [d / 1_000_000 for d in self.durations]
