"""The exceptions ttvkit raises.

Every exception is a :class:`TTVError`, and also subclasses the matching
built-in, so ``except ValueError`` keeps working for callers who do not know
ttvkit::

    TTVError
    ├── InvalidEventError          (ValueError)  a value event that cannot be stored
    ├── InvalidMilestoneError      (ValueError)  a condition, milestone, window or band
    ├── InvalidStatisticsInputError(ValueError)  input that ttvkit.stats cannot work with
    ├── AnalysisError              (ValueError)  a well-formed question the data cannot answer
    ├── ConfigurationError         (ValueError)  a bad store URL, option or configuration file
    ├── MissingDependencyError     (ImportError) an optional extra is not installed
    ├── TrackerClosedError         (RuntimeError) track() on a closed Tracker
    └── StoreError                               a backend failed
        ├── StoreUnavailableError  (ConnectionError) the backend cannot be reached right now
        └── SchemaVersionError                       the backend's schema is newer than this ttvkit

Messages say what was wrong and how to fix it.

Warnings are :class:`TTVWarning` (a ``UserWarning``)::

    TTVWarning
    └── UnknownEventWarning   a milestone, lever or survey names an event that never occurs
"""

from __future__ import annotations

__all__ = [
    "AnalysisError",
    "ConfigurationError",
    "InvalidEventError",
    "InvalidMilestoneError",
    "InvalidStatisticsInputError",
    "MissingDependencyError",
    "SchemaVersionError",
    "StoreError",
    "StoreUnavailableError",
    "TTVError",
    "TTVWarning",
    "TrackerClosedError",
    "UnknownEventWarning",
]


class TTVError(Exception):
    """Base class of every error ttvkit raises on purpose."""


class InvalidEventError(TTVError, ValueError):
    """A value event (or a field of one) is not valid; nothing was stored."""


class InvalidMilestoneError(TTVError, ValueError):
    """A condition, milestone, window or speed band is not valid."""


class InvalidStatisticsInputError(TTVError, ValueError):
    """Durations, observed flags, weights or groups that ``ttvkit.stats`` rejects."""


class AnalysisError(TTVError, ValueError):
    """The question is well formed but the data cannot answer it (an empty group, say)."""


class ConfigurationError(TTVError, ValueError):
    """A store URL, an option or a configuration file is not valid."""


class MissingDependencyError(TTVError, ImportError):
    """An optional extra is needed for this feature; the message names it."""


class TrackerClosedError(TTVError, RuntimeError):
    """``track()`` was called on a tracker that is closed; create a new tracker."""


class StoreError(TTVError):
    """A storage backend failed."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The backend cannot be reached right now; retrying later may succeed."""


class SchemaVersionError(StoreError):
    """The store's schema was written by a newer ttvkit than this one."""


class TTVWarning(UserWarning):
    """Base class of every warning ttvkit issues: a result computed, with a doubt worth saying."""


class UnknownEventWarning(TTVWarning):
    """A milestone, lever or survey names an event that never occurs in the source.

    The figures are computed (nobody reaches an event that never happens), but
    a typo is the likely cause: the message names the closest event names
    that do occur ("did you mean ...?"). Silence it with
    ``warnings.simplefilter("ignore", ttvkit.errors.UnknownEventWarning)``.
    """
