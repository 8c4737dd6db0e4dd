"""The public surface: __all__ lists exactly the public names; the core imports no extras."""

from __future__ import annotations

import subprocess
import sys

import ttvkit


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(ttvkit) if not name.startswith("_")}
    # submodules imported as a side effect are not API unless listed
    modules = {name for name in public if type(getattr(ttvkit, name)).__name__ == "module"}
    assert set(ttvkit.__all__) - {"__version__"} == (public - modules) | {"stats"}
    for name in ttvkit.__all__:
        assert hasattr(ttvkit, name), name


def test_all_is_sorted() -> None:
    assert list(ttvkit.__all__) == sorted(ttvkit.__all__)


def test_version_comes_from_the_installed_metadata() -> None:
    from importlib.metadata import version

    assert ttvkit.__version__ == version("ttvkit")


def test_every_error_is_a_ttverror() -> None:
    from ttvkit import errors

    for name in errors.__all__:
        if name.endswith("Warning"):
            assert issubclass(getattr(errors, name), ttvkit.TTVWarning)
        else:
            assert issubclass(getattr(errors, name), ttvkit.TTVError)


def test_importing_ttvkit_pulls_in_no_optional_dependency() -> None:
    code = (
        "import sys, ttvkit, ttvkit.stores, ttvkit.testing;"
        "heavy = {'psycopg', 'duckdb', 'pandas', 'numpy', 'scipy', 'lifelines', 'matplotlib'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_stats_depends_on_nothing_of_ttvkit_but_its_errors() -> None:
    """ttvkit.stats stands alone (DESIGN.md): notebooks and other tools use it directly."""
    import ast
    from pathlib import Path

    import ttvkit.stats

    imported = set()
    for path in Path(ttvkit.stats.__file__).parent.glob("*.py"):  # the package's modules
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add("." * node.level + node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    outside = {m for m in imported if m.startswith(".") or m.split(".")[0] == "ttvkit"}
    assert {m for m in outside if not m.startswith("ttvkit.stats.")} == {"ttvkit.errors"}
