#!/usr/bin/env python
"""How fast is the batched engine? Total GAN steps/s of N seeds trained as one ``Trainer``
against the plain single-seed loop (``NaiveGAN``), and the share of the machine's matmul peak it
reaches, for two net sizes:

* "small":  the ``quick`` preset nets (G and D 2 × 128 ReLU), batch 256, non-saturating GAN;
* "pacgan": the ``pacgan`` preset nets (G 4 × 400 batch norm, D 3 maxout layers 200 × 5),
  batch 100, pack 1, fresh samples every step (dataset_size=None).

Everything is measured in one process in interleaved rounds (each round times every setup once,
in a shuffled order); the tables report medians over rounds, and ratios / shares of peak are
medians of the per-round ratios, so slow drift of a shared machine cancels.

    python benchmarks/engine_speed.py [--quick] [--device cpu|cuda] [--out PNG] [--json PATH]

On Linux/glibc the script re-executes itself once with GLIBC_TUNABLES set (see
shared/notes/measured-performance.md: glibc otherwise returns large freed blocks to the OS and
faults them back every step); ``--no-tune`` skips that, and a GLIBC_TUNABLES already in the
environment is left as it is.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"
REEXEC_MARK = "GANLAB_ENGINE_SPEED_REEXEC"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "figures" / "engine_speed.png"

# targets the project's README states for the engine
TARGET_RATIO_SMALL = 2.5  # engine / naive total steps/s, small nets, some N >= 32
TARGET_PEAK_PACGAN = 60.0  # % of the fp32 matmul peak, PacGAN-size nets, some N >= 32
HEADLINE_MIN_N = 32

NS = {
    ("cpu", False): (1, 8, 32, 128),
    ("cpu", True): (1, 8, 32),
    ("cuda", False): (1, 8, 32, 128, 256, 512, 1024),
    ("cuda", True): (1, 32, 256),
}


# -- process set-up ------------------------------------------------------------------------------


def _maybe_reexec(no_tune: bool) -> None:
    """Restart this process with the allocator tunables (glibc reads them only at start-up)."""
    if no_tune or "GLIBC_TUNABLES" in os.environ:
        return
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    env = dict(os.environ, GLIBC_TUNABLES=TUNABLES, **{REEXEC_MARK: "1"})
    print(f"re-executing with GLIBC_TUNABLES={TUNABLES}", flush=True)
    argv = [sys.executable] + list(getattr(sys, "orig_argv", [sys.executable] + sys.argv)[1:])
    os.execve(sys.executable, argv, env)


def _tunables_line(no_tune: bool) -> str:
    value = os.environ.get("GLIBC_TUNABLES")
    if value is None:
        return "GLIBC_TUNABLES not set" + (" (--no-tune)" if no_tune else " (not a glibc system)")
    how = "set by this script's re-exec" if os.environ.get(REEXEC_MARK) == "1" else "from the environment"
    return f"GLIBC_TUNABLES={value} ({how})"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _check_output(parser: argparse.ArgumentParser, path: str | None, default: Path | None, force: bool, what: str) -> Path | None:
    """A user-given path that exists is overwritten only with --force (the default figure is ours)."""
    if path is None:
        return default
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        parser.error(f"{what} {path} is a directory")
    if p.exists() and p != default and not force:
        parser.error(f"{what} {path} exists; pass --force to overwrite it")
    return p


# -- what is timed --------------------------------------------------------------------------------


@dataclass
class Setup:
    """One thing timed each round: ``call()`` does ``units`` GAN steps (or one matmul)."""

    label: str
    size: str  # "small" | "pacgan" | "peak"
    kind: str  # "naive" | "engine" | "mm" | "bmm"
    n: int
    call: Callable[[], Any]
    units: int  # GAN steps (all members) or matmuls per call
    flops: float  # FLOPs per call
    calls: int = 1  # calls per timed block (set by calibration)
    rates: list[float] = field(default_factory=list)  # units/s, one per round


def step_flops(cfg) -> tuple[float, float, float]:
    """FLOPs of one GAN step of ONE member: (total, F_G, F_D), matmuls only.

    F_G = G.flops(batch·pack) and F_D = D.flops(batch) are forward FLOPs (2 × multiply-adds,
    ``MLP.flops``); forward + backward ≈ 3 × forward. One generator update after d_steps
    discriminator updates (Trainer.train_step and NaiveGAN.train_step):
      each D step:  G forward without grad on fresh noise            F_G
                    D forward + backward on the real batch           3 F_D
                    D forward + backward on the fake batch           3 F_D
      the G step:   G forward + backward                             3 F_G
                    D forward + backward (back to its input)         3 F_D
      total = d_steps · (F_G + 6 F_D) + 3 F_G + 3 F_D      (d_steps = 1: 4 F_G + 9 F_D)
    This is the convention of shared/notes/measured-performance.md (small nets: 112 MFLOP). It
    slightly overstates the matmul work: in the G step autograd skips D's weight gradients
    (≈ 2 F_D, not 3 F_D) and no layer computes the gradient of its data input, so the true count
    is lower by ≈ F_D + ε (≈ 7–8 % here). Batch norm, maxout, losses and Adam are not counted.
    """
    from ganlab.models.mlp import MLP
    from ganlab.theory.targets import make_target

    m = cfg.method
    dim = make_target(cfg.target, **cfg.target_kwargs).dim
    f_g = MLP(cfg.generator, cfg.noise_dim, dim).flops(m.batch_size * m.pack)
    f_d = MLP(cfg.discriminator, dim * m.pack, 1).flops(m.batch_size)
    return m.d_steps * (f_g + 6 * f_d) + 3 * f_g + 3 * f_d, f_g, f_d


def size_configs() -> dict[str, Any]:
    from ganlab.training.presets import pacgan, quick

    small = quick(target="ring8", method="nonsaturating", seeds=(0,))
    pac = pacgan(target="grid25", pack=1, seeds=(0,))
    pac = replace(pac, dataset_size=None)  # fresh samples: what NaiveGAN supports, same work
    return {"small": small, "pacgan": pac}


def naive_setup(size: str, cfg, device: str) -> Setup:
    """NaiveGAN ignores cfg.device; on cuda its modules and draws are moved here."""
    import torch

    from ganlab.training.methods import OPTIMIZERS
    from ganlab.training.reference import NaiveGAN

    gan = NaiveGAN(cfg, seed=0)
    if device != "cpu":
        dev = torch.device(device)
        gan.G.to(dev)
        gan.D.to(dev)
        gan.opt_g = OPTIMIZERS[gan.m.optimizer](list(gan.G.parameters()), gan.m.lr_g, gan.m)
        gan.opt_d = OPTIMIZERS[gan.m.optimizer](list(gan.D.parameters()), gan.m.lr_d, gan.m)
        real, noise = gan._real, gan._noise  # draws stay on the CPU generator, as in the engine
        gan._real = lambda n: real(n).to(dev)
        gan._noise = lambda n: noise(n).to(dev)
    return Setup(f"{size} naive", size, "naive", 1, gan.train_step, 1, step_flops(cfg)[0])


def engine_setup(size: str, cfg, n: int, device: str) -> Setup:
    from ganlab.training.engine import Trainer

    trainer = Trainer(replace(cfg, seeds=tuple(range(n)), device=device))
    return Setup(f"{size} engine N={n}", size, "engine", n, trainer.train_step, n, n * step_flops(cfg)[0])


def peak_setups(device: str) -> list[Setup]:
    import torch

    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(2048, 2048, device=device, generator=g)
    b = torch.randn(2048, 2048, device=device, generator=g)
    c = torch.empty(2048, 2048, device=device)
    x = torch.randn(128, 100, 400, device=device, generator=g)
    w = torch.randn(128, 400, 400, device=device, generator=g)
    y = torch.empty(128, 100, 400, device=device)
    return [
        Setup("fp32 mm 2048²", "peak", "mm", 0, lambda: torch.mm(a, b, out=c), 1, 2 * 2048**3),
        Setup("fp32 bmm 128×[100×400]@[400×400]", "peak", "bmm", 0, lambda: torch.bmm(x, w, out=y), 1,
              2 * 128 * 100 * 400 * 400),
    ]


# -- timing ---------------------------------------------------------------------------------------


def _timer(device: str) -> Callable[[], float]:
    import torch

    if device.startswith("cuda"):
        def now() -> float:
            torch.cuda.synchronize(device)
            return time.perf_counter()
        return now
    return time.perf_counter


def calibrate(s: Setup, now, block_s: float, warmup: int, min_calls: int) -> float:
    """Warm up, then pick calls per block so that one block lasts about block_s seconds."""
    for _ in range(warmup):
        s.call()
    calls, elapsed = 1, 0.0
    while True:
        t0 = now()
        for _ in range(calls):
            s.call()
        elapsed = now() - t0
        if elapsed >= 0.1 * block_s or calls >= 1 << 16:
            break
        calls *= 4
    s.calls = max(min_calls, math.ceil(block_s * calls / max(elapsed, 1e-9)))
    return elapsed / calls


def time_block(s: Setup, now) -> None:
    t0 = now()
    for _ in range(s.calls):
        s.call()
    s.rates.append(s.calls * s.units / (now() - t0))


# -- results --------------------------------------------------------------------------------------


def summarise(setups: list[Setup], rounds: int) -> dict[str, Any]:
    """Medians over rounds; ratios and shares of peak as medians of per-round values."""
    by = {(s.size, s.kind, s.n): s for s in setups}
    mm, bmm = by[("peak", "mm", 0)], by[("peak", "bmm", 0)]
    peak = [r * mm.flops / 1e9 for r in mm.rates]  # GFLOP/s per round
    peak_bmm = [r * bmm.flops / 1e9 for r in bmm.rates]
    rows = []
    for s in setups:
        if s.size == "peak":
            continue
        naive = by[(s.size, "naive", 1)]
        per_unit = s.flops / s.units  # FLOPs of one GAN step of one member
        gflops = [r * per_unit / 1e9 for r in s.rates]
        rows.append({
            "size": s.size,
            "kind": s.kind,
            "n": s.n,
            "label": s.label,
            "calls_per_block": s.calls,
            "steps_per_s_rounds": s.rates,
            "steps_per_s": statistics.median(s.rates),
            "ratio_vs_naive": statistics.median(a / b for a, b in zip(s.rates, naive.rates)),
            "gflops": statistics.median(gflops),
            "pct_of_peak": statistics.median(100 * g / p for g, p in zip(gflops, peak)),
            "pct_of_bmm_peak": statistics.median(100 * g / p for g, p in zip(gflops, peak_bmm)),
            "flops_per_gan_step": per_unit,
        })
    return {
        "peak_gflops": statistics.median(peak),
        "peak_gflops_rounds": peak,
        "bmm_gflops": statistics.median(peak_bmm),
        "bmm_gflops_rounds": peak_bmm,
        "rows": rows,
        "rounds": rounds,
    }


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    big = [r for r in summary["rows"] if r["kind"] == "engine" and r["n"] >= HEADLINE_MIN_N]
    small = [r for r in big if r["size"] == "small"]
    pac = [r for r in big if r["size"] == "pacgan"]
    out: dict[str, Any] = {}
    if small:
        best = max(small, key=lambda r: r["ratio_vs_naive"])
        out["small_ratio"] = {
            "best": best["ratio_vs_naive"], "best_n": best["n"],
            "worst": min(r["ratio_vs_naive"] for r in small),
            "target": TARGET_RATIO_SMALL, "pass": best["ratio_vs_naive"] >= TARGET_RATIO_SMALL,
        }
    if pac:
        best = max(pac, key=lambda r: r["pct_of_peak"])
        out["pacgan_pct_of_peak"] = {
            "best": best["pct_of_peak"], "best_n": best["n"],
            "worst": min(r["pct_of_peak"] for r in pac),
            "target": TARGET_PEAK_PACGAN, "pass": best["pct_of_peak"] >= TARGET_PEAK_PACGAN,
        }
    return out


def print_report(summary: dict[str, Any], heads: dict[str, Any], device: str) -> None:
    print()
    print(f"matmul peak: fp32 mm 2048² {summary['peak_gflops']:.1f} GFLOP/s; "
          f"bmm 128×[100×400]@[400×400] {summary['bmm_gflops']:.1f} GFLOP/s "
          f"(medians of {summary['rounds']} rounds)")
    print()
    print(f"{'size':<7} {'run':<7} {'N':>5} {'steps/s total':>14} {'vs naive':>9} {'GFLOP/s':>9} {'% of peak':>10}")
    for r in summary["rows"]:
        print(f"{r['size']:<7} {r['kind']:<7} {r['n']:>5} {r['steps_per_s']:>14.1f} "
              f"{r['ratio_vs_naive']:>8.2f}× {r['gflops']:>9.1f} {r['pct_of_peak']:>9.1f}%")
    print()
    print("naive: one seed's NaiveGAN steps/s; a loop over N seeds has the same total steps/s.")
    print("engine: N × ensemble steps/s. GFLOP/s from 4·F_G + 9·F_D per GAN step (matmuls; see "
          "step_flops). Ratios and % of peak are medians of per-round values.")
    if device.startswith("cuda"):
        print("NOTE: this was a GPU run; the targets below were set for the 2-core CPU.")
    print()
    if "small_ratio" in heads:
        h = heads["small_ratio"]
        print(f"[{'PASS' if h['pass'] else 'FAIL'}] small nets, engine/naive at N ≥ {HEADLINE_MIN_N}: "
              f"best {h['best']:.2f}× (N={h['best_n']}), worst {h['worst']:.2f}×; target ≥ {h['target']}×")
    if "pacgan_pct_of_peak" in heads:
        h = heads["pacgan_pct_of_peak"]
        print(f"[{'PASS' if h['pass'] else 'FAIL'}] PacGAN-size nets, % of fp32 matmul peak at N ≥ {HEADLINE_MIN_N}: "
              f"best {h['best']:.1f} % (N={h['best_n']}), worst {h['worst']:.1f} %; target ≥ {h['target']:.0f} %")
    if not heads:
        print(f"no engine run with N ≥ {HEADLINE_MIN_N}: no headline numbers")


def plot(summary: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    colours = {"small": "tab:blue", "pacgan": "tab:orange"}
    names = {"small": "small (2×128, batch 256)", "pacgan": "PacGAN-size (G 4×400 BN, D maxout 3×200×5, batch 100)"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    for size, colour in colours.items():
        eng = sorted((r for r in summary["rows"] if r["size"] == size and r["kind"] == "engine"), key=lambda r: r["n"])
        naive = [r for r in summary["rows"] if r["size"] == size and r["kind"] == "naive"]
        if not eng:
            continue
        ns = [r["n"] for r in eng]
        left.plot(ns, [r["steps_per_s"] for r in eng], "o-", color=colour, label=f"engine, {names[size]}")
        right.plot(ns, [r["pct_of_peak"] for r in eng], "o-", color=colour, label=f"engine, {size}")
        if naive:
            left.axhline(naive[0]["steps_per_s"], color=colour, ls="--", lw=1, label=f"naive loop, {size}")
            right.axhline(naive[0]["pct_of_peak"], color=colour, ls="--", lw=1, label=f"naive loop, {size}")
            if size == "small":
                left.axhline(TARGET_RATIO_SMALL * naive[0]["steps_per_s"], color=colour, ls=":", lw=1,
                             label=f"target {TARGET_RATIO_SMALL}× naive, small")
    right.axhline(TARGET_PEAK_PACGAN, color="tab:orange", ls=":", lw=1, label=f"target {TARGET_PEAK_PACGAN:.0f} %, PacGAN-size")
    ns = sorted({r["n"] for r in summary["rows"] if r["kind"] == "engine"})
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("N (seeds trained together)")
        ax.grid(True, which="both", alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel("GAN steps/s, all members")
    left.set_title("throughput")
    right.set_ylabel(f"% of fp32 matmul peak ({summary['peak_gflops']:.0f} GFLOP/s)")
    right.set_title("share of peak (4·F_G + 9·F_D FLOPs per step)")
    right.set_ylim(bottom=0)
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.suptitle(f"ganlab engine speed — {meta['device_name']}, {meta['threads']} threads, torch {meta['torch']}"
                 f"{' (GPU run)' if meta['device'].startswith('cuda') else ''}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer N values, shorter blocks, fewer rounds (≈ 1 min)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i] (default cpu)")
    parser.add_argument("--out", default=None, help=f"figure path (default {DEFAULT_OUT.relative_to(ROOT)} in the repository)")
    parser.add_argument("--json", default=None, help="also write every measurement and the versions here")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out / --json file")
    parser.add_argument("--no-tune", action="store_true", help="do not re-exec with GLIBC_TUNABLES")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7; --quick 3)")
    parser.add_argument("--block-seconds", type=float, default=None, help="seconds per timed block (default 2; --quick 0.4)")
    parser.add_argument("--ns", default=None, help="comma-separated N values for the engine (default by device)")
    args = parser.parse_args(argv)

    if not args.device.startswith(("cpu", "cuda")):
        parser.error(f"--device must be cpu or cuda[:i], got {args.device!r}")
    out = _check_output(parser, args.out, DEFAULT_OUT, args.force, "--out")
    json_path = _check_output(parser, args.json, None, args.force, "--json")
    rounds = args.rounds or (3 if args.quick else 7)
    block_s = args.block_seconds or (0.4 if args.quick else 2.0)
    if rounds < 1 or block_s <= 0:
        parser.error("--rounds must be ≥ 1 and --block-seconds > 0")
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    try:
        ns = tuple(int(v) for v in args.ns.split(",")) if args.ns else NS[(kind, args.quick)]
    except ValueError:
        parser.error(f"--ns must be comma-separated integers, got {args.ns!r}")
    if not ns or min(ns) < 1:
        parser.error("--ns values must be ≥ 1")

    if argv is None:  # only a real command line is re-executed
        _maybe_reexec(args.no_tune)

    import matplotlib
    import numpy
    import torch

    import ganlab

    if kind == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch.cuda.is_available() is False")
    device = args.device
    meta = {
        "device": device,
        "device_name": torch.cuda.get_device_name(torch.device(device)) if kind == "cuda" else _cpu_name(),
        "cpu_name": _cpu_name(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "python": platform.python_version(),
        "ganlab": getattr(ganlab, "__version__", "?"),
        "cuda": torch.version.cuda,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "argv": sys.argv,
        "quick": args.quick,
        "rounds": rounds,
        "block_seconds": block_s,
        "ns": list(ns),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    print(f"torch {meta['torch']}, {meta['threads']} threads (interop {meta['interop_threads']}), "
          f"{device}: {meta['device_name']}")
    if kind == "cuda":
        print(f"GPU run (CUDA {meta['cuda']}); host CPU: {meta['cpu_name']}")
    print(_tunables_line(args.no_tune))
    print(f"engine N = {list(ns)}; {rounds} interleaved rounds of ≈ {block_s:g} s blocks")

    configs = size_configs()
    for size, cfg in configs.items():
        total, f_g, f_d = step_flops(cfg)
        print(f"{size}: F_G {f_g / 1e6:.1f} MFLOP, F_D {f_d / 1e6:.1f} MFLOP forward; "
              f"one GAN step ≈ {total / 1e6:.0f} MFLOP per member")

    setups: list[Setup] = peak_setups(device)
    for size, cfg in configs.items():
        setups.append(naive_setup(size, cfg, device))
        for n in ns:
            setups.append(engine_setup(size, cfg, n, device))

    now = _timer(device)
    t_start = time.perf_counter()
    print("warming up ...", flush=True)
    for s in setups:
        per_call = calibrate(s, now, block_s, warmup=2 if s.kind == "engine" else 5, min_calls=1)
        print(f"  {s.label:<36} {per_call * 1e3:9.2f} ms/call, {s.calls} calls per block", flush=True)
    order = list(range(len(setups)))
    shuffle = random.Random(0)
    for r in range(rounds):
        shuffle.shuffle(order)
        for i in order:
            time_block(setups[i], now)
        mm = setups[0]
        print(f"round {r + 1}/{rounds} done ({time.perf_counter() - t_start:.0f} s; "
              f"mm peak this round {mm.rates[-1] * mm.flops / 1e9:.0f} GFLOP/s)", flush=True)

    summary = summarise(setups, rounds)
    heads = headline(summary)
    print_report(summary, heads, device)

    plot(summary, meta, out)
    print(f"\nfigure: {out}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"meta": meta, "summary": summary, "headline": heads,
                                         "step_flops": {k: dict(zip(("total", "f_g", "f_d"), step_flops(c)))
                                                        for k, c in configs.items()}}, indent=2))
        print(f"json: {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
