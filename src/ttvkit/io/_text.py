"""CSV and JSON lines: streaming readers with a column mapping, and writers for round trips.

Paths ending in ``.gz`` are read and written through gzip. Text file objects are
read as given and never closed here: their owner closes them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import IO, Final, TypeAlias, cast

from ttvkit._json import compact, load_json
from ttvkit.errors import InvalidEventError
from ttvkit.events import ValueEvent
from ttvkit.io._convert import Options, RowConverter
from ttvkit.io._mapping import ColumnMapping
from ttvkit.io._reader import EventReader, Item, Location, OnError, ReadError, source_name
from ttvkit.io.values import (
    TimestampUnit,
    check_decimal,
    check_delimiter,
    check_encoding,
    delimiter_of_name,
    gzip_problem,
    is_gzipped,
    is_utf8,
    json_kind,
    json_problem,
    wide_text_problem,
)

__all__ = ["read_csv", "read_jsonl", "write_csv", "write_jsonl"]

#: A path (``str`` or ``os.PathLike``) or an open text file object.
TextSource: TypeAlias = "str | os.PathLike[str] | IO[str]"

#: The columns write_csv writes, in order; the keys of ``ValueEvent.to_dict()``.
CSV_COLUMNS: Final = ("event_id", "user_id", "account_id", "name", "timestamp", "properties")


def is_path(source: object) -> bool:
    return isinstance(source, str | os.PathLike)


@contextmanager
def open_text(
    source: TextSource, mode: str, *, encoding: str, newline: str | None
) -> Iterator[IO[str]]:
    """Open a path (through gzip when it ends in ``.gz``), or lend a file object as is."""
    if not is_path(source):
        yield source  # type: ignore[misc]
        return
    path = os.fspath(source)  # type: ignore[arg-type]
    if is_gzipped(path):
        if "r" in mode and os.path.getsize(path) == 0:
            # gzip reads an empty file as no data; a gzip file holds at least its header
            # (a compressed empty log is 20 bytes), so this one was cut off.
            name = source_name(path)
            raise ReadError(
                f"{name}: is empty (0 bytes), so not a gzip file; the file is truncated or damaged",
                source=name,
            )
        with gzip.open(path, mode + "t", encoding=encoding, newline=newline) as file:
            yield cast(IO[str], file)
    else:
        with open(path, mode, encoding=encoding, newline=newline) as file:
            yield file


class _DecodeError(ReadError):
    """Bytes that are not valid in the encoding; :func:`guarded` finds their line."""


_ENCODING_HINT: Final = "pass the file's encoding, e.g. encoding='latin-1'"
#: For bytes with NULs between the letters: UTF-16 (or UTF-32) text, not latin-1.
_WIDE_HINT: Final = "pass the file's encoding, e.g. encoding='utf-16'"


def _shown_encoding(encoding: str) -> str:
    """How a message names *encoding*: the readers' default ``utf-8-sig`` is UTF-8."""
    return "UTF-8" if is_utf8(encoding) else encoding


def _decode_error(location: Location, exc: UnicodeDecodeError, encoding: str) -> ReadError:
    hint = _WIDE_HINT if b"\x00" in exc.object else _ENCODING_HINT
    error = location.error(f"is not valid {_shown_encoding(encoding)} ({exc.reason}); {hint}")
    return _DecodeError(str(error), source=error.source, line=error.line)


