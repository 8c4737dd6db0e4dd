"""Tracker: record value events from a running app without slowing it down or losing them.

:class:`Tracker` validates each event on the caller's thread (bad input
raises :class:`~ttvkit.errors.InvalidEventError` at once), puts it on a
bounded in-memory queue, and a background writer thread stores the queue in
batches. The package's modules, one job each:

* ``_config`` — :class:`TrackerConfig` and :class:`RetryPolicy`, the options,
  checked and resolved once when the tracker is built so that
  :meth:`Tracker.track` does no branching on them;
* ``_report`` — :class:`TrackerStats`, an immutable snapshot of the loss
  counts, and :class:`DeliveryFailure`, what the ``on_error`` callback receives;
* ``_pipeline`` — the queue, the writer thread, retries, flush markers, and
  the process-wide at-exit and at-fork hooks;
* ``_tracker`` — :class:`Tracker` itself.

:class:`TrackerClosedError` (``track()`` after ``close()``) lives in
:mod:`ttvkit.errors` and is exported here too.

The accounting rule: every event :meth:`Tracker.track` accepted ends as
exactly one of *written*, *duplicate* (its ``event_id`` was already stored),
*dropped* (the queue was full) or *failed* (given up after retrying), and
until then it is counted in ``queue_depth``. So at any quiet moment
``accepted == written + duplicates + dropped + failed + queue_depth``.
``docs/tracker.md`` is the user guide.
"""

from __future__ import annotations

from ttvkit.errors import TrackerClosedError
from ttvkit.tracker._config import RetryPolicy, Seconds, TrackerConfig
from ttvkit.tracker._report import DeliveryFailure, ErrorCallback, TrackerStats
from ttvkit.tracker._tracker import Clock, Tracker

__all__ = [
    "Clock",
    "DeliveryFailure",
    "ErrorCallback",
    "RetryPolicy",
    "Seconds",
    "Tracker",
    "TrackerClosedError",
    "TrackerConfig",
    "TrackerStats",
]
