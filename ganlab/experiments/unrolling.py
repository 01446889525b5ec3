"""Unrolled GANs (Metz et al. 2017) on a toy where the optimal discriminator is known in closed form.

p_data = N(0, s²); G(z) = w z + b with z ~ N(0, 1), held at w = s, so p_g = N(b, s²); D a linear
logit l(x) = a x + c (``MLPSpec(depth=0)``). The logistic regression's population optimum is the
exact log-ratio, which is linear here: a*(b) = −b/s², c*(b) = b²/(2s²).

The generator's loss is f(θ_G, θ_D) = E_z log(1 − σ(l(G(z)))) (minimax). The unrolled surrogate
f_K(θ_G) = f(θ_G, θ_D^K(θ_G)) takes θ_D^K after K SGD steps θ ← θ − η ∇L_D on one batch, each a
function of θ_G. Its gradient is ∂_G f + ∂_D f·J_K with J_K = dθ_D^K/dθ_G. Started at the optimum
θ*, linearising L_D there (Hessian H in θ_D, mixed derivative M = ∂²L_D/∂θ_D∂b):
J_{k+1} = (I − ηH) J_k − ηM, J_0 = 0, so J_K = (I − (I − ηH)^K) J_∞ with J_∞ = −H⁻¹M = dθ*/db
(the implicit function theorem). Hence

* K = 0: the surrogate's gradient is the vanilla one, ∂_b f;
* as K grows it approaches d/db f(b, θ*(b)), the gradient of the generator's loss against the
  discriminator that best responds, geometrically with rate (I − ηH)^K.

Every population quantity (L_D, f, their derivatives) is a Gauss–Hermite expectation over
N(0, 1) (``_expect``), differentiated by autograd; the trained side runs through the engine's
``unrolled_discriminator`` on batches of B samples (float64), one batch per seed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.mlp import MLPSpec
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.methods import MethodConfig
from .common import member_seeds, mixture_kwargs, pick
from ..theory.targets import mixture_1d

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(120)  # ∫ g(z) e^{−z²/2} dz
_Z = torch.from_numpy(_NODES)
_W = torch.from_numpy(_WEIGHTS / math.sqrt(2 * math.pi))  # E g(Z) = Σ w_i g(z_i), Z ~ N(0, 1)


@dataclass(frozen=True)
class Settings:
    ks: tuple[int, ...]
    seeds: int
    batch: int
    lr: float = 1.0  # η of the unrolled SGD
    b: float = 1.0  # the generator's location
    s: float = 1.0  # std of p_data and p_g


SETTINGS = {
    "short": Settings(ks=(0, 1, 2, 4, 8, 16, 32, 64), seeds=8, batch=4096),
    "long": Settings(ks=(0, 1, 2, 4, 8, 16, 32, 64, 128), seeds=32, batch=16384),
}


def _expect(g) -> torch.Tensor:
    """E g(Z), Z ~ N(0, 1), by 120-point Gauss–Hermite (exact for polynomials of degree < 240;
    the integrands here are smooth with Gaussian tails)."""
    return (_W * g(_Z)).sum()


def softplus(x: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(torch.zeros_like(x), x)


def d_loss_population(a: torch.Tensor, c: torch.Tensor, b: torch.Tensor, s: float) -> torch.Tensor:
    """L_D = E_{x~N(0,s²)} softplus(−(a x + c)) + E_{y~N(b,s²)} softplus(a y + c)."""
    return _expect(lambda z: softplus(-(a * s * z + c))) + _expect(lambda z: softplus(a * (s * z + b) + c))


def g_loss_population(a: torch.Tensor, c: torch.Tensor, b: torch.Tensor, s: float) -> torch.Tensor:
    """f = E_z log(1 − σ(a(s z + b) + c)) = −E softplus(a(s z + b) + c) (minimax)."""
    return -_expect(lambda z: softplus(a * (s * z + b) + c))


def optimum(b: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(a*, c*) = (−b/s², b²/(2s²)): log N(x; 0, s²) − log N(x; b, s²)."""
    return -b / s**2, b * b / (2 * s**2)


@dataclass
class Prediction:
    """Population quantities at θ_G = (s, b), θ_D = θ*."""

    vanilla: float  # ∂_b f
    best_response: float  # d/db f(b, θ*(b))
    surrogate: dict[int, float]  # K → ∂_b f + ∂_D f·J_K
    contraction: float  # spectral radius of I − ηH


