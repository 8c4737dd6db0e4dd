"""The ``ttvkit`` command: ``demo``, ``report``, ``init``, ``import`` and ``check``.

``main(argv)`` parses the arguments, runs one command and returns the exit
code: 0 on success, 2 for a user error (a missing file, a bad store URL, a bad
configuration, an unknown milestone, a bad option, data that cannot answer the
question), printed as one line ``ttvkit: error: ...`` on stderr without a
traceback, 130 when interrupted. Anything else is a bug and keeps its
traceback. Reports go to stdout (or ``--output``); progress, warnings and
errors go to stderr. See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NoReturn, TextIO, cast
from urllib.parse import quote, unquote

import attrs

from ttvkit import __version__, datasets
from ttvkit import events as _events
from ttvkit._format import format_duration
from ttvkit._json import canonical
from ttvkit.calculators import DEFAULT_WITHIN
from ttvkit.conditions import Condition, all_of, event, total
from ttvkit.config import Config, load_config, parse_columns, parse_config, parse_duration
from ttvkit.errors import (
    ConfigurationError,
    InvalidEventError,
    StoreError,
    TTVError,
    UnknownEventWarning,
)
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.io import FORMATS as INPUT_FORMATS
from ttvkit.io import ColumnMapping, EventReader, ReadError, read_file
from ttvkit.io._core import to_utc
from ttvkit.io._detect import sniff
from ttvkit.milestones import Milestone, MilestoneKind
from ttvkit.report import (
    CHARTS_LEFT_OUT,
    FORMATS,
    Note,
    Report,
    Section,
    build_report,
    charts_left_out,
    render,
)
from ttvkit.results import TTVDistribution
from ttvkit.stores import MemoryStore, Source, Store, open_store
from ttvkit.stores.scan import ScanSource, scan

__all__ = ["main"]

DOCS_URL = "https://ttvkit.github.io/ttvkit/"
"""Where the documentation is published (``mkdocs.yml``'s ``site_url``)."""
DEFAULT_CONFIG = "ttv.toml"
"""The configuration ``ttvkit report`` reads when ``--config`` is not given, if it exists."""
DEFAULT_BATCH_SIZE = 5_000
DEMO_USERS = 2_000
DEMO_BOOTSTRAP = 200

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------- output helpers


def _one_line(text: str) -> str:
    """*text* on one line, control characters shown as escapes (data may hold anything)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in " ".join(text.split()))


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


def _warn(message: str) -> None:
    print(f"ttvkit: warning: {_one_line(message)}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"ttvkit: note: {_one_line(message)}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is the same single line as every other user error."""

    def error(self, message: str) -> NoReturn:
        print(
            f"ttvkit: error: {_one_line(message)} (see '{self.prog} --help')",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USAGE)


class Progress:
    """A progress display on stderr that needs no dependency.

    On a terminal it redraws one line with ``\\r`` (at most ten times a
    second); otherwise (a log file, CI) it writes a line every ``interval``
    seconds, so logs stay short. Nothing is written before the first update,
    so an error before any work is still the only line on stderr.
    """

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        unit: str = "events",
        stream: TextIO | None = None,
        interval: float = 5.0,
    ) -> None:
        self._label = label
        self._total = total
        self._unit = unit
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty()
        self._interval = 0.1 if self._tty else interval
        self._started = time.monotonic()
        self._last = self._started
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")  # keep what follows (an error, say) on its own line
            self._stream.flush()
            self._drawn = False

    def _line(self, done: int) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        if self._total:
            share = min(done / self._total, 1.0)
            filled = round(share * 24)
            return (
                f"{self._label} [{'#' * filled}{'.' * (24 - filled)}] "
                f"{share:6.1%} {done:,}/{self._total:,} {self._unit}"
            )
        return f"{self._label}: {done:,} {self._unit} ({done / elapsed:,.0f}/s)"

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        self._write(self._line(done))

    def finish(self, done: int, note: str = "") -> None:
        """The last line: where it ended, and how long it took."""
        elapsed = time.monotonic() - self._started
        self._write(f"{self._line(done)} in {elapsed:.1f}s{note}")
        if self._tty:
            self._stream.write("\n")
            self._drawn = False
        self._stream.flush()

    def _write(self, line: str) -> None:
        if self._tty:
            self._stream.write("\r\x1b[K" + line)
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()


@attrs.define
class _Counts:
    """Events read and events new to the store so far: what an error says was committed."""

    read: int = 0
    new: int = 0


def _ingest(
    store: Store,
    events: Iterable[ValueEvent],
    *,
    batch_size: int,
    progress: Progress,
    position: Callable[[int], int] | None = None,
    counts: _Counts | None = None,
) -> tuple[int, int]:
    """Append *events* in batches; return (events read, events new to the store).

    Progress shows the events read so far, or ``position(read)`` when given
    (the demo shows users). *counts*, when given, is kept up to date after every
    committed batch, so that a caller can say what was stored when a later batch
    fails. A bad row (:class:`ReadError`) first stores the events read before it.
    """
    counts = _Counts() if counts is None else counts
    it = iter(events)
    while True:
        batch: list[ValueEvent] = []
        try:
            for e in it:
                batch.append(e)
                if len(batch) >= batch_size:
                    break
        except ReadError:
            if batch:
                counts.new += store.append(batch)
                counts.read += len(batch)
            raise
        if not batch:
            return counts.read, counts.new
        counts.new += store.append(batch)
        counts.read += len(batch)
        progress.update(counts.read if position is None else position(counts.read))


# --------------------------------------------------------------------------- event ids


def _generated_id(event_id: str) -> bool:
    """Whether *event_id* was made up by this process (the input had none).

    Readers give an event without an id a fresh one from
    :func:`ttvkit.events.new_event_id`: a random per-process prefix and a
    counter, so an id with this process's prefix cannot come from a file.
    """
    return event_id.startswith(_events._id_prefix) and len(event_id) == 32


