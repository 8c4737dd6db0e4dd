"""Telling a file's layout from its content: ttvkit's own columns, a PostHog, Segment,
Mixpanel or Amplitude export, or columns that need a mapping."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
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

    Looks at the first *rows* rows: a column is named when some of its cells are
    numbers such as ``3,5`` and none a number with a decimal point (``3.5``), the
    columns :func:`read_csv` reads as numbers with ``decimal=","`` and as text by
    default. Unreadable files name none (the reader then says what is wrong).
    """
    seen: dict[str, bool] = {}
    pointed: set[str] = set()
    try:
        with open_text(os.fspath(path), "r", encoding=encoding, newline="") as file:
            reader = csv.reader(file, delimiter=delimiter)
            header = next(reader, [])
            for row in itertools.islice(reader, rows):
                for column, cell in zip(header, row, strict=False):
                    if comma_number(cell):
                        seen[column] = True
                    elif "." in cell and isinstance(infer_scalar(cell), float):
                        pointed.add(column)
    except (OSError, UnicodeError, LookupError, EOFError, zlib.error, csv.Error):
        return ()
    return tuple(c for c in seen if c not in pointed)
