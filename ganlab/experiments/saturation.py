"""Non-saturating against minimax generator losses in the first steps of a real run (Goodfellow et
al. 2014, §3): in D's logit l, d/dl log(1 − σ(l)) = −σ(l) and d/dl[−log σ(l)] = −(1 − σ(l)), so
per sample the non-saturating gradient is (1 − D)/D times the minimax one at D = D(G(z)). Early in
training D rejects the fakes (D(G(z)) ≪ ½) and the minimax gradient saturates.

Measured: at each of the first steps of a non-saturating run on ring8 (both losses' gradients in
G's parameters on the same batch, the run itself following the non-saturating one), the ratio of
their norms ‖∇ L_NS‖/‖∇ L_MM‖, against (1 − D̄)/D̄ with D̄ the batch mean of D(G(z)), and against
the batch's range of (1 − D)/D. The per-sample identity makes the parameter gradients
∇ L_NS = Σ_j r_j a_j and ∇ L_MM = Σ_j a_j with r_j = (1 − D_j)/D_j: their norm ratio equals
(1 − D)/D exactly only when D(G(z)) is the same for the whole batch; otherwise it is a weighted
mean of the r_j along the directions a_j.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from ..models.mlp import MLPSpec
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.losses import LOSSES
from ..training.methods import MethodConfig
from .common import member_seeds, pick


@dataclass(frozen=True)
class Settings:
    steps: int
    seeds: int
    d_warmup: int = 0  # D-only steps before G moves (a D ahead of G, as early in training)


SETTINGS = {
    "short": Settings(steps=100, seeds=4, d_warmup=150),
    "long": Settings(steps=400, seeds=8, d_warmup=150),
}


@dataclass
class SaturationResult:
    settings: Settings
    steps: list[int] = field(default_factory=list)
    ratio: list[list[float]] = field(default_factory=list)  # [step][member] ‖∇NS‖/‖∇MM‖
    d_mean: list[list[float]] = field(default_factory=list)  # D̄
    r_min: list[list[float]] = field(default_factory=list)
    r_max: list[list[float]] = field(default_factory=list)
    norm_mm: list[list[float]] = field(default_factory=list)
    norm_ns: list[list[float]] = field(default_factory=list)


def gradient_norms(t: Trainer, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(‖∇ L_MM‖, ‖∇ L_NS‖) per member over all of G's parameters, and D(G(z)) [N, B], on the
    generator's draw of ``step``."""
    sub = t.cfg.method.d_steps
    norms = []
    for loss in ("minimax", "nonsaturating"):
        fake = t.fake(step, sub, grad=True)
        logits = t.discriminate(t.params_d, fake)
        grads = torch.autograd.grad(LOSSES["gan"].generator(loss, logits, t.cfg.method).sum(), list(t.params_g.values()))
        norms.append(torch.sqrt(sum((g.flatten(1) ** 2).sum(1) for g in grads)))
    return norms[0], norms[1], torch.sigmoid(logits.detach()[..., 0])


@functools.lru_cache(maxsize=4)
def saturation_experiment(seed: int = 0, budget: str = "short") -> SaturationResult:
    """Item 9: the quick preset's nets on ring8, non-saturating, Adam 1e-3."""
    s = pick(SETTINGS, budget)
    cfg = TrainConfig(target="ring8", method=MethodConfig(generator_loss="nonsaturating", lr_d=1e-3, lr_g=1e-3),
                      generator=MLPSpec(width=128, depth=2), discriminator=MLPSpec(width=128, depth=2),
                      seeds=member_seeds(seed, s.seeds), evaluators=(), final_evaluators=())
    t = Trainer(cfg, Runtime(progress=False))
    for k in range(s.d_warmup):  # D alone against the initial G
        real, fake = t.real(10**6 + k, 0), t.fake(10**6 + k, 0)
        t.update_d(t.d_gradients(t.params_d, real, fake, 10**6 + k, 0)[1])
    r = SaturationResult(s)
    for step in range(s.steps):
        mm, ns, d = gradient_norms(t, step)
        ratio = ((1 - d) / d)
        r.steps.append(step)
        r.ratio.append((ns / mm).tolist())
        r.d_mean.append(d.mean(1).tolist())
        r.r_min.append(ratio.min(1).values.tolist())
        r.r_max.append(ratio.max(1).values.tolist())
        r.norm_mm.append(mm.tolist())
        r.norm_ns.append(ns.tolist())
        t.train_step()
    return r