def content_id(e: ValueEvent) -> str:
    """A deterministic event id from the event's content: user, account, name,
    timestamp (to the microsecond, UTC) and properties.

    ``ttvkit import`` and ``ttvkit report`` give it to rows that have no
    ``event_id``, so importing the same file twice stores nothing the second
    time. Rows identical in every field get the same id: they are taken as
    one event sent twice.
    """
    content = {k: v for k, v in e.to_dict().items() if k != "event_id"}
    text = canonical(content)
    return "c" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:31]


def _with_stable_ids(
    events: Iterable[ValueEvent], generated: Callable[[str], bool] = _generated_id
) -> Iterator[ValueEvent]:
    for e in events:
        if generated(e.event_id):
            yield trusted_event(
                e.user_id, e.name, e.timestamp, e.properties, e.account_id, content_id(e)
            )
        else:
            yield e


_VENDOR_NAMES = {"posthog": "PostHog", "segment": "Segment"}
_NAME_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_NAME_FORMATS |= {".parquet": "parquet", ".pq": "parquet"}


@attrs.frozen
class _Reading:
    """How to read a file of events, from the command line (and the configuration)."""

    input_format: str | None = None
    on_error: str = "raise"
    mapping: ColumnMapping | None = None
    group_type: str | None = None
    keep_properties: tuple[str, ...] | None = None
    merge_identities: bool = True
    person_properties: bool = True


def _reading(args: argparse.Namespace, config: Config | None = None) -> _Reading:
    mapping = args.columns if args.columns is not None else None
    if mapping is None and config is not None:
        mapping = config.columns
    return _Reading(
        input_format=args.input_format,
        on_error=args.on_error,
        mapping=mapping,
        group_type=args.group_type,
        keep_properties=args.keep_properties,
        merge_identities=not args.no_merge_identities,
        person_properties=not args.no_person_properties,
    )


def _file_format(path: str, reading: _Reading, facts: list[tuple[str, str | int]]) -> str:
    """The format to read *path* as: given, or from its name, or from its content.

    A file whose fields are a PostHog or Segment export's is read as one (said on
    stderr and in *facts*). Fields that the column mapping does not find are an
    error naming the fields there are and the options that would read them.
    """
    with open(path, "rb"):  # a missing or unreadable file fails now, before anything else
        pass
    fmt = reading.input_format
    if fmt is not None:
        return fmt
    lowered = path.lower().removesuffix(".gz")
    fmt = next((f for suffix, f in _NAME_FORMATS.items() if lowered.endswith(suffix)), None)
    sniffed = sniff(path, fmt or "jsonl")
    if reading.mapping is None and sniffed.format is not None:
        vendor = _VENDOR_NAMES[sniffed.format]
        _note(
            f"{path} has the fields of a {vendor} export; reading it as one "
            f"(--input-format {sniffed.format}; pass --input-format {fmt or 'jsonl'} to read "
            "it as plain events)"
        )
        facts.append(("format", f"{vendor} export (recognised from its fields)"))
        return sniffed.format
    if fmt is None:
        raise ConfigurationError(
            f"cannot tell the format of {path} from its name or content; pass --input-format "
            f"one of {', '.join(INPUT_FORMATS)}"
        )
    if sniffed.fields:
        _check_columns(path, sniffed.fields, reading.mapping or ColumnMapping())
    return fmt


_COLUMN_GUESSES = {
    "user": ("user_id", "userId", "distinct_id", "user", "uid", "customer_id", "person_id"),
    "name": ("name", "event", "event_name", "event_type", "action"),
    "timestamp": ("timestamp", "time", "ts", "event_time", "created_at", "date"),
}


def _guess_columns(fields: Sequence[str]) -> ColumnMapping | None:
    """A mapping from the usual names of the user, event and time columns, if all are there."""
    chosen: dict[str, str] = {}
    for field, names in _COLUMN_GUESSES.items():
        column = next((n for n in names if n in fields and n not in chosen.values()), None)
        if column is None:
            return None
        chosen[field] = column
    try:
        return ColumnMapping(**chosen)
    except ConfigurationError:
        return None


def _columns_option(mapping: ColumnMapping) -> str:
    return f"--columns user={mapping.user},name={mapping.name},timestamp={mapping.timestamp}"


def _check_columns(path: str, fields: Sequence[str], mapping: ColumnMapping) -> None:
    have = set(fields)
    missing = [
        f"{field} (column {column!r})"
        for field, column in (
            ("user", mapping.user),
            ("name", mapping.name),
            ("timestamp", mapping.timestamp),
        )
        if column not in have
    ]
    if not missing:
        return
    shown = ", ".join(fields[:12]) + (", ..." if len(fields) > 12 else "")
    guess = _guess_columns(fields)
    option = (
        "--columns user=COL,name=COL,timestamp=COL" if guess is None else _columns_option(guess)
    )
    hint = f"{option} (or a [columns] table in the TOML)"
    if "distinct_id" in have:
        hint += ", or --input-format posthog"
    elif have & {"userId", "anonymousId"}:
        hint += ", or --input-format segment"
    raise ConfigurationError(
        f"{path} has no {' or '.join(missing)}; its fields are: {shown}; map them with {hint}"
    )


def _open_reader(path: str, fmt: str, reading: _Reading) -> EventReader:
    options: dict[str, object] = {"on_error": reading.on_error}
    if fmt in ("csv", "jsonl", "parquet"):
        if reading.mapping is not None:
            options["mapping"] = reading.mapping
    else:
        options["keep_properties"] = reading.keep_properties
        options["merge_identities"] = reading.merge_identities
        if fmt == "posthog":
            options["group_type"] = reading.group_type
            options["person_properties"] = reading.person_properties
    return read_file(path, format=fmt, **options)


