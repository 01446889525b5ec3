"""What update schedules (``schedules``) and regularisers (``regularisers``) may use of the trainer
they are handed: this Protocol, and nothing else of ``engine.Trainer``
(``tests/training/test_interface.py`` runs every schedule and regulariser against a trainer that
offers only these names). A new part that needs more adds it here first.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ..models import Params
from ..rng import Streams


class StepInterface(Protocol):
    cfg: Any  # the run's TrainConfig (schedules read its method: d_steps, g_steps)
    streams: Streams  # the members' random streams, addressed (purpose, step, sub)
    hyper: dict[str, torch.Tensor]  # every member's grid-able method fields, tensors [N] on the device
    params_d: Params  # θ_D, updated in place by ``update_d`` (and by a regulariser's ``after_update``)

    @property
    def trains_generator(self) -> bool:
        """False when a fixed distribution stands in for G (then no G losses or updates)."""

    def real(self, step: int, sub: int) -> torch.Tensor:
        """Data minibatch (step, sub) [N, m·B, *shape]."""

    def real_labels(self, step: int, sub: int) -> torch.Tensor | None:
        """The class labels [N, B] of ``real(step, sub)`` (None when unconditional)."""

    def fake_labels(self, step: int, sub: int, n: int | None = None, purpose: str = "labels") -> torch.Tensor | None:
        """The class labels [N, n] that condition ``fake(step, sub)`` (None when unconditional)."""

    def fake(self, step: int, sub: int, grad: bool = False) -> torch.Tensor:
        """Generated minibatch (step, sub) [N, m·B, *shape], differentiable in θ_G with ``grad``."""

    def discriminate_packs(self, params_d: Params, packs: torch.Tensor,
                           labels: torch.Tensor | None = None) -> torch.Tensor:
        """D with parameters ``params_d`` on packed inputs [N, B, m·C, ...] → logits [N, B, 1]."""

    def d_gradients(self, params_d: Params, real: torch.Tensor, fake: torch.Tensor, step: int,
                    sub: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """D's loss [N] (regularisers' penalties included) and its gradients in ``params_d``."""

    def g_gradients(self, params_d: Params, fake: torch.Tensor, step: int,
                    sub: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """G's loss [N] against D ``params_d`` and its gradients in θ_G."""

    def update_d(self, grads: list[torch.Tensor]) -> None:
        """One optimizer step of θ_D, then every regulariser's ``after_update``."""

    def update_g(self, grads: list[torch.Tensor]) -> None:
        """One optimizer step of θ_G."""

    def unrolled_discriminator(self, real: torch.Tensor, fake: torch.Tensor, step: int, sub: int) -> Params:
        """θ_D after the method's K unrolled updates on (real, fake) (Metz et al. 2017)."""
