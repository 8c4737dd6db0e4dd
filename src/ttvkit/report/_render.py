"""render(): a report as text, Markdown, strict JSON or a self-contained HTML page.

Data are hostile: control characters are shown as escapes in text and Markdown,
Markdown punctuation is escaped, everything is HTML-escaped in the page.
"""

from __future__ import annotations

import base64
import html
import importlib
import importlib.util
import math
import re
from collections.abc import Callable, Mapping
from typing import Final

from ttvkit import __version__
from ttvkit._format import display_width, html_in_line, html_text, padded, shown, shown_in_line
from ttvkit._json import pretty
from ttvkit.errors import ConfigurationError, TTVError
from ttvkit.report._model import (
    FORMATS,
    Format,
    Report,
    Section,
    fact_text,
)
from ttvkit.results import Display

# --------------------------------------------------------------------------- rendering

# What starts or ends inline Markdown constructs (emphasis, links, code, HTML, tables).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>#|~!&])")


def _md_inline(text: str) -> str:
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", shown_in_line(text))


def render(report: Report, format: Format = "text") -> str:
    """*report* as ``text``, ``markdown``, ``json`` or ``html`` (a complete page).

    The HTML page embeds each result's ``_repr_html_()`` when it has one (an
    escaped ``<pre>`` of its text otherwise) and, when :mod:`ttvkit.plotting`
    and matplotlib are installed (``ttvkit[plot]``), a PNG chart per section.
    """
    if not isinstance(report, Report):
        raise ConfigurationError(f"render() takes a Report, not {type(report).__name__}")
    renderers: dict[str, Callable[[Report], str]] = {
        "text": _text,
        "markdown": _markdown,
        "json": _json,
        "html": _html,
    }
    if format not in renderers:
        raise ConfigurationError(f"format={format!r}: use one of {', '.join(FORMATS)}")
    return renderers[format](report)


def _text(report: Report) -> str:
    # Widths in terminal cells: a wide (CJK) character takes two, a combining mark none.
    title = shown_in_line(report.title)
    lines = [title, "=" * display_width(title)]
    keys = [shown_in_line(k) for k, _ in report.facts]
    width = max(map(display_width, keys), default=0)
    lines += [
        f"{padded(k, width)}  {shown_in_line(fact_text(v))}"
        for k, (_, v) in zip(keys, report.facts, strict=True)
    ]
    for section in report.sections:
        heading = shown_in_line(section.heading)
        lines += ["", heading, "-" * display_width(heading), shown(str(section.result))]
    return "\n".join(lines) + "\n"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _markdown(report: Report) -> str:
    lines = [f"# {_md_inline(report.title)}", ""]
    lines += [f"- **{_md_inline(k)}:** {_md_inline(fact_text(v))}" for k, v in report.facts]
    for section in report.sections:
        body = shown(str(section.result))
        fence = _fence(body)
        lines += ["", f"## {_md_inline(section.heading)}", ""]
        if section.kind in ("note", "skipped"):
            lines.append(_md_inline(body))
        else:
            lines += [f"{fence}text", body, fence]
    return "\n".join(lines) + "\n"


def _finite(value: object) -> object:
    """*value* with NaN and infinities as ``None``: strict JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(report: Report) -> str:
    return pretty(_finite(report.to_dict())) + "\n"


_CSS: Final = (
    "body{margin:0;background:#fafafa;color:#1a1a1a;"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "main{max-width:60rem;margin:0 auto;padding:1.5rem 1.5rem 3rem}"
    "h1{font-size:1.6rem;margin:0 0 0.6rem}"
    "h2{font-size:1.15rem;margin:0 0 0.6rem;border-bottom:1px solid #ddd;padding-bottom:0.2rem}"
    "section{background:#fff;border:1px solid #e4e4e4;border-radius:6px;"
    "padding:1rem 1.2rem;margin:1rem 0;overflow-x:auto}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "th,td{padding:0.15rem 0.8rem;text-align:right;border-bottom:1px solid #eee}"
    "th:first-child,td:first-child{text-align:left}"
    "table.overview th:nth-child(2),table.overview td:nth-child(2){text-align:left}"
    "table.facts th{text-align:left;font-weight:600;color:#555}"
    "table.facts td{text-align:left}"
    "pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:0}"
    "nav ol{columns:2;margin:0.5rem 0 0;padding-left:1.4rem}"
    "figure{margin:0.8rem 0 0}"
    "img{max-width:100%;height:auto}"
    "p.skipped{color:#8a5a00}"
    "footer{color:#777;font-size:0.85rem;margin-top:2rem}"
)


def _png_renderer() -> Callable[[object], object] | None:
    """``ttvkit.plotting.to_png`` when it and matplotlib are installed, else ``None``."""
    if importlib.util.find_spec("matplotlib") is None:
        return None
    try:
        plotting = importlib.import_module("ttvkit.plotting")
    except ImportError:  # not written yet, or the [plot] extra is incomplete
        return None
    to_png = getattr(plotting, "to_png", None)
    return to_png if callable(to_png) else None


CHARTS_LEFT_OUT: Final = (
    "Charts are left out: matplotlib is not installed (pip install 'ttvkit[plot]')."
)


def charts_left_out(report: Report) -> bool:
    """Whether *report* as HTML would have charts that this installation cannot draw."""
    return _png_renderer() is None and any(
        isinstance(s.result, Display) and s.kind != "skipped" for s in report.sections
    )


def _figure(to_png: Callable[[object], object] | None, section: Section) -> str:
    if to_png is None or not isinstance(section.result, Display):
        return ""
    try:
        png = to_png(section.result)
    except (TTVError, ImportError):  # nothing to draw for this result, or no backend
        return ""
    if not isinstance(png, bytes | bytearray) or not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    alt = html_in_line(f"chart: {section.heading}")
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"></figure>'


def _section_body(section: Section) -> str:
    if section.kind == "skipped":
        return f'<p class="skipped">{html_text(str(section.result))}</p>'
    if section.kind == "note":
        return f"<p>{html_text(str(section.result))}</p>"
    to_html = getattr(section.result, "_repr_html_", None)
    if callable(to_html):
        fragment = to_html()
        if isinstance(fragment, str):
            # Escaped already; control characters are still invalid in HTML.
            return shown(fragment)
    return f"<pre>{html_text(str(section.result))}</pre>"


def _html(report: Report) -> str:
    to_png = _png_renderer()
    title = html_in_line(report.title)
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{title}</h1>",
    ]
    if report.facts:
        rows = "".join(
            f"<tr><th>{html_in_line(k)}</th><td>{html_in_line(fact_text(v))}</td></tr>"
            for k, v in report.facts
        )
        parts.append(f'<table class="facts"><tbody>{rows}</tbody></table>')
    if to_png is None and charts_left_out(report):
        parts.append(f'<p class="skipped">{html_text(CHARTS_LEFT_OUT)}</p>')
    if report.sections:
        items = "".join(
            f'<li><a href="#section-{i}">{html_in_line(s.heading)}</a></li>'
            for i, s in enumerate(report.sections, start=1)
        )
        parts.append(f"<nav><ol>{items}</ol></nav>")
    for i, section in enumerate(report.sections, start=1):
        parts.append(
            f'<section id="section-{i}" class="{html.escape(section.kind, quote=True)}">'
            f"<h2>{html_in_line(section.heading)}</h2>"
            f"{_section_body(section)}{_figure(to_png, section)}</section>"
        )
    parts += [
        f"<footer>Made with ttvkit {html.escape(__version__)}.</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