def _scan_file(path: str, fmt: str, reading: _Reading, *, event_ids: str) -> ScanSource | None:
    """*path* read by :func:`ttvkit.scan` in DuckDB, or None to use the io reader.

    DuckDB reads a file without a Python object per row; without duckdb
    installed, or for a vendor format, the ``ttvkit.io`` reader does.
    """
    if fmt not in ("csv", "jsonl", "parquet"):
        return None
    if importlib.util.find_spec("duckdb") is None:
        return None
    try:
        return scan(
            path,
            format=fmt,
            mapping=reading.mapping,
            on_error=cast(Literal["raise", "skip"], reading.on_error),  # argparse's choices
            event_ids=cast(Literal["row", "content"], event_ids),
        )
    except StoreError:
        # DuckDB could not read the file (a damaged Parquet page, a truncated
        # .gz): the reader says what is wrong with it, and where.
        return None


def _reader_facts(reader: EventReader | ScanSource, facts: list[tuple[str, str | int]]) -> None:
    """Say every skip, drop and merge of a read on stderr and in *facts*."""
    for error in reader.errors[:5]:
        _warn(f"skipped: {error}")
    if reader.skipped > 5:
        _warn(f"skipped {reader.skipped - 5:,} more bad rows")
    if reader.skipped:
        facts.append(("bad rows skipped", reader.skipped))
    if isinstance(reader, EventReader):
        if reader.ignored:
            _note(
                f"{reader.source}: {_plural(reader.ignored, 'row')} that are not events "
                "(identify, page, group and other calls) were not counted as events"
            )
            facts.append(("calls ignored (not events)", reader.ignored))
        if reader.merged:
            _note(
                f"{reader.source}: {_plural(reader.merged, 'anonymous id')} merged into the "
                "user identified later (--no-merge-identities keeps them apart)"
            )
            facts.append(("identities merged", reader.merged))


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


# --------------------------------------------------------------------------- arguments


def _as_of(value: str) -> datetime:
    try:
        # The readers' conversion: the value is shown as given, and text out of
        # range gets no hint about units (only numbers have one).
        return to_utc(value, None, None)
    except InvalidEventError as exc:
        # The message starts "timestamp='...': "; say it once, in argparse's words.
        problem = str(exc).partition(": ")[2] or str(exc)
        raise argparse.ArgumentTypeError(f"{value!r} {problem}") from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 1")
    return number


