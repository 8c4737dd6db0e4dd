"""Words and numbers shared by milestones, results and every renderer.

The wording of a result (``not reached``, ``unbounded``, ``n/a beyond
follow-up``, signed differences, group labels) lives here once, so ``str()``,
HTML, plots and reports cannot drift apart. :class:`Table` is the rows a
result shows; the text and HTML renderers lay the same rows out.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Final

import attrs

__all__ = [
    "BEYOND_FOLLOW_UP",
    "NOT_REACHED",
    "UNBOUNDED",
    "Table",
    "ci_name",
    "ci_text",
    "display_width",
    "duration_ci",
    "escaped_for",
    "finite_or_none",
    "format_duration",
    "format_p",
    "format_share",
    "html_text",
    "label_text",
    "median_text",
    "one_line",
    "plural",
    "seconds_or_none",
    "share_ci",
    "shown",
    "shown_in_line",
    "signed_duration",
    "signed_share",
    "text_table",
    "timedelta_or_none",
    "within_text",
]


def format_duration(value: timedelta | None) -> str:
    """A short human form: ``5µs``, ``0.25s``, ``45s``, ``12m 5s``, ``3h``, ``3h 20m``, ``7d``.

    Two units at most, the second left out when it is zero; ``None`` is ``never``.
    A negative duration gets a leading minus sign.
    """
    if value is None:
        return "never"
    seconds = value.total_seconds()
    if seconds < 0:
        return "-" + format_duration(-value)
    if 0 < seconds < 0.001:  # .3g would write 5e-06s
        return f"{seconds * 1e6:.3g}µs"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return _two(minutes, "m", sec, "s")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _two(hours, "h", minutes, "m")
    days, hours = divmod(hours, 24)
    return _two(days, "d", hours, "h")


def _two(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit} {small}{small_unit}"


def format_share(value: float | None) -> str:
    """A share as a percentage with one decimal; ``None`` is ``-``."""
    return "-" if value is None else f"{value:.1%}"


def format_score(value: float) -> str:
    """A mean score: two decimals (``4.25``), or three significant digits where two
    decimals would run to dozens of digits (``1.7e+308``)."""
    return f"{value:.2f}" if abs(value) < 1e9 else f"{value:.3g}"


def format_p(value: float) -> str:
    """A p-value the way papers print it."""
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def text_table(
    headers: list[str], rows: list[list[str]], indent: str = "  ", *, left: int = 1
) -> str:
    """A plain aligned text table: the first *left* columns left-aligned, the rest right.

    Every cell is data: it is :func:`shown_in_line` before the columns are
    measured (in terminal cells, :func:`display_width`), so a newline in a
    name cannot add a row and an escape or a wide character cannot push a
    cell out of its column.
    """
    table = [[shown_in_line(c) for c in r] for r in [headers, *rows]]
    widths = [max(display_width(r[i]) for r in table) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [
            padded(c, w, left=i < left) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return indent + "  ".join(parts).rstrip()

    return "\n".join(line(r) for r in table)


@attrs.frozen
class Table:
    """The rows a result shows, in the words both ``str()`` and the HTML use."""

    headers: list[str]
    rows: list[list[str]]
    strong: list[bool] | None = None
    """Rows shown in bold in HTML (the reference group, significant levers)."""

    def text(self) -> str:
        """The rows as an aligned text table (what ``str()`` prints)."""
        return text_table(self.headers, self.rows)


# --------------------------------------------------------------------------- result wording

# Every renderer (str(), HTML, plots, the report's overview) says these the
# same way; a second spelling is how "never" and "not reached" once drifted.
NOT_REACHED = "not reached"
"""A median or percentile the curve does not (yet) get to."""
UNBOUNDED = "unbounded"
"""The open upper end of a confidence interval."""
BEYOND_FOLLOW_UP = "n/a beyond follow-up"
"""A share within a horizon longer than anyone was watched: unknown, not carried forward."""


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 customer``, ``2 customers``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def median_text(value: timedelta | None) -> str:
    """A median or percentile: its duration, or ``not reached``."""
    return NOT_REACHED if value is None else format_duration(value)


def ci_text(bounds: tuple[timedelta | None, timedelta | None]) -> str:
    """A median's confidence interval: ``2h to 5h``, ``1h to unbounded``."""
    lo, hi = bounds
    return f"{median_text(lo)} to {UNBOUNDED if hi is None else format_duration(hi)}"


