"""The types of the command-line options: each turns text into a value or says what is wrong.

A bad value raises ``argparse.ArgumentTypeError``, which the parser prints as
the command's one-line usage error.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, tzinfo

from ttvkit.conditions import Condition, event
from ttvkit.config import parse_columns, parse_duration, parse_timezone
from ttvkit.errors import ConfigurationError, InvalidEventError
from ttvkit.io import ColumnMapping
from ttvkit.io.values import check_delimiter, check_encoding, to_utc

__all__ = [
    "PERIODS",
    "as_of",
    "by",
    "columns",
    "duration",
    "names",
    "number",
    "positive_int",
    "seed",
    "timezone",
    "where",
]


def as_of(value: str) -> datetime:
    try:
        # The readers' conversion: the value is shown as given, and text out of
        # range gets no hint about units (only numbers have one).
        return to_utc(value, None, None)
    except InvalidEventError as exc:
        # The message starts "timestamp='...': "; say it once, in argparse's words.
        problem = str(exc).partition(": ")[2] or str(exc)
        raise argparse.ArgumentTypeError(f"{value!r} {problem}") from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 1")
    return number


def seed(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 0")
    return number


def by(value: str) -> str | Condition:
    """``PROP`` (a property of the start event) or ``event:NAME`` (an intervention)."""
    if value.startswith("event:"):
        name = value.removeprefix("event:")
        if not name.strip():
            raise argparse.ArgumentTypeError("event: needs an event name, e.g. event:tutorial")
        return event(name)
    if not value.strip():
        raise argparse.ArgumentTypeError("name a property of the start event, e.g. plan")
    return value


def columns(value: str) -> ColumnMapping:
    """``user=distinct_id,name=event,timestamp=time`` as a column mapping; a column
    name in quotes (``name=" name"``) keeps the spaces inside them."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        field, sep, column = part.partition("=")
        if not sep or not field.strip():
            raise argparse.ArgumentTypeError(
                f"{part!r} is not FIELD=COLUMN; write e.g. user=distinct_id,name=event,"
                "timestamp=time"
            )
        column = column.strip()
        if len(column) >= 2 and column[0] == column[-1] and column[0] in "'\"":
            column = column[1:-1]  # quoted: its spaces kept (' name' after "a, name")
        fields[field.strip()] = column
    try:
        return parse_columns(fields, "--columns")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--columns: ")) from None


def _scalar(text: str) -> str | int | float | bool:
    """A --where value: a number or true/false when it reads as one, else the text."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if number == number and abs(number) != float("inf") else text
    return text


def where(value: str) -> tuple[str, str | int | float | bool]:
    key, sep, text = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE; write e.g. plan=pro")
    return key.strip(), _scalar(text)


def duration(value: str) -> timedelta:
    try:
        return parse_duration(value, "--window")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--window: ")) from None


def timezone(value: str) -> tzinfo:
    try:
        return parse_timezone(value, "--timezone")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--timezone: ")) from None


def encoding(value: str) -> str:
    try:
        return check_encoding(value)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"encoding={value!r}: ")) from None


def delimiter(value: str) -> str:
    """One character; a tab also as ``\\t`` or ``tab``."""
    try:
        return check_delimiter(value)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"delimiter={value!r}: ")) from None


def names(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("name at least one property, e.g. plan,$browser")
    return names


def number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or abs(number) == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number")
    return number


PERIODS = ("day", "week", "month", "quarter", "year", "none")
