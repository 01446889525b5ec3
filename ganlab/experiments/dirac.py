"""The Dirac-GAN (Mescheder et al. 2018, §2.2) trained by gradient descent through ganlab's own
losses and regularisers, from the same start for every method, simultaneous and alternating.

p_data = δ₀ (real samples at 0), G = δ_θ (fake samples at θ), and a one-parameter discriminator
whose logit is −ψx: the paper's D_ψ(x) = ψx scores fakes high, ganlab's logit scores real data
high, so with the minus sign ψ is the paper's ψ and the fields of ``ganlab.theory.dirac`` apply as
written. Each player's gradient is autograd of its ganlab loss (``training.losses.LOSSES``: the GAN
discriminator loss with the minimax or non-saturating generator loss, the Wasserstein critic and
generator losses, ``gradient_penalty``, ``regularisers.r1`` and ``r2``), never a re-derivation of the field:

* WGAN: weight clipping of ψ to [−c, c] after every update;
* WGAN-GP: ganlab's λ·E(‖∇ₓD(x̂)‖ − 1)² has no ½ and target norm 1: λ = γ/2 and g0 = 1;
* R1 / R2: γ/2 · E‖∇ₓD‖² on real / fake samples (``PENALTIES``: ``training.regularisers.r1`` and ``r2``);
* instance noise: real samples σε and fake samples θ + σε′ over a fixed set of B points ε (the
  normal quantiles, scaled to mean 0 and mean square exactly 1). The field's Jacobian at the
  equilibrium depends on the noise only through its mean and mean square, so the discrete set
  gives the closed-form Jacobian exactly and the convergence rate is not blurred by sampling;
* consensus optimisation: each player's gradient plus γ∇(½‖v‖²), v the two gradients, by
  double backward.

Gradient descent with step h (both players): simultaneous, or alternating with θ updated first and
ψ at the new θ (the paper's order, §2.1). Everything is deterministic: the seed does not enter.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.special
import torch

from ..theory.dirac import DiracMethod
from ..training.losses import LOSSES, gradient_penalty
from ..training.methods import MethodConfig
from ..training.regularisers.r1 import r1_penalty
from ..training.regularisers.r2 import r2_penalty
from ..validation import check_choice, check_int, check_positive
from .common import pick

Critic = Callable[[torch.Tensor], torch.Tensor]


# The discriminator's penalties on the Dirac-GAN, each (critic, real, fake, γ) → [N] with the paper's
# γ: R1 and R2 are ``training.regularisers.r1``'s and ``r2``'s; WGAN-GP is ganlab's penalty, whose
# λ(‖∇‖ − 1)² has no ½: λ = γ/2 gives γ/2 (|ψ| − g0)².
def gp_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """ganlab's WGAN-GP penalty λ E(‖∇ₓD(x̂)‖ − 1)², λ = γ/2, at the midpoints x̂ (α = ½; in the
    Dirac-GAN ∇ₓD = −ψ everywhere, so α does not matter)."""
    alpha = torch.full(real.shape[:2], 0.5, dtype=real.dtype)
    return gamma / 2 * gradient_penalty(critic, real, fake, alpha)


PENALTIES: dict[str, Callable[[Critic, torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "r1": lambda critic, real, fake, gamma: r1_penalty(critic, real, gamma),
    "r2": lambda critic, real, fake, gamma: r2_penalty(critic, fake, gamma),
    "gp": gp_penalty,
}


@dataclass(frozen=True)
class Parts:
    """Which ganlab parts train one method: the loss family and generator loss, a penalty, clipping,
    instance noise, consensus."""

    loss: str = "gan"
    generator: str = "minimax"
    penalty: str | None = None
    clip: bool = False
    noise: bool = False
    consensus: bool = False


PARTS: dict[str, Parts] = {
    "gan": Parts(),
    "nonsaturating": Parts(generator="nonsaturating"),
    "wgan": Parts(loss="wasserstein", generator="wasserstein", clip=True),
    "wgan-gp": Parts(loss="wasserstein", generator="wasserstein", penalty="gp"),
    "instance_noise": Parts(noise=True),
    "r1": Parts(penalty="r1"),
    "r2": Parts(penalty="r2"),
    "consensus": Parts(consensus=True),
}


def noise_points(count: int) -> torch.Tensor:
    """``count`` standard-normal quantiles Φ⁻¹((i − ½)/count), made exactly antisymmetric (their
    mean is 0 and odd moments vanish) and scaled to mean square 1, float64 [count]."""
    count = check_int("noise points", count, minimum=2)
    z = torch.from_numpy(scipy.special.ndtri((np.arange(count) + 0.5) / count))
    z = (z - z.flip(0)) / 2
    return z / z.pow(2).mean().sqrt()


class DiracTrainer:
    """Gradient descent on the Dirac-GAN of ``method`` through ganlab's losses. θ and ψ are [N]
    (N independent starts); ``gradients`` gives each player's gradient of its own loss."""

    def __init__(self, method: DiracMethod, noise: int = 1000):
        self.method, self.parts = method, PARTS[method.name]
        if self.parts.penalty == "gp" and method.g0 != 1.0:
            raise ValueError(f"ganlab's gradient penalty has target norm 1; got g0={method.g0}")
        self.eps = noise_points(noise) * method.sigma if self.parts.noise else torch.zeros(1, dtype=torch.float64)
        self.loss = LOSSES[self.parts.loss]
        self.config = MethodConfig(loss=self.parts.loss, generator_loss=self.parts.generator)  # what the loss may read

    def samples(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real, fake), [N, B, 1]: σε and θ + σε with instance noise, else 0 and θ."""
        real = self.eps.reshape(1, -1, 1).expand(theta.shape[0], -1, 1)
        return real, theta.reshape(-1, 1, 1) + real

    def gradients(self, theta: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(∂L_G/∂θ, ∂L_D/∂ψ) per member, each player's own loss; the field is their negative."""
        m, p = self.method, self.parts
        theta = theta.detach().requires_grad_(True)
        psi = psi.detach().requires_grad_(True)
        critic = lambda x: -psi.reshape(-1, 1, 1) * x  # noqa: E731  the paper's D_ψ = ψx scores fakes high
        real, fake = self.samples(theta)
        # θ kept in the D loss: consensus differentiates ∂L_D/∂ψ in θ
        d_loss = self.loss.discriminator(critic(real), critic(fake), self.config)
        if p.penalty is not None:
            d_loss = d_loss + PENALTIES[p.penalty](critic, real, fake.detach(), m.gamma)
        g_loss = self.loss.generator(p.generator, critic(fake), self.config)
        (g_theta,) = torch.autograd.grad(g_loss.sum(), theta, create_graph=p.consensus)
        (g_psi,) = torch.autograd.grad(d_loss.sum(), psi, create_graph=p.consensus)
        if p.consensus:  # both players also descend γ·½‖v‖² (Mescheder et al. 2017)
            half_norm = 0.5 * (g_theta.pow(2) + g_psi.pow(2)).sum()
            c_theta, c_psi = torch.autograd.grad(half_norm, (theta, psi))
            g_theta, g_psi = g_theta + m.gamma * c_theta, g_psi + m.gamma * c_psi
        return g_theta.detach(), g_psi.detach()

    def project(self, theta: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """WGAN's weight clipping after every critic update."""
        return (theta, psi.clamp(-self.method.clip, self.method.clip)) if self.parts.clip else (theta, psi)

    def simultaneous(self, theta, psi, h):
        g_theta, g_psi = self.gradients(theta, psi)
        return self.project(theta - h * g_theta, psi - h * g_psi)

    def alternating(self, theta, psi, h):
        theta = theta - h * self.gradients(theta, psi)[0]
        return self.project(theta, psi - h * self.gradients(theta, psi)[1])

    def run(self, start: tuple[float, float], h: float, steps: int, schedule: str) -> np.ndarray:
        """The trajectory [steps + 1, 2] of (θ, ψ) from ``start``."""
        check_positive("step size h", h)
        update = getattr(self, check_choice("schedule", schedule, SCHEDULE_NAMES))
        theta, psi = (torch.tensor([float(v)], dtype=torch.float64) for v in start)
        theta, psi = self.project(theta, psi)
        out = np.empty((steps + 1, 2))
        out[0] = theta.item(), psi.item()
        for k in range(steps):
            theta, psi = update(theta, psi, h)
            out[k + 1] = theta.item(), psi.item()
        return out


SCHEDULE_NAMES = ("simultaneous", "alternating")

# The methods' hyperparameters: the authors' Dirac-GAN notebook's values (LMescheder/GAN_stability:
# WGAN c = 1, WGAN-GP γ = 0.7 with g0 = 1, instance noise σ = 0.7, penalties γ = 0.3, consensus
# γ = 1). With h = 0.2 every convergent arm has a complex pair of update eigenvalues, and instance
# noise meets simultaneous GD's criterion |1 + hλ| < 1 ⇔ σ² > h f′(0)²/|f″(0)|/2 = h/2.
ARMS: dict[str, DiracMethod] = {
    "gan": DiracMethod("gan"),
    "nonsaturating": DiracMethod("nonsaturating"),
    "wgan": DiracMethod("wgan", clip=1.0),
    "wgan-gp": DiracMethod("wgan-gp", gamma=0.7, g0=1.0),
    "instance_noise": DiracMethod("instance_noise", sigma=0.7),
    "r1": DiracMethod("r1", gamma=0.3),
    "r2": DiracMethod("r2", gamma=0.3),
    "consensus": DiracMethod("consensus", gamma=1.0),
}


@dataclass(frozen=True)
class Settings:
    h: float = 0.2  # step size of both players
    steps: int = 500
    window: int = 250  # the last ``window`` steps measure the rate
    start: tuple[float, float] = (1.0, 1.0)
    noise: int = 1000  # instance-noise points B


SETTINGS = {"short": Settings(), "long": Settings(steps=1000, window=500, noise=4000)}


@dataclass
class DiracResult:
    settings: Settings
    arms: dict[str, DiracMethod]
    trajectories: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (arm, schedule) → [T+1, 2]

    def distances(self, arm: str, schedule: str) -> np.ndarray:
        """‖(θ_k, ψ_k)‖: the distance to the equilibrium (0, 0) after every step."""
        return np.hypot(*self.trajectories[arm, schedule].T)

    def measured_rate(self, arm: str, schedule: str) -> float:
        """(r_T / r_{T−n})^{1/n} over the last n = ``window`` steps."""
        r, n = self.distances(arm, schedule), self.settings.window
        return math.exp((math.log(r[-1]) - math.log(r[-1 - n])) / n)


def run_arms(s: Settings, arms: dict[str, DiracMethod]) -> DiracResult:
    result = DiracResult(s, dict(arms))
    for name, method in arms.items():
        trainer = DiracTrainer(method, s.noise)
        for schedule in SCHEDULE_NAMES:
            result.trajectories[name, schedule] = trainer.run(s.start, s.h, s.steps, schedule)
    return result


VERIFIED = ("gan", "wgan-gp", "instance_noise", "r1", "r2")  # the arms ``ganlab verify`` checks


@functools.lru_cache(maxsize=4)
def dirac_experiment(seed: int = 0, budget: str = "short") -> DiracResult:
    """The ``VERIFIED`` arms, simultaneous and alternating, from the same start (deterministic: the
    seed does not enter; the figure runs every arm of ``ARMS`` through ``run_arms``)."""
    return run_arms(pick(SETTINGS, budget), {name: ARMS[name] for name in VERIFIED})