def _seed(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 0")
    return number


def _by(value: str) -> str | Condition:
    """``PROP`` (a property of the start event) or ``event:NAME`` (an intervention)."""
    if value.startswith("event:"):
        name = value.removeprefix("event:")
        if not name.strip():
            raise argparse.ArgumentTypeError("event: needs an event name, e.g. event:tutorial")
        return event(name)
    if not value.strip():
        raise argparse.ArgumentTypeError("name a property of the start event, e.g. plan")
    return value


def _columns(value: str) -> ColumnMapping:
    """``user=distinct_id,name=event,timestamp=time`` as a column mapping."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        field, sep, column = part.partition("=")
        if not sep or not field.strip():
            raise argparse.ArgumentTypeError(
                f"{part!r} is not FIELD=COLUMN; write e.g. user=distinct_id,name=event,"
                "timestamp=time"
            )
        fields[field.strip()] = column.strip()
    try:
        return parse_columns(fields, "--columns")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--columns: ")) from None


def _scalar(text: str) -> str | int | float | bool:
    """A --where value: a number or true/false when it reads as one, else the text."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if number == number and abs(number) != float("inf") else text
    return text


def _where(value: str) -> tuple[str, str | int | float | bool]:
    key, sep, text = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE; write e.g. plan=pro")
    return key.strip(), _scalar(text)


def _duration(value: str) -> timedelta:
    try:
        return parse_duration(value, "--window")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--window: ")) from None


def _names(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("name at least one property, e.g. plan,$browser")
    return names


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or abs(number) == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number")
    return number


_PERIODS = ("day", "week", "month", "quarter", "year", "none")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ttvkit",
        description="Measure Time to Value: how long customers take to reach the moments "
        "where your product pays off, and what shortens it.",
        epilog="Exit codes: 0 success, 2 user error (one line on stderr), 130 interrupted. "
        f"Docs: {DOCS_URL}cli/",
    )
    parser.add_argument("--version", action="version", version=f"ttvkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    output = _Parser(add_help=False)
    output.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), markdown, json or html (a self-contained page)",
    )
    output.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report to FILE instead of stdout ('-' is stdout); never the source",
    )

    reading = _Parser(add_help=False)
    files = reading.add_argument_group("reading a file of events")
    files.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        metavar="FORMAT",
        help=f"format of the file ({', '.join(INPUT_FORMATS)}); default: from its name, and "
        "PostHog and Segment exports from their fields",
    )
    files.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="bad rows: stop at the first (raise, the default) or skip and count them",
    )
    files.add_argument(
        "--columns",
        type=_columns,
        metavar="FIELD=COL,...",
        help="where the fields are, e.g. user=distinct_id,name=event,timestamp=time "
        "(fields: user, name, timestamp, account, event_id, properties)",
    )
    files.add_argument(
        "--group-type",
        metavar="TYPE",
        help="PostHog: the account is the event's $groups[TYPE] (e.g. company)",
    )
    files.add_argument(
        "--keep-properties",
        type=_names,
        metavar="P,...",
        help="PostHog, Segment: keep only these properties",
    )
    files.add_argument(
        "--no-merge-identities",
        action="store_true",
        help="PostHog, Segment: keep anonymous ids apart from the users they were identified as",
    )
    files.add_argument(
        "--no-person-properties",
        action="store_true",
        help="PostHog: do not read person_properties into the events' properties",
    )

    demo = commands.add_parser(
        "demo",
        parents=[output],
        help="generate a synthetic SaaS log into SQLite and print the full report",
        description="Generate the synthetic SaaS event log of ttvkit.datasets, load it into "
        "the embedded SQLite store and print the full report: every TTV measure, the "
        "levers ranked, cohorts, the journey and satisfaction.",
    )
    demo.add_argument(
        "--users",
        type=_positive_int,
        default=DEMO_USERS,
        metavar="N",
        help=f"users in the log (default {DEMO_USERS:,}; about 10 events each)",
    )
    demo.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    demo.add_argument(
        "--db",
        metavar="PATH",
        help="keep the SQLite database at PATH (default: a temporary file, deleted after)",
    )
    demo.add_argument(
        "--print-config",
        action="store_true",
        help="print the demo's TOML configuration (a starting point for yours) and exit",
    )
    demo.set_defaults(handler=_cmd_demo)

    report = commands.add_parser(
        "report",
        parents=[output, reading],
        help="report on a store or a file of events, with milestones from a TOML file",
        description="Report Time to Value for the milestones of a TOML configuration, over "
        "a store URL (sqlite:///ttv.db, postgresql://...) or a CSV, JSON lines or Parquet "
        "file.",
    )
    report.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="a store URL (SCHEME://...) or a file of events; default: the configuration's 'store'",
    )
    report.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help=f"the TOML configuration defining the milestones (default: ./{DEFAULT_CONFIG} "
        "if it exists)",
    )
    report.add_argument(
        "--milestone",
        "-m",
        action="append",
        default=[],
        metavar="NAME",
        help="report on this milestone of the configuration (repeatable; default: all)",
    )
    report.add_argument(
        "--by",
        type=_by,
        metavar="PROP|event:NAME",
        help="compare groups: by a property of the start event (plan), or exposed to an "
        "event or not (event:tutorial_completed)",
    )
    report.add_argument(
        "--per", choices=("user", "account"), help="measure users or accounts (default: config)"
    )
    report.add_argument(
        "--as-of",
        type=_as_of,
        metavar="DATE",
        help="analysis time, ISO-8601 with an offset (2025-06-30T00:00:00Z); default: the "
        "latest event",
    )
    report.add_argument(
        "--cohorts",
        choices=_PERIODS,
        default="month",
        metavar="PERIOD",
        help="cohort period: day, week, month (default), quarter, year, or none",
    )
    inline = report.add_argument_group(
        "a milestone on the command line (instead of, or added to, the configuration's)"
    )
    inline.add_argument(
        "--reached",
        action="append",
        default=[],
        metavar="EVENT",
        help="the event that means value was reached (repeatable: all of them, onboarding)",
    )
    inline.add_argument(
        "--start", metavar="EVENT", help="the event that starts the clock (default: signup)"
    )
    inline.add_argument(
        "--where",
        action="append",
        default=[],
        type=_where,
        metavar="KEY=VALUE",
        help="only start events with this property value (repeatable), e.g. plan=pro",
    )
    inline.add_argument(
        "--nth", type=_positive_int, metavar="N", help="the Nth reached event counts (exceed)"
    )
    inline.add_argument(
        "--total",
        metavar="PROP",
        help="reached when PROP summed over the reached events is at least --at-least (roi)",
    )
    inline.add_argument("--at-least", type=_number, metavar="X", help="the threshold of --total")
    inline.add_argument(
        "--window", type=_duration, metavar="DURATION", help="conversion window, e.g. 30d"
    )
    inline.add_argument(
        "--kind",
        choices=[k.value for k in MilestoneKind],
        metavar="KIND",
        help="basic (default), exceed, onboarding, upgrade, feature_adoption or roi",
    )
    inline.add_argument(
        "--name", metavar="NAME", help="the milestone's name (default: the reached event's)"
    )
    report.add_argument(
        "--engine",
        choices=("memory", "spark"),
        default="memory",
        help="where a SOURCE file is analysed: in this process (memory, the default) or by "
        "Spark (spark: Parquet files, a directory or a glob; needs ttvkit[spark])",
    )
    report.add_argument(
        "--spark-master",
        default="local[*]",
        metavar="URL",
        help="the Spark master for --engine spark (default local[*])",
    )
    report.set_defaults(handler=_cmd_report)

    import_ = commands.add_parser(
        "import",
        parents=[reading],
        help="import a file of events into a store (idempotent)",
        description="Stream a CSV, JSON lines or Parquet file into a store. Importing the "
        "same file again stores nothing twice (rows without an event_id get one derived "
        "from their content).",
    )
    import_.add_argument("file", metavar="FILE", help="the file of events")
    import_.add_argument("store", metavar="STORE_URL", help="e.g. sqlite:///ttv.db")
    import_.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"events per write (default {DEFAULT_BATCH_SIZE:,})",
    )
    import_.set_defaults(handler=_cmd_import)

    init = commands.add_parser(
        "init",
        parents=[reading],
        help="write a commented starter ttv.toml from the events of a file",
        description="Look at a file of events (its event names, how many users do each, "
        "which comes first, its columns) and write a commented starter configuration "
        f"with milestones built from those names: ./{DEFAULT_CONFIG}, or stdout with --print.",
    )
    init.add_argument("file", nargs="?", metavar="FILE", help="a file of events (optional)")
    init.add_argument("--print", action="store_true", help="print the configuration to stdout")
    init.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        default=DEFAULT_CONFIG,
        help=f"where to write it (default ./{DEFAULT_CONFIG}; never over an existing file)",
    )
    init.set_defaults(handler=_cmd_init)

    check = commands.add_parser(
        "check",
        help="check that a store is intact: every event readable, the file sound",
        description="Read every event of a store and report the first problems: for "
        "SQLite, also PRAGMA integrity_check and the event-name table. Exit 0 with a "
        "summary when the store is intact, 2 with the first problems when it is not.",
    )
    check.add_argument("store", metavar="STORE_URL", help="e.g. sqlite:///ttv.db")
    check.set_defaults(handler=_cmd_check)
    return parser


# --------------------------------------------------------------------------- commands


def _to_stdout(output: str | None) -> bool:
    return not output or output == "-"


def _check_output(output: str | None, inputs: Iterable[tuple[str, str]]) -> None:
    """Refuse to write the report over a file it reads: *inputs* are (what, path) pairs."""
    if _to_stdout(output):
        return
    assert output is not None
    for what, path in inputs:
        if _same_file(output, path):
            raise ConfigurationError(
                f"--output {output} is the {what} ({path}); writing the report there would "
                "destroy it: pass another file name"
            )


