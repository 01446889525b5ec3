"""Packed total variation TV(P^m, Q^m) (PacGAN): exact over count vectors, Monte Carlo on targets."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganlab.theory.divergences import tv_discrete
from ganlab.theory.packing import (
    bhattacharyya_coefficient,
    count_vectors,
    packed_total_variation,
    packed_tv_bounds,
    packed_tv_discrete,
)
from ganlab.theory.targets import grid, isotropic_mixture
from strategies import prob_vectors, prob_pairs


def brute_force_packed_tv(p, q, m):
    """½ Σ over all K^m sequences of |Π p − Π q| (the definition, for small K and m)."""
    total = 0.0
    for seq in itertools.product(range(len(p)), repeat=m):
        total += abs(np.prod(p[list(seq)]) - np.prod(q[list(seq)]))
    return 0.5 * total


@settings(max_examples=100)
@given(prob_pairs())
def test_packed_tv_nondecreasing_in_m(pair):
    """PacGAN: TV(P^m, Q^m) is non-decreasing in m (marginalising a coordinate cannot increase
    TV), starting at TV(P, Q) for m = 1 and staying ≤ 1."""
    p, q = pair
    tvs = [packed_tv_discrete(p, q, m) for m in range(1, 6)]
    assert tvs[0] == pytest.approx(tv_discrete(p, q), abs=1e-12)
    assert all(b >= a - 1e-12 for a, b in zip(tvs, tvs[1:])), tvs
    assert tvs[-1] <= 1 + 1e-12


@settings(max_examples=60)
@given(prob_pairs(max_k=4), st.integers(1, 4))
def test_packed_tv_equals_sum_over_sequences(pair, m):
    """Collapsing the K^m-sequence sum to count vectors with multinomial weights is exact."""
    p, q = pair
    assert packed_tv_discrete(p, q, m) == pytest.approx(brute_force_packed_tv(p, q, m), abs=1e-12)


@settings(max_examples=100)
@given(prob_pairs(), st.integers(1, 8))
def test_packed_tv_bhattacharyya_bounds(pair, m):
    """1 − BC^m ≤ TV(P^m, Q^m) ≤ √(1 − BC^{2m}), so TV(P^m, Q^m) → 1 whenever P ≠ Q."""
    p, q = pair
    lo, hi = packed_tv_bounds(p, q, m)
    tv = packed_tv_discrete(p, q, m)
    assert lo - 1e-12 <= tv <= hi + 1e-12


def test_count_vectors_enumerate_types():
    c = count_vectors(4, 3)
    assert c.shape == (math.comb(6, 3), 4)
    assert (c.sum(axis=1) == 3).all() and len({tuple(r) for r in c}) == len(c)


def test_dropped_modes_give_one_minus_survival():
    """Dropping mass ε: TV(P^m, Q^m) = 1 − (1 − ε)^m (exact, and Monte Carlo on the grid)."""
    g = grid()
    keep = [k for k in range(25) if k not in (0, 6, 12, 18, 24)]
    q = isotropic_mixture(g.means[keep], 0.05)
    w_q = np.zeros(25)
    w_q[keep] = 1 / 20
    for m in (1, 3):
        exact = packed_total_variation(g.weights, w_q, m)
        assert exact.method == "exact" and exact.value == pytest.approx(1 - 0.8**m, abs=1e-12)
        mc = packed_total_variation(g, q, m, n=3000, seed=m)
        assert mc.method == "monte_carlo" and abs(mc.value - (1 - 0.8**m)) <= 4 * mc.error


def test_bhattacharyya_of_identical_is_one():
    p = np.array([0.2, 0.3, 0.5])
    assert bhattacharyya_coefficient(p, p) == pytest.approx(1.0)
    assert packed_total_variation(p, p, 5).value == pytest.approx(0.0, abs=1e-12)


def test_bad_input_named():
    with pytest.raises(ValueError, match="m must be an integer >= 1, got 0"):
        packed_total_variation([0.5, 0.5], [0.5, 0.5], 0)
    with pytest.raises(ValueError, match="more than max_types=10"):
        packed_total_variation([0.25] * 4, [0.25] * 4, 3, max_types=10)
    with pytest.raises(ValueError, match="q must sum to 1"):
        packed_total_variation([0.5, 0.5], [0.5, 0.7], 2)
    with pytest.raises(ValueError, match="p has 2 outcomes but q has 3"):
        packed_total_variation([0.5, 0.5], [0.2, 0.3, 0.5], 2)
