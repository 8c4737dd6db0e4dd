"""``sqlite://`` URLs: the file (or memory) a URL names, and its options."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, unquote

import attrs

from ttvkit.errors import ConfigurationError

__all__ = ["SQLiteURL", "parse_url"]


@attrs.frozen
class SQLiteURL:
    """What a ``sqlite://`` URL asks for: :class:`~ttvkit.stores.sqlite.SQLiteStore`'s arguments."""

    path: str
    timeout: float
    synchronous: Literal["FULL", "NORMAL"]
    read_only: bool
    immutable: bool


def parse_url(url: str) -> SQLiteURL:
    """What a ``sqlite://`` URL names; :class:`~ttvkit.errors.ConfigurationError` if it is bad.

    ``sqlite:///relative/ttv.db`` (relative to the working directory),
    ``sqlite:////var/lib/ttv.db`` (absolute), ``sqlite://`` or
    ``sqlite:///:memory:`` (in memory). Options go in the query string:
    ``?timeout=5&synchronous=NORMAL``; ``?mode=ro`` opens the file
    read-only and ``?mode=ro&immutable=1`` also as a file nothing changes
    (for a file on a read-only file system; see the class docstring).
    ``%xx`` escapes in the path are decoded, so a file name may contain
    ``?`` or ``#`` as ``%3F``/``%23``.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"store URL {url!r}: must be a str like 'sqlite:///ttv.db'")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "sqlite":
        raise ConfigurationError(
            f"store URL {url!r}: expected 'sqlite:///relative.db', "
            "'sqlite:////absolute/path.db' or 'sqlite://' (in memory)"
        )
    location, _, query = rest.partition("?")
    if "#" in location or "#" in query:
        raise ConfigurationError(f"store URL {url!r}: a '#' in a file name must be written as %23")
    if location and not location.startswith("/"):
        raise ConfigurationError(
            f"store URL {url!r}: SQLite URLs have no host; write 'sqlite:///{location}' "
            f"for a relative path or 'sqlite:////{location}' for an absolute one"
        )
    path = unquote(location[1:]) if location else ":memory:"
    if not path:
        raise ConfigurationError(
            f"store URL {url!r}: no file name; use 'sqlite:///ttv.db', or 'sqlite://' "
            "for an in-memory database"
        )
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise ConfigurationError(
            f"store URL {url!r}: bad options ({exc}); write ?timeout=5&synchronous=NORMAL"
        ) from None
    options = {key.lower(): value for key, value in pairs}
    timeout = 30.0
    synchronous = "FULL"
    read_only = immutable = False
    for key, value in options.items():
        if key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise ConfigurationError(
                    f"store URL {url!r}: timeout={value!r} is not a number of seconds"
                ) from None
        elif key == "synchronous":
            synchronous = value.upper()
            if synchronous not in ("FULL", "NORMAL"):
                raise ConfigurationError(
                    f"store URL {url!r}: synchronous={value!r} must be FULL or NORMAL"
                )
        elif key == "mode":
            if value.lower() not in ("ro", "rwc"):
                raise ConfigurationError(
                    f"store URL {url!r}: mode={value!r} must be ro (read-only) or rwc "
                    "(the default: read, write, create)"
                )
            read_only = value.lower() == "ro"
        elif key == "immutable":
            if value not in ("0", "1"):
                raise ConfigurationError(f"store URL {url!r}: immutable={value!r} must be 1 or 0")
            immutable = value == "1"
        else:
            raise ConfigurationError(
                f"store URL {url!r}: unknown option {key!r}; the options are "
                "timeout, synchronous, mode and immutable"
            )
    return SQLiteURL(
        path,
        timeout,
        synchronous,  # type: ignore[arg-type]  # checked above
        read_only,
        immutable,
    )
