"""Critics (WGAN) trained alone against fixed, known distributions, and what their Kantorovich–
Rubinstein estimate E_{p_data} f − E_{p_g} f should be.

The estimate of a critic f is E_{x~p_data} f(x) − E_{y~p_g} f(y), by Monte Carlo on fresh samples
with its standard error. Kantorovich–Rubinstein duality: the supremum over 1-Lipschitz f is
W1(p_data, p_g).

* A gradient-penalty critic (Gulrajani et al. 2017) maximises E_p f − E_q f − λ E_ρ (|∇f| − 1)²,
  ρ the law of x̂ = αx + (1 − α)y (x ~ p, y ~ q, α ~ U[0, 1]). In 1-D every slope function is a
  derivative, so the maximiser is pointwise: with h = F_q − F_p (E_p f − E_q f = ∫ f′ h by parts),
  f′ = sign(h)·(1 + |h|/(2λρ)), and its estimate is
  ``gp_optimal_estimate_1d`` = ∫ |h| + (1/2λ) ∫ h²/ρ = W1 + a known bias (≥ W1: the
  1-Lipschitz optimum pays no penalty). The same holds on the parallel lines, where ρ is uniform
  on the strip between them: θ + θ²/(2λ).
* A clipped critic (Arjovsky et al. 2017) ranges over networks whose weights lie in [−c, c]:
  such networks are K_c-Lipschitz for some K_c, so its estimate is at most K_c·W1, and where the
  best clipped critic is close to a K(c)-multiple of a 1-Lipschitz one it is K(c)·W1 with a
  constant K(c) that does not depend on the pair (and grows with c).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.integrate
import scipy.special
import torch

from ..theory.targets import GaussianMixture
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.methods import MethodConfig
from ..models.mlp import MLPSpec
from .common import fresh, lr_decay, member_seeds, mixture_kwargs
from .family import MixtureFamily


# -- 1-D exact sides ---------------------------------------------------------------------------------
def _parts(target: GaussianMixture) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if target.dim != 1:
        raise ValueError(f"a 1-D mixture is needed, got dimension {target.dim}")
    return target.weights.numpy(), target.means[:, 0].numpy(), np.sqrt(target.covariances[:, 0, 0].numpy())


def mixture_cdf_1d(target: GaussianMixture, x: Any) -> np.ndarray:
    """F(x) = Σ_k w_k Φ((x − μ_k)/σ_k)."""
    w, m, s = _parts(target)
    return (w * scipy.special.ndtr((np.asarray(x, dtype=np.float64)[..., None] - m) / s)).sum(-1)


def _range(p: GaussianMixture, q: GaussianMixture, n_std: float = 12.0) -> tuple[float, float]:
    """An interval outside which both densities are below e^-72 of their peaks."""
    lo = min(float((t.means[:, 0] - n_std * t.mode_stds[:, 0]).min()) for t in (p, q))
    hi = max(float((t.means[:, 0] + n_std * t.mode_stds[:, 0]).max()) for t in (p, q))
    return lo, hi


def w1_1d(p: GaussianMixture, q: GaussianMixture) -> tuple[float, float]:
    """W1 of two 1-D mixtures = ∫ |F_p − F_q| dx, by scipy quad over ``_range`` (value, quad's
    error plus the tails' mass times the range, below 1e-20)."""
    lo, hi = _range(p, q)
    value, err = scipy.integrate.quad(lambda x: abs(float(mixture_cdf_1d(p, x) - mixture_cdf_1d(q, x))), lo, hi,
                                      limit=400, epsabs=1e-12, epsrel=1e-10)
    return value, err


_ALPHA, _ALPHA_W = np.polynomial.legendre.leggauss(96)
_ALPHA, _ALPHA_W = 0.5 * (_ALPHA + 1), 0.5 * _ALPHA_W


def interpolate_density_1d(p: GaussianMixture, q: GaussianMixture, x: Any) -> np.ndarray:
    """ρ(x), the density of x̂ = αX + (1 − α)Y, X ~ p, Y ~ q, α ~ U[0, 1] independent: given α and
    the components (i, j), x̂ ~ N(αμ_i + (1 − α)ν_j, α²s_i² + (1 − α)²t_j²); ρ = ∫₀¹ Σ_ij w_i v_j
    N(x; …) dα by 96-point Gauss–Legendre in α (the integrand is smooth in α)."""
    wp, mp, sp = _parts(p)
    wq, mq, sq = _parts(q)
    x = np.asarray(x, dtype=np.float64)[..., None, None, None]
    a = _ALPHA[:, None, None]
    mean = a * mp[None, :, None] + (1 - a) * mq[None, None, :]
    var = (a * sp[None, :, None]) ** 2 + ((1 - a) * sq[None, None, :]) ** 2
    dens = np.exp(-((x - mean) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)
    return (dens * (wp[:, None] * wq[None, :])).sum((-1, -2)) @ _ALPHA_W


def gp_optimal_estimate_1d(p: GaussianMixture, q: GaussianMixture, lam: float) -> tuple[float, float, float]:
    """The estimate E_p f − E_q f of the gradient-penalty critic's maximiser in 1-D:
    W1 + (1/2λ) ∫ h²/ρ, h = F_q − F_p (see the module docstring). Returns (W1, bias, quad error);
    where ρ underflows, h² is smaller still (both are tail masses) and the term is taken as 0."""
    w1, e1 = w1_1d(p, q)
    lo, hi = _range(p, q)

    def term(x: float) -> float:
        h = float(mixture_cdf_1d(q, x) - mixture_cdf_1d(p, x))
        rho = float(interpolate_density_1d(p, q, x))
        return h * h / rho if rho > 0 else 0.0

    b, e2 = scipy.integrate.quad(term, lo, hi, limit=400, epsabs=1e-10, epsrel=1e-8)
    return w1, b / (2 * lam), e1 + e2 / (2 * lam)


# -- training and estimates --------------------------------------------------------------------------------
def train_critics(real: Any, fakes: Sequence[Any], method: MethodConfig, *, steps: int, seed: int,
                  width: int = 32, activation: str = "leaky_relu", decay_steps: int = 0, grid: dict | None = None,
                  fake_source: Any = None) -> Trainer:
    """Critics trained alone: real side ``real`` (a Gaussian mixture), member i's fake side
    ``fakes[i]`` (``MixtureFamily``; or a given ``fake_source``), one critic update per step; the
    last ``decay_steps`` at lr/10 (a step learning-rate schedule, ``common.lr_decay``). Members: grid points × len(fakes)/points seeds (point-major)."""
    grid = grid or {}
    if decay_steps and method.lr_schedule != "constant":
        raise ValueError(f"decay_steps={decay_steps} sets the learning-rate schedule; the method already has "
                         f"lr_schedule {method.lr_schedule!r}")
    method = dataclasses.replace(method, **lr_decay(steps, decay_steps))
    points = math.prod(len(v) for v in grid.values()) if grid else 1
    cfg = TrainConfig(target="mixture", target_kwargs=mixture_kwargs(real), method=method, grid=grid,
                      discriminator=MLPSpec(width=width, depth=2, activation=activation),
                      seeds=member_seeds(seed, len(fakes) // points), steps=steps,
                      evaluators=(), final_evaluators=())
    t = Trainer(cfg, Runtime(progress=False), fake_source=fake_source or MixtureFamily(fakes))
    for _ in range(steps):
        t.train_step()
    return t


def critic_estimates(t: Trainer, real_x: torch.Tensor, fake_x: torch.Tensor) -> list[tuple[float, float]]:
    """Per member (E f(real) − E f(fake), standard error √(se_r² + se_f²)) on given points:
    real_x [n, d] shared, fake_x [N, n, d] per member."""
    fr, ff = t.d_logits(real_x).to(torch.float64), t.d_logits(fake_x).to(torch.float64)
    n_r, n_f = fr.shape[1], ff.shape[1]
    out = []
    for i in range(t.n):
        se = math.hypot(float(fr[i].std()) / math.sqrt(n_r), float(ff[i].std()) / math.sqrt(n_f))
        out.append((float(fr[i].mean() - ff[i].mean()), se))
    return out


def mixture_points(real: GaussianMixture, fakes: Sequence[GaussianMixture], n: int, seed: int, tag: str
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """n fresh samples of the real side and of every member's fake side."""
    cache: dict[int, torch.Tensor] = {}
    for q in fakes:
        cache.setdefault(id(q), fresh(q, n, seed, tag, "fake", str(len(cache))))
    return fresh(real, n, seed, tag, "real"), torch.stack([cache[id(q)] for q in fakes])
