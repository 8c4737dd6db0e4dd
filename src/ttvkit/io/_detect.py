"""Telling a file's layout from its content: ttvkit's own columns, a PostHog, Segment,
Mixpanel or Amplitude export, or columns that need a mapping."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
import re
import zlib
from typing import IO, Final

import attrs

from ttvkit.io._text import open_text
from ttvkit.io._vendor_fields import vendor_of
from ttvkit.io.values import comma_number, infer_scalar

__all__ = ["Sniffed", "decimal_commas", "sniff"]


@attrs.frozen
class Sniffed:
    """What the start of a file says about it.

    ``format`` is ``"posthog"``, ``"segment"``, ``"mixpanel"`` or ``"amplitude"`` when
    the fields are that vendor's,
    else ``None``; ``fields`` are the columns (CSV) or keys of the first record (JSON).
    """

    format: str | None
    fields: tuple[str, ...]


def _first_json_record(text: str) -> dict[str, object] | None:
    # Nesting too deep to decode (RecursionError) is as unreadable as bad syntax:
    # the reader then says which line is wrong.
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            first, _ = json.JSONDecoder().raw_decode(stripped[1:].lstrip())
        except (ValueError, RecursionError):
            return None
        return first if isinstance(first, dict) else None
    line = stripped.partition("\n")[0]
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        try:
            record = json.loads(stripped)
        except (ValueError, RecursionError):
            return None
    if isinstance(record, dict):
        for wrapper in ("batch", "results"):
            inner = record.get(wrapper)
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                return inner[0]
    return record if isinstance(record, dict) else None


#: How much of a JSON file is looked at, and in what pieces.
_LOOK: Final = 1 << 20
_PIECE: Final = 1 << 13


def _start(file: IO[str]) -> str:
    """The first megabyte of *file*, or as much of it as can be read: a truncated or
    damaged ``.gz`` is judged by what comes before the damage (the reader reports it)."""
    pieces: list[str] = []
    size = 0
    while size < _LOOK:
        try:
            piece = file.read(_PIECE)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            break
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def sniff(
    path: str | os.PathLike[str],
    format: str | None,
    *,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
) -> Sniffed:
    """Look at the header (CSV) or the first record (JSON) of *path*.

    *format* is the format the file is about to be read as (``"csv"`` or
    ``"jsonl"``; anything else is not looked at). Reads at most the first
    megabyte for JSON, one line for CSV; unreadable files give no fields (the
    reader then says what is wrong), and a truncated ``.gz`` is judged by what can
    be read before the damage. *encoding* is the file's, as the reader will read it,
    and *delimiter* what separates a CSV file's columns.
    """
    if format not in ("csv", "jsonl"):
        return Sniffed(None, ())
    record: dict[str, object] | None = None
    try:
        with open_text(os.fspath(path), "r", encoding=encoding, newline="") as file:
            if format == "csv":
                header = next(csv.reader(file, delimiter=delimiter), [])
                fields: tuple[str, ...] = tuple(header)
            else:
                record = _first_json_record(_start(file))
                fields = () if record is None else tuple(str(k) for k in record)
    except (OSError, UnicodeError, LookupError, EOFError, zlib.error, csv.Error):
        return Sniffed(None, ())
    return Sniffed(vendor_of(fields, record), fields)


def decimal_commas(
    path: str | os.PathLike[str],
    *,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    rows: int = 1_000,
) -> tuple[str, ...]:
    """The columns of CSV *path* that hold numbers written with a decimal comma.

    Looks at the first *rows* rows. A column is named when some of its cells are
    such numbers beyond doubt (``3,5``, ``1.234,50``) and none is a number written
    otherwise (``3.5``, or ``1,234,567`` and ``1,234.50``, commas grouping
    thousands); a cell such as ``1,000`` or ``1.234`` may be either and decides
    nothing. Those are the columns :func:`read_csv` reads as numbers with
    ``decimal=","`` and as text by default. Unreadable files name none (the reader
    then says what is wrong).
    """
    seen: dict[str, bool] = {}
    otherwise: set[str] = set()
    try:
        with open_text(os.fspath(path), "r", encoding=encoding, newline="") as file:
            reader = csv.reader(file, delimiter=delimiter)
            header = next(reader, [])
            for row in itertools.islice(reader, rows):
                for column, cell in zip(header, row, strict=False):
                    told = _decimal_told(cell)
                    if told is True:
                        seen[column] = True
                    elif told is False:
                        otherwise.add(column)
    except (OSError, UnicodeError, LookupError, EOFError, zlib.error, csv.Error):
        return ()
    return tuple(c for c in seen if c not in otherwise)


# Commas grouping thousands, as US and UK spreadsheets write numbers: 1,234,567 or 1,234.50.
_COMMA_GROUPED: Final = re.compile(r"-?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]+)?")


def _decimal_told(cell: str) -> bool | None:
    """True: *cell* is a number written with a decimal comma beyond doubt; False: a
    number written with a decimal point; None: neither, or either (``1,000``)."""
    parts = comma_number(cell)
    if parts is not None and parts[1] is not None:
        # 1,000 may be a thousand (commas grouping) as well as one (a decimal comma)
        ambiguous = len(parts[1]) == 3 and "." not in cell and cell.count(",") == 1
        return None if ambiguous else True
    if parts is not None:  # a whole number: 12, or 1.234 (points grouping thousands)
        return None
    if _COMMA_GROUPED.fullmatch(cell):
        return False
    return False if isinstance(infer_scalar(cell), float) else None
