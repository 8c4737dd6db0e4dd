"""HTML fragments of results: what ``_repr_html_()`` shows in a notebook and the report embeds.

Each function returns one self-contained fragment: a ``<div class="ttvkit">``
with a small inline ``<style>`` scoped to that class, a heading, a few lines
of text and tables — no scripts, no external assets. Every value that comes
from data (milestone, event and property names, group labels, intervention
descriptions) is shown by the rule ``str()`` follows
(:func:`~ttvkit._format.shown_in_line`: control characters, bidi controls,
newlines and tabs as escapes such as ``\\x1b``), then escaped with
:func:`html.escape`: they are written by whoever sends events, so they are
hostile until shown otherwise. The markup
is also well-formed XML (every element closed, no bare ``&`` or ``<``), so
strict parsers and XHTML reports can take it as it is.

The figures are the ones ``str()`` prints, formatted by the same helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

# The rows, wording and sign conventions of str(): one source for both.
from ttvkit._format import Table, html_in_line, plural

if TYPE_CHECKING:
    from ttvkit.results import (
        CohortTable,
        Comparison,
        Display,
        ImpactReport,
        JourneyReport,
        SatisfactionReport,
        TTVDistribution,
    )

__all__ = [
    "cohorts_html",
    "comparison_html",
    "distribution_html",
    "impact_html",
    "journey_html",
    "render_html",
    "satisfaction_html",
]

# Colours are left to the page (notebook themes are light or dark); only
# spacing, alignment and weight are set. No child selectors (">"), so the
# style element stays well-formed XML.
STYLE = (
    "<style>"
    ".ttvkit{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "font-size:13px;line-height:1.45;margin:0.5em 0}"
    ".ttvkit h3{font-size:14px;font-weight:600;margin:0 0 0.3em 0}"
    ".ttvkit p{margin:0.15em 0}"
    ".ttvkit .ttv-note{opacity:0.75}"
    ".ttvkit table{border-collapse:collapse;margin:0.4em 0;font-variant-numeric:tabular-nums}"
    ".ttvkit th,.ttvkit td{padding:0.15em 0.8em;text-align:right;"
    "border-bottom:1px solid rgba(127,127,127,0.3)}"
    ".ttvkit th{font-weight:600;border-bottom:1px solid rgba(127,127,127,0.7)}"
    ".ttvkit th.ttv-label,.ttvkit td.ttv-label{text-align:left}"
    ".ttvkit tr.ttv-strong td{font-weight:600}"
    "</style>"
)


def _e(value: object) -> str:
    return html_in_line(str(value))


def _fragment(title: str, *parts: str) -> str:
    return f'<div class="ttvkit">{STYLE}<h3>{_e(title)}</h3>{"".join(parts)}</div>'


def _p(text: str, *, note: bool = False) -> str:
    return f'<p class="ttv-note">{_e(text)}</p>' if note else f"<p>{_e(text)}</p>"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    strong: Sequence[bool] | None = None,
) -> str:
    """A table whose first column is a left-aligned label; *strong* rows are bold."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="ttv-label">{_e(v)}</{tag}>' if i == 0 else f"<{tag}>{_e(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(
        f'<tr class="ttv-strong">{cells("td", r)}</tr>'
        if strong is not None and strong[i]
        else f"<tr>{cells('td', r)}</tr>"
        for i, r in enumerate(rows)
    )
    return f"<table><thead><tr>{cells('th', headers)}</tr></thead><tbody>{body}</tbody></table>"


def _render(table: Table) -> str:
    return _table(table.headers, table.rows, table.strong)


def _notes(notes: Sequence[str]) -> str:
    return "".join(_p(note[:1].upper() + note[1:] + ".", note=True) for note in notes)


# --------------------------------------------------------------------------- results


def render_html(result: Display) -> str:
    """What ``result._repr_html_()`` returns: the fragment for its kind."""
    return _BY_KIND[result.kind](result)


def distribution_html(dist: TTVDistribution) -> str:
    """Counts, the median with its CI, percentiles, shares reached, speed classes."""
    figures = [list(pair) for pair in dist.figures()]
    headline = dist.headline()
    parts = [
        _p(dist.milestone.describe(), note=True),
        _p(headline[:1].upper() + headline[1:] + "."),
        _table(["figure", "value"], figures, strong=[i == 0 for i in range(len(figures))]),
        _notes(dist.notes()),
    ]
    speed = dist.speed_table()
    if speed is not None:
        parts.append(_render(speed))
    return _fragment(f"Time to value: {dist.milestone.name}", *parts)


def comparison_html(result: Comparison) -> str:
    """One row per group with differences to the reference, and the log-rank verdict."""
    verdict = result.verdict()
    return _fragment(
        f"Time to value by {result.by}: {result.milestone.name}",
        _p(result.milestone.describe(), note=True),
        _notes(result.notes()),
        _render(result.table()),
        _p(verdict[:1].upper() + verdict[1:] + "."),
    )


def impact_html(result: ImpactReport) -> str:
    """The interventions ranked; significant ones (Holm) in bold."""
    return _fragment(
        f"What shortens time to value: {result.milestone.name}",
        _p(result.milestone.describe(), note=True),
        _notes(result.notes()),
        _render(result.table()),
    )


def cohorts_html(result: CohortTable) -> str:
    """One row per cohort; young cohorts marked with an asterisk and explained."""
    return _fragment(
        f"Time to value by {result.period} cohort: {result.milestone.name}",
        _p(result.milestone.describe(), note=True),
        _render(result.table()),
        _notes(result.notes()),
    )


def journey_html(result: JourneyReport) -> str:
    """One row per stage; the stalls named below."""
    return _fragment(
        "Journey: " + " → ".join(s.name for s in result.journey.stages),
        _p(f"{plural(result.n_started, 'customer')} started, as of {result.as_of.isoformat()}."),
        _render(result.table()),
        _notes(result.notes()),
    )


def satisfaction_html(result: SatisfactionReport) -> str:
    """Score per speed class, and the rank correlation with time to value."""
    return _fragment(
        f"Satisfaction by speed to value: {result.milestone.name}",
        _p(
            f"Score {result.score!r} of {result.survey}, by speed to {result.milestone.name}.",
            note=True,
        ),
        _render(result.table()),
        _notes(result.notes()),
    )


_BY_KIND: dict[str, Callable[[Any], str]] = {
    "time_to_value": distribution_html,
    "comparison": comparison_html,
    "impact": impact_html,
    "cohorts": cohorts_html,
    "journey": journey_html,
    "satisfaction": satisfaction_html,
}
