"""ttvkit: measure Time to Value, censoring-aware.

The public API lives here; submodules hold the implementation and a few
specialised names (``ttvkit.stats``, ``ttvkit.stores``, ``ttvkit.io``,
``ttvkit.datasets``, ``ttvkit.testing``, ``ttvkit.milestones`` presets).
"""

import typing as _typing

from ttvkit._lazy import lazy_names as _lazy_names
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidEventError,
    InvalidMilestoneError,
    InvalidStatisticsInputError,
    MissingDependencyError,
    SchemaVersionError,
    SingularVarianceError,
    StoreError,
    StoreUnavailableError,
    TTVError,
    TTVWarning,
    UnknownEventWarning,
)

if _typing.TYPE_CHECKING:
    from ttvkit import stats
    from ttvkit.calculators import cohorts, compare, impact, journey, satisfaction, time_to_value
    from ttvkit.conditions import Condition, all_of, any_of, event, ge, gt, le, lt, one_of, total
    from ttvkit.events import ValueEvent
    from ttvkit.milestones import Journey, Milestone, MilestoneKind, Speed, SpeedBands
    from ttvkit.observations import Observation
    from ttvkit.results import (
        CohortTable,
        Comparison,
        ImpactReport,
        JourneyReport,
        SatisfactionReport,
        TTVDistribution,
    )
    from ttvkit.stores import MemoryStore, Source, Store, open_store
    from ttvkit.stores.scan import scan
    from ttvkit.tracker import (
        RetryPolicy,
        Tracker,
        TrackerClosedError,
        TrackerConfig,
        TrackerStats,
    )

    __version__: str

#: Where each public name but the errors lives: imported when first used (see
#: ``ttvkit._lazy``), so ``import ttvkit`` takes milliseconds, not half a second.
#: The ``TYPE_CHECKING`` imports above say the same for type checkers.
_LAZY: _typing.Final = {
    **dict.fromkeys(
        ["cohorts", "compare", "impact", "journey", "satisfaction", "time_to_value"],
        "ttvkit.calculators",
    ),
    **dict.fromkeys(
        ["Condition", "all_of", "any_of", "event", "ge", "gt", "le", "lt", "one_of", "total"],
        "ttvkit.conditions",
    ),
    "ValueEvent": "ttvkit.events",
    **dict.fromkeys(
        ["Journey", "Milestone", "MilestoneKind", "Speed", "SpeedBands"], "ttvkit.milestones"
    ),
    "Observation": "ttvkit.observations",
    **dict.fromkeys(
        [
            "CohortTable",
            "Comparison",
            "ImpactReport",
            "JourneyReport",
            "SatisfactionReport",
            "TTVDistribution",
        ],
        "ttvkit.results",
    ),
    **dict.fromkeys(["MemoryStore", "Source", "Store", "open_store"], "ttvkit.stores"),
    "scan": "ttvkit.stores.scan",
    **dict.fromkeys(
        ["RetryPolicy", "Tracker", "TrackerClosedError", "TrackerConfig", "TrackerStats"],
        "ttvkit.tracker",
    ),
}


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("ttvkit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        return "0+unknown"


if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_names(
        __name__, _LAZY, globals(), submodules=["stats"], computed={"__version__": _version}
    )

__all__ = [
    "AnalysisError",
    "CohortTable",
    "Comparison",
    "Condition",
    "ConfigurationError",
    "ImpactReport",
    "InvalidArgumentError",
    "InvalidEventError",
    "InvalidMilestoneError",
    "InvalidStatisticsInputError",
    "Journey",
    "JourneyReport",
    "MemoryStore",
    "Milestone",
    "MilestoneKind",
    "MissingDependencyError",
    "Observation",
    "RetryPolicy",
    "SatisfactionReport",
    "SchemaVersionError",
    "SingularVarianceError",
    "Source",
    "Speed",
    "SpeedBands",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "TTVDistribution",
    "TTVError",
    "TTVWarning",
    "Tracker",
    "TrackerClosedError",
    "TrackerConfig",
    "TrackerStats",
    "UnknownEventWarning",
    "ValueEvent",
    "__version__",
    "all_of",
    "any_of",
    "cohorts",
    "compare",
    "event",
    "ge",
    "gt",
    "impact",
    "journey",
    "le",
    "lt",
    "one_of",
    "open_store",
    "satisfaction",
    "scan",
    "stats",
    "time_to_value",
    "total",
]
