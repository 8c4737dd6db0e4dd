"""Names of a package imported on first use (PEP 562), so importing it costs milliseconds.

``import ttvkit`` used to import every analysis, store and reader (about half a
second): a web app importing :class:`~ttvkit.Tracker` paid for all of them, and
a Ctrl-C while the ``ttvkit`` command was starting printed a traceback from
the middle of an import, before the command could handle it. A package lists
its public names and the modules that define them; :func:`lazy_names` gives
the ``__getattr__`` and ``__dir__`` that import a module when one of its names
is first asked for. Type checkers read the same names from the package's
``if TYPE_CHECKING:`` imports (a test holds the two lists together).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str,
    names: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    submodules: Collection[str] = (),
    computed: Mapping[str, Callable[[], object]] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for *package*, whose *namespace* is its ``globals()``.

    *names* maps each public name to the module that defines it;
    *submodules* are public names that are modules of the package
    (``"stats"``); *computed* maps names to functions that make their values
    (``__version__``). Each value is kept in *namespace* once made, so later
    lookups are plain attribute reads.
    """
    extra = dict(computed or {})
    modules = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in modules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in extra:
            value = extra[name]()
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names, *modules, *extra})

    return __getattr__, __dir__
