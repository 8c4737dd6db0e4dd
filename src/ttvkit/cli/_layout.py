"""What the start of a CSV file says about how to read it: the delimiter its header
shows, and the decimal mark its rows' numbers are written with (said in notes).

The command line reads a file so when the options and the configuration say
nothing; files read together (a directory, a glob) get one delimiter and one
decimal mark.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ttvkit.cli._output import note
from ttvkit.cli._reading import Reading
from ttvkit.errors import ConfigurationError
from ttvkit.io import Sniffed, decimal_commas, format_of_name, sniff
from ttvkit.io.values import delimiter_in, delimiter_of_name

__all__ = ["looked_at", "one_decimal", "one_delimiter", "shown_delimiter"]


def looked_at(
    path: str, fmt: str | None, reading: Reading, facts: list[tuple[str, str | int]]
) -> tuple[Reading, Sniffed]:
    """What the start of *path* (read as *fmt*, from its name) shows: its fields, and
    for a CSV file whose header is one column that a semicolon, a tab or ``|`` splits,
    that delimiter, and for a CSV file whose rows hold numbers with a decimal comma,
    that mark (see :func:`_looked_at_decimals`), in the *reading* returned (said on
    stderr and in *facts*) when none was given."""
    other, sniffed = _found_delimiter(path, fmt, reading)
    if other is not None:
        shown = shown_delimiter(other)
        note(f"{path} has its columns separated by {shown}; reading it so (--delimiter {shown})")
        facts.append(("delimiter", "tab" if other == "\t" else other))
        reading = attrs.evolve(reading, delimiter=other)
    vendor = reading.mapping is None and sniffed.format is not None  # read as the vendor's
    if fmt == "csv" and reading.decimal is None and not vendor:
        reading = _looked_at_decimals(path, reading, facts)
    return reading, sniffed


def _looked_at_decimals(path: str, reading: Reading, facts: list[tuple[str, str | int]]) -> Reading:
    """*reading* with ``decimal=","`` when *path*'s first rows hold numbers written with a
    decimal comma and its columns are not separated by commas (said in a note); with
    commas, only the note, as ``1,5`` there may be a number of another writing."""
    columns = _decimal_columns(path, reading)
    if not columns:
        return reading
    reading, told = _decimals_found(path, columns, reading, facts)
    note(told)
    return reading


def _decimal_columns(path: str, reading: Reading) -> tuple[str, ...]:
    used = reading.delimiter or delimiter_of_name(path)
    return decimal_commas(path, encoding=reading.encoding or "utf-8-sig", delimiter=used)


def _decimals_found(
    path: str, columns: Sequence[str], reading: Reading, facts: list[tuple[str, str | int]]
) -> tuple[Reading, str]:
    """*reading*, with ``decimal=","`` where *path*'s *columns* of numbers with a decimal
    comma are read so (see :func:`_looked_at_decimals`), and the note that says it."""
    used = reading.delimiter or delimiter_of_name(path)
    named = ", ".join(repr(c) for c in columns[:3]) + (", ..." if len(columns) > 3 else "")
    which = f"column {named} holds" if len(columns) == 1 else f"columns {named} hold"
    if not reading.guess_decimal:
        return reading, (
            f"{path}: {which} numbers written with a decimal comma (3,5), imported as "
            "text; pass --decimal , (or [input] decimal) to import them as numbers (import "
            "guesses no decimal mark: the ids it makes from an event's content depend on it)"
        )
    if used == ",":
        return reading, (
            f"{path}: {which} numbers written with a decimal comma (3,5), read "
            "as text (total() skips them); pass --decimal , to read them as numbers"
        )
    facts.append(("decimal mark", ","))
    return attrs.evolve(reading, decimal=","), (
        f"{path}: {which} numbers written with a decimal comma (3,5); reading "
        "them as numbers (--decimal ,; pass --decimal . to keep them text)"
    )


def _found_delimiter(path: str, fmt: str | None, reading: Reading) -> tuple[str | None, Sniffed]:
    """The delimiter *path*'s header shows (None: the given one, or its name's) and
    its fields read with the delimiter it is to be read with."""
    encoding = reading.encoding or "utf-8-sig"
    used = reading.delimiter or delimiter_of_name(path)
    sniffed = sniff(path, fmt or "jsonl", encoding=encoding, delimiter=used)
    other = delimiter_in(sniffed.fields, used) if fmt == "csv" and not reading.delimiter else None
    if other is None:
        return None, sniffed
    split = sniff(path, fmt, encoding=encoding, delimiter=other)
    if len(split.fields) < 2:  # one quoted cell holding the delimiter: not the file's
        return None, sniffed
    return other, split


def shown_delimiter(delimiter: str) -> str:
    """A delimiter as the command line takes it: ``';'``, or ``tab``."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def one_delimiter(source: str, files: Sequence[str], reading: Reading) -> Reading:
    """*reading* with the delimiter the CSV *files*' headers show, when one other than
    their names' (said in a note); files whose headers show different ones are an error
    naming two of them, as no one delimiter reads them all."""
    found: dict[str, str] = {}
    detected = False
    for path in files:
        if (reading.input_format or format_of_name(path)) == "csv":
            other, _ = _found_delimiter(path, "csv", reading)
            detected = detected or other is not None
            found.setdefault(other or delimiter_of_name(path), path)
    if not detected:  # each file read with its name's delimiter (a tab for .tsv)
        return reading
    if len(found) > 1:
        (a, first), (b, second) = list(found.items())[:2]
        raise ConfigurationError(
            f"the files of {source} have their columns separated differently: {first} by "
            f"{shown_delimiter(a)}, {second} by {shown_delimiter(b)}; read them apart, or "
            "save them alike"
        )
    ((delimiter, first),) = found.items()
    shown = shown_delimiter(delimiter)
    note(
        f"{source}: {first} has its columns separated by {shown}; reading the files so "
        f"(--delimiter {shown})"
    )
    return attrs.evolve(reading, delimiter=delimiter)


def one_decimal(files: Sequence[str], reading: Reading) -> tuple[Reading, str | None]:
    """*reading* with the decimal mark the CSV *files* read together show, and the note
    that says it (None: none shows one, or one was given): the first file whose rows
    hold numbers with a decimal comma decides, as a single file's would."""
    if reading.decimal is not None:
        return reading, None
    for path in files:
        if (reading.input_format or format_of_name(path)) == "csv":
            columns = _decimal_columns(path, reading)
            if columns:
                return _decimals_found(path, columns, reading, [])
    return reading, None
