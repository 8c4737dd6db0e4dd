"""The import graph of ttvkit is a DAG that follows the layers of docs/architecture.md.

Only imports that run when a module is imported count: those at module level,
outside ``if TYPE_CHECKING:``. Imports inside functions are lazy on purpose
(optional extras, renderers looked up on first use) and are not edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ttvkit

SRC = Path(ttvkit.__file__).parent

#: The layers, lowest first: a module may import its own layer and those below.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "ttvkit.errors",
        "ttvkit._optional",
        "ttvkit._fork",
        "ttvkit._json",
        "ttvkit._format",
        "ttvkit._gc",
        "ttvkit._lazy",
        "ttvkit._table_kinds",
    ),
    ("ttvkit.stats",),
    ("ttvkit.events", "ttvkit._ids"),
    ("ttvkit.conditions",),
    ("ttvkit.milestones",),
    ("ttvkit.observations",),
    ("ttvkit.io", "ttvkit.config", "ttvkit.datasets"),
    ("ttvkit.stores",),
    ("ttvkit.results",),
    ("ttvkit.calculators", "ttvkit.tracker", "ttvkit.testing"),
    ("ttvkit.render", "ttvkit._html", "ttvkit._frames", "ttvkit.plotting"),
    ("ttvkit.report",),
    ("ttvkit.cli", "ttvkit.__main__"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.If | ast.Try):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
            if isinstance(node, ast.Try):
                for handler in node.handlers:
                    yield from _top_level(handler.body)
        else:
            yield node


def imports_at_import_time(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _top_level(tree.body):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import submodule` imports the submodule; a name from a
            # module is an edge to that module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            # A module's own packages are always imported before it: not an edge.
            if target and not (name == target or name.startswith(target + ".")):
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_at_import_time(name, path, known) for name, path in mods.items()}


def layer_of(name: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{name} is in no layer: add it to LAYERS and docs/architecture.md")


def test_every_module_has_a_layer() -> None:
    for name in modules():
        if name != "ttvkit":
            layer_of(name)


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in graph().items()
        if name != "ttvkit"
        for target in targets
        if layer_of(target) > layer_of(name)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        if node in stack:
            cycle = [*stack[stack.index(node) :], node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            visit(target)
        stack.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
