"""Reading a source: a file of events (format, columns, reader or DuckDB scan) or a store URL.

Also the batched loading of events into a store with progress, and the
content ids that make importing a file twice store nothing twice.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import tzinfo
from typing import Final, Literal, TypedDict, cast
from urllib.parse import unquote

import attrs

from ttvkit._ids import content_id, made_up_here
from ttvkit.calculators import missing_store_file
from ttvkit.cli._layout import looked_at, one_decimal, one_delimiter, shown_delimiter
from ttvkit.cli._output import Progress, note, plural, warn
from ttvkit.cli._reading import Reading
from ttvkit.errors import ConfigurationError, MissingDependencyError, StoreError
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.io import FORMATS as INPUT_FORMATS
from ttvkit.io import (
    VENDOR_NAMES,
    ColumnMapping,
    EventReader,
    ReadError,
    TimestampUnit,
    format_of_name,
    read_file,
)
from ttvkit.io.values import delimiter_in, delimiter_of_name, wide_text_problem
from ttvkit.stores import Store
from ttvkit.stores.scan import ScanSource, files_of, scan, scan_in_engine

__all__ = [
    "VENDOR_OPTIONS",
    "Counts",
    "check_store_exists",
    "columns_option",
    "file_format",
    "files_in",
    "guess_columns",
    "ingest",
    "is_url",
    "many_files",
    "open_reader",
    "reader_facts",
    "scan_file",
    "scan_files",
    "sqlite_files",
    "sqlite_path",
    "with_stable_ids",
]


@attrs.define
class Counts:
    """Events read and events new to the store so far: what an error says was committed."""

    read: int = 0
    new: int = 0


def ingest(
    store: Store,
    events: Iterable[ValueEvent],
    *,
    batch_size: int,
    progress: Progress,
    position: Callable[[int], int] | None = None,
    counts: Counts | None = None,
) -> tuple[int, int]:
    """Append *events* in batches; return (events read, events new to the store).

    Progress shows the events read so far, or ``position(read)`` when given
    (the demo shows users). *counts*, when given, is kept up to date after every
    committed batch, so that a caller can say what was stored when a later batch
    fails. A bad row (:class:`ReadError`) first stores the events read before it.
    """
    counts = Counts() if counts is None else counts
    it = iter(events)
    while True:
        batch: list[ValueEvent] = []
        try:
            for e in it:
                batch.append(e)
                if len(batch) >= batch_size:
                    break
        except ReadError:
            if batch:
                counts.new += store.append(batch)
                counts.read += len(batch)
            raise
        if not batch:
            return counts.read, counts.new
        counts.new += store.append(batch)
        counts.read += len(batch)
        progress.update(counts.read if position is None else position(counts.read))


def with_stable_ids(
    events: Iterable[ValueEvent], generated: Callable[[str], bool] = made_up_here
) -> Iterator[ValueEvent]:
    for e in events:
        if generated(e.event_id):
            yield trusted_event(
                e.user_id, e.name, e.timestamp, e.properties, e.account_id, content_id(e)
            )
        else:
            yield e


def file_format(
    path: str, reading: Reading, facts: list[tuple[str, str | int]]
) -> tuple[str, Reading]:
    """The format to read *path* as: given, or from its name, or from its content; and
    *reading*, with the delimiter a CSV file's header shows where none was given.

    A file whose fields are a PostHog or Segment export's is read as one (said on
    stderr and in *facts*), and so is a CSV file whose header is one column that a
    semicolon, a tab or ``|`` splits. Fields that the column mapping does not find
    are an error naming the fields there are and the options that would read them.
    """
    if many_files(path):
        raise ConfigurationError(
            f"{path} is a {'directory' if os.path.isdir(path) else 'glob'}, and this command "
            "reads one file: pass one of its files"
        )
    with open(path, "rb"):  # a missing or unreadable file fails now, before anything else
        pass
    fmt = reading.input_format
    if fmt is not None:
        if fmt == "csv":
            reading, _ = looked_at(path, fmt, reading, facts)
        _delimiter_for(fmt, reading)
        return fmt, reading
    lowered = path.lower().removesuffix(".gz")
    if lowered.endswith(".zip"):
        note(
            f"{path} is a zip archive; reading it as an Amplitude export (--input-format amplitude)"
        )
        facts.append(("format", "Amplitude export (a zip archive)"))
        _delimiter_for("amplitude", reading)
        return "amplitude", reading
    fmt = format_of_name(path)
    reading, sniffed = looked_at(path, fmt, reading, facts)
    if reading.mapping is None and sniffed.format is not None:
        vendor = VENDOR_NAMES[sniffed.format]
        used = reading.delimiter or delimiter_of_name(path)
        if fmt == "csv" and used != ",":
            shown = shown_delimiter(used)
            raise ConfigurationError(
                f"{path} has the fields of {_a(vendor)} export with its columns separated by "
                f"{shown}, and the {vendor} reader reads commas: save it with commas, or read "
                f"it as plain events with --delimiter {shown} --columns "
                "user=COL,name=COL,timestamp=COL"
            )
        note(
            f"{path} has the fields of {_a(vendor)} export; reading it as one "
            f"(--input-format {sniffed.format}; pass --input-format {fmt or 'jsonl'} to read "
            "it as plain events)"
        )
        facts.append(("format", f"{vendor} export (recognised from its fields)"))
        _delimiter_for(sniffed.format, reading)
        return sniffed.format, reading
    if fmt is None:
        if _starts_with(path, _DATABASE_HEADERS):  # a store's file given as a file of events
            raise ConfigurationError(
                f"{path} is a database file, not a file of events; name it as a store: "
                f"{'duckdb' if _starts_with(path, (_DUCKDB_HEADER,)) else 'sqlite'}:///{path}"
            )
        raise ConfigurationError(
            f"cannot tell the format of {path} from its name or content; pass --input-format "
            f"one of {', '.join(INPUT_FORMATS)}"
        )
    if sniffed.fields:
        _check_columns(path, sniffed.fields, reading)
    _delimiter_for(fmt, reading)
    return fmt, reading


_COLUMN_GUESSES = {
    "user": ("user_id", "userId", "distinct_id", "user", "uid", "customer_id", "person_id"),
    "name": ("name", "event", "event_name", "event_type", "action"),
    "timestamp": ("timestamp", "time", "ts", "event_time", "created_at", "date"),
}


def guess_columns(fields: Sequence[str]) -> ColumnMapping | None:
    """A mapping from the usual names of the user, event and time columns, if all are there."""
    chosen: dict[str, str] = {}
    for field, names in _COLUMN_GUESSES.items():
        column = next((n for n in names if n in fields and n not in chosen.values()), None)
        if column is None:
            return None
        chosen[field] = column
    try:
        return ColumnMapping(**chosen)
    except ConfigurationError:
        return None


def columns_option(mapping: ColumnMapping) -> str:
    return f"--columns user={mapping.user},name={mapping.name},timestamp={mapping.timestamp}"


def _check_columns(path: str, fields: Sequence[str], reading: Reading) -> None:
    wide = wide_text_problem("".join(fields), reading.encoding or "UTF-8")
    if wide is not None:
        raise ConfigurationError(f"{path}: {wide}")
    mapping = reading.mapping or ColumnMapping()
    have = set(fields)
    missing = [
        f"{field} (column {column!r})"
        for field, column in (
            ("user", mapping.user),
            ("name", mapping.name),
            ("timestamp", mapping.timestamp),
        )
        if column not in have
    ]
    if not missing:
        return
    shown = ", ".join(fields[:12]) + (", ..." if len(fields) > 12 else "")
    used = reading.delimiter or delimiter_of_name(path)
    guess = guess_columns(fields)
    other = delimiter_in(fields, used, one_column=False) if guess is None else None
    if other is not None:
        option = shown_delimiter(other)
        raise ConfigurationError(
            f"{path} has no {' or '.join(missing)}; its header, {used.join(fields)!r}, splits "
            f"into more columns at {option}: if that separates its columns, pass --delimiter "
            f"{option}"
        )
    spaced = _spaced_columns(fields, reading.mapping)
    if spaced is not None:
        raise ConfigurationError(
            f"{path} has no {' or '.join(missing)}; its column names have spaces around them "
            f"({', '.join(repr(f) for f in fields if f != f.strip())}), which CSV keeps as "
            "part of a name (and of a value): remove them from the file, or quote the names "
            f"in --columns, e.g. --columns '{spaced}'"
        )
    guess = guess_columns(fields)
    option = "--columns user=COL,name=COL,timestamp=COL" if guess is None else columns_option(guess)
    hint = f"{option} (or a [columns] table in the TOML)"
    if {"distinct_id", "event"} <= have and have & {"uuid", "properties", "timestamp"}:
        # PostHog's other fields too: a Mixpanel-style CSV (distinct_id, event, time)
        # is no PostHog export, and the PostHog reader would refuse it.
        hint += ", or --input-format posthog"
    elif have & {"userId", "anonymousId"}:
        hint += ", or --input-format segment"
    elif "event_type" in have:
        hint += ", or --input-format amplitude"
    elif have == {"event", "properties"}:
        hint += ", or --input-format mixpanel"
    raise ConfigurationError(
        f"{path} has no {' or '.join(missing)}; its fields are: {shown}; map them with {hint}"
    )


def _spaced_columns(fields: Sequence[str], mapping: ColumnMapping | None) -> str | None:
    """The ``--columns`` value that reads *fields* whose names have spaces around them
    (``user_id, name, timestamp``), the names quoted; None when stripping the spaces
    would not give the mapping's (or the usual) user, name and time columns."""
    named = {f.strip(): f for f in fields if f.strip()}
    if all(f == f.strip() for f in fields):
        return None
    wanted = mapping or ColumnMapping()
    columns = (wanted.user, wanted.name, wanted.timestamp)
    if mapping is None and not all(c in named for c in columns):
        guess = guess_columns(list(named))
        columns = (guess.user, guess.name, guess.timestamp) if guess is not None else columns
    if not all(c in named for c in columns) or all(named[c] == c for c in columns):
        return None
    return ",".join(
        f"{field}={named[c]!r}".replace("'", '"') if named[c] != c else f"{field}={c}"
        for field, c in zip(("user", "name", "timestamp"), columns, strict=True)
    )


