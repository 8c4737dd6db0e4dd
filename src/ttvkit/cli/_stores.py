"""``ttvkit import`` (a file of events into a store) and ``ttvkit check`` (a store intact)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Iterator

import attrs

from ttvkit.cli._files import (
    Counts,
    check_store_exists,
    file_format,
    files_in,
    ingest,
    is_url,
    many_files,
    open_reader,
    reader_facts,
    scan_file,
    with_stable_ids,
)
from ttvkit.cli._output import DEFAULT_CONFIG, EXIT_OK, Progress, error_text, note, plural
from ttvkit.cli._reading import Reading, reading_of
from ttvkit.config import load_config
from ttvkit.errors import ConfigurationError, StoreError, StoreUnavailableError, TTVError
from ttvkit.events import ValueEvent
from ttvkit.io import EventReader, ReadError
from ttvkit.io.values import ZONE_ADVICE
from ttvkit.stores import Store, open_store, shown_url
from ttvkit.stores.scan import ScanSource

__all__ = ["DEFAULT_BATCH_SIZE", "cmd_check", "cmd_import"]

DEFAULT_BATCH_SIZE = 5_000


def _stored_so_far(counts: Counts) -> str:
    return (
        f"{counts.new:,} new events were stored before it and are kept; importing again "
        "stores nothing twice"
    )


def cmd_import(args: argparse.Namespace) -> int:
    path = args.config
    if path is None and os.path.exists(DEFAULT_CONFIG):
        path = DEFAULT_CONFIG
    # How to read the file, as `ttvkit report` reads it: the options, else [columns]
    # and [input] of the configuration `ttvkit init` wrote for it.
    config = load_config(path) if path is not None else None
    # A decimal mark only as given: importing the same file again must make the same
    # ids from its rows' content, whatever a later version would guess.
    reading = attrs.evolve(reading_of(args, config), guess_decimal=False)
    if args.store is None:
        # As `ttvkit report` takes its source: the command line, else the configuration.
        if config is None or config.store is None:
            raise ConfigurationError(
                "no STORE_URL: pass the store to import into (sqlite:///ttv.db, "
                "postgresql://...) or set 'store' in the configuration"
            )
        if not is_url(config.store):
            raise ConfigurationError(
                f"the configuration's 'store' is {config.store!r}, a file of events; ttvkit "
                "import writes into a store: pass STORE_URL (sqlite:///ttv.db, "
                "postgresql://...)"
            )
        args.store = config.store
    if not many_files(args.file):
        return _import_file(args, args.file, reading)
    # The files scan() would read, each imported in turn: a file's failure says what
    # of it was stored, and the files before it are kept (importing again stores
    # nothing twice).
    paths = files_in(args.file, reading)
    for done, path in enumerate(paths):
        try:
            _import_file(args, path, reading)
        except TTVError:
            if done:
                were = "was" if done == 1 else "were"
                note(f"{plural(done, 'file')} before {path} {were} imported")
            raise
    if len(paths) > 1:
        print(f"imported {plural(len(paths), 'file')} ({args.file} -> {shown_url(args.store)})")
    return EXIT_OK


def _import_file(args: argparse.Namespace, path: str, reading: Reading) -> int:
    fmt, reading = file_format(path, reading, [])
    # With duckdb, DuckDB reads and checks a CSV, JSON-lines or Parquet file (about
    # four times faster than the reader); each row is an event, whose id, if it has
    # none, is then made from its content as the reader's path makes it. A file with a
    # bad row is streamed by the reader instead, in constant memory, which stores the
    # rows before the bad one (and says how many) or skips it, as without duckdb.
    scanned = scan_file(path, fmt, reading, event_ids="row", in_engine_only=True)
    if scanned is not None:
        with scanned:
            return _import_events(args, path, scanned, _scanned_events(scanned, path))
    reader = open_reader(path, fmt, reading)
    return _import_events(args, path, reader, with_stable_ids(reader))


def _scanned_events(scanned: ScanSource, path: str) -> Iterator[ValueEvent]:
    """The events of a scan, ids made from content where the file has none; DuckDB
    failing to read the file part way (a damaged Parquet page the check did not
    need) is said as the reader says it."""
    try:
        yield from with_stable_ids(scanned.events(), scanned.is_generated_id)
    except StoreError as exc:
        if "out of memory" in str(exc):
            raise
        raise ReadError(
            f"{path} is damaged: DuckDB could not read it to the end ({exc})", source=path
        ) from None


def _import_events(
    args: argparse.Namespace,
    path: str,
    reader: EventReader | ScanSource,
    events: Iterable[ValueEvent],
) -> int:
    with open_store(args.store) as store:
        counts = Counts()
        with Progress(f"importing {path}") as progress:
            try:
                read, new = ingest(
                    store,
                    events,
                    batch_size=args.batch_size,
                    progress=progress,
                    counts=counts,
                )
            except ReadError as exc:
                hint = ""
                # A time without a zone: every row is likely alike, and the message
                # already says --timezone; skipping them would skip the file.
                if exc.skippable and args.on_error == "raise" and ZONE_ADVICE not in str(exc):
                    hint = "; fix the row, or skip bad rows with --on-error skip"
                raise exc.reworded(f"{exc} ({_stored_so_far(counts)}{hint})") from None
            except (TTVError, OSError) as exc:
                # The store failed (a full disk, a lost server): say what is kept.
                raise _ImportFailed(f"{error_text(exc)} ({_stored_so_far(counts)})") from None
            progress.finish(read)
    if isinstance(reader, ScanSource):
        # DuckDB's view holds one of the identical copies of an id: count every row read,
        # as the reader does (the copies are duplicates).
        read = reader.rows
    reader_facts(reader, [])
    ignored = (
        f", ignored {reader.ignored:,}"
        if isinstance(reader, EventReader) and reader.ignored
        else ""
    )
    print(
        f"read {read:,}, new {new:,}, duplicates {read - new:,}, skipped {reader.skipped:,}"
        f"{ignored} ({path} -> {shown_url(args.store)})"
    )
    return EXIT_OK


class _ImportFailed(TTVError):
    """An import stopped by its store; the message says how many events were kept."""


def cmd_check(args: argparse.Namespace) -> int:
    from ttvkit.stores.sqlite import SQLiteStore

    check_store_exists(args.store)
    with open_store(args.store) as store:
        if isinstance(store, SQLiteStore):
            problems = store.check()
            summary = (
                f"{store.count():,} events, every one readable and valid; event names "
                "complete; PRAGMA integrity_check ok"
            )
        else:
            summary, problems = _read_every_event(store)
    if problems:
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3:,} more problems)" if len(problems) > 3 else ""
        raise StoreError(f"{shown_url(args.store)} is damaged: {shown}{more}")
    print(f"{shown_url(args.store)}: ok, {summary}")
    return EXIT_OK


def _read_every_event(store: Store) -> tuple[str, list[str]]:
    """The generic check: every event of *store* is read and decoded."""
    events = 0
    try:
        for _ in store.events():
            events += 1
    except StoreUnavailableError:
        raise  # not reached is not damaged: said as it is
    except TTVError as exc:
        return "", [f"after {events:,} events: {exc}"]
    return f"{events:,} events, every one readable", []
