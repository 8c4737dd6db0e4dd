"""The command's exit codes, and what it says when interrupted.

Imported by :func:`ttvkit.cli.main` before anything else of the command, so a
Ctrl-C while the rest is still importing is reported as any other.
"""

from __future__ import annotations

import sys

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "interrupted"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def interrupted() -> int:
    """Say the command was interrupted (Ctrl-C, SIGTERM); return :data:`EXIT_INTERRUPTED`."""
    print("ttvkit: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED
