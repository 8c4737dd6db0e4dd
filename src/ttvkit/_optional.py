"""Optional dependencies: one place that imports them and names the extra.

The core needs only attrs, python-dateutil and typing-extensions. Everything
else (pandas, pyarrow, duckdb, psycopg, matplotlib, pyspark, …) is imported
here, when a feature first needs it; a missing one raises
:class:`~ttvkit.errors.MissingDependencyError` that says which
``pip install 'ttvkit[extra]'`` brings it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ttvkit.errors import MissingDependencyError

__all__ = ["missing", "require"]


def missing(module: str, extra: str, feature: str) -> MissingDependencyError:
    """The error for *feature*, which needs *module* from the ``ttvkit[extra]`` extra.

    For a module-level ``import`` that mypy must see::

        try:
            import psycopg
        except ImportError as exc:
            raise missing("psycopg", "postgres", "PostgresStore") from exc
    """
    return MissingDependencyError(
        f"{feature} needs {module.split('.')[0]}, which is not installed; "
        f"install it with: pip install 'ttvkit[{extra}]'"
    )


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import *module* for *feature*, or raise :func:`missing`'s error."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing(module, extra, feature) from exc
