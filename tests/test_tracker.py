"""Tracker: validation, batching, flush, retries, the full queue, close, sync mode, fork, exit.

Store failures come from ``FlakyStore``, a real MemoryStore whose ``append``
raises while a switch is on: a test double for the backend, so the retry
logic runs against a real store. The SQLite-based durability, load and
multi-process tests are in ``test_tracker_durability.py``.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ttvkit import (
    ConfigurationError,
    InvalidEventError,
    MemoryStore,
    StoreError,
    StoreUnavailableError,
    TTVError,
    ValueEvent,
)
from ttvkit.testing import FrozenClock
from ttvkit.tracker import (
    DeliveryFailure,
    RetryPolicy,
    Tracker,
    TrackerClosedError,
    TrackerConfig,
    TrackerStats,
)

FAST_RETRY = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)
SRC = Path(__file__).resolve().parents[1] / "src"


class FlakyStore(MemoryStore):
    """A MemoryStore whose ``append`` raises ``error`` while ``down`` is set."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.error: Exception = StoreUnavailableError("the test switched the store off")
        self.calls = 0
        self.batches: list[list[str]] = []
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if not events:
            return 0
        self.calls += 1
        if self.down.is_set():
            raise self.error
        self.batches.append([e.event_id for e in events])
        return super().append(events)


class Reports:
    """An on_error callback that keeps what it is given."""

    def __init__(self) -> None:
        self.items: list[DeliveryFailure] = []
        self.threads: set[str] = set()

    def __call__(self, failure: DeliveryFailure) -> None:
        self.threads.add(threading.current_thread().name)
        self.items.append(failure)

    def kinds(self) -> set[str]:
        return {f.kind for f in self.items}

    def total(self, kind: str) -> int:
        return sum(f.events for f in self.items if f.kind == kind)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def settled(stats: TrackerStats) -> int:
    return stats.written + stats.duplicates + stats.dropped + stats.failed + stats.queue_depth


# ---------------------------------------------------------------- tracking and flushing


def test_track_validates_enqueues_and_flush_makes_it_durable() -> None:
    store = MemoryStore()
    clock = FrozenClock("2026-03-01T12:00:00Z")
    with Tracker(store, clock=clock) as tracker:
        first = tracker.track("u42", "signup", properties={"plan": "free"}, account_id="acme")
        clock.advance(minutes=5)
        second = tracker.track("u42", "report_created", timestamp="2026-03-01T12:10:00+01:00")
        third = tracker.track("u42", "report_created")
        assert isinstance(first, ValueEvent)
        assert first.timestamp == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        assert second.timestamp == datetime(2026, 3, 1, 11, 10, tzinfo=UTC)
        assert third.timestamp == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
        assert tracker.flush() is True
        assert tracker.store is store
        assert list(store.events()) == [second, first, third]
        stats = tracker.stats()
        assert (stats.accepted, stats.written, stats.queue_depth) == (3, 3, 0)
    assert store.count() == 3  # a store passed in stays open after close


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("", "signup"), {}, "user_id"),
        (("u1", None), {}, "name"),
        (("u1", "signup"), {"timestamp": datetime(2026, 1, 1)}, "naive"),
        (("u1", "signup"), {"properties": {"x": float("nan")}}, "finite"),
        (("u1", "signup"), {"account_id": "a\x00b"}, "NUL"),
    ],
)
def test_invalid_input_raises_at_once_and_nothing_is_accepted(
    args: tuple[object, object], kwargs: dict[str, object], field: str
) -> None:
    store = MemoryStore()
    with Tracker(store) as tracker:
        with pytest.raises(InvalidEventError, match=field):
            tracker.track(*args, **kwargs)  # type: ignore[arg-type]
        assert tracker.flush(1) is True
        assert tracker.stats().accepted == 0
    assert store.count() == 0


