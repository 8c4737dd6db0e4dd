"""scan(): events at rest (Parquet, CSV, JSON lines) and DataFrames, read in DuckDB.

:func:`scan` returns a read-only :class:`ScanSource`. DuckDB reads the files
(or the DataFrame's columns, without a copy where Arrow allows) and a view
normalises them to the *canonical relation* of :mod:`ttvkit.stores.duckdb`;
no :class:`~ttvkit.ValueEvent` is built per row unless someone asks for
``events()``. The view computes the ``properties`` JSON object only for the
queries that read it.

Validation is the readers' (:mod:`ttvkit.io`), message for message: when
``scan()`` is called, one pass over the input checks every row in the engine
with conservative rules (a row passes only when the engine is sure the reader
would accept it and read it to the same event). When every row passes, that
is all. When one does not, or the layout is wrong (a misspelt column), the
input is read again by the matching :mod:`ttvkit.io` reader, which raises its
own error for ``on_error="raise"`` or skips and counts bad rows for
``on_error="skip"``; the events it reads then live in an in-memory DuckDB
table. So answers and messages are always the readers'; only the cost of a
dirty input differs (Python per row).

Duplicated event ids count once (rule 1 of :mod:`ttvkit.observations`): when
the copies are identical, the view keeps one; when they differ, the input
takes the reader's path, whose store keeps the first copy in input order.
Rows without an event id get one from the scan: with ``event_ids="row"``
(the default) a random prefix per scan and the row's number, so every row is
an event, as the readers do; with ``event_ids="content"`` a hash of the row's
content, so rows identical in every field count once (what ``ttvkit report``
does with a file). Identical means equal values, as :func:`ttvkit._ids.content_id`
hashes them: rows alike in all but the text of their properties (keys in
another order, ``600.0`` and ``600.00``) are compared by value, at the cost of
one more sort of two 64-bit hashes a row, and where two are one event the
input takes the reader's path.
"""

from __future__ import annotations

import io
import os
import re
from datetime import tzinfo
from typing import Any, Final, Literal, overload

from ttvkit._optional import require
from ttvkit._table_kinds import frame_kind, frame_rows, unread_table
from ttvkit.errors import ConfigurationError
from ttvkit.io import ColumnMapping, EventReader, TimestampUnit, read_file, read_jsonl
from ttvkit.io.values import (
    check_decimal,
    check_delimiter,
    check_encoding,
    delimiter_of_name,
    is_gzipped,
    is_utf8,
)
from ttvkit.stores.scan._inputs import (
    DataFrameLike,
    Format,
    ScanInput,
    frame_reader,
    gzip_damage,
    input_files,
    is_frame,
)
from ttvkit.stores.scan._load import MadeUpSince, load_events
from ttvkit.stores.scan._source import ScanSource
from ttvkit.stores.scan._view import define_view
from ttvkit.stores.spark import SparkSource, is_spark_dataframe

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DataFrameLike",
    "ScanInput",
    "ScanSource",
    "files_of",
    "is_frame",
    "scan",
    "scan_in_engine",
    "unread_table",
]

#: How much memory :func:`scan` lets DuckDB take by default before it spills to disk.
DEFAULT_MEMORY_LIMIT: Final = "1GB"
_MEMORY_SIZE: Final = re.compile(r"[0-9]+(\.[0-9]+)? ?(B|[KMGT]i?B)", re.IGNORECASE)


def files_of(source: str | os.PathLike[str], *, format: str | None = None) -> list[str]:
    """The files :func:`scan` reads for *source*, in name order: the file itself, a
    directory's own files, or a glob's matches, without bookkeeping files (names
    starting with ``_`` or ``.``), of one format (*format*, or their names').

    A misspelt path, a glob that matches nothing or a mix of formats is a
    :class:`~ttvkit.errors.ConfigurationError`, as for :func:`scan`.
    """
    return input_files(source, format)[0]


@overload
def scan(
    source: ScanInput,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
    delimiter: str | None = None,
    infer_types: bool = True,
    decimal: str = ".",
    encoding: str | None = None,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    engine: Literal["duckdb"] | None = None,
    spark: None = None,
) -> ScanSource: ...


@overload
def scan(
    source: Any,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
    delimiter: str | None = None,
    infer_types: bool = True,
    decimal: str = ".",
    encoding: str | None = None,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    engine: Literal["spark"],
    spark: Any = None,
) -> SparkSource: ...


