"""The GAN generator objective that does maximum likelihood (the UIUC notes; Goodfellow 2014,
"On distinguishability criteria for estimating generative models"): with the discriminator at its
optimum, f(x) = exp(σ⁻¹(D*(x))) = p_data(x)/p_g(x), and the generator objective
J(θ) = −E_z f(G_θ(z)), f held fixed at the current θ, has expected gradient

    ∇_θ J = −∫ f ∇_θ p_θ = −∫ p_data ∇_θ log p_θ = ∇_θ KL(p_data ‖ p_θ),

the gradient of maximum likelihood. (Goodfellow writes J with a factor ½, from the ½-weighted
value function; the identity above is for the unweighted f.)

The check: p_θ = N(b, w²) as an affine generator G(z) = w z + b of the engine (``MLPSpec(depth=0)``),
p_data = ``mixture1d``; J's gradient by autograd through the samples G(z) against the exact
∇ KL(p_data ‖ N(b, w²)) = (1/w − (S + (m − b)²)/w³, −(m − b)/w²), (m, S) the moments of p_data
(``moment_matched_gaussian``). The Monte Carlo gradient is a mean of per-sample terms
−f′(x_i)·(z_i, 1) (G is affine: ∂x/∂w = z, ∂x/∂b = 1); its standard error is set a priori from
their exact second moments, E_{p_θ}[f′² (z², 1)] = ∫ (p_data²/p_θ)(s_data − s_θ)² (z², 1) dx with
s = d log density/dx (a 1-D integral), finite when w² > σ_data²/2.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import scipy.integrate
import torch

from ..models.mlp import MLPSpec
from ..rng import torch_generator
from ..theory.gan import gaussian_target, moment_matched_gaussian, optimal_discriminator
from ..theory.targets import make_target
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from .common import pick


@dataclass(frozen=True)
class Settings:
    samples: int
    points: tuple[tuple[float, float], ...]  # (w, b) where the gradient is checked


# p_θ broad enough that f = p_data/p_θ has finite variance under p_θ (w² > ½·0.5², and it covers ±2)
SETTINGS = {
    "short": Settings(samples=200_000, points=((2.5, 0.5), (1.5, -1.0))),
    "long": Settings(samples=2_000_000, points=((2.5, 0.5), (1.5, -1.0), (3.0, 2.0))),
}


def exact_kl_gradient(p_data, w: float, b: float) -> tuple[float, float]:
    """∇_{(w, b)} KL(p_data ‖ N(b, w²)) from p_data's mean m and variance S."""
    mean, cov = moment_matched_gaussian(p_data)
    m, s = float(mean[0]), float(cov[0, 0])
    return 1 / w - (s + (m - b) ** 2) / w**3, -(m - b) / w**2


def _score(target, x: float) -> tuple[float, float]:
    """(log density, its derivative in x) at a point, by autograd of ``log_prob``."""
    xt = torch.tensor([[x]], dtype=torch.float64, requires_grad=True)
    lp = target.log_prob(xt).sum()
    (d,) = torch.autograd.grad(lp, xt)
    return float(lp.detach()), float(d)


def apriori_standard_error(p_data, w: float, b: float, n: int) -> tuple[float, float]:
    """Standard errors of the mean of n per-sample terms −f′(x)(z, 1), x = wz + b, from their
    exact variances: E[f′² z²] − g_w², E[f′²] − g_b² with E[f′² (z², 1)] = ∫ (p²/q)(s_p − s_q)²
    (z², 1) dx (scipy quad over p_data's and p_θ's range) and g = the exact gradient."""
    p_g = gaussian_target([b], [[w * w]])
    exact = exact_kl_gradient(p_data, w, b)

    def second(x: float, power: int) -> float:
        lp, sp = _score(p_data, x)
        lq, sq = _score(p_g, x)
        return math.exp(2 * lp - lq) * (sp - sq) ** 2 * ((x - b) / w) ** power

    lo = min(float(p_data.means.min()) - 12 * float(p_data.mode_stds.max()), b - 12 * w)
    hi = max(float(p_data.means.max()) + 12 * float(p_data.mode_stds.max()), b + 12 * w)
    out = []
    for power, g in ((2, exact[0]), (0, exact[1])):
        m2 = scipy.integrate.quad(second, lo, hi, args=(power,), limit=200, epsrel=1e-8)[0]
        out.append(math.sqrt(max(m2 - g * g, 0.0) / n))
    return out[0], out[1]


@dataclass
class GradientCheck:
    w: float
    b: float
    exact: tuple[float, float]  # ∇ KL, (w, b)
    autograd: tuple[float, float]  # ∇ J through the engine's generator
    per_sample_mean: tuple[float, float]  # the mean of the per-sample terms
    standard_error: tuple[float, float]  # of the sample (reported)
    apriori_error: tuple[float, float]  # from the exact variances (the tolerance's)


def check_point(p_data, w: float, b: float, n: int, seed: int) -> GradientCheck:
    cfg = TrainConfig(target="mixture1d", generator=MLPSpec(depth=0), noise_dim=1, seeds=(0,),
                      evaluators=(), final_evaluators=())
    t = Trainer(cfg, Runtime(dtype="float64", progress=False))
    with torch.no_grad():
        t.params_g["w0"].fill_(w)
        t.params_g["b0"].fill_(b)
    p_g = gaussian_target([b], [[w * w]])  # f frozen at the current θ
    z = torch.randn(1, n, 1, generator=torch_generator(seed, "eval", "mle", w, b), dtype=torch.float64)
    x = t.generate_batch(z)[0]  # [n, 1], a function of θ through the engine's G

    def f(points: torch.Tensor) -> torch.Tensor:
        return torch.exp(torch.logit(optimal_discriminator(p_data, p_g, points)))  # p_data/p_g

    objective = -f(x).mean()
    grads = torch.autograd.grad(objective, [t.params_g["w0"], t.params_g["b0"]])
    xs = x.detach().requires_grad_(True)
    (fprime,) = torch.autograd.grad(f(xs).sum(), xs)
    terms = torch.stack([-fprime[:, 0] * z[0, :, 0], -fprime[:, 0]])  # per-sample (∂/∂w, ∂/∂b)
    se = terms.std(dim=1) / math.sqrt(n)
    return GradientCheck(w, b, exact_kl_gradient(p_data, w, b), (float(grads[0].sum()), float(grads[1].sum())),
                         tuple(terms.mean(dim=1).tolist()), tuple(se.tolist()),
                         apriori_standard_error(p_data, w, b, n))


@functools.lru_cache(maxsize=4)
def mle_experiment(seed: int = 0, budget: str = "short") -> list[GradientCheck]:
    """Item 6: the gradient identity at every (w, b) of the budget."""
    s = pick(SETTINGS, budget)
    p_data = make_target("mixture1d")
    return [check_point(p_data, w, b, s.samples, seed) for w, b in s.points]
