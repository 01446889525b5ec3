"""Divergences: exact discrete formulas, quadrature and Monte Carlo on targets, bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ganlab.theory.divergences import (
    Estimate,
    MixtureLogDensity,
    integrate_over_modes,
    jensen_shannon,
    jsd_discrete,
    kl_discrete,
    kl_divergence,
    total_variation,
    tv_discrete,
)
from ganlab.theory.targets import (
    SwissRoll,
    grid,
    isotropic_mixture,
    make_target,
    metz_ring8,
    mixture_1d,
    ring,
    wgan_gp_8gaussians,
    wgan_gp_25gaussians,
)
from ganlab.theory.targets import GaussianMixture
from strategies import prob_vectors, prob_pairs, mixtures_1d

LOG2 = math.log(2.0)


# -- strategies -------------------------------------------------------------------------------
@st.composite
def mixtures_2d(draw):
    """Random user mixtures in 2-D with full covariances; modes may overlap."""
    k = draw(st.integers(1, 4))
    means = np.array(draw(st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=k, max_size=k)))
    covs = []
    for _ in range(k):
        s1, s2 = draw(st.floats(0.02, 1.0)), draw(st.floats(0.02, 1.0))
        rho = draw(st.floats(-0.9, 0.9))
        covs.append([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    return GaussianMixture(
        torch.tensor(means),
        torch.tensor(covs, dtype=torch.float64),
        torch.tensor(draw(prob_vectors(k, zeros=False))),
    )


# -- discrete properties ------------------------------------------------------------------------
@settings(max_examples=200)
@given(prob_pairs())
def test_jsd_bounded_by_log2_and_symmetric(pair):
    """JSD is symmetric and 0 ≤ JSD(p, q) ≤ log 2 (natural log; Lin 1991)."""
    p, q = pair
    j = jsd_discrete(p, q)
    assert -1e-15 <= j <= LOG2 + 1e-12
    assert j == pytest.approx(jsd_discrete(q, p), abs=1e-14)


@settings(max_examples=200)
@given(prob_pairs())
def test_kl_nonnegative_zero_iff_equal(pair):
    """Gibbs' inequality: KL(p‖q) ≥ 0, with equality iff p = q."""
    p, q = pair
    k = kl_discrete(p, q)
    assert k >= -1e-15
    assert kl_discrete(p, p) == pytest.approx(0.0, abs=1e-15)
    if tv_discrete(p, q) > 1e-3:
        assert k > 1e-7  # Pinsker: KL ≥ 2 TV² ≥ 2e-6


@settings(max_examples=100)
@given(prob_pairs())
@example((np.array([0.0, 0.5, 0.5]), np.array([0.0, 0.5000025, 0.4999975])))  # Pinsker nearly tight
def test_tv_between_pinsker_bound_and_one(pair):
    """Pinsker: 0 ≤ TV ≤ min(1, √(KL/2)); JSD ≤ TV·log 2 (JSD is an f-divergence bounded by TV)."""
    p, q = pair
    tv, kl, jsd = tv_discrete(p, q), kl_discrete(p, q), jsd_discrete(p, q)
    assert 0 <= tv <= 1 + 1e-12
    assert tv <= math.sqrt(kl / 2) + 1e-12, (p.tolist(), q.tolist())
    assert jsd <= tv * LOG2 + 1e-12


