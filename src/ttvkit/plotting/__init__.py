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

import inspect
import io
import math
import os
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

from ttvkit._optional import require
from ttvkit.errors import InvalidArgumentError
from ttvkit.plotting._axes import AT_RISK_GID as AT_RISK_GID
from ttvkit.plotting._axes import Unit
from ttvkit.plotting.charts import plot_cohorts, plot_impact, plot_journey, plot_satisfaction
from ttvkit.plotting.curves import plot_comparison, plot_distribution

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Unit", "plot", "save_png", "to_png"]

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

    Raises :class:`~ttvkit.errors.InvalidArgumentError` for another type of result
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
            raise InvalidArgumentError(f"to_png({name}={value!r}): must be a positive number")
    draw = _plotter(result, options)
    buffer = io.BytesIO()
    # matplotlib is not thread-safe, and catch_warnings swaps a process-wide
    # filter list: one render at a time keeps both sound in a threaded server.
    with _RENDER_LOCK, warnings.catch_warnings():
        # A name in a script the default font lacks (漢字, an emoji) is drawn as
        # a box; that is the expected rendering of hostile or foreign data, not
        # something a report should stop or warn about.
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        # A crowded chart (hundreds of groups) is drawn without the layout's
        # margins; that is no fault of the data either.
        warnings.filterwarnings("ignore", "constrained_layout not applied", UserWarning)
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
        raise InvalidArgumentError(f"cannot plot a {type(result).__name__}: pass one of {names}")
    accepted = [
        p.name
        for p in inspect.signature(draw).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InvalidArgumentError(
            f"plot() of a {type(result).__name__} takes the options {', '.join(accepted)}; "
            f"not {', '.join(unknown)}"
        )
    return draw


# kind -> (the result's class name, for messages; its plotter)
_PLOTTERS: dict[str, tuple[str, _Plotter]] = {
    "time_to_value": ("TTVDistribution", plot_distribution),
    "comparison": ("Comparison", plot_comparison),
    "cohorts": ("CohortTable", plot_cohorts),
    "journey": ("JourneyReport", plot_journey),
    "impact": ("ImpactReport", plot_impact),
    "satisfaction": ("SatisfactionReport", plot_satisfaction),
}
