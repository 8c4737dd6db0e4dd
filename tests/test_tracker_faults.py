"""Tracker faults from issue 9: lost-event reporting, the queue bound, invalid input.

Store failures come from ``GatedStore``, a MemoryStore whose ``append``
raises while a switch is on, or blocks while a gate is closed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttvkit import InvalidEventError, MemoryStore, StoreUnavailableError, ValueEvent
from ttvkit.events import checked_event
from ttvkit.stores.deadline import current_limit
from ttvkit.stores.sqlite import SQLiteStore
from ttvkit.tracker import DeliveryFailure, RetryPolicy, Tracker, TrackerConfig

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


# ------------------------------------------------------------ 7: InvalidEventError only


def _nested_dicts(depth: int) -> dict[str, object]:
    root: dict[str, object] = {}
    node = root
    for _ in range(depth):
        child: dict[str, object] = {}
        node["a"] = child
        node = child
    return root


def _nested_lists(depth: int) -> list[object]:
    root: list[object] = []
    node = root
    for _ in range(depth):
        child: list[object] = []
        node.append(child)
        node = child
    return root


def _self_referencing() -> dict[str, object]:
    value: dict[str, object] = {}
    value["me"] = value
    return value


HUGE = 10**5000  # over sys.get_int_max_str_digits(): str() and repr() raise ValueError

BAD_EVENTS: dict[str, dict[str, object]] = {
    "nested dicts": {"properties": _nested_dicts(5000)},
    "nested lists": {"properties": {"l": _nested_lists(5000)}},
    "self-referencing": {"properties": _self_referencing()},
    "self-referencing list": {"properties": {"l": (lambda x: x.append(x) or x)([])}},
    "latest offset": {"timestamp": "9999-12-31T23:59:00-14:00"},
    "earliest offset": {"timestamp": "0001-01-01T00:00:00+14:00"},
    "huge int property": {"properties": {"n": HUGE}},
    "huge int in a list": {"properties": {"n": [1, -HUGE]}},
    "huge int user id": {"user_id": HUGE},
    "huge int account id": {"account_id": HUGE},
    "huge int event id": {"event_id": HUGE},
    "huge int timestamp": {"timestamp": HUGE},
    "huge negative timestamp": {"timestamp": -HUGE},
}


@pytest.mark.parametrize("fields", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_bad_input_raises_invalid_event_error_and_nothing_else(fields: dict[str, object]) -> None:
    args: dict[str, object] = {"user_id": "u1", "name": "signup", "timestamp": 1_700_000_000}
    args.update(fields)
    with pytest.raises(InvalidEventError) as raised:
        ValueEvent(**args)  # type: ignore[arg-type]
    assert len(str(raised.value)) < 400
    store = MemoryStore()
    with Tracker(store, config=TrackerConfig(sync=True)) as tracker:
        with pytest.raises(InvalidEventError):
            tracker.track(**args)  # type: ignore[arg-type]
        assert tracker.stats().accepted == 0
    assert store.count() == 0


def test_properties_nested_to_the_limit_are_accepted() -> None:
    from ttvkit.events import MAX_PROPERTIES_DEPTH

    ok = ValueEvent("u1", "signup", 1_700_000_000, _nested_dicts(MAX_PROPERTIES_DEPTH - 1))
    assert ok.to_dict()["properties"]
    deepest = _nested_lists(MAX_PROPERTIES_DEPTH - 2)
    lists = ValueEvent("u1", "signup", 1_700_000_000, {"l": deepest})
    assert lists.properties["l"] == deepest
    with pytest.raises(InvalidEventError, match="nested deeper than"):
        ValueEvent("u1", "signup", 1_700_000_000, _nested_dicts(MAX_PROPERTIES_DEPTH))


# ------------------------------------------------------------ 4: a full disk is transient


class FullableSQLiteStore(SQLiteStore):
    """An SQLiteStore whose file cannot grow while ``full`` is set (``PRAGMA max_page_count``)."""

    full = False

    def append(self, events: Sequence[ValueEvent]) -> int:
        def limit(connection: sqlite3.Connection) -> None:
            # Below the file's size it is clamped to the size: no page can be added.
            connection.execute(f"PRAGMA max_page_count = {1 if self.full else 1_000_000}")

        self._run(limit, transaction="none")
        return super().append(events)


def test_a_full_disk_is_retried_reported_and_loses_nothing_once_space_comes_back(
    tmp_path: Path,
) -> None:
    store = FullableSQLiteStore(tmp_path / "full.db")
    store.full = True
    padding = "x" * 400  # every few events need a new page
    with pytest.raises(StoreUnavailableError, match="is full"):
        store.append(
            [ValueEvent(f"x{i}", "signup", 1_700_000_000, {"pad": padding}) for i in range(30)]
        )
    assert store.count() == 0
    failures: list[DeliveryFailure] = []
    config = TrackerConfig(batch_size=10, flush_interval=0.01, retry=FAST_RETRY)
    with Tracker(store, config=config, on_error=failures.append) as tracker:
        for i in range(102):
            tracker.track(f"u{i}", "signup", properties={"pad": padding})
        assert wait_until(lambda: tracker.stats().retries >= 3)
        during = tracker.stats()
        assert (during.failed, during.dropped, during.written) == (0, 0, 0)
        assert during.last_error is not None and "full" in during.last_error
        assert any(f.kind == "retrying" and "full" in str(f) for f in failures)
        store.full = False  # space came back
        assert tracker.flush(timeout=10) is True
        after = tracker.stats()
    assert (after.written, after.failed) == (102, 0)
    assert store.count() == 102
    store.close()


# ------------------------------------------------------------ issue 13: a record the writer refuses


class PickyStore(MemoryStore):
    """Refuses, with InvalidEventError, any batch holding an event of user ``"bad…"``."""

    def __init__(self) -> None:
        self.calls = 0
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if not events:
            return 0
        self.calls += 1
        for e in events:
            if e.user_id.startswith("bad"):
                raise InvalidEventError(f"user_id={e.user_id!r}: this store cannot hold it")
        return super().append(events)


def test_a_record_the_store_refuses_is_reported_counted_and_the_rest_delivered() -> None:
    store = PickyStore()
    failures: list[DeliveryFailure] = []
    config = TrackerConfig(batch_size=64, flush_interval=60)
    with Tracker(store, config=config, on_error=failures.append) as tracker:
        for i in range(64):
            tracker.track("bad-1" if i == 5 else "bad-2" if i == 40 else f"u{i}", "signup")
        assert tracker.flush(timeout=10) is False  # two were lost
        stats = tracker.stats()
        assert (stats.accepted, stats.written, stats.failed, stats.queue_depth) == (64, 62, 2, 0)
        assert stats.last_error is not None and "cannot hold" in stats.last_error
        tracker.track("u-after", "signup")
        assert tracker.flush(timeout=10) is True
    assert store.count() == 63
    assert sorted(e.user_id for e in store.events() if e.user_id.startswith("bad")) == []
    reported = [f for f in failures if f.kind == "failed"]
    assert [(f.events, type(f.error)) for f in reported] == [(1, InvalidEventError)] * 2
    assert {str(f.error).split("'")[1] for f in reported} == {"bad-1", "bad-2"}
    assert store.calls < 64  # found by halving, not one call per event


def test_a_refused_record_in_sync_mode_fails_alone() -> None:
    store = PickyStore()
    with Tracker(store, config=TrackerConfig(sync=True)) as tracker:
        tracker.track("bad", "signup")
        tracker.track("good", "signup")
        stats = tracker.stats()
    assert (stats.written, stats.failed) == (1, 1)


# ------------------------------------------------------------ issue 13: the cheap checks


_IDS = (
    st.text(max_size=8)
    | st.sampled_from(["u1", " ", "", "a\x00b", "\ud800", "ü", "x" * 256, "x" * 257, "\t"])
    | st.integers()
    | st.none()
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["\x00", "\udc80", "é"])
)
_PROPERTIES = (
    st.none()
    | st.dictionaries(st.text(max_size=4) | st.integers(0, 3), _SCALARS, max_size=4)
    | st.dictionaries(st.text(max_size=3), st.lists(_SCALARS, max_size=2), max_size=2)
    | st.sampled_from([{"big": "x" * 70_000}, [1], "text"])
)
_TIMES = (
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=3))]))
    | st.datetimes()
    | st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01", 1.5e9, float("nan")])
)


@settings(max_examples=400, deadline=None)
@given(
    user_id=_IDS,
    name=_IDS | st.sampled_from(["signup", "signup "]),
    timestamp=_TIMES,
    properties=_PROPERTIES,
    account_id=_IDS,
    event_id=_IDS,
)
def test_track_accepts_and_rejects_exactly_what_value_event_does(
    user_id: object,
    name: object,
    timestamp: object,
    properties: object,
    account_id: object,
    event_id: object,
) -> None:
    args = (user_id, name, timestamp, properties, account_id, event_id)
    try:
        expected: ValueEvent | str = ValueEvent(*args)  # type: ignore[arg-type]
    except InvalidEventError as exc:
        expected = str(exc)
    # Twice: the second time the name is in the cache of valid names.
    for _ in range(2):
        try:
            got: ValueEvent | str = checked_event(*args)
        except InvalidEventError as exc:
            got = str(exc)
        if isinstance(expected, str) or isinstance(got, str):
            assert got == expected
        else:
            assert {**got.to_dict(), "event_id": None} == {**expected.to_dict(), "event_id": None}
            assert type(got.properties) is type(expected.properties)
            if event_id is not None:
                assert got.event_id == expected.event_id


# ------------------------------------------------------------ 2: the deadline a tracker lends


class LimitRecordingStore(MemoryStore):
    """Records the deadline the tracker lent to each append (``stores.deadline``)."""

    def __init__(self) -> None:
        self.limits: list[float | None] = []
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if events:
            self.limits.append(current_limit())
        return super().append(events)


def test_sync_track_lends_its_sync_timeout_to_the_store_call() -> None:
    store = LimitRecordingStore()
    with Tracker(store, config=TrackerConfig(sync=True, sync_timeout=1.5)) as tracker:
        before = time.monotonic()
        tracker.track("u1", "signup")
        after = time.monotonic()
    (limit,) = store.limits
    assert limit is not None and before + 1.5 <= limit <= after + 1.5
    assert current_limit() is None  # nothing leaks to the caller's thread


def test_the_writer_lends_nothing_until_close_sets_a_deadline() -> None:
    store = LimitRecordingStore()
    tracker = Tracker(store, config=TrackerConfig(flush_interval=0.01))
    tracker.track("u1", "signup")
    assert tracker.flush(timeout=5)
    assert store.limits == [None]
    tracker.close(timeout=5)


class WaitsForADeadline(MemoryStore):
    """An append that waits, like a network store, until it is lent a deadline."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.seen: float | None = None
        super().__init__()

    def append(self, events: Sequence[ValueEvent]) -> int:
        if not events:
            return 0
        self.entered.set()
        end = time.monotonic() + 10
        while current_limit() is None and time.monotonic() < end:
            time.sleep(0.01)
        self.seen = current_limit()
        raise StoreUnavailableError("gave up at the deadline it was lent")


def test_close_lends_its_deadline_to_a_store_call_already_waiting() -> None:
    store = WaitsForADeadline()
    tracker = Tracker(store, config=TrackerConfig(flush_interval=0.01))
    tracker.track("u1", "signup")
    assert store.entered.wait(5)
    started = time.monotonic()
    assert tracker.close(timeout=0.5) is False
    assert time.monotonic() - started < 1.5
    assert store.seen is not None and abs(store.seen - (started + 0.5)) < 0.2
    assert tracker.stats().failed == 1
