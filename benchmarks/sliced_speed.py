#!/usr/bin/env python
"""Sliced Wasserstein between two large clouds: ``ganlab.theory.wasserstein.sliced_wasserstein``
(batched torch: project a chunk of directions, sort, exact 1-D W_p) against POT in chunks of
projections (the implementation it replaced: ``ot.sliced_wasserstein_distance`` on chunks with
(n + m) · chunk ≤ 1 M numbers, summing POT's per-projection W_p^p).

    python benchmarks/sliced_speed.py [--n 100000] [--m 100000] [--projections 1000] [--dim 2]
                                      [--p 1] [--repeats 3] [--skip-pot]

Both run in this one process on the same clouds (x ~ N(0, I), y ~ N(1, diag(4, 1)) so the
distance is O(1)) and the same projections (seed 0). For each call it reports the wall time and
the peak resident-memory growth: a thread samples /proc/self/statm every 2 ms during the call,
and the growth is its maximum minus the resident size just before (glibc's ``malloc_trim(0)``
first returns freed memory to the system, so one call's leftovers do not hide the next one's
peak). The new function is timed ``--repeats`` times (median); POT once (it takes ~40 s). It
prints both values and their relative difference (the tests require ≤ 1e-12).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import ot
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganlab.theory.wasserstein import sliced_wasserstein  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
POT_CHUNK_ELEMENTS = 1_000_000  # the replaced implementation's budget: (n + m) * chunk numbers


def pot_in_chunks(x: np.ndarray, y: np.ndarray, p: float, n_projections: int, seed: int) -> float:
    """The replaced implementation (ganlab before this change), verbatim in substance."""
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    theta = ot.sliced.get_random_projections(d, n_projections, seed=np.random.RandomState(seed))
    chunk = max(1, min(n_projections, POT_CHUNK_ELEMENTS // (n + m)))
    total = 0.0
    for start in range(0, n_projections, chunk):
        _, log = ot.sliced_wasserstein_distance(x, y, a, b, p=p, projections=theta[:, start : start + chunk], log=True)
        total += float(np.sum(log["projected_emds"]))
    return max(total / n_projections, 0.0) ** (1.0 / p)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass


def measure(fn):
    """(result, seconds, peak RSS growth in bytes) of one call."""
    trim()
    base = rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.002)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t
    done.set()
    th.join()
    peak[0] = max(peak[0], rss_bytes())
    return out, elapsed, peak[0] - base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=100_000)
    ap.add_argument("--projections", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--p", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-pot", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, args.dim))
    y = 1.0 + rng.normal(size=(args.m, args.dim)) * np.r_[2.0, np.ones(args.dim - 1)]
    print(f"{args.n:,} vs {args.m:,} points in {args.dim}-D, {args.projections:,} projections, p = {args.p:g}; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), POT {ot.__version__}, numpy {np.__version__}")

    runs = [measure(lambda: sliced_wasserstein(x, y, p=args.p, n_projections=args.projections, seed=0))
            for _ in range(args.repeats)]
    new = runs[0][0]
    assert all(r[0] == new for r in runs)
    t_new = statistics.median(r[1] for r in runs)
    m_new = max(r[2] for r in runs)
    print(f"  torch (new)    {t_new:8.2f} s  (runs: {', '.join(f'{r[1]:.2f}' for r in runs)})   "
          f"peak RSS growth {m_new / 2**30:.2f} GiB   value {new!r}")
    if not args.skip_pot:
        ref, t_pot, m_pot = measure(lambda: pot_in_chunks(x, y, args.p, args.projections, 0))
        print(f"  POT in chunks  {t_pot:8.2f} s                                peak RSS growth {m_pot / 2**30:.2f} GiB   value {ref!r}")
        print(f"  speed-up {t_pot / t_new:.2f}x; relative difference of the values {abs(new - ref) / abs(ref):.3g}")
    print(f"  process peak RSS (ru_maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
