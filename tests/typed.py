"""Compare what a store gives back with its types: ``True == 1 == 1.0`` must not pass.

Python's ``==`` holds ``True``, ``1`` and ``1.0`` equal, in a property value as
anywhere, so ``list(store.events()) == events`` would not notice a store that
turned ``true`` into ``1``. :func:`typed` puts the type beside every value
(inside events, observations, columns, ``to_dict()`` answers and plain
containers), and the tests compare ``typed(got) == typed(expected)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["typed"]


def typed(value: object) -> object:
    """*value* with every scalar replaced by ``(type name, value)``, recursively."""
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (
            type(value).__name__,
            tuple((f.name, typed(getattr(value, f.name))) for f in fields),
        )
    if isinstance(value, Mapping):
        return ("mapping", {typed(k): typed(v) for k, v in value.items()})
    if isinstance(value, list | tuple):  # JSON arrays come back as lists: the same
        return ("sequence", tuple(typed(v) for v in value))
    return (type(value).__name__, value)