def _decimal_for(fmt: str | None, reading: Reading) -> str:
    """The ``--decimal`` to read a *fmt* file with (``"."`` when not given), refused for a
    format that is not CSV."""
    if reading.decimal is not None:
        _csv_only(
            "decimal",
            fmt,
            f"the {VENDOR_NAMES.get(fmt or '')} reader reads numbers as the vendor writes them",
            f"{fmt} files hold numbers as numbers",
        )
    return reading.decimal or "."


def _csv_only(option: str, fmt: str | None, vendor: str, other: str) -> None:
    """Refuse ``--option`` (given, or the configuration's) for a *fmt* file that is not
    CSV, saying why: *vendor* for a vendor's export, *other* for another format."""
    if fmt not in (None, "csv"):
        raise ConfigurationError(
            f"--{option} (or the configuration's [input] {option}) is for csv files; "
            f"{vendor if fmt in VENDOR_NAMES else other}"
        )


def _encoding_for(fmt: str, reading: Reading) -> str | None:
    """The ``--encoding`` to read a *fmt* file with, refused for a format that is not text."""
    if reading.encoding is not None and fmt not in ("csv", "jsonl"):
        raise ConfigurationError(
            f"--encoding (or the configuration's [input] encoding) is for csv and jsonl "
            f"files; {VENDOR_NAMES.get(fmt, fmt)} files are read as UTF-8, as they are written"
        )
    return reading.encoding