def test_same_event_id_is_stored_once_and_counted_as_duplicate() -> None:
    store = MemoryStore()
    with Tracker(store) as tracker:
        tracker.track("u1", "signup", event_id="evt-1")
        assert tracker.flush(5)
        tracker.track("u1", "signup", event_id="evt-1")  # a retried request, say
        tracker.track("u1", "signup", event_id="evt-2")
        assert tracker.flush(5)
        stats = tracker.stats()
    assert (stats.accepted, stats.written, stats.duplicates) == (3, 2, 1)
    assert store.count() == 2


def test_writer_batches_by_size_without_waiting_for_the_interval() -> None:
    store = FlakyStore()
    config = TrackerConfig(batch_size=10, flush_interval=60)
    with Tracker(store, config=config) as tracker:
        for i in range(35):
            tracker.track(f"u{i}", "signup")
        # Three full batches go out at once; the last 5 wait for the 60 s interval.
        assert wait_until(lambda: store.count() == 30, timeout=5)
        time.sleep(0.1)
        assert store.count() == 30
        assert tracker.stats().queue_depth == 5
        assert tracker.flush(5)
    assert [len(b) for b in store.batches] == [10, 10, 10, 5]


def test_writer_stores_a_partial_batch_after_the_interval() -> None:
    store = MemoryStore()
    config = TrackerConfig(batch_size=1000, flush_interval=timedelta(milliseconds=50))
    with Tracker(store, config=config) as tracker:
        tracker.track("u1", "signup")
        assert wait_until(lambda: store.count() == 1, timeout=5)


def test_flush_waits_only_for_events_accepted_before_it() -> None:
    store = FlakyStore()
    with Tracker(store, config=TrackerConfig(retry=FAST_RETRY)) as tracker:
        tracker.track("u1", "signup")
        assert tracker.flush(5)
        store.down.set()
        tracker.track("u1", "report")
        assert tracker.flush(timeout=0.2) is False  # the timeout hit: the caller is told
        assert tracker.stats().queue_depth == 1
        store.down.clear()
        assert tracker.flush(5) is True
    assert store.count() == 2


def test_flush_with_nothing_tracked_returns_at_once() -> None:
    tracker = Tracker(MemoryStore())
    started = time.monotonic()
    assert tracker.flush() is True
    assert tracker.close() is True
    assert time.monotonic() - started < 1


def test_threads_tracking_concurrently_lose_nothing() -> None:
    store = MemoryStore()
    clock = FrozenClock()  # one timestamp: the store's in-order fast path
    with Tracker(store, config=TrackerConfig(batch_size=500), clock=clock) as tracker:

        def work(i: int) -> None:
            for j in range(5_000):
                tracker.track(f"u{i}", "report", properties={"j": j})

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert tracker.flush(30)
        stats = tracker.stats()
    assert store.count() == 40_000
    assert (stats.accepted, stats.written) == (40_000, 40_000)
    assert (stats.dropped, stats.duplicates, stats.failed) == (0, 0, 0)
    assert len({e.event_id for e in store.events()}) == 40_000


# ---------------------------------------------------------------- store failures


def test_outage_loses_nothing_retries_in_order_and_reports() -> None:
    store = FlakyStore()
    store.down.set()
    reports = Reports()
    config = TrackerConfig(batch_size=100, retry=FAST_RETRY)
    with Tracker(store, config=config, on_error=reports) as tracker:
        tracked = [tracker.track("u1", "report", properties={"i": i}) for i in range(450)]
        assert wait_until(lambda: tracker.stats().retries >= 5)
        stats = tracker.stats()
        assert (stats.accepted, stats.written, stats.queue_depth) == (450, 0, 450)
        assert stats.last_error == "StoreUnavailableError: the test switched the store off"
        store.down.clear()
        assert tracker.flush(5) is True
        stats = tracker.stats()
    assert (stats.written, stats.dropped, stats.failed, stats.queue_depth) == (450, 0, 0, 0)
    # Batches were retried in order, never reordered or split.
    assert [i for batch in store.batches for i in batch] == [e.event_id for e in tracked]
    assert reports.kinds() == {"retrying"}
    assert reports.threads == {"ttvkit-tracker-writer"}
    first = reports.items[0]
    assert isinstance(first.error, StoreUnavailableError)
    assert first.attempt == 1
    assert first.events == 100
    assert first.retry_in is not None
    assert "retrying in" in str(first)


