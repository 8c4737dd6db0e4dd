"""The tracker's delivery machinery: the queue, the writer thread, retries, flush markers.

One ``Pipeline`` sits behind each :class:`~ttvkit.tracker.Tracker`. This
module also keeps the process-wide hooks: the at-exit flush of every live
pipeline, and the reset of every pipeline in a forked child (registered with
:func:`ttvkit._fork.at_fork`, the one at-fork registry).
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Final

from ttvkit._fork import at_fork
from ttvkit.errors import InvalidEventError, TrackerClosedError
from ttvkit.events import ValueEvent
from ttvkit.stores import Store
from ttvkit.stores.deadline import bounded_by
from ttvkit.tracker._config import TrackerConfig
from ttvkit.tracker._report import DeliveryFailure, ErrorCallback, TrackerStats, describe

__all__ = ["Pipeline", "register_exit_hook"]

logger = logging.getLogger("ttvkit.tracker")


# Time the writer gets, beyond a close timeout, to settle what it gave up on
# and exit; only a store call that hangs makes close() use it.
_SETTLE_GRACE: Final = 0.5


# The longest wait threading accepts; longer timeouts wait this long (292 years).
_MAX_WAIT: Final = threading.TIMEOUT_MAX


def _wait_time(seconds: float) -> float:
    """*seconds* clamped to what ``Event.wait`` and friends accept (never ``OverflowError``)."""
    return min(seconds, _MAX_WAIT)


class _Marker:
    """A flush request travelling through the queue behind the events it waits for.

    The writer sets ``done`` once everything queued before it is settled and
    records in ``lost`` how many events the tracker had lost by then. Each
    flush compares that count with its own ``seen``, the losses already
    reported when the flush was called (see :meth:`Pipeline._consume`), so
    two flushes waiting at once both report a loss they both cover, and a
    flush that timed out leaves the loss for the next one.
    """

    __slots__ = ("done", "lost")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.lost = 0


class Pipeline:
    """The queue, the writer thread and the counters behind one :class:`Tracker`.

    Separate from :class:`Tracker` so that the writer thread, which keeps
    this object alive, does not keep the tracker alive: a tracker nobody
    references is garbage-collected, and its pipeline then stores what is
    queued and stops (see :meth:`begin_close`).

    ``offer`` is the one call on the ``track()`` path. It is an instance
    attribute swapped between implementations (start the writer, enqueue,
    write through, refuse because closed), so the hot path never tests a
    mode or a flag.
    """

    offer: Callable[[ValueEvent], None]

    def __init__(
        self, store: Store, owns_store: bool, config: TrackerConfig, on_error: ErrorCallback | None
    ) -> None:
        self.store = store
        self.owns_store = owns_store
        self.config = config
        self.on_error = on_error
        # Copied out of the config: the hot path reads plain attributes.
        self.batch_size = config.batch_size
        # Batches a store takes in one call (one transaction) when the queue
        # is deep; SQLite and PostgreSQL say 8, any other store 1.
        write_batches = getattr(store, "_ttvkit_write_batches", 1)
        self.write_batches = (
            write_batches if type(write_batches) is int and write_batches > 0 else 1
        )
        self.max_queue_size = config.max_queue_size
        self.retry = config.retry
        self.on_full: Callable[[ValueEvent], None] = (
            self._drop if config.when_full == "drop" else self._wait_for_room
        )
        self._reset_state()
        self._closing_started = False
        self._close_result: bool | None = None
        self._store_closed = False
        self.offer = self._write_through if config.sync else self._start_then_offer
        _live_pipelines.add(self)

    def _reset_state(self) -> None:
        """Fresh queue, locks, thread slot and counters (at creation, and in a forked child)."""
        self.queue: deque[ValueEvent | _Marker] = deque()
        self.lock = threading.Lock()  # counters, markers_queued, in_flight, taking batches
        # Re-entrant: a garbage-collected tracker's finalizer or an on_error
        # callback may run on a thread that already holds one of these.
        self.start_lock = threading.RLock()
        self.close_lock = threading.Lock()
        self.sync_lock = threading.RLock()
        self.room = threading.Condition(threading.Lock())
        self.wake = threading.Event()
        self.interrupt = threading.Event()
        self.wake_is_set = self.wake.is_set
        self.wake_set = self.wake.set
        self.thread: threading.Thread | None = None
        self.close_deadline: float | None = None
        self.close_marker: _Marker | None = None
        self.blocked = 0
        self.markers_queued = 0
        self.in_flight = 0
        self.written = 0
        self.duplicates = 0
        self.dropped = 0
        self.failed = 0
        self.retries = 0
        self.callback_errors = 0
        self.last_error: str | None = None
        self.lost_seen = 0
        self.drops_reported = 0
        # The flush marker taken with the batch being written (settled by
        # close() if it gives up on a store call that hangs), and whether
        # close() gave up on that batch: the writer then settles nothing more.
        self.taken_marker: _Marker | None = None
        self.given_up = False

    # ---- the track() path ------------------------------------------------------

    def _offer_queued(self, event: ValueEvent) -> None:
        queue = self.queue
        # The bound counts the batch being written too: at most max_queue_size
        # accepted events are held in memory, never max_queue_size + batch_size.
        if len(queue) + self.in_flight < self.max_queue_size:
            queue.append(event)
            # Wake the writer once per full batch; is_set() keeps this to an
            # attribute read while the writer is already awake.
            if len(queue) >= self.batch_size and not self.wake_is_set():
                self.wake_set()
        else:
            self.on_full(event)

    def _start_then_offer(self, event: ValueEvent) -> None:
        # The writer starts with the first event, not with the tracker: a
        # pre-fork server's parent that never tracks never runs a thread.
        with self.start_lock:
            if self.thread is None and not self._closing_started:
                thread = threading.Thread(
                    target=self._run, name="ttvkit-tracker-writer", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError:
                    # No new threads (interpreter shutdown, a thread limit):
                    # write through rather than raise into the host app.
                    logger.warning("ttvkit tracker: cannot start the writer; writing through")
                    self.offer = self._write_through
                else:
                    self.thread = thread
                    self.offer = self._offer_queued
        self.offer(event)

    def _refuse(self, event: ValueEvent) -> None:
        raise TrackerClosedError(
            f"this Tracker is closed; event {event.name!r} for user {event.user_id!r} "
            "was not recorded. Create a new Tracker (or track before close())"
        )

    def _drop(self, event: ValueEvent) -> None:
        with self.lock:
            self.dropped += 1
        # The writer reports drops; a full queue means it is busy, so it will.

    def _wait_for_room(self, event: ValueEvent) -> None:
        deadline = time.monotonic() + self.config.block_timeout
        queue = self.queue
        with self.room:
            self.blocked += 1
            try:
                while len(queue) + self.in_flight >= self.max_queue_size:
                    remaining = deadline - time.monotonic()
                    # A closing tracker takes nothing more: drop rather than
                    # wait (block_timeout may be hours) or queue behind close.
                    if remaining <= 0 or self._closing_started:
                        break
                    self.room.wait(_wait_time(remaining))
                else:
                    queue.append(event)
                    self.wake_set()
                    return
            finally:
                self.blocked -= 1
        self._drop(event)

    def _write_through(self, event: ValueEvent) -> None:
        # sync_timeout bounds the whole call, the wait for another thread's
        # write included: N threads meeting a dead store each return within
        # sync_timeout, not one after another.
        deadline = time.monotonic() + self.config.sync_timeout
        if not self.sync_lock.acquire(timeout=_wait_time(max(0.0, deadline - time.monotonic()))):
            self._settle_failed(1, None, 0, in_flight=False)
            return
        try:
            with self.lock:
                self.in_flight = 1
            self._deliver([event], deadline)
        finally:
            self.sync_lock.release()

    # ---- the writer ------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                woken = self.wake.wait(_wait_time(self.config.flush_interval))
                self.wake.clear()
                closing = self.close_deadline is not None
                # On a timer tick, a flush or at close, store partial batches
                # too; when woken because a batch filled, only full ones.
                self._drain(partial=closing or not woken)
                if closing:
                    break
        except BaseException:
            logger.exception("ttvkit tracker: the writer thread stopped unexpectedly")
            raise
        finally:
            with self.start_lock:  # flush() pushes markers under it: none is stranded
                self._abandon_queue()
                self.thread = None
                if self._closing_started:
                    self._close_owned_store()
                else:  # the next track() starts a new writer
                    self.offer = self._start_then_offer

    def _drain(self, *, partial: bool) -> None:
        while True:
            batch, marker = self._take(partial=partial)
            try:
                if batch:
                    self._deliver(batch, None)
            finally:
                # Even if delivering raised: a flush waiting on it never hangs.
                if marker is not None:
                    self._settle_marker(marker)
            if marker is None and not batch:
                return
            self._report_drops()

    def _take(self, *, partial: bool) -> tuple[list[ValueEvent], _Marker | None]:
        """Pop the events of one store call, stopping after the first flush marker.

        One batch; or, when more than one full batch is waiting and the
        store takes them, up to ``write_batches`` batches for one store call
        (one transaction): a deep queue drains with fewer commits.
        """
        queue = self.queue
        batch: list[ValueEvent] = []
        marker: _Marker | None = None
        with self.lock:
            size = self.batch_size
            depth = len(queue)
            if partial or self.markers_queued or depth >= size:
                take = min(depth, size * self.write_batches if depth >= 2 * size else size)
                if not self.markers_queued:
                    # No marker anywhere (markers are queued under this lock): no checks.
                    popleft = queue.popleft
                    batch = [popleft() for _ in range(take)]  # type: ignore[misc]
                else:
                    for _ in range(take):
                        item = queue.popleft()
                        if isinstance(item, _Marker):
                            marker = item
                            self.markers_queued -= 1
                            break
                        batch.append(item)
                    else:
                        # A marker right behind a full batch goes with it, so
                        # that flush() returns after this write, not the next.
                        head = queue[0] if queue else None
                        if isinstance(head, _Marker):
                            queue.popleft()
                            marker = head
                            self.markers_queued -= 1
            self.in_flight = len(batch)
            self.taken_marker = marker
        if self.blocked:
            with self.room:
                self.room.notify_all()
        return batch, marker

    def _deliver(self, batch: list[ValueEvent], deadline: float | None) -> None:
        """Store *batch*, retrying; settle every event in it as written, duplicate or failed.

        *deadline* (a ``time.monotonic()`` value) bounds a write-through; the
        writer passes ``None`` and is bounded by the close deadline once
        ``close()`` sets one.
        """
        retry = self.retry
        delay = retry.initial_backoff
        attempt = 0
        error: BaseException | None = None
        settled = False

        # A store that waits on a network gives up at this limit (the sync
        # deadline, or the close deadline once close() sets one, even while
        # the call is already waiting).
        def store_limit() -> float | None:
            return self._deadline(deadline)

        try:
            while True:
                limit = self._deadline(deadline)
                # Past a close deadline nothing more is tried; a write-through
                # always gets its first attempt.
                if (
                    limit is not None
                    and time.monotonic() >= limit
                    and (attempt or deadline is None)
                ):
                    break
                attempt += 1
                try:
                    with bounded_by(store_limit):
                        new = self.store.append(batch)
                except retry.retry_on as exc:
                    error = exc
                    if retry.max_attempts is not None and attempt >= retry.max_attempts:
                        break
                    wait = delay * (1 + retry.jitter * (2 * random.random() - 1))
                    delay = min(delay * retry.multiplier, retry.max_backoff)
                    with self.lock:
                        self.retries += 1
                        self.last_error = describe(exc)
                    self._report(DeliveryFailure("retrying", len(batch), exc, attempt, wait))
                    self._report_drops()
                    self._pause(wait, deadline)
                except InvalidEventError as exc:
                    error = exc
                    if len(batch) == 1:
                        break
                    # The store refused a record of the batch (one it cannot
                    # hold): find it by halves, deliver the rest.
                    settled = True
                    half = len(batch) // 2
                    self._deliver(batch[:half], deadline)
                    self._deliver(batch[half:], deadline)
                    return
                except BaseException as exc:
                    # Any other error gives the batch up, asyncio.CancelledError
                    # and the like included: the writer carries on. Only an
                    # interrupt on the caller's thread (sync mode) propagates,
                    # with the event counted as failed.
                    error = exc
                    if isinstance(exc, KeyboardInterrupt | SystemExit) and self._on_caller_thread():
                        raise
                    break
                else:
                    self._settle_written(len(batch), new)
                    settled = True
                    return
        finally:
            if not settled:
                self._settle_failed(len(batch), error, attempt)

    def _on_caller_thread(self) -> bool:
        return threading.current_thread() is not self.thread

    def _deadline(self, deadline: float | None) -> float | None:
        close_deadline = self.close_deadline
        if close_deadline is None:
            return deadline
        return close_deadline if deadline is None else min(deadline, close_deadline)

    def _pause(self, seconds: float, deadline: float | None) -> None:
        limit = self._deadline(deadline)
        if limit is not None:
            seconds = min(seconds, max(0.0, limit - time.monotonic()))
        # close() sets `interrupt` so that a long backoff does not eat its
        # whole timeout; the next wait is a normal backoff again.
        if self.interrupt.wait(_wait_time(seconds)):
            self.interrupt.clear()

    def _settle_written(self, size: int, new: int) -> None:
        new = max(0, min(size, new))
        with self.lock:
            if self.given_up:
                # close() already counted this batch as failed; it stays so.
                late = True
            else:
                late = False
                self.written += new
                self.duplicates += size - new
                self.in_flight = max(0, self.in_flight - size)
        if late:
            logger.warning(
                "ttvkit tracker: a store call close() gave up on returned late; "
                "its %d events stay counted as failed though the store may hold them",
                size,
            )

    def _settle_failed(
        self, size: int, error: BaseException | None, attempt: int, *, in_flight: bool = True
    ) -> None:
        with self.lock:
            if error is not None:
                self.last_error = describe(error)
            if self.given_up and in_flight:
                return  # close() already counted and reported this batch
            self.failed += size
            if in_flight:
                self.in_flight = max(0, self.in_flight - size)
        self._report(DeliveryFailure("failed", size, error, attempt))

    def _settle_marker(self, marker: _Marker) -> None:
        with self.lock:
            if marker.done.is_set():
                return
            marker.lost = self.dropped + self.failed
            if self.taken_marker is marker:
                self.taken_marker = None
        marker.done.set()

    def _consume(self, lost: int, seen: int) -> bool:
        """Whether *lost* (a settled marker's count) is no more than *seen*.

        *seen* is ``lost_seen`` as it was when the flush was called: each
        flush judges its own window, so a concurrent flush that reported the
        same loss first does not make this one return ``True``. Called by the
        flush (or close) that returns, never by the writer: a flush that
        timed out consumes nothing, so its losses are reported by the next one.
        """
        with self.lock:
            self.lost_seen = max(self.lost_seen, lost)
        return lost <= seen

    def _losses_seen(self) -> int:
        with self.lock:
            return self.lost_seen

    def _nothing_lost_since_last_check(self) -> bool:
        with self.lock:
            lost = self.dropped + self.failed
            seen = self.lost_seen
        return self._consume(lost, seen)

    def _abandon_queue(self) -> None:
        """Settle whatever is still queued as failed (the writer is stopping)."""
        with self.lock:
            events = 0
            markers: list[_Marker] = []
            while self.queue:
                item = self.queue.popleft()
                if isinstance(item, _Marker):
                    markers.append(item)
                else:
                    events += 1
            self.markers_queued = 0
            self.failed += events
        if events:
            self._report(DeliveryFailure("failed", events))
        for marker in markers:
            self._settle_marker(marker)

    def _report_drops(self) -> None:
        with self.lock:
            new_drops = self.dropped - self.drops_reported
            self.drops_reported = self.dropped
        if new_drops:
            self._report(DeliveryFailure("dropped", new_drops))

    def _report(self, failure: DeliveryFailure) -> None:
        level = (
            logging.INFO if failure.kind == "retrying" and failure.attempt > 1 else logging.WARNING
        )
        logger.log(level, "ttvkit tracker: %s", failure)
        if self.on_error is None:
            return
        try:
            self.on_error(failure)
        except BaseException as exc:
            # BaseException too (asyncio.CancelledError…): a callback must not
            # kill the writer. Only an interrupt on the caller's thread
            # (sync mode) propagates, after being counted.
            with self.lock:
                self.callback_errors += 1
            logger.warning("ttvkit tracker: the on_error callback raised; ignored", exc_info=True)
            if isinstance(exc, KeyboardInterrupt | SystemExit) and self._on_caller_thread():
                raise

    # ---- flush, close, stats ---------------------------------------------------

    def flush(self, timeout: float | None) -> bool:
        # Under start_lock, so the marker is queued either before the close
        # marker or not at all: the writer settles everything up to that one.
        with self.start_lock:
            thread = self.thread
            if thread is None:
                return self._nothing_lost_since_last_check()
            if thread is threading.current_thread():
                return False  # on_error calling flush(): the writer cannot wait for itself
            seen = self._losses_seen()
            marker = self.close_marker if self._closing_started else self._push_marker()
        assert marker is not None
        wait = None if timeout is None else _wait_time(timeout)
        return marker.done.wait(wait) and self._consume(marker.lost, seen)

    def _push_marker(self) -> _Marker:
        marker = _Marker()
        with self.lock:
            self.queue.append(marker)
            self.markers_queued += 1
        self.wake.set()
        return marker

    def begin_close(self, timeout: float) -> None:
        """Stop accepting events and let the writer store the rest within *timeout*."""
        with self.start_lock:
            self.offer = self._refuse
            if not self._closing_started:
                self._closing_started = True
                if self.thread is None:
                    self._close_owned_store()
                else:
                    # Queued before the deadline is set, so the writer, once
                    # it sees the deadline, drains up to and past this marker.
                    self.close_marker = self._push_marker()
            deadline = time.monotonic() + timeout
            if self.close_deadline is None or deadline < self.close_deadline:
                self.close_deadline = deadline
        self.interrupt.set()
        with self.room:  # a track() blocked on a full queue drops its event now
            self.room.notify_all()

    def close(self, timeout: float) -> bool:
        with self.close_lock:
            if self._close_result is not None:
                return self._close_result
            self.begin_close(timeout)
            thread, marker = self.thread, self.close_marker
            if thread is threading.current_thread():
                return False  # on_error calling close(): the writer stops on its own
            seen = self._losses_seen()
            ok = self._nothing_lost_since_last_check() if thread is None else False
            if thread is not None and marker is not None:
                remaining = max(0.0, (self.close_deadline or 0.0) - time.monotonic())
                thread.join(_wait_time(remaining + _SETTLE_GRACE))
                ok = marker.done.is_set() and self._consume(marker.lost, seen)
            if thread is not None and thread.is_alive():
                # The writer is stuck in a store call past the deadline: give
                # up on that batch and everything queued, as failed, now.
                self._give_up_in_flight()
            # A track() that raced close() may have queued after the
            # writer's last look: settle it rather than leave it pending.
            self._abandon_queue()
            self._close_result = ok
            return ok

    def _give_up_in_flight(self) -> None:
        """Count the batch a hung store call holds as failed; the writer will not settle it."""
        with self.lock:
            if self.given_up:
                return
            self.given_up = True
            events = self.in_flight
            self.in_flight = 0
            self.failed += events
            marker = self.taken_marker
        if events:
            self._report(DeliveryFailure("failed", events))
        if marker is not None:
            self._settle_marker(marker)

    def stats(self) -> TrackerStats:
        with self.lock:
            depth = len(self.queue) - self.markers_queued + self.in_flight
            settled = self.written + self.duplicates + self.dropped + self.failed
            return TrackerStats(
                accepted=settled + depth,
                written=self.written,
                duplicates=self.duplicates,
                dropped=self.dropped,
                failed=self.failed,
                queue_depth=depth,
                retries=self.retries,
                callback_errors=self.callback_errors,
                last_error=self.last_error,
            )

    def _close_owned_store(self) -> None:
        if not self.owns_store or self._store_closed:
            return
        self._store_closed = True
        try:
            self.store.close()
        except Exception:
            logger.warning("ttvkit tracker: closing the store failed", exc_info=True)

    # ---- process events --------------------------------------------------------

    def after_fork_in_child(self) -> None:
        # The parent's queued events are the parent's to store: the child
        # starts empty, with new locks (a parent thread may have held the
        # old ones at the fork) and no writer until its first track().
        self._reset_state()
        if self._closing_started:
            self.offer = self._refuse
            if self._close_result is None:  # the parent is closing it; nothing here to do
                self._close_result = True
        elif not self.config.sync:
            self.offer = self._start_then_offer


# Every pipeline in this process, for the at-exit flush and the at-fork reset.
# Weak, so a pipeline whose tracker is gone and whose writer stopped is freed.
_live_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()


def _close_all_at_exit() -> None:
    pipelines = [p for p in list(_live_pipelines) if p._close_result is None]
    # Start every close first so that the trackers' exit timeouts overlap.
    for p in pipelines:
        p.begin_close(p.config.exit_timeout)
    for p in pipelines:
        p.close(p.config.exit_timeout)


def _reset_all_in_child() -> None:
    for p in list(_live_pipelines):
        p.after_fork_in_child()


_exit_hook_registered = False


def register_exit_hook() -> None:
    # Registered on first use, after the first weakref.finalize exists: atexit
    # runs the last-registered handler first, so this flush runs before
    # weakref's own exit hook finalizes stores (which may close connections
    # a writer is still using).
    global _exit_hook_registered
    if not _exit_hook_registered:
        _exit_hook_registered = True
        atexit.register(_close_all_at_exit)


at_fork(after_in_child=_reset_all_in_child)
