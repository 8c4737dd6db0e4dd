"""Tables: Parquet (``ttvkit[parquet]``), pandas (``ttvkit[pandas]``) and polars
(``ttvkit[polars]``) DataFrames.

Each optional library is imported inside the function that needs it, so importing
:mod:`ttvkit.io` costs none of them. Rows are converted a chunk at a time, so a
large table is never copied into Python objects whole.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from typing import IO, Any, Final, TypeAlias

from ttvkit._optional import require
from ttvkit.errors import ConfigurationError
from ttvkit.events import ValueEvent
from ttvkit.io._convert import Options, RowConverter
from ttvkit.io._mapping import ColumnMapping
from ttvkit.io._reader import EventReader, Item, Location, OnError, ReadError, source_name
from ttvkit.io._text import CSV_COLUMNS, checked_events, is_path, properties_json
from ttvkit.io.values import TimestampUnit, value_problem

__all__ = ["from_pandas", "from_polars", "read_parquet", "write_parquet"]

#: A path or an open binary file object.
BinarySource: TypeAlias = "str | os.PathLike[str] | IO[bytes]"

_CHUNK: Final = 10_000


def _check_size(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ConfigurationError(f"{name}={value!r}: pass a positive int, e.g. {_CHUNK}")


def read_parquet(
    source: BinarySource,
    *,
    mapping: ColumnMapping = ColumnMapping(),  # noqa: B008 - frozen, so one shared default is safe
    on_error: OnError = "raise",
    batch_size: int = 65_536,
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
) -> EventReader:
    """Read value events from a Parquet file, a record batch at a time (needs pyarrow).

    *mapping* as in :func:`~ttvkit.io.read_csv`; only the columns it uses are read.
    Timestamp columns may be Arrow timestamps (nanoseconds are truncated to
    microseconds; without a time zone they need *assume_timezone*), ISO-8601 text, or
    epoch numbers. The ``properties`` column holds JSON text, a struct or a map (a key
    twice in one map is a bad row), and a map in any column reads as a JSON object.
    Rows are numbered from 0 in messages.
    """
    require("pyarrow.parquet", "parquet", "read_parquet")
    options = Options.build(mapping, assume_timezone=assume_timezone, timestamp_unit=timestamp_unit)
    batch_size = _check_size("batch_size", batch_size)
    name = source_name(source)

    def items() -> Iterator[Item]:
        return parquet_items(source, name, options, batch_size=batch_size)

    return EventReader(name, items, on_error=on_error, once=not is_path(source))


def parquet_items(
    source: BinarySource,
    name: str,
    options: Options,
    *,
    batch_size: int = 65_536,
    strict_optional: bool = True,
) -> Iterator[Item]:
    """Events (or errors) from a Parquet file, reading only the columns the mapping uses."""
    pa = require("pyarrow", "parquet", "read_parquet")
    pq = require("pyarrow.parquet", "parquet", "read_parquet")
    location = Location(name)
    damaged = "is not a Parquet file, or its metadata is damaged"
    try:
        file = pq.ParquetFile(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise  # a missing or unreadable file, named by the OSError itself
        # (ValueError: names that are not UTF-8 in damaged metadata)
        raise location.error(f"{damaged} ({exc})") from None
    with file:
        try:
            names = file.schema_arrow.names
        except (pa.ArrowException, ValueError) as exc:
            raise location.error(f"{damaged} ({exc})") from None
        converter = RowConverter(options, location, names, strict_optional=strict_optional)
        row = 0
        batches = file.iter_batches(batch_size=batch_size, columns=list(converter.columns))
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError, ValueError) as exc:
                # A damaged page or column chunk: the file, not a row, is at fault.
                raise location.error(
                    f"is damaged: the rows from row {row} on cannot be read ({exc})"
                ) from None
            if batch is None:
                return
            for values in _python_rows(_microseconds(batch, pa), pa):
                if isinstance(values, KeyError) and "duplicate key" in str(values):
                    # pyarrow's words for a map that holds a key twice (a JSON object cannot)
                    key = str(values).rpartition("duplicate key was ")[2].rstrip(").'\"")
                    yield Location(name, row=row).error(
                        f"holds a map with the key {key}' twice; a map is read as a JSON "
                        "object, whose keys are distinct"
                    )
                elif isinstance(values, Exception):
                    yield Location(name, row=row).error(f"cannot be read: {value_problem(values)}")
                else:
                    yield converter.convert(values, row=row)
                row += 1


def _python_rows(batch: Any, pa: Any) -> list[dict[str, Any] | Exception]:
    """The rows of *batch* as dicts; a row Python cannot hold (a date after year 9999)
    as the exception converting it raised."""
    try:
        rows: list[dict[str, Any] | Exception] = batch.to_pylist(maps_as_pydicts="strict")
        return rows
    except (pa.ArrowException, ValueError, OverflowError, KeyError):
        pass
    out: list[dict[str, Any] | Exception] = []
    for index in range(batch.num_rows):
        try:
            out.extend(batch.slice(index, 1).to_pylist(maps_as_pydicts="strict"))
        except (pa.ArrowException, ValueError, OverflowError, KeyError) as exc:
            out.append(exc)
    return out


def _microseconds(batch: Any, pa: Any) -> Any:
    """*batch* with nanosecond timestamps cast to microseconds (truncating)."""
    fields = list(batch.schema)
    if not any(pa.types.is_timestamp(f.type) and f.type.unit == "ns" for f in fields):
        return batch
    arrays = []
    for field, array in zip(fields, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            array = array.cast(pa.timestamp("us", tz=field.type.tz), safe=False)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=[f.name for f in fields])


def write_parquet(
    events: Iterable[ValueEvent], destination: BinarySource, *, batch_size: int = 65_536
) -> int:
    """Write *events* to a Parquet file and return how many were written (needs pyarrow).

    The columns are those of :func:`~ttvkit.io.write_csv`; ``timestamp`` is an Arrow
    ``timestamp[us, UTC]`` and ``properties`` JSON text. Events are written
    *batch_size* at a time. :func:`read_parquet` reads the file back to equal events.
    """
    pa = require("pyarrow", "parquet", "write_parquet")
    pq = require("pyarrow.parquet", "parquet", "write_parquet")
    batch_size = _check_size("batch_size", batch_size)
    types = {"timestamp": pa.timestamp("us", tz="UTC")}
    schema = pa.schema(
        [
            pa.field(column, types.get(column, pa.string()), nullable=column == "account_id")
            for column in CSV_COLUMNS
        ]
    )
    written = 0
    stream = checked_events(events)
    with pq.ParquetWriter(destination, schema) as writer:
        while chunk := list(itertools.islice(stream, batch_size)):
            columns = [
                [e.event_id for e in chunk],
                [e.user_id for e in chunk],
                [e.account_id for e in chunk],
                [e.name for e in chunk],
                [e.timestamp for e in chunk],
                [properties_json(e) for e in chunk],
            ]
            writer.write_batch(pa.record_batch(columns, schema=schema))
            written += len(chunk)
    return written


def from_pandas(
    df: Any,
    *,
    mapping: ColumnMapping = ColumnMapping(),  # noqa: B008 - frozen, so one shared default is safe
    on_error: OnError = "raise",
    chunk_size: int = _CHUNK,
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
) -> EventReader:
    """Read value events from a pandas DataFrame (needs pandas).

    *mapping* as in :func:`~ttvkit.io.read_csv`; column labels are compared as
    ``str``. ``NaN``, ``None``, ``NaT`` and ``pd.NA`` are null. Timestamp columns may
    be ``datetime64`` (naive ones need *assume_timezone*; nanoseconds are truncated
    to microseconds), ISO-8601 text, or epoch numbers. Rows are numbered by position
    from 0 in messages, whatever the index.
    """
    pd = require("pandas", "pandas", "from_pandas")
    if not isinstance(df, pd.DataFrame):
        raise ConfigurationError(f"from_pandas takes a pandas.DataFrame, not {type(df).__name__}")
    options = Options.build(mapping, assume_timezone=assume_timezone, timestamp_unit=timestamp_unit)
    chunk_size = _check_size("chunk_size", chunk_size)

    def items() -> Iterator[Item]:
        location = Location("DataFrame")
        names = [str(c) for c in df.columns]
        try:
            converter = RowConverter(options, location, names)
        except ReadError as exc:
            raise _in_the_index(exc, df, names, options.mapping) from None
        used = converter.columns
        positions = [names.index(c) for c in used]
        for start in range(0, len(df), chunk_size):
            chunk = df.iloc[start : start + chunk_size]
            lists = [_pandas_values(chunk.iloc[:, p]) for p in positions]
            for offset, cells in enumerate(zip(*lists, strict=True)):
                yield converter.convert(dict(zip(used, cells, strict=True)), row=start + offset)

    return EventReader("DataFrame", items, on_error=on_error)


def _in_the_index(exc: ReadError, df: Any, names: list[str], mapping: ColumnMapping) -> ReadError:
    """*exc* (a column the mapping reads is missing), told so when that column is the
    DataFrame's index (after ``df.set_index("user_id")``)."""
    fields = (mapping.user, mapping.name, mapping.timestamp, mapping.account, mapping.event_id)
    indexed = [str(n) for n in df.index.names if n is not None and str(n) not in names]
    found = next((n for n in indexed if n in fields), None)
    if found is None:
        return exc
    told = str(exc).split(" Pass mapping=", 1)[0]  # not another mapping: the index
    return exc.reworded(
        f"{told} {found!r} is the DataFrame's index, not one of its columns: pass df.reset_index()"
    )


