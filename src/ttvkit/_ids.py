"""Event ids for rows that have none: the content id, and telling a made-up id.

A reader gives a row without an ``event_id`` a fresh one from
:func:`ttvkit.events.new_event_id`. ``ttvkit import`` and ``ttvkit report``
replace such an id with :func:`content_id`, a hash of the event's content, so
that importing the same file twice stores nothing the second time. Stores keep
these ids: the formula must never change, or a re-import would store every row
again. It is written here once; every place that derives an id from content
calls :func:`content_id`.
"""

from __future__ import annotations

import hashlib

from ttvkit import events as _events
from ttvkit._json import canonical
from ttvkit.events import ValueEvent

__all__ = ["content_id", "made_up_here"]


def content_id(event: ValueEvent) -> str:
    """A deterministic event id from the event's content: user, account, name,
    timestamp (to the microsecond, UTC) and properties.

    ``"c"`` and the first 31 hex digits of the SHA-256 of the canonical JSON
    (sorted keys, no spaces, UTF-8) of :meth:`ValueEvent.to_dict` without its
    ``event_id``. Events identical in every field get the same id: they are
    taken as one event sent twice.
    """
    content = event.to_dict()
    del content["event_id"]
    return "c" + hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()[:31]


def made_up_here(event_id: str) -> bool:
    """Whether *event_id* was made up by this process (the input had none).

    :func:`~ttvkit.events.new_event_id` makes a random per-process prefix and
    a counter, so an id with this process's prefix cannot come from a file
    (the prefix is read at each call: a forked child has a new one).
    """
    return event_id.startswith(_events._id_prefix) and len(event_id) == 32
