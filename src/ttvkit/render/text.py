"""``str()`` of a result: a heading, the rows of its view as an aligned table, its notes.

Names and values in it come from data, hostile until shown otherwise: every
line is built from the result's words and then :func:`~ttvkit._format.shown_in_line`,
and every table cell is shown the same way before the columns are measured
(:meth:`~ttvkit._format.Table.text`). Only the layout starts a line, so a name
cannot forge a heading or a row, nor send a terminal an escape sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ttvkit._format import shown_in_line

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

__all__ = ["render_text"]


def render_text(result: Display) -> str:
    """What ``str(result)`` prints."""
    return _BY_KIND[result.kind](result)


def _line(text: str) -> str:
    return shown_in_line(text)


def _indented(notes: list[str]) -> list[str]:
    return [_line(f"  {note}") for note in notes]


def _distribution(dist: TTVDistribution) -> str:
    figures = dist.figures()
    named = dict(figures)
    ci_key = figures[1][0]  # "median 95% CI"
    lines = [
        _line(f"Time to value: {dist.milestone.describe()}"),
        _line(f"  {dist.headline()}"),
        _line(f"  median {named['median']} ({ci_key.removeprefix('median ')} {named[ci_key]})"),
        _line("  percentiles: " + ", ".join(f"{k} {v}" for k, v in figures[2:6])),
        _line(
            "  reached within: "
            + ", ".join(f"{k.removeprefix('reached within ')} {v}" for k, v in figures[6:])
        ),
        *_indented(dist.notes()),
    ]
    speed = dist.speed_table()
    if speed is not None:
        lines.append(_line("  speed: " + ", ".join(f"{k} {v}" for k, v in speed.rows)))
    return "\n".join(lines)


def _comparison(result: Comparison) -> str:
    return "\n".join(
        [
            _line(f"Time to value by {result.by}: {result.milestone.describe()}"),
            *_indented(result.notes()),
            result.table().text(),
            _line(f"  {result.verdict()}"),
        ]
    )


def _impact(result: ImpactReport) -> str:
    return "\n".join(
        [
            _line(f"What shortens time to value: {result.milestone.describe()}"),
            *_indented(result.notes()),
            result.table().text(),
        ]
    )


def _cohorts(result: CohortTable) -> str:
    return "\n".join(
        [
            _line(f"Time to value by {result.period} cohort: {result.milestone.describe()}"),
            result.table().text(),
            *_indented(result.notes()),
        ]
    )


def _journey(result: JourneyReport) -> str:
    return "\n".join([_line(result.title()), result.table().text(), *_indented(result.notes())])


def _satisfaction(result: SatisfactionReport) -> str:
    return "\n".join(
        [
            _line(
                f"Satisfaction ({result.survey}, {result.score!r}) "
                f"by speed to {result.milestone.name}"
            ),
            result.table().text(),
            *_indented(result.notes()),
        ]
    )


_BY_KIND: dict[str, Callable[[Any], str]] = {
    "time_to_value": _distribution,
    "comparison": _comparison,
    "impact": _impact,
    "cohorts": _cohorts,
    "journey": _journey,
    "satisfaction": _satisfaction,
}
