"""Disjoint supports (Arjovsky et al. 2017, Example 1): P_0 on the line x = 0 and P_θ on x = θ,
each (·, Z) with Z ~ U[0, 1] (the ``parallel-lines`` target). For θ ≠ 0 the supports are disjoint:
JSD(P_0, P_θ) = log 2 whatever θ, so C(G) = −log 4 + 2·JSD = 0 and the JSD gives the generator no
gradient, while W1(P_0, P_θ) = |θ| with d W1/dθ = sign θ.

What trained networks estimate, beside those exact values:

* a GAN discriminator trained alone against P_θ separates the lines: its value V(D, G) rises to
  C(G) = 0, i.e. its JSD estimate (V + log 4)/2 rises to log 2; the minimax generator loss
  E log(1 − D(θ, Z)) then has d/dθ = −E σ(l) ∂_x l → 0 (D(G(z)) = σ(l) → 0: the gradient vanishes);
* a gradient-penalty critic (λ) estimates E f(P_0) − E f(P_θ) = |θ| + θ²/(2λ) at its optimum (the
  interpolates are uniform on the strip between the lines, ρ = 1/|θ|, h = 1 there; see
  ``critics``), and its generator loss −E f(θ, Z) has d/dθ = sign θ·(1 + |θ|/(2λ)).

The generator is the parametric family G_θ(z) = (θ, z); gradients are taken by autograd through
the samples (θ, z) with θ a leaf tensor, one per member.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..rng import Streams, torch_generator
from ..theory.divergences import mean_and_standard_error
from ..theory.gan import discriminator_logs
from ..theory.targets import ParallelLines
from ..training.config import Runtime, TrainConfig
from ..training.engine import Trainer
from ..training.losses import LOSSES
from ..training.methods import MethodConfig
from ..models.mlp import MLPSpec
from .common import member_seeds, pick

LOG2, LOG4 = math.log(2.0), math.log(4.0)


@dataclass(frozen=True)
class Settings:
    thetas: tuple[float, ...]
    seeds: int
    gan_steps: int
    critic_steps: int
    eval_samples: int
    lam: float = 10.0  # Gulrajani et al.'s λ
    width: int = 32
    batch: int = 128


SETTINGS = {
    "short": Settings(thetas=(0.5, 1.0), seeds=4, gan_steps=400, critic_steps=600, eval_samples=4000),
    "long": Settings(thetas=(-1.5, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 1.5), seeds=4, gan_steps=2000,
                     critic_steps=3000, eval_samples=20_000),
}


class LinesFamily:
    """Member i draws from P_{θ_i}: (θ_i, u), u ~ U[0, 1] from stream (purpose, step, sub) — for
    one θ exactly the ``parallel-lines`` target's batched sampler."""

    classes = 0
    target = None
    shape = (2,)

    def __init__(self, thetas: Sequence[float]):
        self.thetas = torch.tensor(list(thetas), dtype=torch.float64)

    def prepare(self, streams: Streams, device: torch.device) -> None:
        if streams.n != self.thetas.numel():
            raise ValueError(f"{self.thetas.numel()} lines for {streams.n} members")
        self.thetas = self.thetas.to(device)

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        u = streams.uniform(purpose, step, sub, (n,), torch.float64)
        return torch.stack([self.thetas[:, None].expand_as(u), u], dim=-1).to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        raise ValueError("the parallel lines have no class labels")


def train_against_lines(thetas: Sequence[float], method: MethodConfig, steps: int, seed: int, width: int,
                        activation: str = "relu") -> Trainer:
    """D (or a critic) trained alone: real P_0, member i's fake side P_{θ_i}."""
    cfg = TrainConfig(target="parallel-lines", method=method,
                      discriminator=MLPSpec(width=width, depth=2, activation=activation),
                      seeds=member_seeds(seed, len(thetas)), steps=steps, evaluators=(), final_evaluators=())
    t = Trainer(cfg, Runtime(progress=False), fake_source=LinesFamily(thetas))
    for _ in range(steps):
        t.train_step()
    return t


