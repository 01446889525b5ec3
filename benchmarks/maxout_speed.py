#!/usr/bin/env python
"""The maxout alone: ganlab's ``maxout`` (its fused CPU kernel, through its autograd function:
what the engine runs) against ``torch.max`` over a [..., units, pieces] view (what a user writes;
autograd's backward for it is a zero-fill and a scatter), forward and forward + backward, on
PacGAN's discriminator shapes: N members × 200 rows (real and fake batches of 100) × 200 units
× 5 pieces.

    python benchmarks/maxout_speed.py [--n 128] [--rows 200] [--threads 2] [--json PATH]

Both give the same bits (checked before timing). Timed as ``engine_speed.py`` times (its
``calibrate`` and ``time_block``): interleaved rounds, each timing every setup once in a shuffled
order as a block of about ``--block-seconds`` (one untimed call, then at least 3 timed ones); the
table reports medians over rounds. The kernel is built (once per machine) before anything is timed;
like ``engine_speed.py`` the script re-executes itself once with GLIBC_TUNABLES set
(``--no-tune`` skips that). ``--json`` also saves the table with the versions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

# benchmarks/ is on sys.path when run as a script
from engine_speed import Setup, _maybe_reexec, _now, calibrate, time_block


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=128, help="members (default 128)")
    p.add_argument("--rows", type=int, default=200, help="rows per member (default 200)")
    p.add_argument("--units", type=int, default=200, help="maxout units (default 200)")
    p.add_argument("--pieces", type=int, default=5, help="pieces per unit (default 5)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's default)")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    p.add_argument("--block-seconds", type=float, default=0.3, help="seconds per timed block (default 0.3)")
    p.add_argument("--json", help="also write the table and the versions here")
    p.add_argument("--no-tune", action="store_true", help="do not re-exec with GLIBC_TUNABLES")
    args = p.parse_args(argv)
    for name in ("n", "rows", "units"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be ≥ 1, got {getattr(args, name)}")
    if args.rounds < 1:
        p.error(f"--rounds must be ≥ 1, got {args.rounds}")
    if args.block_seconds <= 0:
        p.error(f"--block-seconds must be > 0, got {args.block_seconds}")
    if not 2 <= args.pieces <= 255:
        p.error(f"--pieces must be in 2…255, got {args.pieces}")
    if args.json and Path(args.json).exists():
        p.error(f"--json {args.json} exists; pick another path")
    if argv is None:
        _maybe_reexec(args.no_tune)

    import torch

    from ganlab.models.maxout import cpu_kernel, maxout, maxout_torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if cpu_kernel() is None:
        print("the fused CPU maxout kernel is not available here (see the warning above)", file=sys.stderr)
        return 1

    shape = (args.n, args.rows, args.units * args.pieces)
    k = args.pieces
    setups, checks = [], {}
    for dtype in (torch.float32, torch.float64):
        h = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dtype).requires_grad_()
        g = torch.randn(*shape[:-1], args.units, generator=torch.Generator().manual_seed(1)).to(dtype)
        grads = []
        for fn in (maxout_torch, maxout):
            h.grad = None
            fn(h, k).backward(g)
            grads.append(h.grad)
        name = str(dtype).removeprefix("torch.")
        checks[name] = torch.equal(maxout_torch(h, k), maxout(h, k)) and torch.equal(*grads)
        for label, fn in (("torch.max", maxout_torch), ("ganlab", maxout)):
            forward = lambda fn=fn, h=h: fn(h, k)  # noqa: E731
            # autograd.grad: the gradient is returned, not accumulated into h.grad
            both = lambda fn=fn, h=h, g=g: torch.autograd.grad(fn(h, k), h, g)  # noqa: E731
            setups += [Setup(f"{name} {label} forward", name, label, 1, forward, 1, 0.0),
                       Setup(f"{name} {label} forward+backward", name, label, 1, both, 1, 0.0)]
    if not all(checks.values()):
        print(f"the two paths differ: {checks}", file=sys.stderr)
        return 1
    now = _now("cpu")
    for s in setups:
        calibrate(s, now, args.block_seconds)
    order, shuffle = list(setups), random.Random(0)
    for _ in range(args.rounds):
        shuffle.shuffle(order)
        for s in order:
            time_block(s, now)
    ms = {s.label: 1e3 / statistics.median(s.rates) for s in setups}  # rates: calls per second
    rows = []
    for name in checks:
        row = {"dtype": name}
        for label in ("torch.max", "ganlab"):
            fwd, both = ms[f"{name} {label} forward"], ms[f"{name} {label} forward+backward"]
            row[label] = {"forward_ms": fwd, "forward_backward_ms": both}
        rows.append(row)
    print(f"maxout {list(shape)} → {[*shape[:-1], args.units]}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.rounds} rounds; same bits: yes")
    print(f"{'dtype':<8} {'torch.max fwd':>14} {'ganlab fwd':>11} {'torch.max f+b':>14} {'ganlab f+b':>11}   (ms)")
    for r in rows:
        t, f = r["torch.max"], r["ganlab"]
        print(f"{r['dtype']:<8} {t['forward_ms']:14.2f} {f['forward_ms']:11.2f} {t['forward_backward_ms']:14.2f} "
              f"{f['forward_backward_ms']:11.2f}   forward {t['forward_ms'] / f['forward_ms']:.1f}×, "
              f"forward + backward {t['forward_backward_ms'] / f['forward_backward_ms']:.1f}×")
    if args.json:
        meta = {"shape": list(shape), "rounds": args.rounds, "block_seconds": args.block_seconds, "threads": torch.get_num_threads(), "torch": torch.__version__,
                "cpu_capability": torch.backends.cpu.get_cpu_capability(), "argv": sys.argv,
                "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
                "time": time.strftime("%Y-%m-%d %H:%M:%S %z")}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
