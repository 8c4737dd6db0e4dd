"""Storage backends, and :func:`open_store` to pick one by URL.

============================  ==========================================  ==============
URL                           store                                       needs
============================  ==========================================  ==============
``memory://``                 :class:`MemoryStore`                        nothing
``sqlite:///path/to/ttv.db``  :class:`~ttvkit.stores.sqlite.SQLiteStore`  nothing
``sqlite://`` (no path)       an in-memory SQLite database                nothing
``postgresql://…``            ``PostgresStore``                           ``ttvkit[postgres]``
``duckdb:///ttv.duckdb``      ``DuckDBStore`` (``duckdb://``: in memory)  ``ttvkit[duckdb]``
============================  ==========================================  ==============

``sqlite:///ttv.db`` is relative to the working directory and
``sqlite:////var/lib/ttv.db`` absolute, as in SQLAlchemy. Other packages add
schemes through the ``ttvkit.stores`` entry-point group (the entry point's
name is the scheme, its value a callable taking the URL and returning a
:class:`Store`), or at run time with :func:`register_store`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

from ttvkit.errors import ConfigurationError
from ttvkit.stores._base import (
    BaseSource,
    BaseStore,
    Source,
    Store,
    appended_batch,
    event_filter,
    event_names_of,
)
from ttvkit.stores.memory import MemoryStore

__all__ = [
    "BaseSource",
    "BaseStore",
    "MemoryStore",
    "Source",
    "Store",
    "StoreFactory",
    "appended_batch",
    "event_filter",
    "event_names_of",
    "missing_methods",
    "open_store",
    "register_store",
    "shown_url",
]

StoreFactory: TypeAlias = Callable[[str], Store]

# Built-in backends, imported only when their scheme is used.
_BUILTIN: dict[str, str] = {
    "memory": "ttvkit.stores.memory:MemoryStore.from_url",
    "sqlite": "ttvkit.stores.sqlite:SQLiteStore.from_url",
    "postgresql": "ttvkit.stores.postgres:PostgresStore.from_url",
    "postgres": "ttvkit.stores.postgres:PostgresStore.from_url",
    "duckdb": "ttvkit.stores.duckdb:DuckDBStore.from_url",
}
_registered: dict[str, StoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make ``open_store("SCHEME://...")`` call *factory* with the URL."""
    if not _is_scheme(scheme):
        raise ConfigurationError(f"scheme {scheme!r}: use letters, digits, '+' or '-'")
    _registered[scheme.lower()] = factory


def _is_scheme(name: str) -> bool:
    """Whether *name* can be a store URL's scheme: letters, digits, '+' and '-'."""
    return bool(name) and name.replace("+", "").replace("-", "").isalnum()


def _entry_points() -> list[EntryPoint]:
    """The ``ttvkit.stores`` entry points whose names can be a scheme (others are never
    asked for: a URL's scheme cannot be ``my_store``)."""
    return [ep for ep in entry_points(group="ttvkit.stores") if _is_scheme(ep.name)]


def _resolve(target: str) -> StoreFactory:
    module_name, _, attr_path = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigurationError(f"{target} is not callable")
    return obj  # type: ignore[return-value,unused-ignore]  # a factory by contract


def _factory(scheme: str) -> StoreFactory | None:
    if scheme in _registered:
        return _registered[scheme]
    if scheme in _BUILTIN:
        return _resolve(_BUILTIN[scheme])
    for ep in _entry_points():
        if ep.name.lower() == scheme:
            return _loaded(ep)
    return None


def _loaded(ep: EntryPoint) -> StoreFactory:
    """The factory a ``ttvkit.stores`` entry point names, or a ConfigurationError naming it."""
    where = f"the 'ttvkit.stores' entry point {ep.name} = {ep.value!r}"
    if ep.dist is not None:
        where += f" of the package {ep.dist.name}"
    try:
        loaded = ep.load()
    except Exception as exc:
        raise ConfigurationError(
            f"{where} could not be loaded ({type(exc).__name__}: {exc}); reinstall or fix "
            "that package, or uninstall it"
        ) from exc
    if not callable(loaded):
        raise ConfigurationError(
            f"{where} is a {type(loaded).__name__}, not a factory that takes the URL; "
            "fix that package"
        )
    return loaded  # type: ignore[no-any-return]  # entry points are untyped


_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|sslpassword)=)[^&#]*")


def shown_url(url: str) -> str:
    """*url* with its password (``user:PASSWORD@host``, ``?password=...``) replaced by
    ``***``: what messages and outputs show of a store URL.

    Made for URLs that may be malformed (the message is often about that), so it
    works on the text, not on a parse: the secret is what lies between the first
    ``:`` of the part before the last ``@`` of the authority and that ``@``.
    """
    head, sep, rest = url.partition("://")
    if sep:
        authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
        at = rest.rfind("@", 0, authority_end)
        if at < 0 < authority_end:  # a raw '/' or '#' in a password ends the authority early
            at = rest.rfind("@", 0, rest.find("?") if "?" in rest else len(rest))
        if at >= 0 and ":" in rest[:at]:
            user = rest[:at].split(":", 1)[0]
            rest = f"{user}:***{rest[at:]}"
        url = f"{head}{sep}{rest}"
    return _QUERY_SECRET.sub(r"\1***", url)


def _check_url_text(url: str) -> None:
    """Refuse what no backend can open: a NUL (raw or ``%00``) or text that is not Unicode."""
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"store URL {shown_url(url)!r}: contains a lone surrogate (bytes that are not UTF-8); "
            "percent-encode the file name as UTF-8, or rename the file"
        ) from None
    if "\x00" in url or "\x00" in unquote(url):
        raise ConfigurationError(
            f"store URL {shown_url(url)!r}: contains a NUL character (or %00), which no file name, "
            "host or database name can hold; remove it"
        )
    try:
        urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket, say
        raise ConfigurationError(
            f"store URL {shown_url(url)!r}: is not a valid URL ({exc})"
        ) from None


def open_store(url: str) -> Store:
    """Open the store a URL names (see the table in this module's docstring).

    A URL holding a NUL character (also as ``%00``) or a lone surrogate, or one
    that is not a URL at all (``postgresql://[::1/db``), is a
    :class:`~ttvkit.errors.ConfigurationError` for every scheme.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(
            f"store URL {shown_url(url) if isinstance(url, str) else url!r}: expected "
            "SCHEME://..., e.g. 'sqlite:///ttv.db', "
            "'memory://' or 'postgresql://user@host/db'"
        )
    _check_url_text(url)
    scheme = url.split("://", 1)[0].lower()
    factory = _factory(scheme)
    if factory is None:
        known = sorted({*_BUILTIN, *_registered, *(ep.name.lower() for ep in _entry_points())})
        raise ConfigurationError(
            f"store URL {shown_url(url)!r}: unknown scheme {scheme!r}; "
            f"known schemes: {', '.join(known)}"
        )
    store = factory(url)
    if not isinstance(store, Source):
        raise ConfigurationError(
            f"store URL {shown_url(url)!r}: the factory of scheme {scheme!r} returned "
            f"{type(store).__name__}, not a store (no {', '.join(missing_methods(store))}); fix "
            "the factory registered for it"
        )
    return store


def missing_methods(value: object) -> list[str]:
    """The methods of the :class:`Source` protocol that *value* lacks, as ``"name()"``."""
    names = ("observations", "latest_timestamp", "close", "__enter__", "__exit__")
    return [f"{name}()" for name in names if not callable(getattr(value, name, None))]
