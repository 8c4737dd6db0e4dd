"""The layers of the command, the tracker and the readers: who may import whom.

The import graph runs one way, from the command down to the model
(docs/architecture.md): nothing in the library imports :mod:`ttvkit.cli`;
the readers (:mod:`ttvkit.io`) stand on the model alone; the tracker on the
model and the stores. Inside each of these packages the modules import each
other without a cycle. Read from the source, lazy imports included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import ttvkit

ROOT = Path(ttvkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """The ttvkit modules *path* imports, anywhere in it."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "ttvkit")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "ttvkit":
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                is_package = (ROOT.parent / candidate.replace(".", "/") / "__init__.py").exists()
                yield candidate if is_module or is_package else node.module


GRAPH = {_module_name(p): set(_imports(p)) for p in sorted(ROOT.rglob("*.py"))}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_nothing_in_the_library_imports_the_command() -> None:
    importers = {
        m
        for m, imported in GRAPH.items()
        if not _in(m, "ttvkit.cli") and m != "ttvkit.__main__"
        for i in imported
        if _in(i, "ttvkit.cli")
    }
    assert importers == set()


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        (
            "ttvkit.io",
            {"ttvkit.io", "ttvkit.events", "ttvkit.errors", "ttvkit._json", "ttvkit._optional"},
        ),
        (
            "ttvkit.tracker",
            {"ttvkit.tracker", "ttvkit.events", "ttvkit.errors", "ttvkit._fork", "ttvkit.stores"},
        ),
    ],
)
def test_a_lower_layer_imports_only_what_is_below_it(package: str, allowed: set[str]) -> None:
    wrong = {
        (m, i)
        for m, imported in GRAPH.items()
        if _in(m, package)
        for i in imported
        if not any(_in(i, a) for a in allowed)
    }
    assert wrong == set()


@pytest.mark.parametrize("package", ["ttvkit.cli", "ttvkit.io", "ttvkit.tracker"])
def test_the_modules_of_a_package_import_each_other_without_a_cycle(package: str) -> None:
    inside = {m: {i for i in GRAPH[m] if _in(i, package)} for m in GRAPH}
    inside = {m: deps for m, deps in inside.items() if _in(m, package)}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for dep in inside.get(module, ()):
            visit(dep, (*path, module))
        done.add(module)

    for module in inside:
        visit(module, ())
    assert len(inside) > 3  # the package was found and split
