#!/usr/bin/env python
"""How much faster is a whole ``ganlab train`` run than the loop a user writes? Measured where
users stand: both sides are whole processes, started from the shell, start-up, drawing,
evaluation and checkpoints included.

For every preset (``quick`` with each method, ``pacgan``, ``unrolled``/``veegan`` — one preset
under two names —, ``metz-appendix``, ``wgan-gp-toy`` and the MNIST presets):

* A: ``python -m ganlab train --preset P [--method M] --seeds N --steps S --out TMP --no-progress
  --threads T`` with the preset's default evaluators, evaluation interval and checkpoints;
* B: ``python benchmarks/plain_loop.py SPEC --deadline …`` — one seed, ``nn.Sequential`` nets,
  ``torch.optim``, float32 ``torch.randn``: the same nets, loss, schedule, batch and noise, written
  as plain torch, run until its process has lived as long as A's did, so that both pay start-up
  once over the same wall time.

ratio = (N × S / A's wall) ÷ (B's steps / B's wall). The pairs run A B A B … (at least 3 pairs in
the full run); the table gives the median of the per-pair ratios. From A's run folder
(``timing.json``) also: start-up (process launch to the run loop: imports, building, drawing a
fixed training set), the evaluation share of the wall time (the step-0, periodic and final
evaluations), and for
``pacgan`` the share of the fp32 matmul peak inside the run (FLOPs autograd performs per member
step, counted once by ``torch.utils.flop_counter``, × N × S / training seconds; the peak is a
2048² matmul timed in this process between pairs).

    python benchmarks/cli_speed.py --quick --data-dir DIR   # every preset, 1 pair, MNIST at N = 2 (< 10 min)
    python benchmarks/cli_speed.py --data-dir DIR           # 3 pairs, MNIST at N = 8 (about an hour)
    python benchmarks/cli_speed.py --only pacgan,quick    # some presets
    python benchmarks/cli_speed.py --replot runs/cli_speed.json

Writes ``runs/cli_speed.json`` (every process timed, versions, the machine) and
``figures/cli_speed.png``. Nothing else may run on the machine while it times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PLAIN = ROOT / "plain_loop.py"
DEFAULT_JSON = ROOT.parent / "runs" / "cli_speed.json"
DEFAULT_FIGURE = ROOT.parent / "figures" / "cli_speed.png"

# issue 19's targets (2 threads, N = 32)
TARGET_QUICK, TARGET_TOY, TARGET_PEAK, TARGET_EVAL_SHARE, TARGET_STARTUP = 2.0, 1.5, 60.0, 10.0, 2.0


@dataclass(frozen=True)
class Case:
    name: str
    preset: str
    method: str | None
    steps: int  # about 10–15 s of training at N = 32 on a 2-core CPU; the final evaluation then weighs
    n: int = 32  # more than in a preset's full-length run, so the evaluation share here is an upper bound
    image: bool = False

    def members(self, quick: bool) -> int:
        return 2 if quick and self.image else self.n  # an image run's final evaluation dominates it

    @property
    def target_ratio(self) -> float | None:
        if self.image:
            return None
        return TARGET_QUICK if self.name == "quick" else TARGET_TOY


CASES = [
    Case("quick", "quick", None, 400),
    *(Case(f"quick {m}", "quick", m, s) for m, s in
      (("vanilla", 400), ("packed", 300), ("unrolled", 40), ("wgan", 150), ("wgan-gp", 100))),
    Case("pacgan", "pacgan", None, 100),
    Case("unrolled / veegan", "veegan", None, 20),
    Case("metz-appendix", "metz-appendix", None, 80),
    Case("wgan-gp-toy", "wgan-gp-toy", None, 15),
    *(Case(p, p, None, s, n=8, image=True) for p, s in
      (("mnist-mlp", 60), ("mnist-dcgan", 12), ("mnist-cdcgan", 12), ("mnist-wgan-gp", 4), ("stacked-dcgan", 12))),
]


@dataclass
class Process:
    """One whole process, timed from outside."""

    cmd: list[str]
    wall_s: float
    user_s: float
    sys_s: float
    returncode: int
    launched_at: float
    output: str = ""


@dataclass
class Pair:
    cli: Process
    plain: Process
    member_steps: int
    plain_steps: int
    timing: dict[str, Any] = field(default_factory=dict)  # the CLI run's timing.json entry

    @property
    def ratio(self) -> float:
        return (self.member_steps / self.cli.wall_s) / (self.plain_steps / self.plain.wall_s)

    @property
    def loop_ratio(self) -> float:
        """The same inside the training loops alone (ganlab's training seconds from timing.json,
        the plain loop's own clock): what a run long enough to amortise start-up, evaluation and
        checkpoints approaches."""
        return loop_ratio(self.member_steps, self.timing, self.plain.output)


def loop_ratio(member_steps: int, timing: dict[str, Any], plain_output: str) -> float:
    plain = json.loads(plain_output.strip().splitlines()[-1])["steps_per_s"]
    return member_steps / timing["train_s"] / plain


def timed(cmd: list[str], env: dict[str, str]) -> Process:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = time.time()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Process(cmd, wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
                   p.returncode, launched, (p.stdout + p.stderr)[-2000:])


# -- what the plain loop trains: a spec from the ganlab preset -------------------------------------------
def plain_spec(cfg, data_dir: str | None) -> dict[str, Any]:
    """The preset's nets, loss, schedule, batch, noise and data as plain values for plain_loop.py."""
    from ganlab.theory.targets import TARGETS, make_target

    m = cfg.method
    # what plain_loop.py writes out; anything else would time a different job
    unsupported = [f"{k}={v!r}" for k, v, ok in (
        ("unroll_order", m.unroll_order, m.unroll == 0 or m.unroll_order == "second"),
        ("lr_schedule", m.lr_schedule, m.lr_schedule == "constant"),
        ("optimizer", m.optimizer, m.schedule != "unrolled" or m.optimizer == "adam"),
        ("pack", m.pack, m.pack == 1 or cfg.target in TARGETS),
        ("fixed_generator", cfg.fixed_generator, cfg.fixed_generator is None)) if not ok]
    if unsupported:
        raise ValueError(f"plain_loop.py does not write out {', '.join(unsupported)}")
    spec: dict[str, Any] = {"method": asdict(m), "noise_dim": cfg.noise_dim, "noise": cfg.noise,
                            "classes": cfg.classes}
    for role in ("generator", "discriminator"):
        s = getattr(cfg, role)
        kind = "dcgan" if type(s).__name__ == "DCGANSpec" else "mlp"
        spec[role] = {"kind": kind, **asdict(s)}
    if cfg.target in TARGETS:
        t = make_target(cfg.target, **cfg.target_kwargs)
        stds = t.mode_stds
        if not bool((stds == stds[0, 0]).all()) or not bool((t.weights == t.weights[0]).all()):
            raise ValueError(f"plain_loop.py draws an equal-weight isotropic mixture with one std; {cfg.target} "
                             "is not one")
        spec["data"] = {"kind": "mixture", "centres": t.means.tolist(), "std": float(stds[0, 0]),
                        "dataset_size": cfg.dataset_size}
    else:
        if data_dir is None:
            raise ValueError(f"{cfg.target} needs --data-dir (MNIST's IDX files)")
        spec["data"] = {"kind": "images", "images": str(Path(data_dir) / "t10k-images-idx3-ubyte.gz"),
                        "labels": str(Path(data_dir) / "t10k-labels-idx1-ubyte.gz"), "count": 8000,
                        "channels": 3 if cfg.target.startswith("stacked") else 1}
    return spec


def preset_config(case: Case):
    from ganlab.training.presets import make_preset

    return make_preset(case.preset, **({"method": case.method} if case.method else {}))


def member_step_flops(cfg) -> float:
    """FLOPs autograd performs in one step of one member (forward and backward of every matmul and
    convolution), counted over a step of a one-member Trainer."""
    import dataclasses

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ganlab.training.config import Runtime
    from ganlab.training.engine import Trainer

    t = Trainer(dataclasses.replace(cfg, seeds=(0,), dataset_size=None), Runtime(progress=False))
    t.train_step()
    with FlopCounterMode(display=False) as counter:
        t.train_step()
    return float(counter.get_total_flops())


def matmul_peak_gflops(threads: int) -> float:
    """The fp32 matmul peak now: the median of 15 products of 2048² matrices, after 3 untimed."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    c = torch.empty(2048, 2048)
    for _ in range(3):
        torch.mm(a, b, out=c)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return 2 * 2048**3 / statistics.median(times) / 1e9


# -- one pair ---------------------------------------------------------------------------------------------
def run_pair(case: Case, steps: int, spec_path: Path, threads: int, data_dir: str | None, env: dict[str, str],
             order: int) -> Pair:
    with tempfile.TemporaryDirectory(prefix="cli_speed_") as tmp:
        out = Path(tmp) / "run"
        cli = [sys.executable, "-m", "ganlab", "train", "--preset", case.preset, "--seeds", str(case.n),
               "--steps", str(steps), "--out", str(out), "--no-progress", "--threads", str(threads)]
        if case.method:
            cli += ["--method", case.method]
        if data_dir and case.image:
            cli += ["--data-dir", data_dir]

        def plain(duration: float) -> Process:
            # until: the wall-clock moment its process has lived as long as the CLI's did
            return timed([sys.executable, str(PLAIN), str(spec_path), "--threads", str(threads),
                          "--until", f"{time.time() + duration:.3f}"], env)

        if order % 2 == 0:
            a = timed(cli, env)
            b = plain(a.wall_s)
        else:  # B first: its duration is the previous CLI run's, passed in through the case's history
            b = plain(run_pair.last_wall.get(case.name, 10.0))
            a = timed(cli, env)
        run_pair.last_wall[case.name] = a.wall_s
        if a.returncode != 0:
            raise RuntimeError(f"{case.name}: ganlab train exited {a.returncode}:\n{a.output}")
        if b.returncode != 0:
            raise RuntimeError(f"{case.name}: plain_loop.py exited {b.returncode}:\n{b.output}")
        timing = json.loads((out / "timing.json").read_text())["segments"][-1]
        timing["startup_s"] = timing["started_at"] - a.launched_at  # to the run loop (the step-0 evaluation is eval)
    plain_steps = json.loads(b.output.strip().splitlines()[-1])["steps"]
    return Pair(a, b, case.n * steps, plain_steps, timing)


run_pair.last_wall = {}


def summarise(case: Case, pairs: list[Pair], flops: float | None, peaks: list[float]) -> dict[str, Any]:
    ratios = [p.ratio for p in pairs]
    row: dict[str, Any] = {
        "case": case.name, "n": case.n, "steps": pairs[0].member_steps // case.n, "pairs": len(pairs),
        "ratio": statistics.median(ratios), "ratios": ratios,
        "loop_ratio": statistics.median(p.loop_ratio for p in pairs),
        "cli_wall_s": statistics.median(p.cli.wall_s for p in pairs),
        "member_steps_per_s": statistics.median(p.member_steps / p.cli.wall_s for p in pairs),
        "plain_steps_per_s": statistics.median(p.plain_steps / p.plain.wall_s for p in pairs),
        "startup_s": statistics.median(p.timing["startup_s"] for p in pairs),
        "eval_share_pct": statistics.median(100 * (p.timing["eval_s"] + p.timing["final_s"]) / p.cli.wall_s
                                            for p in pairs),
        "train_share_pct": statistics.median(100 * p.timing["train_s"] / p.cli.wall_s for p in pairs),
        "target_ratio": case.target_ratio,
    }
    if flops is not None:
        gflops = [p.member_steps * flops / p.timing["train_s"] / 1e9 for p in pairs]
        row["pct_of_peak"] = statistics.median(100 * g / statistics.median(peaks) for g in gflops)
        row["member_step_gflop"] = flops / 1e9
    return row


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        checks = []
        if r["target_ratio"] is not None:
            checks.append((r["ratio"] >= r["target_ratio"], f"ratio {r['ratio']:.2f}× (≥ {r['target_ratio']})"))
        if "pct_of_peak" in r:
            checks.append((r["pct_of_peak"] >= TARGET_PEAK, f"{r['pct_of_peak']:.1f} % of peak (≥ {TARGET_PEAK:.0f})"))
        checks.append((r["eval_share_pct"] <= TARGET_EVAL_SHARE,
                       f"evaluation {r['eval_share_pct']:.1f} % of wall (≤ {TARGET_EVAL_SHARE:.0f})"))
        checks.append((r["startup_s"] <= TARGET_STARTUP, f"start-up {r['startup_s']:.2f} s (≤ {TARGET_STARTUP:.0f})"))
        for ok, text in checks:
            out.append(f"[{'PASS' if ok else 'FAIL'}] {r['case']}: {text}")
    return out


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| preset | N × steps | CLI wall s | member-steps/s | plain steps/s | ratio (range) | in the loops "
             "| start-up s | eval % | train % | % of peak |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        spread = f"{min(r['ratios']):.2f}–{max(r['ratios']):.2f}" if len(r["ratios"]) > 1 else "1 pair"
        peak = f"{r['pct_of_peak']:.1f}" if "pct_of_peak" in r else ""
        lines.append(f"| {r['case']} | {r['n']} × {r['steps']} | {r['cli_wall_s']:.1f} | {r['member_steps_per_s']:.0f} "
                     f"| {r['plain_steps_per_s']:.0f} | **{r['ratio']:.2f}×** ({spread}) | {r['loop_ratio']:.2f}× "
                     f"| {r['startup_s']:.2f} "
                     f"| {r['eval_share_pct']:.1f} | {r['train_share_pct']:.0f} | {peak} |")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = result["rows"]
    fig = Figure(figsize=(11, 0.42 * len(rows) + 1.8))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1.2, 1]})
    y = list(range(len(rows)))[::-1]
    ax1.barh(y, [r["ratio"] for r in rows], color=["#4c72b0" if not r["case"].startswith(("mnist", "stacked")) else "#8c8c8c"
                                                  for r in rows])
    for yi, r in zip(y, rows):
        lo, hi = min(r["ratios"]), max(r["ratios"])
        ax1.plot([lo, hi], [yi, yi], color="black", lw=1)
        if r["target_ratio"]:
            ax1.plot([r["target_ratio"]] * 2, [yi - 0.4, yi + 0.4], color="#c44e52", lw=2)
        ax1.text(r["ratio"] + 0.05, yi, f"{r['ratio']:.2f}×", va="center", fontsize=8)
    ax1.axvline(1.0, color="black", lw=0.8, ls=":")
    ax1.set_yticks(y, [f"{r['case']} (N={r['n']}, {r['pairs']} pair{'s' if r['pairs'] > 1 else ''})" for r in rows],
                   fontsize=8)
    ax1.set_xlabel("whole ganlab train process ÷ plain loop (member steps/s); red: target")
    parts = [("startup", "start-up", "#dd8452"), ("train", "training steps", "#4c72b0"),
             ("eval", "evaluation", "#55a868"), ("rest", "checkpoints, exit", "#8c8c8c")]
    for yi, r in zip(y, rows):
        b = r["breakdown_s"]
        left = 0.0
        for key, label, colour in parts:
            ax2.barh(yi, b[key], left=left, color=colour, label=label if yi == y[0] else None)
            left += b[key]
    ax2.set_xlabel("CLI wall seconds (median pair)")
    ax2.legend(fontsize=7, loc="upper right")
    m = result["meta"]
    fig.suptitle(f"ganlab train vs a plain loop, whole processes ({m['cpu']}, {m['threads']} threads, "
                 f"torch {m['versions']['torch']}, {m['date']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def breakdown(pairs: list[Pair]) -> dict[str, float]:
    p = sorted(pairs, key=lambda q: q.cli.wall_s)[len(pairs) // 2]
    t = p.timing
    startup = t["startup_s"]
    train, evaluation = t["train_s"], t["eval_s"] + t["final_s"]
    return {"startup": startup, "train": train, "eval": evaluation,
            "rest": max(p.cli.wall_s - startup - train - evaluation, 0.0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 pair per preset, MNIST presets at N = 2 (under 10 minutes)")
    ap.add_argument("--pairs", type=int, help="pairs per preset (default 1 with --quick, else 3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="comma-separated case names or presets")
    ap.add_argument("--data-dir", default=os.environ.get("GANLAB_DATA_DIR"),
                    help="MNIST's IDX files (default $GANLAB_DATA_DIR); without it the MNIST presets are skipped")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    ap.add_argument("--figure", type=Path, default=DEFAULT_FIGURE)
    ap.add_argument("--replot", type=Path, nargs="+", help="redraw the figure and table from the JSON of an earlier "
                    "run (several: their rows together, the first one's machine line)")
    args = ap.parse_args(argv)
    if args.replot:
        parts = [json.loads(path.read_text()) for path in args.replot]
        result = {"meta": parts[0]["meta"], "rows": [r for q in parts for r in q["rows"]],
                  "runs": [r for q in parts for r in q["runs"]]}
        for row, run in zip(result["rows"], result["runs"]):  # (JSONs written before the column existed)
            row.setdefault("loop_ratio", statistics.median(
                loop_ratio(p["member_steps"], p["timing"], p["plain"]["output"]) for p in run["pairs"]))
        print(table(result["rows"]))
        plot(result, args.figure)
        return 0
    pairs_n = args.pairs or (1 if args.quick else 3)
    if pairs_n < 1 or args.threads < 1:
        ap.error(f"--pairs and --threads must be at least 1, got {pairs_n}, {args.threads}")
    cases = CASES
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        cases = [c for c in CASES if c.name in wanted or c.preset in wanted]
        if not cases:
            ap.error(f"--only {args.only!r} names no case; cases: {', '.join(c.name for c in CASES)}")
    if args.data_dir is None:
        skipped = [c.name for c in cases if c.image]
        cases = [c for c in cases if not c.image]
        if skipped:
            print(f"no --data-dir: skipping {', '.join(skipped)}", file=sys.stderr)
    for p in (args.json, args.figure):
        p.parent.mkdir(parents=True, exist_ok=True)

    import torch

    from ganlab.training.rundir import versions

    # the children see exactly the user's environment, threads fixed by --threads
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES",)}
    env["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    rows, runs, peaks = [], [], []
    with tempfile.TemporaryDirectory(prefix="cli_speed_spec_") as specs:
        for case in cases:
            cfg = preset_config(case)
            spec_path = Path(specs) / f"{case.preset}-{case.method}.json"
            spec_path.write_text(json.dumps(plain_spec(cfg, args.data_dir)))
            flops = member_step_flops(cfg) if case.preset == "pacgan" else None
            case = replace(case, n=case.members(args.quick))
            steps = case.steps
            pairs = []
            for i in range(pairs_n):
                peaks.append(matmul_peak_gflops(args.threads))
                pair = run_pair(case, steps, spec_path, args.threads, args.data_dir, env, i)
                pairs.append(pair)
                print(f"{case.name}: pair {i + 1}/{pairs_n}: CLI {pair.cli.wall_s:.1f} s, plain "
                      f"{pair.plain_steps} steps in {pair.plain.wall_s:.1f} s, ratio {pair.ratio:.2f}", flush=True)
            row = summarise(case, pairs, flops, peaks)
            row["breakdown_s"] = breakdown(pairs)
            rows.append(row)
            runs.append({"case": case.name, "pairs": [{"cli": asdict(p.cli), "plain": asdict(p.plain),
                                                       "member_steps": p.member_steps, "plain_steps": p.plain_steps,
                                                       "timing": p.timing, "ratio": p.ratio} for p in pairs]})
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    result = {"meta": {"date": time.strftime("%Y-%m-%d"), "quick": args.quick, "threads": args.threads, "cpu": cpu,
                       "cores": os.cpu_count(), "versions": versions(), "command": sys.argv,
                       "peak_gflops": statistics.median(peaks), "peak_gflops_all": peaks},
              "rows": rows, "runs": runs}
    args.json.write_text(json.dumps(result, indent=1))
    print(table(rows))
    print(f"\nfp32 matmul peak {statistics.median(peaks):.0f} GFLOP/s (median of {len(peaks)})")
    for line in verdicts(rows):
        print(line)
    plot(result, args.figure)
    print(f"wrote {args.json} and {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
