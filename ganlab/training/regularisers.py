"""Regularisers of the discriminator (critic), each a registered piece with a small interface:

* ``fields``: the ``MethodConfig`` fields it reads (per-member hyperparameters: a grid may vary them);
* ``active(method, grid)``: whether a run uses it;
* ``penalty(trainer, params_d, real, fake, step, sub)``: a term [N] added to the D loss, or None;
* ``after_update(trainer)``: applied to θ_D after every D update.

A new regulariser is one class here plus its test; the engine calls whatever is active.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import torch

from .losses import gradient_penalty
from .optim import member_view

if TYPE_CHECKING:
    from .interface import StepInterface as Trainer  # all a regulariser may use of the trainer
    from .methods import MethodConfig


class Regulariser(Protocol):
    fields: tuple[str, ...]

    def active(self, method: "MethodConfig", grid: Mapping[str, Any]) -> bool: ...

    def penalty(self, t: "Trainer", params_d, real: torch.Tensor, fake: torch.Tensor, step: int,
                sub: int) -> torch.Tensor | None: ...

    def after_update(self, t: "Trainer") -> None: ...


class GradientPenalty:
    """λ · E_x̂ (‖∇_x̂ D(x̂)‖₂ − 1)², x̂ = α x + (1 − α) x̃, one α ~ U[0, 1] per (packed) sample from
    stream ("gp-alpha", step, sub) (Gulrajani et al. 2017, Algorithm 1). A member with λ = 0 in a
    grid gets exactly the gradients of a run without the penalty (0 · finite = 0)."""

    fields = ("gp_lambda",)

    def active(self, method, grid) -> bool:
        return method.gp_lambda > 0 or "gp_lambda" in grid

    def penalty(self, t, params_d, real, fake, step, sub):
        alpha = t.streams.uniform("gp-alpha", step, sub, (real.shape[1],), real.dtype)
        labels = t.real_labels(step, sub)  # a conditional critic judges the interpolates with the real labels
        gp = gradient_penalty(lambda x: t.discriminate_packs(params_d, x, labels), real, fake, alpha)
        return t.hyper["gp_lambda"].to(gp.dtype) * gp

    def after_update(self, t) -> None:
        pass


class WeightClipping:
    """After every critic update, every critic parameter is clamped to [−c, c] (Arjovsky et al.
    2017, Algorithm 1), c per member."""

    fields = ("clip",)

    def active(self, method, grid) -> bool:
        return method.clip is not None or "clip" in grid

    def penalty(self, t, params_d, real, fake, step, sub):
        return None

    @torch.no_grad()
    def after_update(self, t) -> None:
        for p in t.params_d.values():
            c = member_view(t.hyper["clip"], p)
            torch.minimum(torch.maximum(p, -c), c, out=p)


REGULARISERS: dict[str, Regulariser] = {
    "gradient_penalty": GradientPenalty(),
    "weight_clipping": WeightClipping(),
}


def active_regularisers(method, grid) -> list[Regulariser]:
    return [r for r in REGULARISERS.values() if r.active(method, grid)]
