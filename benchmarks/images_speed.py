#!/usr/bin/env python
"""How fast does the engine train a DCGAN on MNIST? Images per second of N seeds trained as one
``Trainer`` (the ``mnist-dcgan`` preset: a ``torch.func`` ensemble, grouped convolutions), against
the loop a user writes for one seed with the same architecture and batch (the same ``nn.Module``
factories, ``torch.optim.Adam``, BCE with logits, batches drawn with ``torch.randint`` from the
images on the device), timed in one process in interleaved rounds (medians; ratios are medians of
per-round ratios). Also the share of the fp32 matmul peak each reaches, counting the FLOPs torch's
FLOP counter sees in one step.

    python benchmarks/images_speed.py [--ns 1,4,8] [--device cpu|cuda] [--compile-ns 4] [--json PATH]

Targets (issue 10): on CPU, where convolutions at batch 64 are already compute-bound, no slower per
image than the plain loop at N ≥ 4 (ratio ≥ 1.0); on a GPU ≥ 2×. Uses the MNIST test split shipped
named by ``--data-dir`` or ``$GANLAB_MNIST_DIR``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_speed import Setup, _cpu_name, _now, calibrate, time_block  # noqa: E402

TARGET_RATIO_CPU, TARGET_RATIO_GPU = 1.0, 2.0


class PlainDCGAN:
    """One DCGAN trained the plain way on images held on the device."""

    def __init__(self, cfg, images, device: str):
        import torch

        from ganlab.models.conv import dcgan_discriminator, dcgan_generator

        self.dev = torch.device(device)
        self.images = images.to(self.dev)
        m = cfg.method
        self.batch, self.zd = m.batch_size, cfg.noise_dim
        torch.manual_seed(0)
        self.G = dcgan_generator(cfg.generator, cfg.noise_dim, tuple(images.shape[1:])).to(self.dev)
        self.D = dcgan_discriminator(cfg.discriminator, tuple(images.shape[1:]), 1).to(self.dev)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=m.lr_g, betas=m.betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=m.lr_d, betas=m.betas)
        self.ones = torch.ones(self.batch, 1, device=self.dev)
        self.zeros = torch.zeros(self.batch, 1, device=self.dev)

    def step(self) -> None:
        import torch
        import torch.nn.functional as F

        real = self.images[torch.randint(self.images.shape[0], (self.batch,), device=self.dev)]
        fake = self.G(torch.randn(self.batch, self.zd, device=self.dev))
        self.opt_d.zero_grad()
        (F.binary_cross_entropy_with_logits(self.D(real), self.ones)
         + F.binary_cross_entropy_with_logits(self.D(fake.detach()), self.zeros)).backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        fake = self.G(torch.randn(self.batch, self.zd, device=self.dev))
        F.binary_cross_entropy_with_logits(self.D(fake), self.ones).backward()
        self.opt_g.step()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ns", default="1,4,8", help="seeds trained together (default 1,4,8)")
    p.add_argument("--compile-ns", default="", help="N values also timed with torch.compile (default none)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", help="MNIST directory (default: $GANLAB_MNIST_DIR)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--block-seconds", type=float, default=3.0)
    p.add_argument("--threads", type=int)
    p.add_argument("--json")
    args = p.parse_args(argv)
    try:
        ns = [int(v) for v in args.ns.split(",")]
        compile_ns = [int(v) for v in args.compile_ns.split(",") if v.strip()]
    except ValueError:
        p.error(f"--ns / --compile-ns take comma-separated integers, got {args.ns!r} / {args.compile_ns!r}")

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ganlab.data.images import DATASETS
    from ganlab.training.config import Runtime
    from ganlab.training.engine import Trainer
    from ganlab.training.presets import mnist_dcgan

    from ganlab.training.runs import apply_threads

    apply_threads(Runtime(threads=args.threads or torch.get_num_threads()))  # what ganlab train does
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda: this torch sees no CUDA GPU")
    cfg = replace(mnist_dcgan(seeds=(0,)), evaluators=(), final_evaluators=())
    source = DATASETS[cfg.target].build(args.data_dir)
    rt = lambda compiled=False: Runtime(device=args.device, compile=compiled, data_dir=args.data_dir)  # noqa: E731
    batch = cfg.method.batch_size
    one = Trainer(cfg, rt(), source=source)
    one.train_step()
    with FlopCounterMode(display=False) as counter:
        one.train_step()
    flops = float(counter.get_total_flops())  # one member's step

    g = torch.Generator(device=args.device).manual_seed(0)
    a, b = (torch.randn(2048, 2048, device=args.device, generator=g) for _ in range(2))
    c = torch.empty(2048, 2048, device=args.device)
    plain = PlainDCGAN(cfg, source.digits.train.images, args.device)
    setups = [Setup("fp32 mm 2048²", "peak", "mm", 0, lambda: torch.mm(a, b, out=c), 1, 2 * 2048**3),
              Setup("plain loop", "dcgan", "plain", 1, plain.step, batch, flops)]
    for n in ns:
        for compiled in (False, True):
            if compiled and n not in compile_ns:
                continue
            t = Trainer(replace(cfg, seeds=tuple(range(n))), rt(compiled), source=source)
            kind = "compiled" if compiled else "engine"
            setups.append(Setup(f"{kind} N={n}", "dcgan", kind, n, t.train_step, n * batch, n * flops))
    now = _now(args.device)
    device_name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else _cpu_name()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}: {device_name}; "
          f"{flops / 1e9:.2f} GFLOP per member step (batch {batch})")
    t0 = time.perf_counter()
    for s in setups:
        per = calibrate(s, now, args.block_seconds)
        print(f"  {s.label:<16} {per * 1e3:9.1f} ms/call", flush=True)
    order, shuffle = list(range(len(setups))), random.Random(0)
    for r in range(args.rounds):
        shuffle.shuffle(order)
        for i in order:
            time_block(setups[i], now)
        print(f"round {r + 1}/{args.rounds} ({time.perf_counter() - t0:.0f} s)", flush=True)
    mm = setups[0]
    peak = [r * mm.flops / 1e9 for r in mm.rates]
    base = setups[1]
    rows = []
    for s in setups[1:]:
        gflops = [r / batch * flops / 1e9 for r in s.rates]  # images/s ÷ batch = member steps/s
        rows.append({"label": s.label, "n": s.n, "images_per_s": statistics.median(s.rates),
                     "ratio_vs_plain": statistics.median(x / y for x, y in zip(s.rates, base.rates)),
                     "pct_of_peak": statistics.median(100 * f / q for f, q in zip(gflops, peak))})
    print(f"\nfp32 matmul peak {statistics.median(peak):.1f} GFLOP/s")
    print(f"{'setup':<16} {'images/s':>10} {'vs plain':>9} {'% of peak':>10}")
    for r in rows:
        print(f"{r['label']:<16} {r['images_per_s']:>10.1f} {r['ratio_vs_plain']:>8.2f}× {r['pct_of_peak']:>9.1f}%")
    target = TARGET_RATIO_GPU if args.device.startswith("cuda") else TARGET_RATIO_CPU
    big = [r for r in rows if r["label"].startswith("engine") and r["n"] >= 4]
    for r in big:
        ok = r["ratio_vs_plain"] >= target
        print(f"[{'PASS' if ok else 'FAIL'}] {r['label']}: {r['ratio_vs_plain']:.2f}× the plain loop's images/s "
              f"(target ≥ {target}× on {'GPU' if target > 1 else 'CPU'})")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": args.device, "device_name": device_name,
                                               "threads": torch.get_num_threads(), "torch": torch.__version__,
                                               "flops_per_member_step": flops, "peak_gflops": peak, "rows": rows},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
