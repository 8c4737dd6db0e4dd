"""Connecting to PostgreSQL ends at the call's deadline and at close(), not only at libpq's.

A server that accepts TCP and never answers (a frozen server, a black-holed
network behind a proxy) holds libpq's connection start until its
``connect_timeout``. ttvkit waits in short slices instead, so a deadline a
tracker lends to the call (:mod:`ttvkit.stores.deadline`), one lent while the
call already waits, and ``store.close()`` from another thread each end the
wait; libpq's ``connect_timeout`` still bounds it otherwise.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from ttvkit import StoreUnavailableError
from ttvkit.stores.deadline import bounded_by
from ttvkit.stores.postgres import PostgresStore
from ttvkit.tracker import Tracker, TrackerConfig

from .closing import assert_close_ends_the_call, assert_tracker_close_gives_up

pytestmark = pytest.mark.postgres

#: The writer stores at once, so that close() finds it waiting.
_PROMPT = TrackerConfig(flush_interval=timedelta(milliseconds=10))

SLACK = 0.6  # one wait slice, scheduling on a shared 2-core machine


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A PostgreSQL URL whose "server" accepts connections and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    port = server.getsockname()[1]
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout=10"
    finally:
        server.close()
        for connection in accepted:
            connection.close()


def test_a_lent_deadline_ends_connecting(silent_url: str) -> None:
    with PostgresStore.from_url(silent_url) as store:
        started = time.monotonic()
        with bounded_by(lambda: started + 0.5), pytest.raises(StoreUnavailableError) as caught:
            store.count()
        assert 0.5 <= time.monotonic() - started < 0.5 + SLACK
        assert "did not answer in time" in str(caught.value)


def test_a_deadline_lent_while_connecting_counts(silent_url: str) -> None:
    lent: list[float] = []
    with PostgresStore.from_url(silent_url) as store:
        started = time.monotonic()
        threading.Timer(0.3, lambda: lent.append(time.monotonic())).start()
        with bounded_by(lambda: lent[0] if lent else None), pytest.raises(StoreUnavailableError):
            store.count()
        assert time.monotonic() - started < 0.3 + SLACK


def test_close_from_another_thread_ends_connecting(silent_url: str) -> None:
    store = PostgresStore.from_url(silent_url)
    assert_close_ends_the_call(store, store.count, after=0.3, slack=SLACK)


def test_tracker_close_ends_a_write_that_is_connecting(silent_url: str) -> None:
    before = set(threading.enumerate())
    tracker = Tracker(silent_url, on_error=lambda failure: None, config=_PROMPT)
    tracker.track("u1", "signup")
    time.sleep(0.3)  # the writer is connecting
    assert_tracker_close_gives_up(tracker, before, events=1, slack=SLACK)


def test_connect_timeout_still_bounds_connecting(silent_url: str) -> None:
    # No deadline lent: libpq's connect_timeout (2 s at least) ends the wait.
    url = silent_url.replace("connect_timeout=10", "connect_timeout=2")
    with PostgresStore.from_url(url) as store:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="timeout"):
            store.count()
        assert 2 <= time.monotonic() - started < 2 + SLACK


def test_connecting_in_slices_reaches_a_real_server(postgres_url: str) -> None:
    schema = f"ttv_connect_{uuid.uuid4().hex[:10]}"
    try:
        with PostgresStore(postgres_url, schema=schema) as store:
            started = time.monotonic()
            with bounded_by(lambda: started + 5):
                assert store.count() == 0
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
