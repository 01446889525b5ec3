"""Tests for ganlab.metrics.wasserstein.w1_to_target (exact W1 to fresh target samples)."""

from __future__ import annotations

import pytest
import torch

from ganlab.metrics.wasserstein import w1_to_target
from ganlab.theory.targets import grid, make_target


def test_w1_to_target_known_answers():
    t = grid()
    y = t.sample(400, 2, dtype=torch.float64)  # exactly the cloud w1_to_target draws with seed 2
    assert w1_to_target(y, t, n=400, seed=2) == pytest.approx(0.0, abs=1e-12)
    # translating a cloud by v moves it exactly ‖v‖ = 5 in W1 (mean shift lower bound, identity
    # coupling upper bound)
    shifted = y + torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert w1_to_target(shifted, t, n=400, seed=2) == pytest.approx(5.0, rel=1e-9)
    # same seed, same value; another target cloud gives another (positive) value
    x = t.sample(300, 9)
    a, b = w1_to_target(x, t, n=400, seed=0), w1_to_target(x, t, n=400, seed=0)
    assert a == b and a > 0 and w1_to_target(x, t, n=400, seed=1) != a


def test_w1_to_target_sample_only_target_and_validation():
    roll = make_target("swissroll")
    assert 0 < w1_to_target(roll.sample(200, 1), roll, n=200) < 0.5
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        w1_to_target(roll.sample(10, 1), roll, n=0)
    with pytest.raises(ValueError, match="samples has dimension 3, expected 2"):
        w1_to_target(torch.zeros(10, 3), grid())
    with pytest.raises(ValueError, match="seed must be an integer"):
        w1_to_target(torch.zeros(10, 2), grid(), seed=1.5)
    with pytest.raises(ValueError, match=r"6000 samples x n=5000 .* subsample the samples or lower n"):
        w1_to_target(torch.zeros(6000, 2), grid(), n=5000)
