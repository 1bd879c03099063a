"""``python -m memmapref check ...``: the same as the ``memmapref`` command."""

import sys

from .cli import main

sys.exit(main())
