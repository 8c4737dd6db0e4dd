"""What every plot shares: literal text from data, units and the time axis, the
Kaplan–Meier step curve with its band and numbers at risk, the legend above."""

from __future__ import annotations

import bisect
import math
import unicodedata
import weakref
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from ttvkit._format import format_duration
from ttvkit.errors import InvalidArgumentError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ttvkit.stats import SurvivalCurve

#: The most rows of a curve a chart draws (:meth:`SurvivalCurve.drawn_rows`): the
#: step curve stays within 1/2000 of every row, far below a pixel, and a curve of
#: a million customers draws as fast as one of a thousand.
DRAWN_ROWS: Final = 2002

Unit: TypeAlias = Literal["seconds", "minutes", "hours", "days", "weeks"]
"""The time unit of an axis; chosen from the data when not given."""

UNIT_SECONDS: dict[str, float] = {
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
    "weeks": 604800.0,
}

# Muted colours for what is context rather than data (guides, not-significant bars).
GUIDE = "0.45"
MUTED = "0.72"
LIGHT = "0.88"
LABEL_LIMIT = 48


def literal_text(value: object, limit: int = LABEL_LIMIT) -> str:
    """Data as literal matplotlib text: no math mode, no control characters, not too long.

    Control characters and line breaks become spaces; format characters (bidi
    overrides such as U+202E, zero-width ones) are dropped, so data cannot
    reverse the figures drawn after it.
    """
    text = "".join(_literal_character(c) for c in str(value)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    # matplotlib reads $...$ as math; an escaped dollar is drawn as a dollar.
    return text.replace("$", r"\$")


def literal_title(value: object) -> str:
    """A ``title=`` as literal text: :func:`literal_text` per line, so the lines the
    caller wrote (at most three) stay lines, as the default titles' two do."""
    lines = str(value).splitlines() or [""]
    return "\n".join(literal_text(line, 120) for line in lines[:3])


def _literal_character(c: str) -> str:
    category = unicodedata.category(c)
    if category in ("Cc", "Zl", "Zp"):
        return " "
    return "" if category == "Cf" else c


#: The lines drawn with a label that came from data: matplotlib leaves a label
#: starting with "_" out of a legend it gathers itself, so these are named.
_DATA_LABELLED: weakref.WeakSet[Any] = weakref.WeakSet()


def legend_handles(ax: Axes) -> list[Any]:
    """The lines of *ax* a legend shows: those with a label, a data label starting
    with ``_`` included (matplotlib would leave it out)."""
    return [
        line
        for line in ax.get_lines()
        if line in _DATA_LABELLED or not str(line.get_label()).startswith("_")
    ]


# Points between the axes and a title with a one-row legend under it.
TITLE_PAD_OVER_LEGEND = 20.0


def legend_above(ax: Axes, handles: Sequence[Any]) -> None:
    """The legend in one row between the title and the axes, where it hides no data.

    The title must then be set with ``pad=TITLE_PAD_OVER_LEGEND``.
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


def check_ci(ci: object) -> bool:
    """The ``ci=`` option: ``True`` or ``False`` (``"no"`` would read as true)."""
    if not isinstance(ci, bool):
        raise InvalidArgumentError(f"ci={ci!r}: pass True (draw the band) or False")
    return ci


def check_color(color: object) -> str | None:
    """The ``color=`` option: ``None`` or a colour matplotlib knows (``"C1"``, ``"#1f77b4"``)."""
    from matplotlib.colors import is_color_like

    if color is None:
        return None
    if not isinstance(color, str) or not is_color_like(color):
        raise InvalidArgumentError(
            f"color={color!r}: pass a matplotlib colour such as 'C1', 'tab:blue' or '#1f77b4'"
        )
    return color


def check_unit(unit: object) -> Unit | None:
    """The ``unit=`` option as given (``None``: choose from the data), or an error."""
    if unit is None or unit in UNIT_SECONDS:
        return unit  # type: ignore[return-value]
    raise InvalidArgumentError(f"unit={unit!r}: use one of {', '.join(UNIT_SECONDS)}")


def auto_unit(seconds: float) -> Unit:
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


def time_view_end(curves: Sequence[SurvivalCurve], xmax: object) -> float:
    """Where the time axis ends, in seconds.

    By default, a little after the time by which every curve has done 99 % of
    its rising: a long flat tail (customers watched for months after the last
    one reached value) would squeeze the part that matters into a corner.
    """
    if xmax is not None:
        if not isinstance(xmax, timedelta) or xmax <= timedelta(0):
            raise InvalidArgumentError(f"xmax={xmax!r}: pass a positive datetime.timedelta")
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


def share_axis(ax: Axes, label: str) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(label)


def tidy_axes(ax: Axes) -> None:
    ax.grid(True, color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def draw_curve(
    ax: Axes,
    curve: SurvivalCurve,
    scale: float,
    *,
    ci: bool,
    color: str | None,
    label: str | None,
    view_end: float,
) -> str:
    """The share reached, 1 − S(t), as a step curve from (0, 0); returns its colour.

    At most :data:`DRAWN_ROWS` rows are drawn, and the band is computed at them only.
    """
    kept = curve.drawn_rows(DRAWN_ROWS)
    xs = [0.0, *(curve.times[i] / scale for i in kept)]
    ys = [0.0, *(1.0 - curve.survival[i] for i in kept)]
    # Hold the last level to the edge of the view, as Kaplan–Meier does.
    if xs[-1] < view_end / scale:
        xs.append(view_end / scale)
        ys.append(ys[-1])
    (line,) = ax.step(xs, ys, where="post", color=color, label=label, linewidth=1.8)
    if label is not None:
        _DATA_LABELLED.add(line)
    from matplotlib.colors import to_hex

    drawn = to_hex(line.get_color())
    if ci:
        rows = curve.rows_at(kept)
        lows = [0.0, *(1.0 - row.upper for row in rows)]
        highs = [0.0, *(1.0 - row.lower for row in rows)]
        if len(lows) < len(xs):
            lows.append(lows[-1])
            highs.append(highs[-1])
        ax.fill_between(xs, lows, highs, step="post", color=drawn, alpha=0.16, linewidth=0)
    return drawn


def time_axis(ax: Axes, unit: Unit, view_end: float, curves: Sequence[SurvivalCurve]) -> None:
    """The time axis up to *view_end*; the label says so when data run further."""
    ax.set_xlim(0.0, view_end / UNIT_SECONDS[unit])
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


def at_risk_at(curve: SurvivalCurve, t: float) -> float:
    """Customers still watched and on the way at *t* seconds (duration >= t)."""
    i = bisect.bisect_left(curve.times, t)
    return curve.at_risk[i] if i < len(curve.times) else 0


def numbers_at_risk(
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
            color=color or GUIDE,
            gid=AT_RISK_GID,
            annotation_clip=False,
        )
        for x in ticks:
            n = at_risk_at(curve, x * scale)
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
