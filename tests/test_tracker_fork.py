"""Fork stress: children forked while the parent's SQLite writer is busy never hang.

A child inherits the parent's SQLite connections, and maybe a connection
mutex a parent thread held at the moment of the fork. ttvkit must never use
or close those connections in the child; closing one there (for instance
from a ``weakref.finalize`` that runs while ``os.fork()`` tears down the
parent's other threads) blocks forever on that mutex. The parent runs in a
subprocess with a hard timeout, and waits for each child with a deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")

FORKS = 60

_PARENT = """
import os, sys, threading, time
from ttvkit.tracker import Tracker, TrackerConfig

path, forks = sys.argv[1], int(sys.argv[2])
# synchronous=NORMAL: commits are quick, so the writer is busy in SQLite's
# code all the time without starving the children of the write lock.
config = TrackerConfig(batch_size=10, flush_interval=0.001)
tracker = Tracker(f"sqlite:///{path}?synchronous=NORMAL", config=config)
stop = threading.Event()

def produce():
    i = 0
    while not stop.is_set():
        tracker.track(f"user-{i % 7}", "report_created", properties={"i": i})
        i += 1
        if i % 10 == 0:
            time.sleep(0.005)

producer = threading.Thread(target=produce, daemon=True)
producer.start()
time.sleep(0.2)
hung = failed = 0
for n in range(forks):
    time.sleep(0.01)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            tracker.track(f"child-{n}", "signup", event_id=f"child-{n}")
            code = 0 if tracker.flush(timeout=8) else 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            failed += os.waitstatus_to_exitcode(status) != 0
            break
        if time.monotonic() > deadline:
            hung += 1
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    if hung:
        break  # one is proof enough; do not spend 10 s on each
stop.set()
producer.join()
ok = tracker.close(timeout=20)
print(f"HUNG {hung} FAILED {failed} CLOSED {ok}", flush=True)
"""


@pytest.mark.slow
def test_children_forked_while_the_sqlite_writer_is_busy_never_hang(tmp_path: Path) -> None:
    db = tmp_path / "fork.db"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PARENT), str(db), str(FORKS)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "HUNG 0 FAILED 0 CLOSED True"
    import sqlite3

    connection = sqlite3.connect(db)
    try:
        children = connection.execute(
            "SELECT COUNT(*) FROM ttv_events WHERE event_id LIKE 'child-%'"
        ).fetchone()
    finally:
        connection.close()
    assert children == (FORKS,)