def within_text(share: float | None) -> str:
    """A share reached within a horizon, or ``n/a beyond follow-up``."""
    return BEYOND_FOLLOW_UP if share is None else format_share(share)


def signed_duration(value: timedelta | None) -> str:
    """A difference of durations with its sign: ``+2h``, ``-30m``; ``-`` when unknown."""
    if value is None:
        return "-"
    sign = "-" if value < timedelta(0) else "+"
    return sign + format_duration(abs(value))


def signed_share(value: float | None) -> str:
    """A difference of shares in percentage points: ``+12.5 pts``."""
    return "-" if value is None else f"{value * 100:+.1f} pts"


def share_ci(ci: tuple[float, float] | None) -> str:
    """The CI of a share difference in points: ``+2.0 to +20.1``."""
    return "-" if ci is None else f"{ci[0] * 100:+.1f} to {ci[1] * 100:+.1f}"


def duration_ci(ci: tuple[timedelta | None, timedelta | None] | None) -> str:
    """The CI of a duration difference: ``-2h to +unbounded``."""
    if ci is None:
        return "-"
    lo, hi = ci
    low = f"-{UNBOUNDED}" if lo is None else signed_duration(lo)
    return f"{low} to {f'+{UNBOUNDED}' if hi is None else signed_duration(hi)}"


def ci_name(alpha: float) -> str:
    """``95% CI`` for alpha 0.05."""
    return f"{1 - alpha:.0%} CI"


def label_text(label: object) -> str:
    """A group label as words: ``(missing)`` for None, ``yes``/``no`` for booleans."""
    if label is None:
        return "(missing)"
    if isinstance(label, bool):
        return "yes" if label else "no"
    return str(label)


def labels_text(labels: Sequence[object]) -> list[str]:
    """:func:`label_text` of each label; where two would read alike (``True`` and
    ``"yes"``, ``None`` and ``"(missing)"``, ``1`` and ``"1"``), those are written
    as JSON instead (``true``, ``"yes"``, ``null``, ``"(missing)"``, ``1``, ``"1"``)."""
    words = [label_text(label) for label in labels]
    alike = {w for w, n in Counter(words).items() if n > 1}
    return [
        json.dumps(label, ensure_ascii=False) if w in alike else w
        for label, w in zip(labels, words, strict=True)
    ]


# --------------------------------------------------------------------------- numbers


def finite_or_none(seconds: float) -> float | None:
    """*seconds*, or ``None`` for an infinite time (JSON has no infinity)."""
    return None if math.isinf(seconds) else seconds


def seconds_or_none(value: timedelta | None) -> float | None:
    """*value* in seconds, ``None`` staying ``None`` (``to_dict()``'s ``_seconds`` keys)."""
    return None if value is None else value.total_seconds()


def timedelta_or_none(seconds: float) -> timedelta | None:
    """Float seconds as a timedelta; an infinite time (never reached) is ``None``."""
    return None if math.isinf(seconds) else timedelta(seconds=seconds)


# --- data shown to people ------------------------------------------------------------

