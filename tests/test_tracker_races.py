"""Tracker races and edge cases: concurrent flushes, a store call that hangs past close,
BaseExceptions from a store or callback, sync mode under contention, huge timeouts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

from ttvkit import MemoryStore, StoreError, StoreUnavailableError, ValueEvent
from ttvkit.tracker import DeliveryFailure, RetryPolicy, Tracker, TrackerConfig

from .test_tracker_faults import wait_until

FAST_RETRY = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


class HeldStore(MemoryStore):
    """``append`` signals ``entered``, waits for ``gate``, then fails if ``broken``."""

    def __init__(self, *, broken: bool = False) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.broken = broken
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if not events:
            return 0
        self.entered.set()
        self.gate.wait(5)
        if self.broken:
            raise StoreError("table was dropped")
        return super().append(events)


def test_concurrent_flushes_both_report_a_loss_they_cover() -> None:
    store = HeldStore(broken=True)
    tracker = Tracker(store, config=TrackerConfig(flush_interval=60))
    tracker.track("alice", "signup")
    tracker.track("bob", "signup")
    results: dict[str, bool] = {}

    def flush(name: str) -> None:
        results[name] = tracker.flush(5)

    first = threading.Thread(target=flush, args=("first",))
    first.start()
    assert store.entered.wait(2)  # the writer holds both events in a store call
    second = threading.Thread(target=flush, args=("second",))
    second.start()
    # Both flushes are waiting before the batch fails.
    assert wait_until(lambda: tracker._pipeline.markers_queued == 1)
    store.gate.set()
    first.join(2)
    second.join(2)
    assert results == {"first": False, "second": False}
    assert tracker.stats().failed == 2
    assert tracker.flush(1) is True  # reported; nothing lost since
    tracker.close()


def test_close_gives_up_on_a_hung_store_call_and_counts_it() -> None:
    store = HeldStore()
    failures: list[DeliveryFailure] = []
    tracker = Tracker(store, on_error=failures.append, config=TrackerConfig(batch_size=3))
    for i in range(3):
        tracker.track(f"u{i}", "signup")
    assert store.entered.wait(2)  # the writer is stuck in append() with 3 events
    tracker.track("u3", "signup")
    tracker.track("u4", "signup")
    assert tracker.close(0.05) is False
    stats = tracker.stats()
    assert (stats.accepted, stats.failed, stats.queue_depth, stats.written) == (5, 5, 0, 0)
    assert sum(f.events for f in failures if f.kind == "failed") == 5
    assert tracker.close() is False  # the first result
    # The hung call returns and stores its batch late: counted once, as failed.
    store.gate.set()
    assert wait_until(lambda: tracker._pipeline.thread is None, 2)
    assert store.count() == 3
    assert tracker.stats() == stats
    assert sum(f.events for f in failures if f.kind == "failed") == 5


class CancelledOnce(MemoryStore):
    def __init__(self) -> None:
        self.armed = True
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if self.armed and events:
            self.armed = False
            raise asyncio.CancelledError()
        return super().append(events)


def test_store_raising_a_base_exception_fails_the_batch_and_the_writer_goes_on() -> None:
    store = CancelledOnce()
    tracker = Tracker(store)
    tracker.track("u1", "signup")
    started = time.monotonic()
    assert tracker.flush(1.5) is False
    assert time.monotonic() - started < 1.0  # settled, not timed out
    stats = tracker.stats()
    assert (stats.failed, stats.queue_depth) == (1, 0)
    assert stats.last_error is not None and stats.last_error.startswith("CancelledError")
    tracker.track("u2", "signup")
    assert tracker.flush(1.5) is True
    assert store.count() == 1
    assert tracker.close(1) is True


class Flaky(MemoryStore):
    def __init__(self) -> None:
        self.failures = 1
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if self.failures and events:
            self.failures -= 1
            raise StoreUnavailableError("blip")
        return super().append(events)


class CallbackStop(BaseException):
    pass


def test_on_error_raising_a_base_exception_does_not_kill_the_writer() -> None:
    store = Flaky()

    def on_error(failure: DeliveryFailure) -> None:
        raise CallbackStop("callback bug")

    tracker = Tracker(store, on_error=on_error, config=TrackerConfig(retry=FAST_RETRY))
    for _ in range(3):
        tracker.track("u", "signup")
    assert tracker.flush(1.5) is True
    tracker.track("u", "signup2")
    assert tracker.flush(1.5) is True
    stats = tracker.stats()
    assert (stats.written, stats.callback_errors) == (4, 1)
    assert tracker.close(1) is True


def test_sync_timeout_includes_the_wait_for_another_threads_write() -> None:
    store = HeldStore()  # a store call that ignores the deadline, as SQLite's busy wait
    tracker = Tracker(store, config=TrackerConfig(sync=True, sync_timeout=0.2))
    first = threading.Thread(target=tracker.track, args=("u1", "signup"))
    first.start()
    assert store.entered.wait(2)
    started = time.monotonic()
    tracker.track("u2", "signup")
    elapsed = time.monotonic() - started
    store.gate.set()
    first.join(2)
    assert elapsed < 1.0
    stats = tracker.stats()
    assert (stats.written, stats.failed, stats.queue_depth) == (1, 1, 0)
    tracker.close()


def test_timeouts_beyond_timeout_max_wait_instead_of_overflowing() -> None:
    huge = threading.TIMEOUT_MAX * 2
    tracker = Tracker(MemoryStore())
    tracker.track("u", "x")
    assert tracker.flush(huge) is True
    assert tracker.close(huge) is True

    slow = Tracker(MemoryStore(), config=TrackerConfig(flush_interval=huge))
    slow.track("u", "x")
    assert slow.flush(1) is True
    assert slow.stats().written == 1
    assert slow.close(1) is True


class Down(MemoryStore):
    def append(self, events: Sequence[ValueEvent]) -> int:
        if events:
            raise StoreUnavailableError("down")
        return 0


def test_huge_block_timeout_blocks_until_close_and_never_raises() -> None:
    config = TrackerConfig(
        when_full="block",
        block_timeout=threading.TIMEOUT_MAX * 2,
        max_queue_size=1,
        retry=FAST_RETRY,
    )
    tracker = Tracker(Down(), config=config)
    tracker.track("u", "a")
    errors: list[BaseException] = []
    returned = threading.Event()

    def track() -> None:
        try:
            tracker.track("u", "b")
        except BaseException as exc:  # what the bug raised: OverflowError
            errors.append(exc)
        returned.set()

    blocked = threading.Thread(target=track)
    blocked.start()
    assert wait_until(lambda: tracker._pipeline.blocked == 1, 2)
    assert tracker.close(0.1) is False
    assert returned.wait(1)
    blocked.join(1)
    assert errors == []
    stats = tracker.stats()
    assert (stats.accepted, stats.dropped, stats.failed, stats.queue_depth) == (2, 1, 1, 0)
