"""The engine's path: the checked view over the input, when every row passes."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ttvkit._json import canonical
from ttvkit.io import ColumnMapping
from ttvkit.io.values import json_object
from ttvkit.stores.scan._checks import (
    MAX_MICROS,
    Dirty,
    Plan,
    fixed_select,
    ident,
    lit,
    resolve_columns,
)
from ttvkit.stores.scan._inputs import (
    FILE_COLUMN,
    ROW_COLUMN,
    as_arrow,
    csv_header,
)
from ttvkit.stores.scan._jsonl import jsonl_raw, jsonl_select

if TYPE_CHECKING:
    from ttvkit.stores.duckdb import DuckDBEngine


#: The key that finds ids held by more than one row: a 64-bit hash of the id (NULL
#: stays NULL). Sorting it takes less memory and time than the text; two ids that
#: share a hash send the check to the exact grouping by the id.
ID_KEY: str = "CASE WHEN event_id IS NULL THEN NULL ELSE hash(event_id) END"


def _check_rows(connection: Any) -> tuple[int, int, int]:
    """(bad rows, ids held by more than one row, rows) of ``ttv_checked``, in one pass.

    The pass sorts the hash of every row's id and compares each with the one
    before it. A sort holds about 9 bytes a row and spills to disk past the
    memory limit, where grouping by the hash took about 60 bytes a row (at
    1e7 events the scan's peak went from 700 to 330 MiB) and ``count(DISTINCT
    ...)`` cannot spill. A bad row sorts as 0, so one sorted column answers
    both; a good id whose hash is 0 (one chance in 2**64) counts as bad and
    only sends the input to the reader's path, which gives the same answers.
    Only when two rows share a hash are the ids grouped, to count the ones
    held by more than one row. The first count is 0 or more bad rows.
    """
    bad, shared, rows = connection.execute(
        "SELECT count(*) FILTER (WHERE k = 0), count(*) FILTER (WHERE k = p AND k <> 0), "
        "count(*) FROM (SELECT k, lag(k) OVER (ORDER BY k) AS p "
        f"FROM (SELECT CASE WHEN ttv_ok THEN {ID_KEY} ELSE 0 END AS k FROM ttv_checked))"
    ).fetchone() or (1, 0, 0)
    if bad or not shared:
        return int(bad), 0, int(rows)
    (duplicates,) = connection.execute(
        "SELECT count(*) FROM (SELECT event_id FROM ttv_checked WHERE event_id IS NOT NULL "
        "GROUP BY event_id HAVING count(*) > 1)"
    ).fetchone() or (1,)
    return 0, int(duplicates), int(rows)


def _times_outside(connection: Any) -> int:
    """Rows of ``ttv_checked`` whose time is outside the readers' range, counted row by row.

    The check's own range test is folded by DuckDB into TRUE when a Parquet file's
    column statistics put every time in range, and the column is then not even read:
    a damaged page (or a writer's wrong statistics) would surface only in a question,
    or not at all. A ``FILTER`` of an aggregate is evaluated per row.
    """
    (outside,) = connection.execute(
        "SELECT count(*) FILTER (WHERE NOT COALESCE(ts >= 0 AND ts < "
        f"{MAX_MICROS}, FALSE)) FROM ttv_checked"
    ).fetchone() or (1,)
    return int(outside)


def _described(connection: Any, relation: str) -> dict[str, str]:
    """The columns of *relation* and their DuckDB types, in order."""
    described = connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {str(row[0]): str(row[1]) for row in described}


#: Parquet leaf types whose values the readers read as the same JSON values, whichever
#: of them a file holds: DuckDB widening one to another changes nothing. (UINT_64 is
#: left out: beyond 2**63 it is no longer an integer the readers take.)
_SAME_VALUES: dict[tuple[object, object], str] = {
    **{
        (physical, converted): "integer"
        for physical in ("INT32", "INT64")
        for converted in (
            None,
            "INT_8",
            "INT_16",
            "INT_32",
            "INT_64",
            "UINT_8",
            "UINT_16",
            "UINT_32",
        )
    },
    ("FLOAT", None): "float",
    ("DOUBLE", None): "float",
}


def _parquet_layouts(connection: Any, files: list[str]) -> list[dict[str, str]] | None:
    """Each file's top-level columns and the kind of values each holds, from the files'
    metadata in one query (a DESCRIBE per file cost milliseconds each).

    A kind is the Parquet type of a leaf (integers of any width as one, ``FLOAT``
    and ``DOUBLE`` as one; whether a value may be null does not count), or a
    group's fields and their kinds. None when a file names a column twice: the
    reader says so.
    """
    rows = connection.execute(
        "SELECT file_name, name, type, converted_type, logical_type, num_children, "
        "repetition_type FROM parquet_schema(?)",
        [files],
    ).fetchall()
    by_file: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_file.setdefault(str(row[0]), []).append(row[1:])
    layouts = []
    for schema in by_file.values():
        columns: list[tuple[str, str]] = []
        at = 1  # the root, then its fields
        for _ in range(int(schema[0][4] or 0)):
            column, after = _kind(schema, at)
            columns.append((str(schema[at][0]), column))
            at = after
        layout = dict(columns)
        if len(layout) != len(columns):
            return None
        layouts.append(layout)
    return layouts


def _kind(schema: list[tuple[Any, ...]], at: int) -> tuple[str, int]:
    """The kind of the schema node at *at*, and where the node after its subtree is."""
    _, physical, converted, logical, children, repetition = schema[at]
    repeated = "REPEATED" if repetition == "REPEATED" else ""  # not REQUIRED or OPTIONAL
    if not children:
        # the logical type decides too: an INT64 may hold times, decimals...
        numeric = logical is None or str(logical).startswith("IntType(")
        plain = _SAME_VALUES.get((physical, converted)) if numeric else None
        if str(logical).startswith("TimestampType("):
            # Milli-, micro- and nanoseconds widen to a finer unit exactly (or fail,
            # past the year 2262 in nanoseconds, and the reader reads the files), and
            # the finer unit is truncated to microseconds as the readers truncate it.
            utc = "isAdjustedToUTC=1" in str(logical) or "isAdjustedToUTC=true" in str(logical)
            plain = f"timestamp/{'utc' if utc else 'naive'}"
        return plain or f"{physical}/{converted}/{logical}/{repeated}", at + 1
    fields, after = [], at + 1
    for _ in range(int(children)):
        field, after_field = _kind(schema, after)
        fields.append(f"{schema[after][0]}:{field}")
        after = after_field
    return f"{repeated}/{converted}({', '.join(fields)})", after


def _same_kinds(layouts: list[dict[str, str]]) -> bool:
    """Whether every column has the same kind of values in every file that holds it.

    DuckDB reads the files as one table, a column's type widened to one all
    its files fit: an integer column of one file and a text column of another
    become text, naive times of one file and zoned times of another become
    zoned. The readers read each file as it is.
    """
    kinds: dict[str, str] = {}
    for layout in layouts:
        for column, kind in layout.items():
            if kinds.setdefault(column, kind) != kind:
                return False
    return True


_NUMBERED = re.compile(r"(.+)_[0-9]+")


def _renamed(columns: Iterable[str]) -> bool:
    """Whether DuckDB may have renamed a column: its identifiers ignore case, and of two
    columns named alike (``Plan`` and ``plan``) it reads the second as ``plan_1``.

    A column that is really called ``plan_1`` beside ``plan`` counts too: the
    readers' path then reads the input, with the same answers.
    """
    names = list(columns)
    folded = {n.casefold() for n in names}
    if len(folded) != len(names):
        return True
    return any(
        (m := _NUMBERED.fullmatch(n)) is not None and m[1].casefold() in folded for n in names
    )


def _rows_without_id(connection: Any) -> tuple[bool, bool]:
    """Of the rows without an id: (whether two hold the same event with their
    properties written differently, whether two are alike in every field).

    The engine's ids from content hash the text as written; the readers' hash
    the values, so ``{"a":1,"b":2}`` and ``{"b":2,"a":1}`` (or ``600.0`` and
    ``600.00`` in a CSV) are one event to them. One pass sorts two 64-bit
    hashes a row (the content but the properties, and the properties' text),
    as the duplicate-id check does, to find rows alike in all but that text;
    only those texts are read into Python and compared by value. Rows whose
    two hashes are both those of the row before are (but for a collision,
    which only costs time) the same row sent twice: only then do the ids from
    content need the view to keep one row per id.
    """
    rows = connection.execute(
        "WITH r AS (SELECT hash(user_id, account_id, name, ts) AS k, "
        "COALESCE(properties, '') AS t FROM ttv_rows WHERE event_id IS NULL), "
        "s AS MATERIALIZED (SELECT k, k = lag(k) OVER w AS same_k, h = lag(h) OVER w AS same_h "
        "FROM (SELECT k, hash(t) AS h FROM r) WINDOW w AS (ORDER BY k, h)) "
        "SELECT DISTINCT k, t, false FROM r "
        "WHERE k IN (SELECT k FROM s WHERE same_k AND NOT same_h) "
        "UNION ALL SELECT NULL, NULL, true FROM (SELECT 1 FROM s WHERE same_k AND same_h LIMIT 1)"
    ).fetchall()
    repeated = False
    values: dict[object, set[str]] = {}
    for key, text, twice in rows:
        if twice:
            repeated = True
            continue
        read = canonical(json_object(text or None))
        if read in values.setdefault(key, set()):
            return True, repeated
        values[key].add(read)
    return False, repeated


def define_view(
    engine: DuckDBEngine,
    source: Any,
    kind: str | None,
    mapping: ColumnMapping,
    *,
    assume_timezone: tzinfo | None,
    timestamp_unit: str | None,
    delimiter: str,
    infer_types: bool,
    event_ids: str,
    memory_limit: str | None,
    decimal: str = ".",
) -> tuple[str, int] | None:
    """Define the canonical view over *source* when the engine vouches for every row.

    Returns the prefix of the ids it makes up for rows without one and the
    number of rows, or None when the input needs the reader's path.
    """
    import duckdb

    from ttvkit.stores.duckdb.engine import is_interrupt

    connection = engine._connection
    try:
        with contextlib.suppress(duckdb.Error):
            connection.execute("SET TimeZone = 'UTC'")
        with contextlib.suppress(duckdb.Error):
            # The check's hash tables (hundreds of MB at 1e7 events) go back to the
            # system within a second of the query, before the curve is built in Python,
            # instead of staying in jemalloc's caches (a process-wide allocator setting).
            connection.execute("SET allocator_background_threads = true")
        if memory_limit is not None:
            # DuckDB creates the directory when it first spills; whatever is
            # left of it goes when the source is closed.
            spill = os.path.join(tempfile.gettempdir(), f"ttvkit-scan-{uuid.uuid4().hex}")
            connection.execute(f"SET memory_limit = {lit(memory_limit)}")
            connection.execute(f"SET temp_directory = {lit(spill)}")
            engine.on_close(lambda: shutil.rmtree(spill, ignore_errors=True))
            engine.memory_advice = (
                f"scan() let DuckDB take memory_limit={memory_limit!r} and spill the rest "
                "to disk: pass a larger memory_limit=, or None for DuckDB's default "
                "(80% of RAM), or check the free space of the temporary directory"
            )
        if kind in ("pandas", "polars", "pyarrow"):
            table = as_arrow(source, kind)
            if table is None:
                return None
            # A registered table is visible to the connection that registered
            # it: every cursor of the engine registers it again (no copy).
            engine._on_cursor = lambda cursor: cursor.register("ttv_input", table)
            connection.register("ttv_input", table)
            raw = "ttv_input"
        elif kind == "parquet":
            raw = (
                f"read_parquet([{', '.join(map(lit, source))}], union_by_name = true, "
                f"filename = {lit(FILE_COLUMN)}, file_row_number = true, "
                f"hive_partitioning = false)"
            )
        elif kind == "csv":
            if len(delimiter) != 1:
                return None
            for path in source:
                header = csv_header(path, delimiter)
                if not header or len(set(header)) != len(header) or "" in header:
                    return None
            raw = (
                f"read_csv([{', '.join(map(lit, source))}], header = true, all_varchar = true, "
                f"delim = {lit(delimiter)}, quote = '\"', escape = '\"', "
                "union_by_name = true, auto_detect = true, hive_partitioning = false)"
            )
        else:
            raw = jsonl_raw(source, mapping)
        columns = _described(connection, raw)
        # Where a row is, when the input says: the ids of rows without one need no window.
        where: str | None = None
        if kind == "parquet":
            del columns[FILE_COLUMN], columns["file_row_number"]
            where = f"{ident(FILE_COLUMN)} AS ttv_file, file_row_number AS ttv_row"
        elif kind in ("pandas", "polars", "pyarrow"):
            del columns[ROW_COLUMN]
            where = f"'' AS ttv_file, {ident(ROW_COLUMN)} AS ttv_row"
        if any("\x00" in c for c in columns):
            return None  # the reader names the file and the column
        # Each file's own columns, where the input has several: DuckDB reads them as one
        # table (by name, types widened to a common one), which the readers do not.
        layouts: list[dict[str, str]] = []
        if kind == "csv":
            layouts = [dict.fromkeys(csv_header(p, delimiter) or [], "VARCHAR") for p in source]
            if set(columns) != {c for layout in layouts for c in layout}:
                return None
        elif kind == "parquet" and len(source) > 1:
            found = _parquet_layouts(connection, list(source))
            if found is None or len(found) != len(source) or not _same_kinds(found):
                return None
            layouts = found
        elif kind in ("pandas", "polars", "pyarrow") and set(columns) != set(table.column_names) - {
            ROW_COLUMN
        }:
            return None
        if _renamed(columns) or any(_renamed(layout) for layout in layouts):
            return None
        if kind == "jsonl":
            select = jsonl_select(mapping, timestamp_unit, assume_timezone)
        else:
            resolved = resolve_columns(mapping, list(columns))
            if mapping.property_columns != "*" and not set(mapping.property_columns) <= set(
                columns
            ):
                return None  # the reader names the column the mapping misspells
            for layout in layouts:
                if resolve_columns(mapping, list(layout)) != resolved or (
                    mapping.property_columns != "*"
                    and not set(mapping.property_columns) <= layout.keys()
                ):
                    return None  # the reader says which file lacks which column
            plan = Plan(
                columns,
                mapping,
                text=kind == "csv",
                infer_types=infer_types,
                zone=assume_timezone,
                unit=timestamp_unit,
                decimal=decimal,
            )
            select = fixed_select(plan, resolved, mapping, list(columns))
        located = select.columns if where is None else f"{select.columns}, {where}"
        prefix = uuid.uuid4().hex[:16]
        connection.execute(
            f"CREATE VIEW ttv_checked AS SELECT *, {select.ok} AS ttv_ok FROM "
            f"(SELECT {located}, ({select.row_ok}) AS row_ok FROM {raw})"
        )
        # What questions read once the check has passed: the same rows without the
        # check's expressions, which DuckDB would otherwise bind (and compile their
        # regular expressions) again for every query.
        connection.execute(f"CREATE VIEW ttv_rows AS SELECT {located} FROM {raw}")
        bad, duplicates, rows = _check_rows(connection)
        if bad:
            return None
        if kind == "parquet" and _times_outside(connection):
            return None
        if duplicates:  # only then: do the copies of an id differ?
            (conflicting,) = connection.execute(
                "SELECT count(*) FROM (SELECT event_id FROM ttv_checked WHERE event_id IS NOT NULL "
                "GROUP BY event_id HAVING count(DISTINCT (user_id, account_id, name, ts, "
                "properties)) > 1)"
            ).fetchone() or (1,)
            if conflicting:
                return None
        repeated = False  # rows without an id, sent twice: their ids from content repeat
        if event_ids == "content":
            alike, repeated = _rows_without_id(connection)
            if alike:
                return None
        # Ids for rows without one: unique in this scan, stable within a query.
        if event_ids == "content":
            content = (
                "concat_ws(chr(1), user_id, COALESCE(account_id, chr(2)), name, "
                "CAST(ts AS VARCHAR), COALESCE(properties, chr(2)))"
            )
            identified = f"COALESCE(event_id, {lit(prefix + '-')} || md5({content}))"
        elif where is not None:
            identified = (
                f"COALESCE(event_id, {lit(prefix + '-')} || CAST(ttv_row AS VARCHAR) || '@' "
                "|| ttv_file)"
            )
        else:
            # A window over the whole input, computed only by queries that read event_id.
            identified = (
                f"COALESCE(event_id, {lit(prefix + '-')} || CAST(row_number() OVER () AS VARCHAR))"
            )
        body = (
            f"SELECT {identified} AS event_id, user_id, account_id, name, ts, "
            f"properties::JSON AS properties FROM ttv_rows"
        )
        if duplicates or repeated:
            body = f"SELECT DISTINCT ON (event_id) * FROM ({body})"
        connection.execute(f"CREATE VIEW ttv_scan AS {body}")

    except Dirty:
        return None
    except (duckdb.InterruptException, RuntimeError) as exc:
        if is_interrupt(exc):  # Ctrl-C: stop, rather than take the reader's path
            raise KeyboardInterrupt from exc
        raise
    except duckdb.OutOfMemoryException as exc:
        # The reader's path would take the same input row by row in Python: say so.
        raise engine._failure(exc) from exc
    except duckdb.Error:
        # DuckDB could not read the input as the fast path needs (a ragged CSV,
        # an encoding): the reader reads it, and says what is wrong if anything.
        return None
    return prefix + "-", rows