def _a(vendor: str) -> str:
    """*vendor* with its article: "a PostHog", "an Amplitude"."""
    return f"{'an' if vendor[:1] in 'AEIOU' else 'a'} {vendor}"


def _delimiter_for(fmt: str | None, reading: Reading) -> str | None:
    """The ``--delimiter`` to read a *fmt* file with, refused for a format that is not CSV
    (a glob's format None: its files' names say)."""
    if reading.delimiter is not None:
        _csv_only(
            "delimiter",
            fmt,
            f"{_a(VENDOR_NAMES.get(fmt or '', ''))} export is read as the vendor writes it",
            f"{fmt} files have no delimiter",
        )
    return reading.delimiter


def many_files(source: str) -> bool:
    """Whether *source* names several files: a directory, or a glob (not a file so named)."""
    return not os.path.isfile(source) and (os.path.isdir(source) or glob.has_magic(source))


#: The options of vendor exports, which are read one file at a time.
VENDOR_OPTIONS: Final = (
    "group_type",
    "keep_properties",
    "no_merge_identities",
    "no_person_properties",
)


def files_in(source: str, reading: Reading) -> list[str]:
    """The files a directory or glob names, as :func:`ttvkit.scan` reads them; a vendor
    export is read one file at a time."""
    if reading.input_format not in (None, "csv", "jsonl", "parquet"):
        vendor = VENDOR_NAMES.get(reading.input_format, reading.input_format)
        raise ConfigurationError(
            f"--input-format {reading.input_format}: a {vendor} export is read one file at a "
            f"time, and {source} names several; pass one file, or join the parts into one "
            "first (JSON lines: cat the parts > export.jsonl; zcat for .gz parts)"
        )
    return files_of(source, format=reading.input_format)