def _same_file(a: str, b: str) -> bool:
    """Whether paths *a* and *b* name one file (through links and relative paths too)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        try:
            return os.path.realpath(a) == os.path.realpath(b)
        except (OSError, ValueError):
            return False


def _sqlite_files(url: str) -> list[tuple[str, str]]:
    """The files of a ``sqlite:///`` URL's database: the database, its WAL and journal."""
    path = _sqlite_path(url)
    if path is None:
        return []
    return [
        ("store's database file", path),
        ("store's write-ahead log", path + "-wal"),
        ("store's shared-memory file", path + "-shm"),
        ("store's journal", path + "-journal"),
    ]


def _write_report(report: Report, args: argparse.Namespace) -> None:
    text = render(report, args.format)
    for section in report.skipped:
        _warn(f"{section.heading}: {section.result}")
    if args.format == "html" and charts_left_out(report):
        _warn(CHARTS_LEFT_OUT)
    if _to_stdout(args.output):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        if exc.filename is None:  # a failed write (a full disk) does not name the file
            exc.filename = args.output
        raise


def demo_config_text() -> str:
    """The TOML configuration the demo reports on (shipped as ``ttvkit/demo.toml``)."""
    return resources.files("ttvkit").joinpath("demo.toml").read_text(encoding="utf-8")


def demo_config() -> Config:
    """The demo's configuration, parsed."""
    return parse_config(tomllib.loads(demo_config_text()), source="ttvkit/demo.toml")


def _sqlite_url(path: Path) -> str:
    # %-escape what a URL would misread (?, #, %); the SQLite store decodes it.
    return "sqlite:///" + quote(str(path.resolve()), safe="/")


@contextlib.contextmanager
def _demo_database(path: str | None) -> Iterator[Path]:
    if path is not None:
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="ttvkit-demo-") as directory:
        yield Path(directory) / "demo.db"


def _demo_events(users: int, seed: int, users_done: list[int]) -> Iterator[ValueEvent]:
    """The demo's log as events, streamed (memory stays flat for any size);
    counts users in *users_done* (rows come user by user)."""
    last_user = None
    for event_id, user_id, account_id, name, timestamp, properties in datasets.saas_event_rows(
        users, seed=seed
    ):
        if user_id != last_user:
            last_user = user_id
            users_done[0] += 1
        # Valid by construction (ttvkit.datasets), so the validation is skipped.
        yield trusted_event(user_id, name, timestamp, properties, account_id, event_id)


def _first_demo_event(users: int, seed: int) -> ValueEvent:
    event_id, user_id, account_id, name, timestamp, properties = next(
        datasets.saas_event_rows(users, seed=seed)
    )
    return trusted_event(user_id, name, timestamp, properties, account_id, event_id)


def _check_demo_database(store: Store, path: Path, users: int, seed: int) -> int:
    """Events already in *store*; an error if they are not this demo's log."""
    before = store.count()
    if before:
        first = _first_demo_event(users, seed)
        stored = [e.event_id for e in store.events(users=[first.user_id], names=[first.name])]
        if first.event_id not in stored:
            raise ConfigurationError(
                f"--db {path} already holds {before:,} events that are not this demo's log "
                f"(--users {users}, --seed {seed}); pass a new path"
            )
    return before


def _with_reading_guide(report: Report, config: Config) -> Report:
    """The demo's report with a note, after the overview, on how to read the figures."""
    bands = config.bands
    speed = (
        f" Speed classes: immediate within {format_duration(bands.immediate)}, short within "
        f"{format_duration(bands.short)}, long after that; undetermined means still on the "
        "way and watched for less than the short band."
        if bands is not None
        else ""
    )
    within = format_duration(config.within or DEFAULT_WITHIN)
    guide = Note(
        "Every figure counts the customers still on the way for as long as they have been "
        "watched (Kaplan-Meier) instead of leaving them out. A median 'not reached' means fewer "
        "than half have got there so far; 'within 30d' is the share expected to get there "
        f"within 30 days. A lever's effect (Δ within {within}) is the difference in the share "
        f"reaching value within {within} between the customers it reached early (by the "
        "landmark) and the others; its p-value is adjusted for testing several levers at "
        "once." + speed
    )
    sections = list(report.sections)
    sections.insert(1, Section("How to read this report", guide))
    return attrs.evolve(report, sections=sections)


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.print_config:
        sys.stdout.write(demo_config_text())
        return EXIT_OK
    config = demo_config()
    users, seed = args.users, args.seed
    if args.db:
        _check_output(args.output, [("--db database", args.db)])
    with _demo_database(args.db) as path:
        url = _sqlite_url(path)
        with open_store(url) as store:
            before = _check_demo_database(store, path, users, seed)
            users_done = [0]
            with Progress(
                "loading the demo log into SQLite", total=users, unit="users"
            ) as progress:
                read, new = _ingest(
                    store,
                    _demo_events(users, seed, users_done),
                    batch_size=10_000,
                    progress=progress,
                    position=lambda _: users_done[0],
                )
                progress.finish(users, f", {read:,} events")
            if before and new:
                raise ConfigurationError(
                    f"--db {path} held {before:,} events of another demo log and now mixes "
                    "two logs; delete it or pass a new path"
                )
            report = _with_reading_guide(
                _build(
                    store,
                    config,
                    [
                        (
                            "data",
                            f"synthetic SaaS log (ttvkit.datasets), {users:,} users, seed {seed}",
                        ),
                        ("events", read),
                        ("store", url if args.db else "SQLite, in a temporary file"),
                        ("configuration", "ttvkit/demo.toml (ttvkit demo --print-config)"),
                    ],
                    {"bootstrap": DEMO_BOOTSTRAP, "title": "Time to Value: the ttvkit demo"},
                ),
                config,
            )
        _write_report(report, args)
    if args.db:
        print(
            f"ttvkit: the demo database is kept at {path}; report on it with: "
            f"ttvkit demo --print-config > ttv.toml && ttvkit report '{url}' --config ttv.toml",
            file=sys.stderr,
        )
    return EXIT_OK


