"""Goodfellow et al. (2014), Figure 1, from an actual training run in 1-D: p_g (green) moves
towards p_data (black) while the discriminator (blue) approaches D* = p_data/(p_data + p_g) and, at
the end, flattens towards ½.

p_data = N(2, ½²) (``mixture_1d((2,), (½,))``); G(z) = w z + b with z ~ N(0, 1), so p_g = N(b, w²)
exactly and its density is drawn from (w, b); it starts at N(−1, 1). D is a 2 × 32 ReLU network.
Alternating non-saturating GAN with k discriminator steps per generator step (Algorithm 1 of the
paper): D is near D* when G moves.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from ..models.mlp import MLPSpec
from ..theory.divergences import jensen_shannon
from ..theory.gan import gaussian_target, make_optimal_discriminator
from ..theory.targets import mixture_1d
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.methods import MethodConfig
from .common import mixture_kwargs, pick


@dataclass(frozen=True)
class Settings:
    steps: int
    snapshots: tuple[int, ...]  # the four panels
    d_steps: int = 5
    lr_d: float = 3e-3
    lr_g: float = 1e-2
    start: tuple[float, float] = (1.0, -1.0)  # (w, b)
    warmup: int = 100  # D-only updates against the initial G before step 0 (panel (a): D near D*)


SETTINGS = {
    "short": Settings(steps=700, snapshots=(0, 100, 250, 700)),
    "long": Settings(steps=1500, snapshots=(0, 100, 250, 1500)),
}
P_DATA = mixture_1d((2.0,), (0.5,))
GRID = torch.linspace(-4.0, 5.0, 361, dtype=torch.float64)


@dataclass
class Snapshot:
    step: int
    w: float
    b: float
    d: list[float]  # D on GRID
    d_star: list[float]  # D* of (p_data, N(b, w²)) on GRID
    jsd: float


@dataclass
class Figure1Result:
    settings: Settings
    grid: list[float]
    snapshots: list[Snapshot] = field(default_factory=list)


def _snapshot(t: Trainer, step: int) -> Snapshot:
    w, b = (float(t.params_g[k].detach().reshape(-1)[0]) for k in ("w0", "b0"))
    p_g = gaussian_target([b], [[w * w]])
    x = GRID[:, None]
    return Snapshot(step, w, b, torch.sigmoid(t.d_logits(x)[0].to(torch.float64)).tolist(),
                    make_optimal_discriminator(P_DATA, p_g)(x).tolist(), jensen_shannon(P_DATA, p_g).value)


@functools.lru_cache(maxsize=4)
def figure1_experiment(seed: int = 0, budget: str = "short") -> Figure1Result:
    """Item 2: one run, D first trained ``warmup`` updates alone against the initial G, snapshots at
    the budget's steps."""
    s = pick(SETTINGS, budget)
    cfg = TrainConfig(
        target="mixture", target_kwargs=mixture_kwargs(P_DATA),
        method=MethodConfig(generator_loss="nonsaturating", d_steps=s.d_steps, lr_d=s.lr_d, lr_g=s.lr_g, batch_size=256),
        generator=MLPSpec(depth=0), discriminator=MLPSpec(width=32, depth=2), noise_dim=1, seeds=(seed,),
        evaluators=(), final_evaluators=(),
    )
    t = Trainer(cfg, Runtime(progress=False))
    with torch.no_grad():
        t.params_g["w0"].fill_(s.start[0])
        t.params_g["b0"].fill_(s.start[1])
    for k in range(s.warmup):  # draws addressed past every training step's
        step = s.steps + 1 + k
        with torch.no_grad():
            fake = t.fake(step, 0)
        t.update_d(t.d_gradients(t.params_d, t.real(step, 0), fake, step, 0)[1])
    r = Figure1Result(s, GRID.tolist())
    for step in range(s.steps + 1):
        if step in s.snapshots:
            r.snapshots.append(_snapshot(t, step))
        if step == s.steps:
            break
        t.train_step()
    return r