def scan(
    source: Any,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
    delimiter: str | None = None,
    infer_types: bool = True,
    decimal: str = ".",
    encoding: str | None = None,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    engine: Literal["duckdb", "spark"] | None = None,
    spark: Any = None,
) -> ScanSource | SparkSource:
    """Read events at rest, or a DataFrame, in DuckDB: a read-only source for the calculators.

    *source* is a Parquet, CSV or JSON-lines file (``.gz`` too), a glob
    (``"exports/*.parquet"``, ``**`` for subdirectories), a directory of such
    files, or a pandas or polars DataFrame or a pyarrow Table. *format*
    (``"parquet"``, ``"csv"``, ``"jsonl"``) is taken from the file names when
    not given. *mapping*, *on_error*, *assume_timezone*, *timestamp_unit*,
    *delimiter*, *infer_types*, *decimal* and *encoding* mean what they mean for the
    :mod:`ttvkit.io` readers, with the same validation and messages (*delimiter*
    None: a tab for ``.tsv`` files, else a comma); a CSV or
    JSON-lines file in an encoding other than the readers' default (UTF-8)
    is decoded by the reader, into an in-memory table.
    *event_ids* says what id a row without one gets: ``"row"`` a new one per
    row (every row is an event), ``"content"`` one made from its content (rows
    identical in every field are one event sent twice, and count once).
    *memory_limit* caps the memory DuckDB takes for the scan (DuckDB's size
    syntax: ``"1GB"``, ``"512MiB"``); beyond it, DuckDB spills to a private
    temporary directory that closing the source removes. ``None`` leaves
    DuckDB's own default, 80 % of the machine's memory: faster on the largest
    inputs when the memory is there to take.

    Needs ``pip install 'ttvkit[duckdb]'``. Close the source when done (or
    use ``with``); the calculators close one they open themselves.

    A pyspark DataFrame, or ``engine="spark"`` with a path Spark reads
    (``"s3a://bucket/events/*.parquet"``, *format* any of ``spark.read``'s,
    *spark* the session, by default the active one), gives a
    :class:`~ttvkit.stores.spark.SparkSource` instead, computed by Spark
    (``pip install 'ttvkit[spark]'``; see ``docs/spark.md``). There *mapping*,
    *assume_timezone* (for ``TIMESTAMP_NTZ``), *timestamp_unit* (for integer
    epochs) and *event_ids* apply; and ``on_error="skip"`` is refused, as
    Spark reads no row ttvkit could skip.

    >>> with scan("exports/*.parquet") as events:           # doctest: +SKIP
    ...     ttv.time_to_value(events, first_report)
    """
    if engine == "spark" or (engine is None and is_spark_dataframe(source)):
        _refuse_text_options(
            {"encoding": encoding, "decimal": decimal if decimal != "." else None},
            "which scan() reads with DuckDB; Spark reads Parquet and tables",
        )
        if on_error != "raise":
            raise ConfigurationError(
                f"on_error={on_error!r}: Spark cannot skip bad rows (it checks the columns' "
                "types, and a bad value fails the query that meets it); filter the "
                "DataFrame first, or leave on_error='raise'"
            )
        return _spark_source(
            source,
            mapping=mapping,
            format=format,
            spark=spark,
            assume_timezone=assume_timezone,
            timestamp_unit=timestamp_unit,
            event_ids=event_ids,
        )
    if engine not in (None, "duckdb"):
        raise ConfigurationError(f"engine={engine!r}: pass 'duckdb' or 'spark'")
    found = _scan_duckdb(
        source,
        mapping=mapping,
        format=format,
        on_error=on_error,
        assume_timezone=assume_timezone,
        timestamp_unit=timestamp_unit,
        delimiter=delimiter,
        infer_types=infer_types,
        decimal=decimal,
        encoding=encoding,
        event_ids=event_ids,
        memory_limit=memory_limit,
        readers_path=True,
    )
    assert found is not None  # the readers' path always gives a source
    return found


#: The files each option of scan() is for (it is refused for other inputs).
_OPTION_FILES: Final = {
    "encoding": "CSV and JSON-lines files",
    "decimal": "CSV files, whose numbers are text",
    "infer_types": "CSV files, whose values are text",
    "delimiter": "CSV files",
    "format": "files",
}


def _refuse_text_options(given: dict[str, object], why: str) -> None:
    """Refuse the first of scan()'s options *given* (None: not given) for an input they
    are not for, saying *why* not."""
    for option, value in given.items():
        if value is not None:
            raise ConfigurationError(f"{option}={value!r}: is for {_OPTION_FILES[option]}; {why}")


