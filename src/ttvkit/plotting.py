"""Plots of results (``ttvkit[plot]``): :func:`plot` for notebooks, :func:`to_png` for reports.

:func:`plot` draws any result on a matplotlib ``Axes`` (a new pyplot figure
when none is given) and returns it, so a notebook can keep styling it:

* :class:`~ttvkit.TTVDistribution` — the share who reached the milestone by
  each time (1 − S(t), a Kaplan–Meier step curve), its confidence band, and
  the median marked;
* :class:`~ttvkit.Comparison` — one such curve per group, the legend giving
  n and median, the log-rank p-value in the title, the landmark marked;
* :class:`~ttvkit.CohortTable` — the trend: median per cohort with its
  confidence interval, and the share reaching value within the horizon on a
  second axis; young cohorts drawn hollow;
* :class:`~ttvkit.JourneyReport` — a funnel: the share of starters who
  completed each stage, with the median time from the previous stage;
* :class:`~ttvkit.ImpactReport` — each intervention's effect on the share
  reaching value within the horizon, with its confidence interval;
  significant ones (Holm) in colour;
* :class:`~ttvkit.SatisfactionReport` — the mean score per speed class, with n.

:func:`to_png` renders the same plot to PNG bytes on a standalone
``matplotlib.figure.Figure`` (the Agg renderer, no pyplot state, nothing
shown and the user's backend untouched); :func:`save_png` writes them to a
file. matplotlib is imported inside the functions: ``import ttvkit`` never
needs it, and a missing install raises
:class:`~ttvkit.errors.MissingDependencyError` naming the extra.

Text that comes from data (milestone, group and stage names, interventions)
is drawn literally: a ``$`` never turns on matplotlib's math mode, control
characters are dropped and long names are shortened.
"""

from __future__ import annotations

import bisect
import inspect
import io
import math
import os
import threading
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ttvkit._format import (
    NOT_REACHED,
    UNBOUNDED,
    ci_name,
    format_duration,
    format_p,
    label_text,
    median_text,
    plural,
)
from ttvkit._optional import require
from ttvkit.errors import AnalysisError
from ttvkit.milestones import Speed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ttvkit.results import (
        CohortTable,
        Comparison,
        ImpactReport,
        JourneyReport,
        SatisfactionReport,
        TTVDistribution,
    )
    from ttvkit.stats import SurvivalCurve

__all__ = ["Unit", "plot", "save_png", "to_png"]

Unit: TypeAlias = Literal["seconds", "minutes", "hours", "days", "weeks"]
"""The time unit of an axis; chosen from the data when not given."""

_UNIT_SECONDS: dict[str, float] = {
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
    "weeks": 604800.0,
}

# Muted colours for what is context rather than data (guides, not-significant bars).
_GUIDE = "0.45"
_MUTED = "0.72"
_LIGHT = "0.88"
_LABEL_LIMIT = 48
_RENDER_LOCK = threading.Lock()


def _require_matplotlib(feature: str) -> ModuleType:
    """Import matplotlib for *feature*, or say which extra installs it."""
    return require("matplotlib", "plot", feature)


# --------------------------------------------------------------------------- entry points


def plot(result: object, ax: Axes | None = None, **options: Any) -> Axes:
    """Draw *result* on *ax* (a new pyplot figure when ``None``) and return the axes.

    Options, by result type (all keyword-only, all optional):

    * ``TTVDistribution``: ``xmax`` (a timedelta: where the time axis ends;
      by default where the curve has done 99 % of its rising), ``unit``
      (``"seconds"`` … ``"weeks"``), ``ci`` (draw the band, default True),
      ``color``, ``label``, ``title``;
    * ``Comparison``: ``xmax``, ``unit``, ``ci``, ``title``;
    * ``CohortTable``: ``unit``, ``title``;
    * ``JourneyReport``, ``ImpactReport``, ``SatisfactionReport``: ``title``.

    Raises :class:`~ttvkit.errors.AnalysisError` for another type of result
    or an option it does not take.
    """
    _require_matplotlib("plot()")
    draw = _plotter(result, options)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
    draw(result, ax, **options)
    return ax


