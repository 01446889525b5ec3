"""``ganlab sweep run|merge``: the parser the main CLI adds with ``add_sweep_parser``.

    ganlab sweep run CONFIG --out DIR [--shard I/N] [--steps N] [--threads N]   run a sweep (or shard I of N)
    ganlab sweep run CONFIG --out DIR --dry-run                 list the cells and their shards
    ganlab sweep merge DIR                                      merge the cells into DIR/table.*

``ganlab sweep CONFIG ...`` (before the sub-commands) still runs a sweep, saying the new spelling
in one line (``legacy_argv``).

Exit status (``ganlab.command_line``'s table): 0 done (merge: the table is complete); 1 a cell of
this shard failed (e.g. its folder is in use); 2 bad input, one line naming it, before any work; 4 merge of an
incomplete sweep (the table is written, marked INCOMPLETE, and the missing, unfinished or damaged
cells are listed, one line each); 5 the machine failed (disk full, out of memory, ...); 130
interrupted (the current cell checkpointed; run the same command again to resume).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..command_line import (EXIT_CELL_FAILED, EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_MACHINE,
                            boolean_flag, error_exit)

DEFAULT_THREADS = 1  # one per shard: 2 one-thread processes beat 1 two-thread one here (docs/results/speed.md)


# -- sweep ---------------------------------------------------------------------------------------------------
SUBCOMMANDS = ("run", "merge")


def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    s = subparsers.add_parser(
        "sweep", help="run a sweep from a TOML file (or one shard of it), or merge one into a table",
        description="`ganlab sweep run CONFIG --out DIR` runs the cells of a sweep (targets × methods, every seed "
                    "of a cell in one batched run); `ganlab sweep merge DIR` merges a sweep folder's cells into "
                    "table.md/.csv/.json. Shards never talk to each other: run `--shard 1/3`, `--shard 2/3`, "
                    "`--shard 3/3` anywhere that sees DIR (GNU parallel, a job array), then merge.")
    sub = s.add_subparsers(dest="sweep_command", required=True, metavar="{run,merge}")
    r = sub.add_parser("run", help="run a sweep's cells (or one shard of them); a rerun resumes",
                       description="Run the cells of a sweep from its TOML file, or shard I of N of them.")
    r.add_argument("config", metavar="CONFIG", help="the sweep's TOML file")
    r.add_argument("--out", metavar="DIR", help="the sweep folder (created on first use; a rerun resumes it)")
    r.add_argument("--shard", metavar="I/N", default="1/1",
                   help="run only cells whose 0-based index k has k mod N = I − 1; I is 1-based, as job-array task "
                        "ids (default 1/1: every cell)")
    r.add_argument("--steps", type=int, metavar="N",
                   help="every cell's budget, in place of the file's steps: stop a sweep early and raise it later "
                        "(a rerun with more steps extends every cell from its checkpoints; default: the file's)")
    r.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"torch threads of this process (default {DEFAULT_THREADS}: run one shard per core)")
    r.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<index> (default cpu)")
    boolean_flag(r, "--compile", default=False,
                 help="torch.compile the networks and the random streams, as `ganlab train --compile` (default off)")
    r.add_argument("--checkpoint-every", type=int, default=1000, metavar="STEPS",
                   help="steps between a cell's checkpoints (default 1000)")
    boolean_flag(r, "--progress", default=None, help="progress bars (default: on a terminal)")
    r.add_argument("--dry-run", action="store_true", help="check the config and list the cells and their shards; "
                                                          "write nothing")
    r.set_defaults(func=run_command)
    m = sub.add_parser("merge", help="merge a sweep folder's cells into DIR/table.md, .csv and .json",
                       description="Merge the finished cells of a sweep folder into one table (mean ± s.e. over "
                                   "seeds beside the published numbers); an incomplete table is written, marked "
                                   "INCOMPLETE, and exits 4.")
    m.add_argument("dir", metavar="DIR", help="the sweep folder")
    m.set_defaults(func=lambda args: merge_command(args.dir))
    return s


def legacy_argv(argv: list[str]) -> list[str]:
    """``ganlab sweep CONFIG ...`` (the spelling before the sub-commands) as ``ganlab sweep run
    CONFIG ...``, with one line saying so; any other argv unchanged."""
    i = next((k for k, a in enumerate(argv) if not a.startswith("-")), None)
    if i is None or argv[i] != "sweep" or i + 1 >= len(argv):
        return argv
    if argv[i + 1] in (*SUBCOMMANDS, "-h", "--help"):
        return argv
    print("note: `ganlab sweep CONFIG` is spelled `ganlab sweep run CONFIG` now", file=sys.stderr)
    return [*argv[:i + 1], "run", *argv[i + 1:]]


def run_command(args: argparse.Namespace) -> int:
    from ..training import runs
    from ..training.config import Runtime
    from .execute import run_shard
    from .folder import SweepFolderError
    from .spec import Shard, SweepSpec

    try:
        if args.out is None and not args.dry_run:
            raise ValueError("give the sweep folder with --out DIR")
        shard = Shard.parse(args.shard)
        spec = SweepSpec.from_toml(args.config)
        if args.steps is not None:
            spec = spec.with_steps(args.steps)
        progress = sys.stderr.isatty() if args.progress is None else args.progress
        runtime = Runtime(device=args.device, dtype=spec.dtype, threads=args.threads, compile=args.compile,
                          progress=progress, checkpoint_every=args.checkpoint_every)
        if args.dry_run:
            _print_cells(spec, shard)
            return 0
        t0 = time.perf_counter()
        result = run_shard(spec, args.out, shard, runtime, command=sys.argv, config_text=Path(args.config).read_text(),
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    except (ValueError, SweepFolderError, OSError, MemoryError) as e:
        return error_exit(e)
    except runs.MachineFailed as e:
        print(f"error: {e}; or rerun the same sweep command (shard {args.shard})", file=sys.stderr)
        return EXIT_MACHINE
    except runs.Interrupted as e:
        print(str(e).split(";")[0] + f"; rerun the same command to resume (shard {args.shard})", file=sys.stderr)
        return EXIT_INTERRUPTED
    wall = time.perf_counter() - t0
    print(f"shard {shard}: {len(result.trained)} trained, {len(result.skipped)} already done, "
          f"{len(result.diverged)} all diverged, {len(result.failed)} failed, in {wall:.1f} s", file=sys.stderr)
    for cid, why in result.failed.items():
        print(f"  failed: {cid}: {why}", file=sys.stderr)
    if not result.ok:
        return EXIT_CELL_FAILED
    if shard.n == 1:
        return merge_command(args.out)
    print(f"when every shard is done: ganlab sweep merge {args.out}", file=sys.stderr)
    return 0


def _print_cells(spec, shard) -> None:
    cells = spec.cells()
    print(f"{spec.name}: {len(cells)} cells, {len(spec.seeds)} seeds each")
    for c in cells:
        mark = "*" if shard.owns(c.index) else " "
        owner = next(i for i in range(1, shard.n + 1) if (c.index % shard.n) == i - 1)
        print(f"{mark} {c.index:3d}  shard {owner}/{shard.n}  {c.id:45s} {c.config.n_members:4d} members  "
              f"{c.record()['budget']['text']}")


def merge_command(path: str) -> int:
    from .folder import SweepFolderError
    from .table import markdown, merge, missing_lines

    try:
        table = merge(path)
    except (SweepFolderError, OSError, ValueError) as e:
        return error_exit(e)
    print(markdown(table))
    print(f"wrote {path}/table.md, table.csv, table.json", file=sys.stderr)
    if not table.complete:
        print(f"INCOMPLETE: {len(table.missing)} of {table.cells_total} cells missing or unfinished:", file=sys.stderr)
        for line in missing_lines(table):
            print(line, file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0