class _ScanOptions(TypedDict):
    format: str | None
    mapping: ColumnMapping | None
    assume_timezone: tzinfo | None
    timestamp_unit: TimestampUnit | None
    encoding: str | None
    delimiter: str | None
    decimal: str


def _scan_options(reading: Reading, fmt: str | None, encoding: str | None) -> _ScanOptions:
    """What :func:`ttvkit.scan` (and ``scan_in_engine``) take from the command line."""
    return {
        "format": fmt,
        "mapping": reading.mapping,
        "assume_timezone": reading.timezone,
        "timestamp_unit": reading.timestamp_unit,
        "encoding": encoding,
        "delimiter": _delimiter_for(fmt, reading),  # None: by the file's name
        "decimal": _decimal_for(fmt, reading),
    }


def scan_files(source: str, reading: Reading, *, event_ids: str) -> ScanSource:
    """A directory or glob of CSV, JSON-lines or Parquet files, read by :func:`ttvkit.scan`
    as one log (the readers' rules; rows DuckDB cannot vouch for read by the reader)."""
    files = files_in(source, reading)
    if reading.delimiter is None:
        reading = one_delimiter(source, files, reading)
    reading, told = one_decimal(files, reading)  # its note said once the files are read
    if importlib.util.find_spec("duckdb") is None:
        raise ConfigurationError(
            f"{source} names several files, which are read together with DuckDB: "
            "pip install 'ttvkit[duckdb]', or pass one file"
        )
    # The options are checked against the files' format when they share one (a
    # configuration's [input] delimiter is refused for Parquet files in its words).
    formats = {reading.input_format or format_of_name(f) for f in files}
    checked = formats.pop() if len(formats) == 1 else reading.input_format
    options = _scan_options(reading, checked, reading.encoding)
    options["format"] = reading.input_format
    scanned = scan(
        source,
        **options,
        on_error=cast(Literal["raise", "skip"], reading.on_error),  # argparse's choices
        event_ids=cast(Literal["row", "content"], event_ids),
    )
    if told is not None:
        note(told)
    return scanned


def open_reader(path: str, fmt: str, reading: Reading) -> EventReader:
    options: dict[str, object] = {"on_error": reading.on_error}
    if _encoding_for(fmt, reading) is not None:
        options["encoding"] = reading.encoding
    if _delimiter_for(fmt, reading) is not None:
        options["delimiter"] = reading.delimiter
    if _decimal_for(fmt, reading) != ".":
        options["decimal"] = reading.decimal
    if fmt in ("csv", "jsonl", "parquet"):
        if reading.mapping is not None:
            options["mapping"] = reading.mapping
        options["assume_timezone"] = reading.timezone
        options["timestamp_unit"] = reading.timestamp_unit
    else:
        if reading.timestamp_unit is not None:
            raise ConfigurationError(
                f"--timestamp-unit is for csv, jsonl and parquet files; the times of a "
                f"{VENDOR_NAMES.get(fmt, fmt)} export are read as the vendor writes them"
            )
        if reading.columns_given:  # a configuration's [columns] may be another file's
            raise ConfigurationError(
                f"--columns is for csv, jsonl and parquet files; the fields of "
                f"{_a(VENDOR_NAMES.get(fmt, fmt))} export are read as the vendor writes them"
            )
        if reading.timezone is not None:  # else the vendor's documented UTC
            zone = "project_timezone" if fmt == "mixpanel" else "assume_timezone"
            options[zone] = reading.timezone
        options["keep_properties"] = reading.keep_properties
        options["merge_identities"] = reading.merge_identities
        if fmt in ("posthog", "amplitude"):
            options["group_type"] = reading.group_type
        if fmt == "mixpanel":
            options["group_key"] = reading.group_type
        if fmt == "posthog":
            options["person_properties"] = reading.person_properties
        if fmt == "amplitude":
            options["user_properties"] = reading.person_properties
    return read_file(path, format=fmt, **options)


