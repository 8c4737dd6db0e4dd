"""PostgreSQL connections whose every wait for the server has a deadline.

psycopg waits for the server without a bound of its own; TCP keepalives and
``tcp_user_timeout`` (:data:`NETWORK_DEFAULTS`) notice a dead peer, but not a
frozen server whose kernel still acknowledges packets. :class:`BoundedConnection`
checks a deadline between short waits and abandons the connection past it,
connecting included (:meth:`BoundedConnection.connect_until`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import psycopg
from psycopg import generators, pq, waiting
from psycopg.conninfo import (
    conninfo_attempts,
    conninfo_to_dict,
    make_conninfo,
    timeout_from_conninfo,
)
from psycopg.pq.abc import PGcancelConn, PGconn

__all__ = ["NETWORK_DEFAULTS", "WAIT_SLICE", "BoundedConnection", "Deadline", "first_line"]

#: How often a call waiting for the server checks its deadline and close().
WAIT_SLICE: Final = 0.1

#: How long a cancel request for an abandoned statement may take, in the background.
CANCEL_TIMEOUT: Final = 10.0

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

    @classmethod
    def connect_until(
        cls, conninfo: str, deadline_of: Callable[[], float | None], *, autocommit: bool = False
    ) -> BoundedConnection:
        """:meth:`connect`, giving up when the deadline *deadline_of* returns passes.

        psycopg's :meth:`connect` waits for the server for up to libpq's
        ``connect_timeout`` (per host of the conninfo, as libpq does) and
        cannot be stopped earlier. This one keeps that timeout, and between
        waits of :data:`WAIT_SLICE` seconds reads the deadline again (a
        tracker may lend a tighter one while the call waits; close() makes it
        ``0``). Past it the half-open connection is closed and
        :class:`Deadline` raised, without trying further hosts. The
        connection is returned with ``ttv_deadline`` set to *deadline_of*.
        """
        params = conninfo_to_dict(conninfo)
        timeout = timeout_from_conninfo(params)  # libpq's rules: 2 s at least
        errors: list[psycopg.Error] = []
        for attempt in conninfo_attempts(params):
            try:
                conn = _connect_once(
                    cls, make_conninfo("", **attempt), time.monotonic() + timeout, deadline_of
                )
            except _WaitTimeout:
                errors.append(psycopg.errors.ConnectionTimeout("connection timeout expired"))
            except Deadline:
                raise
            except psycopg.Error as exc:
                errors.append(exc)
            else:
                conn.ttv_deadline = deadline_of
                conn.autocommit = autocommit  # no round trip on a new connection
                return conn
        if not errors:
            raise psycopg.OperationalError("the connection string names no host to connect to")
        if len(errors) == 1:
            raise errors[0].with_traceback(None)
        raise type(errors[-1])(
            "\n".join(
                [str(errors[-1]), "All connection attempts failed:"] + [f"- {e}" for e in errors]
            )
        )

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
        # The protocol state is unknown: close the socket, never send more. A
        # statement still running is cancelled first: closing the socket alone
        # leaves it running on the server (waiting on a lock, it holds a
        # backend until the lock is released).
        cancel = _start_cancel(self.pgconn)
        with contextlib.suppress(Exception):
            self.pgconn.finish()
        if cancel is not None:
            threading.Thread(
                target=_finish_cancel, args=(cancel,), name="ttvkit-pg-cancel", daemon=True
            ).start()


def _start_cancel(pgconn: PGconn) -> PGcancelConn | None:
    """A cancel request for *pgconn*'s running statement, started, or None.

    Only with libpq 17 or later, whose cancel requests never block: the
    older ``PQcancel`` waits for the server holding the interpreter's lock,
    so against a server that stopped answering it would freeze the whole
    process. Without it the statement is left to the server (``?options=-c
    statement_timeout=...`` in the URL bounds it there).
    """
    if pq.version() < 170000:
        return None
    try:
        if pgconn.transaction_status != pq.TransactionStatus.ACTIVE:
            return None  # nothing running: idle, or connecting
        cancel = pgconn.cancel_conn()
        cancel.start()  # PQcancelStart: begins connecting, does not wait
    except Exception:  # a broken connection has nothing to cancel
        return None
    return cancel


def _finish_cancel(cancel: PGcancelConn) -> None:
    """Send the started cancel request, waiting (without the GIL) at most CANCEL_TIMEOUT."""
    # The server gone or silent: nothing more to do (the error is not the caller's).
    with contextlib.suppress(Exception):
        waiting.wait_conn(generators.cancel(cancel), interval=WAIT_SLICE, timeout=CANCEL_TIMEOUT)
    with contextlib.suppress(Exception):
        cancel.finish()


def _connect_once(
    cls: type[BoundedConnection],
    conninfo: str,
    given: float,
    deadline_of: Callable[[], float | None],
) -> BoundedConnection:
    """Connect to one host: :class:`_WaitTimeout` past *given*, :class:`Deadline`
    past the deadline *deadline_of* returns."""
    gen = cls._connect_gen(conninfo)
    try:
        while True:
            now = time.monotonic()
            deadline = deadline_of()
            if deadline is not None and now >= deadline:
                raise Deadline("the server did not answer in time (connecting)")
            if now >= given:
                raise _WaitTimeout("connection timeout expired")
            step = min(WAIT_SLICE, given - now)
            if deadline is not None:
                step = min(step, deadline - now)
            try:
                # The generator is resumable after a timed-out wait: each of its
                # waits is a loop that yields again until the socket is ready.
                return waiting.wait_conn(gen, interval=step, timeout=step)
            except _WaitTimeout:
                continue
    except BaseException:
        gen.close()  # drops the half-open libpq connection, which closes its socket
        raise


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
