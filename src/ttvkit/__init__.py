"""ttvkit: measure Time to Value, censoring-aware.

The public API lives here; submodules hold the implementation and a few
specialised names (``ttvkit.stats``, ``ttvkit.stores``, ``ttvkit.io``,
``ttvkit.datasets``, ``ttvkit.testing``, ``ttvkit.milestones`` presets).
"""

import importlib.metadata as _metadata

from ttvkit import stats
from ttvkit.calculators import cohorts, compare, impact, journey, satisfaction, time_to_value
from ttvkit.conditions import Condition, all_of, any_of, event, ge, gt, le, lt, one_of, total
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

try:
    __version__ = _metadata.version("ttvkit")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

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
