"""The Source and Store protocols every backend implements, and a base class with the
shared parts."""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from ttvkit._table_kinds import EVENT_READERS, frame_kind
from ttvkit.conditions import Condition
from ttvkit.errors import InvalidArgumentError, InvalidEventError
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone
from ttvkit.observations import (
    Attribute,
    DurationCells,
    FirstTime,
    Observation,
    ObservationColumns,
    Per,
    PropertyOf,
    check_aware,
    check_question,
    observe,
    observe_ordered,
)

__all__ = [
    "BaseSource",
    "BaseStore",
    "Source",
    "Store",
    "appended_batch",
    "event_filter",
    "event_names_of",
    "needed_event_names",
]


@runtime_checkable
class Source(Protocol):
    """What the calculators need: events to compute observations from, read-only.

    A read-only source (the result of :func:`ttvkit.scan`, a warehouse
    table) implements only this; a :class:`Store` adds writing and reading
    events back. ``observations`` computes one row per customer inside the
    backend, with exactly the rules of :func:`ttvkit.observations.observe`.

    A source may also offer ``event_names() -> frozenset[str]``, the distinct
    event names it holds (every built-in store and :func:`ttvkit.scan` do, with
    one ``SELECT DISTINCT``). The calculators use it to warn about a name that
    matches nothing; a :class:`Store` without it is read through ``events()``,
    any other source is not checked (see :func:`event_names_of`).
    """

    def observations(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> list[Observation]:
        """One observation per customer, sorted by ``customer_id``."""
        ...

    def latest_timestamp(self) -> datetime | None:
        """The newest event's timestamp, or ``None`` when there are none."""
        ...

    def close(self) -> None:
        """Release connections and files; further use raises ``StoreError``."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class Store(Source, Protocol):
    """Where value events live: a :class:`Source` that can also be written and read back.

    ``append`` is idempotent: an event whose ``event_id`` is already stored
    is skipped, and the return value counts only the new ones.
    """

    def append(self, events: Sequence[ValueEvent]) -> int:
        """Store *events* atomically; return how many were new."""
        ...

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        """Stored events, oldest first (ties by ``event_id``), filtered by name,
        user and an inclusive time range."""
        ...

    def count(self) -> int:
        """How many events are stored."""
        ...


def event_names_of(source: object) -> frozenset[str] | None:
    """The distinct event names *source* holds, or ``None`` when it cannot say.

    Uses the source's ``event_names()`` (one ``SELECT DISTINCT`` in the SQL
    stores); a :class:`Store` without it is read through ``events()``; any
    other source gives ``None`` (a read-only source is never read whole just
    for this: a warehouse table or a Spark DataFrame may be large).
    """
    method = getattr(source, "event_names", None)
    if callable(method):
        names = method()
        return frozenset(names)
    if isinstance(source, Store):
        return frozenset(e.name for e in source.events())
    return None


def _condition_names(condition: Condition) -> frozenset[str]:
    return condition.event_names()


def needed_event_names(
    milestone: Milestone, attributes: Sequence[Attribute] = ()
) -> frozenset[str] | None:
    """The event names that can affect these observations, or ``None`` for all.

    A datetime start needs every event (the customer's first event of any
    kind starts the clock), so it returns ``None``.
    """
    if isinstance(milestone.start, datetime):
        return None
    names = set(milestone.start.event_names()) | milestone.reached.event_names()
    for a in attributes:
        if isinstance(a, FirstTime | PropertyOf):
            names |= _condition_names(a.condition)
    return frozenset(names)


class BaseSource(abc.ABC):
    """Shared behaviour of read-only sources: context management, and the generic
    observations path.

    A backend that cannot push the work down may rely on :meth:`observations`
    here, which streams the relevant events of :meth:`events` through
    :func:`~ttvkit.observations.observe`.
    """

    #: Whether :meth:`events` yields each ``event_id`` once, in (timestamp,
    #: event_id) order. A source that guarantees it lets the generic
    #: :meth:`observations` skip deduplicating and re-sorting.
    events_unique_and_ordered: bool = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]: ...

    @abc.abstractmethod
    def latest_timestamp(self) -> datetime | None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def observations(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> list[Observation]:
        return self.generic_observations(milestone, as_of=as_of, per=per, attributes=attributes)

    def generic_observations(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> list[Observation]:
        """The events streamed through :func:`~ttvkit.observations.observe`: the path
        for conditions an engine cannot compile (user-defined condition classes)."""
        attributes = check_question(milestone, per, attributes)
        if as_of is not None:
            check_aware(as_of, "as_of")
        if as_of is None:
            as_of = self.latest_timestamp()
            if as_of is None:
                return []
        events = self.events(names=needed_event_names(milestone, attributes), until=as_of)
        if self.events_unique_and_ordered:
            return observe_ordered(events, milestone, as_of=as_of, per=per, attributes=attributes)
        return observe(events, milestone, as_of=as_of, per=per, attributes=attributes)

    def observation_columns(
        self,
        milestone: Milestone,
        *,
        as_of: datetime | None = None,
        per: Per = "user",
        attributes: Sequence[Attribute] = (),
    ) -> ObservationColumns:
        """:meth:`observations` as columns (engines compute them without objects)."""
        rows = self.observations(milestone, as_of=as_of, per=per, attributes=attributes)
        return ObservationColumns.from_rows(rows, len(tuple(attributes)))

    def duration_cells(
        self, milestone: Milestone, *, as_of: datetime | None = None, per: Per = "user"
    ) -> DurationCells:
        """The observations grouped by duration: all a curve needs."""
        return self.observation_columns(milestone, as_of=as_of, per=per).cells()


class BaseStore(BaseSource):
    """Shared behaviour of stores: :class:`BaseSource`, plus writing and counting."""

    @abc.abstractmethod
    def append(self, events: Sequence[ValueEvent]) -> int: ...

    @abc.abstractmethod
    def count(self) -> int: ...


def event_filter(values: Collection[str] | None, what: str) -> list[str] | None:
    """The ``names=`` or ``users=`` of ``events()``, checked alike on every store.

    None (no filter) stays None; a collection gives its items as ``str``. One
    ``str`` is refused: it is a collection of its characters, which would
    silently match nothing.
    """
    if values is None:
        return None
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidArgumentError(
            f"{what}={values!r}: pass a collection of str (e.g. [{values!r}]), not one value"
        )
    return [str(v) for v in values]


def appended_batch(events: Iterable[ValueEvent]) -> list[ValueEvent]:
    """The events given to ``append()`` as a list, every one checked a ``ValueEvent``
    before any is stored (all or nothing), alike on every store."""
    library = frame_kind(events)
    if library is not None:  # iterating a DataFrame gives its column names
        reader, name = EVENT_READERS[library]
        raise InvalidEventError(
            f"append() takes ValueEvent objects, not a {library} {type(events).__name__}: "
            f"read its rows as events with {reader}, or analyse it where it is with "
            f"ttvkit.scan({name})"
        )
    if isinstance(events, ValueEvent) or not isinstance(events, Iterable):
        raise InvalidEventError(
            f"append() takes a list of ValueEvent objects, not {type(events).__name__}: "
            "pass [event] for one event"
        )
    batch = list(events)
    for e in batch:
        if not isinstance(e, ValueEvent):
            raise InvalidEventError(
                f"append() takes ValueEvent objects, not {type(e).__name__}; build them "
                "with ValueEvent(...) or ValueEvent.from_mapping(row)"
            )
    return batch
