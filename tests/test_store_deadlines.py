"""SQLite's wait for the write lock ends at the deadline a tracker lends, and at close().

Another connection (here: of this process, which SQLite treats as any other
process's) holds the write lock with ``BEGIN IMMEDIATE``. The store's own
busy timeout is 30 s; only the lent deadline (:mod:`ttvkit.stores.deadline`)
or ``store.close()`` from another thread may end the wait earlier.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ttvkit import StoreUnavailableError, ValueEvent
from ttvkit.stores.deadline import bounded_by
from ttvkit.stores.sqlite import SQLiteStore
from ttvkit.tracker import Tracker, TrackerConfig

from .closing import assert_close_ends_the_call, assert_tracker_close_gives_up

#: The writer stores at once, so that close() finds it waiting.
_PROMPT = TrackerConfig(flush_interval=timedelta(milliseconds=10))

SLACK = 0.5  # a wait slice, scheduling on a shared 2-core machine


def _event(n: int) -> ValueEvent:
    return ValueEvent(f"u{n}", "signup", "2026-01-01T09:00:00Z")


@pytest.fixture
def path(tmp_path: Path) -> str:
    path = str(tmp_path / "ttv.db")
    SQLiteStore(path).close()  # the schema, and WAL mode
    return path


@pytest.fixture
def locked(path: str) -> Iterator[sqlite3.Connection]:
    """A second connection holding the database's write lock."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.usefixtures("locked")
def test_a_lent_deadline_ends_the_wait_for_the_write_lock(path: str) -> None:
    with SQLiteStore(path, timeout=30) as store:
        started = time.monotonic()
        with bounded_by(lambda: started + 0.3), pytest.raises(StoreUnavailableError) as caught:
            store.append([_event(1)])
        took = time.monotonic() - started
        assert 0.3 <= took < 0.3 + SLACK
        assert "deadline" in str(caught.value)
        assert store.count() == 0


def test_a_deadline_lent_while_waiting_counts(path: str, locked: sqlite3.Connection) -> None:
    # The limit is read again while the call waits: close() during a write.
    lent: list[float] = []
    with SQLiteStore(path, timeout=30) as store:
        started = time.monotonic()
        threading.Timer(0.2, lambda: lent.append(time.monotonic())).start()
        with bounded_by(lambda: lent[0] if lent else None), pytest.raises(StoreUnavailableError):
            store.append([_event(1)])
        assert time.monotonic() - started < 0.2 + SLACK
        locked.execute("ROLLBACK")
        assert store.count() == 0


@pytest.mark.usefixtures("locked")
def test_close_from_another_thread_ends_the_wait(path: str) -> None:
    store = SQLiteStore(path, timeout=30)
    store.count()  # this thread's connection is open
    assert_close_ends_the_call(store, lambda: store.append([_event(1)]), after=0.2, slack=SLACK)


@pytest.mark.usefixtures("locked")
def test_tracker_close_ends_a_write_blocked_by_another_connection(path: str) -> None:
    before = set(threading.enumerate())
    tracker = Tracker(f"sqlite:///{path}", on_error=lambda failure: None, config=_PROMPT)
    for n in range(5):
        tracker.track(f"u{n}", "signup")
    time.sleep(0.3)  # the writer is waiting for the lock
    assert_tracker_close_gives_up(tracker, before, events=5, slack=SLACK)


def test_the_store_timeout_still_holds_without_a_deadline(
    path: str, locked: sqlite3.Connection
) -> None:
    with SQLiteStore(path, timeout=0.3) as store:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="stayed locked"):
            store.append([_event(1)])
        assert 0.3 <= time.monotonic() - started < 0.3 + SLACK
    # A lock released while the call waits is taken: no slice gives up early.
    threading.Timer(0.3, lambda: locked.execute("ROLLBACK")).start()
    with SQLiteStore(path, timeout=5) as store:
        started = time.monotonic()
        assert store.append([_event(2)]) == 1
        assert 0.25 <= time.monotonic() - started < 0.3 + SLACK
