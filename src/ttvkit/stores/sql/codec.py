"""JSON text that SQL engines read back as the same Python value.

PostgreSQL's jsonb keeps numbers as ``numeric``: ``1e+16`` would come back as
the int ``10000000000000000``. Floats whose repr has an exponent are
therefore written out in full with a ``.0`` (exact for floats that large),
which jsonb keeps and ``json.loads`` reads back as the same float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ttvkit.events import JSONValue

__all__ = ["exact_json_text"]

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def exact_json_text(value: JSONValue | Mapping[str, JSONValue]) -> str:
    """*value* as JSON text that every engine reads back as the same value."""
    text = _encode(value)
    # "e+" only appears in the repr of a large float, or inside some string;
    # the slow path is exact in both cases.
    return _exact(value) if "e+" in text else text


def _exact(value: object) -> str:
    if isinstance(value, float):
        text = repr(value)
        return f"{value:.1f}" if "e+" in text else text
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_encode(key)}:{_exact(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_exact(item) for item in value) + "]"
    return _encode(value)