def to_png(
    result: object,
    *,
    width: float = 7.0,
    height: float = 4.0,
    dpi: float = 110,
    **options: Any,
) -> bytes:
    """The plot of *result* as PNG bytes, *width* × *height* inches at *dpi*.

    Takes the options of :func:`plot`. Uses a standalone figure, so it leaves
    pyplot and the user's backend alone; renders one at a time (a lock), so
    threads of a web server may call it.
    """
    _require_matplotlib("to_png()")
    from matplotlib.figure import Figure

    for name, value in (("width", width), ("height", height), ("dpi", dpi)):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 < value < math.inf
        ):
            raise AnalysisError(f"to_png({name}={value!r}): must be a positive number")
    draw = _plotter(result, options)
    buffer = io.BytesIO()
    # matplotlib is not thread-safe, and catch_warnings swaps a process-wide
    # filter list: one render at a time keeps both sound in a threaded server.
    with _RENDER_LOCK, warnings.catch_warnings():
        # A name in a script the default font lacks (漢字, an emoji) is drawn as
        # a box; that is the expected rendering of hostile or foreign data, not
        # something a report should stop or warn about.
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        draw(result, fig.add_subplot(), **options)
        # No "Software" chunk (matplotlib's version): with no timestamp either,
        # the same result gives the same bytes from run to run.
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def save_png(
    result: object,
    path: str | os.PathLike[str],
    *,
    width: float = 7.0,
    height: float = 4.0,
    dpi: float = 110,
    **options: Any,
) -> None:
    """Write the plot of *result* to *path* as a PNG (see :func:`to_png`)."""
    data = to_png(result, width=width, height=height, dpi=dpi, **options)
    with open(path, "wb") as f:
        f.write(data)


_Plotter: TypeAlias = Callable[..., None]


def _plotter(result: object, options: dict[str, Any]) -> _Plotter:
    # Looked up by the result's kind (its display mixin's class attribute), so
    # this module needs no result class at run time.
    kind = getattr(type(result), "kind", None)
    draw = _PLOTTERS[kind][1] if isinstance(kind, str) and kind in _PLOTTERS else None
    if draw is None:
        names = ", ".join(name for name, _ in _PLOTTERS.values())
        raise AnalysisError(f"cannot plot a {type(result).__name__}: pass one of {names}")
    accepted = [
        p.name
        for p in inspect.signature(draw).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise AnalysisError(
            f"plot() of a {type(result).__name__} takes the options {', '.join(accepted)}; "
            f"not {', '.join(unknown)}"
        )
    return draw


# --------------------------------------------------------------------------- helpers


def _text(value: object, limit: int = _LABEL_LIMIT) -> str:
    """Data as literal matplotlib text: no math mode, no control characters, not too long."""
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(value)
    ).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    # matplotlib reads $...$ as math; an escaped dollar is drawn as a dollar.
    return text.replace("$", r"\$")


# Points between the axes and a title with a one-row legend under it.
_TITLE_PAD_OVER_LEGEND = 20.0


def _legend_above(ax: Axes, handles: Sequence[Any]) -> None:
    """The legend in one row between the title and the axes, where it hides no data.

    The title must then be set with ``pad=_TITLE_PAD_OVER_LEGEND``.
    """
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=len(handles),
        fontsize="x-small",
        frameon=False,
        borderaxespad=0.3,
        handlelength=1.6,
        columnspacing=1.2,
    )


def _check_unit(unit: object) -> Unit | None:
    if unit is None or unit in _UNIT_SECONDS:
        return unit  # type: ignore[return-value]
    raise AnalysisError(f"unit={unit!r}: use one of {', '.join(_UNIT_SECONDS)}")


def _auto_unit(seconds: float) -> Unit:
    """The unit that puts the axis's end at a readable number (2 to about 120)."""
    if seconds <= 2 * 60:
        return "seconds"
    if seconds <= 2 * 3600:
        return "minutes"
    if seconds <= 3 * 86400:
        return "hours"
    if seconds <= 120 * 86400:
        return "days"
    return "weeks"