def test_kl_infinite_where_q_vanishes():
    assert kl_discrete([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kl_discrete([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert jsd_discrete([1.0, 0.0], [0.0, 1.0]) == pytest.approx(LOG2)
    assert kl_divergence([1.0, 0.0], [0.0, 1.0]) == Estimate(math.inf, 0.0, "exact")


# -- targets: quadrature and Monte Carlo --------------------------------------------------------
@settings(max_examples=10)
@given(st.integers(1, 12), st.floats(0.2, 5.0), st.floats(0.005, 0.3), st.integers(1, 4), st.floats(0.01, 0.3))
def test_ring_and_grid_densities_integrate_to_one(n_modes, radius, std, side, grid_std):
    """Normalisation: ∫ p = 1 for rings and grids of any size and width (quadrature)."""
    for t in (ring(n_modes, radius, std), grid(side, 2.0, grid_std)):
        e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [t])
        assert abs(e.value - 1) <= e.error + 1e-10, (t, e)


@pytest.mark.parametrize("make", [wgan_gp_8gaussians, wgan_gp_25gaussians, metz_ring8, ring, grid, mixture_1d])
def test_preset_densities_integrate_to_one(make):
    e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [make()])
    assert abs(e.value - 1) <= e.error + 1e-10, e


@settings(max_examples=25)
@given(st.one_of(mixtures_1d(), mixtures_2d()))
def test_random_mixture_density_integrates_to_one(target):
    """Normalisation of random user mixtures (1-D, and 2-D with full, possibly overlapping,
    covariances): ∫ p = 1 by quadrature."""
    e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [target])
    assert abs(e.value - 1) <= e.error + 1e-10, e


@settings(max_examples=25)
@given(st.one_of(mixtures_1d(), mixtures_2d()), st.integers(0, 2**31))
def test_numpy_density_matches_target_log_prob(target, seed):
    """The quadrature's numpy density is the target's torch density: log p agrees to 1e-9."""
    x = target.sample(50, seed, dtype=torch.float64) * 1.5
    np.testing.assert_allclose(
        MixtureLogDensity(target)(x.numpy()), target.log_prob(x).numpy(), rtol=1e-12, atol=1e-9
    )


def test_metz_ring_is_eight_centres_at_radius_two_with_std_002():
    """Metz et al. 2017, appendix A: 8 Gaussians of std 0.02 on a circle of radius 2 (hand values:
    the centre at 45° is (√2, √2); the density at a centre is 1/8 · 1/(2π · 0.02²))."""
    t = metz_ring8()
    c = t.centres
    assert c.shape == (8, 2)
    assert bool(((c - torch.tensor([math.sqrt(2), math.sqrt(2)], dtype=torch.float64)).norm(dim=1) < 1e-12).any())
    torch.testing.assert_close(c.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    peak = t.log_prob(c[:1]).exp().item()
    assert peak == pytest.approx(1 / 8 / (2 * math.pi * 0.02**2), rel=1e-6)  # other centres add e^-2500


@settings(max_examples=40)
@given(st.integers(1, 300), st.floats(0.01, 100.0))
def test_ring_centres_distinct(n_modes, radius):
    """ring(n) has n distinct centres on the circle, neighbours 2r·sin(π/n) apart (not linspace's
    repeated first angle)."""
    c = ring(n_modes, radius).centres
    assert c.shape == (n_modes, 2)
    torch.testing.assert_close(c.norm(dim=1), torch.full((n_modes,), radius, dtype=torch.float64))
    if n_modes > 1:
        d = torch.cdist(c, c) + torch.eye(n_modes, dtype=torch.float64) * 1e9
        assert float(d.min()) == pytest.approx(2 * radius * math.sin(math.pi / n_modes), rel=1e-9)


def test_quadrature_known_values():
    p, q = mixture_1d((0.0,), (1.0,)), mixture_1d((1.0,), (2.0,))
    # KL(N(0,1) ‖ N(1,4)) = log 2 + (1 + 1)/8 − 1/2
    kl = kl_divergence(p, q)
    assert kl.method == "quadrature"
    assert kl.value == pytest.approx(math.log(2) + 2 / 8 - 0.5, abs=kl.error + 1e-12)
    # TV(N(0,1), N(δ,1)) = 2Φ(δ/2) − 1
    tv = total_variation(p, mixture_1d((1.0,), (1.0,)))
    assert tv.value == pytest.approx(math.erf(0.5 / math.sqrt(2)), abs=tv.error + 1e-12)


def test_monte_carlo_agrees_with_quadrature_in_2d():
    p = ring(8)
    q = isotropic_mixture(p.means + torch.tensor([0.015, 0.0], dtype=torch.float64), 0.01)
    for fn in (kl_divergence, jensen_shannon, total_variation):
        exact, mc = fn(p, q), fn(p, q, method="monte_carlo", n=5000, seed=1)
        assert mc.method == "monte_carlo" and exact.method == "quadrature"
        assert abs(mc.value - exact.value) <= 4 * mc.error + exact.error


def test_auto_uses_monte_carlo_above_two_dimensions():
    p = isotropic_mixture(torch.zeros(1, 3), 1.0)
    q = isotropic_mixture(torch.ones(1, 3), 1.0)
    e = kl_divergence(p, q, n=4000)
    assert e.method == "monte_carlo"
    assert abs(e.value - 1.5) <= 4 * e.error  # |δ|²/2 = 3/2
    with pytest.raises(ValueError, match="dimension 3"):
        kl_divergence(p, q, method="quadrature")


def test_identical_targets_give_zero():
    p = grid()
    for fn in (kl_divergence, jensen_shannon, total_variation):
        e = fn(p, grid())
        assert abs(e.value) <= e.error + 1e-12


# -- bad input -----------------------------------------------------------------------------------
def test_probability_vectors_validated():
    with pytest.raises(ValueError, match="p must sum to 1, got sum 1.1"):
        kl_discrete([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"q must be non-negative and finite, got \[1.5, -0.5\]"):
        jsd_discrete([0.5, 0.5], [1.5, -0.5])
    with pytest.raises(ValueError, match="nan"):
        tv_discrete([float("nan"), 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="p has 3 outcomes but q has 2"):
        kl_divergence([0.2, 0.3, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"1-D probability vector, got shape \(2, 2\)"):
        jensen_shannon(np.full((2, 2), 0.25), np.full((2, 2), 0.25))
    with pytest.raises(ValueError, match="p must not be empty"):
        total_variation([], [])


def test_targets_validated():
    with pytest.raises(ValueError, match="p .* has dimension 1, q .* has dimension 2"):
        kl_divergence(mixture_1d(), ring())
    with pytest.raises(ValueError, match="both be probability vectors or both be targets"):
        jensen_shannon([0.5, 0.5], ring())
    with pytest.raises(ValueError, match="sample-only"):
        total_variation(SwissRoll(), SwissRoll())
    with pytest.raises(ValueError, match="unknown method 'simpson'"):
        kl_divergence(ring(), ring(), method="simpson")
    with pytest.raises(ValueError, match="n must be an integer >= 2, got 0"):
        kl_divergence(ring(), ring(), method="monte_carlo", n=0)
    with pytest.raises(ValueError, match="std must be a positive finite number, got -0.1"):
        ring(8, std=-0.1)
    with pytest.raises(ValueError, match="unknown target 'ring9'"):
        make_target("ring9")


def test_estimate_is_frozen():
    e = Estimate(1.0, 0.1, "exact")
    with pytest.raises(AttributeError):
        e.value = 2.0  # type: ignore[misc]
    assert float(e) == 1.0
