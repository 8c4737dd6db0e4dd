"""A store call that waits (for a lock, a server) ended by ``store.close()`` elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ttvkit import StoreError


def assert_close_ends_the_call(
    store: Any, call: Callable[[], object], *, after: float, slack: float
) -> None:
    """*call* runs in a thread; ``store.close()`` *after* seconds ends it within *slack*
    seconds, raising :class:`StoreError` ("closed")."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    time.sleep(after)
    closed_at = time.monotonic()
    store.close()
    caller.join(5)
    assert not caller.is_alive()
    assert time.monotonic() - closed_at < slack
    [error] = outcome
    assert type(error) is StoreError
    assert "closed" in str(error)


def assert_tracker_close_gives_up(
    tracker: Any, before: set[threading.Thread], *, events: int, slack: float
) -> None:
    """``tracker.close(1.0)`` with the writer's store call waiting: within *slack* of the
    second it gives up, the writer's call with it, and counts the *events* as failed."""
    started = time.monotonic()
    assert tracker.close(1.0) is False
    assert time.monotonic() - started < 1.0 + slack
    # The writer's call itself gave up: close() did not just stop waiting for it.
    for thread in set(threading.enumerate()) - before:
        thread.join(0.5)
        assert not thread.is_alive(), thread.name
    stats = tracker.stats()
    assert (stats.written, stats.failed, stats.queue_depth) == (0, events, 0)
