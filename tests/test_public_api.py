"""The public surface: __all__ lists exactly the public names; the core imports no extras."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

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


def _type_checking_imports(package: str) -> dict[str, str]:
    """What the ``if TYPE_CHECKING:`` block of *package*'s ``__init__`` imports from where."""
    module = importlib.import_module(package)
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Attribute):
            if node.test.attr != "TYPE_CHECKING":
                continue
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith(
                    "ttvkit"
                ):
                    for alias in statement.names:
                        found[alias.asname or alias.name] = str(statement.module)
    return found


@pytest.mark.parametrize("package", ["ttvkit", "ttvkit.cli"])
def test_lazy_names_are_the_ones_type_checkers_see(package: str) -> None:
    """The names imported on first use are the ``TYPE_CHECKING`` imports, from the same
    modules, and each is the object its module defines."""
    module = importlib.import_module(package)
    lazy = dict(module._LAZY)
    seen = _type_checking_imports(package)
    submodules = {name for name, where in seen.items() if f"{where}.{name}" == f"{package}.{name}"}
    assert {name: where for name, where in seen.items() if name not in submodules} == lazy
    for name, where in lazy.items():
        assert getattr(module, name) is getattr(importlib.import_module(where), name), name
    assert set(module.__all__) <= set(dir(module))


def test_importing_ttvkit_imports_no_analysis_until_one_is_used() -> None:
    """``import ttvkit`` takes the errors and nothing heavy; a name imports its module."""
    code = (
        "import sys, ttvkit;"
        "before = sorted(m for m in sys.modules if m.startswith('ttvkit.'));"
        "ttvkit.Tracker;"
        "middle = 'ttvkit.tracker' in sys.modules and 'ttvkit.calculators' not in sys.modules;"
        "from ttvkit import time_to_value;"
        "print(before, middle, 'ttvkit.calculators' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['ttvkit._lazy', 'ttvkit.errors'] True True"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="'ttvkit' has no attribute 'time_to_valeu'"):
        ttvkit.time_to_valeu  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError, match="time_to_valeu"):
        from ttvkit import time_to_valeu  # type: ignore[attr-defined]  # noqa: F401
