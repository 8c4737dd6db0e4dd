"""PostgreSQL that stops answering: every call finishes within its documented bound.

A loopback proxy (``tests/tcp_proxy.py``) stalls the connection: bytes are
accepted and never forwarded, as with a frozen server or a network that
drops every packet. TCP keepalives cannot notice that (the proxy's kernel
acknowledges them), so only ttvkit's own deadlines help:

* a store call gives up after ``query_timeout``;
* sync ``track()`` after ``sync_timeout`` (2 s when it must open a new
  connection: libpq's shortest connect timeout);
* ``close()`` of the store from another thread at once (the waiting call
  gives up within a tenth of a second);
* ``flush(timeout)`` after its timeout, ``Tracker.close(timeout)`` after its
  timeout plus the writer's half-second grace.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

import ttvkit as ttv
from ttvkit.errors import StoreError, StoreUnavailableError
from ttvkit.stores.postgres import PostgresStore

from .tcp_proxy import TCPProxy

pytestmark = pytest.mark.postgres

SLACK = 0.6  # one wait slice, scheduling on a shared 2-core machine


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    name = f"ttv_stall_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TCPProxy]:
    with TCPProxy(urlsplit(postgres_url).port or 5432) as proxy:
        yield proxy


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    try:
        result: object = call()
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


def test_count_gives_up_after_query_timeout(
    postgres_url: str, schema: str, proxy: TCPProxy
) -> None:
    url = proxy.url(f"{postgres_url}?schema={schema}&query_timeout=1.5")
    with ttv.open_store(url) as store:
        assert store.count() == 0
        proxy.stall()
        took, result = timed(store.count)
        assert isinstance(result, StoreUnavailableError)
        assert "did not answer in time" in str(result)
        assert 1.5 <= took < 1.5 + SLACK
        # Still stalled, and now the store must connect first: the same bound holds
        # (libpq's shortest connect timeout is 2 s).
        took, result = timed(store.count)
        assert isinstance(result, StoreUnavailableError)
        assert took < 2 + SLACK
        proxy.restore()
        assert store.count() == 0  # reconnected


def test_sync_track_returns_within_sync_timeout(
    postgres_url: str, schema: str, proxy: TCPProxy
) -> None:
    store = PostgresStore(proxy.url(postgres_url), schema=schema)
    config = ttv.TrackerConfig(sync=True, sync_timeout=1)
    with ttv.Tracker(store, config=config) as tracker:
        tracker.track("u1", "signup")
        proxy.stall()
        took, _ = timed(lambda: tracker.track("u1", "report_created"))
        assert 1 <= took < 1 + SLACK
        took, _ = timed(lambda: tracker.track("u1", "report_created"))  # must reconnect
        assert took < 2 + SLACK
        stats = tracker.stats()
        assert (stats.accepted, stats.written, stats.failed) == (3, 1, 2)
        assert stats.last_error is not None
        proxy.restore()
        tracker.track("u1", "report_created")
        assert tracker.stats().written == 2
    store.close()


def test_store_close_from_another_thread_ends_a_hung_call(
    postgres_url: str, schema: str, proxy: TCPProxy
) -> None:
    store = PostgresStore(proxy.url(postgres_url), schema=schema, query_timeout=30)
    assert store.count() == 0
    proxy.stall()
    outcome: list[tuple[float, object]] = []
    caller = threading.Thread(target=lambda: outcome.append(timed(store.count)))
    caller.start()
    time.sleep(0.5)  # the call is waiting for the stalled server
    took, _ = timed(store.close)
    assert took < SLACK
    caller.join(5)
    assert not caller.is_alive()
    ((call_took, result),) = outcome
    assert isinstance(result, StoreError) and "closed" in str(result)
    assert call_took < 0.5 + SLACK


def test_flush_and_close_of_a_tracker_keep_their_timeouts(
    postgres_url: str, schema: str, proxy: TCPProxy
) -> None:
    url = proxy.url(f"{postgres_url}?schema={schema}&query_timeout=30")
    config = ttv.TrackerConfig(batch_size=10, flush_interval=0.05)
    tracker = ttv.Tracker(url, config=config)
    tracker.track("u0", "signup")
    assert tracker.flush(timeout=10)
    proxy.stall()
    for i in range(25):
        tracker.track(f"u{i}", "report_created")
    time.sleep(0.3)  # the writer is waiting inside append()
    took, flushed = timed(lambda: tracker.flush(timeout=1))
    assert flushed is False
    assert 1 <= took < 1 + SLACK
    # close(): its timeout, then the writer gives the hung call up (no extra grace needed).
    took, closed = timed(lambda: tracker.close(timeout=1))
    assert closed is False
    assert took < 1 + SLACK
    stats = tracker.stats()
    assert (stats.written, stats.failed, stats.queue_depth) == (1, 25, 0)


def test_query_timeout_is_a_url_option_and_checked(postgres_url: str) -> None:
    store = PostgresStore.from_url(f"{postgres_url}?query_timeout=7.5")
    assert store._query_timeout == 7.5
    store.close()
    with pytest.raises(ttv.ConfigurationError, match="query_timeout"):
        PostgresStore(postgres_url, query_timeout=0)
    with pytest.raises(ttv.ConfigurationError, match="query_timeout"):
        PostgresStore.from_url(f"{postgres_url}?query_timeout=soon")


def _ttvkit_backends_waiting(postgres_url: str, schema: str) -> int:
    """Backends still running a statement on *schema*'s tables for ttvkit."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ttvkit' "
            "AND state = 'active' AND query LIKE %s",
            (f'%"{schema}"%',),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_statement_given_up_on_is_cancelled_on_the_server(postgres_url: str, schema: str) -> None:
    # A statement that waits for a lock past query_timeout: the call gives up, and
    # the server must not keep running it (one more stuck backend per retry
    # would use up max_connections).
    url = f"{postgres_url}?schema={schema}&query_timeout=1"
    with ttv.open_store(url) as store:
        assert store.count() == 0
        with psycopg.connect(postgres_url) as locker:
            locker.execute(f'LOCK TABLE "{schema}".ttv_events IN ACCESS EXCLUSIVE MODE')
            for _ in range(3):
                took, result = timed(store.count)
                assert isinstance(result, StoreUnavailableError)
                assert took < 1 + SLACK
            deadline = time.monotonic() + 5
            while _ttvkit_backends_waiting(postgres_url, schema) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _ttvkit_backends_waiting(postgres_url, schema) == 0
            locker.rollback()
        assert store.count() == 0  # the store reconnects once the lock is gone
