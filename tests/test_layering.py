"""No package of ttvkit reaches into another's private modules or names.

What a built-in store, source or the tracker needs from elsewhere in ttvkit is
public (``ttvkit.io.values``, ``ttvkit.stores.deadline``, ``ttvkit.stores.sql``,
``ttvkit.events.checked_event``), so a store written outside ttvkit can do what
they do (issue 8: "no store imports a private name").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ttvkit

SOURCE = Path(ttvkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(module: str) -> bool:
    return (SOURCE.parent / module.replace(".", "/") / "__init__.py").exists()


def _private_owner(module: str) -> str | None:
    """The package whose own modules alone may import *module*, if it is private.

    ``ttvkit.io._values`` belongs to ``ttvkit.io``; ``ttvkit._json`` to all of ttvkit.
    """
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _name_owner(module: str) -> str:
    """Who may import a private name defined in *module*: its package's modules
    (a module directly under ``ttvkit``: that module alone)."""
    if _is_package(module):
        return module
    parent = module.rpartition(".")[0]
    return module if parent == "ttvkit" else parent


def _inside(importer: str, owner: str) -> bool:
    return importer == owner or importer.startswith(owner + ".")


def _reaches(path: Path, text: str) -> list[str]:
    """Each private module or name of another package that *text*, the module at
    *path*, imports."""
    importer = _module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = []
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if (
                    _is_package(base)
                    and (SOURCE.parent / f"{submodule.replace('.', '/')}.py").exists()
                ):
                    targets.append((submodule, None))
                else:
                    targets.append((base, alias.name))
        else:
            continue
        for module, name in targets:
            if not module.startswith("ttvkit"):
                continue
            owner = _private_owner(module)
            if owner is not None and not _inside(importer, owner):
                found.append(f"{importer} imports {module}")
            elif (
                name is not None
                and name.startswith("_")
                and not name.startswith("__")
                and not _inside(importer, _name_owner(module))
            ):
                found.append(f"{importer} imports {module}.{name}")
    return found


def test_no_package_imports_another_packages_private_names() -> None:
    reaches = [
        reach
        for path in sorted(SOURCE.rglob("*.py"))
        for reach in _reaches(path, path.read_text(encoding="utf-8"))
    ]
    assert reaches == []


@pytest.mark.parametrize(
    ("importer", "source", "expected"),
    [
        ("stores/x.py", "from ttvkit.io._values import to_utc", ["imports ttvkit.io._values"]),
        ("stores/x.py", "from ttvkit.io import _values", ["imports ttvkit.io._values"]),
        ("stores/x.py", "from ttvkit.events import _hidden", ["imports ttvkit.events._hidden"]),
        ("tracker/x.py", "import ttvkit.stores._base", ["imports ttvkit.stores._base"]),
        ("stores/sqlite/x.py", "from ttvkit.stores._base import BaseStore", []),
        ("stores/sqlite/x.py", "from .._base import BaseStore", []),
        ("io/x.py", "from ._mapping import ColumnMapping", []),
        ("cli/x.py", "from ttvkit._json import compact", []),
        ("cli/x.py", "from ttvkit.io.values import to_utc", []),
    ],
)
def test_the_check_tells_a_reach_from_an_allowed_import(
    importer: str, source: str, expected: list[str]
) -> None:
    """The check itself finds what it is meant to (on a module written for it)."""
    found = [reach.partition(" ")[2] for reach in _reaches(SOURCE / importer, source)]
    assert found == expected
