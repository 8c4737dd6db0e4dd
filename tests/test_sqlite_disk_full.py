"""SQLite on a file that cannot grow: the file size limit is transient, a failing disk is not.

SQLite reports ENOSPC as "database or disk is full" (``SQLITE_FULL``, always
transient), but EFBIG and EDQUOT as "disk I/O error" (``SQLITE_IOERR_WRITE``),
as it reports a failing disk, without the system's error number. The store
treats that error as transient only when a file of the database reached the
process's file size limit (``ulimit -f``), which it can check. The limit is
set in a child process, so that the test run keeps its own.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import ttvkit
from ttvkit.errors import StoreError
from ttvkit.stores.sqlite.failures import Opened, failure

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX only")

SRC = str(Path(ttvkit.__file__).resolve().parents[1])

_CHILD = """
import os, resource, signal, sys
sys.path.insert(0, sys.argv[1])
from ttvkit import StoreUnavailableError, ValueEvent
from ttvkit.stores.sqlite import SQLiteStore

def batch(first):
    blob = {"blob": "x" * 30000}
    return [ValueEvent(f"u{n}", "signup", "2026-01-01T09:00:00Z", properties=blob)
            for n in range(first, first + 10)]

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
path = sys.argv[2]
with SQLiteStore(path) as store:
    store.append(batch(0))
    grown = max(os.path.getsize(path + suffix) for suffix in ("", "-wal"))
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (grown + 50_000, hard))
    try:
        store.append(batch(100))
        print("stored")
    except StoreUnavailableError as exc:
        print("unavailable:", exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # the limit is raised
    print("retried:", store.append(batch(100)), "count:", store.count())
"""


def test_the_file_size_limit_is_transient(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, SRC, str(tmp_path / "ttv.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "unavailable:" in out.stdout, out.stdout + out.stderr
    assert "file size limit" in out.stdout
    assert "retried: 10 count: 20" in out.stdout


def test_a_disk_io_error_without_a_limit_reached_stays_permanent(tmp_path: Path) -> None:
    # What a failing disk (EIO) raises; no limit is near, so retrying would not help.
    path = str(tmp_path / "ttv.db")
    Path(path).write_bytes(b"")
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = 778  # SQLITE_IOERR_WRITE
    error.sqlite_errorname = "SQLITE_IOERR_WRITE"
    raised = failure(
        error, Opened(path, memory=False, read_only=False, immutable=False), closed=False
    )
    assert type(raised) is StoreError
