"""What an :mod:`sqlite3` error means for the caller, as a :class:`~ttvkit.errors.StoreError`
that says what to do.

A full disk is transient (:class:`~ttvkit.errors.StoreUnavailableError`, which a
tracker retries), and so is a file that reached the process's file size limit
(``ulimit -f``); a file that is not a database, a directory, a missing
directory or a read-only file system each get their own advice.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Final
from urllib.parse import quote

import attrs

from ttvkit.errors import StoreError, StoreUnavailableError

__all__ = ["Opened", "failure", "url_of"]

_SQLITE_READONLY: Final = 8
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_IOERR_WRITE: Final = 10 | (3 << 8)

#: A write that failed this close to the file size limit ran into it: a write
#: past the limit is cut short at the limit, then fails (EFBIG).
_NEAR_LIMIT: Final = 1 << 20


@attrs.frozen
class Opened:
    """How a store opened its database: what the messages depend on."""

    path: str
    memory: bool
    read_only: bool
    immutable: bool


def url_of(path: str) -> str:
    """The ``sqlite:///`` URL of a file, for the commands a message suggests."""
    return "sqlite:///" + quote(path, safe="/")


def _is_cannot_open(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CANTOPEN, _SQLITE_READONLY)
    message = str(exc)
    return "unable to open database file" in message or "readonly database" in message


def _is_full(exc: sqlite3.Error) -> bool:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == _SQLITE_FULL
    return "database or disk is full" in str(exc)


def _hit_file_size_limit(exc: sqlite3.Error, path: str) -> bool:
    """Whether *exc* is a write that failed because a file of the database reached
    the process's file size limit (``RLIMIT_FSIZE``, ``ulimit -f``).

    SQLite reports ENOSPC as ``SQLITE_FULL`` but EFBIG (and EDQUOT, and a
    failing disk's EIO) as ``SQLITE_IOERR_WRITE``, without the system's error
    number, which :mod:`sqlite3` does not expose. So only the evidence that can
    be checked counts: a finite limit that the database, its WAL or its journal
    has (nearly) reached. Any other ``SQLITE_IOERR_WRITE`` stays permanent.
    """
    if getattr(exc, "sqlite_errorcode", None) != _SQLITE_IOERR_WRITE:
        return False
    try:
        import resource  # POSIX only (not on Windows)

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return False
    if limit == resource.RLIM_INFINITY:
        return False
    for name in (path, f"{path}-wal", f"{path}-journal"):
        try:
            if os.stat(name).st_size >= limit - _NEAR_LIMIT:
                return True
        except OSError:
            continue
    return False


def _on_read_only_file_system(directory: str) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def failure(exc: sqlite3.Error, opened: Opened, *, closed: bool) -> StoreError:
    """The error to raise for *exc*, raised on the database *opened* describes."""
    path = opened.path
    if closed or (isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc).lower()):
        return StoreError(f"this SQLiteStore ({path}) is closed; open a new one")
    if _is_full(exc):
        # Transient: space may come back (a log rotated, a volume grown),
        # so a Tracker retries instead of giving the batch up.
        return StoreUnavailableError(
            f"SQLite could not write to {path}: the disk (or the database's "
            f"max_page_count) is full ({exc}); nothing of this write was stored. "
            "Free some space and retry"
        )
    if not opened.memory and _hit_file_size_limit(exc, path):
        return StoreUnavailableError(
            f"SQLite could not write to {path}: a file of the database reached this "
            f"process's file size limit (ulimit -f) ({exc}); nothing of this write was "
            "stored. Raise the limit (or move old events out) and retry"
        )
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return StoreError(
            f"{path} is not an SQLite database (or it is encrypted or damaged); "
            "point the store at a new file"
        )
    if not opened.memory and _is_cannot_open(exc):
        return StoreError(_cannot_open(exc, opened))
    return StoreError(f"SQLite failed on {path}: {exc}")


def _cannot_open(exc: sqlite3.Error, opened: Opened) -> str:
    """Why SQLite cannot open (or write) the file, and what to do about it."""
    path = opened.path
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        return (
            f"cannot open the SQLite database {path}: it is a directory; name a "
            f"file in it, e.g. {os.path.join(path, 'ttv.db')}"
        )
    try:
        os.lstat(path)
    except FileNotFoundError:
        pass
    except OSError as error:  # a name too long, a loop of links, no permission
        return f"cannot open the SQLite database {path}: {error.strerror}"
    if not os.path.isdir(directory):
        return (
            f"cannot open the SQLite database {path}: the directory {directory} "
            "does not exist; create it first (mkdir -p), or point the store at a file "
            "in an existing directory"
        )
    if opened.read_only:
        if "readonly" in str(exc):
            return (
                f"{path} is opened read-only (mode=ro or immutable=1); open it "
                "without them to write"
            )
        if not os.path.exists(path):
            return f"cannot open the SQLite database {path} read-only: there is no such file"
        if not opened.immutable:
            return (
                f"cannot open the SQLite database {path} read-only ({exc}); if it "
                "is on a read-only file system, add immutable=1: "
                f"{url_of(path)}?mode=ro&immutable=1"
            )
    if not os.path.exists(path) and (
        _on_read_only_file_system(directory) or not os.access(directory, os.W_OK)
    ):
        # Nothing to read there yet: only another place to create it helps.
        return (
            f"cannot create the SQLite database {path} ({exc}): the directory "
            f"{directory} is on a read-only file system or one you cannot write; "
            "choose a path in a directory you can write"
        )
    if _on_read_only_file_system(directory) or not os.access(directory, os.W_OK):
        return (
            f"cannot open the SQLite database {path} ({exc}): it is on a read-only "
            "file system (or in a directory you cannot write), and SQLite must write "
            "beside a WAL database even to read it. Open it read-only with "
            f"{url_of(path)}?mode=ro&immutable=1 (only while nothing else writes "
            "it), or copy it to a writable place"
        )
    return f"cannot open the SQLite database {path}: {exc}"
