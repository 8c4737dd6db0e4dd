"""Kaplan–Meier plots: one distribution, or one curve per group of a comparison."""

from __future__ import annotations

import weakref
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import attrs

from ttvkit._format import (
    NOT_REACHED,
    UNBOUNDED,
    ci_name,
    format_duration,
    format_p,
    median_text,
)
from ttvkit.errors import InvalidArgumentError
from ttvkit.plotting._axes import (
    AT_RISK_GID,
    GUIDE,
    UNIT_SECONDS,
    Unit,
    auto_unit,
    check_ci,
    check_color,
    check_unit,
    draw_curve,
    legend_handles,
    literal_text,
    literal_title,
    numbers_at_risk,
    share_axis,
    tidy_axes,
    time_axis,
    time_view_end,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ttvkit.results import Comparison, TTVDistribution
    from ttvkit.stats import SurvivalCurve

__all__ = ["plot_comparison", "plot_distribution"]


# --------------------------------------------------------------------------- distribution


def plot_distribution(
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
    ci, color = check_ci(ci), check_color(color)
    curve = dist.curve
    # Several distributions on one axes (each with its label): one time scale,
    # the axis long enough for all, one row at risk per curve, one title.
    overlay = _OVERLAYS.get(ax)
    shown = [*(overlay.curves if overlay else ()), curve]
    view_end = time_view_end(shown, xmax)
    unit = check_unit(unit) or (overlay.unit if overlay else auto_unit(view_end))
    if overlay is not None and unit != overlay.unit:
        raise InvalidArgumentError(
            f"unit={unit!r}: these axes already show a curve in {overlay.unit}; "
            "overlay distributions in one unit"
        )
    scale = UNIT_SECONDS[unit]
    tidy_axes(ax)
    drawn = draw_curve(
        ax,
        curve,
        scale,
        ci=ci,
        color=color,
        label=None if label is None else literal_text(label),
        view_end=view_end,
    )
    median = dist.median
    if median is None:
        ax.axhline(0.5, linestyle="--", linewidth=1, color=GUIDE)
        ax.text(
            0.98,
            0.52,
            f"median {NOT_REACHED}"
            if label is None
            else f"{literal_text(label, 32)}: median {NOT_REACHED}",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize="small",
            color=GUIDE,
        )
    else:
        x = median.total_seconds() / scale
        ax.plot([0.0, x, x], [0.5, 0.5, 0.0], linestyle="--", linewidth=1, color=GUIDE)
        lo, hi = dist.median_ci
        text = f"median {format_duration(median)}"
        if label is not None:  # which curve's median, where several share the axes
            text = f"{literal_text(label, 32)}: {text}"
        if ci and lo is not None:
            # An unbounded interval runs to the view's end, which may come before
            # the median itself (a short xmax, or a curve that rises early and then
            # stays flat): then the bar has no right arm.
            right = max(x, (hi.total_seconds() if hi is not None else view_end) / scale)
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
    share_axis(ax, "share reached")
    time_axis(ax, unit, view_end, shown)
    entries = [*(overlay.entries if overlay else ()), (label, dist, drawn)]
    _OVERLAYS[ax] = _Overlay(unit, entries)
    if overlay is None:
        numbers_at_risk(ax, [("", curve, None)], scale)
        default_title = (
            f"Time to value: {literal_text(dist.milestone.name)}\n"
            f"{dist.n:,} {'customer' if dist.n == 1 else 'customers'}, "
            f"{dist.n_reached:,} reached, {dist.n_censored:,} still on the way"
        )
    else:
        for artist in [t for t in ax.texts if t.get_gid() == AT_RISK_GID]:
            artist.remove()  # drawn again, one row per curve, at the ticks of the new axis
        names = [
            literal_text(name if name is not None else d.milestone.name, 16)
            for name, d, _ in entries
        ]
        numbers_at_risk(
            ax, [(name, d.curve, c) for name, (_, d, c) in zip(names, entries, strict=True)], scale
        )
        milestones = dict.fromkeys(literal_text(d.milestone.name) for _, d, _ in entries)
        default_title = f"Time to value: {', '.join(milestones)}\n" + "; ".join(
            f"{name}: n {d.n:,}, {d.n_reached:,} reached"
            for name, (_, d, _) in zip(names, entries, strict=True)
        )
    ax.set_title(literal_title(title) if title is not None else default_title, fontsize="medium")
    if label is not None:
        ax.legend(handles=legend_handles(ax), loc="lower right", fontsize="small", frameon=False)


#: The most group curves a comparison chart draws (the reference group and the
#: largest others); the table shows every group.
MAX_CURVES: Final = 12


@attrs.frozen
class _Overlay:
    """What ``plot_distribution`` has drawn on one axes: its unit, and per curve the
    label, the distribution and the colour drawn."""

    unit: Unit
    entries: list[tuple[str | None, TTVDistribution, str]]

    @property
    def curves(self) -> list[SurvivalCurve]:
        return [d.curve for _, d, _ in self.entries]


_OVERLAYS: weakref.WeakKeyDictionary[Axes, _Overlay] = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------- comparison


def plot_comparison(
    result: Comparison,
    ax: Axes,
    *,
    xmax: timedelta | None = None,
    unit: Unit | None = None,
    ci: bool = True,
    title: str | None = None,
) -> None:
    ci = check_ci(ci)
    # Beyond a dozen curves a chart is a tangle: the reference group and the largest
    # others are drawn, and the title says how many are left to the table.
    named = list(zip(result.groups, result.group_names(), strict=True))
    if len(named) > MAX_CURVES:
        largest = sorted(
            (pair for pair in named if not result.is_reference(pair[0].label)),
            key=lambda pair: -pair[0].distribution.n,
        )
        keep = {id(g) for g, _ in largest[: MAX_CURVES - 1]}
        named = [(g, w) for g, w in named if result.is_reference(g.label) or id(g) in keep]
    left_out = len(result.groups) - len(named)
    curves = [g.distribution.curve for g, _ in named]
    view_end = time_view_end(curves, xmax)
    unit = check_unit(unit) or auto_unit(view_end)
    scale = UNIT_SECONDS[unit]
    tidy_axes(ax)
    ax.axhline(0.5, linestyle=":", linewidth=1, color=GUIDE)
    at_risk_rows: list[tuple[str, SurvivalCurve, str | None]] = []
    for g, words in named:
        d = g.distribution
        reference = " (reference)" if result.is_reference(g.label) else ""
        name = literal_text(words, 32) + reference
        median = d.median
        label = f"{name}: n {d.n:,}, median {median_text(median)}"
        drawn = draw_curve(ax, d.curve, scale, ci=ci, color=None, label=label, view_end=view_end)
        at_risk_rows.append((literal_text(words, 16), d.curve, drawn))
        if median is not None:
            ax.plot([median.total_seconds() / scale], [0.5], "o", markersize=4, color=drawn)
    if result.landmark is not None:
        ax.axvline(
            result.landmark.total_seconds() / scale,
            linestyle="--",
            linewidth=1,
            color=GUIDE,
            label=f"landmark {format_duration(result.landmark)} (exposure counted by)",
        )
    share_axis(ax, "share reached")
    time_axis(ax, unit, view_end, curves)
    numbers_at_risk(ax, at_risk_rows, scale)
    handles = legend_handles(ax)
    # Where it covers the fewest curves ("best": the curves are drawn in at most
    # DRAWN_ROWS points each, so the search is quick); the lower right covered the
    # middle of rising curves.
    ax.legend(handles=handles, loc="best", fontsize="small", frameon=True, framealpha=0.9)
    verdict = "the groups differ" if result.significant else "no clear difference"
    ax.set_title(
        literal_title(title)
        if title is not None
        else f"{literal_text(result.milestone.name)} by {literal_text(result.by)}"
        + (
            f" ({len(named)} of {len(result.groups)} groups drawn: the reference and the largest)"
            if left_out
            else ""
        )
        + f"\nlog-rank p {format_p(result.p_value)}: {verdict} (α {result.alpha:g})",
        fontsize="medium",
    )