def _pandas_values(series: Any) -> list[object]:
    # Python objects with every kind of pandas null as None.
    missing = series.isna().tolist()
    values = series.astype(object).tolist()
    return [None if m else v for v, m in zip(values, missing, strict=True)]


def from_polars(
    df: Any,
    *,
    mapping: ColumnMapping = ColumnMapping(),  # noqa: B008 - frozen, so one shared default is safe
    on_error: OnError = "raise",
    chunk_size: int = _CHUNK,
    assume_timezone: tzinfo | None = None,
    timestamp_unit: TimestampUnit | None = None,
) -> EventReader:
    """Read value events from a polars DataFrame (needs polars).

    *mapping* as in :func:`~ttvkit.io.read_csv`. Null and ``NaN`` are null.
    Timestamp columns may be ``Datetime`` (naive ones need *assume_timezone*),
    ISO-8601 text, or epoch numbers. A ``LazyFrame`` must be collected first. Rows
    are numbered from 0 in messages.
    """
    pl = require("polars", "polars", "from_polars")
    if not isinstance(df, pl.DataFrame):
        hint = "; call .collect() first" if isinstance(df, pl.LazyFrame) else ""
        raise ConfigurationError(
            f"from_polars takes a polars.DataFrame, not {type(df).__name__}{hint}"
        )
    options = Options.build(mapping, assume_timezone=assume_timezone, timestamp_unit=timestamp_unit)
    chunk_size = _check_size("chunk_size", chunk_size)

    def items() -> Iterator[Item]:
        converter = RowConverter(options, Location("DataFrame"), df.columns)
        used = converter.columns
        start = 0
        for chunk in df.iter_slices(chunk_size):
            lists = [chunk.get_column(c).to_list() for c in used]
            for offset, cells in enumerate(zip(*lists, strict=True)):
                yield converter.convert(dict(zip(used, cells, strict=True)), row=start + offset)
            start += chunk.height

    return EventReader("DataFrame", items, on_error=on_error)