def _locate_decode_error(path: str, name: str, encoding: str) -> ReadError | None:
    """The first line of *path* that *encoding* cannot decode, as an error; None if none.

    Text files are decoded a block at a time, so the line being read when the
    decoder fails is not the line of the bad byte: read the file again, a line at
    a time, to name the right one.
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        opener = gzip.open if is_gzipped(path) else open
        with opener(path, "rb") as file:
            for number, line in enumerate(file, 1):
                try:
                    decoder.decode(line)
                except UnicodeDecodeError as exc:
                    hint = _WIDE_HINT if b"\x00" in line else _ENCODING_HINT
                    return Location(name, line=number).error(
                        f"is not valid {_shown_encoding(encoding)} ({exc.reason} at byte "
                        f"{exc.start + 1} of the line); {hint}"
                    )
    except (LookupError, OSError, EOFError, zlib.error):
        return None
    return None


def guarded(source: TextSource, name: str, encoding: str, items: Iterator[Item]) -> Iterator[Item]:
    """*items*, with the failures of the file as a whole turned into one ReadError each.

    A truncated or damaged ``.gz`` file, a read error, and bytes the encoding cannot
    decode stop the reading (``on_error="skip"`` cannot skip them): the error names
    the file, and the line where one is known.
    """
    try:
        yield from items
    except _DecodeError as exc:
        located = None
        if isinstance(source, str | os.PathLike):
            located = _locate_decode_error(os.fspath(source), name, encoding)
        raise (located or exc) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ReadError(
            f"{name}: {gzip_problem(exc)}",
            source=name,
        ) from None
    except UnicodeError as exc:  # not a decoding error of some bytes: UTF-16 without a BOM
        wide = "utf-16" in encoding.lower().replace("_", "-")
        hint = (
            "pass encoding='utf-16-le' (or 'utf-16-be') for UTF-16 without a byte-order mark"
            if wide
            else _ENCODING_HINT
        )
        raise ReadError(
            f"{name}: is not valid {_shown_encoding(encoding)} ({exc}); {hint}", source=name
        ) from None
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise ReadError(f"{name}: could not be read ({exc.strerror or exc})", source=name) from None


def read_csv(
    source: TextSource,
    *,
    mapping: ColumnMapping = ColumnMapping(),  # noqa: B008 - frozen, so one shared default is safe
    on_error: OnError = "raise",
    delimiter: str | None = None,
    encoding: str = "utf-8-sig",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
    infer_types: bool = True,
    decimal: str = ".",
) -> EventReader:
    """Read value events from a CSV file with a header row.

    *mapping* says which column holds which field; by default every column it does
    not name becomes a property, its cells read as JSON numbers or ``true``/``false``
    when they look like one (``infer_types=False`` keeps them text). With
    *decimal* ``","`` numbers are written with a decimal comma (``3,5``; then
    ``3.5`` is text, and no grouping of thousands is read). Empty cells are
    null. Timestamps are ISO-8601 with an offset, or epoch values when
    *timestamp_unit* is set; *assume_timezone* is the zone of timestamps written
    without an offset (by default they are an error). The default encoding skips a
    byte-order mark, as Excel writes one.

    Returns an :class:`EventReader`; see it for ``on_error`` and the counts.
    """
    delimiter = check_delimiter(_delimiter_of(source, delimiter))
    options = Options.build(
        mapping,
        assume_timezone=assume_timezone,
        timestamp_unit=timestamp_unit,
        text=True,
        infer_types=bool(infer_types),
        delimiter=delimiter,
        decimal=check_decimal(decimal),
    )
    name = source_name(source)
    encoding = check_encoding(encoding)
    if is_utf8(encoding):
        encoding = "utf-8-sig"  # a byte-order mark is never part of a CSV's first column name

    def items() -> Iterator[Item]:
        with open_text(source, "r", encoding=encoding, newline="") as file:
            yield from guarded(
                source,
                name,
                encoding,
                csv_items(file, name, options, delimiter=delimiter, encoding=encoding),
            )

    return EventReader(name, items, on_error=on_error, once=not is_path(source))


def _delimiter_of(source: TextSource, delimiter: str | None) -> str:
    """*delimiter*, or when None the one *source*'s name implies (a tab for ``.tsv``)."""
    if delimiter is not None:
        return delimiter
    return delimiter_of_name(os.fspath(source)) if is_path(source) else ","  # type: ignore[arg-type]


def csv_items(
    file: IO[str],
    name: str,
    options: Options,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    strict_optional: bool = True,
) -> Iterator[Item]:
    """Events (or errors) from an open CSV file; the header is line 1.

    Quoting is read as Python's csv module reads it (text after a closing quote is
    kept, as in ``"signup" ,``), but a quoted cell never closed, which would take in
    the rest of the file as its text, stops the reading with an error naming its line.
    """
    lines = _Lines(file)
    reader = csv.reader(lines, delimiter=delimiter)
    header_location = Location(name, line=1)
    try:
        header = next(reader, [])
    except UnicodeDecodeError as exc:
        raise _decode_error(header_location, exc, encoding) from None
    except csv.Error as exc:
        raise header_location.error(_csv_problem(exc)) from None
    if lines.unclosed():
        raise header_location.error(_csv_problem(csv.Error(_UNCLOSED)))
    wide = wide_text_problem("".join(header), _shown_encoding(encoding))
    if wide is not None:
        raise header_location.error(wide)
    converter = RowConverter(options, header_location, header, strict_optional=strict_optional)
    width = len(header)
    while True:
        # A quoted cell can span lines: report the line the record starts on.
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise _decode_error(Location(name, line=line), exc, encoding) from None
        except csv.Error as exc:
            raise Location(name, line=line).error(_csv_problem(exc)) from None
        if lines.unclosed():
            raise Location(name, line=line).error(_csv_problem(csv.Error(_UNCLOSED)))
        if not cells:
            continue  # a blank line
        if len(cells) > width:
            yield Location(name, line=line).error(
                f"has {len(cells)} cells but the header has {width} columns; "
                "quote cells that contain the delimiter"
            )
            continue
        yield converter.convert(dict(zip(header, cells, strict=False)), line=line)