def _is_url(source: str) -> bool:
    return "://" in source


def _sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///`` URL names, or None (another scheme, in memory)."""
    scheme, _, rest = url.partition("://")
    location = rest.partition("?")[0]
    if scheme.lower() != "sqlite" or not location.startswith("/"):
        return None
    path = unquote(location[1:])
    return path if path and path != ":memory:" and "\x00" not in path else None


def _check_sqlite_exists(url: str) -> None:
    """Reporting on a SQLite file that does not exist is a typo, not a wish to create it."""
    path = _sqlite_path(url)
    if path is not None and not os.path.exists(path):
        raise FileNotFoundError(2, "no such SQLite database", path)


_INLINE = ("start", "where", "nth", "total", "at_least", "window", "kind", "name")


def _inline_milestone(args: argparse.Namespace) -> Milestone | None:
    """The milestone of --reached, --start, ..., or None when --reached is not given."""
    if not args.reached:
        given = [f"--{o.replace('_', '-')}" for o in _INLINE if getattr(args, o) not in (None, [])]
        if given:
            raise ConfigurationError(
                f"{', '.join(given)} describe a milestone on the command line and need "
                "--reached EVENT"
            )
        return None
    if (args.total is None) != (args.at_least is None):
        raise ConfigurationError("--total PROP and --at-least X go together")
    if args.total is not None and args.nth is not None:
        raise ConfigurationError("--nth and --total are two kinds of milestone; pass one")
    if args.total is not None and len(args.reached) > 1:
        raise ConfigurationError("--total sums one event's property; pass one --reached")
    parts: list[Condition] = []
    for name in args.reached:
        if args.total is not None:
            parts.append(total(name, args.total, at_least=args.at_least))
        else:
            cond = event(name)
            parts.append(cond.nth(args.nth) if args.nth is not None else cond)
    reached = parts[0] if len(parts) == 1 else all_of(*parts)
    start = event(args.start or "signup", dict(args.where) if args.where else None)
    kind = args.kind or (
        "onboarding"
        if len(parts) > 1
        else "roi"
        if args.total is not None
        else "exceed"
        if args.nth is not None and args.nth > 1
        else "basic"
    )
    name = args.name or "+".join(args.reached)
    return Milestone(name, reached, start, MilestoneKind(kind), args.window)


def _config_for_report(args: argparse.Namespace) -> tuple[Config, list[str]]:
    """The configuration to report with, and the milestones to report on (empty: all)."""
    inline = _inline_milestone(args)
    path = args.config
    if path is None and os.path.exists(DEFAULT_CONFIG):
        path = DEFAULT_CONFIG
    if path is not None:
        config = load_config(path)
    elif inline is None:
        raise ConfigurationError(
            "no milestones: pass --reached EVENT (and --start EVENT), or --config FILE "
            f"defining [milestones.NAME] (or put {DEFAULT_CONFIG} in the working directory; "
            "'ttvkit init FILE' writes one); --milestone names one of them"
        )
    else:
        config = Config(milestones={})
    if inline is None:
        return config, list(args.milestone)
    config = attrs.evolve(config, milestones={**config.milestones, inline.name: inline})
    return config, [inline.name, *args.milestone]


def _cmd_report(args: argparse.Namespace) -> int:
    config, milestones = _config_for_report(args)
    source = args.source or config.store
    if not source:
        raise ConfigurationError(
            "no SOURCE: pass a store URL or a file of events, or set 'store' in the configuration"
        )
    period = None if args.cohorts == "none" else args.cohorts
    options = {
        "milestones": milestones,
        "by": args.by,
        "per": args.per,
        "as_of": args.as_of,
        "period": period,
    }
    config_path = args.config or (DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None)
    inputs = [] if config_path is None else [("configuration", config_path)]
    facts: list[tuple[str, str | int]] = [("source", source)]
    if args.engine == "spark":
        from ttvkit.stores.spark import SparkSource, spark_session

        if _is_url(source) and not source.startswith(("s3a://", "gs://", "abfss://", "hdfs://")):
            raise ConfigurationError("--engine spark reads files: pass a Parquet path or glob")
        if args.input_format not in (None, "parquet"):
            raise ConfigurationError("--engine spark reads Parquet; convert other files first")
        _check_output(args.output, inputs)
        with (
            spark_session(args.spark_master, "ttvkit report") as spark,
            SparkSource.read(source, spark=spark) as store,
        ):
            facts += [("engine", "spark"), ("events", store.count())]
            report = _build(store, config, facts, options)
    elif _is_url(source):
        _check_output(args.output, [*inputs, *_sqlite_files(source)])
        _check_sqlite_exists(source)
        with open_store(source) as store:
            facts.append(("events", store.count()))
            report = _build(store, config, facts, options)
    else:
        _check_output(args.output, [*inputs, ("source", source)])
        reading = _reading(args, config)
        fmt = _file_format(source, reading, facts)
        scanned = _scan_file(source, fmt, reading, event_ids="content")
        if scanned is not None:
            with scanned:
                facts.append(("events", scanned.count()))
                _reader_facts(scanned, facts)
                report = _build(scanned, config, facts, options)
        else:
            reader = _open_reader(source, fmt, reading)
            with MemoryStore(_with_stable_ids(reader)) as store:
                facts.append(("events", store.count()))
                _reader_facts(reader, facts)
                report = _build(store, config, facts, options)
    _write_report(report, args)
    return EXIT_OK


