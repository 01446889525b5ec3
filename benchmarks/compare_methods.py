"""Every training method on the same toy targets, over several seeds, with mode-coverage metrics.

    python benchmarks/compare_methods.py                  # ring8 and grid25, 6 methods, 4 seeds
    python benchmarks/compare_methods.py --quick          # ring8 only, 2 seeds, 1,000 steps
    python benchmarks/compare_methods.py --methods packed,wgan-gp --targets grid25 --steps 20000

Each (target, method) is a normal ``ganlab train`` run of the ``quick`` preset (small nets, one
batched run over the seeds), kept under --runs with its config, metrics, samples and checkpoints.
The script prints a table (mean ± standard error over seeds) and saves a figure: one panel per
(target, method) with the first seed's final samples over the target's mode centres.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ganlab.training.runs as train  # noqa: E402
from ganlab.training.methods import METHODS  # noqa: E402
from ganlab.training.presets import quick  # noqa: E402
from ganlab.training.rundir import versions  # noqa: E402
from ganlab.theory.targets import make_target  # noqa: E402

DEFAULT_FIGURE = Path(__file__).resolve().parent.parent / "figures" / "compare_methods.png"
METRICS = ("modes_captured", "high_quality_fraction", "reverse_kl", "w1")


def run_one(target: str, method: str, seeds: int, steps: int, runs: Path) -> dict:
    cfg = quick(target=target, method=method, seeds=tuple(range(seeds)))
    cfg = dataclasses.replace(cfg, steps=steps, eval_every=max(1, steps // 5), checkpoint_every=steps)
    trainer, rundir = train.start(cfg, str(runs / f"{target}-{method}"), command=sys.argv)
    t0 = time.perf_counter()
    summary = train.run(trainer, rundir, progress=False)
    summary["seconds"] = time.perf_counter() - t0
    return summary


def _fmt(agg: dict, key: str) -> str:
    a = agg.get(key)
    return "—" if a is None else f"{a['mean']:.3g} ± {a['stderr']:.2g}"


def figure(results: dict, runs: Path, path: Path) -> None:
    targets = sorted({t for t, _ in results})
    methods = list(dict.fromkeys(m for _, m in results))
    fig, axes = plt.subplots(len(targets), len(methods), figsize=(2.6 * len(methods), 2.8 * len(targets)),
                             squeeze=False)
    for i, t in enumerate(targets):
        centres = make_target(t).centres.numpy()
        lim = np.abs(centres).max() * 1.4 + 0.2
        for j, m in enumerate(methods):
            ax = axes[i][j]
            ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal")
            ax.set_xticks([]), ax.set_yticks([])
            if (t, m) not in results:
                continue
            x = np.load(runs / f"{t}-{m}" / "samples.npz")["samples"][0]
            ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.3, color="tab:blue", rasterized=True)
            ax.scatter(centres[:, 0], centres[:, 1], s=12, marker="x", color="tab:red")
            agg = results[(t, m)]["aggregate"]
            ax.set_title(f"{m}\nmodes {_fmt(agg, 'modes_captured')}", fontsize=8)
        axes[i][0].set_ylabel(t)
    fig.suptitle("final samples of seed 0 (red ×: mode centres); modes: mean ± s.e. over seeds", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="ring8,grid25")
    p.add_argument("--methods", default="vanilla,nonsaturating,unrolled,packed,wgan,wgan-gp")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--quick", action="store_true", help="ring8, 2 seeds, 1,000 steps")
    p.add_argument("--runs", default=None, help="folder for the runs (default runs/compare-<time>)")
    p.add_argument("--out", default=str(DEFAULT_FIGURE))
    p.add_argument("--force", action="store_true", help="overwrite an existing --out other than the default")
    a = p.parse_args(argv)
    if a.quick:
        a.targets, a.seeds, a.steps = "ring8", 2, 1000
    targets, methods = a.targets.split(","), a.methods.split(",")
    for m in methods:
        if m not in METHODS:
            p.error(f"unknown method {m!r}; known: {', '.join(sorted(METHODS))}")
    for t in targets:
        make_target(t)
    out = Path(a.out)
    if out.exists() and out.resolve() != DEFAULT_FIGURE and not a.force:
        p.error(f"{out} exists; pass --force to overwrite it")
    runs = Path(a.runs or f"runs/compare-{time.strftime('%Y%m%d-%H%M%S')}")

    results = {}
    print(f"{'target':8s} {'method':14s} " + " ".join(f"{k:>18s}" for k in METRICS) + "   time")
    for t in targets:
        for m in methods:
            s = run_one(t, m, a.seeds, a.steps, runs)
            results[(t, m)] = s
            print(f"{t:8s} {m:14s} " + " ".join(f"{_fmt(s['aggregate'], k):>18s}" for k in METRICS)
                  + f"  {s['seconds']:5.0f}s", flush=True)
    (runs / "comparison.json").write_text(json.dumps({
        "versions": versions(), "argv": sys.argv, "seeds": a.seeds, "steps": a.steps,
        "results": [{"target": t, "method": m, **s} for (t, m), s in results.items()],
    }, indent=2, default=float))
    figure(results, runs, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
