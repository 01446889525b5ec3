"""The R2 gradient penalty (Mescheder et al. 2018, eq. 10): (γ/2) E_{x ~ p_g} ‖∇_x D(x)‖², R1's
penalty on generated samples instead of real ones. Like R1 it vanishes with its gradient at a
Nash equilibrium (there p_g = p_data) and makes the Dirac-GAN locally convergent (ibid., Theorem 4.1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...validation import check_nonnegative
from ..parts import PartField
from .base import Regulariser, register
from .r1 import squared_gradient_norm


def r2_penalty(critic: Callable[[torch.Tensor], torch.Tensor], fake: torch.Tensor,
               gamma: float | torch.Tensor) -> torch.Tensor:
    """(γ/2) E_{x ~ p_g} ‖∇_x D(x)‖² on generated samples [N, B, ...] → [N]; γ a number or one per
    member [N]. The samples are detached: the penalty trains D only."""
    return gamma / 2 * squared_gradient_norm(critic, fake)


@register
class R2(Regulariser):
    """(γ/2) E_{x ~ p_g} ‖∇_x D(x)‖², on the generated batch of every D update (packed: the gradient
    over the whole pack; conditional: D given the generator's labels), γ per member."""

    name = "r2"
    weight = "r2_gamma"
    what = "the R2 penalty"
    with_unrolled = True  # the engine's and the reference's unrolled steps take the whole D loss
    fields = (PartField("r2_gamma", float, 0.0, "R2 penalty weight γ: (γ/2)·E‖∇_x D(x)‖² on generated samples "
                        "(Mescheder et al. 2018; 0: off)", grid=True),)

    def label(self, m, grid):
        return "R2" if "r2_gamma" in grid else f"R2 γ={m.r2_gamma:g}"

    def check(self, m):
        check_nonnegative("r2_gamma", m.r2_gamma)

    def penalty(self, t, params_d, real, fake, step, sub):
        labels = t.fake_labels(step, sub)
        return r2_penalty(lambda x: t.discriminate_packs(params_d, x, labels), fake,
                          t.hyper["r2_gamma"].to(fake.dtype))

    def reference_penalty(self, m, D, real, fake, alpha):
        x = fake.detach().requires_grad_(True)  # one member's [B, features]
        (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
        return m.r2_gamma / 2 * (g * g).sum(dim=1).mean()
