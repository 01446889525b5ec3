#!/usr/bin/env python
"""How fast is the batched engine? Total GAN steps/s of N seeds trained as one ``Trainer``,
against the loop a user writes for one seed (``nn.Sequential`` nets, ``torch.optim.Adam``,
``binary_cross_entropy_with_logits``, float32 draws from a simple sampler), for three net sizes:

* "small":  the ``quick`` preset nets (G and D 2 × 128 ReLU), batch 256, non-saturating GAN, ring8;
* "pacgan": the ``pacgan`` preset nets (G 4 × 400 batch norm, D 3 maxout layers 200 × 5),
  batch 100, pack 1, fresh samples, alternating updates (as the plain loop), grid25;
* "noise256": the ``metz-appendix`` preset (G 2 × 128 ReLU, D 1 × 128 ReLU on input / 4), z of 256
  and batch 512, alternating, metz-ring8: tiny nets and large random draws, where the engine's
  counter-based streams (Philox words as int64 tensor ops, then Box–Muller) cost more than the
  plain loop's ``torch.randn``, and ``torch.compile`` of the streams matters.

Also: the fp32 matmul peak measured in the same run, the share of it each setup reaches counting
the FLOPs autograd really performs (``torch.utils.flop_counter`` over one step), the engine with
``torch.compile`` of its networks and random streams on and off, and a per-step breakdown
(sampling, forward and backward, optimizer, bookkeeping, evaluation) so the next bottleneck is
visible.

Both sides' maxout is ``torch.max`` over the pieces.

Everything is timed in one process in interleaved rounds (each round times every setup once, in
a shuffled order; a block is one untimed warm-up call, then at least 3 timed calls); tables report
medians over rounds, ratios are medians of per-round ratios, so the drift of a shared machine
cancels.

    python benchmarks/engine_speed.py [--quick] [--device cpu|cuda] [--ns 1,8,32,128] [--json PATH]

The engine runs with the process settings ``ganlab train`` applies (``runs.apply_threads``:
threads and the glibc allocator tuning of ``resources.tune_allocator``), nothing more. The plain
loop is ``plain_loop.py`` in its own process (``--serve``), with a user's environment; at the end
the same script is also run alone and its figure compared with the interleaved one (they must
agree within 10 %).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a checkout works without pip install -e .
DEFAULT_OUT = ROOT / "figures" / "engine_speed.png"

# the targets (issue 7): engine / plain loop for the small nets, share of peak for PacGAN-size
TARGET_RATIO = {32: 2.0, 128: 1.8}
TARGET_PEAK_PACGAN = 65.0
MIN_CALLS = 3  # timed calls per block at least (one PacGAN step at N = 128 is about as long as a block)
NS = {("cpu", False): (1, 8, 32, 128), ("cpu", True): (1, 32), ("cuda", False): (1, 8, 32, 128, 512, 1024),
      ("cuda", True): (1, 128)}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# -- what is timed ------------------------------------------------------------------------------------
@dataclass
class Setup:
    label: str
    size: str  # "small" | "pacgan" | "noise256" | "peak"
    kind: str  # "plain" | "engine" | "compiled" | "mm"
    n: int
    call: Callable[[], Any]
    units: int  # GAN steps (all members) per call, or 1 matmul
    flops: float  # per call
    calls: int = 1
    rates: list[float] = field(default_factory=list)  # units per second, one per round


def configs() -> dict[str, Any]:
    from ganlab.training.presets import metz_appendix, pacgan, quick

    small = quick(target="ring8", method="nonsaturating", seeds=(0,))
    pac = pacgan(target="grid25", pack=1, seeds=(0,))
    pac = replace(pac, dataset_size=None, method=replace(pac.method, schedule="alternating"))
    return {"small": small, "pacgan": pac, "noise256": metz_appendix(seeds=(0,))}


class PlainLoop:
    """What a user writes for one GAN, run as its own process: ``plain_loop.py --serve`` (the same
    script ``cli_speed.py`` times alone), trained ``STEPS_PER_CALL`` steps per call. Its allocator,
    heap and threads are a user's, not this process's; its blocks are timed here like the
    engine's (same calibration, block length and statistic)."""

    STEPS_PER_CALL = 10

    def __init__(self, cfg, device: str, threads: int, spec_dir: Path, name: str):
        import subprocess

        from cli_speed import PLAIN, plain_spec

        if device != "cpu":
            raise ValueError("plain_loop.py runs on the CPU")
        spec = spec_dir / f"{name}.json"
        spec.write_text(json.dumps(plain_spec(cfg, None)))
        self.spec = spec
        env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        env["OMP_NUM_THREADS"] = str(threads)
        self.proc = subprocess.Popen([sys.executable, str(PLAIN), str(spec), "--serve", "--threads", str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def step(self) -> None:
        self.proc.stdin.write(f"{self.STEPS_PER_CALL}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"plain_loop.py --serve exited ({self.proc.poll()})")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def plain_alone(spec: Path, threads: int, steps: int) -> float:
    """Steps/s of plain_loop.py run alone as a script (its own loop clock), for the check that the
    interleaved figure is the loop a user runs."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "plain_loop.py"), str(spec), "--steps", str(steps),
                          "--threads", str(threads)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"]


def step_flops(cfg, device: str) -> float:
    """FLOPs autograd really performs in one engine step of one member (forward and backward of
    every matmul, counted by torch.utils.flop_counter over a step at N = 1)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ganlab.training.config import Runtime
    from ganlab.training.engine import Trainer

    t = Trainer(cfg, Runtime(device=device, progress=False))
    t.train_step()
    with FlopCounterMode(display=False) as counter:
        t.train_step()
    return float(counter.get_total_flops())


def make_setups(device: str, ns: tuple[int, ...], compile_ns: tuple[int, ...], spec_dir: Path) -> tuple[list[Setup], dict]:
    import torch

    from ganlab.training.config import Runtime
    from ganlab.training.engine import Trainer

    g = torch.Generator(device=device).manual_seed(0)
    a, b = (torch.randn(2048, 2048, device=device, generator=g) for _ in range(2))
    c = torch.empty(2048, 2048, device=device)
    setups = [Setup("fp32 mm 2048²", "peak", "mm", 0, lambda: torch.mm(a, b, out=c), 1, 2 * 2048**3)]
    flops, trainers, plains = {}, {}, {}
    for size, cfg in configs().items():
        flops[size] = step_flops(cfg, device)
        plain = plains[size] = PlainLoop(cfg, device, torch.get_num_threads(), spec_dir, size)
        k = PlainLoop.STEPS_PER_CALL
        setups.append(Setup(f"{size} plain loop", size, "plain", 1, plain.step, k, k * flops[size]))
        for n in ns:
            for compiled in (False, True):
                if compiled and n not in compile_ns:
                    continue
                t = Trainer(replace(cfg, seeds=tuple(range(n))), Runtime(device=device, compile=compiled))
                trainers[(size, n, compiled)] = t
                kind = "compiled" if compiled else "engine"
                setups.append(Setup(f"{size} {kind} N={n}", size, kind, n, t.train_step, n, n * flops[size]))
    return setups, {"flops": flops, "trainers": trainers, "plains": plains}


def _now(device: str) -> Callable[[], float]:
    import torch

    if device.startswith("cuda"):
        def now() -> float:
            torch.cuda.synchronize(device)
            return time.perf_counter()
        return now
    return time.perf_counter


def calibrate(s: Setup, now, block_s: float) -> float:
    for _ in range(3):
        s.call()
    calls = 1
    while True:
        t0 = now()
        for _ in range(calls):
            s.call()
        elapsed = now() - t0
        if elapsed >= 0.1 * block_s or calls >= 1 << 16:
            break
        calls *= 4
    s.calls = max(MIN_CALLS, round(block_s * calls / max(elapsed, 1e-9)))
    return elapsed / calls


def time_block(s: Setup, now) -> None:
    """One untimed call first: the block measures the steady state a training run sees, not the
    switch from the previous setup (cold caches, the allocator re-fitting its free lists): the first
    PacGAN step at N = 128 after a switch ran 4–7 % slower than the next ones in one measurement."""
    s.call()
    t0 = now()
    for _ in range(s.calls):
        s.call()
    s.rates.append(s.calls * s.units / (now() - t0))


# -- the per-step breakdown -----------------------------------------------------------------------------
def breakdown(trainer, device: str, steps: int) -> dict[str, float]:
    """Milliseconds per step in sampling (data and noise draws), the optimizers, bookkeeping
    (divergence mask, running losses), forward + backward (the rest of the step) and evaluation
    (one ``evaluate()`` divided by eval_every). Each part is timed by wrapping the trainer's
    methods (with a device sync on CUDA, so these runs are slower than the throughput runs)."""
    now = _now(device)
    spent = {"sampling": 0.0, "optimizer": 0.0, "bookkeeping": 0.0}

    def timed(part, fn):
        def wrapped(*a, **kw):
            t0 = now()
            out = fn(*a, **kw)
            spent[part] += now() - t0
            return out
        return wrapped

    originals = {}
    for obj, name, part in ((trainer, "real", "sampling"), (trainer, "noise", "sampling"),
                            (trainer.opt_d, "step", "optimizer"), (trainer.opt_g, "step", "optimizer"),
                            (trainer.watch, "watch", "bookkeeping")):
        originals[(obj, name)] = getattr(obj, name)
        setattr(obj, name, timed(part, getattr(obj, name)))
    t0 = now()
    for _ in range(steps):
        trainer.train_step()
    total = now() - t0
    for (obj, name), fn in originals.items():
        setattr(obj, name, fn)
    t0 = now()
    trainer.evaluate()
    evaluation = (now() - t0) / trainer.cfg.eval_every
    out = {k: 1e3 * v / steps for k, v in spent.items()}
    out["forward + backward"] = 1e3 * total / steps - sum(out.values())
    out["evaluation (amortised)"] = 1e3 * evaluation
    return out


# -- report ----------------------------------------------------------------------------------------------
def summarise(setups: list[Setup]) -> dict[str, Any]:
    mm = next(s for s in setups if s.kind == "mm")
    peak = [r * mm.flops / 1e9 for r in mm.rates]
    plain = {s.size: s for s in setups if s.kind == "plain"}
    rows = []
    for s in setups:
        if s.kind == "mm":
            continue
        per_member = s.flops / s.units
        gflops = [r * per_member / 1e9 for r in s.rates]
        rows.append({
            "size": s.size, "kind": s.kind, "n": s.n, "label": s.label,
            "steps_per_s": statistics.median(s.rates), "steps_per_s_rounds": s.rates,
            "ratio_vs_plain": statistics.median(a / b for a, b in zip(s.rates, plain[s.size].rates)),
            "gflops": statistics.median(gflops),
            "pct_of_peak": statistics.median(100 * g / p for g, p in zip(gflops, peak)),
            "flops_per_member_step": per_member,
        })
    return {"peak_gflops": statistics.median(peak), "peak_gflops_rounds": peak, "rows": rows}


def verdicts(summary: dict[str, Any]) -> list[str]:
    rows = summary["rows"]
    lines = []
    for n, target in TARGET_RATIO.items():
        r = next((r for r in rows if r["size"] == "small" and r["kind"] == "engine" and r["n"] == n), None)
        if r:
            ok = r["ratio_vs_plain"] >= target
            lines.append(f"[{'PASS' if ok else 'FAIL'}] small nets, engine / plain loop at N = {n}: "
                         f"{r['ratio_vs_plain']:.2f}× (target ≥ {target}×)")
    for size, c in summary.get("plain_alone", {}).items():
        ok = abs(c["difference_pct"]) <= 10
        lines.append(f"[{'PASS' if ok else 'FAIL'}] {size} plain loop interleaved here vs the same script run alone: "
                     f"{c['interleaved']:.1f} vs {c['alone']:.1f} steps/s ({c['difference_pct']:+.1f} %; within ±10 %)")
    pac = [r for r in rows if r["size"] == "pacgan" and r["kind"] in ("engine", "compiled")]
    if pac:
        best = max(pac, key=lambda r: r["pct_of_peak"])
        ok = best["pct_of_peak"] >= TARGET_PEAK_PACGAN
        lines.append(f"[{'PASS' if ok else 'FAIL'}] PacGAN-size nets, best share of the fp32 matmul peak: "
                     f"{best['pct_of_peak']:.1f} % ({best['label']}; target ≥ {TARGET_PEAK_PACGAN:.0f} %)")
    return lines


def print_report(summary: dict[str, Any], parts: dict[str, dict[str, float]], flops: dict[str, float]) -> None:
    print(f"\nfp32 matmul peak (mm 2048²): {summary['peak_gflops']:.1f} GFLOP/s")
    for size, f in flops.items():
        print(f"{size}: {f / 1e6:.1f} MFLOP per member step (counted by torch's FLOP counter)")
    print(f"\n{'setup':<26} {'GAN steps/s':>12} {'vs plain':>9} {'GFLOP/s':>9} {'% of peak':>10}")
    for r in summary["rows"]:
        print(f"{r['label']:<26} {r['steps_per_s']:>12.1f} {r['ratio_vs_plain']:>8.2f}× {r['gflops']:>9.1f} "
              f"{r['pct_of_peak']:>9.1f}%")
    for name, p in parts.items():
        total = sum(v for k, v in p.items() if not k.startswith("evaluation"))
        print(f"\nbreakdown, {name} (ms per step; step total {total:.1f} ms):")
        for k, v in p.items():
            print(f"  {k:<24} {v:8.2f} ms")
    print()
    for line in verdicts(summary):
        print(line)


def plot(summary: dict[str, Any], parts: dict[str, dict[str, float]], meta: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    colours = {"small": "tab:blue", "pacgan": "tab:orange", "noise256": "tab:green"}
    for size, colour in colours.items():
        rows = [r for r in summary["rows"] if r["size"] == size]
        if not rows:  # a --replot of a run from before this size existed
            continue
        eng = sorted((r for r in rows if r["kind"] == "engine"), key=lambda r: r["n"])
        comp = sorted((r for r in rows if r["kind"] == "compiled"), key=lambda r: r["n"])
        plain = next(r for r in rows if r["kind"] == "plain")
        if eng:
            ns = [r["n"] for r in eng]
            axes[0].plot(ns, [r["ratio_vs_plain"] for r in eng], "o-", color=colour, label=f"engine, {size}")
            axes[1].plot(ns, [r["pct_of_peak"] for r in eng], "o-", color=colour, label=f"engine, {size}")
        if comp:
            axes[0].plot([r["n"] for r in comp], [r["ratio_vs_plain"] for r in comp], "s", color=colour, mfc="none",
                         label=f"engine + torch.compile, {size}")
            axes[1].plot([r["n"] for r in comp], [r["pct_of_peak"] for r in comp], "s", color=colour, mfc="none")
        axes[1].axhline(plain["pct_of_peak"], color=colour, ls="--", lw=1, label=f"plain loop, {size}")
    axes[0].axhline(1, color="k", lw=0.8)
    for n, target in TARGET_RATIO.items():
        axes[0].plot([n], [target], "k_", ms=18, mew=2)
    axes[0].plot([], [], "k_", ms=12, mew=2, label="target (small nets)")
    axes[1].axhline(TARGET_PEAK_PACGAN, color="tab:orange", ls=":", lw=1.2, label="target, PacGAN-size")
    axes[1].set_ylim(0, max(axes[1].get_ylim()[1], TARGET_PEAK_PACGAN + 5))
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("N (seeds trained together)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("total GAN steps/s ÷ plain loop's")
    axes[0].set_title("speed-up over the loop a user writes")
    axes[1].set_ylabel(f"% of fp32 matmul peak ({summary['peak_gflops']:.0f} GFLOP/s)")
    axes[1].set_title("share of peak (FLOPs autograd performs)")
    names = list(parts)
    keys = list(next(iter(parts.values()))) if parts else []
    bottom = [0.0] * len(names)
    for i, k in enumerate(keys):
        vals = [parts[n][k] for n in names]
        axes[2].bar(names, vals, bottom=bottom, label=k, color=f"C{i}")
        bottom = [b + v for b, v in zip(bottom, vals)]
    axes[2].set_ylabel("ms per step")
    axes[2].set_title("where a step's time goes")
    axes[2].legend(fontsize=7)
    axes[2].tick_params(axis="x", labelsize=8, labelrotation=35)
    for label in axes[2].get_xticklabels():
        label.set_horizontalalignment("right")
    fig.suptitle(f"ganlab engine speed — {meta['device_name']}, {meta['threads']} threads, torch {meta['torch']}",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="N = 1 and 32 only, short blocks, 3 rounds (≈ 2 min)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i] (default cpu)")
    p.add_argument("--ns", help="comma-separated N values (default by device)")
    p.add_argument("--compile-ns", default="32", help="N values also timed with torch.compile (default 32; "
                                                      "'' for none)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5; --quick 3)")
    p.add_argument("--block-seconds", type=float, help="seconds per timed block, after one untimed call and with at least "
                   f"{MIN_CALLS} timed calls (default 1.5; --quick 0.5)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's default)")
    p.add_argument("--out", help=f"figure path (default {DEFAULT_OUT.relative_to(ROOT)})")
    p.add_argument("--json", help="also write every measurement and the versions here")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--replot", metavar="JSON", help="only redraw the figure from a --json file of an earlier run")
    args = p.parse_args(argv)
    if args.replot:
        saved = json.loads(Path(args.replot).read_text())
        out = Path(args.out) if args.out else DEFAULT_OUT
        plot(saved["summary"], saved["breakdown"], saved["meta"], out)
        print(f"figure: {out} (from {args.replot}, measured {saved['meta']['time']})")
        return 0
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    try:
        ns = tuple(int(v) for v in args.ns.split(",")) if args.ns else NS[(kind, args.quick)]
        compile_ns = tuple(int(v) for v in args.compile_ns.split(",") if v.strip())
    except ValueError:
        p.error(f"--ns and --compile-ns take comma-separated integers, got {args.ns!r} / {args.compile_ns!r}")
    if not ns or min(ns) < 1:
        p.error("--ns values must be ≥ 1")
    rounds = args.rounds or (3 if args.quick else 5)
    block_s = args.block_seconds or (0.5 if args.quick else 1.5)
    if args.json and Path(args.json).exists() and not args.force:
        p.error(f"--json {args.json} exists; pass --force to overwrite it")
    out = Path(args.out) if args.out else DEFAULT_OUT
    import tempfile

    import torch

    from ganlab.training.config import Runtime
    from ganlab.training.runs import apply_threads

    if kind == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: this torch sees no CUDA GPU")
    apply_threads(Runtime(threads=args.threads or torch.get_num_threads()))  # what ganlab train does
    meta = {"device": args.device, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "device_name": torch.cuda.get_device_name(args.device) if kind == "cuda" else _cpu_name(),
            "argv": sys.argv, "ns": list(ns),
            "compile_ns": list(compile_ns), "rounds": rounds, "block_seconds": block_s,
            "time": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    print(f"torch {meta['torch']}, {meta['threads']} threads, {args.device}: {meta['device_name']}")
    spec_dir = Path(tempfile.mkdtemp(prefix="engine_speed_"))
    setups, extra = make_setups(args.device, ns, compile_ns, spec_dir)
    now = _now(args.device)
    t_start = time.perf_counter()
    for s in setups:
        per_call = calibrate(s, now, block_s)
        print(f"  {s.label:<26} {per_call * 1e3:9.2f} ms/call, {s.calls} calls per block", flush=True)
    order, shuffle = list(range(len(setups))), random.Random(0)
    for r in range(rounds):
        shuffle.shuffle(order)
        for i in order:
            time_block(setups[i], now)
        print(f"round {r + 1}/{rounds} ({time.perf_counter() - t_start:.0f} s)", flush=True)
    summary = summarise(setups)
    for plain in extra["plains"].values():
        plain.close()
    # the interleaved plain figure against the same script run alone, now
    summary["plain_alone"] = {}
    for size, plain in extra["plains"].items():
        inside = next(r["steps_per_s"] for r in summary["rows"] if r["size"] == size and r["kind"] == "plain")
        rates = [plain_alone(plain.spec, meta["threads"], steps=max(20, round(3 * inside))) for _ in range(3)]
        alone = statistics.median(rates)
        summary["plain_alone"][size] = {"alone": alone, "alone_runs": rates, "interleaved": inside,
                                        "difference_pct": 100 * (inside / alone - 1)}
        print(f"{size} plain loop: {inside:.1f} steps/s interleaved, {alone:.1f} alone as a script "
              f"({100 * (inside / alone - 1):+.1f} %)")
    parts = {}
    for (size, n, compiled), t in extra["trainers"].items():
        if n in (32, 128):
            parts[f"{size} N={n}{' compiled' if compiled else ''}"] = breakdown(
                t, args.device, steps=5 if size == "pacgan" else 20)
    print_report(summary, parts, extra["flops"])
    plot(summary, parts, meta, out)
    print(f"\nfigure: {out}  (total {time.perf_counter() - t_start:.0f} s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"meta": meta, "summary": summary, "breakdown": parts,
                                               "flops_per_member_step": extra["flops"],
                                               "verdicts": verdicts(summary)}, indent=2))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
