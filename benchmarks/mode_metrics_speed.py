#!/usr/bin/env python
"""Mode metrics of every member of a run: ``mode_metrics_batched`` (one computation for all N
members) against the per-member loop the engine runs today (``mode_metrics`` on each member).

    python benchmarks/mode_metrics_speed.py [--members 128] [--samples 2500] [--target grid25]
                                            [--rounds 7] [--device cpu|cuda]

Both are timed in one process in interleaved rounds (medians reported; the ratio is the median
of the per-round ratios, so a shared machine's drift cancels). The loop includes what the engine
does with each result (Python floats); the batched time includes reading the [N] tensors back
to the host once (``.tolist()``), which is the synchronisation an evaluation needs anyway. The
script checks that both give identical counts, modes, fractions and reverse KLs before timing.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganlab.metrics.modes import mode_metrics, mode_metrics_batched  # noqa: E402
from ganlab.theory.targets import make_target  # noqa: E402


def loop(samples: torch.Tensor, target) -> list:
    return [mode_metrics(samples[i], target) for i in range(samples.shape[0])]


def batched(samples: torch.Tensor, target) -> dict:
    r = mode_metrics_batched(samples, target)
    return {k: v.tolist() for k, v in r.items()}


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=128)
    ap.add_argument("--samples", type=int, default=2500)
    ap.add_argument("--target", default="grid25")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    target = make_target(args.target)
    g = torch.Generator().manual_seed(0)
    n_members, n = args.members, args.samples
    # member i: target samples blurred by 0 … 4 mode stds (a spread of qualities), float32
    x = target.sample(n_members * n, 1).view(n_members, n, -1)
    scale = torch.linspace(0, 4, n_members).view(-1, 1, 1) * float(target.mode_stds.max())
    x = (x + scale * torch.randn(x.shape, generator=g)).to(args.device)

    ref, got = loop(x, target), batched(x, target)
    for i, m in enumerate(ref):
        assert tuple(got["mode_counts"][i]) == m.mode_counts
        assert got["modes_captured"][i] == m.modes_captured
        assert got["high_quality_fraction"][i] == m.high_quality_fraction
        assert same(got["reverse_kl"][i], m.reverse_kl)
    print(f"identical results for {n_members} members x {n} samples ({args.target}, {args.device})")

    def timed(fn) -> float:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn(x, target)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - t

    times: dict[str, list[float]] = {"loop": [], "batched": []}
    ratios = []
    for _ in range(args.rounds):
        a, b = timed(loop), timed(batched)
        times["loop"].append(a)
        times["batched"].append(b)
        ratios.append(a / b)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} interleaved rounds (medians)")
    for k, v in times.items():
        print(f"  {k:8s} {statistics.median(v) * 1e3:8.1f} ms   (min {min(v) * 1e3:.1f})")
    print(f"  speed-up (median of per-round ratios): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
