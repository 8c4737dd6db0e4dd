"""SQLite connections: safe across ``os.fork()``, closed by the thread that ends, retried
while busy.

A file store gives each thread its own connection (a :class:`Handle`, closed
by a finalizer when the thread ends); an in-memory store shares one. This
module holds what those connections need whoever owns them:

* the fork gate (:data:`GATE`): ``os.fork()`` waits until no thread is inside
  an SQLite write, and a forked child never uses or closes a connection of its
  parent (:data:`INHERITED`, :func:`watch_forks`);
* :func:`retry_while_busy`, the one loop that retries an operation, with
  jittered backoff, while another connection holds the lock, and gives up at
  the store's timeout, at a deadline the caller lent
  (:mod:`ttvkit.stores.deadline`) or when the store is closed.

The fork hooks are registered with :func:`ttvkit._fork.at_fork` on import.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import Final, Protocol, TypeVar

from ttvkit._fork import at_fork
from ttvkit.errors import StoreError, StoreUnavailableError
from ttvkit.stores.deadline import current_limit

__all__ = [
    "BUSY_SLICE",
    "GATE",
    "INHERITED",
    "Handle",
    "close_connection",
    "close_if_ours",
    "is_busy",
    "retry_while_busy",
    "unwatch_forks",
    "watch_forks",
]

_T = TypeVar("_T")

_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_FIRST_BACKOFF: Final = 0.002
_MAX_BACKOFF: Final = 0.05

#: The busy timeout of every connection: how long SQLite itself waits for a
#: lock before :func:`retry_while_busy` looks at its deadlines and at close().
#: SQLite's own wait cannot be interrupted, so a longer one (the store's
#: timeout) would hold a call past a tracker's close deadline.
BUSY_SLICE: Final = 0.05

#: How long ``os.fork()`` waits for SQLite writes in progress in other threads.
_FORK_WAIT: Final = 5.0

# Connections a forked child inherited. ttvkit never uses or closes them in
# the child: closing runs SQLite code against the parent's files and locks
# (SQLite's "how to corrupt a database", section 2.6), and keeping them
# referenced stops the garbage collector from closing them at a random
# moment (only the child's interpreter shutdown finally releases them).
INHERITED: list[sqlite3.Connection] = []


class _ForgetsConnections(Protocol):
    def _forget_connections_after_fork(self) -> None: ...


# Stores that may hold connections, so that a forked child can drop them.
_LIVE: weakref.WeakSet[_ForgetsConnections] = weakref.WeakSet()


def watch_forks(store: _ForgetsConnections) -> None:
    """Have a forked child call ``store._forget_connections_after_fork()``."""
    _LIVE.add(store)


def unwatch_forks(store: _ForgetsConnections) -> None:
    """Undo :func:`watch_forks` (a closed store holds no connections)."""
    _LIVE.discard(store)


class _ForkGate:
    """Makes ``os.fork()`` wait until no thread is inside an SQLite write.

    A connection of this process that holds the WAL write lock at the fork
    leaves that lock recorded in SQLite's per-process state in the child,
    where no thread will ever release it: every write of the child to the
    same file then fails as busy, for ever. A thread inside SQLite at the
    fork may also hold one of SQLite's mutexes, which the child would wait
    for. So writes (and opening connections) pass through this gate, and a
    fork first closes it and waits, at most :data:`_FORK_WAIT` seconds, for
    the writes in progress to finish (a ttvkit write transaction lasts
    milliseconds). Long reads are not gated: a read lock left in the child
    blocks only checkpoints, never the child's writes.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._forking = False

    def __enter__(self) -> None:
        with self._cond:
            while self._forking:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *_: object) -> None:
        with self._cond:
            self._active -= 1
            if self._forking and not self._active:
                self._cond.notify_all()

    def before_fork(self) -> None:
        with self._cond:
            self._forking = True
            self._cond.wait_for(lambda: not self._active, _FORK_WAIT)

    def after_fork_in_parent(self) -> None:
        with self._cond:
            self._forking = False
            self._cond.notify_all()

    def after_fork_in_child(self) -> None:
        # The parent's threads that were waiting at the gate do not exist here.
        self._reset()


#: The gate every SQLite write (and every new connection) of this process passes.
GATE: Final = _ForkGate()


def _after_fork_in_child() -> None:
    GATE.after_fork_in_child()
    for store in list(_LIVE):
        store._forget_connections_after_fork()


at_fork(
    before=GATE.before_fork,
    after_in_parent=GATE.after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


def close_connection(connection: sqlite3.Connection) -> None:
    """Close *connection*, ignoring SQLite's errors (it is being given up)."""
    with contextlib.suppress(sqlite3.Error):
        connection.close()


def close_if_ours(connection: sqlite3.Connection, pid: int) -> None:
    """A finalizer's callback: close *connection* only in the process that opened it.

    In a forked child the parent's threads are gone, and their thread-local
    handles are freed while ``os.fork()`` is still returning, before any
    at-fork hook has run: closing the connection then would wait for a
    connection mutex that a parent thread held at the fork, for ever. The
    child keeps the connection referenced instead, and never uses it.
    """
    if os.getpid() == pid:
        close_connection(connection)
    else:
        INHERITED.append(connection)


class Handle:
    """One thread's connection; closed by a finalizer when the thread ends."""

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether another connection holds a lock *exc* ran into (worth waiting for)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(exc)
    return "database is locked" in message or "database table is locked" in message


def retry_while_busy(
    operation: Callable[[], _T],
    *,
    timeout: float,
    closed: Callable[[], bool],
    failure: Callable[[sqlite3.Error], StoreError],
    path: str,
) -> _T:
    """Run *operation*, again with jittered backoff while the database is busy.

    Each attempt waits inside SQLite at most :data:`BUSY_SLICE` seconds (the
    connections' busy timeout); between attempts this loop gives up: past
    *timeout* seconds, or past the deadline the caller lent
    (:func:`~ttvkit.stores.deadline.current_limit`, a tracker's close or sync
    deadline), with :class:`~ttvkit.errors.StoreUnavailableError`; once the
    store is *closed* (from another thread), or on any other SQLite error,
    with *failure*'s error.
    """
    deadline = time.monotonic() + timeout
    delay = _FIRST_BACKOFF
    while True:
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or closed():
                raise failure(exc) from exc
            now = time.monotonic()
            if now >= deadline:
                raise StoreUnavailableError(
                    f"{path} stayed locked by another connection for more than "
                    f"{timeout:g}s ({exc}); retry later, or raise the timeout"
                ) from exc
            lent = current_limit()
            if lent is not None and now >= lent:
                raise StoreUnavailableError(
                    f"{path} is locked by another connection ({exc}) and the caller's "
                    "deadline passed while waiting (a tracker closing, or its "
                    "sync_timeout); nothing of this call was stored. Retry later"
                ) from exc
            until = deadline if lent is None else min(deadline, lent)
            time.sleep(min(delay, until - now) * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _MAX_BACKOFF)
        except sqlite3.Error as exc:
            raise failure(exc) from exc
