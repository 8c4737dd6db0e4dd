"""The :class:`Tracker`: the public face of the pipeline, and the one call on the hot path."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self, TypeAlias

from ttvkit.errors import ConfigurationError
from ttvkit.events import JSONValue, TimestampLike, ValueEvent, checked_event
from ttvkit.stores import Store, open_store
from ttvkit.tracker._config import Seconds, TrackerConfig, checked_seconds
from ttvkit.tracker._pipeline import Pipeline, register_exit_hook
from ttvkit.tracker._report import ErrorCallback, TrackerStats

__all__ = ["Clock", "Tracker"]

Clock: TypeAlias = Callable[[], datetime]

# The default clock: a C-level partial, cheaper to call than a Python function.
_utc_now: Final[Clock] = functools.partial(datetime.now, UTC)


class Tracker:
    """Record value events from a running app: validated now, stored in the background.

    *store* is a :class:`~ttvkit.stores.Store` or a store URL
    (``"sqlite:///ttv.db"``, ``"memory://"``…). A URL is opened with
    :func:`~ttvkit.open_store` and the tracker owns that store: closing the
    tracker closes it. A store object you pass in stays yours: the tracker
    never closes it.

    *config* holds every option (:class:`TrackerConfig`); *on_error* is
    called, from the writer thread, with a :class:`DeliveryFailure` for each
    store failure, give-up and drop (an exception it raises is counted in
    ``stats().callback_errors`` and otherwise ignored); *clock* supplies the
    timestamp of events tracked without one (default: ``datetime.now(UTC)``;
    :class:`ttvkit.testing.FrozenClock` fits).

    Guarantees: ``track()`` raises only for invalid input or a closed
    tracker, never because the store failed; every accepted event ends as
    written, duplicate, dropped or failed (see :class:`TrackerStats`);
    after ``flush()`` returns ``True`` everything accepted before it is
    stored; a time-bounded flush runs at interpreter exit; a forked child
    gets its own working writer. All methods are thread-safe.

    >>> from ttvkit import MemoryStore
    >>> with Tracker(MemoryStore()) as tracker:
    ...     _ = tracker.track("u42", "signup", properties={"plan": "free"})
    ...     tracker.flush()
    True
    """

    __slots__ = ("__weakref__", "_clock", "_pipeline")

    def __init__(
        self,
        store: Store | str,
        *,
        config: TrackerConfig | None = None,
        on_error: ErrorCallback | None = None,
        clock: Clock | None = None,
    ) -> None:
        if config is None:
            config = TrackerConfig()
        elif not isinstance(config, TrackerConfig):
            raise ConfigurationError(
                f"config={config!r}: pass a ttvkit.tracker.TrackerConfig, "
                "e.g. TrackerConfig(batch_size=500)"
            )
        if on_error is not None and not callable(on_error):
            raise ConfigurationError(f"on_error={on_error!r}: must be callable or None")
        if clock is not None and not callable(clock):
            raise ConfigurationError(f"clock={clock!r}: must be a callable returning a datetime")
        if isinstance(store, str):
            resolved, owns = open_store(store), True
        elif isinstance(store, Store):
            resolved, owns = store, False
        else:
            raise ConfigurationError(
                f"store={store!r}: pass a Store (e.g. MemoryStore()) or a store URL "
                "such as 'sqlite:///ttv.db'"
            )
        self._clock: Clock = _utc_now if clock is None else clock
        self._pipeline = Pipeline(resolved, owns, config, on_error)
        # An unreferenced tracker starts closing; the at-exit hook finishes it.
        weakref.finalize(self, self._pipeline.begin_close, config.exit_timeout).atexit = False
        register_exit_hook()

    def __repr__(self) -> str:
        p = self._pipeline
        state = "closed" if p._closing_started else "open"
        return f"<Tracker {state} store={p.store!r} queue_depth={self.stats().queue_depth}>"

    def track(
        self,
        user_id: str | int,
        name: str,
        *,
        timestamp: TimestampLike | None = None,
        properties: Mapping[str, JSONValue] | None = None,
        account_id: str | int | None = None,
        event_id: str | None = None,
    ) -> ValueEvent:
        """Record that *user_id* did *name*; return the validated :class:`ValueEvent`.

        Invalid input raises :class:`~ttvkit.errors.InvalidEventError` and
        nothing is recorded; a closed tracker raises
        :class:`TrackerClosedError`. Otherwise the event is accepted: it is
        queued for the writer (or, when the queue is full, dropped and
        counted, per ``TrackerConfig.when_full``); with ``sync=True`` it is
        stored before this returns. Store failures never raise here.
        ``timestamp`` defaults to the tracker's clock; ``event_id`` to a new
        unique id (pass your own to make retries idempotent). Integer
        ``user_id`` and ``account_id`` (database keys) are stored as their
        decimal text, as the readers do; ``True``/``False`` and floats are refused.
        """
        # bit_length: a huge int is refused by the id checks, not by str()'s digit limit.
        if type(user_id) is int and user_id.bit_length() <= 512:
            user_id = str(user_id)
        if type(account_id) is int and account_id.bit_length() <= 512:
            account_id = str(account_id)
        # The checks are those of ValueEvent(...), with the common case made
        # cheap (checked_event); storing's own work (rows, JSON, name ids)
        # happens in the writer.
        event = checked_event(
            user_id,
            name,
            self._clock() if timestamp is None else timestamp,
            properties,
            account_id,
            event_id,
        )
        self._pipeline.offer(event)
        return event

    def flush(self, timeout: Seconds | None = None) -> bool:
        """Wait until every event accepted before this call is settled.

        Returns ``True`` when all of them are stored and no event was lost
        (dropped or failed) since the last flush that had returned when this
        one was called (so concurrent flushes each report it); ``False`` when
        *timeout* (seconds or a ``timedelta``; ``None`` waits as long as it
        takes) passed first, or some events were lost (``stats()`` says how
        many). Events still queued after a timeout stay queued and keep being
        retried. Never hangs on a dropped or failed event: those are settled
        at once.
        """
        return self._pipeline.flush(None if timeout is None else checked_seconds(timeout))

    def close(self, timeout: Seconds | None = None) -> bool:
        """Flush, stop the writer and close an owned store; return like :meth:`flush`.

        Waits at most *timeout* seconds (default ``config.close_timeout``);
        events the store still has not taken by then are given up, counted
        as failed and reported, those of a store call still running included
        (if that call stores them later, they stay counted as failed).
        Closing again returns the first result.
        """
        seconds = (
            self._pipeline.config.close_timeout if timeout is None else checked_seconds(timeout)
        )
        return self._pipeline.close(seconds)

    def stats(self) -> TrackerStats:
        """A snapshot of the counters; see :class:`TrackerStats`."""
        return self._pipeline.stats()

    @property
    def store(self) -> Store:
        """The store events are written to (read it after :meth:`flush`)."""
        return self._pipeline.store

    @property
    def config(self) -> TrackerConfig:
        """The options this tracker runs with."""
        return self._pipeline.config

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (or the tracker is shutting down)."""
        return self._pipeline._closing_started

    def _ttvkit_store_for_analysis(self) -> Store:
        """Flush (within ``close_timeout``), then hand the store to a calculator."""
        self.flush(self._pipeline.config.close_timeout)
        return self._pipeline.store

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
