"""Stacked MNIST: three MNIST digits as the three channels of one image, 1,000 modes.

Sample j takes three pool images drawn independently and uniformly with replacement,
i₁, i₂, i₃ ~ U{0, …, N−1}, and stacks them as channels 0, 1, 2: image [3, 28, 28]. Its mode is
the triple of digits, mode id = 100·d₁ + 10·d₂ + d₃ ∈ {0, …, 999}, d_k the label of channel k−1.

Construction in PacGAN's code (``fjxmlzn/PacGAN``, ``stacked_MNIST_experiments``), read for this:

* ``VEEGAN_experiment/model.py`` ``load_mnist``: pool = the 60,000 training plus 10,000 test
  images; ``np.random.randint(0, 70000, size=(128000, 3))`` indices, channel j of sample i is pool
  image ``ids[i, j]``; 128,000 stacked images drawn once, pixels / 255 ∈ [0, 1]. For packing m
  it then redraws m of those stacked images per packed sample, again with replacement.
* ``unrolled_GAN_experiment/D=0.5G/model.py`` (and ``D=0.25G``) ``generate_stacked_mnist``:
  pool = the 60,000 training images only, fresh indices for every batch (``randint`` of shape
  [batch, 3·m]), pixels / 255 · 2 − 1 ∈ [−1, 1].
* Both seed numpy's global generator once per run from ``random.randint(1, 100000)``.
* The evaluation classifies channel 0, 1, 2 separately and keys the mode by the tuple
  (d(ch 0), d(ch 1), d(ch 2)), equivalent to the id above.

Differences here: the pool is whatever the caller passes (on this project's machines the
training part of the 10,000-image test split, since no training split exists here); the indices
come from a Philox stream of the seed (``ganlab.rng.Streams``, purpose ``"stacked-mnist"``), so the
same seed gives the same samples on any device and torch version; pixels are in [−1, 1] as in the
unrolled-GAN variant; ``stacked_indices`` lets a trainer draw fresh indices per batch (the
unrolled variant) or a fixed set once (the VEEGAN variant) from different ``step`` values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..rng import Streams, check_seed
from ..validation import check_int

N_MODES = 1000
CHANNELS = 3
MAX_POOL = 1 << 31  # w·N < 2⁶³ for 32-bit words w keeps the multiply-shift in int64


@dataclass(frozen=True)
class StackedMNIST:
    """``images`` [n, 3, 28, 28] (the pool's dtype and scale), ``modes`` int64 [n] in 0..999,
    ``indices`` int64 [n, 3] into the pool (channel k of sample j is pool image indices[j, k])."""

    images: torch.Tensor
    modes: torch.Tensor
    indices: torch.Tensor


def stacked_indices(pool_size: int, n: int, seed: int, step: int = 0,
                    device: str | torch.device = "cpu") -> torch.Tensor:
    """int64 [n, 3] pool indices, each uniform on {0, …, pool_size − 1}, all 3n independent:
    i = ⌊w · N / 2³²⌋ for the uniform 32-bit words w of ``Streams([seed]).bits("stacked-mnist",
    step, 0, 3n)`` (multiply-shift: ⌊2³²/N⌋ or ⌈2³²/N⌉ words map to each index, so P(i) differs
    from 1/N by less than 2⁻³², relatively by < N/2³² < 2·10⁻⁵ for N ≤ 70,000). ``step``
    addresses another independent draw of the same seed."""
    seed = check_seed("seed", seed)
    pool_size = check_int("pool_size", pool_size)
    n = check_int("n", n)
    if pool_size >= MAX_POOL:
        raise ValueError(f"pool_size must be below 2**31, got {pool_size}")
    w = Streams([seed], device=device).bits("stacked-mnist", step, 0, CHANNELS * n)[0]
    return ((w * pool_size) >> 32).view(n, CHANNELS)


def mode_ids(digits: torch.Tensor) -> torch.Tensor:
    """Mode id of digit triples [n, 3]: 100·d₁ + 10·d₂ + d₃ (channel 0 is the hundreds)."""
    if digits.ndim != 2 or digits.shape[1] != CHANNELS:
        raise ValueError(f"digits must have shape [n, 3], got {tuple(digits.shape)}")
    if digits.is_floating_point() or digits.is_complex():
        raise ValueError(f"digits must be integers, got dtype {digits.dtype}")
    if digits.numel() and (digits.min() < 0 or digits.max() > 9):
        raise ValueError(f"digits must lie in 0..9, got range [{int(digits.min())}, {int(digits.max())}]")
    weights = torch.tensor([100, 10, 1], dtype=torch.int64, device=digits.device)
    return (digits.to(torch.int64) * weights).sum(dim=1)


def stack_images(pool: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """[n, 3, 28, 28]: channel k of sample j is the single-channel pool image indices[j, k]."""
    if pool.ndim != 4 or pool.shape[1] != 1:
        raise ValueError(f"pool must have shape [N, 1, H, W], got {tuple(pool.shape)}")
    return pool[:, 0][indices.to(pool.device)]


def stacked_mnist(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int,
                  step: int = 0) -> StackedMNIST:
    """``n`` Stacked-MNIST samples from the pool (``images`` [N, 1, 28, 28], ``labels`` [N] in
    0..9), indices from ``stacked_indices(N, n, seed, step)`` on the pool's device; modes from
    the true labels of the three channels."""
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must have shape [{images.shape[0]}], got {tuple(labels.shape)}")
    idx = stacked_indices(images.shape[0], n, seed, step, device=images.device)
    return StackedMNIST(stack_images(images, idx), mode_ids(labels.to(images.device)[idx]), idx)
