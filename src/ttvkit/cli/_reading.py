"""The options for reading a file of events, shared by ``report``, ``import`` and ``init``,
and :class:`Reading`, what they (and the configuration) say."""

from __future__ import annotations

import argparse
from datetime import tzinfo
from functools import cache

import attrs

from ttvkit.cli import _args
from ttvkit.config import Config
from ttvkit.io import FORMATS as INPUT_FORMATS
from ttvkit.io import ColumnMapping, TimestampUnit

__all__ = ["Reading", "add_reading_options", "reading_defaults", "reading_of"]


def add_reading_options(parser: argparse.ArgumentParser) -> None:
    """Add the options to *parser*, in a group "reading a file of events"."""
    files = parser.add_argument_group("reading a file of events")
    files.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        metavar="FORMAT",
        help=f"format of the file ({', '.join(INPUT_FORMATS)}); default: from its name, and "
        "PostHog, Segment, Mixpanel and Amplitude exports from their fields (a .zip: "
        "Amplitude)",
    )
    files.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="bad rows: stop at the first (raise, the default) or skip and count them",
    )
    files.add_argument(
        "--columns",
        type=_args.columns,
        metavar="FIELD=COL,...",
        help="where the fields are, e.g. user=distinct_id,name=event,timestamp=time "
        "(fields: user, name, timestamp, account, event_id, properties)",
    )
    files.add_argument(
        "--timezone",
        type=_args.timezone,
        metavar="ZONE",
        help="the zone of timestamps written without an offset: UTC, +02:00 or an IANA name "
        "such as Europe/Berlin (default: such timestamps are an error; vendor exports: UTC; "
        "Mixpanel: the project's zone, for projects created before 2023)",
    )
    files.add_argument(
        "--timestamp-unit",
        choices=("s", "ms", "us"),
        help="numbers in the timestamp column are epoch seconds, milliseconds or microseconds "
        "(default: seconds; in CSV, numbers need this option)",
    )
    files.add_argument(
        "--encoding",
        type=_args.encoding,
        metavar="NAME",
        help="the text encoding of a csv or jsonl file, e.g. latin-1, cp1252 or utf-16 "
        "(default: UTF-8, a byte-order mark skipped in CSV)",
    )
    files.add_argument(
        "--delimiter",
        type=_args.delimiter,
        metavar="CHAR",
        help="what separates a csv file's columns, e.g. ';' or tab (default: a tab for .tsv, "
        "else a comma; a header that is one column holding ';', a tab or '|' is read with it, "
        "and said so)",
    )
    files.add_argument(
        "--decimal",
        choices=(".", ","),
        metavar="MARK",
        help="the decimal mark of a csv file's numbers, '.' or ',': ',' reads 3,5 as 3.5, "
        "1.234,5 as 1234.5, and 3.5 as text "
        "(default: '.'; a file not separated by commas whose numbers are written 3,5 is read "
        "with ',', and said so)",
    )
    files.add_argument(
        "--group-type",
        metavar="TYPE",
        help="the account: PostHog's $groups[TYPE], Amplitude's groups[TYPE] (e.g. company), "
        "Mixpanel's group key property TYPE (e.g. company_id)",
    )
    files.add_argument(
        "--keep-properties",
        type=_args.names,
        metavar="P,...",
        help="vendor exports: keep only these properties",
    )
    files.add_argument(
        "--no-merge-identities",
        action="store_true",
        help="vendor exports: keep anonymous ids apart from the users they were identified as",
    )
    files.add_argument(
        "--no-person-properties",
        action="store_true",
        help="PostHog, Amplitude: do not read person_properties (user_properties) into the "
        "events' properties",
    )


@cache
def reading_defaults() -> dict[str, object]:
    """Each option's ``dest`` and its value when it is not given."""
    parser = argparse.ArgumentParser(add_help=False)
    add_reading_options(parser)
    return vars(parser.parse_args([]))


@attrs.frozen
class Reading:
    """How to read a file of events, from the command line (and the configuration)."""

    input_format: str | None = None
    on_error: str = "raise"
    mapping: ColumnMapping | None = None
    group_type: str | None = None
    keep_properties: tuple[str, ...] | None = None
    merge_identities: bool = True
    person_properties: bool = True
    timezone: tzinfo | None = None
    timestamp_unit: TimestampUnit | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    guess_decimal: bool = True
    """Whether a decimal comma found in a file's rows is read so (``ttvkit import``
    guesses none: the ids it makes from an event's content depend on it)."""
    columns_given: bool = False
    """Whether ``--columns`` was given (the mapping may come from the configuration)."""


def reading_of(args: argparse.Namespace, config: Config | None = None) -> Reading:
    """How to read the file: the command line's options, else the configuration's."""
    mapping = args.columns if args.columns is not None else None
    zone, unit, encoding = args.timezone, args.timestamp_unit, args.encoding
    delimiter, decimal = args.delimiter, args.decimal
    if config is not None:
        mapping = config.columns if mapping is None else mapping
        zone = config.timezone if zone is None else zone
        unit = config.timestamp_unit if unit is None else unit
        encoding = config.encoding if encoding is None else encoding
        delimiter = config.delimiter if delimiter is None else delimiter
        decimal = config.decimal if decimal is None else decimal
    return Reading(
        input_format=args.input_format,
        on_error=args.on_error,
        mapping=mapping,
        group_type=args.group_type,
        keep_properties=args.keep_properties,
        merge_identities=not args.no_merge_identities,
        person_properties=not args.no_person_properties,
        timezone=zone,
        timestamp_unit=unit,
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        columns_given=args.columns is not None,
    )
