"""The GAN loss on logits (Goodfellow et al. 2014): D(x) = σ(l).

Identities used (stable on logits): −log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Loss, per_member_mean, register


def discriminator_loss_gan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−[E log D(x) + E log(1 − D(G(z)))] = E softplus(−l_real) + E softplus(l_fake).

    Minimising it is D's ascent on V(D, G) (Goodfellow et al. 2014, eq. 1)."""
    return per_member_mean(F.softplus(-real_logits)) + per_member_mean(F.softplus(fake_logits))


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """E log(1 − D(G(z))) = −E softplus(l_fake): G descends the value function itself.

    d/dl = −σ(l): vanishes when D confidently rejects samples (σ(l) → 0), early in training."""
    return -per_member_mean(F.softplus(fake_logits))


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E log D(G(z)) = E softplus(−l_fake) (Goodfellow et al. 2014, §3).

    d/dl = −(1 − σ(l)): close to −1 where the minimax gradient vanishes."""
    return per_member_mean(F.softplus(-fake_logits))


@register
class GAN(Loss):
    """D: −[E log D(x) + E log(1 − D(G(z)))]; G: minimax E log(1 − D(G(z))) or non-saturating
    −E log D(G(z)). Labelled "vanilla" (minimax, Algorithm 1) or "nonsaturating"."""

    name = "gan"
    help = "gan (D on logits)"
    generators = {"minimax": "descend log(1 − D(G(z)))", "nonsaturating": "descend −log D(G(z))"}
    unrollable = True
    _generator_fns = {"minimax": generator_loss_minimax, "nonsaturating": generator_loss_nonsaturating}

    def discriminator(self, real, fake, m):
        return discriminator_loss_gan(real, fake)

    def generator(self, name, fake, m):
        return self._generator_fns[name](fake)

    def reference_discriminator(self, m, real, fake):
        # −[log D(x) + log(1 − D(G(z)))] as two binary cross-entropies
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def reference_generator(self, m, fake):
        if m.generator_loss == "minimax":  # log(1 − D(G(z))) = −BCE(l, 0)
            return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))  # −log D(G(z))

    def label(self, m, regularisers):
        return ("vanilla" if m.generator_loss == "minimax" else "nonsaturating"), ()
