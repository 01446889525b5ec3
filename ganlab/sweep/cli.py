"""``ganlab sweep`` and ``ganlab figures``: parsers the main CLI adds with ``add_sweep_parser`` and
``add_figures_parser``; ``python -m ganlab.sweep`` runs them on their own.

    ganlab sweep CONFIG --out DIR [--shard I/N] [--steps N] [--threads N]   run a sweep (or shard I of N)
    ganlab sweep CONFIG --out DIR --dry-run                     list the cells and their shards
    ganlab sweep merge DIR                                      merge the cells into DIR/table.*
    ganlab figures RUN_OR_SWEEP_DIR [--out FIGDIR]              draw the figures

Exit status (``ganlab.cli``'s table): 0 done (merge: the table is complete); 1 a cell of this shard
failed (e.g. its folder is in use); 2 bad input, one line naming it, before any work; 4 merge of an
incomplete sweep (the table is written, marked INCOMPLETE, and the missing, unfinished or damaged
cells are listed, one line each); 5 the machine failed (disk full, out of memory, ...); 130
interrupted (the current cell checkpointed; run the same command again to resume).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..cli import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_MACHINE, dispatch
from ..cli import EXIT_CLAIM_FAILED as EXIT_CELL_FAILED  # (1: something this command ran failed)

DEFAULT_THREADS = 1  # one per shard: 2 one-thread processes beat 1 two-thread one here (measured-performance.md)


def _err(text: Any) -> int:
    """One line, always; a full disk or a lack of memory is the machine's failure, not bad input."""
    print(f"error: {' '.join(str(text).split())}", file=sys.stderr)
    if isinstance(text, MemoryError):
        return EXIT_MACHINE
    if isinstance(text, OSError):
        from ..validation import MACHINE_ERRNOS

        return EXIT_MACHINE if text.errno in MACHINE_ERRNOS else EXIT_BAD_INPUT
    return EXIT_BAD_INPUT


# -- sweep -----------------------------------------------------------------------------------------------------
def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    s = subparsers.add_parser(
        "sweep", help="run a sweep from a TOML file (or one shard of it), or merge one into a table",
        description="Run the cells of a sweep (targets × methods, every seed of a cell in one batched run), "
                    "or `ganlab sweep merge DIR` to merge a sweep folder's cells into table.md/.csv/.json. "
                    "Shards never talk to each other: run `--shard 1/3`, `--shard 2/3`, `--shard 3/3` anywhere "
                    "that sees DIR (GNU parallel, a job array), then merge.")
    s.add_argument("config", metavar="CONFIG|merge", help="the sweep's TOML file, or the word merge")
    s.add_argument("dir", nargs="?", metavar="DIR", help="(merge only) the sweep folder")
    s.add_argument("--out", metavar="DIR", help="the sweep folder (created on first use; a rerun resumes it)")
    s.add_argument("--shard", metavar="I/N", default="1/1",
                   help="run only cells whose 0-based index k has k mod N = I − 1; I is 1-based, as job-array task "
                        "ids (default 1/1: every cell)")
    s.add_argument("--steps", type=int, metavar="N",
                   help="every cell's budget, in place of the file's steps: stop a sweep early and raise it later "
                        "(a rerun with more steps extends every cell from its checkpoints; default: the file's)")
    s.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"torch threads of this process (default {DEFAULT_THREADS}: run one shard per core)")
    s.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<index> (default cpu)")
    s.add_argument("--compile", choices=("true", "false"), default="false",
                   help="torch.compile the networks and the random streams, as `ganlab train --compile` (default false)")
    s.add_argument("--checkpoint-every", type=int, default=1000, metavar="STEPS",
                   help="steps between a cell's checkpoints (default 1000)")
    s.add_argument("--no-progress", action="store_true", help="no progress bars (default: bars on a terminal)")
    s.add_argument("--dry-run", action="store_true", help="check the config and list the cells and their shards; "
                                                          "write nothing")
    s.set_defaults(func=sweep_command)
    return s


