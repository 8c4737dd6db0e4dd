"""A store writing past the process's file size limit (``ulimit -f``), in a child process.

The portable stand-in for a full disk: the child sets the limit just above
what its database holds, appends a batch that cannot fit (EFBIG, as ENOSPC or
EDQUOT would fail), raises the limit again and appends the batch once more.
The limit is set in the child, so the test run keeps its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ttvkit

SRC = str(Path(ttvkit.__file__).resolve().parents[1])

_CHILD = """
import os, resource, signal, sys
sys.path.insert(0, sys.argv[1])
from ttvkit import StoreUnavailableError, ValueEvent, open_store

url, path, blob, size = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def batch(first):
    properties = {"blob": "x" * blob}
    return [ValueEvent(f"u{n}", "signup", "2026-01-01T09:00:00Z", properties=properties)
            for n in range(first, first + size)]

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
with open_store(url) as store:
    store.append(batch(0))
    files = [path + suffix for suffix in ("", ".wal", "-wal") if os.path.exists(path + suffix)]
    grown = max(os.path.getsize(f) for f in files)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (grown + 50_000, hard))
    try:
        store.append(batch(100))
        print("stored")
    except StoreUnavailableError as exc:
        print("unavailable:", exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is back
    print("retried:", store.append(batch(100)), "count:", store.count())
"""


def past_the_file_size_limit(scheme: str, path: Path, *, blob: int, size: int) -> str:
    """What the child prints, appending batches of *size* events of *blob* bytes each to
    the store ``{scheme}:///{path}`` across the limit."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, SRC, f"{scheme}:///{path}", str(path), str(blob), str(size)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout + out.stderr
