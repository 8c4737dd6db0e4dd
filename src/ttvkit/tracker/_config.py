"""The tracker's options: :class:`TrackerConfig`, :class:`RetryPolicy` and their checks.

Both are frozen attrs classes whose validators name the field in a
:class:`~ttvkit.errors.ConfigurationError`; durations are accepted as seconds
(a number) or a ``timedelta`` and stored as float seconds, so the pipeline
reads plain numbers.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Literal, TypeAlias, TypeGuard

import attrs

from ttvkit.errors import ConfigurationError, StoreUnavailableError

__all__ = ["RetryPolicy", "Seconds", "TrackerConfig", "checked_seconds"]

#: A duration as the public methods take it: seconds as a number, or a ``timedelta``.
Seconds: TypeAlias = float | int | timedelta


def checked_seconds(value: object, field: str = "timeout") -> float:
    """*value* (seconds as a number, or a ``timedelta``) as non-negative float seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigurationError(
            f"{field}={value!r}: pass seconds as a number or a datetime.timedelta"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigurationError(f"{field}={value!r}: must be a finite number of seconds ≥ 0")
    return seconds


def _as_seconds(value: float | timedelta) -> float:
    """A ``timedelta`` as float seconds; anything else unchanged, for the validator to judge."""
    return value.total_seconds() if isinstance(value, timedelta) else value


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# attrs validators: they name the field in the message.


def _non_negative_seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _is_number(value) or value < 0:
        raise ConfigurationError(
            f"{attribute.name}={value!r}: pass seconds ≥ 0 as a number or a datetime.timedelta"
        )


def _positive_seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _is_number(value) or value <= 0:
        raise ConfigurationError(
            f"{attribute.name}={value!r}: pass seconds > 0 as a number or a datetime.timedelta"
        )


def _positive_int(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{attribute.name}={value!r}: must be an int ≥ 1")


def _multiplier(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _is_number(value) or not 1 <= value <= 1000:
        raise ConfigurationError(f"multiplier={value!r}: must be a number from 1 to 1000")


def _jitter(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _is_number(value) or not 0 <= value < 1:
        raise ConfigurationError(
            f"jitter={value!r}: must be a fraction in [0, 1), e.g. 0.2 for ±20%"
        )


def _retry_on(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(t, type) and issubclass(t, Exception) for t in value
    ):
        raise ConfigurationError(
            f"retry_on={value!r}: must be a tuple of Exception subclasses, "
            "e.g. (StoreUnavailableError, TimeoutError)"
        )


def _when_full(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("drop", "block"):
        raise ConfigurationError(f"when_full={value!r}: must be 'drop' or 'block'")


def _retry_policy(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, RetryPolicy):
        raise ConfigurationError(f"retry={value!r}: pass a ttvkit.tracker.RetryPolicy")


def _bool(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{attribute.name}={value!r}: must be True or False")


@attrs.frozen
class RetryPolicy:
    """How the tracker retries a batch the store failed to take.

    A failed write is retried after ``initial_backoff`` seconds, and each
    further failure multiplies the wait by ``multiplier`` up to
    ``max_backoff``; every wait is spread by ±``jitter`` (a fraction) so that
    many processes do not retry in step. Only exceptions that are instances
    of ``retry_on`` are retried (by default connection errors and timeouts,
    which include :class:`~ttvkit.errors.StoreUnavailableError`); any other
    exception gives the batch up at once, as *failed*.

    ``max_attempts=None`` (the default) retries until the tracker closes,
    so a store outage loses nothing while the queue has room; an int gives a
    batch up (as *failed*) after that many attempts. Durations are seconds
    (a number) or a ``timedelta``.
    """

    initial_backoff: float = attrs.field(
        default=0.05, converter=_as_seconds, validator=_positive_seconds
    )
    max_backoff: float = attrs.field(
        default=5.0, converter=_as_seconds, validator=_positive_seconds
    )
    multiplier: float = attrs.field(default=2.0, validator=_multiplier)
    jitter: float = attrs.field(default=0.2, validator=_jitter)
    max_attempts: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_positive_int)
    )
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(StoreUnavailableError, ConnectionError, TimeoutError), validator=_retry_on
    )

    def __attrs_post_init__(self) -> None:
        if self.max_backoff < self.initial_backoff:
            raise ConfigurationError(
                f"max_backoff={self.max_backoff!r} is less than "
                f"initial_backoff={self.initial_backoff!r}; raise max_backoff"
            )


@attrs.frozen
class TrackerConfig:
    """Every option of a :class:`Tracker`; the defaults suit a web app.

    Batching: the writer stores ``batch_size`` events per store call, and
    stores whatever is queued at least every ``flush_interval`` seconds.

    Queue: at most ``max_queue_size`` events wait in memory. When it is
    full, ``when_full="drop"`` (the default) drops the new event at once and
    counts it; ``"block"`` makes ``track()`` wait up to ``block_timeout``
    seconds for room, then drops and counts it.

    ``retry`` is the :class:`RetryPolicy` for store failures.
    ``close_timeout`` bounds :meth:`Tracker.close` (and the flush a
    calculator does before reading a tracker's store), ``exit_timeout`` the
    flush at interpreter exit; events still not stored by then are given up
    and counted as *failed*.

    ``sync=True`` writes every event through to the store inside
    ``track()`` (no queue, no thread): for scripts, serverless functions and
    tests. ``sync_timeout`` bounds the whole call, the wait for another
    thread's write included, and the retries.

    Durations are seconds (a number) or a ``timedelta``; one longer than
    ``threading.TIMEOUT_MAX`` means "as long as it takes". Invalid values raise
    :class:`~ttvkit.errors.ConfigurationError`.
    """

    batch_size: int = attrs.field(default=1000, validator=_positive_int)
    flush_interval: float = attrs.field(
        default=0.5, converter=_as_seconds, validator=_positive_seconds
    )
    max_queue_size: int = attrs.field(default=100_000, validator=_positive_int)
    when_full: Literal["drop", "block"] = attrs.field(default="drop", validator=_when_full)
    block_timeout: float = attrs.field(
        default=0.5, converter=_as_seconds, validator=_non_negative_seconds
    )
    retry: RetryPolicy = attrs.field(factory=RetryPolicy, validator=_retry_policy)
    close_timeout: float = attrs.field(
        default=10.0, converter=_as_seconds, validator=_non_negative_seconds
    )
    exit_timeout: float = attrs.field(
        default=5.0, converter=_as_seconds, validator=_non_negative_seconds
    )
    sync: bool = attrs.field(default=False, validator=_bool)
    sync_timeout: float = attrs.field(
        default=2.0, converter=_as_seconds, validator=_non_negative_seconds
    )
