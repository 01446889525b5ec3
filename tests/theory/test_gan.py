"""Goodfellow et al. (2014) Proposition 1 and Theorem 1, the non-saturating loss and the MLE."""

import math

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganlab.theory.divergences import jensen_shannon, jsd_discrete, kl_divergence
from ganlab.theory.targets import grid, isotropic_mixture, mixture_1d, ring
from ganlab.theory.gan import (
    criterion_from_jsd,
    discriminator_logs,
    gaussian_kl,
    gaussian_target,
    make_optimal_discriminator,
    minimax_generator_gradient,
    mle_gaussian,
    moment_matched_gaussian,
    nonsaturating_generator_gradient,
    nonsaturating_gradient_ratio,
    optimal_discriminator,
    pointwise_maximiser,
    pointwise_objective,
    value_function,
    value_function_discrete,
    virtual_criterion,
    virtual_criterion_discrete,
)
from strategies import prob_vectors, prob_pairs, mixtures_1d

LOG4 = math.log(4.0)


# -- Proposition 1 -------------------------------------------------------------------------------
@settings(max_examples=100)
@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_pointwise_maximiser_is_argmax(a, b):
    """Proposition 1 (pointwise): y* = a/(a + b) maximises a·log y + b·log(1 − y) on (0, 1)
    (checked against a 2001-point grid and scipy's bounded scalar optimiser)."""
    y = pointwise_maximiser(a, b)
    grid = np.linspace(1e-6, 1 - 1e-6, 2001)
    assert pointwise_objective(y, a, b) >= np.max(pointwise_objective(grid, a, b)) - 1e-12 * (a + b)
    res = scipy.optimize.minimize_scalar(
        lambda t: -pointwise_objective(t, a, b),
        bounds=(1e-9, 1 - 1e-9),
        method="bounded",
        options={"xatol": 1e-12},
    )
    # a flat maximum pins the argmax down to about √ε relative to the curvature scale
    assert abs(res.x - y) <= 1e-6 * max(y * (1 - y), 1e-3) ** 0.5 + 1e-9


