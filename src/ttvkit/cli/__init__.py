"""The ``ttvkit`` command: ``demo``, ``report``, ``init``, ``import`` and ``check``.

``main(argv)`` parses the arguments, runs one command and returns the exit
code: 0 on success, 2 for a user error (a missing file, a bad store URL, a bad
configuration, an unknown milestone, a bad option, data that cannot answer the
question), printed as one line ``ttvkit: error: ...`` on stderr without a
traceback, 130 when interrupted. Anything else is a bug and keeps its
traceback. Reports go to stdout (or ``--output``); progress, warnings and
errors go to stderr. See ``docs/cli.md``.

The package's modules, one job each:

* ``_main`` — the argument parser and :func:`main`;
* ``_args`` — the types of the options (a bad value is a usage error);
* ``_output`` — messages on stderr, progress, writing the report;
* ``_files`` — reading a source: a file's format and columns, the reader or
  the DuckDB scan, store URLs, loading events into a store in batches;
* ``_demo``, ``_report``, ``_init``, ``_stores`` — the commands: ``demo``;
  ``report``; ``init``; ``import`` and ``check``.

The content id that ``import`` and ``report`` give rows without an
``event_id`` is :func:`ttvkit._ids.content_id`, exported here as before.
"""

from __future__ import annotations

import typing as _typing

from ttvkit._lazy import lazy_names as _lazy_names
from ttvkit.cli._exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from ttvkit.cli._exits import interrupted as _interrupted

if _typing.TYPE_CHECKING:
    from collections.abc import Sequence

    from ttvkit._ids import content_id
    from ttvkit.cli._demo import DEMO_BOOTSTRAP, DEMO_USERS, demo_config, demo_config_text
    from ttvkit.cli._output import DEFAULT_CONFIG, DOCS_URL, Progress
    from ttvkit.cli._stores import DEFAULT_BATCH_SIZE

#: Where each public name but :func:`main` and the exit codes lives, imported on
#: first use (``ttvkit._lazy``); the ``TYPE_CHECKING`` imports say the same.
_LAZY: _typing.Final = {
    "content_id": "ttvkit._ids",
    **dict.fromkeys(
        ["DEMO_BOOTSTRAP", "DEMO_USERS", "demo_config", "demo_config_text"], "ttvkit.cli._demo"
    ),
    **dict.fromkeys(["DEFAULT_CONFIG", "DOCS_URL", "Progress"], "ttvkit.cli._output"),
    "DEFAULT_BATCH_SIZE": "ttvkit.cli._stores",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ttvkit`` command with *argv* (default: ``sys.argv[1:]``); return the exit code.

    The command's modules are imported here, so a Ctrl-C in the half second
    that takes ends as any other (``ttvkit: interrupted``, exit 130) instead
    of with a traceback from the middle of an import.
    """
    try:
        from ttvkit.cli._main import main as run
    except KeyboardInterrupt:
        return _interrupted()
    return run(argv)


if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_names(__name__, _LAZY, globals())

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONFIG",
    "DEMO_BOOTSTRAP",
    "DEMO_USERS",
    "DOCS_URL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Progress",
    "content_id",
    "demo_config",
    "demo_config_text",
    "main",
]
