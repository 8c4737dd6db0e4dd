"""One JSON codec: how ttvkit writes and reads JSON text.

- :func:`compact` writes properties for a store: no spaces, UTF-8 kept,
  ``NaN``/``Infinity`` refused.
- :func:`exact_json_text` writes text that every SQL engine reads back as the
  same Python value. PostgreSQL's jsonb keeps numbers as ``numeric``:
  ``1e+16`` would come back as the int ``10000000000000000``. Floats whose
  repr has an exponent are therefore written out in full with a ``.0`` (exact
  for floats that large), which jsonb keeps and ``json.loads`` reads back as
  the same float.
- :func:`canonical` is the text a content hash is taken of (sorted keys).
- :func:`pretty` writes indented JSON for people and tools (the report).
- :func:`load_json` reads text without the constants JSON does not have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, TypeVar

_T = TypeVar("_T")

__all__ = [
    "canonical",
    "compact",
    "exact_json_text",
    "from_numpy",
    "json_key",
    "load_json",
    "pretty",
]

compact: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_pretty: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=2).encode
_canonical: Final = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":")
).encode


def from_numpy(value: object) -> object:
    """A NumPy bool, integer or float scalar as the Python value it holds
    (``np.int64(3)`` is ``3``, ``np.True_`` is ``True``); anything else as it is.

    What ``df["seats"].max()`` gives: the one place ttvkit reads such scalars as
    the JSON values they hold, without importing NumPy.
    """
    if type(value).__module__ != "numpy":
        return value
    dtype = getattr(value, "dtype", None)
    if getattr(value, "ndim", None) == 0 and getattr(dtype, "kind", None) in ("b", "i", "u", "f"):
        plain = value.item()  # type: ignore[attr-defined]  # a NumPy scalar, checked above
        # (a longdouble's item() is a longdouble again: not a Python number)
        return plain if type(plain) in (bool, int, float) else value
    return value


def json_key(value: _T) -> tuple[bool, _T]:
    """*value* as JSON tells scalars apart, for ``==``, hashing and lookups: ``1`` and
    ``1.0`` are one number, but ``True`` is not ``1`` (nor ``False`` ``0``).

    The one rule for group labels and condition values.
    """
    return (isinstance(value, bool), value)


def pretty(value: object) -> str:
    """*value* as indented JSON for people and tools (strict: no NaN)."""
    return _pretty(value)


def canonical(value: object) -> str:
    """*value* as JSON with sorted keys: equal values give equal text."""
    return _canonical(value)


def exact_json_text(value: object) -> str:
    """*value* as JSON text that every engine reads back as the same value."""
    text = compact(value)
    # "e+" only appears in the repr of a large float, or inside some string;
    # the slow path is exact in both cases.
    return _exact(value) if "e+" in text else text


def _exact(value: object) -> str:
    if isinstance(value, float):
        text = repr(value)
        return f"{value:.1f}" if "e+" in text else text
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{compact(key)}:{_exact(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_exact(item) for item in value) + "]"
    return compact(value)


def _non_json_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def load_json(text: str) -> Any:
    """``json.loads`` without the constants JSON does not have (NaN, Infinity).

    Raises ``ValueError`` (``json.JSONDecodeError`` for bad syntax) or
    ``RecursionError``.
    """
    return json.loads(text, parse_constant=_non_json_constant)
