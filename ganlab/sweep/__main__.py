"""``python -m ganlab.sweep sweep ...`` / ``python -m ganlab.sweep figures ...``: the same commands
as ``ganlab sweep`` and ``ganlab figures`` (before or without the main CLI's wiring)."""

import sys

from .cli import main

sys.exit(main())