def test_backoff_grows_to_the_cap() -> None:
    store = FlakyStore()
    store.down.set()
    reports = Reports()
    retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.04, multiplier=2, jitter=0)
    with Tracker(store, config=TrackerConfig(retry=retry), on_error=reports) as tracker:
        tracker.track("u1", "signup")
        assert wait_until(lambda: len(reports.items) >= 5)
        store.down.clear()
    waits = [f.retry_in for f in reports.items[:5]]
    assert waits == pytest.approx([0.01, 0.02, 0.04, 0.04, 0.04])
    assert [f.attempt for f in reports.items[:5]] == [1, 2, 3, 4, 5]


def test_a_full_queue_drops_and_counts_new_events_and_reports_them() -> None:
    store = FlakyStore()
    store.down.set()
    reports = Reports()
    config = TrackerConfig(max_queue_size=10, batch_size=5, retry=FAST_RETRY)
    with Tracker(store, config=config, on_error=reports) as tracker:
        for i in range(25):
            tracker.track("u1", "report", properties={"i": i})  # never raises
        assert wait_until(lambda: reports.total("dropped") == 15)
        stats = tracker.stats()
        assert (stats.accepted, stats.dropped, stats.lost) == (25, 15, 15)
        assert settled(stats) == 25
        store.down.clear()
        assert tracker.flush(5) is False  # events were lost since the last flush
        assert tracker.flush(5) is True  # ...and none since
    assert store.count() == 10
    assert [e.properties["i"] for e in store.events()] == list(range(10))  # the oldest are kept


def test_block_policy_waits_for_room_then_queues() -> None:
    store = FlakyStore()
    store.down.set()
    config = TrackerConfig(
        max_queue_size=4, batch_size=2, when_full="block", block_timeout=10, retry=FAST_RETRY
    )
    with Tracker(store, config=config) as tracker:
        for _ in range(4):  # 2 in the writer's failing batch, 2 queued: the queue is full
            tracker.track("u1", "report")
        assert wait_until(lambda: tracker.stats().retries >= 1)
        threading.Timer(0.2, store.down.clear).start()
        started = time.monotonic()
        tracker.track("u1", "report")  # blocks until the writer makes room
        assert 0.1 < time.monotonic() - started < 5
        assert tracker.flush(5)
        stats = tracker.stats()
    assert (stats.accepted, stats.written, stats.dropped) == (5, 5, 0)


def test_block_policy_drops_after_the_block_timeout() -> None:
    store = FlakyStore()
    store.down.set()
    config = TrackerConfig(
        max_queue_size=2, batch_size=1, when_full="block", block_timeout=0.1, retry=FAST_RETRY
    )
    with Tracker(store, config=config) as tracker:
        for _ in range(2):  # 1 in the writer's failing batch, 1 queued: the queue is full
            tracker.track("u1", "report")
        assert wait_until(lambda: tracker.stats().retries >= 1)
        started = time.monotonic()
        tracker.track("u1", "report")
        assert time.monotonic() - started >= 0.09
        assert tracker.stats().dropped == 1
        store.down.clear()


def test_max_attempts_gives_up_counts_failed_and_flush_does_not_hang() -> None:
    store = FlakyStore()
    store.down.set()
    reports = Reports()
    retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.01, max_attempts=3)
    with Tracker(store, config=TrackerConfig(retry=retry), on_error=reports) as tracker:
        for _ in range(7):
            tracker.track("u1", "report")
        assert tracker.flush(timeout=5) is False
        stats = tracker.stats()
    assert (stats.accepted, stats.failed, stats.retries, stats.queue_depth) == (7, 7, 2, 0)
    assert store.calls == 3
    assert [f.kind for f in reports.items] == ["retrying", "retrying", "failed"]
    assert (reports.items[-1].events, reports.items[-1].attempt) == (7, 3)


