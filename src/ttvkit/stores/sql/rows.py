"""What the statements of :mod:`ttvkit.stores.sql.render` return, as ttvkit values."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, chain, compress, islice
from operator import ne, sub
from typing import Any, Final

from ttvkit._gc import paused_gc
from ttvkit.observations import AttributeValue, DurationCells, ObservationColumns, from_micros
from ttvkit.stores.sql.dialect import Dialect
from ttvkit.stores.sql.plan import FirstTimeColumn, ObservationPlan

__all__ = [
    "DurationCells",
    "paused_gc",
    "read_cell_columns",
    "read_cells",
    "read_column_lists",
    "read_columns",
]


def read_columns(
    rows: Iterable[Sequence[Any]], plan: ObservationPlan, dialect: Dialect
) -> ObservationColumns:
    """Columns of :func:`~ttvkit.stores.sql.observations_statement`'s rows."""
    with paused_gc():
        listed = rows if isinstance(rows, Sequence) else list(rows)
        if not listed:
            return ObservationColumns.from_rows((), len(plan.attributes))
        return read_column_lists(list(zip(*listed, strict=True)), plan, dialect)


def read_column_lists(
    columns: Sequence[Sequence[Any]], plan: ObservationPlan, dialect: Dialect
) -> ObservationColumns:
    """:func:`read_columns` of the statement's columns rather than its rows.

    *columns* are the statement's columns in its order, as an engine that
    hands back columns gives them (see
    :meth:`~ttvkit.stores.duckdb.DuckDBEngine.query_columns`).
    """
    with paused_gc():
        customers, starts, ends, observed, before, *values = columns
        attributes: list[tuple[AttributeValue, ...]] = []
        for spec, column in zip(plan.attributes, values, strict=True):
            if isinstance(spec, FirstTimeColumn):
                attributes.append(tuple(None if v is None else from_micros(int(v)) for v in column))
            else:
                key = spec.key
                attributes.append(tuple(dialect.read(v, key) for v in column))
        # map() rather than a generator: a C step per value, not a Python frame.
        return ObservationColumns(
            tuple(customers),
            tuple(map(int, starts)),
            tuple(map(int, ends)),
            tuple(map(bool, observed)),
            tuple(map(bool, before)),
            tuple(attributes),
        )


def read_cells(rows: Iterable[Sequence[Any]]) -> DurationCells:
    """:class:`DurationCells` of :func:`~ttvkit.stores.sql.cells_statement`'s rows.

    The rows come ordered by duration; a duration may repeat (an engine that
    sorts rather than groups, see :attr:`Dialect.groups_cells`), and its rows
    are added up here. They are taken a batch at a time into 64-bit arrays:
    from an engine that fetches them as they are read, a tuple per cell never
    exists for all cells at once.
    """
    rest = iter(rows)

    def batches() -> Iterator[tuple[array[int], ...]]:
        # Each batch transposed into arrays: C loops.
        while batch := list(islice(rest, BATCH_ROWS)):
            yield tuple(map(_int_array, zip(*batch, strict=True)))

    return read_cell_columns(batches())


def read_cell_columns(batches: Iterable[Sequence[Sequence[int]]]) -> DurationCells:
    """:func:`read_cells` of the statement's columns rather than its rows.

    Each batch is the four columns (duration µs, reached, censored, reached
    before start) of consecutive rows, as an engine that hands back columns
    gives them (DuckDB as NumPy arrays, see
    :meth:`~ttvkit.stores.duckdb.DuckDBEngine.query_int_columns`); one batch
    may hold every row. Equal durations are added up as :func:`read_cells` does.
    """
    durations: array[int] = array("q")
    reached: array[int] = array("q")
    censored: array[int] = array("q")
    before = 0
    with paused_gc():
        for d, r, c, b in batches:
            before += sum(b)
            # Row i starts a cell where its duration differs from the row before
            # (the first row's from the last cell read).
            if all(map(ne, d, chain(durations[-1:] or (None,), d))):
                durations.extend(d)
                reached.extend(r)
                censored.extend(c)
                continue
            new = list(map(ne, d, chain(durations[-1:] or (None,), d)))
            # Equal durations are adjacent: each cell's counts are differences
            # of running sums taken at the cell's last row.
            last = [*new[1:], True]
            r_sums = _differences(compress(accumulate(r), last))
            c_sums = _differences(compress(accumulate(c), last))
            cells = list(compress(d, last))
            if not new[0]:  # the batch's first cell continues the last one read
                reached[-1] += r_sums.pop(0)
                censored[-1] += c_sums.pop(0)
                cells.pop(0)
            durations.extend(cells)
            reached.extend(r_sums)
            censored.extend(c_sums)
    return DurationCells(durations, reached, censored, before)


def _int_array(column: Sequence[Any]) -> array[int]:
    # Engines hand back int (no conversion needed), or Decimal (PostgreSQL's SUM).
    try:
        return array("q", column)
    except TypeError:
        return array("q", map(int, column))


def _differences(running: Iterable[int]) -> list[int]:
    """Each running total minus the one before it (the first as it is)."""
    totals = list(running)
    return list(map(sub, totals, chain((0,), totals)))


#: Rows an engine hands back at a time and cells taken apart at a time (fewer rows
#: in flight than one fetchall, and faster).
BATCH_ROWS: Final = 65_536
