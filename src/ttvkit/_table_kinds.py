"""The tables of the DataFrame libraries, told by their type's name (none is imported).

One place for what :func:`ttvkit.scan` reads as a table, what is a table not read
yet (a lazy or streamed one), and how a table is read as events: ``scan()``, the
analyses and the stores' ``append()`` all ask here.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["EVENT_READERS", "frame_kind", "frame_rows", "unread_table"]

_KINDS: Final = {
    ("pandas", "DataFrame"): "pandas",
    ("polars", "DataFrame"): "polars",
    ("pyarrow", "Table"): "pyarrow",
    ("pyarrow", "RecordBatch"): "pyarrow",
}

_UNREAD: Final = {
    ("polars", "LazyFrame"): "a polars LazyFrame: collect it first (lazy.collect())",
    ("pyarrow", "RecordBatchReader"): "a pyarrow RecordBatchReader: read it first "
    "(reader.read_all(), a Table)",
}

#: How a table of each library is read as events (and its usual name in advice).
EVENT_READERS: Final = {
    "pandas": ("ttvkit.io.from_pandas(df)", "df"),
    "polars": ("ttvkit.io.from_polars(df)", "df"),
    "pyarrow": ("ttvkit.io.from_polars(polars.from_arrow(table))", "table"),
}


def _key(source: object) -> tuple[str, str]:
    kind = type(source)
    return kind.__module__.split(".")[0], kind.__name__


def frame_kind(source: object) -> str | None:
    """``"pandas"``, ``"polars"`` or ``"pyarrow"`` for a table :func:`ttvkit.scan`
    reads (a DataFrame, a pyarrow Table or RecordBatch), else None."""
    return _KINDS.get(_key(source))


def unread_table(source: object) -> str | None:
    """What *source* is and how to make it a table :func:`ttvkit.scan` reads, when it
    is a lazy or streamed one (a polars LazyFrame, a pyarrow RecordBatchReader); else
    None."""
    return _UNREAD.get(_key(source))


def frame_rows(source: Any) -> int:
    """The rows of a table :func:`frame_kind` names."""
    rows = getattr(source, "num_rows", None)
    return int(rows) if rows is not None else len(source)