# Control characters (but newline and tab), the bidirectional controls that
# reorder what a terminal or browser shows (data must not steer either), and
# the invisible format characters (zero-width spaces and joiners, soft hyphen,
# byte-order mark) that make two different names look the same.
_UNSAFE_CHARACTERS: Final = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
)
_UNSAFE: Final = re.compile(f"[{_UNSAFE_CHARACTERS}]")
# The same, with newline, tab and the Unicode line and paragraph separators: a
# value placed on a line (a table cell, a name in a heading) must neither start
# a line nor jump to a tab stop.
_UNSAFE_IN_A_LINE: Final = re.compile(rf"[\t\n\u2028\u2029{_UNSAFE_CHARACTERS}]")


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def shown(text: str) -> str:
    """*text* with control characters and bidi overrides shown as escapes, e.g. ``\\x1b``.

    The one rule for data (names, ids, values, messages quoting them) written to
    a terminal, a report or a page. Newlines and tabs are kept, for text laid out
    already; a value going into a layout is :func:`shown_in_line` instead.
    """
    return _UNSAFE.sub(_escape, text)


def shown_in_line(text: str) -> str:
    """:func:`shown` *text* with newlines and tabs shown as escapes too (``\\n``, ``\\t``,
    and ``\\u2028``, ``\\u2029``).

    For a value placed in a layout (a table cell, a heading, a line of a
    summary): it stays on its line and in its column, so data cannot forge a
    heading or a table row. Apply it to each value before measuring columns.
    """
    return _UNSAFE_IN_A_LINE.sub(_escape, text)


#: The encoding of the stream text is being laid out for, when that stream writes
#: the characters it cannot encode as backslash escapes (see :func:`escaped_for`).
_ESCAPED_BY: ContextVar[str | None] = ContextVar("ttvkit_escaped_by", default=None)


@contextlib.contextmanager
def escaped_for(encoding: str | None) -> Iterator[None]:
    """Lay text out, within the block, for a stream in *encoding* whose
    ``errors="backslashreplace"`` writes ``Δ`` as ``\\u0394``.

    :func:`display_width` then counts such a character as the escape's
    columns, so tables and underlines stay aligned once the stream has
    escaped them. ``None`` (or an encoding that encodes everything) changes
    nothing.
    """
    token = _ESCAPED_BY.set(encoding)
    try:
        yield
    finally:
        _ESCAPED_BY.reset(token)


@functools.lru_cache(maxsize=4096)
def _cells(character: str, encoding: str | None) -> int:
    if encoding is not None:
        try:
            character.encode(encoding)
        except UnicodeEncodeError:
            return len(character.encode(encoding, "backslashreplace").decode(encoding))
    if unicodedata.combining(character):
        return 0
    return 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1


def display_width(text: str) -> int:
    """The columns *text* takes in a terminal: wide (East Asian) characters take
    two, combining marks none; within :func:`escaped_for`, a character the
    stream cannot encode takes its escape's."""
    encoding = _ESCAPED_BY.get()
    return sum(_cells(c, encoding) for c in text)


def padded(text: str, width: int, *, left: bool = True) -> str:
    """*text* padded with spaces to *width* terminal cells (:func:`display_width`),
    on the right (*left*-aligned) or on the left."""
    space = " " * (width - display_width(text))
    return text + space if left else space + text


#: A line break (newline, or a Unicode line or paragraph separator) with the tabs
#: and spaces around it: what :func:`one_line` folds into one space.
_LINE_BREAK: Final = re.compile(r"[ \t]*[\n\u2028\u2029][\s]*")


def one_line(text: str) -> str:
    """:func:`shown` *text* on one line: each line break, with the white space
    around it, becomes one space, and tabs become spaces.

    Spaces within a line are kept, so a quoted value keeps its own (a user id
    of three spaces is shown as three, not one).
    """
    return _LINE_BREAK.sub(" ", shown(text)).replace("\t", " ").strip()


def html_in_line(text: str) -> str:
    """:func:`shown_in_line` *text*, HTML-escaped: for a heading, a title or a table
    cell, where a browser would fold a tab or a newline into a space."""
    return html.escape(shown_in_line(text), quote=True)


def html_text(text: str) -> str:
    """:func:`shown` *text*, HTML-escaped (quotes too)."""
    return html.escape(shown(text), quote=True)
