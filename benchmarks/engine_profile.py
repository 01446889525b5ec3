#!/usr/bin/env python
"""Where does an engine step's time go? torch.profiler over a few steps of the ``engine_speed.py``
setups (same nets, the process settings ``ganlab train`` applies), printing each op's share of the self time, by op
and by op and input shape.

    python benchmarks/engine_profile.py [--size pacgan|small|noise256] [--n 128] [--steps 3] [--threads 2] [--compile]
    python benchmarks/engine_profile.py --preset metz-appendix --n 5 --threads 1   # a preset instead

The profiler slows small ops, so read the shares, not the absolute times (each table says how long a
step took under it; the first line, without it); time with ``engine_speed.py``. Recording input
shapes slowed some large elementwise ops several-fold in one measurement, so the by-op shares come
from a profile without shapes, and the by-shape table from a second one.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from engine_speed import configs  # benchmarks/ is on sys.path when run as a script


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="pacgan", choices=("pacgan", "small", "noise256"),
                   help="net size, as in engine_speed.py (default pacgan)")
    p.add_argument("--preset", help="profile this preset's configuration (nets, batch, noise, method) instead "
                   "of --size's; image presets need their data set")
    p.add_argument("--n", type=int, default=128, help="members trained together (default 128)")
    p.add_argument("--steps", type=int, default=3, help="profiled steps, after 3 warm-up steps (default 3)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's default)")
    p.add_argument("--compile", action="store_true", help="profile the step with Runtime(compile=True)")
    p.add_argument("--rows", type=int, default=15, help="rows per table (default 15)")
    args = p.parse_args(argv)
    if args.n < 1 or args.steps < 1:
        p.error(f"--n and --steps must be ≥ 1, got {args.n} and {args.steps}")
    import torch
    from torch.profiler import ProfilerActivity, profile

    from ganlab.training.config import Runtime
    from ganlab.training.engine import Trainer

    from ganlab.training.runs import apply_threads

    apply_threads(Runtime(threads=args.threads or torch.get_num_threads()))  # what ganlab train does
    if args.preset:
        from ganlab.training.presets import make_preset

        try:
            base = make_preset(args.preset)
        except ValueError as e:
            p.error(str(e))
    else:
        base = configs()[args.size]
    cfg = replace(base, seeds=tuple(range(args.n)))
    trainer = Trainer(cfg, Runtime(device="cpu", progress=False, compile=args.compile))
    for _ in range(3):
        trainer.train_step()

    def steps() -> float:
        t0 = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step()
        return 1e3 * (time.perf_counter() - t0) / args.steps

    print(f"{args.preset or args.size} nets, N = {args.n}, {args.steps} steps, {torch.get_num_threads()} threads"
          + (", torch.compile" if args.compile else ""))
    print(f"without the profiler: {steps():.1f} ms per step")
    for by_shape in (False, True):
        with profile(activities=[ProfilerActivity.CPU], record_shapes=by_shape) as prof:
            ms = steps()
        events = sorted(prof.key_averages(group_by_input_shape=by_shape), key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in events)
        print(f"\nshare of self time, by op{' and input shapes' if by_shape else ''} (total {total / 1e6:.2f} s; "
              f"{ms:.1f} ms per profiled step)" + (SHAPES_CAVEAT if by_shape else ":"))
        for e in events[:args.rows]:
            shapes = f"  {e.input_shapes}" if by_shape else ""
            print(f"  {100 * e.self_cpu_time_total / total:5.1f} %  {e.count:4d} calls  {e.key}{shapes}")
    return 0


# measured: small nets, N = 32, one thread: ReLU on [32, 512, 128] took 0.6 ms per call in a step
# without the profiler and with record_shapes=False, 4.2 ms with record_shapes=True
SHAPES_CAVEAT = (":\n  (recording shapes slows some large elementwise ops several-fold: read the by-op "
                 "shares above, this table for which shapes)")


if __name__ == "__main__":
    sys.exit(main())
