"""Rows of the SQLite store read back as events, and the checks of a file changed by hand.

Every row ttvkit writes decodes; a row edited outside ttvkit may hold a
missing name, a ``ts`` that is not integer microseconds, or properties that
are not a JSON object. Reading such a row raises a
:class:`~ttvkit.errors.StoreError` that names it; :func:`check_all` (behind
``SQLiteStore.check()`` and ``ttvkit check``) lists every problem.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Final

from ttvkit.errors import InvalidEventError, StoreError
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.observations import from_micros

__all__ = [
    "check_all",
    "event_from_row",
    "latest_micros",
    "names_problem",
    "row_problem",
    "shown",
]

# Cheap (index seeks and a count of the small name table): ttv_names is dense
# (ids 1..N, as interning never deletes) and every name id in ttv_events is in
# it. A name row deleted by hand fails this, where a query joining on names
# would silently lose that name's events.
_NAMES_SUMMARY: Final = (
    "SELECT (SELECT COUNT(*) FROM ttv_names), (SELECT MAX(id) FROM ttv_names), "
    "(SELECT MIN(name_id) FROM ttv_events), (SELECT MAX(name_id) FROM ttv_events)"
)


def latest_micros(connection: sqlite3.Connection) -> int | None:
    """The latest ``ts``, after checking (cheaply, by two index seeks) that the earliest
    and the latest are timestamps: a text or out-of-range ``ts`` sorts to one end."""
    earliest, latest = connection.execute(
        "SELECT (SELECT MIN(ts) FROM ttv_events), (SELECT MAX(ts) FROM ttv_events)"
    ).fetchone()
    if latest is None:
        return None
    for ts in (earliest, latest):
        try:
            if type(ts) is not int:
                raise TypeError
            from_micros(ts)
        except (TypeError, OverflowError):
            raise StoreError(
                f"the SQLite file is damaged: ttv_events holds a ts of {shown(ts)}, not "
                "integer microseconds within datetime's range; run 'ttvkit check' on it to "
                "find the row"
            ) from None
    return int(latest)


def event_from_row(row: tuple[str, str, int, str | None, str | None, str]) -> ValueEvent:
    """The event a row holds; ValueError (or TypeError, OverflowError) for a row that
    does not hold one (a file changed by hand): its name missing, a ``ts`` that is
    not integer microseconds in range, ``properties`` that are not a JSON object."""
    user_id, name, ts, properties, account_id, event_id = row
    if name is None:
        raise _RowProblem("its name_id has no row in ttv_names")
    decoded = json.loads(properties) if properties is not None else {}
    if type(decoded) is not dict:
        raise _RowProblem(f"properties hold a JSON {type(decoded).__name__}, not an object")
    return trusted_event(user_id, name, from_micros(ts), decoded, account_id, event_id)


def shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


class _RowProblem(ValueError):
    """A row that holds no event, found by event_from_row's own checks."""


def row_problem(row: Sequence[object], exc: Exception) -> str:
    """What is wrong with a row that does not decode, in words."""
    if isinstance(exc, _RowProblem):
        return str(exc)
    if isinstance(exc, json.JSONDecodeError):
        return f"properties are not valid JSON: {exc.msg} at character {exc.pos}"
    if isinstance(exc, RecursionError):
        return "properties are nested too deeply to read"
    if isinstance(exc, TypeError | OverflowError):
        return f"ts is {shown(row[2])}, not integer microseconds within datetime's range"
    return f"properties cannot be read: {exc}"


def check_all(connection: sqlite3.Connection, problems: list[str], limit: int) -> None:
    """SQLiteStore.check()'s work: add what is wrong to *problems*, up to *limit*."""
    for (line,) in connection.execute(f"PRAGMA integrity_check({int(limit)})"):
        if line != "ok":
            problems.append(f"integrity_check: {line}")
    if problems:  # a damaged b-tree: reading on could fail anywhere
        return
    names = names_problem(connection)
    if names is not None:
        problems.append(names)
    rows = connection.execute(
        "SELECT e.user_id, n.name, e.ts, e.properties, e.account_id, e.event_id, e.rowid "
        "FROM ttv_events AS e LEFT JOIN ttv_names AS n ON n.id = e.name_id ORDER BY e.rowid"
    )
    for row in rows:
        if len(problems) >= limit:
            return
        problem = _invalid_row(row)
        if problem is not None:
            problems.append(f"row {row[6]} (event_id {shown(row[5])}): {problem}")


def _invalid_row(row: Sequence[object]) -> str | None:
    """What is wrong with a row of ttv_events (a file changed by hand), or None."""
    user_id, name, ts, properties, account_id, event_id = row[:6]
    try:
        event = event_from_row(row[:6])  # type: ignore[arg-type]  # checked below
        ValueEvent(user_id, name, event.timestamp, event.properties, account_id, event_id)
    except InvalidEventError as exc:
        return str(exc)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return row_problem(row, exc)
    if type(ts) is not int:
        return f"ts is {shown(ts)}, not integer microseconds"
    if properties is not None and not isinstance(properties, str):
        return f"properties is {shown(properties)}, not JSON text"
    return None


def names_problem(connection: sqlite3.Connection) -> str | None:
    """What is wrong with ttv_names, found cheaply; None when nothing is."""
    count, top, lowest, highest = connection.execute(_NAMES_SUMMARY).fetchone()
    if lowest is None:
        return None  # no events
    if type(lowest) is not int or type(highest) is not int:
        return "ttv_events.name_id holds something other than an integer"
    top = top or 0
    if lowest < 1 or highest > top:
        return "some events have a name_id with no row in ttv_names"
    if count != top:
        return f"ttv_names has {count:,} rows but ids up to {top:,}: some names were deleted"
    return None