def _view_end(curves: Sequence[SurvivalCurve], xmax: object) -> float:
    """Where the time axis ends, in seconds.

    By default, a little after the time by which every curve has done 99 % of
    its rising: a long flat tail (customers watched for months after the last
    one reached value) would squeeze the part that matters into a corner.
    """
    if xmax is not None:
        if not isinstance(xmax, timedelta) or xmax <= timedelta(0):
            raise AnalysisError(f"xmax={xmax!r}: pass a positive datetime.timedelta")
        return xmax.total_seconds()
    last = max((c.times[-1] for c in curves if c.times), default=0.0)
    end = 0.0
    for c in curves:
        if not c.times:
            continue
        final = 1.0 - c.survival[-1]
        if final > 0:
            target = 0.99 * final
            end = max(
                end, next(t for t, s in zip(c.times, c.survival, strict=True) if 1 - s >= target)
            )
        lo, hi = c.median_ci
        end = max([end, *(b for b in (lo, hi) if not math.isinf(b))])
    end = min(last, end * 1.15) if end > 0 else last
    return end if end > 0 else 1.0


def _share_axis(ax: Axes, label: str) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(label)


def _style(ax: Axes) -> None:
    ax.grid(True, color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _draw_curve(
    ax: Axes,
    curve: SurvivalCurve,
    scale: float,
    *,
    ci: bool,
    color: str | None,
    label: str | None,
    view_end: float,
) -> str:
    """The share reached, 1 − S(t), as a step curve from (0, 0); returns its colour."""
    xs = [0.0, *(t / scale for t in curve.times)]
    ys = [0.0, *(1.0 - s for s in curve.survival)]
    # Hold the last level to the edge of the view, as Kaplan–Meier does.
    if xs[-1] < view_end / scale:
        xs.append(view_end / scale)
        ys.append(ys[-1])
    (line,) = ax.step(xs, ys, where="post", color=color, label=label, linewidth=1.8)
    from matplotlib.colors import to_hex

    drawn = to_hex(line.get_color())
    if ci:
        lows = [0.0, *(1.0 - u for u in curve.upper)]
        highs = [0.0, *(1.0 - lo for lo in curve.lower)]
        if len(lows) < len(xs):
            lows.append(lows[-1])
            highs.append(highs[-1])
        ax.fill_between(xs, lows, highs, step="post", color=drawn, alpha=0.16, linewidth=0)
    return drawn


def _time_axis(ax: Axes, unit: Unit, view_end: float, curves: Sequence[SurvivalCurve]) -> None:
    """The time axis up to *view_end*; the label says so when data run further."""
    ax.set_xlim(0.0, view_end / _UNIT_SECONDS[unit])
    label = f"time since start ({unit})"
    last = max((c.times[-1] for c in curves if c.times), default=0.0)
    if last > view_end * 1.0001:
        label += (
            f"; axis cut at {format_duration(timedelta(seconds=view_end))}, "
            f"data run to {format_duration(timedelta(seconds=last))}"
        )
    ax.set_xlabel(label)


AT_RISK_GID = "ttv-at-risk"
"""The ``gid`` of the numbers-at-risk texts under a Kaplan–Meier chart's time axis."""


def _at_risk_at(curve: SurvivalCurve, t: float) -> float:
    """Customers still watched and on the way at *t* seconds (duration >= t)."""
    i = bisect.bisect_left(curve.times, t)
    return curve.at_risk[i] if i < len(curve.times) else 0


def _numbers_at_risk(
    ax: Axes, rows: Sequence[tuple[str, SurvivalCurve, str | None]], scale: float
) -> None:
    """The numbers at risk at each tick, one line per curve, under the time axis
    (as survival plots in papers show them): how much each part of the curve rests on."""
    low, high = ax.get_xlim()
    ticks = [x for x in ax.get_xticks() if low - 1e-9 <= x <= high + 1e-9]
    axis = ax.get_xaxis_transform()
    for line, (name, curve, color) in enumerate(rows):
        offset = -44 - 11 * line
        ax.annotate(
            f"at risk{'' if not name else ' · ' + name}",
            xy=(0.0, 0.0),
            xycoords="axes fraction",
            xytext=(-16, offset),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize="x-small",
            color=color or _GUIDE,
            gid=AT_RISK_GID,
            annotation_clip=False,
        )
        for x in ticks:
            n = _at_risk_at(curve, x * scale)
            ax.annotate(
                f"{n:,.0f}",
                xy=(x, 0.0),
                xycoords=axis,
                xytext=(0, offset),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize="x-small",
                color=color or "0.25",
                gid=AT_RISK_GID,
                annotation_clip=False,
            )


# --------------------------------------------------------------------------- distribution


def _plot_distribution(
    dist: TTVDistribution,
    ax: Axes,
    *,
    xmax: timedelta | None = None,
    unit: Unit | None = None,
    ci: bool = True,
    color: str | None = None,
    label: str | None = None,
    title: str | None = None,
) -> None:
    curve = dist.curve
    view_end = _view_end([curve], xmax)
    unit = _check_unit(unit) or _auto_unit(view_end)
    scale = _UNIT_SECONDS[unit]
    _style(ax)
    drawn = _draw_curve(
        ax,
        curve,
        scale,
        ci=ci,
        color=color,
        label=None if label is None else _text(label),
        view_end=view_end,
    )
    median = dist.median
    if median is None:
        ax.axhline(0.5, linestyle="--", linewidth=1, color=_GUIDE)
        ax.text(
            0.98,
            0.52,
            f"median {NOT_REACHED}",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize="small",
            color=_GUIDE,
        )
    else:
        x = median.total_seconds() / scale
        ax.plot([0.0, x, x], [0.5, 0.5, 0.0], linestyle="--", linewidth=1, color=_GUIDE)
        lo, hi = dist.median_ci
        text = f"median {format_duration(median)}"
        if ci and lo is not None:
            right = (hi.total_seconds() if hi is not None else view_end) / scale
            ax.errorbar(
                [x],
                [0.5],
                xerr=[[x - lo.total_seconds() / scale], [right - x]],
                fmt="o",
                markersize=4,
                capsize=3,
                color=drawn,
                linewidth=1.2,
            )
            level = ci_name(curve.alpha)
            upper = UNBOUNDED if hi is None else format_duration(hi)
            text += f"\n({level} {format_duration(lo)} to {upper})"
        ax.annotate(
            text,
            xy=(x, 0.5),
            xytext=(8, -8),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize="small",
        )
    _share_axis(ax, "share reached")
    _time_axis(ax, unit, view_end, [curve])
    _numbers_at_risk(ax, [("", curve, None)], scale)
    ax.set_title(
        _text(title, 120)
        if title is not None
        else f"Time to value: {_text(dist.milestone.name)}\n"
        f"{plural(dist.n, 'customer')}, {dist.n_reached} reached, "
        f"{dist.n_censored} still on the way",
        fontsize="medium",
    )
    if label is not None:
        ax.legend(loc="lower right", fontsize="small", frameon=False)


# --------------------------------------------------------------------------- comparison


def _plot_comparison(
    result: Comparison,
    ax: Axes,
    *,
    xmax: timedelta | None = None,
    unit: Unit | None = None,
    ci: bool = True,
    title: str | None = None,
) -> None:
    curves = [g.distribution.curve for g in result.groups]
    view_end = _view_end(curves, xmax)
    unit = _check_unit(unit) or _auto_unit(view_end)
    scale = _UNIT_SECONDS[unit]
    _style(ax)
    ax.axhline(0.5, linestyle=":", linewidth=1, color=_GUIDE)
    at_risk_rows: list[tuple[str, SurvivalCurve, str | None]] = []
    for g in result.groups:
        d = g.distribution
        reference = " (reference)" if result.is_reference(g.label) else ""
        name = _text(label_text(g.label), 32) + reference
        median = d.median
        label = f"{name}: n {d.n}, median {median_text(median)}"
        drawn = _draw_curve(ax, d.curve, scale, ci=ci, color=None, label=label, view_end=view_end)
        at_risk_rows.append((_text(label_text(g.label), 16), d.curve, drawn))
        if median is not None:
            ax.plot([median.total_seconds() / scale], [0.5], "o", markersize=4, color=drawn)
    if result.landmark is not None:
        ax.axvline(
            result.landmark.total_seconds() / scale,
            linestyle="--",
            linewidth=1,
            color=_GUIDE,
            label=f"landmark {format_duration(result.landmark)} (exposure counted by)",
        )
    _share_axis(ax, "share reached")
    _time_axis(ax, unit, view_end, curves)
    _numbers_at_risk(ax, at_risk_rows, scale)
    ax.legend(loc="lower right", fontsize="small", frameon=True, framealpha=0.9)
    verdict = "the groups differ" if result.significant else "no clear difference"
    ax.set_title(
        _text(title, 120)
        if title is not None
        else f"{_text(result.milestone.name)} by {_text(result.by)}\n"
        f"log-rank p {format_p(result.p_value)}: {verdict} (α {result.alpha:g})",
        fontsize="medium",
    )


# --------------------------------------------------------------------------- cohorts


def _cohort_label(start: datetime, period: str) -> str:
    if period == "year":
        return f"{start.year}"
    if period == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    if period == "month":
        return start.strftime("%Y-%m")
    return start.date().isoformat()


def _plot_cohorts(
    result: CohortTable,
    ax: Axes,
    *,
    unit: Unit | None = None,
    title: str | None = None,
) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import PercentFormatter

    rows = result.rows
    xs = list(range(len(rows)))
    medians_s = [r.median.total_seconds() for r in rows if r.median is not None]
    uppers_s = [
        hi.total_seconds()
        for r in rows
        if (hi := r.distribution.median_ci[1]) is not None and r.median is not None
    ]
    # The trend is the point: small cohorts have huge intervals, so the axis
    # stops at 2.5x the largest median and longer whiskers run off the top
    # (a caret marks them).
    top = max(medians_s, default=0.0) * 2.5
    top = min(top, max(uppers_s, default=top) * 1.05) if top > 0 else 0.0
    top = top if top > 0 else 3600.0
    unit = _check_unit(unit) or _auto_unit(top)
    scale = _UNIT_SECONDS[unit]
    ceiling = top / scale
    _style(ax)
    median_color, share_color = "C0", "C1"
    medians = [math.nan if r.median is None else r.median.total_seconds() / scale for r in rows]
    ax.plot(xs, medians, color=median_color, linewidth=1.2, alpha=0.6)
    beyond = False
    for x, r, m in zip(xs, rows, medians, strict=True):
        face = "white" if r.young else median_color
        if math.isnan(m):
            # Not reached: no height to draw at; a caret at the top says so.
            ax.plot([x], [ceiling], "^", color=median_color, markerfacecolor=face, markersize=7)
            beyond = True
            continue
        lo, hi = r.distribution.median_ci
        low = 0.0 if lo is None else lo.total_seconds() / scale
        high = math.inf if hi is None else hi.total_seconds() / scale
        ax.errorbar(
            [x],
            [min(m, ceiling)],
            yerr=[[max(min(m, ceiling) - low, 0.0)], [max(min(high, ceiling) - m, 0.0)]],
            fmt="o",
            color=median_color,
            markerfacecolor=face,
            markersize=6,
            capsize=3,
            linewidth=1,
        )
        if high > ceiling:
            ax.plot([x], [ceiling], "^", color=median_color, markersize=4)
            beyond = True
    ax.set_ylim(0.0, ceiling * 1.03)
    ax.set_ylabel(f"median time to value ({unit})", color=median_color)
    shares = ax.twinx()
    shares.plot(
        xs,
        [math.nan if r.share_within is None else r.share_within for r in rows],
        color=share_color,
        linestyle="--",
        linewidth=1.2,
        alpha=0.8,
    )
    for x, r in zip(xs, rows, strict=True):
        if r.share_within is None:
            continue
        shares.plot(
            [x],
            [r.share_within],
            "s",
            color=share_color,
            markerfacecolor="white" if r.young else share_color,
            markersize=5,
        )
    within = format_duration(result.within)
    shares.set_ylim(0.0, 1.05)
    shares.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    shares.set_ylabel(f"reached within {within}", color=share_color)
    shares.spines["top"].set_visible(False)
    labels = [_cohort_label(r.start, result.period) for r in rows]
    step = max(1, math.ceil(len(rows) / 14))  # at most ~14 tick labels
    slanted = len(rows) > 6
    ax.set_xticks(
        xs[::step],
        labels[::step],
        rotation=40 if slanted else 0,
        ha="right" if slanted else "center",
    )
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_xlabel(f"{_text(result.period)} cohort (by start)")
    handles = [
        Line2D([], [], color=median_color, marker="o", label="median, with CI"),
        Line2D([], [], color=share_color, marker="s", linestyle="--", label=f"within {within}"),
    ]
    if any(r.young for r in rows):
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                markerfacecolor="white",
                linestyle="none",
                label="hollow: young, may still change",
            )
        )
    if beyond:
        handles.append(
            Line2D(
                [],
                [],
                color=median_color,
                marker="^",
                linestyle="none",
                label="beyond the axis or not reached",
            )
        )
    _legend_above(ax, handles)
    ax.set_title(
        _text(title, 120)
        if title is not None
        else f"Time to value by {_text(result.period)} cohort: {_text(result.milestone.name)}",
        fontsize="medium",
        pad=_TITLE_PAD_OVER_LEGEND,
    )


