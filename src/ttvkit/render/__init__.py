"""Renderers: results as text (:mod:`~ttvkit.render.text`), HTML
(:mod:`~ttvkit.render.html`) and pandas DataFrames (:mod:`~ttvkit.render.frames`).

Plots are in :mod:`ttvkit.plotting`. Every renderer builds from the one view a
result gives of itself (its ``table()``, ``notes()`` and figures, worded by
:mod:`ttvkit._format`) and looks the result up by its ``kind``. Result classes
are imported for type checking only: results never depend on their renderers,
and renderers never on the result modules at run time.
"""