def test_a_non_retryable_error_fails_the_batch_at_once() -> None:
    store = FlakyStore()
    store.error = StoreError("schema is broken (test)")
    store.down.set()
    reports = Reports()
    with Tracker(store, on_error=reports) as tracker:
        tracker.track("u1", "report")
        assert tracker.flush(5) is False
        store.down.clear()
        tracker.track("u1", "report")
        assert tracker.flush(5) is True  # the writer carries on with the next batch
        stats = tracker.stats()
    assert (stats.failed, stats.written, stats.retries) == (1, 1, 0)
    assert [f.kind for f in reports.items] == ["failed"]
    assert isinstance(reports.items[0].error, StoreError)
    assert stats.last_error == "StoreError: schema is broken (test)"


def test_an_on_error_callback_that_raises_is_counted_and_ignored() -> None:
    store = FlakyStore()
    store.down.set()

    def broken(failure: DeliveryFailure) -> None:
        raise RuntimeError("bug in the host app's callback")

    with Tracker(store, config=TrackerConfig(retry=FAST_RETRY), on_error=broken) as tracker:
        tracker.track("u1", "signup")
        assert wait_until(lambda: tracker.stats().callback_errors >= 2)
        store.down.clear()
        assert tracker.flush(5)
    assert store.count() == 1


def test_on_error_may_call_flush_and_track_without_deadlock() -> None:
    store = FlakyStore()
    store.down.set()
    results: list[bool] = []

    def callback(failure: DeliveryFailure) -> None:
        if not results:
            results.append(tracker.flush(timeout=10))  # the writer cannot wait for itself
            tracker.track("u2", "from_callback")

    tracker = Tracker(store, config=TrackerConfig(retry=FAST_RETRY), on_error=callback)
    with tracker:
        tracker.track("u1", "signup")
        assert wait_until(lambda: bool(results))
        store.down.clear()
        assert tracker.flush(5)
    assert results == [False]
    assert store.count() == 2


# ---------------------------------------------------------------- close and lifetime


def test_close_flushes_stops_the_writer_and_is_idempotent() -> None:
    store = MemoryStore()
    tracker = Tracker(store, config=TrackerConfig(flush_interval=60))
    tracker.track("u1", "signup")
    thread = tracker._pipeline.thread
    assert thread is not None
    assert thread.is_alive()
    assert tracker.close() is True
    assert not thread.is_alive()
    assert store.count() == 1
    assert tracker.closed
    assert tracker.close() is True
    assert tracker.flush() is True
    with pytest.raises(TrackerClosedError, match="closed") as info:
        tracker.track("u1", "report")
    assert isinstance(info.value, TTVError)
    assert isinstance(info.value, RuntimeError)
    assert tracker.stats().accepted == 1


def test_close_with_the_store_down_gives_up_within_its_timeout() -> None:
    store = FlakyStore()
    store.down.set()
    reports = Reports()
    config = TrackerConfig(batch_size=10, retry=RetryPolicy(initial_backoff=5, max_backoff=5))
    tracker = Tracker(store, config=config, on_error=reports)
    for _ in range(35):
        tracker.track("u1", "report")
    assert wait_until(lambda: tracker.stats().retries >= 1)
    started = time.monotonic()
    assert tracker.close(timeout=0.3) is False
    # The 5 s backoff was cut short by the 0.3 s close timeout.
    assert time.monotonic() - started < 2
    stats = tracker.stats()
    assert (stats.accepted, stats.failed, stats.written, stats.queue_depth) == (35, 35, 0, 0)
    assert reports.total("failed") == 35


def test_a_tracker_opened_from_a_url_owns_and_closes_its_store() -> None:
    tracker = Tracker("memory://")
    tracker.track("u1", "signup")
    assert tracker.flush(5)
    assert tracker.store.count() == 1
    tracker.close()
    with pytest.raises(StoreError, match="closed"):
        tracker.store.count()


def test_context_manager_closes() -> None:
    store = MemoryStore()
    with Tracker(store, config=TrackerConfig(flush_interval=60)) as tracker:
        tracker.track("u1", "signup")
    assert tracker.closed
    assert store.count() == 1


