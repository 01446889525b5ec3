"""Sweeps: methods × hyperparameters × seeds × targets at one budget, from a TOML file, run in
shards that never talk to each other and merged into one table beside published results.

    spec.py       the TOML format (``SweepSpec``), cells and shards
    folder.py     the sweep folder: sweep.json (spec, cells, fingerprint), cells/, shards/
    execute.py    running one shard's cells (start, resume or skip each)
    table.py      the merge: one row per (target, method, grid point), mean ± s.e. with n
    published.py  published results as data, and the rule that flags ours outside their error bars
    cli.py        ``ganlab sweep run|merge`` (the figures of a sweep or a run are ``ganlab.plots``)
"""

from ..command_line import EXIT_INCOMPLETE  # noqa: E402,F401  (a merge (or benchmark) whose table is not complete)
