"""Budget curves toward PacGAN's Table 1: its protocol run in stages toward the full 400 epochs,
each metric plotted against epochs beside the published value, and a verdict per row.

    python benchmarks/budget_curves.py run  --out runs/budget --hours 2      # grow the curves (resumable)
    python benchmarks/budget_curves.py plot --out runs/budget                # figures, table, verdicts

``run`` trains the sweeps ``benchmarks/protocols/pacgan-budget-{ring,grid}.toml`` (GAN and PacGAN2 on
the ring, GAN and PacGAN4 on the grid, one batched run of every seed per cell) with the command a
user runs, ``ganlab sweep run FILE --out DIR --steps N``, for N through ``--stages``: every cell reaches
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
        cmd = [sys.executable, "-m", "ganlab", "sweep", "run", str(p), "--out", str(out), "--steps", str(steps),
               "--threads", str(args.threads), "--device", args.device, "--no-progress"]
        print(f"[{time.strftime('%H:%M:%S')}] {' '.join(cmd[1:])}", flush=True)
        with open(Path(args.out) / f"{p.stem}.log", "a") as log:  # the child keeps its own copy of the handle
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


# -- read ----------------------------------------------------------------------------------------------------------
# metric key in metrics.csv → (column title, scale to the published unit, published key)
METRICS = {"modes_captured": ("modes captured", 1.0, "modes_captured"),
           "high_quality_fraction": ("high-quality samples (%)", 100.0, "high_quality_pct"),
           "reverse_kl": ("reverse KL", 1.0, "reverse_kl"),
           "w1": ("W1 to the target", 1.0, None)}
FULL_EPOCHS = 400  # PacGAN's budget: 400,000 iterations × batch 100 / 100,000 samples


@dataclass
class Curve:
    """One cell's evaluations: epochs, and per metric the live members' values at each."""

    target: str
    label: str
    compare: list[str]
    seeds: int
    epochs: list[float]
    values: dict[str, list[list[float]]]  # metric → per evaluation, the live members' values
    floor: list[float]  # W1 between two target samples of the evaluation's size (its noise floor)
    seconds: float  # wall seconds spent on this cell (training, evaluations, checkpoints), all segments
    member_steps: int

    def mean_se(self, key: str) -> tuple[list[float], list[float], list[int]]:
        out_m, out_s, out_n = [], [], []
        for v in self.values[key]:
            n = len(v)
            m = sum(v) / n if n else math.nan
            s = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1) / n) if n > 1 else math.nan
            out_m.append(m), out_s.append(s), out_n.append(n)
        return out_m, out_s, out_n


def read_curves(out: Path) -> list[Curve]:
    """Every cell of the budget sweeps under ``out``, in protocol order."""
    from ganlab.training.rundir import RunDir
    curves = []
    for p in PROTOCOLS:
        folder = out / p.stem
        if not (folder / "sweep.json").is_file():
            continue
        record = json.loads((folder / "sweep.json").read_text())
        for cell in record["cells"]:
            path = folder / "cells" / cell["id"]
            if not (path / "metrics.jsonl").is_file():
                continue
            cfg = json.loads((path / "config.json").read_text())["identity"]
            per_epoch = cfg["dataset_size"] / cfg["method"]["batch_size"]  # steps per epoch
            rows = RunDir(path).metrics()  # typed rows of metrics.jsonl (a line cut by a kill skipped)
            steps = sorted({r["step"] for r in rows if r["step"] > 0})
            values = {k: [] for k in METRICS}
            floor = []
            for st in steps:
                live = [r for r in rows if r["step"] == st and r["alive"]]
                for k, (_, scale, _) in METRICS.items():
                    values[k].append([r[k] * scale for r in live if r.get(k) is not None])
                f = [r["w1_floor"] for r in live if r.get("w1_floor") is not None]
                floor.append(f[0] if f else math.nan)
            seconds, member_steps = 0.0, 0
            if (path / "timing.json").is_file():
                for seg in json.loads((path / "timing.json").read_text())["segments"]:
                    seconds += sum(seg.get(k) or 0 for k in ("train_s", "eval_s", "checkpoint_s", "final_s"))
                    member_steps += (seg["to_step"] - seg["from_step"]) * len(cfg["seeds"])
            curves.append(Curve(cell["target"], cell["label"], cell["compare"], len(cfg["seeds"]),
                                [st / per_epoch for st in steps], values, floor, seconds, member_steps))
    return curves


def published(c: Curve, key: str):
    from ganlab.sweep.published import published_for

    for k in c.compare:
        p = published_for(k, c.target)
        if p is not None and key in p.values:
            return p
    return None


# -- verdict -------------------------------------------------------------------------------------------------------
def trend(epochs: list[float], values: list[list[float]]) -> tuple[float, float, int] | None:
    """Least-squares slope (per decade of epochs) of every live member's value against log10(epochs)
    over the last decade of the curve (epochs ≥ a tenth of the largest), its standard error, and the
    number of evaluations used; None with fewer than 3 evaluations or fewer than 4 values there."""
    last = max(epochs)
    pts = [(math.log10(e), y) for e, v in zip(epochs, values) if e >= last / 10 for y in v]
    used = sum(1 for e in epochs if e >= last / 10)
    if used < 3 or len(pts) < 4:
        return None
    n = len(pts)
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    b = sum((x - mx) * (y - my) for x, y in pts) / sxx
    resid = sum((y - my - b * (x - mx)) ** 2 for x, y in pts)
    return b, math.sqrt(resid / (n - 2) / sxx), used


def verdict(c: Curve, key: str) -> dict:
    """Reaches the published value (within its error bars, by the rule of ``ganlab.sweep.published``)
    at the largest budget run / still moving toward it (a log-linear trend over the last decade of
    epochs whose slope is more than 2 s.e. toward it; with the budget at which the trend line would
    reach it) / flattened (no such slope) or moving away."""
    from ganlab.sweep.published import compare

    p = published(c, METRICS[key][2])
    mean, se, n = (x[-1] for x in c.mean_se(key))
    out = {"metric": key, "epochs": c.epochs[-1], "ours": mean, "ours_se": se, "n": n}
    if p is None:
        return {**out, "verdict": "no published value"}
    theirs = p.values[METRICS[key][2]]
    out.update(theirs=theirs.mean, theirs_se=theirs.se)
    v = compare(mean, se if n > 1 else None, n, theirs)
    if v is not None and v.outside is False:
        return {**out, "verdict": "reaches", "text": f"reaches it (within the error bars) at {c.epochs[-1]:g} epochs"}
    t = trend(c.epochs, c.values[key])
    if t is None:
        return {**out, "verdict": "too short", "text": "too few evaluations in the last decade for a trend"}
    b, b_se, used = t
    out.update(slope_per_decade=b, slope_se=b_se, trend_points=used)
    toward = (theirs.mean - mean) * b > 0 and abs(b) > 2 * b_se
    if toward:
        # the fitted line through the last decade's mean point: where it crosses their value
        last = [(math.log10(e), sum(v) / len(v)) for e, v in zip(c.epochs, c.values[key]) if e >= c.epochs[-1] / 10 and v]
        mx, my = sum(x for x, _ in last) / len(last), sum(y for _, y in last) / len(last)
        need = 10 ** (mx + (theirs.mean - my) / b)
        out.update(verdict="rising", needs_epochs=need)
        where = f"≈ {need:,.3g} epochs" if need <= 10 * FULL_EPOCHS else \
            "beyond 10 × the full budget: at this slope the log-linear trend does not get there"
        out["text"] = (f"still moving toward it: {b:+.3g} ± {b_se:.2g} per decade of epochs over the last decade; "
                       f"the trend line reaches {theirs.mean:g} at {where}")
        return out
    away = (theirs.mean - mean) * b < 0 and abs(b) > 2 * b_se
    out.update(verdict="moving away" if away else "flat")
    side = "above" if mean > theirs.mean else "below"
    out["text"] = (f"{f'{side} it and moving away' if away else f'flattened {side} it'}: {b:+.3g} ± {b_se:.2g} per "
                   f"decade of epochs over the last decade")
    return out


# -- figures and table ---------------------------------------------------------------------------------------------
def figure(curves: list[Curve], target: str, path: Path) -> str:
    """Write the target's figure to ``path``; return its title (which states both budgets)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = [c for c in curves if c.target == target]
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 7.0), layout="constrained")
    axes = axes.flat
    colours = ["#1f4e9a", "#c0392b", "#2e7d32", "#8e44ad"]
    for ax, (key, (title, _, pkey)) in zip(axes, METRICS.items()):
        for c, col in zip(mine, colours):
            m, s, _ = c.mean_se(key)
            ax.errorbar(c.epochs, m, yerr=[b if b == b else 0 for b in s], fmt="o-", ms=3, lw=1.2, capsize=2, color=col,
                        label=f"ours: {c.label}, {c.seeds} seeds, to {c.epochs[-1]:g} epochs (± s.e.)")
            ax.fill_between(c.epochs, [a - (b if b == b else 0) for a, b in zip(m, s)],
                            [a + (b if b == b else 0) for a, b in zip(m, s)], color=col, alpha=0.18, lw=0)
            p = published(c, pkey) if pkey else None
            if p is not None:
                v = p.values[pkey]
                lo, hi = v.mean - (v.se or 0), v.mean + (v.se or 0)
                ax.axhspan(lo, hi, color=col, alpha=0.25, lw=0)
                ax.axhline(v.mean, color=col, lw=0.8, ls=":", label=f"PacGAN Table 1: {c.label}, 400 epochs (± s.e.)")
        if key == "w1" and mine:
            ax.plot(mine[0].epochs, mine[0].floor, "x--", ms=3, color="grey", lw=0.8, label="W1 floor (target vs target)")
        ax.axvline(FULL_EPOCHS, color="black", lw=0.8, ls="--")
        ax.text(FULL_EPOCHS, 0.98, " full budget\n (400 epochs)", transform=ax.get_xaxis_transform(), fontsize=6,
                va="top", ha="right")
        ax.set_xscale("log")
        ax.set_xlim(0.2, 600)
        ax.set_xlabel("epochs (1 epoch = 1,000 iterations)", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
    lo, hi = min((c.epochs[-1] for c in mine), default=0), max((c.epochs[-1] for c in mine), default=0)
    span = f"{hi:g} epochs = {100 * hi / FULL_EPOCHS:.2g} %" if lo == hi else \
        f"{lo:g}–{hi:g} epochs = {100 * lo / FULL_EPOCHS:.2g}–{100 * hi / FULL_EPOCHS:.2g} %"
    title = (f"{target}, PacGAN's protocol. Ours: to {span} of the published budget.\n"
             f"Published (bands, mean ± s.e.): 400 epochs, 10 trials")
    fig.suptitle(title, fontsize=9)
    handles = {}
    for ax in fig.axes:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=2, fontsize=7)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return title


