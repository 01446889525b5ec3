"""Budget curves toward PacGAN's Table 1: its protocol run in stages toward the full 400 epochs,
each metric plotted against epochs beside the published value, and a verdict per row.

    python benchmarks/budget_curves.py run  --out runs/budget --hours 2      # grow the curves (resumable)
    python benchmarks/budget_curves.py plot --out runs/budget                # figures, table, verdicts

``run`` trains the sweeps ``benchmarks/protocols/pacgan-budget-{ring,grid}.toml`` (GAN and PacGAN2 on
the ring, GAN and PacGAN4 on the grid, one batched run of every seed per cell) with the command a
user runs, ``ganlab sweep FILE --out DIR --steps N``, for N through ``--stages``: every cell reaches
a budget before any cell goes further, so wherever the run stops, all four curves reach about as
far. One process per protocol (``--jobs``), one thread each. Stop it at any moment (Ctrl-C): a rerun
resumes every cell from its last checkpoint, and later, larger stages extend the same runs (on a
GPU: ``--device cuda --stages 400000``, the full budget).

``plot`` reads every cell's ``metrics.csv`` (an evaluation at 0.25, 0.5, 1, 2, 5, 10 epochs and
every 10 after), and writes ``budget_curves_<target>.png`` (modes, high-quality share, reverse KL
and W1 to the target against epochs on a log axis, the published value ± its error as a band, the
full budget marked) and ``budget_curves.md`` / ``.json``: per row the budget reached, the values
there beside the published ones, and a verdict per metric from the curve (``verdict``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOLS = (ROOT / "benchmarks/protocols/pacgan-budget-ring.toml", ROOT / "benchmarks/protocols/pacgan-budget-grid.toml")
# budgets in steps (1,000 steps = 1 epoch here: batch 100 of a 100,000-sample set); the first stages
# are short so that a short session still gives every cell its first points
STAGES = (2_000, 5_000, 10_000, *range(20_000, 400_001, 10_000))


def _stages(text: str) -> tuple[int, ...]:
    out = tuple(int(v) for v in text.split(",") if v.strip())
    if not out or any(s < 1 for s in out) or list(out) != sorted(set(out)):
        raise argparse.ArgumentTypeError(f"--stages must be increasing positive step counts, got {text!r}")
    return out


# -- run -----------------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """One process per protocol, each running the stages in order; returns the worst exit status."""
    deadline = time.time() + args.hours * 3600 if args.hours else None
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    protocols = [p for p in PROTOCOLS if not args.only or args.only in p.stem]
    jobs: list[tuple[Path, list[int]]] = [(p, list(args.stages)) for p in protocols]
    running: dict[Path, subprocess.Popen] = {}
    status = 0

    def start(p: Path, steps: int) -> None:
        out = Path(args.out) / p.stem
        cmd = [sys.executable, "-m", "ganlab", "sweep", str(p), "--out", str(out), "--steps", str(steps),
               "--threads", str(args.threads), "--device", args.device, "--no-progress"]
        print(f"[{time.strftime('%H:%M:%S')}] {' '.join(cmd[1:])}", flush=True)
        log = open(Path(args.out) / f"{p.stem}.log", "a")
        running[p] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    Path(args.out).mkdir(parents=True, exist_ok=True)
    try:
        while jobs or running:
            while jobs and len(running) < args.jobs:
                p, stages = jobs.pop(0)
                if deadline is not None and time.time() > deadline:
                    print(f"deadline reached: {p.stem} stops before {stages[0]:,} steps", flush=True)
                    continue
                start(p, stages.pop(0))
                if stages:
                    jobs.append((p, stages))
            time.sleep(2)
            for p, proc in list(running.items()):
                if proc.poll() is not None:
                    del running[p]
                    print(f"[{time.strftime('%H:%M:%S')}] {p.stem}: exit {proc.returncode}", flush=True)
                    if proc.returncode != 0:
                        status = max(status, proc.returncode)
                        jobs = [(q, s) for q, s in jobs if q != p]  # a failed stage stops its protocol
    except KeyboardInterrupt:
        for proc in running.values():
            proc.send_signal(signal.SIGINT)  # each sweep checkpoints its cell and exits 130
        for proc in running.values():
            proc.wait()
        print("interrupted: every cell checkpointed; rerun the same command to go on", flush=True)
        return 130
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grow the curves: the protocols' sweeps through the stages")
    r.add_argument("--out", default="runs/budget", help="folder of the two sweep folders (default runs/budget)")
    r.add_argument("--stages", type=_stages, default=STAGES, help="budgets in steps, in order (1,000 steps = 1 "
                   "epoch; default 2k, 5k, 10k, then every 10k to 400k, the full budget)")
    r.add_argument("--hours", type=float, default=0, help="start no stage after this many hours (0: no limit)")
    r.add_argument("--jobs", type=int, default=2, help="protocols trained at once, one process each (default 2)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    r.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<index> (default cpu)")
    r.add_argument("--only", help="run only the protocols whose name contains this (ring or grid)")
    r.set_defaults(func=run)
    a = p.parse_args(argv)
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