def scan_in_engine(
    source: ScanInput,
    *,
    mapping: ColumnMapping | None = None,
    format: str | None = None,
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
    delimiter: str | None = None,
    infer_types: bool = True,
    decimal: str = ".",
    encoding: str | None = None,
    event_ids: Literal["row", "content"] = "row",
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
) -> ScanSource | None:
    """:func:`scan` when DuckDB vouches for every row of *source*, else None.

    Where :func:`scan` would read the input again with the ``ttvkit.io``
    reader into memory (a bad row, a layout DuckDB reads otherwise), this
    reads nothing more and returns None, for a caller that streams such an
    input through the reader itself (``ttvkit import`` does: it stores the
    rows before a bad one, in constant memory). A misspelt option or a
    missing file is still an error.
    """
    return _scan_duckdb(
        source,
        mapping=mapping,
        format=format,
        on_error="raise",
        assume_timezone=assume_timezone,
        timestamp_unit=timestamp_unit,
        delimiter=delimiter,
        infer_types=infer_types,
        decimal=decimal,
        encoding=encoding,
        event_ids=event_ids,
        memory_limit=memory_limit,
        readers_path=False,
    )


def _scan_duckdb(
    source: Any,
    *,
    mapping: ColumnMapping | None,
    format: str | None,
    on_error: Literal["raise", "skip"],
    assume_timezone: tzinfo | None,
    timestamp_unit: TimestampUnit | None,
    delimiter: str | None,
    infer_types: bool,
    decimal: str,
    encoding: str | None,
    event_ids: Literal["row", "content"],
    memory_limit: str | None,
    readers_path: bool,
) -> ScanSource | None:
    """The DuckDB scan: the checked view, or (with *readers_path*) the readers'
    events in an in-memory DuckDB table; None without *readers_path* when the
    input would need the readers."""
    from ttvkit.stores.duckdb import DuckDBEngine, DuckDBStore

    mapping = ColumnMapping() if mapping is None else mapping
    if not isinstance(mapping, ColumnMapping):
        raise ConfigurationError(
            f"mapping must be a ColumnMapping, not {type(mapping).__name__}; "
            "e.g. mapping=ColumnMapping(user='distinct_id', name='event')"
        )
    if on_error not in ("raise", "skip"):
        raise ConfigurationError(f"on_error={on_error!r}: pass 'raise' or 'skip'")
    if event_ids not in ("row", "content"):
        raise ConfigurationError(f"event_ids={event_ids!r}: pass 'row' or 'content'")
    if memory_limit is not None and (
        not isinstance(memory_limit, str) or not _MEMORY_SIZE.fullmatch(memory_limit)
    ):
        raise ConfigurationError(
            f"memory_limit={memory_limit!r}: pass a size such as '1GB' or '512MiB', or None "
            "for DuckDB's default"
        )
    options: dict[str, Any] = {
        "mapping": mapping,
        "on_error": on_error,
        "assume_timezone": assume_timezone,
        "timestamp_unit": timestamp_unit,
    }
    if encoding is not None:
        encoding = check_encoding(encoding)
    if delimiter is not None:
        delimiter = check_delimiter(delimiter)  # the readers' rule: 'tab' is a tab
    decimal = check_decimal(decimal)
    kind = frame_kind(source)
    if kind is not None:
        _refuse_text_options(
            {
                "encoding": encoding,
                "decimal": decimal if decimal != "." else None,
                "infer_types": None if infer_types else False,
                "delimiter": delimiter,
                "format": format,
            },
            f"a {kind} table is read as the table it is, its values typed already",
        )
        description = f"{kind} table of {frame_rows(source):,} rows"
        frame: Any = source
        table_kind: str = kind

        def readers() -> list[EventReader]:
            return [frame_reader(frame, table_kind, options)]

        fmt: Format | None = None
        files: list[str] = []
    elif isinstance(source, str | os.PathLike):
        files, fmt = input_files(source, format)
        description = repr(os.fspath(source))
        text_options: dict[str, Any] = {}
        if fmt == "csv":
            text_options = {"delimiter": delimiter, "infer_types": infer_types}
            if decimal != ".":
                text_options["decimal"] = decimal
        else:
            _refuse_text_options(
                {
                    "decimal": decimal if decimal != "." else None,
                    "infer_types": None if infer_types else False,
                    "delimiter": delimiter,
                    "encoding": encoding if fmt != "jsonl" else None,
                },
                "Parquet files store typed values, their text as UTF-8"
                if fmt == "parquet"
                else "JSON lines hold typed values",
            )
        if encoding is not None:
            text_options["encoding"] = encoding

        def readers() -> list[EventReader]:
            return [read_file(p, format=fmt, **options, **text_options) for p in files]
    else:
        unread = unread_table(source)
        if unread is not None:
            raise ConfigurationError(f"scan() takes a table, and this is {unread}")
        raise ConfigurationError(
            f"scan() takes a path, a glob, a directory, or a pandas/polars DataFrame or "
            f"pyarrow Table, not {type(source).__name__}"
        )
    # The readers' checks of the options, with their messages (a bad unit or zone).
    read_jsonl(io.StringIO(""), **options)
    # DuckDB checks no gzip CRC and stops quietly where a file is cut: a damaged file is
    # refused whole here, or (scan_in_engine) left to the reader, which streams the
    # events before the damage and then says what is wrong.
    damage = next(filter(None, map(gzip_damage, filter(is_gzipped, files))), None)
    if damage is not None:
        if readers_path:
            raise damage
        return None

    # DuckDB reads the files with one delimiter: the given one, or their names' (a tab
    # for .tsv); files whose names differ are the readers', each by its name.
    view_delimiter = delimiter
    if delimiter is None:
        by_name = {delimiter_of_name(f) for f in files} or {","}
        view_delimiter = by_name.pop() if len(by_name) == 1 else None

    duck = DuckDBEngine(":memory:", what=f"scan of {description}", relation="ttv_scan")
    try:
        generated = None
        # DuckDB reads text as UTF-8 (a byte-order mark skipped), as the readers read
        # it by default; another encoding is the readers' to decode.
        if (encoding is None or is_utf8(encoding)) and view_delimiter is not None:
            generated = define_view(
                duck,
                source if kind is not None else files,
                kind or fmt,
                mapping,
                assume_timezone=assume_timezone,
                timestamp_unit=timestamp_unit,
                delimiter=view_delimiter,
                infer_types=infer_types,
                event_ids=event_ids,
                memory_limit=memory_limit,
                decimal=decimal,
            )
        if generated is not None:
            prefix, rows = generated
            return ScanSource(
                duck,
                description,
                in_engine=True,
                generated=lambda event_id: event_id.startswith(prefix),
                rows=rows,
                files=files,
            )
    except BaseException:
        duck._close()
        raise
    duck._close()
    if not readers_path:
        return None
    store = DuckDBStore(":memory:")
    made_up = MadeUpSince()
    try:
        rows, skipped, errors = load_events(
            store, readers(), made_up if event_ids == "content" else None
        )
    except BaseException:
        store.close()
        raise
    made_up.stop()
    return ScanSource(
        store,
        description,
        in_engine=False,
        generated=made_up.made,
        rows=rows,
        skipped=skipped,
        errors=errors,
        files=files,
    )


