#!/usr/bin/env python
"""How long does drawing take at large noise? ``Streams.normal`` of shape (batch, z) for N members
(float32 and float64) and ``Streams.bits`` of as many words, for this checkout's ``ganlab.rng``,
optionally against another commit's (``--ref``: its ``ganlab/rng.py``, loaded beside this one) and
through ``torch.compile`` (``--compile``); with ``--step``, the share of an eager ``metz-appendix``
step at N spent in ``Trainer.noise`` and ``Trainer.real`` with each version's streams.

    python benchmarks/rng_speed.py [--ref e2fe9ae] [--n 32] [--z 256] [--batch 512] [--threads 2] [--step]

Every setup is timed once per round, in the same order, in one process; tables report medians
over rounds and ratios are medians of per-round ratios, so the drift of a shared machine cancels.
Still, time on a quiet machine: with other jobs on the cores, two threads were measured slower
than one (each chunked Philox op is a small parallel region that waits for both threads).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a checkout works without pip install -e .


def load_rng(ref: str):
    """``ganlab/rng.py`` of commit ``ref`` as a module of its own (its relative import of
    ``.validation`` resolved against this checkout's package)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:ganlab/rng.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "rng_ref.py"
    path.write_text(source.replace("from .validation import", "from ganlab.validation import"))
    spec = importlib.util.spec_from_file_location("rng_ref", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rounds(setups: dict, n_rounds: int) -> dict[str, list[float]]:
    for fn in setups.values():  # warm-up (and compilation)
        fn(0)
    times = {k: [] for k in setups}
    for r in range(1, n_rounds + 1):
        for k, fn in setups.items():
            t0 = time.perf_counter()
            fn(r)
            times[k].append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", help="also time this commit's ganlab/rng.py (e.g. e2fe9ae, before issue 19)")
    p.add_argument("--n", type=int, default=32, help="members (default 32)")
    p.add_argument("--z", type=int, default=256, help="noise dimension (default 256)")
    p.add_argument("--batch", type=int, default=512, help="rows per draw (default 512)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    p.add_argument("--compile", action="store_true", help="also time Streams(compiled=True)")
    p.add_argument("--step", action="store_true", help="also time an eager metz-appendix step at --n")
    args = p.parse_args(argv)
    if min(args.n, args.z, args.batch, args.threads, args.rounds) < 1:
        p.error("--n, --z, --batch, --threads and --rounds must be ≥ 1")

    import torch

    from ganlab import rng
    from ganlab.training.config import Runtime
    from ganlab.training.runs import apply_threads

    rt = Runtime(device="cpu", threads=args.threads, progress=False)
    apply_threads(rt)
    seeds = list(range(args.n))
    versions = {"this": rng.Streams(seeds)}
    if args.compile:
        versions["this, compiled"] = rng.Streams(seeds, compiled=True)
    if args.ref:
        versions[args.ref] = load_rng(args.ref).Streams(seeds)
    shape, count = (args.batch, args.z), args.batch * args.z
    setups = {}
    for name, s in versions.items():
        setups[f"{name}: normal f32"] = lambda r, s=s: s.normal("noise", r, 0, shape)
        setups[f"{name}: normal f64"] = lambda r, s=s: s.normal("noise", r, 0, shape, torch.float64)
        setups[f"{name}: bits"] = lambda r, s=s: s.bits("noise", r, 0, count)
    times = rounds(setups, args.rounds)
    print(f"N = {args.n}, draws of {args.batch} × {args.z}, {torch.get_num_threads()} threads, "
          f"medians of {args.rounds} rounds")
    for k, v in times.items():
        base = times["this: " + k.split(": ")[1]]
        print(f"  {k:<32} {1e3 * statistics.median(v):8.1f} ms   "
              f"{statistics.median(a / b for a, b in zip(v, base)):6.3f}× this checkout's eager")

    if args.step:
        from ganlab.training.engine import Trainer
        from ganlab.training.presets import make_preset

        cfg = replace(make_preset("metz-appendix"), seeds=tuple(seeds))
        spent = {}

        def trainer(name, streams):
            t = Trainer(cfg, rt)
            t.streams, spent[name] = streams, [0.0]
            for method in ("noise", "real"):
                fn = getattr(t, method)

                def timed(*a, _fn=fn, _s=spent[name], **kw):
                    t0 = time.perf_counter()
                    out = _fn(*a, **kw)
                    _s[0] += time.perf_counter() - t0
                    return out
                setattr(t, method, timed)
            return t

        trainers = {name: trainer(name, s) for name, s in versions.items()}
        share = {name: [] for name in trainers}

        def step(name):
            def run(r):
                spent[name][0] = 0.0
                t0 = time.perf_counter()
                trainers[name].train_step()
                share[name].append(spent[name][0] / (time.perf_counter() - t0))
            return run
        steps = rounds({name: step(name) for name in trainers}, args.rounds)
        print(f"\neager metz-appendix step, N = {args.n} (networks eager; streams as named):")
        for name, v in steps.items():
            print(f"  {name:<32} {1e3 * statistics.median(v):8.1f} ms per step, drawing "
                  f"{100 * statistics.median(share[name][1:]):5.1f} % of it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
