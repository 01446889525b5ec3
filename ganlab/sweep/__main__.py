"""``python -m ganlab.sweep run|merge ...``: ``ganlab sweep run|merge ...`` (an entry point, above
every layer like ``ganlab.cli``; ``python -m ganlab.sweep sweep ...`` is accepted too)."""

import sys

from ..cli import main

argv = sys.argv[1:]
sys.exit(main(argv if argv[:1] == ["sweep"] else ["sweep", *argv]))
