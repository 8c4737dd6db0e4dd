"""Pausing the cyclic garbage collector while many short-lived objects are made."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused_gc"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of row tuples are taken apart.

    Those tuples hold no cycles, but each allocation counts towards the next
    collection, which walks them all: transposing a million rows took three
    times as long with the collector on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
