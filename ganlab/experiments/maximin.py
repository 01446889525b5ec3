"""Minimax against maximin (the UIUC notes; Goodfellow 2016, §5.1.1): in min_G max_D V the
discriminator answers the generator, and at the equilibrium p_g = p_data; in max_D min_G V the
generator answers a fixed discriminator, and its best response puts all its mass at the
discriminator's argmax (min over p_g of E_{p_g} log(1 − D(x)) is attained by a point mass there):
mode collapse.

Alternating gradient descent interpolates between the two orders: with many generator steps per
discriminator step G nearly best-responds to each D and collapses onto one mode at a time (and
hops); with many discriminator steps per generator step D is near D* for every G and G follows
∇ C(G) towards p_data, covering the ring's modes.

The measurement: each generated sample is assigned to its nearest ring mode; the mode histogram's
entropy H (natural log) gives e^H effective modes: 1 for a point mass, 8 for p_data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from ..models.mlp import MLPSpec
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.methods import MethodConfig
from .common import member_seeds, pick


@dataclass(frozen=True)
class Settings:
    steps: int  # alternating steps (each: d_steps D updates, g_steps G updates)
    many: int  # "many" updates per step of the other player
    seeds: int
    eval_samples: int
    record_every: int
    ring_std: float = 0.05
    width: int = 64
    lr: float = 1e-3
    batch: int = 256


SETTINGS = {
    "short": Settings(steps=150, many=10, seeds=4, eval_samples=2000, record_every=25),
    "long": Settings(steps=600, many=10, seeds=6, eval_samples=5000, record_every=25),
}
ORDERS = {"many G steps per D step": ("g_steps",), "many D steps per G step": ("d_steps",)}


def mode_entropy(x: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per member: the entropy of the nearest-mode histogram of samples x [N, n, 2], and the
    histogram [N, K]."""
    k = torch.cdist(x.to(torch.float64), centres.expand(x.shape[0], -1, -1)).argmin(-1)
    h = torch.stack([torch.bincount(row, minlength=centres.shape[0]) for row in k]).to(torch.float64)
    h = h / h.sum(1, keepdim=True)
    return -(torch.where(h > 0, h * torch.log(h), torch.zeros_like(h))).sum(1), h


def order_config(order: str, s: Settings, seed: int) -> TrainConfig:
    """Alternating, non-saturating GAN on ring8 (std ``s.ring_std``) with ``s.many`` updates of
    one player per update of the other (``ORDERS``)."""
    (field_,) = ORDERS[order]
    return TrainConfig(
        target="ring8", target_kwargs={"std": s.ring_std},
        method=MethodConfig(generator_loss="nonsaturating", lr_d=s.lr, lr_g=s.lr, batch_size=s.batch,
                            **{field_: s.many}),
        generator=MLPSpec(width=s.width, depth=2), discriminator=MLPSpec(width=s.width, depth=2),
        seeds=member_seeds(seed, s.seeds), steps=s.steps, evaluators=(), final_evaluators=(),
    )


@dataclass
class OrderResult:
    order: str
    entropy: list[float] = field(default_factory=list)  # final, per seed
    histogram: list[list[float]] = field(default_factory=list)
    history: dict[int, list[float]] = field(default_factory=dict)  # step → entropy per seed
    samples: list[list[list[float]]] = field(default_factory=list)  # seed 0's final samples (figure)
    d_grid: list[list[float]] = field(default_factory=list)  # seed 0's D logits on a grid (figure)


@dataclass
class MaximinResult:
    settings: Settings
    orders: dict[str, OrderResult]
    grid: list[float]


GRID = torch.linspace(-1.6, 1.6, 81)


def run_order(order: str, s: Settings, seed: int) -> OrderResult:
    t = Trainer(order_config(order, s, seed), Runtime(progress=False))
    centres = t.target.means
    r = OrderResult(order)
    for step in range(1, s.steps + 1):
        t.train_step()
        if step % s.record_every == 0 or step == s.steps:
            h, _ = mode_entropy(t.generate(s.eval_samples), centres)
            r.history[step] = h.tolist()
    x = t.generate(s.eval_samples, purpose="final")
    h, hist = mode_entropy(x, centres)
    r.entropy, r.histogram = h.tolist(), hist.tolist()
    r.samples = x[0, :1000].tolist()
    grid = torch.cartesian_prod(GRID, GRID)
    r.d_grid = t.d_logits(grid)[0].reshape(len(GRID), len(GRID)).tolist()
    return r


@functools.lru_cache(maxsize=4)
def maximin_experiment(seed: int = 0, budget: str = "short") -> MaximinResult:
    """Item 8: the two orders, S seeds each (one batched run per order)."""
    s = pick(SETTINGS, budget)
    return MaximinResult(s, {order: run_order(order, s, seed) for order in ORDERS}, GRID.tolist())


LOG8 = math.log(8.0)
