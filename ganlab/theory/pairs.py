"""The named toy pairs (p_data, p_g) that ``ganlab verify`` checks theory on, and the transforms
that make them (a mixture shifted, a mixture without some modes); experiments build their pairs
with the same transforms."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .targets import GaussianMixture, grid, mixture_1d, ring

RING_SHIFT = 0.02  # two mode stds of ring8: modes overlap partly, so JSD is strictly inside (0, log 2)
DROPPED = (0, 6, 12, 18, 24)  # the diagonal of the 5 × 5 grid


def shifted(target: GaussianMixture, shift: Sequence[float]) -> GaussianMixture:
    """The same mixture translated by ``shift``."""
    v = torch.as_tensor(shift, dtype=torch.float64)
    return GaussianMixture(
        target.means + v, target.covariances, target.weights, name=f"{target.name}+{list(shift)}"
    )


def drop_modes(target: GaussianMixture, drop: Sequence[int]) -> GaussianMixture:
    """The mixture without the modes ``drop``, remaining weights renormalised. (Modes are removed,
    not given weight 0: torch's Categorical clamps a zero probability to float eps.)"""
    keep = [k for k in range(target.n_modes) if k not in set(drop)]
    w = target.weights[keep]
    return GaussianMixture(
        target.means[keep], target.covariances[keep], w / w.sum(), name=f"{target.name}-{len(drop)}"
    )


def toy_pairs() -> dict[str, tuple[GaussianMixture, GaussianMixture]]:
    """(p_data, p_g) pairs: identical, shifted, mode-dropped and disjoint."""
    r8, g25 = ring(8), grid(5)
    return {
        "identical ring8": (r8, ring(8)),
        "shifted ring8": (r8, shifted(r8, (RING_SHIFT, 0.0))),
        "mode-dropped grid25": (g25, drop_modes(g25, DROPPED)),
        "disjoint 1-D": (mixture_1d((-2.0, 2.0), (0.5, 0.5)), mixture_1d((48.0, 52.0), (0.5, 0.5))),
    }
