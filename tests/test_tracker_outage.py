"""A PostgreSQL outage under a running Tracker: nothing accepted is lost, track() never raises.

The store talks to the real server through a loopback proxy the test cuts
and restores (connections reset, new ones refused), and the server also kills
the tracker's session with pg_terminate_backend.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

import ttvkit as ttv
from ttvkit.tracker import DeliveryFailure

from .tcp_proxy import TCPProxy

FAST_RETRY = ttv.TrackerConfig(
    batch_size=50,
    flush_interval=0.05,
    retry=ttv.RetryPolicy(initial_backoff=0.05, max_backoff=0.5),
)


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    import psycopg

    name = f"ttv_outage_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def stored(postgres_url: str, schema: str) -> tuple[int, int]:
    with ttv.open_store(f"{postgres_url}?schema={schema}") as store:
        ids = [e.event_id for e in store.events()]
    return len(ids), len(set(ids))


def test_cut_and_restore_loses_nothing(postgres_url: str, schema: str) -> None:
    port = urlsplit(postgres_url).port or 5432
    failures: list[DeliveryFailure] = []
    with TCPProxy(port) as proxy:
        url = proxy.url(f"{postgres_url}?schema={schema}&connect_timeout=1")
        with ttv.Tracker(url, config=FAST_RETRY, on_error=failures.append) as tracker:
            for i in range(200):
                tracker.track(f"u{i % 20}", "signup")
            assert tracker.flush(timeout=30)

            proxy.cut()  # the server "goes away": live connections reset, new ones refused
            for i in range(500):
                tracker.track(f"u{i % 20}", "report_created", properties={"i": i})
            deadline = time.monotonic() + 10
            while tracker.stats().retries < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            during = tracker.stats()
            assert during.retries >= 2
            assert during.failed == 0 and during.dropped == 0
            assert during.queue_depth > 0

            proxy.restore()
            assert tracker.flush(timeout=60)
            after = tracker.stats()
            assert (after.accepted, after.written, after.failed, after.dropped) == (700, 700, 0, 0)
    assert any(f.kind == "retrying" for f in failures)
    assert not [f for f in failures if f.kind in ("failed", "dropped")]
    assert stored(postgres_url, schema) == (700, 700)


def test_server_side_kill_is_survived(postgres_url: str, schema: str) -> None:
    import psycopg

    with ttv.Tracker(f"{postgres_url}?schema={schema}", config=FAST_RETRY) as tracker:
        stop = threading.Event()
        sent = 0

        def produce() -> None:
            nonlocal sent
            while not stop.is_set() and sent < 50_000:
                tracker.track(f"u{sent % 50}", "report_created")
                sent += 1
                if sent % 100 == 0:
                    time.sleep(0.03)

        producer = threading.Thread(target=produce)
        producer.start()
        killed = 0
        deadline = time.monotonic() + 10
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            # Kill the tracker's session whenever it is seen, until it has
            # been killed twice (it is idle between batches, so keep looking).
            while killed < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query ILIKE %s",
                    (f"%{schema}%",),
                ).fetchall()
                killed += sum(1 for (ok,) in rows if ok)
        stop.set()
        producer.join()
        assert killed >= 1  # the tracker's session really was killed mid-stream
        assert tracker.flush(timeout=60)
        final = tracker.stats()
        assert final.failed == 0 and final.dropped == 0
        assert final.written + final.duplicates == sent
    count, distinct = stored(postgres_url, schema)
    assert count == distinct == sent
