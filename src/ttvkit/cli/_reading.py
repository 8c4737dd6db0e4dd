"""The options for reading a file of events, shared by ``report``, ``import`` and ``init``."""

from __future__ import annotations

import argparse
from functools import cache

from ttvkit.cli import _args
from ttvkit.io import FORMATS as INPUT_FORMATS

__all__ = ["add_reading_options", "reading_defaults"]


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
