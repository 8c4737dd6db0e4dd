"""The reader's path: an input the engine cannot vouch for, read by ttvkit.io into DuckDB."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import attrs

from ttvkit._ids import content_id
from ttvkit.events import (
    ValueEvent,
    new_event_id,
)
from ttvkit.io import (
    MAX_REPORTED_ERRORS,
    EventReader,
    ReadError,
)

if TYPE_CHECKING:
    from ttvkit.stores.duckdb import DuckDBStore


_CHUNK: Final = 50_000


class MadeUpSince:
    """Tells the ids :func:`~ttvkit.events.new_event_id` made in this process since now.

    Such an id is a random per-process prefix of 20 hex characters and a
    counter of 12; an id read from a file that this process wrote earlier has
    the same prefix but a smaller counter.
    """

    def __init__(self) -> None:
        first = new_event_id()
        self._prefix = first[:20]
        self._after = int(first[20:], 16)
        self._before: int | None = None
        #: The ids from content that replaced made-up ones (see :func:`load_events`).
        self.from_content: set[str] = set()

    def stop(self) -> None:
        """From now on, ids made later are not counted."""
        self._before = int(new_event_id()[20:], 16)

    def __call__(self, event_id: str) -> bool:
        if len(event_id) != 32 or not event_id.startswith(self._prefix):
            return False
        try:
            counter = int(event_id[20:], 16)
        except ValueError:
            return False
        return self._after < counter and (self._before is None or counter < self._before)

    def made(self, event_id: str) -> bool:
        """Whether *event_id* was made here: by the readers, or from a row's content
        in place of one they made."""
        return event_id in self.from_content or self(event_id)


def content_event(event: ValueEvent) -> ValueEvent:
    """*event* with the id of its content (:func:`ttvkit._ids.content_id`)."""
    return attrs.evolve(event, event_id=content_id(event))


def load_events(
    store: DuckDBStore, readers: Iterable[EventReader], content_ids: MadeUpSince | None
) -> tuple[int, int, tuple[ReadError, ...]]:
    """Read every reader into *store*; return the rows read as events, the rows
    skipped and the first errors.

    With *content_ids*, an event whose id the reader made up gets one from its content,
    which *content_ids* remembers.
    """
    rows = skipped = 0
    errors: list[ReadError] = []
    for reader in readers:
        batch: list[ValueEvent] = []
        for event in reader:
            if content_ids is not None and content_ids(event.event_id):
                event = content_event(event)
                content_ids.from_content.add(event.event_id)
            batch.append(event)
            rows += 1
            if len(batch) >= _CHUNK:
                store.append(batch)
                batch = []
        if batch:
            store.append(batch)
        skipped += reader.skipped
        errors.extend(reader.errors)
    return rows, skipped, tuple(errors[:MAX_REPORTED_ERRORS])
