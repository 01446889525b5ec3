"""The hinge loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, "Spectral normalization
for GANs"), on raw discriminator scores D(x) ∈ ℝ:

    D minimises  E_{x ~ p_data} max(0, 1 − D(x)) + E_z max(0, 1 + D(G(z)))
    G minimises  −E_z D(G(z))

D is a soft-margin classifier (margin 1 on each side); G moves its samples up D's score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Loss, per_member_mean, register


def discriminator_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))), per member: [N, B, 1] → [N]."""
    return per_member_mean(F.relu(1 - real_scores)) + per_member_mean(F.relu(1 + fake_scores))


def generator_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E D(G(z)), per member: [N, B, 1] → [N]."""
    return -per_member_mean(fake_scores)


@register
class Hinge(Loss):
    """D: E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))); G: −E D(G(z)). Labelled "hinge"."""

    name = "hinge"
    help = "hinge (D on raw scores, margin 1)"
    generators = {"hinge": "descend −E D(G(z)), with loss hinge"}

    def discriminator(self, real, fake, m):
        return discriminator_loss_hinge(real, fake)

    def generator(self, name, fake, m):
        return generator_loss_hinge(fake)

    def reference_discriminator(self, m, real, fake):
        return torch.clamp(1.0 - real, min=0).mean() + torch.clamp(1.0 + fake, min=0).mean()

    def reference_generator(self, m, fake):
        return -fake.mean()