#: What the csv module says of a quoted cell still open at the end of the file.
_UNCLOSED: Final = "unexpected end of data"


class _Lines:
    """The lines of a file, as the csv module reads them, remembering the quotes of
    the record being read: the module (not strict) ends a quoted cell left open at
    the end of the file without a word, so that one record takes in every line after
    it. Such a record spans several lines with an odd number of quotes; a closed
    quoted cell (its quotes inside doubled) has an even number."""

    def __init__(self, file: Iterable[str]) -> None:
        self._lines = iter(file)
        self._quotes = 0
        self._count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._quotes += line.count('"')
        self._count += 1
        return line

    def unclosed(self) -> bool:
        """Whether the record just read left a quote open (and starts the next one)."""
        unclosed = self._count > 1 and self._quotes % 2 == 1
        self._quotes = self._count = 0
        return unclosed


def _csv_problem(exc: csv.Error) -> str:
    """What the csv module's *exc* means, in words."""
    text = str(exc)
    if text == _UNCLOSED:
        return (
            "starts a quoted cell that is never closed: the file ends inside it (a quote "
            'missing, or one that should be written twice, "", inside the cell)'
        )
    return f"is not valid CSV: {text}"


def read_jsonl(
    source: TextSource,
    *,
    mapping: ColumnMapping = ColumnMapping(),  # noqa: B008 - frozen, so one shared default is safe
    on_error: OnError = "raise",
    encoding: str = "utf-8",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
) -> EventReader:
    """Read value events from JSON lines: one JSON object per line (blank lines are skipped).

    *mapping* names the keys; ``properties`` is a nested object, and by default every
    other key becomes a property too. A file holding one JSON array of such objects
    is read as well (whole, so prefer JSON lines for large files). Timestamps are
    ISO-8601 text with an offset, or epoch numbers (seconds unless *timestamp_unit*
    says otherwise); *assume_timezone* as in :func:`read_csv`.

    Returns an :class:`EventReader`; see it for ``on_error`` and the counts.
    """
    options = Options.build(mapping, assume_timezone=assume_timezone, timestamp_unit=timestamp_unit)
    name = source_name(source)
    encoding = check_encoding(encoding)

    def items() -> Iterator[Item]:
        with open_text(source, "r", encoding=encoding, newline=None) as file:
            yield from guarded(source, name, encoding, jsonl_items(file))

    def jsonl_items(file: IO[str]) -> Iterator[Item]:
        converter = RowConverter(options, Location(name, noun="key"), None)
        for line, row, record in json_records(file, name, encoding=encoding):
            if isinstance(record, ReadError):
                yield record
            elif not isinstance(record, dict):
                yield Location(name, line=line, row=row).error(
                    f"is {json_kind(record)}, not a JSON object; each line must be one "
                    'object such as {"user_id": "u1", "name": "signup", "timestamp": ...}'
                )
            else:
                yield converter.convert(record, line=line, row=row)

    return EventReader(name, items, on_error=on_error, once=not is_path(source))


def json_records(
    file: IO[str], name: str, *, encoding: str = "utf-8", wrapper: str | None = None
) -> Iterator[tuple[int | None, int | None, object]]:
    """``(line, row, record)`` from JSON lines, a JSON array, or an object with a list.

    JSON lines stream, and each record has its *line*; a bad line is yielded as a
    :class:`ReadError`. A file that starts with ``[`` is one JSON array, read whole,
    whose records have their 0-based *row*. With *wrapper* (``"batch"`` for Segment,
    ``"results"`` for PostHog's API), an object with a list under that key stands
    for the records in it, whether it is one line or a whole pretty-printed file.
    """
    numbered: Iterator[tuple[int, str]] = enumerate(file, 1)
    start, text = 0, ""
    try:
        for start, text in numbered:
            if start == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark is not data
            if text.strip():
                break
        else:
            return
        head = text.lstrip()
        if head.startswith("["):
            yield from _records_of(
                _load_document(text + file.read(), start, name, wrapper), name, wrapper
            )
            return
        numbered = itertools.chain([(start, text)], numbered)
        if wrapper is not None and head.startswith("{") and not _is_json(text):
            # Not a whole object on one line: one pretty-printed document, or JSON
            # lines whose first line is broken (then read it as lines, to say so).
            whole = text + file.read()
            try:
                document = load_json(whole)
            except (ValueError, RecursionError):
                numbered = enumerate(io.StringIO(whole), start)
            else:
                yield from _records_of(document, name, wrapper)
                return
    except UnicodeDecodeError as exc:
        raise _decode_error(Location(name, line=start + 1), exc, encoding) from None
    yield from _json_lines(numbered, name, encoding, wrapper)