def test_an_unreferenced_tracker_stores_its_queue_and_stops() -> None:
    store = MemoryStore()
    tracker = Tracker(store, config=TrackerConfig(flush_interval=60))
    for _ in range(20):
        tracker.track("u1", "report")
    thread = tracker._pipeline.thread
    assert thread is not None
    del tracker
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
    assert store.count() == 20


def test_stats_is_an_immutable_snapshot() -> None:
    with Tracker(MemoryStore()) as tracker:
        tracker.track("u1", "signup")
        before = tracker.stats()
        tracker.track("u1", "report")
        assert tracker.flush(5)
        after = tracker.stats()
    assert before.accepted == 1
    assert after.accepted == 2
    with pytest.raises(AttributeError):
        after.written = 0  # type: ignore[misc]
    assert after.to_dict() == {
        "accepted": 2,
        "written": 2,
        "duplicates": 0,
        "dropped": 0,
        "failed": 0,
        "queue_depth": 0,
        "retries": 0,
        "callback_errors": 0,
        "last_error": None,
    }
    assert "queue_depth=0" in repr(tracker)


# ---------------------------------------------------------------- sync mode


def test_sync_mode_writes_through_without_a_thread() -> None:
    store = MemoryStore()
    with Tracker(store, config=TrackerConfig(sync=True)) as tracker:
        tracker.track("u1", "signup")
        assert store.count() == 1  # stored before track() returned
        assert tracker._pipeline.thread is None
        assert tracker.flush() is True
        assert tracker.stats().written == 1


def test_sync_mode_never_raises_on_store_failure() -> None:
    store = FlakyStore()
    store.down.set()
    reports = Reports()
    config = TrackerConfig(sync=True, sync_timeout=0.1, retry=FAST_RETRY)
    with Tracker(store, config=config, on_error=reports) as tracker:
        started = time.monotonic()
        event = tracker.track("u1", "signup")  # does not raise
        assert 0.09 < time.monotonic() - started < 1
        assert isinstance(event, ValueEvent)
        stats = tracker.stats()
        assert (stats.accepted, stats.failed, stats.queue_depth) == (1, 1, 0)
        assert stats.retries >= 2
        assert reports.kinds() == {"retrying", "failed"}
        assert tracker.flush() is False
        store.down.clear()
        tracker.track("u1", "report")
        assert tracker.flush() is True
    assert store.count() == 1


def test_sync_mode_retries_until_the_store_answers() -> None:
    store = FlakyStore()
    store.down.set()
    threading.Timer(0.1, store.down.clear).start()
    config = TrackerConfig(sync=True, sync_timeout=5, retry=FAST_RETRY)
    with Tracker(store, config=config) as tracker:
        tracker.track("u1", "signup")
        assert store.count() == 1
        assert tracker.stats().failed == 0


# ---------------------------------------------------------------- options


