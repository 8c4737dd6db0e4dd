"""PostgreSQL connections whose every wait for the server has a deadline.

psycopg waits for the server without a bound of its own; TCP keepalives and
``tcp_user_timeout`` (:data:`NETWORK_DEFAULTS`) notice a dead peer, but not a
frozen server whose kernel still acknowledges packets. :class:`BoundedConnection`
checks a deadline between short waits and abandons the connection past it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import psycopg

__all__ = ["NETWORK_DEFAULTS", "WAIT_SLICE", "BoundedConnection", "Deadline", "first_line"]

#: How often a call waiting for the server checks its deadline and close().
WAIT_SLICE: Final = 0.1

_WaitTimeout: Final[type[Exception]] = getattr(psycopg.errors, "_WaitTimeout", TimeoutError)

#: Connection parameters ttvkit sets unless the conninfo sets them: a dead
#: peer is noticed within about a minute instead of the kernel's 2 hours.
NETWORK_DEFAULTS: Final[Mapping[str, str]] = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
    "application_name": "ttvkit",
}


class Deadline(psycopg.OperationalError):
    """A call gave up waiting for the server; the connection was abandoned."""


class BoundedConnection(psycopg.Connection[tuple[Any, ...]]):
    """A psycopg connection whose every wait for the server has a deadline.

    psycopg waits for the socket in :meth:`wait`; this one waits in slices
    of :data:`WAIT_SLICE` seconds and, between slices, asks its store for
    the deadline (the call's ``query_timeout``, or a tighter one a tracker
    lent, see :mod:`ttvkit.stores.deadline`) and whether the store was
    closed. Past the deadline, or once closed, the connection is abandoned
    (its socket closed, never reused) and :class:`Deadline` raised. A
    server that stops answering, or a network that drops every packet,
    therefore holds a call no longer than its deadline plus one slice, which
    TCP keepalives and ``tcp_user_timeout`` cannot promise: the kernel of a
    frozen server, or a proxy in between, still acknowledges the packets.
    """

    ttv_deadline: Callable[[], float | None] | None = None

    def wait(self, gen: Any, interval: float = WAIT_SLICE, timeout: float | None = None) -> Any:
        deadline_of = self.ttv_deadline
        if deadline_of is None:
            return super().wait(gen, interval, timeout)
        given = None if timeout is None else time.monotonic() + timeout
        while True:
            deadline = deadline_of()
            if given is not None:
                deadline = given if deadline is None else min(deadline, given)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self._abandon()
                raise Deadline("the server did not answer in time")
            step = WAIT_SLICE if deadline is None else min(WAIT_SLICE, deadline - now)
            try:
                return super().wait(gen, interval, step)
            except _WaitTimeout:
                continue  # the generator is resumable: look at the deadline again

    def _abandon(self) -> None:
        # The protocol state is unknown: close the socket, never send more.
        with contextlib.suppress(Exception):
            self.pgconn.finish()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
