"""Calculators: questions about Time to Value, answered from any source.

A *source* is a :class:`~ttvkit.stores.Store`, a store URL, a
:class:`~ttvkit.Tracker` (flushed first), or an iterable of
:class:`~ttvkit.ValueEvent` objects or mappings. Calculators never loop over
raw events: they ask the store for observations (one row per customer) and
hand durations to :mod:`ttvkit.stats`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from ttvkit import stats
from ttvkit.errors import AnalysisError
from ttvkit.events import ValueEvent, parse_timestamp
from ttvkit.milestones import Milestone, SpeedBands
from ttvkit.observations import Attribute, Observation, Per, check_per
from ttvkit.results import TTVDistribution, durations_and_flags
from ttvkit.stores import MemoryStore, Store, open_store

__all__ = ["Source", "time_to_value"]

Source: TypeAlias = Store | str | Iterable[ValueEvent | Mapping[str, Any]] | Any


@contextlib.contextmanager
def as_store(source: Source) -> Iterator[Store]:
    """Yield a store for *source*; a store opened here is closed afterwards."""
    if isinstance(source, Store):
        yield source
        return
    tracked = getattr(source, "_ttvkit_store_for_analysis", None)
    if callable(tracked):  # a Tracker: flush, then read its store
        yield tracked()
        return
    if isinstance(source, str):
        with open_store(source) as store:
            yield store
        return
    if isinstance(source, Iterable) and not isinstance(source, bytes | Mapping):
        events = (_as_event(e) for e in source)
        with MemoryStore(events) as store:
            yield store
        return
    raise AnalysisError(
        f"source {type(source).__name__}: pass a Store, a store URL, a Tracker, "
        "or an iterable of ValueEvent objects or mappings"
    )


def _as_event(item: object) -> ValueEvent:
    if isinstance(item, ValueEvent):
        return item
    if isinstance(item, Mapping):
        return ValueEvent.from_mapping(item)
    raise AnalysisError(
        f"source item {item!r}: an event source must yield ValueEvent objects or mappings"
    )


def resolve_as_of(store: Store, as_of: datetime | str | None) -> datetime | None:
    """``as_of`` as an aware UTC datetime; by default the latest stored event."""
    if as_of is None:
        return store.latest_timestamp()
    try:
        return parse_timestamp(as_of, field="as_of")
    except ValueError as exc:
        raise AnalysisError(str(exc)) from None


def _check_milestone(milestone: object) -> Milestone:
    if not isinstance(milestone, Milestone):
        raise AnalysisError(f"milestone={milestone!r}: pass a ttvkit.Milestone")
    return milestone


def load_observations(
    store: Store,
    milestone: Milestone,
    as_of: datetime,
    per: Per,
    attributes: Sequence[Attribute] = (),
) -> list[Observation]:
    """Observations from the store, or a clear error when there are none."""
    rows = store.observations(milestone, as_of=as_of, per=per, attributes=attributes)
    if not rows:
        start = (
            milestone.start if isinstance(milestone.start, datetime) else milestone.start.describe()
        )
        raise AnalysisError(
            f"no {per} has started the clock of {milestone.name!r} (start: {start}) "
            f"up to {as_of.isoformat()}; check the start event's name"
            + (" and that events carry account_id" if per == "account" else "")
        )
    return rows


def distribution(
    milestone: Milestone,
    rows: Sequence[Observation],
    as_of: datetime,
    per: Per,
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """A :class:`TTVDistribution` over *rows* (which must not be empty)."""
    durations, observed = durations_and_flags(rows)
    curve = stats.kaplan_meier(durations, observed)
    return TTVDistribution(milestone, as_of, per, curve, tuple(rows), bands)


def time_to_value(
    source: Source,
    milestone: Milestone,
    *,
    as_of: datetime | str | None = None,
    per: Per = "user",
    bands: SpeedBands | None = None,
) -> TTVDistribution:
    """The distribution of time to *milestone* over every customer whose clock started.

    ``as_of`` is the analysis time: customers not yet there are censored at
    it (default: the latest event in the source). ``per="account"`` measures
    accounts instead of users. ``bands`` enables :meth:`TTVDistribution.speed_counts`.
    """
    milestone = _check_milestone(milestone)
    per = check_per(per)
    if bands is not None and not isinstance(bands, SpeedBands):
        raise AnalysisError(f"bands={bands!r}: pass ttvkit.SpeedBands(immediate=..., short=...)")
    with as_store(source) as store:
        when = resolve_as_of(store, as_of)
        if when is None:
            raise AnalysisError("the source holds no events; track or import some first")
        rows = load_observations(store, milestone, when, per)
    return distribution(milestone, rows, when, per, bands)
