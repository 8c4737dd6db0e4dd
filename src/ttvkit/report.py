"""The Time-to-Value report: analyses a configuration defines, rendered for people and tools.

A :class:`Report` is a title, a few facts (source, as-of time...) and ordered
:class:`Section` objects, each a heading and a result (any object with
``to_dict()`` and ``str()``: the classes of :mod:`ttvkit.results`, an
:class:`Overview` or a :class:`Note`). :func:`build_report` runs every
analysis a :class:`~ttvkit.config.Config` asks for over one source;
:func:`render` turns a report into ``text``, ``markdown``, ``json`` or a
self-contained ``html`` page. The ``ttvkit`` command is a thin layer over
these two functions::

    from ttvkit.config import load_config
    from ttvkit.report import build_report, render

    report = build_report("sqlite:///ttv.db", load_config("ttv.toml"))
    print(render(report, "markdown"))

Event names, property values and customer ids are written by whoever sends
events, so every renderer treats them as hostile: control characters are
shown as escapes in text and Markdown, Markdown punctuation is escaped in
headings, everything is HTML-escaped in the page, and JSON is produced by
:mod:`json` (non-finite numbers become ``null``, so the output is strict JSON).
"""

from __future__ import annotations

import base64
import html
import importlib
import importlib.util
import json
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol, TypeAlias, runtime_checkable

import attrs

from ttvkit import __version__
from ttvkit._format import format_duration, median_text, within_text
from ttvkit.calculators import (
    DEFAULT_LANDMARK,
    DEFAULT_WITHIN,
    Period,
    Source,
    as_store,
    cohorts,
    compare,
    impact,
    journey,
    resolve_as_of,
    satisfaction,
    time_to_value,
)
from ttvkit.conditions import Condition
from ttvkit.config import Config
from ttvkit.errors import AnalysisError, ConfigurationError, TTVError
from ttvkit.milestones import Milestone, MilestoneKind
from ttvkit.observations import Per, check_per
from ttvkit.results import Display, TTVDistribution

__all__ = [
    "FORMATS",
    "MEASURES",
    "Format",
    "Note",
    "Overview",
    "Report",
    "ReportResult",
    "Section",
    "build_report",
    "render",
]

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
        # Like text_table, but the two name columns are left-aligned.
        table = [self._headers(), *self._rows()]
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        return "\n".join(
            "  "
            + "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in table
        )

    def _repr_html_(self) -> str:
        def row(tag: str, cells: list[str]) -> str:
            return "<tr>" + "".join(f"<{tag}>{_html_text(c)}</{tag}>" for c in cells) + "</tr>"

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
    sections: tuple[Section, ...] = attrs.field(converter=_sections)
    facts: tuple[tuple[str, FactValue], ...] = attrs.field(default=(), converter=_facts)
    """(name, value) pairs; numbers (counts) stay numbers in ``to_dict()``."""

    @property
    def skipped(self) -> tuple[Section, ...]:
        """Sections whose analysis the data could not answer (each holds a :class:`Note`)."""
        return tuple(s for s in self.sections if s.kind == "skipped")

    def to_dict(self) -> dict[str, Any]:
        """``{"title", "facts", "sections": [{"heading", "kind", "result"}]}``, JSON-ready."""
        return {
            "title": self.title,
            "facts": dict(self.facts),
            "sections": [s.to_dict() for s in self.sections],
        }

    def __str__(self) -> str:
        return render(self, "text")


# --------------------------------------------------------------------------- building


def _primary(selected: Sequence[Milestone]) -> Milestone:
    """The milestone the levers and the trend are about: the first basic one selected."""
    return next((m for m in selected if m.kind is MilestoneKind.BASIC), selected[0])


def _heading(milestone: Milestone) -> str:
    if milestone.kind is MilestoneKind.UPGRADE:
        # Which plans are "before" and "after" is the milestone's to say, not ours.
        start = (
            milestone.start.isoformat()
            if isinstance(milestone.start, datetime)
            else milestone.start.describe()
        )
        return (
            f"{MEASURES[milestone.kind]}: {milestone.name} "
            f"(from {start} to {milestone.reached.describe()})"
        )
    return f"{MEASURES[milestone.kind]}: {milestone.name}"