def line_points(thetas: Sequence[float], n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fresh points: n of P_0 [n, 2]; n of each P_{θ_i} [N, n, 2] with their u [n] shared."""
    u = torch.rand(n, generator=torch_generator(seed, "eval", "lines"), dtype=torch.float64)
    real = torch.stack([torch.zeros_like(u), u], dim=-1)
    th = torch.tensor(list(thetas), dtype=torch.float64)[:, None].expand(-1, n)
    return real, torch.stack([th, u.expand_as(th)], dim=-1), u


def generator_gradient(t: Trainer, thetas: Sequence[float], u: torch.Tensor, loss: str) -> list[float]:
    """d/dθ of the generator loss ``loss`` (of the run's loss family) at G_θ(z) = (θ, z), z = u, by
    autograd through the samples: one θ per member, a leaf tensor."""
    theta = torch.tensor(list(thetas), dtype=t.dtype, requires_grad=True)
    z = u.to(t.dtype).expand(len(thetas), -1)
    fake = torch.stack([theta[:, None].expand_as(z), z], dim=-1)
    value = LOSSES[t.cfg.method.loss].generator(loss, t.discriminate(t.params_d, fake), t.cfg.method)
    (grad,) = torch.autograd.grad(value.sum(), theta)
    return grad.tolist()


def learned_jsd(t: Trainer, real: torch.Tensor, fake: torch.Tensor) -> list[tuple[float, float]]:
    """Per member (V + log 4)/2 with V = mean log D(x) + mean log(1 − D(y)) (the theory's
    ``discriminator_logs`` of D's logits) on fresh points, and its standard error."""
    lr, lf = t.d_logits(real).to(torch.float64), t.d_logits(fake).to(torch.float64)
    out = []
    for i in range(t.n):
        m1, s1 = mean_and_standard_error(discriminator_logs(_Logit(), lr[i])[0])
        m2, s2 = mean_and_standard_error(discriminator_logs(_Logit(), lf[i])[1])
        out.append(((m1 + m2 + LOG4) / 2, math.hypot(s1, s2) / 2))
    return out


class _Logit:
    """A discriminator whose 'points' are its own logits: ``discriminator_logs`` reads log D and
    log(1 − D) from them (log σ(l), log σ(−l), finite for every l)."""

    @staticmethod
    def logit(l: torch.Tensor) -> torch.Tensor:
        return l


@dataclass
class LineResult:
    theta: float
    jsd: float = LOG2  # exact, θ ≠ 0
    w1: float = 0.0  # exact |θ|
    learned_jsd: list[tuple[float, float]] = field(default_factory=list)  # GAN D, per seed
    minimax_gradient: list[float] = field(default_factory=list)  # d/dθ E log(1 − D(θ, Z))
    nonsaturating_gradient: list[float] = field(default_factory=list)  # d/dθ −E log D(θ, Z)
    critic_estimate: list[tuple[float, float]] = field(default_factory=list)  # GP critic, per seed
    critic_gradient: list[float] = field(default_factory=list)  # d/dθ −E f(θ, Z)


@dataclass
class DisjointResult:
    settings: Settings
    lines: dict[float, LineResult]

    def gp_estimate(self, theta: float) -> float:
        """|θ| + θ²/(2λ): the gradient-penalty critic's optimum."""
        return abs(theta) + theta * theta / (2 * self.settings.lam)

    def gp_gradient(self, theta: float) -> float:
        """d/dθ of −E f(θ, Z) at the optimum: sign θ·(1 + |θ|/(2λ))."""
        return math.copysign(1.0 + abs(theta) / (2 * self.settings.lam), theta)


@functools.lru_cache(maxsize=4)
def disjoint_experiment(seed: int = 0, budget: str = "short") -> DisjointResult:
    """Item 4: GAN discriminators and gradient-penalty critics trained alone against P_θ, S seeds
    for every θ, each kind in one batched run."""
    s = pick(SETTINGS, budget)
    thetas = [th for th in s.thetas for _ in range(s.seeds)]
    real, fake, u = line_points(thetas, s.eval_samples, seed)
    gan = train_against_lines(thetas, MethodConfig(generator_loss="minimax", lr_d=2e-3, batch_size=s.batch),
                              s.gan_steps, seed, s.width)
    critic = train_against_lines(
        thetas, MethodConfig(loss="wasserstein", generator_loss="wasserstein", gp_lambda=s.lam, lr_d=1e-3,
                             betas=(0.5, 0.9), batch_size=s.batch), s.critic_steps, seed + 1, s.width,
        activation="leaky_relu")  # no dead units (as ``critics.train_critics``)
    jsd, est = learned_jsd(gan, real, fake), _critic_estimates(critic, real, fake)
    g_mm, g_ns = generator_gradient(gan, thetas, u, "minimax"), generator_gradient(gan, thetas, u, "nonsaturating")
    g_w = generator_gradient(critic, thetas, u, "wasserstein")
    lines = {th: LineResult(th, w1=abs(th)) for th in s.thetas}
    for i, th in enumerate(thetas):
        r = lines[th]
        r.learned_jsd.append(jsd[i])
        r.minimax_gradient.append(g_mm[i])
        r.nonsaturating_gradient.append(g_ns[i])
        r.critic_estimate.append(est[i])
        r.critic_gradient.append(g_w[i])
    return DisjointResult(s, lines)


def _critic_estimates(t: Trainer, real: torch.Tensor, fake: torch.Tensor) -> list[tuple[float, float]]:
    from .critics import critic_estimates

    return critic_estimates(t, real, fake)
