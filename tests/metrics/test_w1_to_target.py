"""Tests for ganlab.metrics.wasserstein.w1_to_target (exact W1 to fresh target samples)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import torch

from ganlab.metrics.wasserstein import W1_FLOOR_PAIRS, block_w1_to_target, w1_floor, w1_to_target
from ganlab.theory.targets import grid, make_target, ring


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


# -- block W1 (the training evaluator's estimate) ------------------------------------------------
def _assignment_w1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Exact W1 of two equal-size uniform clouds as an assignment problem (an optimal plan is a
    permutation), by scipy's solver on the written-out Euclidean cost: no POT involved."""
    x, y = x.double().numpy(), y.double().numpy()
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def test_block_w1_hand_values():
    """Two clouds of 90 samples in blocks of 40: two blocks each (10 samples unused), each
    block against the matching 40 points of target.sample(80, seed); se of two values = |a − b| / 2."""
    t = ring()
    x = torch.stack([ring(std=0.1).sample(90, 1, dtype=torch.float64), t.sample(90, 2, dtype=torch.float64) * 1.1])
    res = block_w1_to_target(x, t, [7, 11], block=40)
    for i, s in enumerate((7, 11)):
        y = t.sample(80, s, dtype=torch.float64)
        a, b = _assignment_w1(x[i, :40], y[:40]), _assignment_w1(x[i, 40:80], y[40:])
        assert a != b
        assert res[i].value == pytest.approx((a + b) / 2, rel=1e-12)
        assert res[i].se == pytest.approx(abs(a - b) / 2, rel=1e-10)
        assert (res[i].blocks, res[i].size) == (2, 40)
    # one block (n <= block): the exact W1 of all samples, w1_to_target's value, and no error bar
    one = block_w1_to_target(x[:, :30], t, [7, 11], block=500)
    assert one[1].value == w1_to_target(x[1, :30], t, n=30, seed=11) and (one[1].blocks, one[1].size) == (1, 30)
    assert math.isnan(one[1].se)
    # same seeds, same values, in any company and on any number of threads
    again = block_w1_to_target(x[1:], t, [11], block=40, workers=2)
    assert again[0] == res[1]


def test_block_w1_standard_error_matches_the_spread_over_replicates():
    """150 replicate evaluations of one generator (a blurred ring: fresh generated samples and a
    fresh reference each time), 8 blocks of 30. The value is a mean of 8 independent block values,
    so its variance is Var(block) / 8 and E se² equals it: the s.d. of the 150 values matches the
    rms se to the ~6 % error of an s.d. from 150 draws (bounds ±18 %, 3 of those), and
    value ± t(7, 0.975)·se = ± 2.365·se covers the mean of the values in ~95 % of replicates."""
    t, gen, reps = ring(), ring(std=0.1), 150
    x = torch.stack([gen.sample(240, 1000 + r, dtype=torch.float64) for r in range(reps)])
    res = block_w1_to_target(x, t, list(range(reps)), block=30)
    v, se = np.array([r.value for r in res]), np.array([r.se for r in res])
    assert 0.85 < v.std(ddof=1) / math.sqrt(np.mean(se**2)) < 1.18
    assert 0.88 < np.mean(np.abs(v - v.mean()) <= 2.365 * se) < 0.995


def test_w1_floor_is_what_the_target_itself_scores():
    """A 'generator' equal to the target scores the floor: 60 replicates of block W1 between target
    samples and target references average to w1_floor within 3 combined standard errors. The floor
    is > 0, shrinks with the block size (≈ size^(−1/2) in 2-D: 4x the points, about half the
    value), and is reproducible (another seed, another estimate)."""
    t = ring()
    floor = w1_floor(t, 30)
    assert (floor.blocks, floor.size) == (W1_FLOOR_PAIRS, 30) and floor.value > 0.1
    x = torch.stack([t.sample(240, 5000 + r, dtype=torch.float64) for r in range(60)])
    v = np.array([r.value for r in block_w1_to_target(x, t, list(range(60)), block=30)])
    assert abs(v.mean() - floor.value) < 3 * math.hypot(v.std(ddof=1) / math.sqrt(60), floor.se)
    assert w1_floor(t, 120, pairs=10).value < 0.7 * w1_floor(t, 30, pairs=10).value
    assert w1_floor(t, 30) == floor and w1_floor(t, 30, seed=1) != floor


def test_block_w1_bad_input():
    t = ring()
    x = t.sample(20, 0).reshape(1, 20, 2)
    for call, match in [
        (lambda: block_w1_to_target(x[0], t, [0]), r"samples must have shape \[N, n, d\]"),
        (lambda: block_w1_to_target(x, t, [0, 1]), "1 clouds but 2 seeds"),
        (lambda: block_w1_to_target(x, t, [1.5]), "seeds must be integers, got 1.5"),
        (lambda: block_w1_to_target(torch.zeros(1, 5, 3), t, [0]), "samples has dimension 3, expected 2"),
        (lambda: block_w1_to_target(x, t, [0], block=0), "block must be an integer >= 1"),
        (lambda: block_w1_to_target(x, t, [0], block=6000), "block must be at most 5000"),
        (lambda: w1_floor(t, 10, pairs=0), "pairs must be an integer >= 1"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
