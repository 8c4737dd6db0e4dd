"""``ttvkit init``: a commented starter ``ttv.toml`` built from the events of a file."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tomllib
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import attrs

from ttvkit._format import one_line, shown_in_line
from ttvkit.cli._files import (
    columns_option,
    file_format,
    files_in,
    guess_columns,
    many_files,
    open_reader,
    reader_facts,
    scan_file,
    scan_files,
    with_stable_ids,
)
from ttvkit.cli._layout import looked_at
from ttvkit.cli._output import DOCS_URL, EXIT_OK, note, write_stdout
from ttvkit.cli._reading import Reading, reading_of
from ttvkit.config import parse_config, timezone_name
from ttvkit.errors import ConfigurationError
from ttvkit.events import ValueEvent
from ttvkit.io import ColumnMapping, format_of_name
from ttvkit.stores.scan import ScanSource

__all__ = ["cmd_init"]

_START_HINTS = ("signup", "signed_up", "sign_up", "signed up", "user_signed_up", "account_created")


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    """*text* as a TOML basic string: quotes, backslashes and control characters
    (DEL too, which JSON leaves raw and TOML refuses) escaped."""
    return (
        '"'
        + "".join(
            _TOML_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
            for c in text
        )
        + '"'
    )


def _comment(text: str) -> str:
    """*text* (a name, a path) fit for a TOML comment: on one line, controls shown as escapes."""
    return shown_in_line(text)


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
    reading: Reading,
) -> str:
    """The starter configuration: *names* maps event name -> (events, users)."""
    lines = [
        "# ttvkit configuration: the milestones 'ttvkit report' measures.",
        f"# Docs: {DOCS_URL}cli/  (every key: {DOCS_URL}cli/#the-configuration-file)",
    ]
    if path is not None:
        lines.append(
            f"# Written by 'ttvkit init' from {_comment(path)}"
            + (f" (read as {fmt})" if fmt else "")
            + f": {len(names):,} event names."
        )
        if fields:
            lines.append(
                "# Its fields: "
                + ", ".join(_comment(f) for f in fields[:20])
                + (", ..." if len(fields) > 20 else "")
            )
        lines.append(f"# Report with: ttvkit report {_comment(shlex.quote(path))}")
    lines.append("")
    lines.append('per = "user"                 # or "account" (events need an account id)')
    mapping = reading.mapping
    if mapping is not None:
        lines += ["", "[columns]                    # where the file's fields are"]
        default = ColumnMapping()
        for field in ("user", "name", "timestamp", "account", "event_id", "properties"):
            column = getattr(mapping, field)
            if column != getattr(default, field):
                lines.append(f"{field} = {_toml_string(column or '')}")
    if any(
        (
            reading.timezone,
            reading.timestamp_unit,
            reading.encoding,
            reading.delimiter,
            reading.decimal,
        )
    ):
        lines += ["", "[input]                      # how the file's values are read"]
        if reading.timezone is not None:
            lines.append(f"timezone = {_toml_string(timezone_name(reading.timezone))}")
        if reading.timestamp_unit is not None:
            lines.append(f"timestamp_unit = {_toml_string(reading.timestamp_unit)}")
        if reading.encoding is not None:
            lines.append(f"encoding = {_toml_string(reading.encoding)}")
        if reading.delimiter is not None:
            lines.append(f"delimiter = {_toml_string(reading.delimiter)}")
        if reading.decimal is not None:
            lines.append(f"decimal = {_toml_string(reading.decimal)}")
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
        # "Exceed" (the nth time) only where users repeat the event that often on
        # average: an event done once each would give a milestone nobody can reach.
        nth = 0
        if i > 0 and users:
            nth = 3 if events >= 3 * users else 2 if events >= 2 * users else 0
        lines += [""]
        if names:
            lines.append(f"# {_comment(name)}: {events:,} events by {users:,} users")
        lines += [
            f"[milestones.{_toml_key(_slug(name))}]",
            f'kind = "{"exceed" if nth else "basic"}"'
            + (
                "                # basic, exceed, onboarding, upgrade, feature_adoption, roi"
                if i == 0
                else ""
            ),
            f"start = {_toml_string(start)}"
            + ("   # the start event: what the most users do first" if i == 0 else ""),
            f"reached = {{ event = {_toml_string(name)}, nth = {nth} }}"
            f"   # the {_ORDINALS[nth]} time"
            if nth
            else f"reached = {_toml_string(name)}",
        ]
        if i == 0:
            lines.append('# window = "30d"            # count only reaching within 30 days')
    rest = [n for n in by_users if n != start and n not in candidates]
    if rest:
        lines += ["", "# Other event names in the file (most users first):"]
        lines += [
            f"#   {_comment(n)}: {names[n][0]:,} events by {names[n][1]:,} users" for n in rest[:30]
        ]
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


#: Per event name: (events, users). The events are counted once each, as a report
#: counts them (rows identical in every field, or sharing an id, are one event).
_Names = dict[str, tuple[int, int]]
#: Per event name: the users whose first event it is (earliest; at a tie, the least name).
_Firsts = dict[str, int]


def _names_in_engine(scanned: ScanSource) -> tuple[_Names, _Firsts]:
    """What init says of a file, computed by DuckDB: no Python object per row."""
    relation = scanned.relation_sql
    names = {
        str(name): (int(events), int(users))
        for name, events, users in scanned.query(
            f"SELECT name, count(*), count(DISTINCT user_id) FROM {relation} GROUP BY name", []
        )
    }
    firsts = {
        str(name): int(users)
        for name, users in scanned.query(
            "SELECT first_name, count(*) FROM (SELECT arg_min(name, (ts, name)) AS first_name "
            f"FROM {relation} GROUP BY user_id) GROUP BY first_name",
            [],
        )
    }
    return names, firsts


def _names_read(events: Iterable[ValueEvent]) -> tuple[_Names, _Firsts]:
    """:func:`_names_in_engine` of events read in Python (without duckdb, or a vendor's
    export); an id met again is the same event (the first copy counts, as stores keep)."""
    seen: set[str] = set()
    counts: dict[str, int] = {}
    users: dict[str, set[str]] = {}
    first: dict[str, tuple[datetime, str]] = {}
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        counts[e.name] = counts.get(e.name, 0) + 1
        users.setdefault(e.name, set()).add(e.user_id)
        if e.user_id not in first or (e.timestamp, e.name) < first[e.user_id]:
            first[e.user_id] = (e.timestamp, e.name)
    firsts: _Firsts = {}
    for _, name in first.values():
        firsts[name] = firsts.get(name, 0) + 1
    return {n: (counts[n], len(users[n])) for n in counts}, firsts


def cmd_init(args: argparse.Namespace) -> int:
    names: _Names = {}
    firsts: _Firsts = {}
    fields: Sequence[str] = ()
    fmt = None
    if not args.print and os.path.exists(args.output):
        raise ConfigurationError(
            f"{args.output} exists; pass another --output PATH, or --print to see the starter"
        )
    reading = reading_of(args)
    # A directory or glob: its first file shows the columns, and every file is counted.
    first = args.file
    if args.file is not None and many_files(args.file):
        first = files_in(args.file, reading)[0]
    if first is not None and reading.input_format is None and reading.mapping is None:
        reading, sniffed = looked_at(first, format_of_name(first), reading, [])
        default = ColumnMapping()
        defaults = {default.user, default.name, default.timestamp}
        if sniffed.format is None and sniffed.fields and not defaults <= set(sniffed.fields):
            guess = guess_columns(sniffed.fields)
            if guess is not None:
                note(f"{args.file}: reading it with {columns_option(guess)} (written to [columns])")
                reading = attrs.evolve(reading, mapping=guess)
    if args.file is not None and first != args.file:
        fmt, reading = file_format(first, reading, [])
        if fmt not in ("csv", "jsonl", "parquet"):
            raise ConfigurationError(
                f"{first} is a vendor export, read one file at a time, and {args.file} names "
                "several; pass one file"
            )
        reading, sniffed = looked_at(first, fmt, reading, [])
        fields = sniffed.fields
        with scan_files(args.file, reading, event_ids="content") as together:
            names, firsts = _names_in_engine(together)
            reader_facts(together, [])
        if not names:
            raise ConfigurationError(f"{args.file} holds no events to start from")
    elif args.file is not None:
        fmt, reading = file_format(args.file, reading, [])
        reading, sniffed = looked_at(args.file, fmt, reading, [])
        fields = sniffed.fields
        scanned = scan_file(args.file, fmt, reading, event_ids="content")
        if scanned is not None:
            with scanned:
                names, firsts = _names_in_engine(scanned)
                reader_facts(scanned, [])
        else:
            reader = open_reader(args.file, fmt, reading)
            names, firsts = _names_read(with_stable_ids(reader))
            reader_facts(reader, [])
        if not names:
            raise ConfigurationError(f"{args.file} holds no events to start from")
    text = _init_text(args.file, names, firsts, fields, fmt, reading)
    parse_config(tomllib.loads(text), source="the starter configuration")  # valid by construction
    if args.print:
        write_stdout(text)
        return EXIT_OK
    Path(args.output).write_text(text, encoding="utf-8")
    print(
        one_line(
            f"ttvkit: wrote {args.output}; edit it, then: ttvkit report {args.file or 'SOURCE'}"
        ),
        file=sys.stderr,
    )
    return EXIT_OK


_ORDINALS: Final = {2: "2nd", 3: "3rd"}
