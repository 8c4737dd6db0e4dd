"""Milestones: the moments where a product pays off, and how fast is fast.

A :class:`Milestone` pairs a *start* (when a customer's clock starts: a
condition such as the signup event, or a fixed datetime such as a feature's
release) with a *reached* condition, a :class:`MilestoneKind` naming which
Time-to-Value measure it is, and an optional conversion *window*.
:class:`SpeedBands` classify durations as immediate, short or long TTV.

The presets (:func:`first_value`, :func:`exceed_value`, :func:`upgrade`,
:func:`onboarding`, :func:`feature_adoption`, :func:`roi`) build milestones
of the right kind for each measure of the TTV literature.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import repeat
from typing import Final, Literal, TypeAlias

import attrs

from ttvkit._format import format_duration
from ttvkit.conditions import Condition, EventCondition, all_of, event, number_text, total
from ttvkit.errors import InvalidEventError, InvalidMilestoneError
from ttvkit.events import parse_timestamp

__all__ = [
    "BeforeStart",
    "Journey",
    "Milestone",
    "MilestoneKind",
    "Speed",
    "SpeedBands",
    "exceed_value",
    "feature_adoption",
    "first_value",
    "onboarding",
    "roi",
    "upgrade",
]

#: What to do when the milestone was reached before the customer's start:
#: ``"zero"`` counts it as reached at duration 0 (the default; such customers
#: are counted in results), ``"ignore"`` looks only at events at or after the
#: start, ``"exclude"`` leaves the customer out.
BeforeStart: TypeAlias = Literal["zero", "ignore", "exclude"]
_BEFORE_START = ("zero", "ignore", "exclude")


class MilestoneKind(enum.Enum):
    """Which Time-to-Value measure a milestone stands for."""

    BASIC = "basic"
    """Time to basic value: the customer sees they chose right."""
    EXCEED = "exceed"
    """Time to exceed value: value beyond what they expected."""
    ONBOARDING = "onboarding"
    """Onboarding time: from signup until onboarding is complete."""
    UPGRADE = "upgrade"
    """Time to upgrade: a free customer converts to paid."""
    FEATURE_ADOPTION = "feature_adoption"
    """New-feature adoption: from a release until first use."""
    ROI = "roi"
    """Time to a preferred ROI: a cumulative metric reaches a target."""


class Speed(enum.StrEnum):
    """How fast value arrived: the one vocabulary of speed classes.

    :meth:`SpeedBands.classify` gives IMMEDIATE, SHORT, LONG or UNDETERMINED;
    :func:`ttvkit.satisfaction` groups scores by IMMEDIATE, SHORT, LONG and
    NOT_YET. A member is its value as a string (``Speed.NOT_YET == "not_yet"``,
    ``str(Speed.NOT_YET) == "not_yet"``), so code that took speed classes as
    strings keeps working.
    """

    IMMEDIATE = "immediate"
    SHORT = "short"
    LONG = "long"
    UNDETERMINED = "undetermined"
    """Still on the way, and censored before the short band ended."""
    NOT_YET = "not_yet"
    """Still on the way, however long watched: satisfaction's class for customers
    without value yet (``classify`` never returns it)."""


_MICROSECOND = timedelta(microseconds=1)

#: The class of a customer who reached, by how many of the bounds lie below the duration.
_REACHED_SPEEDS: Final = (Speed.IMMEDIATE, Speed.SHORT, Speed.LONG)


def _positive_timedelta(value: object, what: str) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidMilestoneError(f"{what}={value!r}: must be a datetime.timedelta")
    if value <= timedelta(0):
        raise InvalidMilestoneError(f"{what}={value}: must be longer than zero")
    return value


@attrs.frozen
class SpeedBands:
    """Classify a time to value as immediate, short or long.

    A customer who reached the milestone within ``immediate`` is
    :attr:`Speed.IMMEDIATE`; within ``short``, :attr:`Speed.SHORT`; later,
    :attr:`Speed.LONG`. A customer still on the way at ``short`` (censored
    at ``short`` or later) is already LONG: reaching at exactly ``short``
    would have been SHORT, and reaching at a time counts before censoring at
    it, so someone censored there did not make it. One censored earlier is
    :attr:`Speed.UNDETERMINED`. Both bounds are inclusive.
    """

    immediate: timedelta = attrs.field()
    short: timedelta = attrs.field()

    @immediate.validator
    def _check_immediate(self, _: attrs.Attribute[timedelta], value: timedelta) -> None:
        _positive_timedelta(value, "immediate")

    @short.validator
    def _check_short(self, _: attrs.Attribute[timedelta], value: timedelta) -> None:
        _positive_timedelta(value, "short")
        if not self.immediate < value:
            raise InvalidMilestoneError(
                f"SpeedBands: immediate ({self.immediate}) must be shorter than short ({value})"
            )

    def classify(self, duration: timedelta, *, reached: bool = True) -> Speed:
        """The speed class of a customer who took *duration* (or is still on the way)."""
        if not reached:
            return Speed.LONG if duration >= self.short else Speed.UNDETERMINED
        # Both bounds inclusive: bisect_left counts the bounds strictly below duration.
        return _REACHED_SPEEDS[bisect.bisect_left((self.immediate, self.short), duration)]

    def classify_reached(self, durations: Iterable[int]) -> list[Speed]:
        """The classes of customers who reached the milestone after *durations*.

        ``durations`` are in microseconds, as
        :class:`~ttvkit.observations.ObservationColumns` holds them; each class
        is the one :meth:`classify` gives ``timedelta(microseconds=d)``, by
        the same bisection over the bounds, without a ``timedelta`` per
        customer.
        """
        bounds = (self.immediate // _MICROSECOND, self.short // _MICROSECOND)
        positions = map(bisect.bisect_left, repeat(bounds), durations)
        return list(map(_REACHED_SPEEDS.__getitem__, positions))

    def count_cells(
        self, durations: Sequence[int], reached: Sequence[int], censored: Sequence[int]
    ) -> dict[Speed, int]:
        """Customers per class from counts per duration, as :meth:`classify` classes each.

        ``durations`` are distinct and ascending, in microseconds (as
        :class:`~ttvkit.observations.DurationCells` holds them); ``reached[i]``
        and ``censored[i]`` customers took ``durations[i]``. The bounds are
        whole microseconds, so each class is a run of durations, found by
        bisection: no step per duration. The classes come in the order
        IMMEDIATE, SHORT, LONG, UNDETERMINED.
        """
        immediate = bisect.bisect_right(durations, self.immediate // _MICROSECOND)
        short = bisect.bisect_right(durations, self.short // _MICROSECOND)
        watched_long = bisect.bisect_left(durations, self.short // _MICROSECOND)
        return {
            Speed.IMMEDIATE: sum(reached[:immediate]),
            Speed.SHORT: sum(reached[immediate:short]),
            Speed.LONG: sum(reached[short:]) + sum(censored[watched_long:]),
            Speed.UNDETERMINED: sum(censored[:watched_long]),
        }

    def to_dict(self) -> dict[str, float]:
        """Bounds in seconds."""
        return {
            "immediate_seconds": self.immediate.total_seconds(),
            "short_seconds": self.short.total_seconds(),
        }


def _check_start(value: object) -> Condition | datetime:
    if isinstance(value, Condition):
        return value
    if isinstance(value, str):
        return event(value)
    if isinstance(value, datetime):
        try:
            return parse_timestamp(value, field="start")
        except InvalidEventError as exc:
            raise InvalidMilestoneError(str(exc)) from None
    raise InvalidMilestoneError(
        f"start={value!r}: must be a condition (e.g. event('signup')), an event name "
        "or an aware datetime"
    )


def _check_reached(value: object) -> Condition:
    if isinstance(value, Condition):
        return value
    if isinstance(value, str):
        return event(value)
    raise InvalidMilestoneError(
        f"reached={value!r}: must be a condition (event(), .nth(), total(), all_of()) "
        "or an event name"
    )


def _check_window(value: object) -> timedelta | None:
    return None if value is None else _positive_timedelta(value, "window")


def _check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidMilestoneError(f"Milestone name={value!r}: must be a non-empty str")
    return value


def _check_before_start(value: object) -> BeforeStart:
    if value not in _BEFORE_START:
        raise InvalidMilestoneError(
            f"before_start={value!r}: must be one of {', '.join(map(repr, _BEFORE_START))}"
        )
    return value  # type: ignore[return-value]  # checked against the Literal's values


@attrs.frozen
class Milestone:
    """A moment of value, and when each customer's clock starts towards it.

    ``start`` is a condition (the first time the customer reaches it starts
    the clock), an event name, or an aware datetime: the clock then starts at
    the later of that datetime and the customer's first event (a feature's
    release). ``window`` is a conversion window: a customer who has not
    reached the milestone within it is censored at the window's end, never
    counted as reached. ``before_start`` says what a milestone reached before
    the start means (see :data:`BeforeStart`).
    """

    name: str = attrs.field(converter=_check_name)
    reached: Condition = attrs.field(converter=_check_reached)
    start: Condition | datetime = attrs.field(
        factory=lambda: event("signup"), converter=_check_start
    )
    kind: MilestoneKind = attrs.field(default=MilestoneKind.BASIC)
    window: timedelta | None = attrs.field(default=None, converter=_check_window)
    before_start: BeforeStart = attrs.field(default="zero", converter=_check_before_start)

    @kind.validator
    def _check_kind(self, _: attrs.Attribute[MilestoneKind], value: object) -> None:
        if not isinstance(value, MilestoneKind):
            raise InvalidMilestoneError(f"kind={value!r}: must be a MilestoneKind")

    def describe(self) -> str:
        """One line: name, kind, start, reached and window."""
        start = (
            f"from {self.start.isoformat()}"
            if isinstance(self.start, datetime)
            else f"from {self.start.describe()}"
        )
        window = f", within {format_duration(self.window)}" if self.window else ""
        return f"{self.name} ({self.kind.value}): {start} to {self.reached.describe()}{window}"

    def to_dict(self) -> dict[str, str | float | None]:
        """A JSON-ready description (conditions as text)."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "start": self.start.isoformat()
            if isinstance(self.start, datetime)
            else self.start.describe(),
            "reached": self.reached.describe(),
            "window_seconds": None if self.window is None else self.window.total_seconds(),
            "before_start": self.before_start,
        }


