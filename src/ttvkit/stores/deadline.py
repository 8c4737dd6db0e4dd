"""A deadline a caller lends to the store calls it makes on its thread.

The :class:`~ttvkit.tracker.Tracker` must bound how long a store call may
take (``sync_timeout`` in sync mode, the close deadline while closing), but
the :class:`~ttvkit.stores.Store` protocol has no timeout parameter. So the
tracker wraps each call in :func:`bounded_by`, and a store that waits on a
network or on a lock (:class:`~ttvkit.stores.postgres.PostgresStore`, connecting
included; :class:`~ttvkit.stores.sqlite.SQLiteStore` waiting for another
connection's write lock) reads :func:`current_limit` while it waits and gives
up when the limit passes. Stores that never wait ignore it.

The limit is a callable, read again at every check, so that a deadline set
while the call is already waiting (``close()`` during a write) still counts.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

__all__ = ["Limit", "bounded_by", "current_limit"]

#: Returns an absolute ``time.monotonic()`` deadline, or ``None`` for none.
Limit = Callable[[], float | None]

_local = threading.local()


@contextlib.contextmanager
def bounded_by(limit: Limit) -> Iterator[None]:
    """Let store calls made on this thread inside the block give up at *limit*."""
    previous: Limit | None = getattr(_local, "limit", None)
    _local.limit = limit
    try:
        yield
    finally:
        _local.limit = previous


def current_limit() -> float | None:
    """The deadline lent to this thread's store calls, or ``None``."""
    limit: Limit | None = getattr(_local, "limit", None)
    return None if limit is None else limit()