@settings(max_examples=12)
@given(mixtures_1d(), mixtures_1d(), st.integers(0, 2**31))
def test_optimal_discriminator_formula_and_label_convention(p, q, seed):
    """Proposition 1: D*(x) = p_data/(p_data + p_g); with real_label=0 the discriminator outputs
    P(fake), i.e. p_g/(p_data + p_g) = 1 − D*."""
    x = torch.cat([p.sample(20, seed, dtype=torch.float64), q.sample(20, seed + 1, dtype=torch.float64)])
    a, b = p.prob(x), q.prob(x)
    ok = (a + b) > 1e-200  # where both underflow the ratio is not computable naively
    d1, d0 = optimal_discriminator(p, q, x), optimal_discriminator(p, q, x, real_label=0)
    torch.testing.assert_close(d1[ok], (a / (a + b))[ok], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(d0, 1 - d1, rtol=0, atol=1e-12)
    torch.testing.assert_close(make_optimal_discriminator(p, q)(x), d1, rtol=0, atol=1e-12)
    torch.testing.assert_close(make_optimal_discriminator(p, q, real_label=0)(x), d0, rtol=0, atol=1e-12)


@settings(max_examples=60)
@given(prob_pairs(), st.floats(-3, 3))
def test_dstar_maximises_discrete_value_function(pair, shift):
    """Proposition 1 (discrete): V(D*, G) ≥ V(D, G) for D = D* with its logit shifted."""
    p, q = pair
    s = p + q
    d_star = np.where(s > 0, p / np.where(s > 0, s, 1), 0.5)
    logit = np.log(np.clip(d_star, 1e-300, None)) - np.log(np.clip(1 - d_star, 1e-300, None))
    d = 1 / (1 + np.exp(-(logit + shift)))
    assert value_function_discrete(d, p, q) <= value_function_discrete(d_star, p, q) + 1e-12
    assert value_function_discrete(d_star, p, q) == pytest.approx(virtual_criterion_discrete(p, q), abs=1e-12)


# -- Theorem 1 -----------------------------------------------------------------------------------
@settings(max_examples=200)
@given(prob_pairs())
def test_virtual_criterion_identity_discrete(pair):
    """Theorem 1: C(G) = max_D V(D, G) = −log 4 + 2·JSD(p_data ‖ p_g) (random discrete pairs)."""
    p, q = pair
    assert virtual_criterion_discrete(p, q) == pytest.approx(-LOG4 + 2 * jsd_discrete(p, q), abs=1e-12)


@settings(max_examples=15)
@given(mixtures_1d(), mixtures_1d())
def test_virtual_criterion_identity_1d_mixtures(p, q):
    """Theorem 1 on densities: C(G) = −log 4 + 2·JSD for random 1-D mixture pairs (both sides by
    quadrature, C(G) computed from D* directly)."""
    c, j = virtual_criterion(p, q), jensen_shannon(p, q)
    assert c.method == j.method == "quadrature"
    assert abs(c.value - (-LOG4 + 2 * j.value)) <= c.error + 2 * j.error + 1e-11


def test_criterion_from_jsd_hand_values():
    """Theorem 1's prediction C(G) = −log 4 + 2·JSD: −2 log 2 at JSD = 0 (p_g = p_data) and 0 at
    JSD = log 2 (disjoint supports, where D* is 1 on p_data's support and 0 on p_g's, so
    V(D*, G) = 0 + 0)."""
    assert criterion_from_jsd(0.0) == pytest.approx(-2 * math.log(2.0), abs=1e-15)
    assert criterion_from_jsd(math.log(2.0)) == pytest.approx(0.0, abs=1e-15)
    assert criterion_from_jsd(0.25) == pytest.approx(0.5 - 2 * math.log(2.0), abs=1e-15)
    with pytest.raises(ValueError, match="jsd must be a finite number, got nan"):
        criterion_from_jsd(float("nan"))


@settings(max_examples=200)
@given(prob_pairs())
def test_criterion_from_jsd_is_the_directly_computed_criterion(pair):
    """Theorem 1 (discrete): criterion_from_jsd(JSD(p, q)) equals C(G) = Σ p log(p/(p+q)) +
    q log(q/(p+q)) summed directly, and C(G) = −2 log 2 exactly when p = q."""
    p, q = pair
    assert criterion_from_jsd(jsd_discrete(p, q)) == pytest.approx(virtual_criterion_discrete(p, q), abs=1e-12)
    assert virtual_criterion_discrete(p, p) == pytest.approx(-2 * math.log(2.0), abs=1e-12)


@settings(max_examples=200)
@given(prob_pairs())
def test_virtual_criterion_minimum_iff_equal(pair):
    """Theorem 1: C(G) ≥ −log 4, with equality iff p_g = p_data."""
    p, q = pair
    c = virtual_criterion_discrete(p, q)
    assert c >= -LOG4 - 1e-12
    assert virtual_criterion_discrete(p, p) == pytest.approx(-LOG4, abs=1e-12)
    if np.abs(p - q).sum() > 1e-3:
        assert c > -LOG4 + 1e-8  # 2·JSD ≥ TV²/2·... is strictly positive


def test_value_function_at_dstar_is_virtual_criterion_2d():
    p = ring(8)
    q = ring(8, radius=1.015)
    v = value_function(make_optimal_discriminator(p, q), p, q)
    c = virtual_criterion(p, q)
    assert abs(v.value - c.value) <= v.error + c.error + 1e-11
    half = value_function(lambda x: torch.full((x.shape[0],), 0.5, dtype=torch.float64), p, q)
    assert half.value == pytest.approx(-LOG4, abs=half.error + 1e-11)
    mc = virtual_criterion(p, q, method="monte_carlo", n=5000, seed=3)
    assert abs(mc.value - c.value) <= 4 * mc.error + c.error


# -- V(D, G) where D* rounds to 0 or 1 -----------------------------------------------------------
def mode_dropped_grid25():
    """grid25 against itself without the diagonal's 5 modes (weights 1/20 on the other 20)."""
    p = grid(5)
    keep = [k for k in range(25) if k % 6]
    return p, isotropic_mixture(p.means[keep], 0.05)


def test_value_function_with_exact_dstar_where_it_rounds_to_one():
    """V(D*, G) = C(G) stays finite where D* rounds to 1.0 although p_g > 0 (ganlab verify's
    mode-dropped grid25 pair). Modes 40σ apart make it the discrete C(G) of the mode weights,
    written out: 20·[(1/25) log((1/25)/(9/100)) + (1/20) log((1/20)/(9/100))] (+ 0 from the 5
    dropped modes) = 0.8 log(4/9) + log(5/9) = −1.2365. A priori tolerance: the quadrature's
    promise of 1e-9 (its 1e-10 relative request with room to spare)."""
    p, q = mode_dropped_grid25()
    d_star = make_optimal_discriminator(p, q)
    centre = p.means[:1]  # a dropped mode: p_g is e^-800 there, not 0
    assert float(d_star(centre)[0]) == 1.0 and math.isfinite(float(q.log_prob(centre)[0]))
    exact = 0.8 * math.log(4 / 9) + math.log(5 / 9)
    v = value_function(d_star, p, q)
    assert abs(v.value - exact) <= 1e-9 and v.error <= 1e-9, v
    mc = value_function(d_star, p, q, method="monte_carlo", n=20_000, seed=1)
    assert math.isfinite(mc.value) and abs(mc.value - exact) <= 5 * mc.error, mc


def test_value_function_with_exact_dstar_on_disjoint_supports_is_zero():
    """Disjoint supports: D* = 1 on p_data's, 0 on p_g's, so V(D*, G) = E log 1 + E log 1 = 0 =
    −log 4 + 2 log 2 (D* rounds to exactly 1 and 0 everywhere that matters)."""
    p, q = mixture_1d((-2.0, 2.0), (0.5, 0.5)), mixture_1d((48.0, 52.0), (0.5, 0.5))
    v = value_function(make_optimal_discriminator(p, q), p, q)
    assert abs(v.value) <= 1e-12 and v.error <= 1e-9, v


def test_probability_discriminators_and_logits_agree_and_exact_ones_give_minus_inf():
    """A D given as probabilities only still works: σ(l* + ½) as a plain function equals the same
    D given with its logit where nothing rounds (shifted ring8), and V(½, G) = −log 4. A D that is
    exactly 1 where p_g > 0 (or 0 where p_data > 0) honestly gives V = −inf."""
    p, q = ring(8), isotropic_mixture(ring(8).means + torch.tensor([0.02, 0.0], dtype=torch.float64), 0.01)
    d_star = make_optimal_discriminator(p, q)

    class Shifted:
        def logit(self, x):
            return d_star.logit(x) + 0.5

        def __call__(self, x):
            return torch.sigmoid(self.logit(x))

    plain = value_function(lambda x: torch.sigmoid(d_star.logit(x) + 0.5), p, q)
    with_logit = value_function(Shifted(), p, q)
    assert abs(plain.value - with_logit.value) <= 1e-9, (plain, with_logit)
    half = value_function(lambda x: torch.full((x.shape[0],), 0.5, dtype=torch.float64), p, q)
    assert abs(half.value + 2 * math.log(2.0)) <= 1e-9
    ones = lambda x: torch.ones(x.shape[0], dtype=torch.float64)
    zeros = lambda x: torch.zeros(x.shape[0], dtype=torch.float64)
    for method in ("quadrature", "monte_carlo"):
        assert value_function(ones, p, q, method=method, n=100).value == -math.inf
        assert value_function(zeros, p, q, method=method, n=100).value == -math.inf


def test_discriminator_logs_from_logits_match_the_formula():
    """log σ(l) and log(1 − σ(l)) from a logit equal the hand formulas −log(1 + e^{−l}) and
    −log(1 + e^{l}) (math.log1p/exp, |l| ≤ 30) and stay finite at |l| = 800, where σ(l) is 0 or 1."""

    class Logit:
        def __init__(self, l):
            self.l = torch.tensor(l, dtype=torch.float64)

        def logit(self, x):
            return self.l

        def __call__(self, x):
            return torch.sigmoid(self.l)

    ls = [-30.0, -2.0, 0.0, 0.7, 30.0]
    log_d, log_1md = discriminator_logs(Logit(ls), torch.zeros(5, 2))
    for l, a, b in zip(ls, log_d.tolist(), log_1md.tolist()):
        assert a == pytest.approx(-math.log1p(math.exp(-l)), rel=1e-14, abs=1e-300)
        assert b == pytest.approx(-math.log1p(math.exp(l)), rel=1e-14, abs=1e-300)
    log_d, log_1md = discriminator_logs(Logit([800.0, -800.0]), torch.zeros(2, 2))
    assert log_d.tolist() == [0.0, -800.0] and log_1md.tolist() == [-800.0, 0.0]
    with pytest.raises(ValueError, match="D.logit must return 2 logits"):
        discriminator_logs(Logit([float("nan"), 0.0]), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="D must return 2 probabilities in \\[0, 1\\]"):
        discriminator_logs(lambda x: torch.tensor([0.5, 1.5]), torch.zeros(2, 2))


# -- non-saturating loss -------------------------------------------------------------------------
@settings(max_examples=100)
@given(st.floats(-30, 30))
def test_nonsaturating_gradient_matches_autograd(logit):
    """d/dl log(1 − σ(l)) = −σ(l) and d/dl[−log σ(l)] = −(1 − σ(l)); their ratio is (1 − D)/D,
    above 1 (stronger non-saturating gradient) exactly when D(G(z)) < ½."""
    l = torch.tensor(logit, dtype=torch.float64, requires_grad=True)
    (g_mm,) = torch.autograd.grad(torch.nn.functional.logsigmoid(-l), l)  # log(1 − σ(l)) = log σ(−l)
    (g_ns,) = torch.autograd.grad(-torch.nn.functional.logsigmoid(l), l)
    assert minimax_generator_gradient(logit) == pytest.approx(float(g_mm), rel=1e-12, abs=1e-300)
    assert nonsaturating_generator_gradient(logit) == pytest.approx(float(g_ns), rel=1e-12, abs=1e-300)
    d = float(torch.sigmoid(l.detach()))
    if 0 < d < 1:
        assert nonsaturating_gradient_ratio(d) == pytest.approx(abs(float(g_ns) / float(g_mm)), rel=1e-9)
        assert (nonsaturating_gradient_ratio(d) > 1) == (d < 0.5)


# -- maximum likelihood --------------------------------------------------------------------------
@settings(max_examples=15)
@given(mixtures_1d(), st.floats(-1, 1), st.floats(0.5, 2.0))
def test_gaussian_mle_minimises_kl(p, delta, ratio):
    """MLE = argmin KL: the moment-matched N(m, S) minimises KL(p_data ‖ N(μ, σ²)); moving μ by δ
    adds exactly δ²/(2S), scaling σ² by r adds ½(1/r − 1 + log r) (quadrature)."""
    mean, cov = moment_matched_gaussian(p)
    s2 = float(cov[0, 0])
    k0 = kl_divergence(p, gaussian_target(mean, cov))
    k_mu = kl_divergence(p, gaussian_target(mean + delta, cov))
    k_var = kl_divergence(p, gaussian_target(mean, cov * ratio))
    assert k_mu.value - k0.value == pytest.approx(delta**2 / (2 * s2), abs=k_mu.error + k0.error + 1e-10)
    assert k_var.value - k0.value == pytest.approx(
        0.5 * (1 / ratio - 1 + math.log(ratio)), abs=k_var.error + k0.error + 1e-10
    )
    assert k_mu.value >= k0.value - k0.error - 1e-10 and k_var.value >= k0.value - k0.error - 1e-10


@settings(max_examples=50)
@given(st.floats(-3, 3), st.floats(0.1, 3), st.floats(-1, 1), st.floats(0.3, 3))
def test_gaussian_kl_closed_form_vs_quadrature(m1, s1, dm, r):
    """KL between Gaussians: closed form = quadrature of p log(p/q), and = 0 iff equal."""
    m2, s2 = m1 + dm, s1 * r
    kl = gaussian_kl([m1], [[s1**2]], [m2], [[s2**2]])
    e = kl_divergence(gaussian_target([m1], [[s1**2]]), gaussian_target([m2], [[s2**2]]))
    assert kl == pytest.approx(e.value, abs=e.error + 1e-10)
    assert kl >= 0
    assert gaussian_kl([m1], [[s1**2]], [m1], [[s1**2]]) == pytest.approx(0.0, abs=1e-14)


def test_mle_gaussian_matches_numpy_and_moment_match():
    p = mixture_1d((-1.0, 2.0), (0.4, 0.7), (0.3, 0.7))
    x = p.sample(40_000, 0, dtype=torch.float64)
    mu, cov = mle_gaussian(x)
    np.testing.assert_allclose(mu.numpy(), x.numpy().mean(0))
    np.testing.assert_allclose(cov.numpy(), np.cov(x.numpy().T, bias=True).reshape(1, 1))
    m, s = moment_matched_gaussian(p)
    assert float(mu[0]) == pytest.approx(float(m[0]), abs=4 * math.sqrt(float(s[0, 0]) / 40_000))


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input_named():
    with pytest.raises(ValueError, match=r"a must be finite and >= 0, got -1"):
        pointwise_maximiser(-1.0, 2.0)
    with pytest.raises(ValueError, match="a \\+ b must be > 0"):
        pointwise_maximiser(0.0, 0.0)
    with pytest.raises(ValueError, match="real_label must be 1 .* got 2"):
        optimal_discriminator(ring(), ring(), torch.zeros(3, 2), real_label=2)
    with pytest.raises(ValueError, match="x has dimension 3, expected 2"):
        optimal_discriminator(ring(), ring(), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="x is empty"):
        mle_gaussian(torch.zeros(0, 2))
    with pytest.raises(ValueError, match="non-finite"):
        mle_gaussian(torch.tensor([[0.0, float("nan")], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="at least 2 points"):
        mle_gaussian(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="d_fake must lie in \\(0, 1\\), got 1.5"):
        nonsaturating_gradient_ratio(1.5)
    with pytest.raises(ValueError, match="D must be a callable"):
        value_function(0.5, ring(), ring())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dimension mismatch: mean1 has dimension 1, mean2 has 2"):
        gaussian_kl([0.0], [[1.0]], [0.0, 0.0], np.eye(2))
    with pytest.raises(ValueError, match="p must sum to 1"):
        virtual_criterion([0.3, 0.3], [0.5, 0.5])
