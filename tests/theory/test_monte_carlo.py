"""Monte Carlo estimates and their standard errors, calibrated against quadrature and exact values.

A standard error is a claim about the spread of the estimate over independent seeds. Over M
seeds the z-scores (estimate − reference)/SE of an unbiased estimator with a right SE have mean
≈ 0 and standard deviation ≈ 1; an SE off by a factor 2 (e.g. the ½ of the JSD's
½ √(se_p² + se_q²) dropped) gives a standard deviation of 0.5 or 2. The references are computed
by another method: quadrature (error < 1e-9, negligible against SEs of 1e-3) or exact formulas.
"""

import math

import numpy as np
import pytest
import torch

from ganlab.theory.divergences import jensen_shannon, kl_divergence, total_variation
from ganlab.theory.gan import make_optimal_discriminator, value_function, virtual_criterion
from ganlab.theory.packing import packed_total_variation
from ganlab.theory.targets import grid, isotropic_mixture, ring

# M seeds, n samples each. With n = 1000 every estimate is a mean of 1000 iid terms, so its z is
# N(0, 1) up to O(n^-1/2) skew; over M = 100 seeds the mean of z has standard error 0.1 and the
# sample standard deviation of z has standard error ≈ 1/√(2(M − 1)) = 0.071. The bands below are 5
# of those standard errors wide (a correct estimator fails with probability < 1e-5 per check) and
# still reject a factor 2 either way (std 0.5 or 2).
SEEDS, N = 100, 1000
MEAN_BAND = 5 / math.sqrt(SEEDS)
STD_BAND = (1 - 5 / math.sqrt(2 * (SEEDS - 1)), 1 + 5 / math.sqrt(2 * (SEEDS - 1)))


def shifted_ring8():
    p = ring(8)
    return p, isotropic_mixture(p.means + torch.tensor([0.02, 0.0], dtype=torch.float64), 0.01)


def z_scores(estimate, reference):
    """(estimate(seed) − reference)/SE(seed) for seeds 0..SEEDS−1."""
    z = []
    for seed in range(SEEDS):
        e = estimate(seed)
        assert e.method == "monte_carlo" and e.error > 0
        z.append((e.value - reference) / e.error)
    return np.array(z)


def check_calibrated(z, what):
    assert abs(z.mean()) <= MEAN_BAND, f"{what}: mean z = {z.mean():.3f}, expected 0 ± {MEAN_BAND:.2f}"
    lo, hi = STD_BAND
    assert lo <= z.std(ddof=1) <= hi, f"{what}: std z = {z.std(ddof=1):.3f}, expected in [{lo:.2f}, {hi:.2f}]"


@pytest.mark.parametrize(
    "name, fn",
    [
        ("JSD", jensen_shannon),
        ("KL", kl_divergence),
        ("TV", total_variation),
        ("C(G)", virtual_criterion),
    ],
)
def test_monte_carlo_standard_errors_are_calibrated(name, fn):
    """Over 100 seeds the Monte Carlo z-scores against quadrature have mean 0 and std 1 (shifted
    ring8: JSD 0.38, KL 2, TV 0.68, C(G) −0.71)."""
    p, q = shifted_ring8()
    reference = fn(p, q)
    assert reference.method == "quadrature" and reference.error < 1e-9
    z = z_scores(lambda seed: fn(p, q, method="monte_carlo", n=N, seed=seed), reference.value)
    check_calibrated(z, name)


def test_value_function_standard_error_is_calibrated():
    """V(D, G) by Monte Carlo for D = σ(logit D* + 1) on shifted ring8, against quadrature."""
    p, q = shifted_ring8()
    d_star = make_optimal_discriminator(p, q)
    d = lambda x: torch.sigmoid(d_star.logit(x) + 1.0)
    reference = value_function(d, p, q)
    z = z_scores(lambda seed: value_function(d, p, q, method="monte_carlo", n=N, seed=seed), reference.value)
    check_calibrated(z, "V(D, G)")


def test_packed_tv_standard_error_is_calibrated():
    """TV(P², Q²) by Monte Carlo on grid25 without its diagonal: exactly 1 − 0.8² (a pack differs
    in distribution only through hitting a dropped mode; every Monte Carlo term is 0 or 1)."""
    p = grid(5)
    q = isotropic_mixture(p.means[[k for k in range(25) if k % 6]], 0.05)
    z = z_scores(lambda seed: packed_total_variation(p, q, 2, n=N, seed=seed), 1 - 0.8**2)
    check_calibrated(z, "packed TV")
