"""read_file(): one entry point that picks the reader from a format name or a file name."""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

from ttvkit.errors import ConfigurationError
from ttvkit.io._exports import read_amplitude, read_mixpanel
from ttvkit.io._reader import EventReader
from ttvkit.io._tables import read_parquet
from ttvkit.io._text import read_csv, read_jsonl
from ttvkit.io._vendors import read_posthog, read_segment

__all__ = ["FORMATS", "NAME_FORMATS", "FileFormat", "format_of_name", "read_file"]

#: The formats read_file knows.
FORMATS: Final = ("csv", "jsonl", "parquet", "posthog", "segment", "mixpanel", "amplitude")

FileFormat: TypeAlias = Literal["csv", "jsonl", "parquet"]
"""A format a file's name can say (a vendor's export needs ``format=``)."""

NAME_FORMATS: Final[Mapping[str, FileFormat]] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
"""The format of a file by its name's ending (after any ``.gz``)."""


def format_of_name(path: str | os.PathLike[str]) -> FileFormat | None:
    """The format *path*'s name says (:data:`NAME_FORMATS`, ``.gz`` aside), or None.

    The rule :func:`read_file`, :func:`ttvkit.scan` and the command line share.
    """
    lowered = os.fspath(path).lower().removesuffix(".gz")
    return next((f for s, f in NAME_FORMATS.items() if lowered.endswith(s)), None)


def read_file(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    **options: Any,
) -> EventReader:
    """Read *path* with the reader for *format*, or for its file name when *format* is None.

    Formats: ``"csv"``, ``"jsonl"``, ``"parquet"``, ``"posthog"``, ``"segment"``,
    ``"mixpanel"``, ``"amplitude"``.
    From the name (``.gz`` aside): ``.csv`` is CSV (``.tsv`` too, its columns
    separated by tabs), ``.jsonl``, ``.ndjson`` and
    ``.json`` are JSON lines, ``.parquet`` and ``.pq`` Parquet; vendor exports need
    *format*. Other keyword *options* go to that reader (``mapping``, ``on_error``,
    ...). This is what ``ttvkit import`` and ``ttvkit report`` call.
    """
    if isinstance(path, str | os.PathLike) and os.path.isdir(path):
        raise ConfigurationError(
            f"{os.fspath(path)!r} is a directory: read_file reads one file (ttvkit.scan reads "
            "the files of a directory as one log)"
        )
    if format is None:
        format = format_of_name(path)
        if format is None:
            raise ConfigurationError(
                f"cannot tell the format of {os.fspath(path)!r} from its name; pass "
                f"format= one of {', '.join(FORMATS)}"
            )
    readers = {
        "csv": read_csv,
        "jsonl": read_jsonl,
        "parquet": read_parquet,
        "posthog": read_posthog,
        "segment": read_segment,
        "mixpanel": read_mixpanel,
        "amplitude": read_amplitude,
    }
    if format not in readers:
        raise ConfigurationError(f"format={format!r}: pass one of {', '.join(FORMATS)}")
    reader: Any = readers[format]
    _check_options(format, reader, options)
    result: EventReader = reader(path, **options)
    return result


def _check_options(format: str, reader: Any, options: Mapping[str, object]) -> None:
    """Refuse an option *reader* does not take, naming the ones it does."""
    taken = [
        name
        for name, parameter in inspect.signature(reader).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(taken))
    if unknown:
        raise ConfigurationError(
            f"the {format} reader takes no {', '.join(f'{n}=' for n in unknown)}; "
            f"its options are {', '.join(f'{n}=' for n in taken)}"
        )
