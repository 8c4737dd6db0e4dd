"""What the command says, and where: messages on stderr, progress, and the report's output.

Reports go to stdout (or ``--output``); progress, warnings and notes go to
stderr, one line each, control characters escaped (data may hold anything).
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final, TextIO

from ttvkit._format import escaped_for, one_line
from ttvkit.cli._exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from ttvkit.errors import ConfigurationError
from ttvkit.io.values import ZONE_ADVICE
from ttvkit.report import CHARTS_LEFT_OUT, Report, charts_left_out, render

__all__ = [
    "DEFAULT_CONFIG",
    "DOCS_URL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Progress",
    "SectionProgress",
    "check_output",
    "error_text",
    "in_cli_words",
    "note",
    "one_line",
    "plural",
    "to_stdout",
    "warn",
    "write_report",
    "write_stdout",
]

DOCS_URL = "https://ttvkit.github.io/ttvkit/"
"""Where the documentation is published (``mkdocs.yml``'s ``site_url``)."""
DEFAULT_CONFIG = "ttv.toml"
"""The configuration ``ttvkit report`` reads when ``--config`` is not given, if it exists."""
DEFAULT_BATCH_SIZE = 5_000
DEMO_USERS = 2_000
DEMO_BOOTSTRAP = 200


def error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


#: The readers' advice in Python words, and the same in the command line's options.
_IN_CLI_WORDS: Final = (
    ("pass timestamp_unit='ms'", "pass --timestamp-unit ms"),
    ("check timestamp_unit", "check --timestamp-unit"),
    ("or pass format=", "or pass --input-format"),
    (
        ZONE_ADVICE,
        "if all the file's times are in one zone, say which with --timezone (e.g. --timezone UTC)",
    ),
    (
        "Pass mapping=ColumnMapping(...) naming yours, e.g. "
        "ColumnMapping(user='distinct_id', name='event')",
        "Map yours with --columns, e.g. --columns user=distinct_id,name=event",
    ),
    ("or pass mapping=ColumnMapping(...)", "or map yours with --columns"),
    ("pass format= one of", "pass --input-format, one of"),
    ("; on_error='skip')", "; --on-error skip)"),
)
#: ``encoding='utf-16-le'`` in the readers' advice: ``--encoding utf-16-le``.
_ENCODING_ARGUMENT: Final = re.compile(r"\bencoding='([^']*)'")
#: ``delimiter=';'`` in the readers' advice: ``--delimiter ';'`` (a tab: ``--delimiter tab``).
_DELIMITER_ARGUMENT: Final = re.compile(
    r"\bdelimiter='(\\t|[^'])'(?: \(to read_csv, read_file or scan\))?"
)
#: ``read_file(path, format='posthog')`` in the readers' advice: ``--input-format posthog``.
_FORMAT_ARGUMENT: Final = re.compile(r"\bread_file\(path, format='([a-z]+)'\)|\bformat='([a-z]+)'")
#: A CSV cell of digits where a time should be (an epoch number, which CSV reads as
#: text unless told the unit).
_DIGITS_FOR_A_TIME: Final = re.compile(r"'-?\d+(\.\d+)?' is not an ISO-8601 timestamp")


def in_cli_words(text: str) -> str:
    """*text* (an error of ttvkit's Python API) with its advice in command-line options."""
    for python, cli in _IN_CLI_WORDS:
        text = text.replace(python, cli)
    text = _ENCODING_ARGUMENT.sub(r"--encoding \1", text)
    text = _FORMAT_ARGUMENT.sub(lambda m: f"--input-format {m[1] or m[2]}", text)
    text = _DELIMITER_ARGUMENT.sub(
        lambda m: "--delimiter tab" if m[1] == "\\t" else f"--delimiter '{m[1]}'", text
    )
    if _DIGITS_FOR_A_TIME.search(text):
        text += (
            "; a number of seconds (or ms, us) since the epoch needs --timestamp-unit s (ms, us)"
        )
    return text


def warn(message: str) -> None:
    print(f"ttvkit: warning: {one_line(message)}", file=sys.stderr)


def note(message: str) -> None:
    print(f"ttvkit: note: {one_line(message)}", file=sys.stderr)


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

    def _line(self, done: int, width: int | None = None) -> str:
        """The progress so far; within *width* columns (a terminal's), the bar narrows
        and then the label shortens before the figures are cut."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        if not self._total:
            return f"{self._label}: {done:,} {self._unit} ({done / elapsed:,.0f}/s)"
        share = min(done / self._total, 1.0)
        figures = f"{share:6.1%} {done:,}/{self._total:,} {self._unit}"
        room = _BAR if width is None else width - len(self._label) - len(figures) - 4
        if room >= _MIN_BAR:
            bar = min(room, _BAR)
            filled = round(share * bar)
            return f"{self._label} [{'#' * filled}{'.' * (bar - filled)}] {figures}"
        label_room = (width or 0) - len(figures) - 1  # the label, then a space
        if len(self._label) <= label_room:
            return f"{self._label} {figures}"
        if label_room >= _MIN_BAR:
            return f"{self._label[: label_room - 3]}... {figures}"
        return figures

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        self._write(self._line(done, _terminal_width() if self._tty else None))

    def finish(self, done: int, note: str = "") -> None:
        """The last line: where it ended, and how long it took (whole, even if it wraps:
        it is not redrawn)."""
        elapsed = time.monotonic() - self._started
        self._write(f"{self._line(done)} in {elapsed:.1f}s{note}", fit=False)
        if self._tty:
            self._stream.write("\n")
            self._drawn = False
        self._stream.flush()

    def _write(self, line: str, *, fit: bool = True) -> None:
        if self._tty:
            # A redrawn line must fit the terminal: "\r\x1b[K" clears one row, so a
            # wrapped line would leave its first rows behind at every redraw.
            self._stream.write("\r\x1b[K" + (fitted(line) if fit else line))
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()


class SectionProgress:
    """Which section is being computed, on one redrawn line of a terminal's stderr.

    Off when stderr is not a terminal (a log, a pipe, CI): nothing is written.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty()
        self._drawn = False

    def __enter__(self) -> SectionProgress:
        return self

    def __call__(self, heading: str) -> None:
        if self._tty:
            self._stream.write("\r\x1b[K" + fitted("ttvkit: computing " + one_line(heading)))
            self._stream.flush()
            self._drawn = True

    def __exit__(self, *exc_info: object) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")  # the report, or a message, starts on a clean line
            self._stream.flush()


#: The progress bar's cells, and the fewest worth drawing on a narrow terminal.
_BAR: Final = 24
_MIN_BAR: Final = 6


def _terminal_width() -> int:
    """The terminal's width, less one column (where some terminals wrap)."""
    return shutil.get_terminal_size(fallback=(80, 24)).columns - 1


def fitted(line: str) -> str:
    """*line* cut to the terminal's width (less one column, where some terminals wrap)."""
    width = _terminal_width()
    return line if len(line) <= width else line[: max(width - 3, 0)] + "..."


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def to_stdout(output: str | None) -> bool:
    return not output or output == "-"


def check_output(output: str | None, inputs: Iterable[tuple[str, str]]) -> None:
    """Refuse to write the report over a file it reads (*inputs* are (what, path) pairs),
    or to a closed stdout."""
    if output is not None and not output.strip():
        raise ConfigurationError(
            f"--output {output!r} names no file: pass a file name, or - (or no --output) for stdout"
        )
    if to_stdout(output):
        _stdout()  # closed: say so before the work, not after
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


def _stdout() -> TextIO:
    """sys.stdout, or an error when it is closed (``>&-``), as for a full disk."""
    if sys.stdout is None:
        raise OSError(
            errno.EBADF, "closed (>&-): nothing can be written there; pass --output FILE", "stdout"
        )
    return sys.stdout


def write_stdout(text: str) -> None:
    """Write *text* to stdout and flush it."""
    stream = _stdout()
    stream.write(text)
    stream.flush()


def _ascii_json(text: str) -> str:
    """JSON *text* as stdout can encode it: JSON's escapes (``\\u00e9``) where it cannot.

    Outside its strings JSON is ASCII, so escaping every non-ASCII character
    keeps the same value and layout; Python's ``\\xe9`` would not be JSON.
    """
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return _NON_ASCII.sub(_json_escape, text)
    return text


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    if code > 0xFFFF:  # a surrogate pair, as JSON writes characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _stdout_lacks(text: str) -> str | None:
    """The encoding of stdout when it cannot encode *text* (it then writes escapes), or None."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return encoding
    except LookupError:
        return None
    return None


def write_report(report: Report, args: argparse.Namespace) -> None:
    text = render(report, args.format)
    if args.format == "text" and to_stdout(args.output):
        lacking = _stdout_lacks(text)
        if lacking is not None:
            # Laid out again with each escape's width (stdout writes "\u0394" for "Δ").
            with escaped_for(lacking):
                text = render(report, args.format)
    for section in report.skipped:
        warn(f"{section.heading}: {section.result}")
    if args.format == "html" and charts_left_out(report):
        warn(CHARTS_LEFT_OUT)
    if to_stdout(args.output):
        write_stdout(_ascii_json(text) if args.format == "json" else text)
        return
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        if exc.filename is None:  # a failed write (a full disk) does not name the file
            exc.filename = args.output
        raise
