#!/usr/bin/env python
"""PacGAN's own 2-D training step (fjxmlzn/PacGAN, synthetic_data_experiments/, Theano + Blocks +
Fuel) written out as a plain PyTorch loop: an independent check of ganlab's ``pacgan`` preset.

Training uses torch alone (nn.Module, torch.optim.Adam); ganlab is imported only to score the
final samples with the same mode metrics as a ganlab run (``ganlab.metrics.modes``). What their
code does, with the file and line it comes from, is in ``benchmarks/pacgan_differences.md``;
defaults follow their code, and each flag switches one detail to what ganlab does:

* ``--packs fixed`` (theirs): 100,000 samples drawn once; each pack slot is a with-replacement
  resample of them, drawn once (``pacgan/datasets.py`` ``GaussianPackingMixture``), so the packs
  are fixed for the whole run and each epoch shuffles the 100,000 packs. ``fresh`` (ganlab): each
  step takes m·B rows of a shuffled epoch over the 100,000 samples, new pairings every epoch.
* ``--bn-eval population`` (theirs): sampling for evaluation uses batch norm's population
  statistics (moving averages, weight 0.05 on each step's batch statistics averaged over the m
  generator calls, refreshed by 50 batches at each epoch end by the train monitor); ``batch``
  (ganlab): the 2,500 evaluation samples' own statistics.
* ``--bn-eps`` 1e-4 (Blocks' BatchNormalization) or 1e-5 (ganlab, torch).
* ``--adam-eps blocks`` (Blocks' Adam: ε added to √v before the bias correction, i.e. torch's form
  with ε / √(1 − β2^t)) or ``torch`` (ganlab).
* ``--beta1`` 0.8 (their config; Blocks' Adam since January 2017). Blocks before that took the
  decay rate's complement, so the same 0.8 meant β1 = 0.2 (``--beta1 0.2``).

    python benchmarks/pacgan_reference_loop.py --target grid25 --pack 4 --epochs 2 --eval-at 1,2 \\
        --seeds 0,1,2 --out /tmp/ref.json

One epoch is 1,000 iterations (100,000 packs / batch 100), for every pack size, as in their code.
Every evaluation also sends the same noise through G with the other batch-norm statistics
(``other_bn_eval`` in the JSON): a paired comparison of the two on the same trained G. The
evaluation noise comes from the training stream, so the evaluation points are part of a run's
draws (same arguments, same numbers).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Their configs (2DRing_GAN&PacGAN/config.py, 2DGrid_GAN&PacGAN/config.py): means and mode std.
TARGETS = {
    "ring8": ([(math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)) for k in range(8)], 0.01),
    "grid25": ([(i, j) for i, j in itertools.product(range(-4, 5, 2), range(-4, 5, 2))], 0.05),
}
OTHER_BN = {"population": "batch", "batch": "population"}
NUM_SAMPLE, BATCH, ITERS_PER_EPOCH, EVAL_SAMPLES, MONITOR_BATCHES = 100_000, 100, 1000, 2500, 50


class BlocksBatchNorm(nn.Module):
    """Blocks' BatchNormalization: training normalises by the batch mean and √(biased var + ε);
    inference by the population mean and population stdev (no ε added again). The population is a
    moving average of the batch statistics, weight ``momentum`` on the new ones, updated once per
    step with the mean of the statistics of that step's calls (their pop_update merge)."""

    def __init__(self, width: int, eps: float, momentum: float = 0.05):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.scale, self.shift = nn.Parameter(torch.ones(width)), nn.Parameter(torch.zeros(width))
        self.register_buffer("pop_mean", torch.zeros(width))
        self.register_buffer("pop_stdev", torch.ones(width))
        self.population = False  # sample with the population statistics
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, h):
        if self.population:
            mean, stdev = self.pop_mean, self.pop_stdev
        else:
            mean = h.mean(0)
            stdev = torch.sqrt(h.var(0, unbiased=False) + self.eps)
            self.seen.append((mean.detach(), stdev.detach()))
        return (h - mean) / stdev * self.scale + self.shift

    @torch.no_grad()
    def commit(self):
        """One population update from the calls since the last one (their bn_updates)."""
        if self.seen:
            mean = torch.stack([m for m, _ in self.seen]).mean(0)
            stdev = torch.stack([s for _, s in self.seen]).mean(0)
            self.pop_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.pop_stdev.mul_(1 - self.momentum).add_(self.momentum * stdev)
        self.seen.clear()


