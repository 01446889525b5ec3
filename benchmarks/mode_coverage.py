"""Which training method covers which modes, over many seeds, beside the published results.

    python benchmarks/mode_coverage.py --protocol quick --shards 2          # both cores, one thread each
    python benchmarks/mode_coverage.py --protocol pacgan-10-epochs --shards 2 --figures
    python benchmarks/mode_coverage.py --protocol tiny                       # seconds: a smoke test

A thin script over ``ganlab sweep``: the protocol is ``benchmarks/protocols/NAME.toml`` (or a path
to any sweep TOML); K shard processes (``python -m ganlab sweep run CONFIG --out DIR --shard i/K
--threads 1``) run in parallel, each logging to DIR/logs/; then the cells are merged into
DIR/table.md/.csv/.json, the table is printed with the published rows beside it, and the wall time
is printed and appended to DIR/benchmark-runs.jsonl. Run the same command again after a kill or
Ctrl-C: finished cells are skipped and the unfinished one resumes from its last checkpoint.

Exit status: 0 complete; 1 a shard failed (its log's tail is printed); 2 bad input; 4 the table is
incomplete; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOLS = ROOT / "benchmarks" / "protocols"


def protocol_path(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".toml":
        return p
    path = PROTOCOLS / f"{name}.toml"
    if not path.is_file():
        known = sorted(f.stem for f in PROTOCOLS.glob("*.toml"))
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(known)} (or give a path to a .toml)")
    return path


def _env(threads: int) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_shards(config: Path, out: Path, shards: int, threads: int) -> list[tuple[int, int, Path]]:
    """Start every shard, wait for all; (i, exit status, log) per shard."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(1, shards + 1):
        log = logs / f"shard-{i}-of-{shards}.log"
        with open(log, "a") as f:
            f.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} shard {i}/{shards} ===\n")
            f.flush()
            cmd = [sys.executable, "-m", "ganlab", "sweep", "run", str(config), "--out", str(out),
                   "--shard", f"{i}/{shards}", "--threads", str(threads), "--no-progress"]
            procs.append((i, subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=_env(threads)), log))
    try:
        return [(i, p.wait(), log) for i, p, log in procs]
    except KeyboardInterrupt:  # the shards got the same Ctrl-C: they checkpoint and stop
        for _, p, _ in procs:
            p.wait()
        raise


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", required=True, help="a name in benchmarks/protocols/ or a path to a sweep TOML")
    p.add_argument("--shards", type=int, help="shard processes run in parallel (default: the cores this process may "
                                              "use, at most the number of cells)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per shard (default 1)")
    p.add_argument("--out", type=Path, help="the sweep folder (default runs/mode_coverage/NAME)")
    p.add_argument("--figures", action="store_true", help="also draw the figures into OUT/figures")
    args = p.parse_args(argv)
    try:
        config = protocol_path(args.protocol)  # before importing torch: a typo costs no seconds
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    from ganlab.sweep.execute import prepare
    from ganlab.sweep.folder import SweepFolderError
    from ganlab.sweep.spec import SweepSpec
    from ganlab.sweep.table import EXIT_INCOMPLETE, markdown, merge, missing_lines

    try:
        spec = SweepSpec.from_toml(config)
        out = args.out or ROOT / "runs" / "mode_coverage" / config.stem
        cells = len(spec.cells())
        shards = args.shards or min(cells, len(os.sched_getaffinity(0)))
        if shards < 1 or args.threads < 1:
            raise ValueError(f"--shards and --threads must be at least 1, got {shards} and {args.threads}")
        prepare(spec, out, sys.argv, config.read_text())  # folder created or checked before any process starts
    except (ValueError, SweepFolderError, OSError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    print(f"{spec.name}: {cells} cells in {shards} shard process(es) × {args.threads} thread(s); logs in {out / 'logs'}",
          file=sys.stderr)
    t0 = time.perf_counter()
    try:
        results = run_shards(config, out, shards, args.threads)
    except KeyboardInterrupt:
        print(f"interrupted; rerun the same command to resume ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        return 130
    wall = time.perf_counter() - t0
    failed = [(i, code, log) for i, code, log in results if code != 0]
    for i, code, log in failed:
        tail = log.read_text().splitlines()[-5:]
        print(f"shard {i}/{shards} exited with status {code}; the end of {log}:", *tail, sep="\n  ", file=sys.stderr)
    table = merge(out)
    print(markdown(table))
    print(f"wall time {wall:.0f} s ({wall / 60:.1f} min) for {shards} shard(s) × {args.threads} thread(s)"
          f"{'' if table.complete else '; INCOMPLETE'}")
    with open(out / "benchmark-runs.jsonl", "a") as f:
        f.write(json.dumps({"protocol": str(config), "shards": shards, "threads": args.threads, "wall_s": wall,
                            "complete": table.complete, "failed_shards": [i for i, _, _ in failed],
                            "ended": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n")
    if args.figures and table.rows:
        from ganlab.plots.folders import make_figures

        for path in make_figures(out, log=lambda line: print(line, file=sys.stderr)):
            print(path)
    if failed:
        return 1
    if not table.complete:
        print("\n".join(missing_lines(table)), file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


if __name__ == "__main__":
    sys.exit(main())
