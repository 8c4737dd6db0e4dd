"""The Time-to-Value report: analyses a configuration defines, rendered for people and tools.

A :class:`Report` is a title, a few facts (source, as-of time...) and ordered
:class:`Section` objects, each a heading and a result (any object with
``to_dict()`` and ``str()``: the classes of :mod:`ttvkit.results`, an
:class:`Overview` or a :class:`Note`). :func:`build_report` runs every
analysis a :class:`~ttvkit.config.Config` asks for over one source;
:func:`render` turns a report into ``text``, ``markdown``, ``json`` or a
self-contained ``html`` page. The ``ttvkit`` command is a thin layer over
these two functions::

    from pathlib import Path

    from ttvkit.config import load_config
    from ttvkit.report import build_report, render

    report = build_report("sqlite:///ttv.db", load_config("ttv.toml"))
    Path("ttv-report.html").write_text(render(report, "html"), encoding="utf-8")

Event names, property values and customer ids are written by whoever sends
events, so every renderer treats them as hostile: control characters are
shown as escapes in text and Markdown, Markdown punctuation is escaped in
headings, everything is HTML-escaped in the page, and JSON is produced by
:mod:`json` (non-finite numbers become ``null``, so the output is strict JSON).
"""

from __future__ import annotations

from ttvkit.report._build import build_report
from ttvkit.report._model import (
    FORMATS,
    MEASURES,
    Format,
    Note,
    Overview,
    Report,
    ReportResult,
    Section,
    fact_text,
)
from ttvkit.report._render import CHARTS_LEFT_OUT, charts_left_out, render

__all__ = [
    "CHARTS_LEFT_OUT",
    "FORMATS",
    "MEASURES",
    "Format",
    "Note",
    "Overview",
    "Report",
    "ReportResult",
    "Section",
    "build_report",
    "charts_left_out",
    "fact_text",
    "render",
]