# --------------------------------------------------------------------------- journey


def _plot_journey(result: JourneyReport, ax: Axes, *, title: str | None = None) -> None:
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    stages = result.stages
    started = result.n_started or 1
    ys = list(range(len(stages)))
    entered = [s.n_entered / started for s in stages]
    completed = [s.n_reached / started for s in stages]
    stall = result.stall_by_share
    _style(ax)
    ax.grid(False, axis="y")
    ax.barh(ys, entered, height=0.62, color=_LIGHT)
    ax.barh(ys, completed, height=0.62, color=["C3" if s is stall else "C0" for s in stages])
    for y, s, done in zip(ys, stages, completed, strict=True):
        share = "-" if s.share_reached is None else f"{s.share_reached:.0%}"
        since = "start" if y == 0 else "previous"
        median = (
            ""
            if s.distribution is None
            else f" · median {NOT_REACHED}"
            if s.median is None
            else f" · median {format_duration(s.median)} from {since}"
        )
        text = f"{s.n_reached} of {s.n_entered} ({share}){median}"
        inside = done > 0.55
        ax.text(
            done - 0.01 if inside else done + 0.01,
            y,
            text,
            ha="right" if inside else "left",
            va="center",
            fontsize="small",
            color="white" if inside else "black",
        )
    ax.set_yticks(
        ys, [f"{i}. {_text(s.milestone.name, 28)}" for i, s in enumerate(stages, start=1)]
    )
    ax.invert_yaxis()  # the journey reads top to bottom
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(
        "share of the customer who started"
        if result.n_started == 1
        else f"share of the {result.n_started} customers who started"
    )
    _legend_above(
        ax,
        [
            Patch(color="C0", label="completed"),
            Patch(color="C3", label="completed: lowest completion"),
            Patch(color=_LIGHT, label="entered"),
        ],
    )
    ax.set_title(
        _text(title, 120)
        if title is not None
        else _text("Journey: " + " → ".join(s.name for s in result.journey.stages), 90),
        fontsize="medium",
        pad=_TITLE_PAD_OVER_LEGEND,
    )


