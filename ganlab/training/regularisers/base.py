"""The interface of a regulariser part of the discriminator (critic), and its registry.

A regulariser is one object in one module: its name, the ``MethodConfig`` fields it owns (its
weight among them, per member: a grid may vary it), its label fragment, its rules, its formula in
its docstring, and how it acts:

* ``penalty(trainer, params_d, real, fake, step, sub)``: a term [N] added to the D loss, or None
  (real and fake as D sees them: packed, [N, B, ...]);
* ``after_update(trainer)``: applied to θ_D after every D update;
* ``reference_penalty`` / ``reference_after_update``: the same for one member in
  ``training.reference``'s plain loop, written out apart.

The engine calls whatever is active.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..parts import PartField

if TYPE_CHECKING:
    from ..engine import Trainer
    from ..methods import MethodConfig


class Regulariser:
    """Subclasses set the class attributes and override what they do."""

    name: ClassVar[str]
    weight: ClassVar[str]  # the field that switches it on (off at its default)
    what: ClassVar[str]  # how messages name it, e.g. "the gradient penalty"
    fields: ClassVar[tuple[PartField, ...]]
    per_sample: ClassVar[bool] = True  # a penalty per sample: refused on a discriminator with batch norm
    with_unrolled: ClassVar[bool] = False  # the unrolled schedule's D steps include it

    def on(self, m: "MethodConfig") -> bool:
        """Whether ``m`` (one member's method) uses it: its weight is set and nonzero."""
        return bool(getattr(m, self.weight))

    def active(self, m: "MethodConfig", grid: Mapping[str, Any]) -> bool:
        """Whether a run uses it: on, or its weight gridded (a member at weight 0 then gets exactly
        the gradients of a run without it, 0 · finite = 0)."""
        return self.on(m) or self.weight in grid

    def label(self, m: "MethodConfig", grid: Mapping[str, Any]) -> str:
        """Its fragment of ``methods.describe``'s label (e.g. "gp λ=10"; without the value when gridded)."""
        raise NotImplementedError

    def check(self, m: "MethodConfig") -> None:
        """Validate its own fields and its pairings with the rest of the method; called for every
        regulariser, active or not."""

    def penalty(self, t: "Trainer", params_d, real: torch.Tensor, fake: torch.Tensor, step: int,
                sub: int) -> torch.Tensor | None:
        return None

    def after_update(self, t: "Trainer") -> None:
        pass

    def reference_penalty(self, m: "MethodConfig", D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                          fake: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor | None:
        return None

    def reference_after_update(self, m: "MethodConfig", D: torch.nn.Module) -> None:
        pass


REGULARISERS: dict[str, Regulariser] = {}


def register(cls: type[Regulariser]) -> type[Regulariser]:
    """Class decorator: add one instance of the regulariser to ``REGULARISERS`` under its name."""
    if cls.name in REGULARISERS:
        raise ValueError(f"regulariser {cls.name!r} is registered twice")
    REGULARISERS[cls.name] = cls()
    return cls


def active_regularisers(m: "MethodConfig", grid: Mapping[str, Any]) -> list[Regulariser]:
    """The regularisers a run uses, in registration order."""
    return [r for r in REGULARISERS.values() if r.active(m, grid)]
