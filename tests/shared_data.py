"""Where the tests find the lab's shared data; package code never searches the file system.

MNIST's test split: ``$GANLAB_MNIST_DIR`` when it is set, else ``shared/data/mnist`` in each
ancestor of the checkout, nearest first (the main checkout's ``../shared/data/mnist``; a git
worktree one level deeper finds the same folder one level up). ``tests/conftest.py`` sets
``$GANLAB_MNIST_DIR`` to what it finds, so runs under test (and their subprocesses) get it the way
a user's would.
"""

import os
from pathlib import Path

from ganlab.data.mnist import ENV_VAR, has_split

ROOT = Path(__file__).resolve().parents[1]


def mnist_candidates() -> list[Path]:
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(env)]
    return [a / "shared" / "data" / "mnist" for a in ROOT.parents]


def shared_mnist_dir() -> Path | None:
    """The first candidate that holds the test split, or None (tests that need it skip, naming where
    they looked)."""
    return next((p for p in mnist_candidates() if has_split(p, "test")), None)


def not_found() -> str:
    return ("MNIST test split not found; looked in " + ", ".join(map(str, mnist_candidates()))
            + f" (set {ENV_VAR} to a folder holding t10k-*-ubyte.gz)")