# --------------------------------------------------------------------------- impact


def _plot_impact(result: ImpactReport, ax: Axes, *, title: str | None = None) -> None:
    from matplotlib.patches import Patch

    rows = result.rows
    ys = list(range(len(rows)))
    _style(ax)
    ax.grid(False, axis="y")
    ax.axvline(0.0, color="0.3", linewidth=1)
    extent = 1.0
    labels = []
    for y, r in zip(ys, rows, strict=True):
        name = _text(r.intervention, 32)
        if r.effect is None or r.p_adjusted is None or r.n_exposed == 0:
            labels.append(f"{name}\nnot testable" if r.tier == 3 else f"{name}\nno effect known")
            continue
        effect = r.effect * 100
        labels.append(
            f"{name}\n{effect:+.1f} pts, p (Holm) {format_p(r.p_adjusted)}, "
            f"{r.n_exposed} exposed by {format_duration(r.landmark)}"
        )
        ax.barh([y], [effect], height=0.6, color="C0" if r.significant else _MUTED)
        extent = max(extent, abs(effect))
        ci = r.effect_ci
        if ci is not None:
            lo, hi = ci[0] * 100, ci[1] * 100
            ax.errorbar(
                [effect],
                [y],
                xerr=[[effect - lo], [hi - effect]],
                fmt="none",
                ecolor="0.2",
                capsize=3,
                linewidth=1,
            )
            extent = max(extent, abs(lo), abs(hi))
    ax.set_xlim(-extent * 1.08, extent * 1.08)
    ax.set_yticks(ys, labels, fontsize="small")
    ax.set_ylim(len(rows) - 0.5, -0.5)  # rank 1 on top
    within = format_duration(result.within)
    ax.set_xlabel(f"Δ share reaching value within {within}, exposed − not (points)")
    _legend_above(
        ax,
        [
            Patch(color="C0", label="significant (Holm)"),
            Patch(color=_MUTED, label="not significant"),
        ],
    )
    ax.set_title(
        _text(title, 120)
        if title is not None
        else f"What shortens time to value: {_text(result.milestone.name)}",
        fontsize="medium",
        pad=_TITLE_PAD_OVER_LEGEND,
    )


