"""The ``ttvkit`` parser and :func:`main`: parse, run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import NoReturn

from ttvkit import __version__
from ttvkit.cli import _args
from ttvkit.cli._demo import DEMO_USERS, cmd_demo
from ttvkit.cli._exits import interrupted
from ttvkit.cli._init import cmd_init
from ttvkit.cli._output import (
    DEFAULT_CONFIG,
    DOCS_URL,
    EXIT_USAGE,
    error_text,
    in_cli_words,
    one_line,
)
from ttvkit.cli._reading import add_reading_options
from ttvkit.cli._report import cmd_report
from ttvkit.cli._stores import DEFAULT_BATCH_SIZE, cmd_check, cmd_import
from ttvkit.errors import TTVError
from ttvkit.milestones import MilestoneKind
from ttvkit.report import FORMATS

__all__ = ["main"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is the same single line as every other user error."""

    def error(self, message: str) -> NoReturn:
        print(
            f"ttvkit: error: {one_line(message)} (see '{self.prog} --help')",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ttvkit",
        description="Measure Time to Value: how long customers take to reach the moments "
        "where your product pays off, and what shortens it.",
        epilog="Exit codes: 0 success, 2 user error (one line on stderr), 130 interrupted; "
        "1 is a bug in ttvkit (please report it). "
        f"Docs: {DOCS_URL}cli/",
    )
    parser.add_argument("--version", action="version", version=f"ttvkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    output = Parser(add_help=False)
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

    reading = Parser(add_help=False)
    add_reading_options(reading)

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
        type=_args.positive_int,
        default=DEMO_USERS,
        metavar="N",
        help=f"users in the log (default {DEMO_USERS:,}; about 10 events each)",
    )
    demo.add_argument(
        "--seed", type=_args.seed, default=0, metavar="S", help="random seed (default 0)"
    )
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
    demo.set_defaults(handler=cmd_demo)

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
        type=_args.by,
        metavar="PROP|event:NAME",
        help="compare groups: by a property of the start event (plan), or exposed to an "
        "event or not (event:tutorial_completed)",
    )
    report.add_argument(
        "--per", choices=("user", "account"), help="measure users or accounts (default: config)"
    )
    report.add_argument(
        "--as-of",
        type=_args.as_of,
        metavar="DATE",
        help="analysis time, ISO-8601 with an offset (2025-06-30T00:00:00Z); default: the "
        "latest event",
    )
    report.add_argument(
        "--cohorts",
        choices=_args.PERIODS,
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
        type=_args.where,
        metavar="KEY=VALUE",
        help="only start events with this property value (repeatable), e.g. plan=pro",
    )
    inline.add_argument(
        "--nth", type=_args.positive_int, metavar="N", help="the Nth reached event counts (exceed)"
    )
    inline.add_argument(
        "--total",
        metavar="PROP",
        help="reached when PROP summed over the reached events is at least --at-least (roi)",
    )
    inline.add_argument(
        "--at-least", type=_args.number, metavar="X", help="the threshold of --total"
    )
    inline.add_argument(
        "--window", type=_args.duration, metavar="DURATION", help="conversion window, e.g. 30d"
    )
    inline.add_argument(
        "--kind",
        choices=[k.value for k in MilestoneKind],
        metavar="KIND",
        help="basic, exceed, onboarding, upgrade, feature_adoption or roi (default: from "
        "the other options: several --reached onboarding, --total roi, --nth N>1 exceed, "
        "else basic)",
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
    report.set_defaults(handler=cmd_report)

    import_ = commands.add_parser(
        "import",
        parents=[reading],
        help="import a file of events into a store (idempotent)",
        description="Stream a CSV, JSON lines or Parquet file into a store. Importing the "
        "same file again stores nothing twice (rows without an event_id get one derived "
        "from their content).",
    )
    import_.add_argument("file", metavar="FILE", help="the file of events")
    import_.add_argument(
        "store",
        metavar="STORE_URL",
        nargs="?",
        help="e.g. sqlite:///ttv.db; default: the configuration's 'store'",
    )
    import_.add_argument(
        "--batch-size",
        type=_args.positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"events per write (default {DEFAULT_BATCH_SIZE:,})",
    )
    import_.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help="the TOML configuration whose [columns] and [input] say how to read the file, "
        f"as for ttvkit report (default: ./{DEFAULT_CONFIG} if it exists)",
    )
    import_.set_defaults(handler=cmd_import)

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
    init.set_defaults(handler=cmd_init)

    check = commands.add_parser(
        "check",
        help="check that a store is intact: every event readable, the file sound",
        description="Read every event of a store and report the first problems: for "
        "SQLite, also PRAGMA integrity_check and the event-name table. Exit 0 with a "
        "summary when the store is intact, 2 with the first problems when it is not.",
    )
    check.add_argument("store", metavar="STORE_URL", help="e.g. sqlite:///ttv.db")
    check.set_defaults(handler=cmd_check)
    return parser


def _utf8_stdio() -> None:
    """Never fail on a character the terminal cannot show: reports hold arrows and Δ."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ttvkit`` command with *argv* (default: ``sys.argv[1:]``); return the exit code."""
    with _terminated_as_interrupted():
        try:
            return _main(argv)
        except KeyboardInterrupt:  # also while parsing, or while a command reports an error
            return interrupted()


@contextlib.contextmanager
def _terminated_as_interrupted() -> Iterator[None]:
    """SIGTERM (``timeout``, a CI job cancelled, ``kill``) stops a command as Ctrl-C does:
    its temporary files (the demo's database) are removed on the way out. The signal's
    default is restored after, so a process embedding :func:`main` keeps its own."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
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
        text = in_cli_words(error_text(exc))
        print(f"ttvkit: error: {one_line(text)}", file=sys.stderr)
        return EXIT_USAGE
    return result