def build_report(
    source: Source,
    config: Config,
    *,
    milestones: Sequence[str] = (),
    by: str | Condition | None = None,
    per: Per | None = None,
    as_of: datetime | str | None = None,
    period: Period | None = "month",
    bootstrap: int = 200,
    seed: int = 0,
    title: str = "Time to Value report",
    facts: Iterable[tuple[str, FactValue]] | Mapping[str, FactValue] = (),
    progress: Callable[[str], object] | None = None,
) -> Report:
    """Run every analysis *config* defines over *source* and collect the results.

    The sections, in order:

    * an :class:`Overview` of every measure, then the distribution of the time
      to each selected milestone (``milestones``: names; default every
      milestone of the configuration), with the configuration's speed bands;
    * with ``by`` (a start-event property, or an event condition for an
      intervention): a :func:`~ttvkit.compare` for each selected milestone;
    * with ``[analysis] interventions``: the :func:`~ttvkit.impact` ranking on
      the *primary* milestone — the first selected one of kind ``basic``, else
      the first selected;
    * with ``period`` (not ``None``): :func:`~ttvkit.cohorts` of the primary milestone;
    * with ``[analysis] journey``: the :func:`~ttvkit.journey`;
    * with ``[satisfaction]``: :func:`~ttvkit.satisfaction` (needs ``[bands]``).

    Every analysis uses the same ``as_of`` (default: the source's latest
    event) and ``per`` (default: the configuration's). What you asked for by
    name (``milestones``, ``by``) raises when the data cannot answer it;
    the other sections become a ``skipped`` section holding a :class:`Note`
    with the reason, unless nothing at all could be computed, which raises the
    first error. Configuration problems raise
    :class:`~ttvkit.errors.ConfigurationError`.

    With ``milestones`` named, every section is about them only: the journey
    keeps the selected stages (and is left out with fewer than two), and
    satisfaction is left out unless its milestone is selected. *progress*,
    when given, is called with each section's heading before it is computed
    (the command line shows it on a terminal).
    """
    if not isinstance(config, Config):
        raise ConfigurationError(f"config={config!r}: pass a ttvkit.config.Config")
    if not config.milestones:
        raise ConfigurationError(
            "the configuration defines no milestones; add a [milestones.NAME] table "
            "with at least 'reached'"
        )
    explicit = bool(milestones)
    names = list(dict.fromkeys(milestones)) if explicit else list(config.milestones)
    selected = [config.milestone(n) for n in names]
    per = check_per(config.per if per is None else per)
    if config.satisfaction_milestone is not None and config.bands is None:
        raise ConfigurationError(
            "[satisfaction] groups scores by speed class and needs [bands] "
            "(e.g. immediate = '5m', short = '7d')"
        )
    landmark = config.landmark or DEFAULT_LANDMARK
    within = config.within or DEFAULT_WITHIN
    primary = _primary(selected)

    sections: list[Section] = []
    errors: list[TTVError] = []

    def step(heading: str) -> None:
        if progress is not None:
            progress(heading)

    def lenient(heading: str, compute: Callable[[], ReportResult]) -> None:
        step(heading)
        try:
            sections.append(Section(heading, compute()))
        except AnalysisError as exc:
            errors.append(exc)
            sections.append(Section(heading, Note(f"not computed: {exc}"), kind="skipped"))

    with as_store(source) as store:
        when = resolve_as_of(store, as_of)
        if when is None:
            raise AnalysisError("the source holds no events; track or import some first")

        distributions: list[TTVDistribution] = []
        for m in selected:

            def measure(m: Milestone = m) -> TTVDistribution:
                return time_to_value(store, m, as_of=when, per=per, bands=config.bands)

            if explicit:
                step(_heading(m))
                distributions.append(measure())
                sections.append(Section(_heading(m), distributions[-1]))
            else:
                lenient(_heading(m), measure)
                result = sections[-1].result
                if isinstance(result, TTVDistribution):
                    distributions.append(result)
        if by is not None:
            for m in selected:
                step(f"{_heading(m)}, by {by if isinstance(by, str) else by.describe()}")
                comparison = compare(
                    store,
                    m,
                    by,
                    as_of=when,
                    per=per,
                    landmark=landmark,
                    within=within,
                    bootstrap=bootstrap,
                    seed=seed,
                )
                sections.append(Section(f"{_heading(m)}, by {comparison.by}", comparison))
        if config.interventions:
            lenient(
                f"What shortens {MEASURES[primary.kind].lower()}: {primary.name}",
                lambda: impact(
                    store,
                    primary,
                    list(config.interventions),
                    as_of=when,
                    per=per,
                    landmark=landmark,
                    within=within,
                    bootstrap=bootstrap,
                    seed=seed,
                ),
            )
        if period is not None:
            lenient(
                f"Cohorts (the trend): {primary.name}",
                lambda: cohorts(store, primary, period, as_of=when, per=per, within=within),
            )
        journey_names = [n for n in config.journey if not explicit or n in names]
        if len(journey_names) >= 2 or (journey_names and not explicit):
            stages = [config.milestone(n) for n in journey_names]
            lenient(
                "Value in stages: " + " -> ".join(journey_names),
                lambda: journey(store, stages, as_of=when, per=per),
            )
        if (
            config.satisfaction_milestone is not None
            and config.bands is not None
            and (not explicit or config.satisfaction_milestone in names)
        ):
            target, bands = config.milestone(config.satisfaction_milestone), config.bands
            lenient(
                f"Customer satisfaction: {target.name}",
                lambda: satisfaction(
                    store,
                    target,
                    config.survey,
                    config.score,
                    bands=bands,
                    as_of=when,
                    per=per,
                ),
            )

    if errors and len(errors) == len(sections):
        raise errors[0]
    if distributions:
        sections.insert(0, Section("Overview", Overview(distributions, within)))
    all_facts = [*_facts(facts), ("as of", when.isoformat()), ("per", per)]
    return Report(title, sections, all_facts)


