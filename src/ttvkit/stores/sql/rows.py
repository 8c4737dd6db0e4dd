"""What the statements of :mod:`ttvkit.stores.sql.render` return, as ttvkit values."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable, Sequence
from typing import Any, Final

from ttvkit._gc import paused_gc
from ttvkit.observations import AttributeValue, DurationCells, ObservationColumns, from_micros
from ttvkit.stores.sql.dialect import Dialect
from ttvkit.stores.sql.plan import FirstTimeColumn, ObservationPlan

__all__ = ["DurationCells", "paused_gc", "read_cells", "read_columns"]


def read_columns(
    rows: Iterable[Sequence[Any]], plan: ObservationPlan, dialect: Dialect
) -> ObservationColumns:
    """Columns of :func:`~ttvkit.stores.sql.observations_statement`'s rows."""
    with paused_gc():
        listed = rows if isinstance(rows, Sequence) else list(rows)
        if not listed:
            return ObservationColumns((), (), (), (), (), tuple(() for _ in plan.attributes))
        customers, starts, ends, observed, before, *values = zip(*listed, strict=True)
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


def read_cells(rows: Iterable[Sequence[Any]]) -> DurationCells:
    """:class:`DurationCells` of :func:`~ttvkit.stores.sql.cells_statement`'s rows.

    The rows are taken a batch at a time into 64-bit arrays: from an engine
    that fetches them as they are read, a tuple per cell never exists for
    all cells at once.
    """
    durations: array[int] = array("q")
    reached: array[int] = array("q")
    censored: array[int] = array("q")
    before = 0
    rest = iter(rows)
    # Each batch transposed, then int() by map: C loops (engines hand back int, or Decimal).
    with paused_gc():
        while batch := list(itertools.islice(rest, BATCH_ROWS)):
            d, r, c, b = zip(*batch, strict=True)
            durations.extend(map(int, d))
            reached.extend(map(int, r))
            censored.extend(map(int, c))
            before += sum(map(int, b))
    return DurationCells(durations, reached, censored, before)


#: Rows an engine hands back at a time and cells taken apart at a time (fewer rows
#: in flight than one fetchall, and faster).
BATCH_ROWS: Final = 65_536