def predict(s: Settings) -> Prediction:
    b = torch.tensor(s.b, dtype=torch.float64, requires_grad=True)
    a_star, c_star = optimum(b.detach(), s.s)
    theta = torch.stack([a_star, c_star]).requires_grad_(True)
    f = g_loss_population(theta[0], theta[1], b, s.s)
    df_db, df_dtheta = torch.autograd.grad(f, [b, theta])
    grad = lambda bb: torch.autograd.grad(d_loss_population(theta[0], theta[1], bb, s.s), theta, create_graph=True)[0]
    g_theta = grad(b)
    hessian = torch.stack([torch.autograd.grad(g_theta[i], theta, retain_graph=True)[0] for i in range(2)])
    mixed = torch.stack([torch.autograd.grad(g_theta[i], b, retain_graph=True)[0] for i in range(2)])
    j_inf = -torch.linalg.solve(hessian, mixed)
    step = torch.eye(2, dtype=torch.float64) - s.lr * hessian
    surrogate = {k: float(df_db + df_dtheta @ ((torch.eye(2, dtype=torch.float64) - torch.linalg.matrix_power(step, k)) @ j_inf))
                 for k in s.ks}
    bb = torch.tensor(s.b, dtype=torch.float64, requires_grad=True)
    (total,) = torch.autograd.grad(g_loss_population(*optimum(bb, s.s), bb, s.s), bb)
    return Prediction(float(df_db), float(total), surrogate, float(torch.linalg.eigvals(step).abs().max()))


def unrolled_trainer(s: Settings, k: int, seed: int) -> Trainer:
    """The engine at θ_G = (w, b) = (s, b), θ_D = θ*: schedule unrolled with K = k SGD steps."""
    cfg = TrainConfig(
        target="mixture", target_kwargs=mixture_kwargs(mixture_1d((0.0,), (s.s,))),
        method=MethodConfig(generator_loss="minimax", schedule="unrolled", unroll=k, optimizer="sgd",
                            lr_d=s.lr, lr_g=s.lr, batch_size=s.batch),
        generator=MLPSpec(depth=0), discriminator=MLPSpec(depth=0), noise_dim=1,
        seeds=member_seeds(seed, s.seeds), evaluators=(), final_evaluators=(),
    )
    t = Trainer(cfg, Runtime(dtype="float64", progress=False))
    a_star, c_star = optimum(torch.tensor(s.b, dtype=torch.float64), s.s)
    with torch.no_grad():
        t.params_g["w0"].fill_(s.s)
        t.params_g["b0"].fill_(s.b)
        t.params_d["w0"].fill_(float(a_star))
        t.params_d["b0"].fill_(float(c_star))
    return t


def surrogate_gradients(t: Trainer) -> tuple[list[float], list[float]]:
    """(d f_K/db of the unrolled surrogate, d f/db of the vanilla loss at the same θ_D) per member,
    on draw (step 0, sub 0)."""
    real, fake = t.real(0, 0), t.fake(0, 0, grad=True)
    _, unrolled = t.g_gradients(t.unrolled_discriminator(real, fake, 0, 0), fake, 0, 0)
    fake = t.fake(0, 0, grad=True)  # the same draw, a fresh graph
    _, vanilla = t.g_gradients(t.params_d, fake, 0, 0)
    index = list(t.params_g).index("b0")
    return unrolled[index].flatten().tolist(), vanilla[index].flatten().tolist()


@dataclass
class UnrollingResult:
    settings: Settings
    prediction: Prediction
    unrolled: dict[int, list[float]] = field(default_factory=dict)  # K → per seed
    vanilla: dict[int, list[float]] = field(default_factory=dict)  # K → per seed (same batch)


@functools.lru_cache(maxsize=4)
def unrolling_experiment(seed: int = 0, budget: str = "short") -> UnrollingResult:
    """Item 10: the surrogate's gradient for every K (one engine run per K, S seeds = S batches;
    the same seeds and so the same batches for every K)."""
    s = pick(SETTINGS, budget)
    r = UnrollingResult(s, predict(s))
    for k in s.ks:
        r.unrolled[k], r.vanilla[k] = surrogate_gradients(unrolled_trainer(s, k, seed))
    return r