def sweep_command(args: argparse.Namespace) -> int:
    if args.config == "merge":
        if args.dir is None:
            return _err("sweep merge needs the sweep folder: ganlab sweep merge DIR")
        given = [f for f, v in (("--out", args.out), ("--shard", args.shard != "1/1"), ("--steps", args.steps is not None),
                                ("--dry-run", args.dry_run)) if v]
        if given:
            return _err(f"sweep merge takes only DIR; {given[0]} applies to running a sweep")
        return merge_command(args.dir)
    if args.dir is not None:
        return _err(f"unexpected argument {args.dir!r}: run a sweep with `ganlab sweep CONFIG --out DIR`, merge it "
                    "with `ganlab sweep merge DIR`")
    return run_command(args)


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
        runtime = Runtime(device=args.device, dtype=spec.dtype, threads=args.threads, compile=args.compile == "true",
                          progress=not args.no_progress and sys.stderr.isatty(), checkpoint_every=args.checkpoint_every)
        if args.dry_run:
            _print_cells(spec, shard)
            return 0
        t0 = time.perf_counter()
        result = run_shard(spec, args.out, shard, runtime, command=sys.argv, config_text=Path(args.config).read_text(),
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    except (ValueError, SweepFolderError, OSError, MemoryError) as e:
        return _err(e)
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
        return _err(e)
    print(markdown(table))
    print(f"wrote {path}/table.md, table.csv, table.json", file=sys.stderr)
    if not table.complete:
        print(f"INCOMPLETE: {len(table.missing)} of {table.cells_total} cells missing or unfinished:", file=sys.stderr)
        for line in missing_lines(table):
            print(line, file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


# -- figures ---------------------------------------------------------------------------------------------------
def add_figures_parser(subparsers) -> argparse.ArgumentParser:
    f = subparsers.add_parser(
        "figures", help="draw the figures of a sweep or run folder (PNG, PDF, and an animated GIF)",
        description="Final samples over the target density, modes captured and high-quality share per method "
                    "(published values marked), metrics against the step, and snapshots and an animated GIF of "
                    "one run, replayed from its config (one member retrained alone; checked against its final "
                    "samples).")
    f.add_argument("path", metavar="RUN_OR_SWEEP_DIR")
    f.add_argument("--out", metavar="DIR", help="where the figures go (default RUN_OR_SWEEP_DIR/figures)")
    f.add_argument("--cell", help="the sweep cell to replay (a folder name under cells/; default the first)")
    f.add_argument("--seed", type=int, help="the seed to replay (default the run's first)")
    f.add_argument("--frames", type=int, default=24, help="frames of the GIF (default 24)")
    f.add_argument("--until", type=int, metavar="STEP", help="replay only up to STEP (long runs; default all)")
    f.add_argument("--no-replay", action="store_true", help="skip the snapshots and the GIF (no retraining)")
    f.set_defaults(func=figures_command)
    return f


def figures_command(args: argparse.Namespace) -> int:
    import torch

    from ..training.rundir import RunFolderError
    from ..validation import check_output_folder
    from .figures import FigureError, make_figures
    from .folder import SweepFolderError

    torch.set_num_threads(1)
    try:
        if args.out is not None or Path(args.path).is_dir():  # before anything is loaded or retrained
            check_output_folder(args.out if args.out is not None else str(Path(args.path) / "figures"), "--out")
        if args.frames < 2:
            raise ValueError(f"--frames must be at least 2, got {args.frames}")
        if args.until is not None and args.until < 1:
            raise ValueError(f"--until must be at least 1, got {args.until}")
        paths = make_figures(args.path, args.out, cell=args.cell, seed=args.seed, frames=args.frames,
                             until=args.until, replay_run=not args.no_replay,
                             log=lambda line: print(line, file=sys.stderr, flush=True))
    except (FigureError, SweepFolderError, RunFolderError, ValueError, OSError) as e:
        return _err(e)
    for p in paths:
        print(p)
    return 0


# -- standalone ------------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganlab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    add_sweep_parser(sub)
    add_figures_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    return dispatch(parser().parse_args(argv), argv)
