"""Proposition 2 of Goodfellow et al. (2014) happening: if D is at its optimum D* given G at every
step and p_g is updated by small steps on V(D*, G), p_g converges to p_data and C(G) falls to
−log 4.

p_g is non-parametric: a histogram on a fine grid (q = softmax(φ) over K bins), p_data the bin
masses of ``mixture1d`` (differences of its CDF, renormalised over the grid). Each step freezes D*
= p/(p + q) (``pointwise_maximiser``), takes the gradient of V(D*, G) = Σ p log D* + Σ q log(1 − D*)
in q by autograd, g = log(1 − D*) = log(q/(p + q)), and updates φ ← φ − η g, i.e.
q ← q·e^{−ηg}/Z (mirror descent on the simplex).

Why it converges: V(D, G) is linear in q, so C(q) = sup_D V(D, q) is convex, and by the envelope
theorem its gradient at q is V's gradient at the maximiser D*, i.e. g. Mirror descent with the
entropy on a convex function then satisfies, for the average iterate q̄_T = (1/T) Σ q_t,
C(q̄_T) − C(p_data) ≤ KL(p_data ‖ q_1)/(ηT) + (η/2T) Σ_t ‖g_t‖²_∞, with C(p_data) = −log 4
(the regret bound of online mirror descent: the entropy is 1-strongly convex in ‖·‖₁).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.special
import torch

from ..theory.divergences import jsd_discrete, kl_discrete, tv_discrete
from ..theory.gan import pointwise_maximiser, virtual_criterion
from ..theory.targets import make_target
from .common import pick
from .critics import mixture_cdf_1d


@dataclass(frozen=True)
class Settings:
    bins: int
    steps: int
    lr: float  # η
    record: tuple[int, ...]  # steps whose q is kept for the figure
    lo: float = -5.0
    hi: float = 5.0
    start_std: float = 3.0  # p_g starts as the bin masses of N(0, start_std²)


SETTINGS = {
    "short": Settings(bins=200, steps=1500, lr=0.5, record=(0, 10, 50, 200, 1500)),
    "long": Settings(bins=1000, steps=20_000, lr=0.5, record=(0, 10, 50, 200, 1000, 20_000)),
}


def bin_masses(cdf, edges: np.ndarray) -> np.ndarray:
    """Masses of the bins between ``edges`` under a CDF, renormalised over the grid."""
    m = np.diff(cdf(edges))
    return m / m.sum()


def value_gradient(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """∇_q V(D*, G) with D* = p/(p + q) frozen (autograd of Σ p log D* + Σ q log(1 − D*))."""
    d = torch.from_numpy(np.asarray(pointwise_maximiser(p, q), dtype=np.float64))
    qt = torch.tensor(q, dtype=torch.float64, requires_grad=True)
    pt = torch.from_numpy(p)
    v = (pt * torch.log(d)).sum() + (qt * torch.log1p(-d)).sum()
    (g,) = torch.autograd.grad(v, qt)
    return g.numpy()


@dataclass
class ConvergenceResult:
    settings: Settings
    centres: list[float]
    p_data: list[float]
    criterion: list[float] = field(default_factory=list)  # C(q_t), t = 0..T
    snapshots: dict[int, list[float]] = field(default_factory=dict)
    kl_start: float = 0.0  # KL(p_data ‖ q_1)
    grad_sq: list[float] = field(default_factory=list)  # ‖g_t‖²_∞
    average_criterion: float = 0.0  # C(q̄_T)
    average_tv: float = 0.0  # TV(q̄_T, p_data)
    final_jsd: float = 0.0

    @property
    def bound(self) -> float:
        """The mirror-descent bound on C(q̄_T) + log 4: KL(p‖q_1)/(ηT) + (η/2T) Σ ‖g_t‖²_∞."""
        s, t = self.settings, len(self.grad_sq)
        return self.kl_start / (s.lr * t) + s.lr / (2 * t) * sum(self.grad_sq)


@functools.lru_cache(maxsize=4)
def convergence_experiment(seed: int = 0, budget: str = "short") -> ConvergenceResult:
    """Item 7 (deterministic: ``seed`` changes nothing; there are no samples)."""
    s = pick(SETTINGS, budget)
    edges = np.linspace(s.lo, s.hi, s.bins + 1)
    target = make_target("mixture1d")
    p = bin_masses(lambda x: mixture_cdf_1d(target, x), edges)
    phi = np.log(bin_masses(lambda x: scipy.special.ndtr(x / s.start_std), edges))
    r = ConvergenceResult(s, list(0.5 * (edges[1:] + edges[:-1])), p.tolist())
    q = np.exp(phi - scipy.special.logsumexp(phi))
    r.kl_start = kl_discrete(p, q)
    total = np.zeros_like(q)
    for step in range(s.steps + 1):
        r.criterion.append(virtual_criterion(p, q).value)
        if step in s.record:
            r.snapshots[step] = q.tolist()
        if step == s.steps:
            break
        g = value_gradient(p, q)
        r.grad_sq.append(float(np.abs(g).max()) ** 2)
        total += q
        phi = phi - s.lr * g
        q = np.exp(phi - scipy.special.logsumexp(phi))
    q_bar = total / s.steps
    r.average_criterion = virtual_criterion(p, q_bar).value
    r.average_tv = tv_discrete(p, q_bar)
    r.final_jsd = jsd_discrete(p, q)
    return r
