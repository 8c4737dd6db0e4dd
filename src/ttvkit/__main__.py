"""``python -m ttvkit``: the ``ttvkit`` command (see :mod:`ttvkit.cli`)."""

import sys

from ttvkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
