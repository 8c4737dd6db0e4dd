"""What scan() reads: the formats, the files a path, glob or directory names, and tables."""

from __future__ import annotations

import csv
import glob
import gzip
import importlib
import io
import os
import zlib
from collections import Counter
from typing import Any, Final, Protocol, TypeAlias

from ttvkit._table_kinds import frame_kind
from ttvkit.errors import ConfigurationError
from ttvkit.io import (
    EventReader,
    FileFormat,
    ReadError,
    format_of_name,
    from_pandas,
    from_polars,
    read_file,
)
from ttvkit.io.values import gzip_problem, is_gzipped


class _InterchangeTable(Protocol):
    """A table of the DataFrame interchange protocol (pandas, pyarrow, polars 1)."""

    def __dataframe__(self, *args: Any, **kwargs: Any) -> Any: ...


class _ArrowStreamTable(Protocol):
    """A table of the Arrow PyCapsule interface (pandas 2.2+, polars, pyarrow 14+)."""

    def __arrow_c_stream__(self, *args: Any, **kwargs: Any) -> Any: ...


DataFrameLike: TypeAlias = _InterchangeTable | _ArrowStreamTable
"""A pandas or polars DataFrame, or a pyarrow Table, as a type checker tells them: by
the interchange protocol or the Arrow stream interface (polars 2 speaks only the
latter). :func:`scan` reads those three libraries' tables."""


#: What :func:`scan` reads: a path, a glob, a directory, or a table.
ScanInput: TypeAlias = "str | os.PathLike[str] | DataFrameLike"


Format: TypeAlias = FileFormat


FORMATS: Final = ("parquet", "csv", "jsonl")


# The column DuckDB adds with each Parquet row's file (its row number is "file_row_number").
FILE_COLUMN: Final = "__ttvkit_file"


# The column scan() adds to a table it reads: each row's position.
ROW_COLUMN: Final = "__ttvkit_row"


def is_frame(source: object) -> bool:
    """Whether *source* is a table :func:`scan` reads (pandas, polars, pyarrow)."""
    return frame_kind(source) is not None


def format_of(path: str, format: str | None) -> Format:
    if format is not None:
        if format not in FORMATS:
            raise ConfigurationError(f"format={format!r}: pass one of {', '.join(FORMATS)}")
        return format  # type: ignore[return-value]
    named = format_of_name(path)
    if named is not None:
        return named
    raise ConfigurationError(
        f"cannot tell the format of {path!r} from its name; pass format= one of "
        f"{', '.join(FORMATS)}"
    )


def input_files(source: str | os.PathLike[str], format: str | None) -> tuple[list[str], Format]:
    path = os.fspath(source)
    if os.path.isdir(path):
        found = sorted(
            os.path.join(path, n)
            for n in os.listdir(path)
            if os.path.isfile(os.path.join(path, n))
            and not _bookkeeping(n)
            and (format is not None or format_of_name(n) is not None)
        )
        if not found:
            raise ConfigurationError(_nothing_in_directory(path))
    elif os.path.isfile(path):  # a file named like a glob ('events[2026].csv') too
        found = [path]
    elif glob.has_magic(path):
        # Hadoop's and Spark's bookkeeping files (_SUCCESS, .part-0.parquet.crc) are not
        # data: skipped, as pyarrow's datasets skip them.
        matched = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        found = [p for p in matched if not _bookkeeping(os.path.basename(p))]
        if matched and not found:
            raise ConfigurationError(
                f"only files whose names start with '_' or '.' match {path!r}, and those are "
                "skipped as bookkeeping (_SUCCESS, .crc); rename the files to read them"
            )
        if not found:
            raise ConfigurationError(f"no file matches {path!r}; check the pattern")
    else:
        if not os.path.exists(path):
            raise ConfigurationError(f"{path!r} does not exist; check the path")
        found = [path]
    kinds = {format_of(p, format) for p in found}
    if len(kinds) > 1:
        raise ConfigurationError(
            f"{path!r} mixes formats ({', '.join(sorted(kinds))}); scan one format at a time "
            "or pass format="
        )
    return found, kinds.pop()


