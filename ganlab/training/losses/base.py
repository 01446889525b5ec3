"""The interface of a loss part, and its registry.

A loss is a discriminator (critic) loss with the generator losses it pairs with, as one object in
one module: its name (the ``loss`` field's value), the generator losses it offers (the
``generator_loss`` field's values), the ``MethodConfig`` fields it owns, its label, its
compatibility rules, its formula (in its docstring), and the written-out reference computation
that ``training.reference`` uses to check the engine.

Discriminator outputs l are [N, B, 1] (N members; logits where D(x) = σ(l), raw scores for a
critic); the engine's losses return a per-member loss [N], so that member i's gradient is exactly
its own loss's gradient once the engine sums members. The reference's work on one member's
outputs [B, 1] and return a scalar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import torch

from ..parts import PartField

if TYPE_CHECKING:
    from ..methods import MethodConfig
    from ..regularisers import Regulariser


def per_member_mean(t: torch.Tensor) -> torch.Tensor:
    """[N, ...] → [N]: the mean over everything but the member axis."""
    return t.flatten(1).mean(dim=1)


class Loss:
    """A loss family. Subclasses set the class attributes and the four computations."""

    name: ClassVar[str]
    help: ClassVar[str]  # the ``--loss`` choice, in a few words
    generators: ClassVar[dict[str, str]]  # generator loss name → its help (the ``--generator-loss`` choices)
    fields: ClassVar[tuple[PartField, ...]] = ()
    unrollable: ClassVar[bool] = False  # the unrolled schedule (Metz et al. 2017) is defined for it

    # -- the engine's computation ([N, B, 1] → [N]) ------------------------------------------------
    def discriminator(self, real: torch.Tensor, fake: torch.Tensor, m: "MethodConfig") -> torch.Tensor:
        raise NotImplementedError

    def generator(self, name: str, fake: torch.Tensor, m: "MethodConfig") -> torch.Tensor:
        raise NotImplementedError

    # -- the reference loop's, written out apart ([B, 1] → scalar) --------------------------------
    def reference_discriminator(self, m: "MethodConfig", real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reference_generator(self, m: "MethodConfig", fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- description and rules -----------------------------------------------------------------
    def label(self, m: "MethodConfig", regularisers: list["Regulariser"]) -> tuple[str, tuple["Regulariser", ...]]:
        """What ``methods.describe`` calls this loss, and the active regularisers that name already
        says (the others are appended to it); by default the generator loss's name."""
        return m.generator_loss, ()

    def check(self, m: "MethodConfig") -> None:
        """Validate this loss's own fields; called for every loss, active or not."""


LOSSES: dict[str, Loss] = {}


def register(cls: type[Loss]) -> type[Loss]:
    """Class decorator: add one instance of the loss to ``LOSSES`` under its name."""
    if cls.name in LOSSES:
        raise ValueError(f"loss {cls.name!r} is registered twice")
    LOSSES[cls.name] = cls()
    return cls
