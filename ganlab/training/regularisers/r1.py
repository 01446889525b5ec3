"""The R1 gradient penalty (Mescheder et al. 2018, "Which training methods for GANs do actually
converge?", eq. 9): (γ/2) E_{x ~ p_data} ‖∇_x D(x)‖², a penalty on the discriminator's gradient
on real data only. At a Nash equilibrium (p_g = p_data, D constant on the support) it vanishes
with its gradient, so unlike WGAN-GP it does not move the equilibrium; it makes the Dirac-GAN
locally convergent (ibid., Theorem 4.1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...validation import check_nonnegative
from ..parts import PartField
from .base import Regulariser, register


def squared_gradient_norm(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """E_x ‖∇_x D(x)‖² per member: x [N, B, ...] → [N], the squared norm over all non-batch
    dimensions, the mean over the B samples. ``x`` is detached (the penalty does not reach
    whatever made it); the result is differentiable in D's parameters (create_graph)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(2).pow(2).sum(dim=2).mean(dim=1)


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
               gamma: float | torch.Tensor) -> torch.Tensor:
    """(γ/2) E_{x ~ p_data} ‖∇_x D(x)‖² on real samples [N, B, ...] → [N]; γ a number or one per member [N]."""
    return gamma / 2 * squared_gradient_norm(critic, real)


@register
class R1(Regulariser):
    """(γ/2) E_{x ~ p_data} ‖∇_x D(x)‖², on the real batch of each D update (packed: the gradient
    over the whole pack; conditional: D given the real labels), γ per member."""

    name = "r1"
    weight = "r1_gamma"
    what = "the R1 penalty"
    with_unrolled = True  # the engine's and the reference's unrolled steps take the whole D loss
    fields = (PartField("r1_gamma", float, 0.0, "R1 penalty weight γ: (γ/2)·E‖∇_x D(x)‖² on real samples "
                        "(Mescheder et al. 2018; 0: off)", grid=True),)

    def label(self, m, grid):
        return "R1" if "r1_gamma" in grid else f"R1 γ={m.r1_gamma:g}"

    def check(self, m):
        check_nonnegative("r1_gamma", m.r1_gamma)

    def penalty(self, t, params_d, real, fake, step, sub):
        labels = t.real_labels(step, sub)
        return r1_penalty(lambda x: t.discriminate_packs(params_d, x, labels), real,
                          t.hyper["r1_gamma"].to(real.dtype))

    def reference_penalty(self, m, D, real, fake, alpha):
        x = real.detach().requires_grad_(True)  # one member's [B, features]
        (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
        return m.r1_gamma / 2 * (g * g).sum(dim=1).mean()

