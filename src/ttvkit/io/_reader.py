"""The reader object and its errors: what every format's reader returns and raises.

A format module yields *items* (events, :class:`ReadError` objects for bad
rows, :data:`IGNORED` for input passed over on purpose); :class:`EventReader`
decides whether to raise or to skip and count them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, Final, Literal, TypeAlias

import attrs

from ttvkit.errors import ConfigurationError, InvalidEventError
from ttvkit.events import ValueEvent

__all__ = [
    "IGNORED",
    "MAX_REPORTED_ERRORS",
    "EventReader",
    "Item",
    "Location",
    "OnError",
    "ReadError",
    "source_name",
]

OnError: TypeAlias = Literal["raise", "skip"]

#: How many skipped rows an :class:`EventReader` keeps as examples in ``errors``.
MAX_REPORTED_ERRORS: Final = 100


class ReadError(InvalidEventError):
    """A row of input could not be read as a value event, or the input's layout is wrong.

    The message names the source, the place (``line`` for text files, 1-based and
    counting the header; ``row`` for tables and JSON arrays, 0-based) and the column or
    key. The same facts are attributes, ``None`` where they do not apply. A
    :class:`~ttvkit.errors.InvalidEventError`, so code that already catches that
    keeps working.

    ``skippable`` is true for a bad row, which ``on_error="skip"`` would have
    skipped, and false for an error in the input as a whole (a missing column, a
    truncated ``.gz`` file, a damaged Parquet file), which always stops the reading.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "<input>",
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
        skippable: bool = False,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.row = row
        self.column = column
        self.skippable = skippable

    def reworded(self, message: str) -> ReadError:
        """The same error (its source, place, column, ``skippable``) told with *message*:
        for a caller that adds what it knows, such as how to pass an option."""
        return ReadError(
            message,
            source=self.source,
            line=self.line,
            row=self.row,
            column=self.column,
            skippable=self.skippable,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the attributes across pickling (multiprocessing, caching).
        kwargs = {
            "source": self.source,
            "line": self.line,
            "row": self.row,
            "column": self.column,
            "skippable": self.skippable,
        }
        return (_rebuild_read_error, (str(self), kwargs))


def _rebuild_read_error(message: str, kwargs: dict[str, Any]) -> ReadError:
    return ReadError(message, **kwargs)


@attrs.frozen
class Location:
    """Where a row is, for messages: a line of a text file or a row of a table."""

    source: str
    line: int | None = None
    row: int | None = None
    #: what the input calls a column: "column" in tables, "key" in JSON
    noun: str = "column"

    def error(self, problem: str, column: str | None = None) -> ReadError:
        where = self.source
        if self.line is not None:
            where += f" line {self.line}"
        elif self.row is not None:
            where += f" row {self.row}"
        if column is not None:
            where += f', {self.noun} "{column}"'
        return ReadError(
            f"{where}: {problem}",
            source=self.source,
            line=self.line,
            row=self.row,
            column=column,
        )


class Ignored:
    """Yielded for input a reader passes over on purpose (a Segment identify call)."""


IGNORED: Final = Ignored()
Item: TypeAlias = "ValueEvent | ReadError | Ignored"


class EventReader:
    """The value events read from one source: iterate it, then look at what was skipped.

    Reading is lazy and streams: nothing is read until you iterate, and a large file
    is never held in memory. A reader over a path or a DataFrame can be iterated again
    (it reads the source afresh and resets the counts); one over an open file object
    can be iterated once.

    With ``on_error="raise"`` the first bad row raises :class:`ReadError` (events
    before it were already yielded). With ``on_error="skip"`` bad rows are skipped:
    ``skipped`` counts them and ``errors`` keeps the first
    :data:`MAX_REPORTED_ERRORS` as :class:`ReadError` objects. ``ignored`` counts
    input passed over on purpose (Segment calls other than ``track``), and ``merged``
    the anonymous ids a vendor reader merged into identified users. Errors in the
    layout (a missing column) always raise, before any row is read.
    """

    __slots__ = (
        "_errors",
        "_ignored",
        "_items",
        "_merges",
        "_once",
        "_raise",
        "_read",
        "_skipped",
        "_source",
        "_started",
    )

    def __init__(
        self,
        source: str,
        items: Callable[[], Iterator[Item]],
        *,
        on_error: OnError,
        once: bool = False,
        merges: Callable[[], int] | None = None,
    ) -> None:
        self._source = source
        self._items = items
        self._merges = merges
        self._raise = _check_on_error(on_error) == "raise"
        self._once = once
        self._started = False
        self._read = 0
        self._skipped = 0
        self._ignored = 0
        self._errors: list[ReadError] = []

    @property
    def source(self) -> str:
        """The file name (or a description of the input) used in messages."""
        return self._source

    @property
    def read(self) -> int:
        """Events yielded so far by the current (or last) iteration."""
        return self._read

    @property
    def skipped(self) -> int:
        """Bad rows skipped so far (only with ``on_error="skip"``)."""
        return self._skipped

    @property
    def ignored(self) -> int:
        """Input passed over on purpose, such as Segment calls other than ``track``."""
        return self._ignored

    @property
    def merged(self) -> int:
        """Anonymous ids merged into the user they were identified as (PostHog, Segment)."""
        return 0 if self._merges is None else self._merges()

    @property
    def errors(self) -> tuple[ReadError, ...]:
        """The first :data:`MAX_REPORTED_ERRORS` skipped rows, as errors to inspect or print."""
        return tuple(self._errors)

    def __repr__(self) -> str:
        return (
            f"<EventReader {self._source}: {self._read} read, {self._skipped} skipped, "
            f"{self._ignored} ignored>"
        )

    def __iter__(self) -> Iterator[ValueEvent]:
        if self._once and self._started:
            raise ConfigurationError(
                f"{self._source} is an open file object and was read already; "
                "pass a path to read it again, or keep the events: list(reader)"
            )
        self._started = True
        self._read = self._skipped = self._ignored = 0
        self._errors = []
        return self._iterate()

    def _iterate(self) -> Iterator[ValueEvent]:
        for item in self._items():
            if type(item) is ValueEvent:
                self._read += 1
                yield item
            elif isinstance(item, ReadError):
                item.skippable = True
                if self._raise:
                    raise item
                self._skipped += 1
                if len(self._errors) < MAX_REPORTED_ERRORS:
                    self._errors.append(item)
            else:
                self._ignored += 1


def _check_on_error(value: object) -> OnError:
    if value == "raise":
        return "raise"
    if value == "skip":
        return "skip"
    raise ConfigurationError(f"on_error={value!r}: pass 'raise' or 'skip'")


def source_name(source: object) -> str:
    """How messages name *source*: the path as given, or a file object's name."""
    if isinstance(source, str | os.PathLike):
        return str(os.fspath(source))
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"<{type(source).__name__}>"
