"""What a report is: sections of results, an overview, notes and facts."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Final, Literal, Protocol, TypeAlias, runtime_checkable

import attrs

from ttvkit._format import format_duration, html_in_line, median_text, text_table, within_text
from ttvkit.calculators import (
    DEFAULT_WITHIN,
)
from ttvkit.errors import ConfigurationError
from ttvkit.milestones import MilestoneKind
from ttvkit.results import Display, TTVDistribution, curve_rows_limit

Format: TypeAlias = Literal["text", "markdown", "json", "html"]
FORMATS: Final[tuple[Format, ...]] = ("text", "markdown", "json", "html")
"""The formats :func:`render` writes."""

MEASURES: Final[Mapping[MilestoneKind, str]] = {
    MilestoneKind.BASIC: "Time to basic value",
    MilestoneKind.EXCEED: "Time to exceed value",
    MilestoneKind.ONBOARDING: "Onboarding time",
    MilestoneKind.UPGRADE: "Time to upgrade",
    MilestoneKind.FEATURE_ADOPTION: "New-feature adoption time",
    MilestoneKind.ROI: "Time to preferred ROI",
}
"""The name of the TTV measure each kind of milestone stands for, as reports title it."""

_NOTE_WIDTH: Final = 92

#: Rows a survival curve keeps in a report's ``to_dict()`` and JSON (draws it within 0.1%).
CURVE_ROWS: Final = 1002


@runtime_checkable
class ReportResult(Protocol):
    """What a section holds: ``to_dict()`` for JSON, ``str()`` for text.

    A result may also have ``_repr_html_()`` (an HTML fragment that escapes its
    data, as every ttvkit result's does), which the HTML page embeds as it is.
    """

    def to_dict(self) -> dict[str, Any]: ...


@attrs.frozen
class Note:
    """A paragraph of text in a report, e.g. why an analysis was skipped."""

    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text}

    def __str__(self) -> str:
        return textwrap.fill(self.text, width=_NOTE_WIDTH)


_MONTH: Final = timedelta(days=30)


def _distributions(value: Iterable[TTVDistribution]) -> tuple[TTVDistribution, ...]:
    return tuple(value)


@attrs.frozen
class Overview:
    """Every measure of a report in one table: customers, reached, median, shares within."""

    distributions: tuple[TTVDistribution, ...] = attrs.field(converter=_distributions)
    within: timedelta = DEFAULT_WITHIN

    def _horizons(self) -> tuple[timedelta, ...]:
        return (self.within,) if self.within == _MONTH else (self.within, _MONTH)

    def _headers(self) -> list[str]:
        return [
            "measure",
            "milestone",
            "customers",
            "reached",
            "median",
            *(f"within {format_duration(h)}" for h in self._horizons()),
        ]

    def _rows(self) -> list[list[str]]:
        return [
            [
                MEASURES[d.milestone.kind],
                d.milestone.name,
                str(d.n),
                str(d.n_reached),
                median_text(d.median),
                *(within_text(d.reached_within(h)) for h in self._horizons()),
            ]
            for d in self.distributions
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "within_seconds": [h.total_seconds() for h in self._horizons()],
            "measures": [
                {
                    "measure": MEASURES[d.milestone.kind],
                    "milestone": d.milestone.name,
                    "kind": d.milestone.kind.value,
                    "n": d.n,
                    "n_reached": d.n_reached,
                    "median_seconds": None if d.median is None else d.median.total_seconds(),
                    "reached_within": {
                        str(int(h.total_seconds())): d.reached_within(h) for h in self._horizons()
                    },
                }
                for d in self.distributions
            ],
        }

    def __str__(self) -> str:
        return text_table(self._headers(), self._rows(), left=2)

    def _repr_html_(self) -> str:
        def row(tag: str, cells: list[str]) -> str:
            return "<tr>" + "".join(f"<{tag}>{html_in_line(c)}</{tag}>" for c in cells) + "</tr>"

        body = "".join(row("td", r) for r in self._rows())
        return (
            f'<table class="overview"><thead>{row("th", self._headers())}</thead>'
            f"<tbody>{body}</tbody></table>"
        )


# Every result (a Display) names its own kind and can be plotted.
_KINDS: Final[Mapping[type, str]] = {Overview: "overview", Note: "note"}


def _kind_of(result: object) -> str:
    if isinstance(result, Display):
        return result.kind
    for cls, kind in _KINDS.items():
        if isinstance(result, cls):
            return kind
    return type(result).__name__.lower()


def _check_result(_: object, __: attrs.Attribute[ReportResult], value: object) -> None:
    if not isinstance(value, ReportResult):
        raise ConfigurationError(
            f"a report section needs a result with to_dict(), not {type(value).__name__}"
        )


@attrs.frozen
class Section:
    """One part of a report: a heading and the result under it.

    ``kind`` names the result in JSON (``time_to_value``, ``comparison``,
    ``impact``, ``cohorts``, ``journey``, ``satisfaction``, ``overview``,
    ``note``; ``skipped`` for an analysis the data could not answer); by
    default it is derived from the result's class.
    """

    heading: str
    result: ReportResult = attrs.field(validator=_check_result)
    kind: str = attrs.field()

    @kind.default
    def _default_kind(self) -> str:
        return _kind_of(self.result)

    def to_dict(self) -> dict[str, Any]:
        return {"heading": self.heading, "kind": self.kind, "result": self.result.to_dict()}


def _sections(value: Iterable[Section]) -> tuple[Section, ...]:
    sections = tuple(value)
    for s in sections:
        if not isinstance(s, Section):
            raise ConfigurationError(f"a report holds Section objects, not {type(s).__name__}")
    return sections


FactValue: TypeAlias = str | int | float
"""A fact's value: a number stays a number in JSON and is formatted in text."""


def _fact_value(value: object) -> FactValue:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def _facts(
    value: Iterable[tuple[str, FactValue]] | Mapping[str, FactValue],
) -> tuple[tuple[str, FactValue], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), _fact_value(v)) for k, v in items)