# --------------------------------------------------------------------------- rendering

# Control characters (but newline and tab) and the bidirectional overrides
# that reorder what a terminal or browser shows: data must not steer either.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What starts or ends inline Markdown constructs (emphasis, links, code, HTML, tables).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>#|~!&])")


def _safe(text: str) -> str:
    """*text* with control characters shown as escapes, e.g. ``\\x1b``."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)


def _one_line(text: str) -> str:
    return " ".join(_safe(text).split())


def _html_text(text: str) -> str:
    return html.escape(_safe(text), quote=True)


def _md_inline(text: str) -> str:
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _one_line(text))


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
    title = _one_line(report.title)
    lines = [title, "=" * len(title)]
    width = max((len(k) for k, _ in report.facts), default=0)
    lines += [f"{_one_line(k).ljust(width)}  {_one_line(fact_text(v))}" for k, v in report.facts]
    for section in report.sections:
        heading = _one_line(section.heading)
        lines += ["", heading, "-" * len(heading), _safe(str(section.result))]
    return "\n".join(lines) + "\n"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _markdown(report: Report) -> str:
    lines = [f"# {_md_inline(report.title)}", ""]
    lines += [f"- **{_md_inline(k)}:** {_md_inline(fact_text(v))}" for k, v in report.facts]
    for section in report.sections:
        body = _safe(str(section.result))
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
    return json.dumps(_finite(report.to_dict()), indent=2, ensure_ascii=False) + "\n"


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
    alt = _html_text(f"chart: {section.heading}")
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"></figure>'


def _section_body(section: Section) -> str:
    if section.kind == "skipped":
        return f'<p class="skipped">{_html_text(str(section.result))}</p>'
    if section.kind == "note":
        return f"<p>{_html_text(str(section.result))}</p>"
    to_html = getattr(section.result, "_repr_html_", None)
    if callable(to_html):
        fragment = to_html()
        if isinstance(fragment, str):
            # Escaped already; control characters are still invalid in HTML.
            return _safe(fragment)
    return f"<pre>{_html_text(str(section.result))}</pre>"


def _html(report: Report) -> str:
    to_png = _png_renderer()
    title = _html_text(report.title)
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
            f"<tr><th>{_html_text(k)}</th><td>{_html_text(fact_text(v))}</td></tr>"
            for k, v in report.facts
        )
        parts.append(f'<table class="facts"><tbody>{rows}</tbody></table>')
    if to_png is None and charts_left_out(report):
        parts.append(f'<p class="skipped">{_html_text(CHARTS_LEFT_OUT)}</p>')
    if report.sections:
        items = "".join(
            f'<li><a href="#section-{i}">{_html_text(s.heading)}</a></li>'
            for i, s in enumerate(report.sections, start=1)
        )
        parts.append(f"<nav><ol>{items}</ol></nav>")
    for i, section in enumerate(report.sections, start=1):
        parts.append(
            f'<section id="section-{i}" class="{html.escape(section.kind, quote=True)}">'
            f"<h2>{_html_text(section.heading)}</h2>"
            f"{_section_body(section)}{_figure(to_png, section)}</section>"
        )
    parts += [
        f"<footer>Made with ttvkit {html.escape(__version__)}.</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
