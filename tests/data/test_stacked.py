"""Stacked MNIST: known-answer pools (image k is the constant k, label k mod 10) reveal which pool
image went into which channel; the indices' uniformity and independence are checked with
chi-square tests at fixed seeds (deterministic; thresholds are 1e-6 p-values, so a correct draw
fails with probability 1e-6 per test and a slip that biases or couples indices fails surely)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from ganlab.data.stacked import N_MODES, mode_ids, stack_images, stacked_indices, stacked_mnist


def constant_pool(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool image k is filled with the value k; its label is k mod 10."""
    images = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 28, 28).clone()
    return images, torch.arange(n) % 10


def test_channels_hold_the_drawn_pool_images_and_modes_their_labels():
    images, labels = constant_pool(37)
    s = stacked_mnist(images, labels, n=500, seed=11)
    assert s.images.shape == (500, 3, 28, 28) and s.modes.dtype == torch.int64
    # channel k of sample j is the constant indices[j, k]
    assert torch.equal(s.images[:, :, 5, 7].long(), s.indices)
    assert torch.equal(s.images.amin(dim=(2, 3)), s.images.amax(dim=(2, 3)))
    d = s.indices % 10
    assert torch.equal(s.modes, 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2])


def test_mode_ids_hand_values():
    digits = torch.tensor([[0, 0, 0], [1, 2, 3], [9, 0, 4], [9, 9, 9]])
    assert mode_ids(digits).tolist() == [0, 123, 904, 999]


@pytest.mark.parametrize("bad, msg", [
    (torch.tensor([[1, 2]]), r"shape \[n, 3\]"),
    (torch.tensor([[1.0, 2.0, 3.0]]), "integers"),
    (torch.tensor([[1, 2, 10]]), "0..9"),
    (torch.tensor([[-1, 2, 3]]), "0..9"),
])
def test_mode_ids_refuse_bad_digits(bad, msg):
    with pytest.raises(ValueError, match=msg):
        mode_ids(bad)


def test_same_seed_same_samples_other_seed_or_step_other_samples():
    images, labels = constant_pool(100)
    a, b = stacked_mnist(images, labels, 1000, seed=5), stacked_mnist(images, labels, 1000, seed=5)
    assert torch.equal(a.images, b.images) and torch.equal(a.modes, b.modes)
    c = stacked_mnist(images, labels, 1000, seed=6)
    d = stacked_mnist(images, labels, 1000, seed=5, step=1)
    assert (a.indices != c.indices).float().mean() > 0.9  # P(equal) = 1/100 per index
    assert (a.indices != d.indices).float().mean() > 0.9


def test_prefix_of_a_larger_draw_is_the_smaller_draw():
    # counter-based: sample j's indices do not depend on n
    small, large = stacked_indices(1000, 50, seed=2), stacked_indices(1000, 5000, seed=2)
    assert torch.equal(small, large[:50])


def test_indices_uniform_over_the_pool():
    n, pool = 60_000, 10
    idx = stacked_indices(pool, n, seed=0)
    assert int(idx.min()) == 0 and int(idx.max()) == pool - 1
    for k in range(3):
        counts = np.bincount(idx[:, k].numpy(), minlength=pool)
        assert scipy.stats.chisquare(counts).pvalue > 1e-6


def test_indices_independent_across_channels():
    # 10 × 10 contingency tables of every channel pair (each cell expects 600)
    idx = stacked_indices(10, 60_000, seed=1).numpy()
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        table = np.zeros((10, 10))
        np.add.at(table, (idx[:, a], idx[:, b]), 1)
        assert scipy.stats.chi2_contingency(table).pvalue > 1e-6


def test_all_1000_modes_reachable_and_uniform_for_a_balanced_pool():
    images, labels = constant_pool(10)  # labels 0..9 once each: every mode has probability 1/1000
    s = stacked_mnist(images, labels, 50_000, seed=3)
    counts = np.bincount(s.modes.numpy(), minlength=N_MODES)
    assert (counts > 0).all()
    assert scipy.stats.chisquare(counts).pvalue > 1e-6


def test_stack_images_and_inputs_are_checked():
    images, labels = constant_pool(4)
    assert torch.equal(stack_images(images, torch.tensor([[3, 0, 2]]))[0, :, 0, 0], torch.tensor([3.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match=r"pool must have shape \[N, 1, H, W\]"):
        stack_images(images[:, 0], torch.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match=r"labels must have shape \[4\]"):
        stacked_mnist(images, labels[:3], 5, seed=0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        stacked_indices(4, 0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        stacked_indices(4, 3, seed=-1)
