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
import sys
from pathlib import Path

import pytest

from ttvkit.errors import StoreError
from ttvkit.stores.sqlite.failures import Opened, failure

from .file_limit import past_the_file_size_limit

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX only")


def test_the_file_size_limit_is_transient(tmp_path: Path) -> None:
    out = past_the_file_size_limit("sqlite", tmp_path / "ttv.db", blob=30_000, size=10)
    assert "unavailable:" in out, out
    assert "file size limit" in out
    assert "retried: 10 count: 20" in out


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
