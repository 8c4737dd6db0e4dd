"""The display mixin: how every result shows itself, by asking its renderer.

Results are values. They hold figures and the words of their rows
(``table()``, ``notes()``); they never lay them out. ``str()``, the notebook
HTML, DataFrames and plots come from the renderers (:mod:`ttvkit.render.text`,
:mod:`ttvkit.render.html`, :mod:`ttvkit.render.frames`,
:mod:`ttvkit.plotting`), which pick the function for a result by its
:attr:`Display.kind`. The renderers are imported when first used, never when
a result module is: a result does not depend on pandas or matplotlib, and no
import runs in a circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Display"]


class Display:
    """``str()``, ``_repr_html_()``, ``_repr_pretty_()``, DataFrames and plots of a result."""

    __slots__ = ()

    kind: ClassVar[str]
    """What the result is, as reports name it in JSON (``time_to_value``, ``comparison``…)
    and as the renderers look it up."""

    def __str__(self) -> str:
        from ttvkit.render.text import render_text

        return render_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython terminals print the same text as ``str()``."""
        printer.text("..." if cycle else str(self))

    def _repr_html_(self) -> str:
        """The summary as an HTML fragment: what Jupyter shows for the result."""
        from ttvkit.render.html import render_html

        return render_html(self)

    def to_pandas(self) -> Any:
        """The result's table as a pandas DataFrame (``ttvkit[pandas]``).

        docs/notebooks.md lists the columns of each result.
        """
        from ttvkit.render.frames import result_frame

        return result_frame(self)

    def observations_to_pandas(self) -> Any:
        """The customers behind every figure, one row each (``ttvkit[pandas]``).

        docs/notebooks.md lists the columns of each result.
        """
        from ttvkit.render.frames import observations_frame

        return observations_frame(self)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draw on *ax* (a new figure if ``None``); options in :func:`ttvkit.plotting.plot`."""
        from ttvkit.plotting import plot

        return plot(self, ax, **options)