def fact_text(value: FactValue) -> str:
    """A fact as text: numbers with thousands separators."""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,g}"
    return value


@attrs.frozen
class Report:
    """A titled, ordered list of sections, with facts about where the figures come from."""

    title: str
    sections: tuple[Section, ...] = attrs.field(converter=_sections, repr=False)
    facts: tuple[tuple[str, FactValue], ...] = attrs.field(default=(), converter=_facts, repr=False)
    """(name, value) pairs; numbers (counts) stay numbers in ``to_dict()``."""

    @property
    def skipped(self) -> tuple[Section, ...]:
        """Sections whose analysis the data could not answer (each holds a :class:`Note`)."""
        return tuple(s for s in self.sections if s.kind == "skipped")

    def to_dict(self, *, curve_rows: int | None = CURVE_ROWS) -> dict[str, Any]:
        """``{"title", "facts", "sections": [{"heading", "kind", "result"}]}``, JSON-ready.

        Each survival curve in it keeps at most *curve_rows* rows, enough to
        draw it within 1/(curve_rows - 2) (see
        :func:`~ttvkit.results.curve_rows_limit`): a report's size does not
        grow with the log. ``None`` keeps every row.
        """
        with curve_rows_limit(curve_rows):
            return {
                "title": self.title,
                "facts": dict(self.facts),
                "sections": [s.to_dict() for s in self.sections],
            }

    def __str__(self) -> str:
        from ttvkit.report._render import render

        return render(self, "text")

    def _repr_html_(self) -> str:
        """The HTML page (charts included when matplotlib is installed) in an
        ``<iframe>``: a report left as the last line of a notebook cell shows as
        the page would, its styles kept away from the notebook's."""
        from ttvkit.report._render import render

        page = html.escape(render(self, "html"), quote=True)
        return (
            f'<iframe title="{html_in_line(self.title)}" srcdoc="{page}" '
            'style="width: 100%; height: 80vh; border: 1px solid #ddd"></iframe>'
        )
