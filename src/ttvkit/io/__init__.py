"""Reading the events analysts already have, and writing them back out.

Readers return an :class:`EventReader`: an iterable of
:class:`~ttvkit.events.ValueEvent` that streams its source and, afterwards, tells
how many bad rows it skipped (``on_error="skip"``) and why. Pass it wherever ttvkit
takes events, e.g. ``time_to_value(read_csv("events.csv"), milestone)``.

* :func:`read_csv`, :func:`read_jsonl`: text files, with a :class:`ColumnMapping`;
* :func:`read_parquet` (``ttvkit[parquet]``), :func:`from_pandas`
  (``ttvkit[pandas]``), :func:`from_polars` (``ttvkit[polars]``);
* :func:`read_posthog`, :func:`read_segment`, :func:`read_mixpanel`,
  :func:`read_amplitude`: vendor exports in their own layout;
* :func:`read_file`: picks one of the above from a format or file name
  (:func:`format_of_name` says which a name picks);
* :func:`write_csv`, :func:`write_jsonl`, :func:`write_parquet`: exports that the
  readers read back to equal events;
* :data:`TimestampUnit`: the epoch units a ``timestamp_unit`` argument takes
  (``"s"``, ``"ms"``, ``"us"``);
* :func:`sniff`: what the start of a file says about its layout (a vendor's
  export, or which columns it has); :func:`decimal_commas`: which columns of a
  CSV file hold numbers written with a decimal comma;
* :mod:`ttvkit.io.values`: the rules every reader applies to a foreign value (a
  timestamp to UTC, the supported range, how a value is shown in a message),
  for the authors of a source of their own.

Optional libraries are imported only by the functions that need them; without
them those raise :class:`~ttvkit.errors.MissingDependencyError` naming the extra.
See ``docs/io.md``.

Inside, one job per module: ``_mapping`` (:class:`ColumnMapping`), ``_reader``
(:class:`EventReader`, :class:`ReadError`), ``values`` (timestamps and other
foreign values; public), ``_convert`` (one row as an event), and the formats:
``_text`` (CSV, JSON lines), ``_tables`` (Parquet, DataFrames), ``_vendors``
(PostHog, Segment), ``_exports`` (Mixpanel, Amplitude), ``_detect`` (recognising
an export), ``_dispatch`` (:func:`read_file`).
"""

from __future__ import annotations

from ttvkit.io._detect import Sniffed, decimal_commas, sniff
from ttvkit.io._dispatch import FORMATS, NAME_FORMATS, FileFormat, format_of_name, read_file
from ttvkit.io._exports import read_amplitude, read_mixpanel
from ttvkit.io._mapping import ALL_OTHER_COLUMNS, ColumnMapping
from ttvkit.io._reader import MAX_REPORTED_ERRORS, EventReader, ReadError
from ttvkit.io._tables import from_pandas, from_polars, read_parquet, write_parquet
from ttvkit.io._text import CSV_COLUMNS, read_csv, read_jsonl, write_csv, write_jsonl
from ttvkit.io._vendor_fields import VENDOR_NAMES
from ttvkit.io._vendors import read_posthog, read_segment
from ttvkit.io.values import TimestampUnit

__all__ = [
    "ALL_OTHER_COLUMNS",
    "CSV_COLUMNS",
    "FORMATS",
    "MAX_REPORTED_ERRORS",
    "NAME_FORMATS",
    "VENDOR_NAMES",
    "ColumnMapping",
    "EventReader",
    "FileFormat",
    "ReadError",
    "Sniffed",
    "TimestampUnit",
    "decimal_commas",
    "format_of_name",
    "from_pandas",
    "from_polars",
    "read_amplitude",
    "read_csv",
    "read_file",
    "read_jsonl",
    "read_mixpanel",
    "read_parquet",
    "read_posthog",
    "read_segment",
    "sniff",
    "write_csv",
    "write_jsonl",
    "write_parquet",
]
