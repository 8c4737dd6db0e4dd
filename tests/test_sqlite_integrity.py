"""A damaged or read-only SQLite file: a StoreError naming the problem, never a partial answer.

Rows changed by hand (a text or out-of-range ``ts``, properties that are not
JSON, a deleted ``ttv_names`` row) used to raise raw ``TypeError``,
``OverflowError`` or ``JSONDecodeError``, or worse, let ``events()`` silently
leave rows out. ``SQLiteStore.check()`` and ``ttvkit check`` read the whole
file. A WAL database on a read-only file system opens with
``?mode=ro&immutable=1``, and the error without it says so.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ttvkit as ttv
from ttvkit.cli import main
from ttvkit.errors import ConfigurationError, StoreError
from ttvkit.events import ValueEvent
from ttvkit.stores import open_store
from ttvkit.stores.sqlite import SQLiteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events() -> list[ValueEvent]:
    return [
        ValueEvent(f"u{i}", "signup" if i % 2 else "report", T0 + timedelta(hours=i), {"i": i})
        for i in range(10)
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ttv.db"
    with SQLiteStore(path) as store:
        store.append(_events())
    return path


def tamper(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


TAMPERING: dict[str, tuple[str, str]] = {
    "text ts": ("UPDATE ttv_events SET ts = 'soon' WHERE user_id = 'u3'", "ts is 'soon'"),
    "ts beyond datetime": (
        f"UPDATE ttv_events SET ts = {2**63 - 1} WHERE user_id = 'u3'",
        f"ts is {2**63 - 1}",
    ),
    "properties not JSON": (
        "UPDATE ttv_events SET properties = '{\"i\": 3' WHERE user_id = 'u3'",
        "properties are not valid JSON",
    ),
    "properties not an object": (
        "UPDATE ttv_events SET properties = '[[1, 2]]' WHERE user_id = 'u3'",
        "not an object",
    ),
    "a name deleted": (
        "DELETE FROM ttv_names WHERE name = 'report'",
        "no row in ttv_names",
    ),
}

READS: dict[str, Callable[[ttv.Store], object]] = {
    "events()": lambda store: list(store.events()),
    "events(names=)": lambda store: list(store.events(names=["report", "signup"])),
    "events(users=)": lambda store: list(store.events(users=["u3", "u4"])),
}


@pytest.mark.parametrize("read", sorted(READS))
@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_damaged_row_is_a_store_error_never_a_partial_answer(
    db: Path, case: str, read: str
) -> None:
    sql, _ = TAMPERING[case]
    tamper(db, sql)
    with SQLiteStore(db) as store, pytest.raises(StoreError, match="is damaged") as caught:
        READS[read](store)
    message = str(caught.value)
    assert str(db) in message
    assert "ttvkit check" in message


def test_the_damaged_row_is_named(db: Path) -> None:
    with SQLiteStore(db) as store:
        (u3,) = (e.event_id for e in store.events(users=["u3"]))
    tamper(db, "UPDATE ttv_events SET ts = 'soon' WHERE user_id = 'u3'")
    with SQLiteStore(db) as store, pytest.raises(StoreError) as caught:
        list(store.events())
    assert f"the event with event_id {u3!r} cannot be read (ts is 'soon'" in str(caught.value)


@pytest.mark.parametrize("as_of", [None, "2026-02-01T00:00:00Z"])
@pytest.mark.parametrize(
    ("case", "fragment"),
    [("text ts", "ts of 'soon'"), ("ts beyond datetime", "ts of 9223"), ("a name deleted", "")],
)
def test_an_analysis_of_a_damaged_file_is_a_store_error(
    db: Path, case: str, fragment: str, as_of: str | None
) -> None:
    tamper(db, TAMPERING[case][0])
    milestone = ttv.Milestone("m", start=ttv.event("signup"), reached=ttv.event("report"))
    with SQLiteStore(db) as store, pytest.raises(StoreError, match="is damaged") as caught:
        ttv.time_to_value(store, milestone, as_of=as_of)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_ttvkit_check_finds_each_problem(db: Path, case: str) -> None:
    url = f"sqlite:///{db}"
    code, out, err = run("check", url)
    assert (code, err) == (0, "")
    assert out.startswith(f"{url}: ok, 10 events")
    sql, fragment = TAMPERING[case]
    tamper(db, sql)
    code, out, err = run("check", url)
    assert code == 2
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"ttvkit: error: {url} is damaged: ")
    assert fragment in line


def test_check_finds_a_damaged_btree(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.append([ValueEvent(f"v{i}", "signup", T0, {"pad": "x" * 500}) for i in range(2_000)])
    tamper(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    page = 4096
    for offset in range(page * 20, page * 20 + 200):  # inside a b-tree page
        data[offset] ^= 0x5A
    db.write_bytes(bytes(data))
    with SQLiteStore(db) as store:
        problems = store.check()
    assert problems
    assert any(("integrity_check" in p or "malformed" in p) for p in problems), problems


def test_check_of_a_missing_file_is_an_error(tmp_path: Path) -> None:
    code, _, err = run("check", f"sqlite:///{tmp_path / 'nope.db'}")
    assert code == 2
    assert "no such SQLite database" in err
    assert not (tmp_path / "nope.db").exists()


def test_check_reads_every_event_of_other_stores() -> None:
    code, out, err = run("check", "memory://")
    assert (code, err) == (0, "")
    assert "0 events, every one readable" in out


# --------------------------------------------------------------------------- read-only


def test_mode_ro_and_immutable_open_a_file_without_writing_it(db: Path) -> None:
    before = sorted(p.name for p in db.parent.iterdir())
    for options in ("?mode=ro", "?mode=ro&immutable=1", "?immutable=1"):
        with open_store(f"sqlite:///{db}{options}") as store:
            assert store.count() == 10
            assert [e.user_id for e in store.events(names=["report"])][:2] == ["u0", "u2"]
            with pytest.raises(StoreError, match="opened read-only"):
                store.append([ValueEvent("x", "signup", T0)])
    with SQLiteStore(db) as store:
        assert store.count() == 10
    assert sorted(p.name for p in db.parent.iterdir()) == before


def test_read_only_options_are_checked(tmp_path: Path) -> None:
    for url, fragment in [
        (f"sqlite:///{tmp_path / 'x.db'}?mode=rw", "mode='rw' must be ro"),
        (f"sqlite:///{tmp_path / 'x.db'}?immutable=yes", "immutable='yes' must be 1"),
        ("sqlite://?mode=ro", "in-memory database cannot be read-only"),
    ]:
        with pytest.raises(ConfigurationError, match=fragment):
            open_store(url)
    with pytest.raises(StoreError, match="read-only: there is no such file"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}?mode=ro")
    assert not (tmp_path / "missing.db").exists()


def test_read_only_needs_a_ttvkit_database(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    tamper(other, "CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="opened read-only but holds no ttvkit events"):
        SQLiteStore(other, read_only=True)
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]  # nothing created beside it


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    """A directory on a read-only file system (tmpfs remounted ro), where permitted."""
    mount = tmp_path / "ro"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "ttvkit-test", str(mount)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip("cannot mount a file system here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)


def test_a_wal_database_on_a_read_only_file_system(read_only_mount: Path) -> None:
    path = read_only_mount / "ttv.db"
    with SQLiteStore(path) as store:
        store.append(_events())
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{path}")
    message = str(caught.value)
    assert "read-only file system" in message
    assert f"sqlite:///{path}?mode=ro&immutable=1" in message
    with pytest.raises(StoreError, match="add immutable=1"):
        open_store(f"sqlite:///{path}?mode=ro")
    with open_store(f"sqlite:///{path}?mode=ro&immutable=1") as store:
        assert store.count() == 10
    # A new file there: read-only options cannot help, another place can.
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{read_only_mount / 'new.db'}")
    message = str(caught.value)
    assert message.startswith(f"cannot create the SQLite database {read_only_mount / 'new.db'}")
    assert "choose a path in a directory you can write" in message and "mode=ro" not in message