def scan_file(
    path: str, fmt: str, reading: Reading, *, event_ids: str, in_engine_only: bool = False
) -> ScanSource | None:
    """*path* read by :func:`ttvkit.scan` in DuckDB, or None to use the io reader.

    DuckDB reads a file without a Python object per row; without duckdb
    installed, or for a vendor format, the ``ttvkit.io`` reader does. With
    *in_engine_only*, also None when DuckDB cannot vouch for every row
    (:func:`~ttvkit.stores.scan.scan_in_engine`): the caller streams it.
    """
    encoding = _encoding_for(fmt, reading)
    if fmt not in ("csv", "jsonl", "parquet"):
        return None
    if importlib.util.find_spec("duckdb") is None:
        return None
    ids = cast(Literal["row", "content"], event_ids)
    try:
        options = _scan_options(reading, fmt, encoding)
        if in_engine_only:
            return scan_in_engine(path, **options, event_ids=ids)
        on_error = cast(Literal["raise", "skip"], reading.on_error)  # argparse's choices
        return scan(path, **options, on_error=on_error, event_ids=ids)
    except StoreError:
        # DuckDB could not read the file (a damaged Parquet page, a truncated
        # .gz): the reader says what is wrong with it, and where.
        return None


def reader_facts(reader: EventReader | ScanSource, facts: list[tuple[str, str | int]]) -> None:
    """Say every skip, drop and merge of a read on stderr and in *facts*."""
    for error in reader.errors[:5]:
        warn(f"skipped: {error}")
    if reader.skipped > 5:
        warn(f"skipped {reader.skipped - 5:,} more bad rows")
    if reader.skipped:
        facts.append(("bad rows skipped", reader.skipped))
    if isinstance(reader, EventReader):
        if reader.ignored:
            note(
                f"{reader.source}: {plural(reader.ignored, 'row')} that are not events "
                "(identify, page, group and other calls) were not counted as events"
            )
            facts.append(("calls ignored (not events)", reader.ignored))
        if reader.merged:
            note(
                f"{reader.source}: {plural(reader.merged, 'anonymous id')} merged into the "
                "user identified later (--no-merge-identities keeps them apart)"
            )
            facts.append(("identities merged", reader.merged))


def is_url(source: str) -> bool:
    return "://" in source


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///`` URL names, or None (another scheme, in memory)."""
    scheme, _, rest = url.partition("://")
    location = rest.partition("?")[0]
    if scheme.lower() != "sqlite" or not location.startswith("/"):
        return None
    path = unquote(location[1:])
    return path if path and path != ":memory:" and "\x00" not in path else None


def check_store_exists(url: str) -> None:
    """Reporting on (or checking) a SQLite or DuckDB file that does not exist is a typo,
    not a wish to create it: opening it would create an empty database."""
    try:
        path = missing_store_file(url)
    except MissingDependencyError:
        return  # opening the store says which extra to install
    if path is not None:
        kind = "DuckDB" if url.partition("://")[0].lower() == "duckdb" else "SQLite"
        raise FileNotFoundError(2, f"no such {kind} database", path)


def sqlite_files(url: str) -> list[tuple[str, str]]:
    """The files of a ``sqlite:///`` URL's database: the database, its WAL and journal."""
    path = sqlite_path(url)
    if path is None:
        return []
    return [
        ("store's database file", path),
        ("store's write-ahead log", path + "-wal"),
        ("store's shared-memory file", path + "-shm"),
        ("store's journal", path + "-journal"),
    ]


#: How a SQLite database file starts, and a DuckDB one (its magic at byte 8).
_SQLITE_HEADER: Final = b"SQLite format 3\x00"
_DUCKDB_HEADER: Final = b"DUCK"
_DATABASE_HEADERS: Final = (_SQLITE_HEADER, _DUCKDB_HEADER)


def _starts_with(path: str, headers: Sequence[bytes]) -> bool:
    """Whether the file at *path* begins with one of *headers* (DuckDB's at byte 8)."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError:
        return False
    return any(
        head[8:12] == header if header == _DUCKDB_HEADER else head.startswith(header)
        for header in headers
    )