def _is_json(text: str) -> bool:
    try:
        load_json(text)
    except (ValueError, RecursionError):
        return False
    return True


def _json_lines(
    lines: Iterator[tuple[int, str]], name: str, encoding: str, wrapper: str | None
) -> Iterator[tuple[int | None, int | None, object]]:
    line = 0
    try:
        for line, text in lines:
            if not text.strip():
                continue
            try:
                record = load_json(text)
            except (ValueError, RecursionError) as exc:
                yield line, None, _json_error(Location(name, line=line), exc)
            else:
                yield from _unwrap(record, line, None, wrapper)
    except UnicodeDecodeError as exc:
        raise _decode_error(Location(name, line=line + 1), exc, encoding) from None


def _json_error(location: Location, exc: BaseException) -> ReadError:
    return location.error(f"is not valid JSON ({json_problem(exc)})")


def _unwrap(
    record: object, line: int | None, row: int | None, wrapper: str | None
) -> Iterator[tuple[int | None, int | None, object]]:
    if wrapper is not None and isinstance(record, dict) and isinstance(record.get(wrapper), list):
        for index, item in enumerate(record[wrapper]):
            # inside one line, the line says where; in a document, the item's index
            yield line, index if line is None else None, item
    else:
        yield line, row, record


def _load_document(text: str, start: int, name: str, wrapper: str | None) -> object:
    try:
        return load_json(text)
    except (ValueError, RecursionError) as exc:
        line = start + exc.lineno - 1 if isinstance(exc, json.JSONDecodeError) else None
        raise Location(name, line=line).error(
            f"is not valid JSON ({json_problem(exc)}); the file must be "
            "JSON lines, or one JSON array"
            + (f", or one object with a {wrapper!r} list" if wrapper else "")
        ) from None


def _records_of(
    document: object, name: str, wrapper: str | None
) -> Iterator[tuple[int | None, int | None, object]]:
    if isinstance(document, list):
        for index, record in enumerate(document):
            yield from _unwrap(record, None, index, wrapper)
    elif wrapper is not None and isinstance(document, dict) and wrapper in document:
        yield from _unwrap(document, None, None, wrapper)
    else:
        raise Location(name).error(
            f"is {json_kind(document)}; expected JSON lines or a JSON array"
            + (f", or an object with a {wrapper!r} list" if wrapper else "")
        )


def checked_events(events: Iterable[ValueEvent]) -> Iterator[ValueEvent]:
    for event in events:
        if not isinstance(event, ValueEvent):
            raise InvalidEventError(
                f"expected ValueEvent objects, got a {type(event).__name__}; "
                "build them with ValueEvent(...) or ValueEvent.from_mapping(row)"
            )
        yield event


def properties_json(event: ValueEvent) -> str:
    return compact(event.to_dict()["properties"])


def write_csv(
    events: Iterable[ValueEvent], destination: TextSource, *, delimiter: str | None = None
) -> int:
    """Write *events* as CSV, one row each, and return how many were written.

    The columns are :data:`CSV_COLUMNS`: ``event_id, user_id, account_id, name,
    timestamp, properties``; timestamps are ISO-8601 in UTC, properties one JSON
    object per cell, and a missing account an empty cell. :func:`read_csv` with the
    default mapping reads the file back to equal events (*delimiter* None: a tab for a
    path named ``.tsv``, else a comma, as :func:`read_csv` reads it). UTF-8, no
    byte-order mark.
    """
    delimiter = check_delimiter(_delimiter_of(destination, delimiter))
    written = 0
    with open_text(destination, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(CSV_COLUMNS)
        for event in checked_events(events):
            writer.writerow(
                (
                    event.event_id,
                    event.user_id,
                    event.account_id or "",
                    event.name,
                    event.timestamp.isoformat(),
                    properties_json(event),
                )
            )
            written += 1
    return written


def write_jsonl(events: Iterable[ValueEvent], destination: TextSource) -> int:
    """Write *events* as JSON lines (``ValueEvent.to_dict()`` per line); return the count.

    :func:`read_jsonl` with the default mapping reads the file back to equal events.
    """
    written = 0
    with open_text(destination, "w", encoding="utf-8", newline="") as file:
        for event in checked_events(events):
            file.write(compact(event.to_dict()))
            file.write("\n")
            written += 1
    return written
