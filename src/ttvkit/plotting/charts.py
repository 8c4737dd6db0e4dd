"""Charts of tables: the cohort trend, the journey funnel, the impact ranking and
the score per speed class."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ttvkit._format import NOT_REACHED, format_duration, format_p, format_score
from ttvkit.milestones import Speed
from ttvkit.plotting._axes import (
    GUIDE,
    LIGHT,
    MUTED,
    TITLE_PAD_OVER_LEGEND,
    UNIT_SECONDS,
    Unit,
    auto_unit,
    check_unit,
    legend_above,
    literal_text,
    literal_title,
    tidy_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ttvkit.results import CohortTable, ImpactReport, JourneyReport, SatisfactionReport

__all__ = ["plot_cohorts", "plot_impact", "plot_journey", "plot_satisfaction"]


# --------------------------------------------------------------------------- cohorts


def _cohort_labels(result: CohortTable) -> list[str]:
    period = result.period
    if period == "year":
        return [f"{r.start.year}" for r in result.rows]
    if period == "quarter":
        return [f"{r.start.year} Q{(r.start.month - 1) // 3 + 1}" for r in result.rows]
    if period == "month":
        return [r.start.strftime("%Y-%m") for r in result.rows]
    return result.labels()  # as the table says them: with the time for periods of hours


def plot_cohorts(
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
    unit = check_unit(unit) or auto_unit(top)
    scale = UNIT_SECONDS[unit]
    ceiling = top / scale
    tidy_axes(ax)
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
    if not medians_s:  # the axis has no height to show: say why it is empty
        ax.text(
            0.5,
            0.5,
            "no cohort has reached its median yet",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=median_color,
            fontsize="small",
        )
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
    labels = _cohort_labels(result)
    step = max(1, math.ceil(len(rows) / 14))  # at most ~14 tick labels
    slanted = len(rows) > 6
    ax.set_xticks(
        xs[::step],
        labels[::step],
        rotation=40 if slanted else 0,
        ha="right" if slanted else "center",
    )
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_xlabel(f"{literal_text(result.period)} cohort (by start)")
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
    legend_above(ax, handles)
    ax.set_title(
        literal_title(title)
        if title is not None
        else f"Time to value by {literal_text(result.period)} cohort: "
        f"{literal_text(result.milestone.name)}",
        fontsize="medium",
        pad=TITLE_PAD_OVER_LEGEND,
    )


# --------------------------------------------------------------------------- journey


def plot_journey(result: JourneyReport, ax: Axes, *, title: str | None = None) -> None:
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    stages = result.stages
    started = result.n_started or 1
    ys = list(range(len(stages)))
    entered = [s.n_entered / started for s in stages]
    completed = [s.n_reached / started for s in stages]
    stall = result.stall_by_share
    tidy_axes(ax)
    ax.grid(False, axis="y")
    ax.barh(ys, entered, height=0.62, color=LIGHT)
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
        ys, [f"{i}. {literal_text(s.milestone.name, 28)}" for i, s in enumerate(stages, start=1)]
    )
    ax.invert_yaxis()  # the journey reads top to bottom
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(
        "share of the customer who started"
        if result.n_started == 1
        else f"share of the {result.n_started:,} customers who started"
    )
    legend_above(
        ax,
        [
            Patch(color="C0", label="completed"),
            Patch(color="C3", label="completed: lowest completion"),
            Patch(color=LIGHT, label="entered"),
        ],
    )
    ax.set_title(
        literal_title(title)
        if title is not None
        else literal_text("Journey: " + " → ".join(s.name for s in result.journey.stages), 90),
        fontsize="medium",
        pad=TITLE_PAD_OVER_LEGEND,
    )


# --------------------------------------------------------------------------- impact


def plot_impact(result: ImpactReport, ax: Axes, *, title: str | None = None) -> None:
    from matplotlib.patches import Patch

    rows = result.rows
    ys = list(range(len(rows)))
    tidy_axes(ax)
    ax.grid(False, axis="y")
    ax.axvline(0.0, color="0.3", linewidth=1)
    extent = 1.0
    labels = []
    for y, r in zip(ys, rows, strict=True):
        name = literal_text(r.intervention, 32)
        if r.effect is None or r.p_adjusted is None or r.n_exposed == 0:
            labels.append(f"{name}\nnot testable" if r.tier == 3 else f"{name}\nno effect known")
            continue
        effect = r.effect * 100
        labels.append(
            f"{name}\n{effect:+.1f} pts, p (Holm) {format_p(r.p_adjusted)}, "
            f"{r.n_exposed} exposed by {format_duration(r.landmark)}"
        )
        ax.barh([y], [effect], height=0.6, color="C0" if r.significant else MUTED)
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
    legend_above(
        ax,
        [
            Patch(color="C0", label="significant (Holm)"),
            Patch(color=MUTED, label="not significant"),
        ],
    )
    ax.set_title(
        literal_title(title)
        if title is not None
        else f"What shortens time to value: {literal_text(result.milestone.name)}",
        fontsize="medium",
        pad=TITLE_PAD_OVER_LEGEND,
    )


# --------------------------------------------------------------------------- satisfaction


def plot_satisfaction(result: SatisfactionReport, ax: Axes, *, title: str | None = None) -> None:
    groups = result.groups
    bands = result.bands
    bounds = {
        Speed.IMMEDIATE: f"≤ {format_duration(bands.immediate)}",
        Speed.SHORT: f"≤ {format_duration(bands.short)}",
        Speed.LONG: f"> {format_duration(bands.short)}",
        Speed.NOT_YET: "still on the way",
    }
    xs = list(range(len(groups)))
    # The axis holds 0 and every score: a scale of -2..+2 (or NPS) has negative means.
    scores = [score for g in groups for score in g.scores]
    high, low = max(0.0, *scores), min(0.0, *scores)
    span = high - low if math.isfinite(high - low) and high > low else max(-low, high) or 1.0
    tidy_axes(ax)
    ax.grid(False, axis="x")
    colours = ["C2", "C0", "C1", MUTED]
    for x, g in zip(xs, groups, strict=True):
        if g.mean is None:
            ax.text(
                x, span * 0.04, "no scores", ha="center", va="bottom", fontsize="small", color=GUIDE
            )
            continue
        ax.bar([x], [g.mean], width=0.6, color=colours[x % len(colours)])
        below = g.mean < 0  # the label at the bar's end, outside it
        ax.text(
            x,
            g.mean + (-span if below else span) * 0.02,
            f"{format_score(g.mean)}\nn {g.n:,}",
            ha="center",
            va="top" if below else "bottom",
            fontsize="small",
        )
    ax.set_xticks(
        xs,
        [f"{g.speed.value.replace('_', ' ')}\n{bounds.get(g.speed, '')}" for g in groups],
    )
    ax.set_ylim(low - span * 0.2 if low < 0 else 0.0, high + span * 0.2)
    ax.set_ylabel(f"mean {literal_text(result.score, 24)}")
    c = result.correlation
    subtitle = (
        "too few customers for a rank correlation"
        if c is None
        else f"Spearman ρ(TTV, score) {c.rho:+.2f}, n {c.n:,}, p {format_p(c.p_value)}"
    )
    ax.set_title(
        literal_title(title)
        if title is not None
        else f"Satisfaction by speed to {literal_text(result.milestone.name)}\n{subtitle}",
        fontsize="medium",
    )
