"""Tracker faults from issue 9: lost-event reporting, the queue bound, invalid input.

Store failures come from ``GatedStore``, a MemoryStore whose ``append``
raises while a switch is on, or blocks while a gate is closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from ttvkit import InvalidEventError, MemoryStore, StoreUnavailableError, ValueEvent
from ttvkit.tracker import RetryPolicy, Tracker, TrackerConfig

FAST_RETRY = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


class GatedStore(MemoryStore):
    """``append`` raises while ``down`` is set and waits while ``gate`` is clear."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if not events:
            return 0
        self.entered.set()
        self.gate.wait(30)
        if self.down.is_set():
            raise StoreUnavailableError("the test switched the store off")
        return super().append(events)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


# ------------------------------------------------------------ 1: flush() reports losses


def test_a_flush_after_a_timed_out_flush_still_reports_the_losses() -> None:
    store = GatedStore()
    store.down.set()
    config = TrackerConfig(max_queue_size=100, batch_size=50, retry=FAST_RETRY)
    with Tracker(store, config=config) as tracker:
        for i in range(250):
            tracker.track(f"u{i}", "signup")
        assert tracker.stats().dropped > 0
        assert tracker.flush(timeout=0.3) is False  # timed out: the store is down
        store.down.clear()
        # The events dropped since the last flush that returned are still unreported.
        assert tracker.flush(timeout=10) is False
        assert tracker.flush(timeout=10) is True  # reported once, not again
        stats = tracker.stats()
    assert stats.written + stats.dropped == 250
    assert store.count() == stats.written


def test_close_after_a_timed_out_flush_reports_the_losses() -> None:
    store = GatedStore()
    store.down.set()
    config = TrackerConfig(max_queue_size=10, batch_size=5, retry=FAST_RETRY)
    tracker = Tracker(store, config=config)
    for i in range(30):
        tracker.track(f"u{i}", "signup")
    assert tracker.flush(timeout=0.2) is False
    store.down.clear()
    assert tracker.close(timeout=10) is False
    assert tracker.stats().dropped == 20


# ------------------------------------------------------------ 12: the queue bound


@pytest.mark.parametrize("when_full", ["drop", "block"])
def test_the_queue_holds_at_most_max_queue_size_events_including_the_batch_in_flight(
    when_full: str,
) -> None:
    store = GatedStore()
    store.gate.clear()  # the writer takes a batch and hangs in append()
    config = TrackerConfig(
        max_queue_size=100,
        batch_size=40,
        flush_interval=0.01,
        when_full=when_full,  # type: ignore[arg-type]
        block_timeout=0.01,
    )
    with Tracker(store, config=config) as tracker:
        for i in range(50):
            tracker.track(f"u{i}", "signup")
        assert store.entered.wait(5)  # a batch of 40 is in flight
        for i in range(150):
            tracker.track(f"u{i}", "signup")
        stats = tracker.stats()
        assert (stats.accepted, stats.queue_depth, stats.dropped) == (200, 100, 100)
        store.gate.set()
        assert tracker.flush(timeout=10) is False  # 100 were dropped
    assert store.count() == 100
