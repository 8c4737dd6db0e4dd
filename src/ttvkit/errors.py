"""The exceptions ttvkit raises.

Every exception is a :class:`TTVError`, and also subclasses the matching
built-in, so ``except ValueError`` keeps working for callers who do not know
ttvkit::

    TTVError
    ├── InvalidEventError          (ValueError)  a value event that cannot be stored
    ├── InvalidMilestoneError      (ValueError)  a condition, milestone, window or band
    ├── InvalidStatisticsInputError(ValueError)  input that ttvkit.stats cannot work with
    │   └── SingularVarianceError                groups a log-rank test cannot tell apart
    ├── AnalysisError              (ValueError)  a well-formed question the data cannot answer
    │   └── InvalidArgumentError                 a bad argument: per, as_of, alpha, within, ...
    ├── ConfigurationError         (ValueError)  a bad store URL, option or configuration file
    ├── MissingDependencyError     (ImportError) an optional extra is not installed
    ├── TrackerClosedError         (RuntimeError) track() on a closed Tracker
    └── StoreError                               a backend failed
        ├── StoreUnavailableError  (ConnectionError) the backend cannot be reached right now
        └── SchemaVersionError                       the backend's schema is newer than this ttvkit

Messages say what was wrong and how to fix it.

Bad arguments are checked before any store is asked, by one check each in
:mod:`ttvkit.observations` (``per``, ``as_of``, attribute specs, the
milestone itself) and in the calculators, so the same misuse raises the
same error, with the same message, on every store and source. A milestone
argument that is not a :class:`~ttvkit.Milestone` is an
:class:`InvalidMilestoneError`; every other bad argument is an
:class:`InvalidArgumentError`.

:class:`InvalidArgumentError` sits under :class:`AnalysisError` for one
release only: up to 0.1.0 bad arguments raised ``AnalysisError`` itself, and
``except AnalysisError`` written for that keeps working. In the release
after, it will derive from :class:`TTVError` and ``ValueError`` directly (an
``AnalysisError`` is a question the data cannot answer, not a malformed
one): catch ``InvalidArgumentError`` (or ``ValueError``) for bad arguments.

Warnings are :class:`TTVWarning` (a ``UserWarning``)::

    TTVWarning
    └── UnknownEventWarning   a milestone, lever or survey names an event that never occurs
"""

from __future__ import annotations

__all__ = [
    "AnalysisError",
    "ConfigurationError",
    "InvalidArgumentError",
    "InvalidEventError",
    "InvalidMilestoneError",
    "InvalidStatisticsInputError",
    "MissingDependencyError",
    "SchemaVersionError",
    "SingularVarianceError",
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


class SingularVarianceError(InvalidStatisticsInputError):
    """A log-rank test whose variance matrix stays singular with every group at risk
    (every customer at risk reached at each time someone did): there is no test."""


class AnalysisError(TTVError, ValueError):
    """The question is well formed but the data cannot answer it (an empty group, say)."""


class InvalidArgumentError(AnalysisError):
    """An argument is not valid: a wrong type or value (``per``, ``as_of``, ``alpha``,
    ``within``, ``landmark``, ``period``, ``response``, an attribute spec, ...).

    Raised before a store is asked, with the same message on every store. It
    derives from :class:`AnalysisError` (and so ``ValueError``) for one
    release, for code that caught bad arguments as ``AnalysisError``; catch
    ``InvalidArgumentError`` instead (see the module docstring).
    """


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