def test_config_accepts_timedeltas_and_rejects_bad_values() -> None:
    config = TrackerConfig(flush_interval=timedelta(milliseconds=250), close_timeout=3)
    assert config.flush_interval == 0.25
    assert config.close_timeout == 3
    assert RetryPolicy(max_backoff=timedelta(minutes=1)).max_backoff == 60
    for kwargs, field in [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"max_queue_size": 1.5}, "max_queue_size"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"block_timeout": -1}, "block_timeout"),
        ({"close_timeout": float("inf")}, "close_timeout"),
        ({"when_full": "wait"}, "when_full"),
        ({"sync": 1}, "sync"),
        ({"retry": {"max_attempts": 3}}, "retry"),
    ]:
        with pytest.raises(ConfigurationError, match=field):
            TrackerConfig(**kwargs)  # type: ignore[arg-type]
    for kwargs, field in [
        ({"initial_backoff": 0}, "initial_backoff"),
        ({"initial_backoff": 2, "max_backoff": 1}, "max_backoff"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": 1}, "jitter"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"retry_on": (KeyboardInterrupt,)}, "retry_on"),
    ]:
        with pytest.raises(ConfigurationError, match=field):
            RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_constructor_rejects_what_is_not_a_store_config_or_callable() -> None:
    with pytest.raises(ConfigurationError, match="store URL"):
        Tracker(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown scheme"):
        Tracker("nosuch://x")
    with pytest.raises(ConfigurationError, match="config"):
        Tracker(MemoryStore(), config={"batch_size": 5})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_error"):
        Tracker(MemoryStore(), on_error="print")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout"):
        Tracker(MemoryStore()).flush(timeout=-1)


# ---------------------------------------------------------------- fork and exit


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_gets_its_own_writer_and_not_the_parents_queue() -> None:
    store = MemoryStore()
    config = TrackerConfig(flush_interval=60)
    with Tracker(store, config=config) as tracker:
        tracker.track("parent", "signup")
        assert tracker.flush(5)
        pending = tracker.track("parent", "queued_at_fork")  # still queued: interval is 60 s
        pid = os.fork()
        if pid == 0:  # the child: report through the exit code, never return into pytest
            code = 1
            try:
                stats = tracker.stats()
                assert (stats.accepted, stats.queue_depth) == (0, 0)
                tracker.track("child", "signup")
                assert tracker.flush(5)
                ids = {e.event_id for e in store.events()}
                assert pending.event_id not in ids  # the parent's event, not the child's
                assert {e.user_id for e in store.events()} == {"parent", "child"}
                assert tracker.stats().written == 1
                assert tracker.close(5)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's tracker is untouched by the fork.
        assert tracker.flush(5)
        assert [e.user_id for e in store.events()] == ["parent", "parent"]
        assert tracker.stats().written == 2


def _run_script(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


# A store that mirrors every stored event id into a text file, so a parent
# process can see what a child's tracker stored.
_FILE_STORE = """
import sys
from ttvkit import MemoryStore

class FileMirrorStore(MemoryStore):
    def __init__(self, path):
        self.path = path
        super().__init__()

    def append(self, events):
        new = super().append(events)
        with open(self.path, "a") as f:
            f.writelines(e.event_id + "\\n" for e in events)
        return new
"""


def test_events_are_flushed_when_a_short_script_exits(tmp_path: Path) -> None:
    out = tmp_path / "ids.txt"
    result = _run_script(
        _FILE_STORE
        + """
from ttvkit.tracker import Tracker, TrackerConfig
tracker = Tracker(FileMirrorStore(sys.argv[1]), config=TrackerConfig(flush_interval=60))
for i in range(500):
    tracker.track("u1", "report", event_id=f"e{i}")
# no flush, no close: the at-exit hook must store them
""",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().split() == [f"e{i}" for i in range(500)]


def test_exit_flush_is_time_bounded_when_the_store_is_down() -> None:
    started = time.monotonic()
    result = _run_script(
        """
from ttvkit import MemoryStore, StoreUnavailableError
from ttvkit.tracker import Tracker, TrackerConfig

class DownStore(MemoryStore):
    def append(self, events):
        if events:
            raise StoreUnavailableError("down")
        return 0

tracker = Tracker(DownStore(), config=TrackerConfig(exit_timeout=0.5))
tracker.track("u1", "signup")
"""
    )
    # Retrying "until close" ends at the 0.5 s exit timeout, not never.
    assert time.monotonic() - started < 10
    assert result.returncode == 0, result.stderr
    assert "gave up on 1 events" in result.stderr  # reported through the logger


# ---------------------------------------------------------------- the user guide


def test_the_examples_in_docs_tracker_md_run() -> None:
    """Every ```python block of docs/tracker.md runs, except those marked ``# sketch:``."""
    text = (SRC.parent / "docs" / "tracker.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    runnable = [b for b in blocks if not b.startswith("# sketch:")]
    assert len(runnable) >= 5
    assert len(blocks) - len(runnable) == 3  # the Flask, FastAPI and Django sketches
    for block in runnable:
        result = _run_script(block)
        assert result.returncode == 0, f"{block}\n{result.stderr}"