def _stage_order_problem(earlier: Condition, later: Condition) -> str | None:
    """Why *later* cannot come after *earlier* by construction, or None.

    Only the unambiguous case is caught: the same event filter asked for a
    smaller count later (``nth(10)`` then ``nth(1)``).
    """

    def count_of(c: Condition) -> tuple[Condition, int] | None:
        if isinstance(c, EventCondition):
            return c, 1
        inner, k = getattr(c, "event", None), getattr(c, "k", None)
        if isinstance(inner, EventCondition) and isinstance(k, int):
            return inner, k
        return None

    a, b = count_of(earlier), count_of(later)
    if a is not None and b is not None and a[0] == b[0] and b[1] < a[1]:
        return (
            f"{later.describe()!r} is always reached no later than {earlier.describe()!r}; "
            "list stages in the order customers reach them"
        )
    return None


def _as_stages(value: Iterable[Milestone]) -> tuple[Milestone, ...]:
    if isinstance(value, Milestone | str) or not isinstance(value, Iterable):
        raise InvalidMilestoneError(f"a Journey takes a list of Milestones, not {value!r}")
    return tuple(value)


@attrs.frozen
class Journey:
    """Value delivered in stages: milestones customers reach one after another.

    Every stage shares the journey's start (the first stage's). A customer
    has completed stage *i* once they reached it and every stage before it.
    """

    stages: tuple[Milestone, ...] = attrs.field(converter=_as_stages)

    @stages.validator
    def _check_stages(
        self, _: attrs.Attribute[tuple[Milestone, ...]], value: tuple[Milestone, ...]
    ) -> None:
        if len(value) < 2:
            raise InvalidMilestoneError("a Journey needs at least two stages")
        for i, stage in enumerate(value):
            if not isinstance(stage, Milestone):
                raise InvalidMilestoneError(f"stage {i + 1} ({stage!r}) is not a Milestone")
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise InvalidMilestoneError(f"stage names must be distinct: {names}")
        first = value[0].start
        for i, stage in enumerate(value[1:], start=2):
            if stage.start != first:
                raise InvalidMilestoneError(
                    f"stage {i} ({stage.name!r}) starts at {_describe_start(stage.start)}, but the "
                    f"journey starts at {_describe_start(first)}; give every stage the same start"
                )
        for i in range(1, len(value)):
            problem = _stage_order_problem(value[i - 1].reached, value[i].reached)
            if problem:
                raise InvalidMilestoneError(f"stages out of order: {problem}")

    @property
    def start(self) -> Condition | datetime:
        """When each customer's journey starts."""
        return self.stages[0].start

    def to_dict(self) -> dict[str, object]:
        return {"stages": [s.to_dict() for s in self.stages]}


