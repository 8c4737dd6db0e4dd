"""What the statements of :mod:`ttvkit.stores.sql.render` return, as ttvkit values."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import Any

from ttvkit.observations import AttributeValue, DurationCells, ObservationColumns, from_micros
from ttvkit.stores.sql.dialect import Dialect
from ttvkit.stores.sql.plan import FirstTimeColumn, ObservationPlan

__all__ = ["DurationCells", "paused_gc", "read_cells", "read_columns"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of row tuples are taken apart.

    Those tuples hold no cycles, but each allocation counts towards the next
    collection, which walks them all: transposing a million rows took three
    times as long with the collector on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_columns(
    rows: Sequence[Sequence[Any]], plan: ObservationPlan, dialect: Dialect
) -> ObservationColumns:
    """Columns of :func:`~ttvkit.stores.sql.observations_statement`'s rows."""
    if not rows:
        return ObservationColumns((), (), (), (), (), tuple(() for _ in plan.attributes))
    with paused_gc():
        customers, starts, ends, observed, before, *values = zip(*rows, strict=True)
        attributes: list[tuple[AttributeValue, ...]] = []
        for spec, column in zip(plan.attributes, values, strict=True):
            if isinstance(spec, FirstTimeColumn):
                attributes.append(tuple(None if v is None else from_micros(int(v)) for v in column))
            else:
                key = spec.key
                attributes.append(tuple(dialect.read(v, key) for v in column))
        return ObservationColumns(
            tuple(customers),
            tuple(int(s) for s in starts),
            tuple(int(e) for e in ends),
            tuple(bool(o) for o in observed),
            tuple(bool(b) for b in before),
            tuple(attributes),
        )


def read_cells(rows: Sequence[Sequence[Any]]) -> DurationCells:
    """:class:`DurationCells` of :func:`~ttvkit.stores.sql.cells_statement`'s rows."""
    if not rows:
        return DurationCells((), (), (), 0)
    # Transposed first, then int() by map: C loops (engines hand back int, or Decimal).
    with paused_gc():
        durations, reached, censored, before = zip(*rows, strict=True)
        return DurationCells(
            tuple(map(int, durations)),
            tuple(map(int, reached)),
            tuple(map(int, censored)),
            sum(map(int, before)),
        )
