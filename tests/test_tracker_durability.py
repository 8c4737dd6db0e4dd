"""Tracker + SQLite file: durability under SIGKILL, load, several processes, fork, exit.

Everything here runs against a real SQLite file written by a real
:class:`~ttvkit.stores.sqlite.SQLiteStore`, in child processes where the
claim is about processes: a child killed with SIGKILL at a random moment
must have stored every event it acknowledged, and the file must pass
``PRAGMA integrity_check``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ttvkit import open_store
from ttvkit.stores.sqlite import SQLiteStore
from ttvkit.tracker import Tracker, TrackerConfig

SRC = Path(__file__).resolve().parents[1] / "src"

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL") or not hasattr(os, "fork"), reason="POSIX processes"
)


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def stored_ids(path: Path) -> set[str]:
    with open_store(url(path)) as store:
        return {e.event_id for e in store.events()}


def integrity(path: Path) -> list[tuple[str]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()


def popen(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )


# ---------------------------------------------------------------- SIGKILL

# Tracks bursts of events with ids RUN-0, RUN-1, …, flushes after each
# burst and prints "ACK n" once events RUN-0 … RUN-(n-1) are durable.
_KILLED_CHILD = """
import random, sys
from ttvkit.tracker import Tracker, TrackerConfig

url, run, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
config = TrackerConfig(batch_size=rng.choice([1, 3, 20, 200]), flush_interval=0.005)
tracker = Tracker(url, config=config)
print("READY", flush=True)
i = 0
while True:
    for _ in range(rng.randint(1, 60)):
        tracker.track(f"user-{i % 17}", "report_created",
                      properties={"i": i, "run": run}, event_id=f"{run}-{i}")
        i += 1
    if tracker.flush(timeout=30):
        print(f"ACK {i}", flush=True)
"""

KILLS = 24


@pytest.mark.slow
def test_every_acknowledged_event_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    rng = random.Random(20260301)
    acknowledged_total = 0
    for run in range(KILLS):
        lines: list[str] = []
        with popen(_KILLED_CHILD, url(db), f"r{run}", str(rng.randrange(2**32))) as child:
            assert child.stdout is not None
            reader = threading.Thread(target=lines.extend, args=(child.stdout,))
            reader.start()
            deadline = time.monotonic() + 30
            while "READY\n" not in lines and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            assert "READY\n" in lines, child.stderr.read() if child.stderr else ""
            # A random moment: right away, mid-burst, mid-flush, mid-commit.
            time.sleep(rng.uniform(0, 0.25))
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            reader.join(30)
        assert child.returncode == -signal.SIGKILL
        # Only whole lines count: a line cut by the kill was never acknowledged.
        acks = [int(line.split()[1]) for line in lines if line.startswith("ACK ")]
        acknowledged = max(acks, default=0)
        acknowledged_total += acknowledged

        assert integrity(db) == [("ok",)]
        ids = {i for i in stored_ids(db) if i.startswith(f"r{run}-")}
        missing = {f"r{run}-{k}" for k in range(acknowledged)} - ids
        assert not missing, f"run {run}: acknowledged but not stored: {sorted(missing)[:5]}"
        # Batches are committed in order, so what is stored is a prefix, never with holes.
        assert ids == {f"r{run}-{k}" for k in range(len(ids))}
    assert acknowledged_total > KILLS  # the kills did land after real work


# ---------------------------------------------------------------- load


@pytest.mark.slow
def test_eight_threads_times_50k_track_calls_store_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "load.db"
    per_thread = 50_000
    # "block" so that threads outrunning the disk wait instead of dropping.
    config = TrackerConfig(when_full="block", block_timeout=120, close_timeout=120)
    ids: list[list[str]] = [[] for _ in range(8)]
    with Tracker(url(db), config=config) as tracker:

        def work(n: int) -> None:
            out = ids[n]
            for j in range(per_thread):
                out.append(tracker.track(f"user-{n}-{j % 100}", "report_created").event_id)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert tracker.flush(timeout=120) is True
        stats = tracker.stats()
    total = 8 * per_thread
    assert (stats.accepted, stats.written) == (total, total)
    assert (stats.duplicates, stats.dropped, stats.failed, stats.queue_depth) == (0, 0, 0, 0)
    assert len({i for chunk in ids for i in chunk}) == total
    with SQLiteStore(db) as store:
        assert store.count() == total


_WRITER_PROCESS = """
import json, sys
from ttvkit.tracker import Tracker, TrackerConfig

url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tracker = Tracker(url, config=TrackerConfig(batch_size=500, close_timeout=120))
for i in range(n):
    tracker.track(f"{name}-user-{i % 50}", "report_created", event_id=f"{name}-{i}")
ok = tracker.close()
print(json.dumps({"ok": ok, **tracker.stats().to_dict()}))
"""


@pytest.mark.slow
def test_four_processes_writing_one_file_store_the_exact_count(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    SQLiteStore(db).close()  # the schema exists before the writers race
    per_process = 20_000
    children = [popen(_WRITER_PROCESS, url(db), f"p{n}", str(per_process)) for n in range(4)]
    for child in children:
        with child:
            out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        stats = json.loads(out)
        assert stats["ok"] is True
        assert (stats["accepted"], stats["written"]) == (per_process, per_process)
        assert (stats["dropped"], stats["failed"], stats["duplicates"]) == (0, 0, 0)
    ids = stored_ids(db)
    assert len(ids) == 4 * per_process
    assert ids == {f"p{n}-{i}" for n in range(4) for i in range(per_process)}
    assert integrity(db) == [("ok",)]


# ---------------------------------------------------------------- fork and exit


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_children_track_and_flush_to_the_parents_file(tmp_path: Path) -> None:
    db = tmp_path / "forked.db"
    with Tracker(url(db), config=TrackerConfig(flush_interval=60)) as tracker:
        tracker.track("parent", "signup", event_id="parent-0")
        assert tracker.flush(10)
        tracker.track("parent", "queued_at_fork", event_id="parent-1")  # the parent's to store
        pids = []
        for n in range(3):  # a pre-fork server's workers
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    for i in range(50):
                        tracker.track(f"worker-{n}", "report_created", event_id=f"w{n}-{i}")
                    assert tracker.flush(30)
                    stats = tracker.stats()
                    assert (stats.accepted, stats.written, stats.duplicates) == (50, 50, 0)
                    assert tracker.close(30)
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
        tracker.track("parent", "after_fork", event_id="parent-2")
        assert tracker.flush(10)
        stats = tracker.stats()
    # No child stored the parent's queued event (the parent would see a duplicate).
    assert (stats.written, stats.duplicates) == (3, 0)
    expected = {"parent-0", "parent-1", "parent-2"} | {
        f"w{n}-{i}" for n in range(3) for i in range(50)
    }
    assert stored_ids(db) == expected


def test_a_script_that_exits_without_closing_stores_everything(tmp_path: Path) -> None:
    db = tmp_path / "script.db"
    child = popen(
        """
        import sys
        from ttvkit.tracker import Tracker, TrackerConfig
        tracker = Tracker(sys.argv[1], config=TrackerConfig(flush_interval=60))
        for i in range(2000):
            tracker.track("u1", "report_created", event_id=f"e{i}")
        """,
        url(db),
    )
    with child:
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert stored_ids(db) == {f"e{i}" for i in range(2000)}