def _describe_start(start: Condition | datetime) -> str:
    return start.isoformat() if isinstance(start, datetime) else start.describe()


_StartLike: TypeAlias = Condition | str | datetime


def first_value(
    reached: Condition | str,
    *,
    name: str = "first_value",
    start: _StartLike = "signup",
    window: timedelta | None = None,
) -> Milestone:
    """Time to basic value: the first time the customer gets what they came for."""
    return Milestone(name, reached, start, MilestoneKind.BASIC, window)


def exceed_value(
    reached: Condition | str,
    *,
    name: str = "exceed_value",
    start: _StartLike = "signup",
    window: timedelta | None = None,
) -> Milestone:
    """Time to exceed value, e.g. ``event("report_created").nth(10)``."""
    return Milestone(name, reached, start, MilestoneKind.EXCEED, window)


def upgrade(
    reached: Condition | str = "upgraded",
    *,
    name: str = "upgrade",
    start: _StartLike = "signup",
    window: timedelta | None = None,
) -> Milestone:
    """Time to upgrade from a free plan to a paid one."""
    return Milestone(name, reached, start, MilestoneKind.UPGRADE, window)


def onboarding(
    complete: Condition | str | Sequence[Condition | str] = "onboarding_completed",
    *,
    name: str = "onboarding",
    start: _StartLike = "signup",
    window: timedelta | None = None,
) -> Milestone:
    """Onboarding time: one completion event, or all of a set of step events.

    With several steps the milestone is reached when the last of them
    happened (each step's first occurrence counts).
    """
    if isinstance(complete, Condition | str):
        reached: Condition | str = complete
    else:
        reached = all_of(*complete)
    return Milestone(name, reached, start, MilestoneKind.ONBOARDING, window)


def feature_adoption(
    feature: Condition | str,
    released_at: datetime,
    *,
    name: str | None = None,
    window: timedelta | None = None,
) -> Milestone:
    """New-feature adoption: from the release (or the customer's first event, if later)
    until the customer first uses the feature."""
    reached = event(feature) if isinstance(feature, str) else feature
    return Milestone(
        name or f"adopt {reached.describe()}",
        reached,
        released_at,
        MilestoneKind.FEATURE_ADOPTION,
        window,
    )


def roi(
    event_name: str,
    property: str,
    target: float,
    *,
    name: str | None = None,
    start: _StartLike = "signup",
    window: timedelta | None = None,
) -> Milestone:
    """Time to a preferred ROI: the running sum of *property* reaches *target*."""
    return Milestone(
        name or f"{property} {number_text(target)}",
        total(event_name, property, at_least=target),
        start,
        MilestoneKind.ROI,
        window,
    )