def table(curves: list[Curve]) -> tuple[str, list[dict]]:
    rows, lines = [], ["| target, method | budget reached | wall (member-steps/s) | metric | ours | PacGAN Table 1 | verdict |",
                       "|---|---|---|---|---|---|---|"]
    for c in curves:
        speed = f"{c.seconds / 60:.0f} min ({c.member_steps / c.seconds:.0f})" if c.seconds else "—"
        first = True
        for key in ("modes_captured", "high_quality_fraction", "reverse_kl"):
            v = verdict(c, key)
            rows.append({"target": c.target, "method": c.label, "seeds": c.seeds, "seconds": c.seconds,
                         "member_steps": c.member_steps, **v})
            head = (f"| {c.target}, {c.label} | {c.epochs[-1]:g} of 400 epochs ({100 * c.epochs[-1] / FULL_EPOCHS:.2g} %) "
                    f"| {speed} ") if first else "| | | "
            theirs = f"{v['theirs']:g} ± {v['theirs_se']:g}" if "theirs" in v else "—"
            lines.append(f"{head}| {METRICS[key][0]} | {v['ours']:.3g} ± {v['ours_se']:.2g} | {theirs} | "
                         f"{v.get('text', v['verdict'])} |")
            first = False
    return "\n".join(lines), rows


