"""PacGAN's pack size in one place (Lin et al. 2018): the discriminator judges m samples
concatenated along their first feature axis, so one minibatch of B packs takes m·B rows of data
and of generated samples, and D's input is m times as wide. The engine, the memory estimate and the
configuration's checks all ask a ``Packing`` for those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Packing:
    """m samples per pack, ``batch_size`` packs per minibatch."""

    m: int
    batch_size: int

    @classmethod
    def of(cls, method: Any) -> "Packing":
        """The packing of a method configuration (its ``pack`` and ``batch_size``)."""
        return cls(method.pack, method.batch_size)

    @property
    def rows(self) -> int:
        """Rows of one minibatch: batch_size packs of m samples."""
        return self.batch_size * self.m

    def d_input(self, shape: Shape) -> Shape:
        """D's input shape for samples of ``shape``: m samples side by side on the first axis."""
        return (shape[0] * self.m, *shape[1:])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[N, m·B, C, ...] → [N, B, m·C, ...]: slot j of pack b is row j·B + b, so each slot is one
        of m separately generated batches, concatenated along the first feature axis (PacGAN)."""
        m = self.m
        n, rows, *shape = x.shape
        return x.view(n, m, rows // m, *shape).transpose(1, 2).reshape(n, rows // m, m * shape[0], *shape[1:])
