"""The Wasserstein critic loss (Arjovsky et al. 2017)."""

from __future__ import annotations

import torch

from .base import Loss, per_member_mean, register


def critic_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E f(G(z)) − E f(x): minimising it maximises the Kantorovich–Rubinstein estimate
    E f(x) − E f(G(z)) of W1 over (approximately) 1-Lipschitz critics f (Arjovsky et al. 2017)."""
    return per_member_mean(fake_scores) - per_member_mean(real_scores)


def generator_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E f(G(z))."""
    return -per_member_mean(fake_scores)


@register
class Wasserstein(Loss):
    """Critic: E f(G(z)) − E f(x); G: −E f(G(z)). Its Lipschitz constraint names it: "wgan"
    (weight clipping), "wgan-gp" (the gradient penalty), else "wasserstein (unconstrained)"."""

    name = "wasserstein"
    help = "wasserstein (critic)"
    generators = {"wasserstein": "descend −E f(G(z))"}

    def discriminator(self, real, fake, m):
        return critic_loss_wasserstein(real, fake)

    def generator(self, name, fake, m):
        return generator_loss_wasserstein(fake)

    def reference_discriminator(self, m, real, fake):  # the critic maximises E f(x) − E f(G(z))
        return fake.mean() - real.mean()

    def reference_generator(self, m, fake):
        return -fake.mean()

    def label(self, m, regularisers):
        by_name = {r.name: r for r in regularisers}
        for reg, name in (("gradient_penalty", "wgan-gp"), ("weight_clipping", "wgan")):
            if reg in by_name:
                return name, (by_name[reg],)
        return "wasserstein (unconstrained)", ()