def _spark_source(
    source: Any,
    *,
    mapping: ColumnMapping | None,
    format: str | None,
    spark: Any,
    assume_timezone: tzinfo | None,
    timestamp_unit: TimestampUnit | None,
    event_ids: Literal["row", "content"],
) -> SparkSource:
    """``scan()`` with Spark: a pyspark DataFrame, or files Spark reads."""
    if is_spark_dataframe(source):
        return SparkSource(
            source,
            mapping,
            assume_timezone=assume_timezone,
            timestamp_unit=timestamp_unit,
            event_ids=event_ids,
        )
    if not isinstance(source, str | os.PathLike):
        raise ConfigurationError(
            f"scan(engine='spark') takes a pyspark DataFrame or a path Spark reads "
            f"(e.g. 's3a://bucket/events/*.parquet'), not {type(source).__name__}"
        )
    if spark is None:
        pyspark_sql = require("pyspark.sql", "spark", "scan(engine='spark')")
        spark = pyspark_sql.SparkSession.getActiveSession()
        if spark is None:
            raise ConfigurationError(
                "scan(engine='spark') needs a Spark session: pass spark=session, or start "
                "one first (SparkSession.builder.getOrCreate())"
            )
    return SparkSource.read(
        os.fspath(source),
        spark=spark,
        format=format or "parquet",
        mapping=mapping,
        assume_timezone=assume_timezone,
        timestamp_unit=timestamp_unit,
        event_ids=event_ids,
    )
