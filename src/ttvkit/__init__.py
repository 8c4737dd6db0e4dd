"""ttvkit: measure Time to Value, censoring-aware.

The public API lives here; submodules hold the implementation and a few
specialised names (``ttvkit.stats``, ``ttvkit.stores``, ``ttvkit.testing``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from ttvkit.conditions import Condition, all_of, any_of, event, ge, gt, le, lt, one_of, total
from ttvkit.errors import (
    AnalysisError,
    ConfigurationError,
    InvalidEventError,
    InvalidMilestoneError,
    InvalidStatisticsInputError,
    MissingDependencyError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
    TTVError,
)
from ttvkit.events import ValueEvent
from ttvkit.milestones import Milestone, MilestoneKind, Speed, SpeedBands
from ttvkit.observations import Observation
from ttvkit.stores import MemoryStore, Store, open_store

if TYPE_CHECKING:
    from ttvkit import stats
    from ttvkit.calculators import time_to_value
    from ttvkit.results import TTVDistribution


def __getattr__(name: str) -> Any:
    # TEMPORARY while ttvkit.stats is being written: import it on first use.
    if name == "stats":
        import ttvkit.stats as module

        return module
    if name == "time_to_value":
        from ttvkit.calculators import time_to_value as fn

        return fn
    if name == "TTVDistribution":
        from ttvkit.results import TTVDistribution as cls

        return cls
    raise AttributeError(f"module 'ttvkit' has no attribute {name!r}")


try:
    __version__ = version("ttvkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "AnalysisError",
    "Condition",
    "ConfigurationError",
    "InvalidEventError",
    "InvalidMilestoneError",
    "InvalidStatisticsInputError",
    "MemoryStore",
    "Milestone",
    "MilestoneKind",
    "MissingDependencyError",
    "Observation",
    "SchemaVersionError",
    "Speed",
    "SpeedBands",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "TTVDistribution",
    "TTVError",
    "ValueEvent",
    "__version__",
    "all_of",
    "any_of",
    "event",
    "ge",
    "gt",
    "le",
    "lt",
    "one_of",
    "open_store",
    "stats",
    "time_to_value",
    "total",
]