SHORT = {"reaches": "reached", "rising": "rising", "flat": "flat", "moving away": "away", "too short": "—",
         "no published value": "—"}


def compact(curves: list[Curve]) -> str:
    """One line per row: the budget reached, each metric as ours (theirs) with a one-word verdict,
    and the epochs the trend lines need where they are still rising (the README's table)."""
    lines = ["| row | reached | modes | high-quality % | reverse KL | trend line reaches theirs at (epochs) |",
             "|---|---|---|---|---|---|"]
    for c in curves:
        cells, needs = [], []
        for key in ("modes_captured", "high_quality_fraction", "reverse_kl"):
            v = verdict(c, key)
            cells.append(f"{v['ours']:.3g} ({v['theirs']:g}) {SHORT[v['verdict']]}" if "theirs" in v else "—")
            if v["verdict"] == "rising":
                n = v["needs_epochs"]
                needs.append(f"{METRICS[key][0].split(' ')[0]} {n:,.0f}" if n <= 10 * FULL_EPOCHS else
                             f"{METRICS[key][0].split(' ')[0]} > 4,000")
        lines.append(f"| {c.target}, {c.label} | {c.epochs[-1]:g} of 400 epochs | {' | '.join(cells)} | "
                     f"{', '.join(needs) or '—'} |")
    return "\n".join(lines)


def plot(args: argparse.Namespace) -> int:
    out = Path(args.out)
    curves = read_curves(out)
    if not curves:
        print(f"error: no budget sweep with evaluations under {str(out)!r}; run `budget_curves.py run` first",
              file=sys.stderr)
        return 2
    figs = Path(args.figures or out)
    figs.mkdir(parents=True, exist_ok=True)
    for t in dict.fromkeys(c.target for c in curves):
        figure(curves, t, figs / f"budget_curves_{t}.png")
        print(figs / f"budget_curves_{t}.png")
    md, rows = table(curves)
    (out / "budget_curves.md").write_text(md + "\n")
    (out / "budget_curves.json").write_text(json.dumps(rows, indent=1) + "\n")
    short = compact(curves)
    (out / "budget_curves_compact.md").write_text(short + "\n")
    print(md + "\n\n" + short)
    return 0


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
    f = sub.add_parser("plot", help="figures, table and verdicts from what has been run")
    f.add_argument("--out", default="runs/budget", help="the folder `run` wrote (default runs/budget)")
    f.add_argument("--figures", help="where the figures go (default: --out)")
    f.set_defaults(func=plot)
    a = p.parse_args(argv)
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
