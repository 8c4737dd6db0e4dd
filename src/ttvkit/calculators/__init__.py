"""Calculators: questions about Time to Value, answered from any source.

A *source* is a :class:`~ttvkit.stores.Store` or another
:class:`~ttvkit.stores.Source`, a store URL, a :class:`~ttvkit.Tracker`
(flushed first), a file path, glob or directory, a DataFrame (both read by
:func:`ttvkit.scan`), or an iterable of :class:`~ttvkit.ValueEvent` objects
or mappings. Calculators never loop over raw events: they ask the store for
observations (one row per customer) and hand durations to :mod:`ttvkit.stats`.

Where things live: ``_source`` adapts sources and asks them (``as_store``,
``checked_as_of``, ``resolve_as_of``, ``no_events``, ``load_columns``, ``duration_cells``,
``check_event_names``); ``_arguments`` holds the defaults and the one check
of each argument; then one module per analysis: ``_distribution``
(:func:`time_to_value`), ``_compare``, ``_impact``, ``_cohorts``,
``_journey`` and ``_satisfaction``.
"""

from __future__ import annotations

from ttvkit.calculators._arguments import DEFAULT_LANDMARK, DEFAULT_WITHIN
from ttvkit.calculators._cohorts import Period, cohorts
from ttvkit.calculators._compare import compare
from ttvkit.calculators._distribution import (
    columns_distribution,
    distribution,
    distribution_of_cells,
    time_to_value,
)
from ttvkit.calculators._impact import impact
from ttvkit.calculators._journey import journey
from ttvkit.calculators._satisfaction import SPEED_CLASSES, satisfaction
from ttvkit.calculators._source import (
    Source,
    as_store,
    check_event_names,
    checked_as_of,
    duration_cells,
    load_columns,
    load_observations,
    missing_store_file,
    no_events,
    resolve_as_of,
)

__all__ = [
    "DEFAULT_LANDMARK",
    "DEFAULT_WITHIN",
    "SPEED_CLASSES",
    "Period",
    "Source",
    "as_store",
    "check_event_names",
    "checked_as_of",
    "cohorts",
    "columns_distribution",
    "compare",
    "distribution",
    "distribution_of_cells",
    "duration_cells",
    "impact",
    "journey",
    "load_columns",
    "load_observations",
    "missing_store_file",
    "no_events",
    "resolve_as_of",
    "satisfaction",
    "time_to_value",
]
