"""Every ```python block in docs/*.md runs, page by page, in a fresh directory.

Blocks written as an interactive session (``>>>``) are checked as doctests,
output included. Blocks fenced as ```py, or whose first line is a
``# sketch:`` comment, are illustrations (they need a web app, a server or
files the reader has) and are not run.
"""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_run(page: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for i, code in enumerate(blocks, start=1):
            if code.lstrip().startswith("# sketch"):
                continue
            if code.lstrip().startswith(">>>"):
                _run_doctest(code, namespace, f"{page.name} block {i}")
                continue
            try:
                exec(compile(code, f"{page.name} block {i}", "exec"), namespace)  # noqa: S102
            except Exception as exc:
                raise AssertionError(f"{page.name}, block {i} failed: {exc!r}\n{code}") from exc
    finally:
        os.chdir(cwd)
        for value in namespace.values():
            close = getattr(value, "close", None)
            if callable(close) and type(value).__module__.startswith("ttvkit"):
                close()
    capsys.readouterr()


def _run_doctest(code: str, namespace: dict[str, object], name: str) -> None:
    test = doctest.DocTestParser().get_doctest(code, namespace, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append, clear_globs=False)
    assert runner.failures == 0, "".join(out)


def test_quickstart_script_runs() -> None:
    import runpy

    runpy.run_path(str(DOCS / "examples" / "quickstart.py"), run_name="__main__")
