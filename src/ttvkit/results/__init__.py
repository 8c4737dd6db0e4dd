"""Result classes: immutable values, JSON-ready with ``to_dict()``, readable with ``str()``.

Durations are ``datetime.timedelta`` in the public API; ``to_dict()`` gives
them as float seconds in keys ending ``_seconds``, and an infinite time
(a percentile the curve never reaches) as ``None``.

One module per result family (:mod:`~ttvkit.results.distribution`,
:mod:`~ttvkit.results.comparison`, :mod:`~ttvkit.results.impact`,
:mod:`~ttvkit.results.cohorts`, :mod:`~ttvkit.results.journey`,
:mod:`~ttvkit.results.satisfaction`). Each result holds its figures and the
words of its rows; the display mixin (:class:`~ttvkit.results.Display`)
hands ``str()``, HTML, DataFrames and plots to the renderers in
:mod:`ttvkit.render` and :mod:`ttvkit.plotting`, which no result imports.
"""

from __future__ import annotations

# Also importable from here, as before the split into a package: the words of
# the rows (now in ttvkit._format) and the group label type.
from ttvkit._format import BEYOND_FOLLOW_UP as BEYOND_FOLLOW_UP
from ttvkit._format import NOT_REACHED as NOT_REACHED
from ttvkit._format import UNBOUNDED as UNBOUNDED
from ttvkit._format import Table as Table
from ttvkit._format import plural as plural
from ttvkit.results._common import GroupLabel as GroupLabel
from ttvkit.results._common import curve_rows_limit
from ttvkit.results._common import durations_and_flags as durations_and_flags
from ttvkit.results._display import Display
from ttvkit.results.cohorts import CohortRow, CohortTable
from ttvkit.results.comparison import Comparison, GroupResult
from ttvkit.results.distribution import TTVDistribution
from ttvkit.results.impact import ImpactReport, ImpactRow
from ttvkit.results.journey import JourneyPaths, JourneyReport, JourneyRow, StageResult
from ttvkit.results.satisfaction import SatisfactionReport, SpeedGroup

__all__ = [
    "CohortRow",
    "CohortTable",
    "Comparison",
    "Display",
    "GroupResult",
    "ImpactReport",
    "ImpactRow",
    "JourneyPaths",
    "JourneyReport",
    "JourneyRow",
    "SatisfactionReport",
    "SpeedGroup",
    "StageResult",
    "TTVDistribution",
    "curve_rows_limit",
]
