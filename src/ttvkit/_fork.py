"""One at-fork registry for the whole package.

A process forked while another thread holds a lock, a connection or a queue
would inherit them half-used. Each module that keeps such state registers its
hooks here, at import; the registry asks :func:`os.register_at_fork` once and
runs the hooks in registration order (``before`` in reverse order, as
:func:`os.register_at_fork` itself does).
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ["at_fork"]

Hook = Callable[[], None]

_before: list[Hook] = []
_after_in_parent: list[Hook] = []
_after_in_child: list[Hook] = []


def at_fork(
    *,
    before: Hook | None = None,
    after_in_parent: Hook | None = None,
    after_in_child: Hook | None = None,
) -> None:
    """Run these hooks around every :func:`os.fork`, like :func:`os.register_at_fork`."""
    if before is not None:
        _before.append(before)
    if after_in_parent is not None:
        _after_in_parent.append(after_in_parent)
    if after_in_child is not None:
        _after_in_child.append(after_in_child)


def _run_before() -> None:
    for hook in reversed(_before):
        hook()


def _run_after_in_parent() -> None:
    for hook in _after_in_parent:
        hook()


def _run_after_in_child() -> None:
    for hook in _after_in_child:
        hook()


os.register_at_fork(
    before=_run_before,
    after_in_parent=_run_after_in_parent,
    after_in_child=_run_after_in_child,
)