# --------------------------------------------------------------------------- satisfaction


def _plot_satisfaction(result: SatisfactionReport, ax: Axes, *, title: str | None = None) -> None:
    groups = result.groups
    bands = result.bands
    bounds = {
        Speed.IMMEDIATE: f"≤ {format_duration(bands.immediate)}",
        Speed.SHORT: f"≤ {format_duration(bands.short)}",
        Speed.LONG: f"> {format_duration(bands.short)}",
        Speed.NOT_YET: "still on the way",
    }
    xs = list(range(len(groups)))
    top = max((max(g.scores) for g in groups if g.scores), default=1.0)
    top = top if top > 0 else 1.0
    _style(ax)
    ax.grid(False, axis="x")
    colours = ["C2", "C0", "C1", _MUTED]
    for x, g in zip(xs, groups, strict=True):
        if g.mean is None:
            ax.text(
                x, top * 0.04, "no scores", ha="center", va="bottom", fontsize="small", color=_GUIDE
            )
            continue
        ax.bar([x], [g.mean], width=0.6, color=colours[x % len(colours)])
        ax.text(
            x,
            g.mean + top * 0.02,
            f"{g.mean:.2f}\nn {g.n}",
            ha="center",
            va="bottom",
            fontsize="small",
        )
    ax.set_xticks(
        xs,
        [f"{g.speed.value.replace('_', ' ')}\n{bounds.get(g.speed, '')}" for g in groups],
    )
    ax.set_ylim(0.0, top * 1.2)
    ax.set_ylabel(f"mean {_text(result.score, 24)}")
    c = result.correlation
    subtitle = (
        "too few customers for a rank correlation"
        if c is None
        else f"Spearman ρ(TTV, score) {c.rho:+.2f}, n {c.n}, p {format_p(c.p_value)}"
    )
    ax.set_title(
        _text(title, 120)
        if title is not None
        else f"Satisfaction by speed to {_text(result.milestone.name)}\n{subtitle}",
        fontsize="medium",
    )


# kind -> (the result's class name, for messages; its plotter)
_PLOTTERS: dict[str, tuple[str, _Plotter]] = {
    "time_to_value": ("TTVDistribution", _plot_distribution),
    "comparison": ("Comparison", _plot_comparison),
    "cohorts": ("CohortTable", _plot_cohorts),
    "journey": ("JourneyReport", _plot_journey),
    "impact": ("ImpactReport", _plot_impact),
    "satisfaction": ("SatisfactionReport", _plot_satisfaction),
}