class Maxout(nn.Module):
    """Blocks' LinearMaxout: consecutive groups of ``pieces`` units, max over each."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, h):
        return h.unflatten(-1, (-1, self.pieces)).max(-1).values


def generator(bn_eps: float) -> nn.Sequential:
    """2 → 4 × [400, BN, ReLU] (no bias) → 2 (bias); pacgan_task.py create_model_brick."""
    layers: list[nn.Module] = []
    for fan_in in (2, 400, 400, 400):
        layers += [nn.Linear(fan_in, 400, bias=False), BlocksBatchNorm(400, bn_eps), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(400, 2))


def discriminator(pack: int) -> nn.Sequential:
    """3 maxout layers (200 units × 5 pieces) → 1 logit, on packs of ``pack`` samples."""
    layers: list[nn.Module] = []
    for fan_in in (2 * pack, 200, 200):
        layers += [nn.Linear(fan_in, 200 * 5), Maxout(5)]
    return nn.Sequential(*layers, nn.Linear(200, 1))


def init_weights(net: nn.Module) -> None:
    """IsotropicGaussian(0.02) weights, Constant(0) biases; BN scale 1, shift 0."""
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def blocks_adam_eps(t: int, eps: float = 1e-8, beta2: float = 0.999) -> float:
    """The ε that makes torch's Adam step t (1-based) Blocks' step: Blocks computes
    lr·√(1 − β2^t)/(1 − β1^t) · m/(√v + ε), torch lr · m̂/(√v̂ + ε'); equal for ε' = ε/√(1 − β2^t)."""
    return eps / math.sqrt(1 - beta2 ** t)


def mixture(target: str, n: int, rng: np.random.RandomState) -> np.ndarray:
    """ALI's GaussianMixtureDistribution.sample: a uniform component, then its Gaussian."""
    means, std = TARGETS[target]
    k = rng.choice(len(means), size=n)
    return (np.asarray(means, dtype=np.float64)[k] + std * rng.normal(size=(n, 2))).astype(np.float32)


class Data:
    """Real packs [B, 2m] per iteration, ``fixed`` (theirs) or ``fresh`` (ganlab)."""

    def __init__(self, target: str, pack: int, packs: str, rng: np.random.RandomState):
        self.pack, self.packs, self.rng = pack, packs, rng
        self.samples = samples = mixture(target, NUM_SAMPLE, rng)
        if packs == "fixed":  # every slot a with-replacement resample, drawn once
            self.set = np.hstack([samples[rng.randint(0, NUM_SAMPLE, NUM_SAMPLE)] for _ in range(pack)])
        else:
            self.set = samples
        self.order, self.pos = np.empty(0, dtype=np.int64), 0

    def batch(self) -> torch.Tensor:
        rows = BATCH if self.packs == "fixed" else BATCH * self.pack
        if self.pos + rows > len(self.order):  # a new shuffled epoch (a remainder is dropped)
            self.order, self.pos = self.rng.permutation(len(self.set)), 0
        x = torch.from_numpy(self.set[self.order[self.pos:self.pos + rows]])
        self.pos += rows
        if self.packs == "fixed":
            return x
        return x.view(self.pack, BATCH, 2).transpose(0, 1).reshape(BATCH, 2 * self.pack)  # slot j: rows jB..


def train(args: argparse.Namespace, seed: int, score) -> dict:
    """One seed; ``score(samples)`` gives the mode metrics of the evaluation samples."""
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    data = Data(args.target, args.pack, args.packs, rng)
    G, D = generator(args.bn_eps), discriminator(args.pack)
    init_weights(G), init_weights(D)
    bns = [m for m in G.modules() if isinstance(m, BlocksBatchNorm)]
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(args.beta1, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(args.beta1, 0.999), eps=1e-8)

    def fakes() -> torch.Tensor:  # m separate generator calls (each its own BN statistics)
        return torch.cat([G(torch.randn(BATCH, 2)) for _ in range(args.pack)], dim=1)

    def refresh() -> None:  # the train monitor's 50 batches (no parameter update)
        with torch.no_grad():
            for _ in range(MONITOR_BATCHES):
                fakes()
                for bn in bns:
                    bn.commit()

    def sample(z: torch.Tensor, population: bool) -> torch.Tensor:
        for bn in bns:
            bn.population = population
        with torch.no_grad():
            x = G(z)
        for bn in bns:
            bn.population, bn.seen = False, []  # no population update from sampling
        return x.double()

    def evaluate(it: int) -> dict:
        """The metrics of 2,500 samples; the same noise through G with the other batch-norm
        statistics too (``other_bn_eval``), a paired comparison of the two."""
        z = torch.randn(EVAL_SAMPLES, 2)

        def metrics(mode: str) -> dict:
            m = score(sample(z, mode == "population"))
            return {"modes": m.modes_captured, "high_quality": 100 * m.high_quality_fraction, "reverse_kl": m.reverse_kl}

        other = OTHER_BN[args.bn_eval]
        return {"epoch": it / ITERS_PER_EPOCH, "iteration": it, **metrics(args.bn_eval),
                "other_bn_eval": {"bn_eval": other, **metrics(other)}}

    refresh()  # the monitor also runs before the first epoch
    evals_at = sorted({round(e * ITERS_PER_EPOCH) for e in args.eval_at} | {round(args.epochs * ITERS_PER_EPOCH)})
    out, losses = [], []
    for it in range(1, evals_at[-1] + 1):
        x, xt = data.batch(), fakes()
        logits = D(torch.cat([x, xt]))
        real, fake = logits[:BATCH], logits[BATCH:]
        d_loss = (F.softplus(-real) + F.softplus(fake)).mean()
        g_loss = (F.softplus(real) + F.softplus(-fake)).mean()  # softplus(real): no gradient for G
        # simultaneous (ali_algorithm): both gradients at the same parameters, then both steps
        grads_d = torch.autograd.grad(d_loss, list(D.parameters()), retain_graph=True)
        grads_g = torch.autograd.grad(g_loss, list(G.parameters()))
        for p, g in itertools.chain(zip(D.parameters(), grads_d), zip(G.parameters(), grads_g)):
            p.grad = g
        if args.adam_eps == "blocks":
            for opt in (opt_d, opt_g):
                opt.param_groups[0]["eps"] = blocks_adam_eps(it)
        opt_d.step(), opt_g.step()
        for bn in bns:
            bn.commit()
        losses.append((d_loss.item(), g_loss.item()))
        if it % ITERS_PER_EPOCH == 0:
            refresh()  # each epoch ends with the monitor, before their GraphLogger samples
        if it in evals_at:
            row = evaluate(it)
            recent = np.asarray(losses[-ITERS_PER_EPOCH:])
            row["d_loss"], row["g_loss"] = float(recent[:, 0].mean()), float(recent[:, 1].mean())
            out.append(row)
    return {"seed": seed, "evals": out}


def summary(runs: list[dict]) -> list[dict]:
    """Mean ± s.e. over seeds at each evaluation."""
    rows = []
    for i, ev in enumerate(runs[0]["evals"]):
        row = {"epoch": ev["epoch"]}
        for prefix, get in (("", lambda e: e), ("other_bn_eval_", lambda e: e["other_bn_eval"])):
            for key in ("modes", "high_quality", "reverse_kl"):
                v = np.asarray([get(r["evals"][i])[key] for r in runs], dtype=np.float64)
                row[prefix + key] = float(v.mean())
                row[prefix + key + "_se"] = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
        rows.append(row)
    return rows


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    def seeds(s: str) -> list[int]:
        try:
            return [int(x) for x in s.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {s!r}") from None

    def epochs(s: str) -> list[float]:
        try:
            v = [float(x) for x in s.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"epochs must be numbers, got {s!r}") from None
        if not all(math.isfinite(e) and e > 0 for e in v):
            raise argparse.ArgumentTypeError(f"epochs must be positive, got {s!r}")
        return v

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=sorted(TARGETS), default="grid25")
    p.add_argument("--pack", type=int, default=1, help="m, samples per pack (default 1: GAN)")
    def one_epoch_count(s: str) -> float:
        v = epochs(s)
        if len(v) != 1:
            raise argparse.ArgumentTypeError(f"--epochs takes one number, got {s!r}")
        return v[0]

    p.add_argument("--epochs", type=one_epoch_count, default=1.0,
                   help="training length in epochs of 1,000 iterations (fractional allowed; default 1)")
    p.add_argument("--eval-at", type=epochs, default=[], help="further epochs to evaluate at, e.g. 0.5,1")
    p.add_argument("--seeds", type=seeds, default=[0, 1, 2])
    p.add_argument("--packs", choices=("fixed", "fresh"), default="fixed")
    p.add_argument("--bn-eval", choices=("population", "batch"), default="population")
    p.add_argument("--bn-eps", type=float, default=1e-4)
    p.add_argument("--adam-eps", choices=("blocks", "torch"), default="blocks")
    p.add_argument("--beta1", type=float, default=0.8)
    p.add_argument("--out", type=Path, help="JSON file to write (default: print only)")
    a = p.parse_args(argv)
    if a.pack < 1:
        p.error(f"--pack must be a positive integer, got {a.pack}")
    if not 0 <= a.beta1 < 1:
        p.error(f"--beta1 must be in [0, 1), got {a.beta1}")
    if not (math.isfinite(a.bn_eps) and a.bn_eps > 0):
        p.error(f"--bn-eps must be positive, got {a.bn_eps}")
    if any(e > a.epochs for e in a.eval_at):
        p.error(f"--eval-at {a.eval_at} goes past --epochs {a.epochs}")
    if round(min([a.epochs, *a.eval_at]) * ITERS_PER_EPOCH) < 1:
        p.error("every evaluation must come after at least one iteration")
    return a


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    from ganlab.metrics.modes import mode_metrics  # scoring only: the numbers of a ganlab run
    from ganlab.theory.targets import make_target

    target = make_target(args.target)
    runs = [train(args, s, lambda x: mode_metrics(x, target)) for s in args.seeds]
    result = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "runs": runs, "summary": summary(runs)}
    for row in result["summary"]:
        print(f"epoch {row['epoch']:g}: modes {row['modes']:.1f} ± {row['modes_se']:.1f}, high quality "
              f"{row['high_quality']:.1f} ± {row['high_quality_se']:.1f} %, reverse KL "
              f"{row['reverse_kl']:.3f} ± {row['reverse_kl_se']:.3f}; with {OTHER_BN[args.bn_eval]} batch-norm "
              f"statistics: modes {row['other_bn_eval_modes']:.1f}, high quality {row['other_bn_eval_high_quality']:.1f} "
              f"± {row['other_bn_eval_high_quality_se']:.1f} %")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
