"""Small text helpers shared by milestones and results."""

from __future__ import annotations

from datetime import timedelta

__all__ = ["format_duration", "format_p", "format_share", "text_table"]


def format_duration(value: timedelta | None) -> str:
    """A short human form: ``45s``, ``12m 5s``, ``3h``, ``3h 20m``, ``7d``, ``4d 6h``.

    Two units at most, the second left out when it is zero; ``None`` is ``never``.
    A negative duration gets a leading minus sign.
    """
    if value is None:
        return "never"
    seconds = value.total_seconds()
    if seconds < 0:
        return "-" + format_duration(-value)
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


def format_p(value: float) -> str:
    """A p-value the way papers print it."""
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def text_table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    """A plain aligned text table: first column left-aligned, the rest right-aligned."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        parts = [cells[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)
        ]
        return indent + "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])
