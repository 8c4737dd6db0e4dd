"""What the tracker tells about delivery: :class:`TrackerStats` and :class:`DeliveryFailure`.

:class:`TrackerStats` is the snapshot of the loss counts that ``stats()``
returns; :class:`DeliveryFailure` is one report to the ``on_error`` callback
and the ``ttvkit.tracker`` logger. Both are values: the pipeline builds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

import attrs

__all__ = ["DeliveryFailure", "ErrorCallback", "TrackerStats", "describe"]


@attrs.frozen
class TrackerStats:
    """A snapshot of a tracker's counters (see :meth:`Tracker.stats`).

    * ``accepted`` — events ``track()`` accepted (valid, tracker open);
    * ``written`` — stored by this tracker;
    * ``duplicates`` — not stored because their ``event_id`` already was;
    * ``dropped`` — never queued because the queue was full;
    * ``failed`` — given up: a non-retryable store error, ``max_attempts``
      reached, or the store still failing when a close, exit or ``sync_timeout``
      deadline passed;
    * ``queue_depth`` — accepted and not yet settled (queued or being written);
    * ``retries`` — failed store calls that were retried;
    * ``callback_errors`` — exceptions the ``on_error`` callback raised (ignored);
    * ``last_error`` — the last store error as ``"Type: message"``, or ``None``.

    ``accepted == written + duplicates + dropped + failed + queue_depth``.
    Counters are per process: a forked child starts from zero.
    """

    accepted: int
    written: int
    duplicates: int
    dropped: int
    failed: int
    queue_depth: int
    retries: int
    callback_errors: int
    last_error: str | None

    @property
    def lost(self) -> int:
        """Events that will never be stored: ``dropped + failed``."""
        return self.dropped + self.failed

    def to_dict(self) -> dict[str, int | str | None]:
        """The counters as a JSON-ready dict."""
        return attrs.asdict(self)


@attrs.frozen
class DeliveryFailure:
    """One problem the tracker reports to ``on_error`` (and to the ``ttvkit.tracker`` logger).

    * ``kind="retrying"`` — a store call failed with a retryable error; the
      batch of ``events`` is kept, in order, and retried in ``retry_in`` seconds;
    * ``kind="failed"`` — ``events`` were given up and counted as *failed*;
    * ``kind="dropped"`` — ``events`` were dropped because the queue was full
      (reported by the writer, not from ``track()``, at most once per batch).

    ``error`` is the exception the store raised (``None`` for drops and for
    events given up because a deadline passed before they could be tried);
    ``attempt`` counts the store calls made for this batch.
    """

    kind: Literal["retrying", "failed", "dropped"]
    events: int
    error: BaseException | None = None
    attempt: int = 0
    retry_in: float | None = None

    def __str__(self) -> str:
        cause = "" if self.error is None else f": {describe(self.error)}"
        if self.kind == "dropped":
            return f"dropped {_events_text(self.events)} because the tracker's queue was full"
        if self.kind == "retrying":
            return (
                f"storing {_events_text(self.events)} failed (attempt {self.attempt}){cause}; "
                f"retrying in {self.retry_in:.2f} s"
            )
        if self.error is None:
            return (
                f"gave up on {_events_text(self.events)} the store had not taken when a close, "
                "exit or write-through deadline passed"
            )
        attempts = "1 attempt" if self.attempt == 1 else f"{self.attempt} attempts"
        return f"gave up on {_events_text(self.events)} after {attempts}{cause}"


def _events_text(n: int) -> str:
    return "1 event" if n == 1 else f"{n:,} events"


ErrorCallback: TypeAlias = Callable[[DeliveryFailure], object]


def describe(error: BaseException) -> str:
    """*error* as ``"Type: message"``, for logs and ``TrackerStats.last_error``."""
    return f"{type(error).__name__}: {error}"
