"""MemoryStore: events in a Python list. The reference every other store must match."""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime

from ttvkit._fork import at_fork
from ttvkit._gc import paused_gc
from ttvkit.errors import ConfigurationError, StoreError
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone
from ttvkit.observations import DurationCells, Per, check_aware, check_question, settle, to_micros
from ttvkit.stores._base import BaseStore, appended_batch, event_filter
from ttvkit.stores.sql.plan import (
    Earliest,
    FirstMatch,
    Latest,
    Node,
    UnsupportedConditionError,
    build_plan,
)

__all__ = ["MemoryStore"]


class MemoryStore(BaseStore):
    """A thread-safe in-memory store; nothing survives the process.

    Useful in tests, notebooks, and as the test double for code that takes a
    store. Its ``observations()`` is the pure-Python reference.
    """

    # Appends deduplicate and keep (timestamp, event_id) order.
    events_unique_and_ordered = True

    def __init__(self, events: Iterable[ValueEvent] = ()) -> None:
        self._lock = threading.Lock()
        self._keys: list[tuple[datetime, str]] = []
        self._events: list[ValueEvent] = []
        self._ids: set[str] = set()
        # The first time of each event name per user and per account, kept as events
        # are appended: the answer of plain questions without a pass over the events.
        self._firsts: dict[Per, dict[str, dict[str, datetime]]] = {"user": {}, "account": {}}
        self._closed = False
        _open_stores.add(self)
        self.append(appended_batch(events))

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """Open ``memory://`` (nothing may follow the scheme)."""
        if url.rstrip("/") not in ("memory:", "memory:/"):
            raise ConfigurationError(
                f"store URL {url!r}: a memory store takes no path: 'memory://'"
            )
        return cls()

    def __repr__(self) -> str:
        return f"<MemoryStore events={len(self._events)}>"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this MemoryStore is closed; open a new one")

    def append(self, events: Sequence[ValueEvent]) -> int:
        events = appended_batch(events)
        with self._lock:
            self._check_open()
            new = 0
            batch: list[ValueEvent] = []
            for e in events:
                if e.event_id in self._ids:
                    continue
                self._ids.add(e.event_id)
                batch.append(e)
                new += 1
            if not batch:
                return 0
            self._index_first_times(batch)
            tail = self._keys[-1] if self._keys else None
            batch.sort(key=lambda e: (e.timestamp, e.event_id))
            if tail is None or (batch[0].timestamp, batch[0].event_id) > tail:
                # The common case: events arrive in time order.
                self._events.extend(batch)
                self._keys.extend((e.timestamp, e.event_id) for e in batch)
            else:
                for e in batch:
                    key = (e.timestamp, e.event_id)
                    i = bisect.bisect_right(self._keys, key)
                    self._keys.insert(i, key)
                    self._events.insert(i, e)
            return new

    def events(
        self,
        *,
        names: Collection[str] | None = None,
        users: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[ValueEvent]:
        name_list = event_filter(names, "names")
        user_list = event_filter(users, "users")
        if since is not None:
            check_aware(since, "since")
        if until is not None:
            check_aware(until, "until")
        with self._lock:
            self._check_open()
            lo = 0 if since is None else bisect.bisect_left(self._keys, (since, ""))
            hi = len(self._keys)
            if until is not None:
                hi = bisect.bisect_left(self._keys, (until, "\U0010ffff\U0010ffff"))
                # any event at exactly `until` sorts before that sentinel key
                while hi < len(self._keys) and self._keys[hi][0] <= until:
                    hi += 1
            snapshot = self._events[lo:hi]
        name_set = None if name_list is None else frozenset(name_list)
        user_set = None if user_list is None else frozenset(user_list)
        for e in snapshot:
            if name_set is not None and e.name not in name_set:
                continue
            if user_set is not None and e.user_id not in user_set:
                continue
            yield e

    def _index_first_times(self, batch: list[ValueEvent]) -> None:
        for per, firsts_by_name in self._firsts.items():
            for e in batch:
                customer = e.user_id if per == "user" else e.account_id
                if customer is None:
                    continue
                firsts = firsts_by_name.setdefault(e.name, {})
                seen = firsts.get(customer)
                if seen is None or e.timestamp < seen:
                    firsts[customer] = e.timestamp

    def duration_cells(
        self, milestone: Milestone, *, as_of: datetime | None = None, per: Per = "user"
    ) -> DurationCells:
        """The observations grouped by duration.

        A milestone whose start and reached conditions are plain events (and
        their ``all_of`` / ``any_of``), with ``before_start`` ``"zero"`` or
        ``"exclude"``, is answered from the first times kept per customer;
        any other from the events (:meth:`observations`). Both apply the
        same rules (:func:`~ttvkit.observations.settle`).
        """
        check_question(milestone, per, ())
        if as_of is not None:
            check_aware(as_of, "as_of")
        try:
            plan = build_plan(milestone, per, ())
        except UnsupportedConditionError:
            plan = None
        if (
            plan is None
            or isinstance(plan.start, int)
            or plan.reached_from_start
            or not (_plain(plan.start) and _plain(plan.reached))
        ):
            return super().duration_cells(milestone, as_of=as_of, per=per)
        pairs: list[tuple[int, bool]] = []
        before = 0
        # A tuple per customer while a million events are alive: a collection would walk them all.
        with self._lock, paused_gc():
            self._check_open()
            if not self._keys:
                return DurationCells.from_pairs(())
            latest = self._keys[-1][0]
            until = latest if as_of is None else as_of
            firsts = self._firsts[per]
            starts = _first_times(plan.start, firsts, until, latest)
            reached = _first_times(plan.reached, firsts, until, latest)
            until_us = to_micros(until)
            for customer, start in starts.items():
                at = reached.get(customer)
                start_us = to_micros(start)
                settled = settle(
                    start_us,
                    None if at is None else to_micros(at),
                    until_us,
                    plan.window,
                    plan.before_start,
                )
                if settled is not None:
                    pairs.append((settled.end - start_us, settled.observed))
                    before += settled.reached_before_start
        return DurationCells.from_pairs(pairs, before)

    def latest_timestamp(self) -> datetime | None:
        with self._lock:
            self._check_open()
            return self._keys[-1][0] if self._keys else None

    def event_names(self) -> frozenset[str]:
        """The distinct event names held (the first-time index's names: every event has a user)."""
        with self._lock:
            self._check_open()
            return frozenset(self._firsts["user"])

    def count(self) -> int:
        with self._lock:
            self._check_open()
            return len(self._events)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._events = []
            self._keys = []
            self._ids = set()
            self._firsts = {"user": {}, "account": {}}


def _plain(node: Node) -> bool:
    """Whether *node* is plain events (no ``where``), or all_of / any_of of such."""
    if isinstance(node, Latest | Earliest):
        return all(_plain(part) for part in node.parts)
    return isinstance(node, FirstMatch) and not node.match.condition.where


def _first_times(
    node: Node, firsts: dict[str, dict[str, datetime]], until: datetime, latest: datetime
) -> dict[str, datetime]:
    """Each customer's first time of a plain *node* at or before *until* (read-only)."""
    if isinstance(node, FirstMatch):
        times = firsts.get(node.match.condition.name, {})
        # The first time is the earliest: later than *until* means none by then.
        return times if until >= latest else {c: t for c, t in times.items() if t <= until}
    assert isinstance(node, Latest | Earliest)
    parts = [_first_times(part, firsts, until, latest) for part in node.parts]
    if isinstance(node, Latest):  # all_of: every part reached, at the last of them
        common = set(parts[0]).intersection(*parts[1:])
        return {c: max(p[c] for p in parts) for c in common}
    merged: dict[str, datetime] = {}  # any_of: the first of the parts reached
    for part in parts:
        for customer, time in part.items():
            seen = merged.get(customer)
            if seen is None or time < seen:
                merged[customer] = time
    return merged


# A child forked while another thread held a store's lock would deadlock on
# it: give every live store a fresh lock in the child.
_open_stores: weakref.WeakSet[MemoryStore] = weakref.WeakSet()


def _reset_locks() -> None:
    for store in list(_open_stores):
        store._lock = threading.Lock()


at_fork(after_in_child=_reset_locks)
