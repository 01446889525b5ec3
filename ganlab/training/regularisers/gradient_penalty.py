"""The WGAN-GP gradient penalty (Gulrajani et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...validation import check_nonnegative
from ..parts import PartField
from .base import Regulariser, register


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


@register
class GradientPenalty(Regulariser):
    """λ · E_x̂ (‖∇_x̂ D(x̂)‖₂ − 1)², x̂ = α x + (1 − α) x̃, one α ~ U[0, 1] per (packed) sample from
    stream ("gp-alpha", step, sub) (Gulrajani et al. 2017, Algorithm 1). A member with λ = 0 in a
    grid gets exactly the gradients of a run without the penalty (0 · finite = 0)."""

    name = "gradient_penalty"
    weight = "gp_lambda"
    what = "a gradient penalty"
    fields = (PartField("gp_lambda", float, 0.0, "WGAN-GP gradient-penalty weight λ (0: off)", grid=True,
                        late=False),)

    def label(self, m, grid):
        return "gp" if "gp_lambda" in grid else f"gp λ={m.gp_lambda:g}"

    def check(self, m):
        check_nonnegative("gp_lambda", m.gp_lambda)
        if m.clip is not None and m.gp_lambda:
            raise ValueError(
                f"clip={m.clip} with gp_lambda={m.gp_lambda}: weight clipping (WGAN) and the gradient "
                "penalty (WGAN-GP, which replaces clipping; Gulrajani et al. 2017) are two Lipschitz constraints; "
                "use one: clip none (e.g. --method wgan-gp) or gp_lambda 0 (--method wgan)")

    def penalty(self, t, params_d, real, fake, step, sub):
        alpha = t.streams.uniform("gp-alpha", step, sub, (real.shape[1],), real.dtype)
        labels = t.real_labels(step, sub)  # a conditional critic judges the interpolates with the real labels
        gp = gradient_penalty(lambda x: t.discriminate_packs(params_d, x, labels), real, fake, alpha)
        return t.hyper["gp_lambda"].to(gp.dtype) * gp

    def reference_penalty(self, m, D, real, fake, alpha):
        if alpha is None or alpha.shape != (real.shape[0],):
            raise ValueError(f"the gradient penalty takes one α per (packed) sample: {real.shape[0]} expected, "
                             f"got shape {None if alpha is None else tuple(alpha.shape)}")
        a = alpha[:, None]
        x_hat = (a * real + (1 - a) * fake).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        return m.gp_lambda * ((g.norm(dim=1) - 1) ** 2).mean()