def _bookkeeping(name: str) -> bool:
    """Whether a file is Hadoop's or Spark's bookkeeping (``_SUCCESS``, ``.part-0.crc``),
    not data: pyarrow's datasets skip these names too."""
    return name.startswith(("_", "."))


def _nothing_in_directory(path: str) -> str:
    """Why a directory gives no files: none at all, or only in its subdirectories (such
    as the ``dt=2026-01-05/`` folders of a partitioned export), with the glob to pass."""
    below: Counter[str] = Counter()
    for folder, _, names in os.walk(path):
        if folder != path:
            below.update(_extension(n) for n in names if format_of_name(n) is not None)
    if not below:
        return (
            f"directory {path!r} holds no .parquet, .csv or .jsonl files; pass a file or a "
            "glob such as 'exports/*.parquet'"
        )
    extension, count = below.most_common(1)[0]
    pattern = os.path.join(path, "**", f"*{extension}")
    return (
        f"directory {path!r} holds no .parquet, .csv or .jsonl files of its own, but its "
        f"subdirectories hold {count:,} {extension} file{'s' if count != 1 else ''}; a "
        f"directory is read without its subdirectories: pass the glob {pattern!r} to read "
        "them all"
    )


def _extension(name: str) -> str:
    """``.parquet``, or ``.jsonl.gz`` for a compressed file."""
    stem, extension = os.path.splitext(name.lower())
    return os.path.splitext(stem)[1] + extension if extension == ".gz" else extension


def csv_header(path: str, delimiter: str) -> list[str] | None:
    opener: Any = gzip.open if is_gzipped(path) else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as file:
            return next(csv.reader(file, delimiter=delimiter), [])
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error):
        return None


def gzip_damage(path: str) -> ReadError | None:
    """What is wrong with the gzip file at *path* (None if it decompresses whole, each
    member's CRC and length as its trailer says). DuckDB checks neither: a damaged file
    was read as far as it went, or with a flipped byte as different events, where the
    readers refuse it. One pass of zlib over the file, in C."""
    try:
        with gzip.open(path, "rb") as file:
            while file.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        return ReadError(f"{path}: {gzip_problem(exc)}", source=path)
    return None


def as_arrow(source: Any, kind: str) -> Any:
    """*source* as a pyarrow Table, or None when the fast path cannot take it.

    pandas goes through Arrow, not DuckDB's own pandas scan, which would turn
    an object column mixing numbers and text into text silently.
    """
    try:
        pa: Any = importlib.import_module("pyarrow")
    except ImportError:
        return None
    try:
        if kind == "pandas":
            table = pa.Table.from_pandas(source, preserve_index=False)
        elif kind == "polars":
            table = source.to_arrow()
        elif isinstance(source, pa.RecordBatch):
            table = pa.Table.from_batches([source])
        else:
            table = source
    # ValueError: pandas' own refusals too (a column label twice)
    except (ValueError, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    if any(isinstance(field.type, pa.ExtensionType) for field in table.schema):
        # pandas' Period and Interval: DuckDB would read the storage (a Period as its
        # ordinal), where the readers refuse the value
        return None
    names = [str(n) for n in table.schema.names]
    if len(set(names)) != len(names) or "" in names or ROW_COLUMN in names:
        return None
    # Each row's position, for the ids of rows without one (8 bytes a row, no window).
    return table.append_column(ROW_COLUMN, pa.array(range(table.num_rows), pa.int64()))


def frame_reader(source: Any, kind: str, options: dict[str, Any]) -> EventReader:
    if kind == "pandas":
        return from_pandas(source, **options)
    if kind == "polars":
        return from_polars(source, **options)
    # pyarrow: the Parquet reader reads Arrow types exactly as from a file.
    pa: Any = importlib.import_module("pyarrow")
    pq: Any = importlib.import_module("pyarrow.parquet")

    buffer = io.BytesIO()
    table = pa.Table.from_batches([source]) if isinstance(source, pa.RecordBatch) else source
    pq.write_table(table, buffer)
    buffer.seek(0)
    buffer.name = "DataFrame"  # what messages call a table
    return read_file(buffer, format="parquet", **options)  # type: ignore[arg-type]
