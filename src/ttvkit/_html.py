"""HTML fragments of results: what ``_repr_html_()`` shows in a notebook and the report embeds.

Each function returns one self-contained fragment: a ``<div class="ttvkit">``
with a small inline ``<style>`` scoped to that class, a heading, a few lines
of text and tables — no scripts, no external assets. Every value that comes
from data (milestone, event and property names, group labels, intervention
descriptions) is escaped with :func:`html.escape`: they are written by
whoever sends events, so they are hostile until shown otherwise. The markup
is also well-formed XML (every element closed, no bare ``&`` or ``<``), so
strict parsers and XHTML reports can take it as it is.

The figures are the ones ``str()`` prints, formatted by the same helpers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from ttvkit._format import format_duration, format_p, format_share

# The same label and sign conventions as str(): one source for both.
from ttvkit.results import _label_text, _signed_duration, _signed_share

if TYPE_CHECKING:
    from ttvkit.results import (
        CohortTable,
        Comparison,
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
    return html.escape(str(value), quote=True)


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


def _ci_name(alpha: float) -> str:
    return f"{1 - alpha:.0%} CI"


def _ci_text(bounds: tuple[timedelta | None, timedelta | None]) -> str:
    lo, hi = bounds
    # An unbounded upper end is "never reached" by the band: say so, not a number.
    return f"{format_duration(lo)} to {'unbounded' if hi is None else format_duration(hi)}"


def _share_ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"{ci[0] * 100:+.1f} to {ci[1] * 100:+.1f}"


def _median_text(value: timedelta | None) -> str:
    return "not reached" if value is None else format_duration(value)


# --------------------------------------------------------------------------- results


_QUANTILES = (0.25, 0.5, 0.75, 0.9)
_WITHIN = (timedelta(days=1), timedelta(days=7), timedelta(days=30))


def distribution_html(dist: TTVDistribution) -> str:
    """Counts, the median with its CI, percentiles, shares reached, speed classes."""
    figures = [
        ["median", _median_text(dist.median)],
        [f"median {_ci_name(dist.curve.alpha)}", _ci_text(dist.median_ci)],
        *([f"p{round(q * 100)}", _median_text(dist.percentile(q))] for q in _QUANTILES),
        *(
            [f"reached within {format_duration(d)}", format_share(dist.reached_within(d))]
            for d in _WITHIN
        ),
    ]
    parts = [
        _p(dist.milestone.describe(), note=True),
        _p(
            f"As of {dist.as_of.isoformat()}, per {dist.per}: {dist.n} customers, "
            f"{dist.n_reached} reached, {dist.n_censored} still on the way."
        ),
        _table(["figure", "value"], figures, strong=[i == 0 for i in range(len(figures))]),
    ]
    if dist.n_reached_before_start:
        parts.append(
            _p(
                f"{dist.n_reached_before_start} reached it before their start (counted at 0).",
                note=True,
            )
        )
    if dist.bands is not None:
        counts = dist.speed_counts()
        parts.append(_table(["speed", "customers"], [[k.value, str(v)] for k, v in counts.items()]))
    return _fragment(f"Time to value: {dist.milestone.name}", *parts)


def comparison_html(result: Comparison) -> str:
    """One row per group with differences to the reference, and the log-rank verdict."""
    within = format_duration(result.within)
    ci = _ci_name(result.alpha)
    parts = [_p(result.milestone.describe(), note=True)]
    if result.landmark is not None:
        parts.append(
            _p(
                f"Exposure counted by {format_duration(result.landmark)} after the start; "
                f"{result.n_excluded} customers reached value or left before then and are "
                "not compared.",
                note=True,
            )
        )
    rows = []
    is_ref = []
    for g in result.groups:
        d = g.distribution
        ref = g.label == result.reference and type(g.label) is type(result.reference)
        is_ref.append(ref)
        rows.append(
            [
                _label_text(g.label) + (" (reference)" if ref else ""),
                str(d.n),
                str(d.n_reached),
                _median_text(d.median),
                format_share(d.reached_within(result.within)),
                "" if ref else _signed_duration(g.median_difference),
                ""
                if ref or g.median_difference_ci is None
                else f"{_signed_duration(g.median_difference_ci[0])} to "
                f"{_signed_duration(g.median_difference_ci[1])}",
                "" if ref else _signed_share(g.reached_within_difference),
                "" if ref else _share_ci(g.reached_within_difference_ci),
            ]
        )
    parts.append(
        _table(
            [
                "group",
                "n",
                "reached",
                "median",
                f"within {within}",
                "Δ median",
                f"Δ median {ci}",
                f"Δ within {within}",
                f"{ci} (pts)",
            ],
            rows,
            strong=is_ref,
        )
    )
    verdict = "a real difference" if result.significant else "no clear difference"
    parts.append(
        _p(
            f"Log-rank χ² {result.logrank.statistic:.3f}, df {result.logrank.dof}, "
            f"p {format_p(result.p_value)}: {verdict} at α {result.alpha:g}."
        )
    )
    return _fragment(f"Time to value by {result.by}: {result.milestone.name}", *parts)


def impact_html(result: ImpactReport) -> str:
    """The interventions ranked by effect; significant ones (Holm) in bold."""
    within = format_duration(result.within)
    rows = []
    for rank, r in enumerate(result.rows, start=1):
        exposed = next((g for g in r.comparison.groups if g.label is True), None)
        rows.append(
            [
                f"{rank}. {r.intervention}",
                format_duration(r.comparison.landmark),
                str(0 if exposed is None else exposed.n),
                _signed_share(r.effect),
                _share_ci(None if exposed is None else exposed.reached_within_difference_ci),
                _signed_duration(r.median_difference),
                format_p(r.comparison.p_value),
                format_p(r.p_adjusted),
                "yes" if r.significant else "no",
            ]
        )
    ci = _ci_name(result.rows[0].comparison.alpha) if result.rows else "CI"
    return _fragment(
        f"What shortens time to value: {result.milestone.name}",
        _p(result.milestone.describe(), note=True),
        _p(
            "Exposed = the intervention happened by its landmark after the start; "
            "effects are exposed minus not exposed.",
            note=True,
        ),
        _table(
            [
                "intervention",
                "landmark",
                "exposed",
                f"Δ within {within}",
                f"{ci} (pts)",
                "Δ median",
                "p",
                "p (Holm)",
                "significant",
            ],
            rows,
            strong=[r.significant for r in result.rows],
        ),
    )


def cohorts_html(result: CohortTable) -> str:
    """One row per cohort; young cohorts marked with an asterisk and explained."""
    within = format_duration(result.within)
    rows = [
        [
            r.start.date().isoformat() + (" *" if r.young else ""),
            str(r.n),
            str(r.distribution.n_reached),
            str(r.still_on_the_way),
            _median_text(r.median),
            _ci_text(r.distribution.median_ci),
            format_share(r.reached_within),
        ]
        for r in result.rows
    ]
    ci = _ci_name(result.rows[0].distribution.curve.alpha) if result.rows else "CI"
    parts = [
        _p(result.milestone.describe(), note=True),
        _table(["cohort", "n", "reached", "on the way", "median", ci, f"within {within}"], rows),
    ]
    if any(r.young for r in result.rows):
        parts.append(
            _p(
                f"* young cohort: some customers watched for less than {within}; "
                "its figures may still change.",
                note=True,
            )
        )
    return _fragment(f"Time to value by {result.period} cohort: {result.milestone.name}", *parts)


def journey_html(result: JourneyReport) -> str:
    """One row per stage; the stalls named below."""
    rows = [
        [
            f"{i}. {s.milestone.name}",
            str(s.n_entered),
            str(s.n_reached),
            format_share(s.share_reached),
            _median_text(s.median) if s.distribution is not None else "-",
        ]
        for i, s in enumerate(result.stages, start=1)
    ]
    return _fragment(
        "Journey: " + " → ".join(s.name for s in result.journey.stages),
        _p(f"{result.n_started} customers started, as of {result.as_of.isoformat()}."),
        _table(["stage", "entered", "completed", "share", "median from previous"], rows),
        _p(
            f"Stalls most: {result.stall_by_share.milestone.name} (lowest completion), "
            f"{result.stall_by_time.milestone.name} (longest wait)."
        ),
    )


def satisfaction_html(result: SatisfactionReport) -> str:
    """Score per speed class, and the rank correlation with time to value."""
    rows = [
        [
            g.speed,
            str(g.n),
            "-" if g.mean is None else f"{g.mean:.2f}",
            "-" if g.median is None else f"{g.median:g}",
        ]
        for g in result.groups
    ]
    c = result.correlation
    parts = [
        _p(
            f"Score {result.score!r} of {result.survey}, by speed to {result.milestone.name}.",
            note=True,
        ),
        _table(["speed", "n", "mean", "median"], rows),
        _p("Too few customers with value and a score for a rank correlation.")
        if c is None
        else _p(f"Spearman ρ(TTV, score) = {c.rho:+.3f} (n {c.n}, p {format_p(c.p_value)})."),
    ]
    if result.n_without_score:
        parts.append(_p(f"{result.n_without_score} customers gave no score.", note=True))
    return _fragment(f"Satisfaction by speed to value: {result.milestone.name}", *parts)
