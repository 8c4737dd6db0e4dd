"""The arguments of the analyses: their defaults, and one check each.

Every check runs before a source is opened or a store asked, so a bad
argument raises the same :class:`~ttvkit.errors.InvalidArgumentError` (or,
for a milestone, :class:`~ttvkit.errors.InvalidMilestoneError`) with the
same message whatever the source. ``per``, ``as_of`` and the milestone
itself are checked by :mod:`ttvkit.observations`, as the stores check them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from ttvkit import stats
from ttvkit._json import json_key
from ttvkit.errors import InvalidArgumentError, InvalidStatisticsInputError
from ttvkit.events import JSONScalar
from ttvkit.milestones import Milestone, SpeedBands
from ttvkit.observations import check_question

DEFAULT_LANDMARK = timedelta(days=1)
DEFAULT_WITHIN = timedelta(days=7)


def check_milestone(milestone: object) -> Milestone:
    """A :class:`~ttvkit.Milestone`, checked as every store checks it."""
    check_question(milestone, "user", ())
    assert isinstance(milestone, Milestone)
    return milestone


def check_timedelta(value: object, what: str, *, allow_zero: bool) -> timedelta:
    """A duration argument (``within``, ``landmark``): a timedelta above 0 (or 0 if allowed)."""
    if not isinstance(value, timedelta):
        raise InvalidArgumentError(f"{what}={value!r}: pass a datetime.timedelta")
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        raise InvalidArgumentError(
            f"{what}={value}: must be {'0 or more' if allow_zero else 'more than 0'}"
        )
    return value


def check_landmark_within(landmark: timedelta, within: timedelta, what: str) -> None:
    """A landmark must come before the horizon, or every effect is 0 by construction."""
    if landmark >= within:
        raise InvalidArgumentError(
            f"{what}={landmark} is not shorter than within={within}: only customers still on "
            "the way at the landmark are compared, so none of them can reach value within the "
            "horizon and the effect would be 0 by construction; use a landmark shorter than "
            "within (or a longer within)"
        )


def check_alpha(alpha: object) -> float:
    """The significance level, by the one rule of :func:`ttvkit.stats.check_alpha`."""
    try:
        return stats.check_alpha(alpha)
    except InvalidStatisticsInputError as exc:
        raise InvalidArgumentError(str(exc)) from None


def check_bootstrap(value: object) -> int:
    """``bootstrap``: 0 (no median interval) or at least 50."""
    if not isinstance(value, int) or isinstance(value, bool) or not (value == 0 or value >= 50):
        raise InvalidArgumentError(
            f"bootstrap={value!r}: use 0 (no median CI) or at least 50 resamples"
        )
    return value


def check_bands(bands: object) -> SpeedBands:
    """Speed bands: a :class:`~ttvkit.SpeedBands`."""
    if not isinstance(bands, SpeedBands):
        raise InvalidArgumentError(
            f"bands={bands!r}: pass ttvkit.SpeedBands(immediate=..., short=...)"
        )
    return bands


def check_group_label(value: object, what: str) -> JSONScalar:
    """A group label (``reference``, an item of ``groups``): a JSON scalar, as groups are."""
    if value is None:
        return None
    if isinstance(value, str | int | float) and not (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return value
    raise InvalidArgumentError(
        f"{what}={value!r}: a group is one value of the property (a string, number, "
        "True/False or None), e.g. 'pro'"
    )


def check_groups(groups: object) -> list[JSONScalar] | None:
    """``groups``: ``None`` (every group), or a list of two or more distinct group labels.

    Labels are the same group by the JSON rules (``1`` and ``1.0`` are one
    group, ``True`` and ``1`` two), so a label named twice is refused.
    """
    if groups is None:
        return None
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence):
        raise InvalidArgumentError(
            f"groups={groups!r}: pass a list of the groups to compare, e.g. ['free', 'pro']"
        )
    labels = [check_group_label(label, f"groups[{i}]") for i, label in enumerate(groups)]
    if len(labels) < 2:
        raise InvalidArgumentError(
            f"groups={labels!r}: name at least two groups to compare (or leave groups out "
            "to compare every group)"
        )
    seen: set[tuple[bool, JSONScalar]] = set()
    for label in labels:
        key = json_key(label)
        if key in seen:
            raise InvalidArgumentError(
                f"groups={labels!r} names the group {label!r} twice; name each group once "
                "(1 and 1.0 are one group)"
            )
        seen.add(key)
    return labels


def check_interventions(interventions: object) -> list[tuple[object, timedelta | None]]:
    """``interventions``: a non-empty list of levers, or a mapping of lever to landmark.

    Returns (lever, its landmark or ``None`` for the common one) pairs; the
    levers and landmarks themselves are checked by the caller.
    """
    usage = (
        "pass a non-empty list of event names or conditions, e.g. ['tutorial', 'csm'], or "
        "a mapping of each to its landmark"
    )
    if isinstance(interventions, str | bytes) or not isinstance(interventions, Iterable):
        raise InvalidArgumentError(f"interventions={interventions!r}: {usage}")
    if isinstance(interventions, Mapping):
        pairs: list[tuple[object, timedelta | None]] = list(interventions.items())
    else:
        pairs = [(lever, None) for lever in interventions]
    if not pairs:
        raise InvalidArgumentError(f"interventions is empty: {usage}")
    return pairs


#: The fields of a relativedelta that set a time instead of adding to it.
_ABSOLUTE_FIELDS = ("year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")
_RELATIVE_FIELDS = ("years", "months", "days", "leapdays", "hours", "minutes", "seconds")


def check_step(step: relativedelta) -> relativedelta:
    """A cohort period given as a relativedelta: a length that moves time forward.

    Fields that set a time (``day=31``, ``weekday=MO``) would put every
    period's start on the same date, and a negative field beside a positive
    one (``months=1, days=-30``) lets ``anchor + k * period`` go back in time:
    both are refused, so the periods follow each other.
    """
    absolute = [f for f in _ABSOLUTE_FIELDS if getattr(step, f) is not None]
    if absolute:
        raise InvalidArgumentError(
            f"period={step!r}: sets {', '.join(absolute)} (a date, not a length); a cohort "
            "period is a length: use relative fields, e.g. relativedelta(months=1) or "
            "relativedelta(weeks=2)"
        )
    values = [getattr(step, f) for f in _RELATIVE_FIELDS] + [step.microseconds]
    if any(v < 0 for v in values) or not any(v > 0 for v in values):
        raise InvalidArgumentError(
            f"period={step!r}: must move time forward, every field 0 or more "
            "(e.g. relativedelta(weeks=2))"
        )
    return step
