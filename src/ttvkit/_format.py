"""Small text helpers shared by milestones and results."""

from __future__ import annotations

from datetime import timedelta

__all__ = ["format_duration"]


def format_duration(value: timedelta | None) -> str:
    """A short human form: ``45s``, ``12m 5s``, ``3h 20m``, ``4d 6h``; ``None`` is ``never``."""
    if value is None:
        return "never"
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
