"""Helpers for testing code that uses ttvkit: a frozen clock and event builders.

>>> from ttvkit.testing import FrozenClock, EventLog
>>> clock = FrozenClock("2026-01-01T00:00:00Z")
>>> log = EventLog(clock)
>>> log.add("u1", "signup"); clock.advance(hours=2); log.add("u1", "report_created")
>>> store = log.store()          # a populated MemoryStore
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

from ttvkit.events import JSONValue, TimestampLike, ValueEvent, parse_timestamp
from ttvkit.stores.memory import MemoryStore

__all__ = ["EventLog", "FrozenClock"]


class FrozenClock:
    """A clock that moves only when told to; call it to read the time.

    Pass it wherever ttvkit takes a ``clock`` (e.g. ``Tracker(clock=...)``).
    """

    def __init__(self, start: TimestampLike = "2026-01-01T00:00:00Z") -> None:
        self._now = parse_timestamp(start, field="start")

    def __call__(self) -> datetime:
        return self._now

    def now(self) -> datetime:
        """The current frozen time."""
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by *delta* or by ``timedelta(**kwargs)``; return the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a FrozenClock only moves forward; use set() to go back")
        self._now += step
        return self._now

    def set(self, when: TimestampLike) -> datetime:
        """Jump to *when*."""
        self._now = parse_timestamp(when, field="when")
        return self._now


class EventLog:
    """Build a list of value events against a clock, for tests and examples."""

    def __init__(self, clock: FrozenClock | None = None) -> None:
        self.clock = clock or FrozenClock()
        self._events: list[ValueEvent] = []

    def add(
        self,
        user_id: str,
        name: str,
        properties: Mapping[str, JSONValue] | None = None,
        *,
        at: TimestampLike | None = None,
        after: timedelta | None = None,
        account_id: str | None = None,
        event_id: str | None = None,
    ) -> ValueEvent:
        """Record an event now (or ``at`` a time, or ``after`` a delay from now)."""
        when = parse_timestamp(at, field="at") if at is not None else self.clock()
        if after is not None:
            when = when + after
        event = ValueEvent(
            user_id=user_id,
            name=name,
            timestamp=when,
            properties=properties,
            account_id=account_id,
            event_id=event_id,
        )
        self._events.append(event)
        return event

    @property
    def events(self) -> list[ValueEvent]:
        """The events so far, in the order added."""
        return list(self._events)

    def __iter__(self) -> Iterator[ValueEvent]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def store(self) -> MemoryStore:
        """A new :class:`~ttvkit.stores.MemoryStore` holding these events."""
        return MemoryStore(self._events)