class _SectionProgress:
    """Which section is being computed, on one redrawn line of a terminal's stderr.

    Off when stderr is not a terminal (a log, a pipe, CI): nothing is written.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty()
        self._drawn = False

    def __enter__(self) -> _SectionProgress:
        return self

    def __call__(self, heading: str) -> None:
        if self._tty:
            self._stream.write("\r\x1b[Kttvkit: computing " + _one_line(heading)[:70])
            self._stream.flush()
            self._drawn = True

    def __exit__(self, *exc_info: object) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")  # the report, or a message, starts on a clean line
            self._stream.flush()


def _build(
    source: Source, config: Config, facts: list[tuple[str, str | int]], options: dict[str, Any]
) -> Report:
    """build_report, with a warning on stderr (and a fact) for every name that matches nothing."""
    with warnings.catch_warnings(record=True) as caught, _SectionProgress() as progress:
        warnings.simplefilter("always", UnknownEventWarning)
        report = build_report(source, config, facts=facts, progress=progress, **options)
    seen: set[str] = set()
    for w in caught:
        if not issubclass(w.category, UnknownEventWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            _warn(text)
    extra: list[tuple[str, str | int]] = []
    if seen:
        extra.append(("names that match no event", "; ".join(sorted(seen))))
    for section in report.sections:
        result = section.result
        if isinstance(result, TTVDistribution) and result.n_reached_before_start:
            m = result.milestone
            n = result.n_reached_before_start
            _note(
                f"{m.name}: {_plural(n, 'customer')} reached it before their start "
                f"(before_start={m.before_start!r}: "
                + {"zero": "counted as reaching at 0)", "ignore": "only later events count)"}.get(
                    m.before_start, "left out)"
                )
            )
            extra.append((f"reached before the start ({m.name})", n))
    if extra:
        report = attrs.evolve(report, facts=[*report.facts, *extra])
    return report


_START_HINTS = ("signup", "signed_up", "sign_up", "signed up", "user_signed_up", "account_created")


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _toml_key(text: str) -> str:
    bare = text.replace("-", "_")
    if bare and all(c.isascii() and (c.isalnum() or c == "_") for c in bare) and bare == text:
        return text
    return _toml_string(text)


def _slug(name: str) -> str:
    slug = "".join(c if c.isascii() and c.isalnum() else "_" for c in name.lower()).strip("_")
    while "__" in slug:
        slug = slug.replace("__", "_")
    return slug or "milestone"


def _init_text(
    path: str | None,
    names: dict[str, tuple[int, int]],
    firsts: dict[str, int],
    fields: Sequence[str],
    fmt: str | None,
    mapping: ColumnMapping | None,
) -> str:
    """The starter configuration: *names* maps event name -> (events, users)."""
    lines = [
        "# ttvkit configuration: the milestones 'ttvkit report' measures.",
        f"# Docs: {DOCS_URL}cli/  (every key: {DOCS_URL}cli/#the-configuration-file)",
    ]
    if path is not None:
        lines.append(
            f"# Written by 'ttvkit init' from {path}"
            + (f" (read as {fmt})" if fmt else "")
            + f": {len(names):,} event names."
        )
        if fields:
            lines.append(
                "# Its fields: " + ", ".join(fields[:20]) + (", ..." if len(fields) > 20 else "")
            )
        lines.append(f"# Report with: ttvkit report {path}")
    lines.append("")
    lines.append('per = "user"                 # or "account" (events need an account id)')
    if mapping is not None:
        lines += ["", "[columns]                    # where the file's fields are"]
        default = ColumnMapping()
        for field in ("user", "name", "timestamp", "account", "event_id", "properties"):
            column = getattr(mapping, field)
            if column != getattr(default, field):
                lines.append(f"{field} = {_toml_string(column or '')}")
    by_users = sorted(names, key=lambda n: (-names[n][1], n))
    start = next((n for n in by_users if n.lower() in _START_HINTS), None)
    if start is None and firsts:
        start = max(firsts, key=lambda n: (firsts[n], n))
    start = start or "signup"
    lines += [
        "",
        "[bands]                      # speed classes: immediate / short / long",
        'immediate = "5m"',
        'short = "7d"',
    ]
    candidates = [n for n in by_users if n != start][:3]
    if not candidates:
        candidates = ["report_created"]
    for i, name in enumerate(candidates):
        events, users = names.get(name, (0, 0))
        lines += [""]
        if names:
            lines.append(f"# {name}: {events:,} events by {users:,} users")
        lines += [
            f"[milestones.{_toml_key(_slug(name))}]",
            f'kind = "{"basic" if i == 0 else "exceed"}"'
            + (
                "                # basic, exceed, onboarding, upgrade, feature_adoption, roi"
                if i == 0
                else ""
            ),
            f"start = {_toml_string(start)}"
            + ("   # the start event: what the most users do first" if i == 0 else ""),
            f"reached = {_toml_string(name)}"
            if i == 0
            else f"reached = {{ event = {_toml_string(name)}, nth = 3 }}   # the 3rd time",
        ]
        if i == 0:
            lines.append('# window = "30d"            # count only reaching within 30 days')
    rest = [n for n in by_users if n != start and n not in candidates]
    if rest:
        lines += ["", "# Other event names in the file (most users first):"]
        lines += [f"#   {n}: {names[n][0]:,} events by {names[n][1]:,} users" for n in rest[:30]]
        if len(rest) > 30:
            lines.append(f"#   ... and {len(rest) - 30:,} more")
    lines += [
        "",
        "# [analysis]",
        '# interventions = ["tutorial_completed"]   # levers: events that may shorten TTV',
        f"# journey = [{', '.join(_toml_string(_slug(n)) for n in candidates[:2])}]",
        '# within = "7d"',
        "",
        "# [satisfaction]               # needs [bands]",
        f"# milestone = {_toml_string(_slug(candidates[0]))}",
        '# survey = "csat_submitted"',
        '# score = "score"',
        "",
    ]
    return "\n".join(lines)


def _cmd_init(args: argparse.Namespace) -> int:
    names: dict[str, tuple[int, int]] = {}
    firsts: dict[str, int] = {}
    fields: Sequence[str] = ()
    fmt = None
    if not args.print and os.path.exists(args.output):
        raise ConfigurationError(
            f"{args.output} exists; pass another --output PATH, or --print to see the starter"
        )
    reading = _reading(args)
    if args.file is not None and reading.input_format is None and reading.mapping is None:
        lowered = args.file.lower().removesuffix(".gz")
        named = next((f for sfx, f in _NAME_FORMATS.items() if lowered.endswith(sfx)), None)
        sniffed = sniff(args.file, named or "jsonl")
        default = ColumnMapping()
        if sniffed.format is None and sniffed.fields and default.user not in sniffed.fields:
            guess = _guess_columns(sniffed.fields)
            if guess is not None:
                _note(
                    f"{args.file}: reading it with {_columns_option(guess)} (written to [columns])"
                )
                reading = attrs.evolve(reading, mapping=guess)
    if args.file is not None:
        fmt = _file_format(args.file, reading, [])
        fields = sniff(args.file, fmt).fields
        reader = _open_reader(args.file, fmt, reading)
        counts: dict[str, int] = {}
        users: dict[str, set[str]] = {}
        first: dict[str, tuple[datetime, str]] = {}
        for e in reader:
            counts[e.name] = counts.get(e.name, 0) + 1
            users.setdefault(e.name, set()).add(e.user_id)
            if e.user_id not in first or e.timestamp < first[e.user_id][0]:
                first[e.user_id] = (e.timestamp, e.name)
        _reader_facts(reader, [])
        if not counts:
            raise ConfigurationError(f"{args.file} holds no events to start from")
        names = {n: (counts[n], len(users[n])) for n in counts}
        for _, name in first.values():
            firsts[name] = firsts.get(name, 0) + 1
    text = _init_text(args.file, names, firsts, fields, fmt, reading.mapping)
    parse_config(tomllib.loads(text), source="the starter configuration")  # valid by construction
    if args.print:
        sys.stdout.write(text)
        return EXIT_OK
    Path(args.output).write_text(text, encoding="utf-8")
    print(
        f"ttvkit: wrote {args.output}; edit it, then: ttvkit report {args.file or 'SOURCE'}",
        file=sys.stderr,
    )
    return EXIT_OK


def _stored_so_far(counts: _Counts) -> str:
    return (
        f"{counts.new:,} new events were stored before it and are kept; importing again "
        "stores nothing twice"
    )


def _cmd_import(args: argparse.Namespace) -> int:
    # Import streams the file through the io reader whatever is installed: every
    # event becomes a ValueEvent for the store anyway, and streaming stores the
    # rows before a bad one (and says how many) instead of nothing.
    reading = _reading(args)
    fmt = _file_format(args.file, reading, [])
    reader = _open_reader(args.file, fmt, reading)
    return _import_events(args, reader, _with_stable_ids(reader))


def _import_events(
    args: argparse.Namespace, reader: EventReader | ScanSource, events: Iterable[ValueEvent]
) -> int:
    with open_store(args.store) as store:
        counts = _Counts()
        with Progress(f"importing {args.file}") as progress:
            try:
                read, new = _ingest(
                    store,
                    events,
                    batch_size=args.batch_size,
                    progress=progress,
                    counts=counts,
                )
            except ReadError as exc:
                hint = ""
                if exc.skippable and args.on_error == "raise":
                    hint = "; fix the row, or skip bad rows with --on-error skip"
                raise ReadError(
                    f"{exc} ({_stored_so_far(counts)}{hint})",
                    source=exc.source,
                    line=exc.line,
                    row=exc.row,
                    column=exc.column,
                    skippable=exc.skippable,
                ) from None
            except (TTVError, OSError) as exc:
                # The store failed (a full disk, a lost server): say what is kept.
                raise _ImportFailed(f"{_error_text(exc)} ({_stored_so_far(counts)})") from None
            progress.finish(read)
    _reader_facts(reader, [])
    ignored = (
        f", ignored {reader.ignored:,}"
        if isinstance(reader, EventReader) and reader.ignored
        else ""
    )
    print(
        f"read {read:,}, new {new:,}, duplicates {read - new:,}, skipped {reader.skipped:,}"
        f"{ignored} ({args.file} -> {args.store})"
    )
    return EXIT_OK


class _ImportFailed(TTVError):
    """An import stopped by its store; the message says how many events were kept."""


def _cmd_check(args: argparse.Namespace) -> int:
    from ttvkit.stores.sqlite import SQLiteStore

    _check_sqlite_exists(args.store)
    with open_store(args.store) as store:
        if isinstance(store, SQLiteStore):
            problems = store.check()
            summary = (
                f"{store.count():,} events, every one readable and valid; event names "
                "complete; PRAGMA integrity_check ok"
            )
        else:
            summary, problems = _read_every_event(store)
    if problems:
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3:,} more problems)" if len(problems) > 3 else ""
        raise StoreError(f"{args.store} is damaged: {shown}{more}")
    print(f"{args.store}: ok, {summary}")
    return EXIT_OK


def _read_every_event(store: Store) -> tuple[str, list[str]]:
    """The generic check: every event of *store* is read and decoded."""
    events = 0
    try:
        for _ in store.events():
            events += 1
    except TTVError as exc:
        return "", [f"after {events:,} events: {exc}"]
    return f"{events:,} events, every one readable", []


# --------------------------------------------------------------------------- main


def _utf8_stdio() -> None:
    """Never fail on a character the terminal cannot show: reports hold arrows and Δ."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ttvkit`` command with *argv* (default: ``sys.argv[1:]``); return the exit code."""
    _utf8_stdio()
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        print(
            "ttvkit: error: choose a command: demo, report, init, import or check "
            "(see 'ttvkit --help')",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        result: int = args.handler(args)
    except BrokenPipeError:
        # The reader went away (ttvkit demo | head): not an error worth a message.
        # Point stdout at devnull so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (TTVError, OSError) as exc:
        print(f"ttvkit: error: {_one_line(_error_text(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ttvkit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result
