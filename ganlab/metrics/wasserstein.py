"""Wasserstein distance from a sample cloud to a target: the training code's "W1 to target"."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..validation import check_cloud, check_int

__all__ = ["w1_to_target"]


def w1_to_target(samples: Any, target: Any, *, n: int = 2500, seed: int = 0) -> float:
    """Exact W1 (Euclidean ground cost) between ``samples`` and n fresh target samples.

    W1(μ̂, ν̂) = min_{π ∈ Π(μ̂, ν̂)} Σ_{ij} π_ij ‖x_i − y_j‖₂, uniform weights on both clouds, solved
    exactly by ``ganlab.theory.wasserstein.w1`` (POT ``ot.emd2``, imported lazily). The target cloud is
    ``target.sample(n, seed)`` in float64, so the same seed gives the same value. Works for
    sample-only targets too (the swiss roll). Even for samples drawn from the target itself the
    value is > 0: the empirical W1 between two independent n-point clouds in 2-D shrinks only like
    n^(−1/2) (up to log factors). Cost and memory grow as len(samples) × n (dense cost matrix and
    plan); more than ``wasserstein.MAX_EMD_POINTS``² pairs (5k × 5k) is refused: subsample first.
    """
    from ..theory.wasserstein import MAX_EMD_POINTS, w1

    n = check_int("n", n)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    x = check_cloud("samples", samples, dim=getattr(target, "dim", None)).to(torch.float64)
    if x.shape[0] * n > MAX_EMD_POINTS**2:
        raise ValueError(
            f"w1_to_target: {x.shape[0]} samples x n={n} target samples = {x.shape[0] * n} pairs "
            f"exceeds {MAX_EMD_POINTS}**2 (exact OT needs a dense cost matrix and plan); "
            "subsample the samples or lower n"
        )
    y = target.sample(n, int(seed), dtype=torch.float64)
    return float(w1(x, y))
