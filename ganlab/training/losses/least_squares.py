"""The least-squares GAN loss (Mao et al. 2017, "Least squares generative adversarial networks",
§3.2), on raw discriminator scores D(x) ∈ ℝ, with target codes a (generated), b (real) and c
(what G wants D to say of its samples):

    D minimises  ½ E_{x ~ p_data} (D(x) − b)² + ½ E_z (D(G(z)) − a)²
    G minimises  ½ E_z (D(G(z)) − c)²

For fixed G the pointwise minimiser is D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x))
(ibid.) = a + (b − a) σ(log p_data(x) − log p_g(x)). Defaults a = 0, b = c = 1 (the 0-1 coding the
paper trains with); a = −1, b = 1, c = 0 (b − c = 1, b − a = 2) makes G minimise the Pearson χ²
divergence between p_data + p_g and 2 p_g (ibid.).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..parts import PartField
from .base import Loss, per_member_mean, register

DEFAULTS = {"lsgan_a": 0.0, "lsgan_b": 1.0, "lsgan_c": 1.0}


def discriminator_loss_least_squares(real_scores: torch.Tensor, fake_scores: torch.Tensor, a: float,
                                     b: float) -> torch.Tensor:
    """½ E (D(x) − b)² + ½ E (D(G(z)) − a)², per member: [N, B, 1] → [N]."""
    return 0.5 * per_member_mean((real_scores - b) ** 2) + 0.5 * per_member_mean((fake_scores - a) ** 2)


def generator_loss_least_squares(fake_scores: torch.Tensor, c: float) -> torch.Tensor:
    """½ E (D(G(z)) − c)², per member: [N, B, 1] → [N]."""
    return 0.5 * per_member_mean((fake_scores - c) ** 2)


def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """D*(x) = (b p_data + a p_g)/(p_data + p_g) = a + (b − a) σ(log p_data − log p_g), from the two
    log densities at x (stable where both densities underflow)."""
    return a + (b - a) * torch.sigmoid(log_p_data - log_p_g)


@register
class LeastSquares(Loss):
    """D: ½ E (D(x) − b)² + ½ E (D(G(z)) − a)²; G: ½ E (D(G(z)) − c)². Labelled "lsgan", with its
    codes when they are not the defaults (a = 0, b = c = 1)."""

    name = "least_squares"
    help = "least_squares (LSGAN: D on raw scores, targets lsgan_a, lsgan_b)"
    generators = {"least_squares": "descend ½ E (D(G(z)) − lsgan_c)², with loss least_squares"}
    fields = (
        PartField("lsgan_a", float, DEFAULTS["lsgan_a"], "LSGAN: D's target for generated samples (a)"),
        PartField("lsgan_b", float, DEFAULTS["lsgan_b"], "LSGAN: D's target for real samples (b)"),
        PartField("lsgan_c", float, DEFAULTS["lsgan_c"], "LSGAN: the value G wants D to give its samples (c)"),
    )

    def discriminator(self, real, fake, m):
        return discriminator_loss_least_squares(real, fake, m.lsgan_a, m.lsgan_b)

    def generator(self, name, fake, m):
        return generator_loss_least_squares(fake, m.lsgan_c)

    def reference_discriminator(self, m, real, fake):
        return 0.5 * (F.mse_loss(real, torch.full_like(real, m.lsgan_b))
                      + F.mse_loss(fake, torch.full_like(fake, m.lsgan_a)))

    def reference_generator(self, m, fake):
        return 0.5 * F.mse_loss(fake, torch.full_like(fake, m.lsgan_c))

    def label(self, m, regularisers):
        codes = {k: getattr(m, k) for k in DEFAULTS}
        if codes == DEFAULTS:
            return "lsgan", ()
        return "lsgan " + " ".join(f"{k[-1]}={v:g}" for k, v in codes.items()), ()

    def check(self, m):
        for k in DEFAULTS:
            v = getattr(m, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{k} must be a finite number, got {v!r}")
        if m.lsgan_a == m.lsgan_b:
            raise ValueError(f"lsgan_a = lsgan_b = {m.lsgan_a:g}: D's targets for generated and real samples must "
                             "differ, else D* is that constant and tells G nothing (Mao et al. 2017)")
