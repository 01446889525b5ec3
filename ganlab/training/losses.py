"""GAN and WGAN losses as pure functions of discriminator outputs.

Discriminator outputs are logits l with D(x) = σ(l). Every function takes tensors of shape
[N, B, 1] (N members) and returns a per-member loss of shape [N]; the engine sums members before
``backward`` so that member i's gradient is exactly its own loss's gradient.

Identities used (stable on logits): −log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _mean(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).mean(dim=1)


def discriminator_loss_gan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−[E log D(x) + E log(1 − D(G(z)))] = E softplus(−l_real) + E softplus(l_fake).

    Minimising it is D's ascent on V(D, G) (Goodfellow et al. 2014, eq. 1)."""
    return _mean(F.softplus(-real_logits)) + _mean(F.softplus(fake_logits))


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """E log(1 − D(G(z))) = −E softplus(l_fake): G descends the value function itself.

    d/dl = −σ(l): vanishes when D confidently rejects samples (σ(l) → 0), early in training."""
    return -_mean(F.softplus(fake_logits))


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E log D(G(z)) = E softplus(−l_fake) (Goodfellow et al. 2014, §3).

    d/dl = −(1 − σ(l)): close to −1 where the minimax gradient vanishes."""
    return _mean(F.softplus(-fake_logits))


def critic_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E f(G(z)) − E f(x): minimising it maximises the Kantorovich–Rubinstein estimate
    E f(x) − E f(G(z)) of W1 over (approximately) 1-Lipschitz critics f (Arjovsky et al. 2017)."""
    return _mean(fake_scores) - _mean(real_scores)


def generator_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E f(G(z))."""
    return -_mean(fake_scores)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    alpha: torch.Tensor,
) -> torch.Tensor:
    """E_x̂ (‖∇_x̂ f(x̂)‖₂ − 1)², x̂ = α x + (1 − α) x̃ with one α ~ U[0, 1] per sample
    (Gulrajani et al. 2017, Algorithm 1); the norm runs over all non-batch dimensions.

    real, fake: [N, B, ...]; alpha: [N, B] broadcast over the rest. Returns [N] (without λ)."""
    a = alpha.reshape(alpha.shape + (1,) * (real.ndim - alpha.ndim))
    interp = (a * real + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(interp).sum(), interp, create_graph=True)
    norm = grad.flatten(2).norm(dim=2)
    return ((norm - 1) ** 2).mean(dim=1)


@dataclass(frozen=True)
class LossFamily:
    """A discriminator (critic) loss with the generator losses it pairs with."""

    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: dict[str, Callable[[torch.Tensor], torch.Tensor]]


LOSSES: dict[str, LossFamily] = {
    "gan": LossFamily(
        discriminator_loss_gan,
        {"minimax": generator_loss_minimax, "nonsaturating": generator_loss_nonsaturating},
    ),
    "wasserstein": LossFamily(critic_loss_wasserstein, {"wasserstein": generator_loss_wasserstein}),
}
