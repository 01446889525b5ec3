"""The quadrature behind the divergences: its Gauss–Kronrod rule, its error estimate against closed
forms, its tail bound, its box width, and the pairs on which it used to fail.

Every reference here is computed independently of ``ganlab.theory.divergences``: closed forms
written out in the test, scipy ``quad`` on a 1-D reduction, or a Monte Carlo average over samples
drawn and densities evaluated by hand with numpy.
"""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ganlab.theory.quadrature as Q
from ganlab.theory.divergences import jensen_shannon, kl_divergence, total_variation
from ganlab.theory.quadrature import QuadratureError, gauss_kronrod_21, gauss_kronrod_boxes, integrate_over_modes
from ganlab.theory.gan import virtual_criterion
from ganlab.theory.targets import grid, isotropic_mixture, mixture_1d, ring

LOG2 = math.log(2.0)
# What the quadrature promises, set a priori (not read from its own error estimate): it stops
# once its error estimate is ≤ 1e-10·|I| (or 1e-13), and that estimate overstates the error of
# smooth integrands (|K − G| is about G's error, K is far more accurate) and of TV split along its
# kink, so O(1) integrals are right to 1e-9 with a factor 10 to spare.
PROMISE = 1e-9


def gaussian(mean, std):
    return isotropic_mixture(torch.tensor([mean], dtype=torch.float64), std)


def rotated_ring(std, angle):
    """ring8 with std ``std`` and the same ring turned by ``angle`` (the q of the pair)."""
    p = ring(8, std=std)
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    return p, isotropic_mixture(p.means @ rot.T, std)


# -- closed forms, written out here ----------------------------------------------------------------
def tv_concentric(s1, s2):
    """TV(N(0, s1² I₂), N(0, s2² I₂)), s1 < s2. The densities cross at the radius r with
    r²(1/s1² − 1/s2²)/2 = log(s2²/s1²); p > q inside it, and P(|X| < r) = 1 − exp(−r²/(2s²)) in
    2-D, so TV = P_p(|X| < r) − P_q(|X| < r) = exp(−r²/(2 s2²)) − exp(−r²/(2 s1²))."""
    r2 = 2 * math.log(s2**2 / s1**2) / (1 / s1**2 - 1 / s2**2)
    return math.exp(-r2 / (2 * s2**2)) - math.exp(-r2 / (2 * s1**2))


def tv_shifted(delta, std):
    """TV(N(0, σ²I), N(δ, σ²I)) = 2Φ(|δ|/(2σ)) − 1 = erf(|δ|/(2√2 σ)) (the crossing is the bisector)."""
    return math.erf(delta / (2 * math.sqrt(2) * std))


def radial(f, s1, s2):
    """∫_{R²} f(p(x), q(x)) dx for p = N(0, s1² I), q = N(0, s2² I) as ∫_0^∞ 2πr f(p(r), q(r)) dr
    (scipy quad; the crossing radius is passed as a breakpoint)."""

    def density(r, s):
        return math.exp(-r * r / (2 * s * s)) / (2 * math.pi * s * s)

    r_cross = math.sqrt(2 * math.log(s2**2 / s1**2) / (1 / s1**2 - 1 / s2**2))
    top = 40 * max(s1, s2)
    g = lambda r: 2 * math.pi * r * f(density(r, s1), density(r, s2))
    a, ea = scipy.integrate.quad(g, 0, r_cross, epsabs=1e-14, epsrel=1e-13, limit=200)
    b, eb = scipy.integrate.quad(g, r_cross, top, epsabs=1e-14, epsrel=1e-13, limit=200)
    return a + b, ea + eb


def _xlogy(a, b):
    return 0.0 if a == 0 else a * math.log(a / b)


# -- the Gauss–Kronrod rule ------------------------------------------------------------------------
def test_kronrod_rule_is_exact_to_degree_31_and_embeds_gauss_10():
    """K21 integrates x^k exactly on [−1, 1] for k ≤ 31 (∫ x^k = 2/(k + 1) for even k, 0 for odd);
    its nodes 1, 3, ..., 19 are the Gauss–Legendre nodes of order 10, exact to degree 19."""
    x, wk, gauss, wg = gauss_kronrod_21()
    for k in range(32):
        exact = 0.0 if k % 2 else 2.0 / (k + 1)
        assert wk @ x**k == pytest.approx(exact, abs=1e-15), k
    for k in range(20):
        exact = 0.0 if k % 2 else 2.0 / (k + 1)
        assert wg @ x[gauss] ** k == pytest.approx(exact, abs=1e-15), k
    np.testing.assert_allclose(x[gauss], np.polynomial.legendre.leggauss(10)[0], atol=1e-15)
    # one degree more and the Gauss rule is no longer exact: its error is what |K − G| measures
    assert abs(wg @ x[gauss] ** 20 - 2 / 21) > 1e-8


def test_box_rule_on_an_exponential():
    """∫∫ e^{ax + by} over [lo, hi] = (e^{a hi₀} − e^{a lo₀})/a · (e^{b hi₁} − e^{b lo₁})/b."""
    a, b = 1.3, -0.7
    lo, hi = np.array([[-1.0, 0.0], [0.5, -2.0]]), np.array([[2.0, 1.0], [0.75, 3.0]])
    k, err = gauss_kronrod_boxes(lambda x: np.exp(a * x[:, 0] + b * x[:, 1]), lo, hi)
    exact = (np.exp(a * hi[:, 0]) - np.exp(a * lo[:, 0])) / a * (np.exp(b * hi[:, 1]) - np.exp(b * lo[:, 1])) / b
    np.testing.assert_allclose(k, exact, rtol=1e-14)
    assert np.all(err < 1e-6 * np.abs(exact))


def test_box_rule_error_is_the_gauss_rule_error():
    """The error estimate of a box is |K − G|: where the Kronrod estimate is exact to rounding it
    equals the error of the 10×10 Gauss–Legendre product rule, computed here from numpy's
    leggauss(10) and the closed form ∫∫ e^{9x − 7y} over [−1, 1]² (G is off by 0.0058)."""
    a, b = 9.0, -7.0
    f = lambda x: np.exp(a * x[:, 0] + b * x[:, 1])
    k, err = gauss_kronrod_boxes(f, np.array([[-1.0, -1.0]]), np.array([[1.0, 1.0]]))
    exact = (math.exp(a) - math.exp(-a)) / a * (math.exp(b) - math.exp(-b)) / b
    nodes, weights = np.polynomial.legendre.leggauss(10)
    gauss = float(weights @ np.exp(a * nodes)) * float(weights @ np.exp(b * nodes))
    assert k[0] == pytest.approx(exact, rel=1e-14)
    assert err[0] == pytest.approx(abs(gauss - exact), rel=1e-6)


# -- the pairs of issue 6, and the error estimate against closed forms -------------------------------
@pytest.mark.parametrize(
    "p, q, exact",
    [
        (ring(8, std=0.01), ring(8, std=0.02), tv_concentric(0.01, 0.02)),  # modes 76σ apart: 8 copies
        (gaussian([0.0, 0.0], 1.0), gaussian([0.0, 0.0], 2.0), tv_concentric(1.0, 2.0)),
        (ring(8, std=0.05), rotated_ring(0.05, 0.03)[1], tv_shifted(2 * math.sin(0.015), 0.05)),
    ],
    ids=["ring8 std 0.01 vs 0.02", "N(0, I) vs N(0, 4I)", "ring8 turned by 0.03"],
)
def test_total_variation_by_quadrature_on_ordinary_pairs(p, q, exact):
    """TV by 2-D quadrature succeeds, within the promised 1e-9, and its reported error covers the
    true error (closed forms: concentric Gaussians through the crossing radius; a ring turned by
    0.03 rad moves every mode by the chord 2 sin(0.015), and its modes are 15σ apart, so it is 8
    copies of two shifted Gaussians up to e^-28)."""
    e = total_variation(p, q)
    assert e.method == "quadrature"
    assert abs(e.value - exact) <= PROMISE, (e, exact)
    assert abs(e.value - exact) <= e.error + 1e-12, (e, exact)  # the error estimate is honest
    assert e.error <= PROMISE


def test_total_variation_on_an_overlapping_rotated_ring_against_monte_carlo():
    """ring8 with std 0.3 (neighbouring modes 2.6σ apart, so they overlap) against itself turned by
    π/8, half the mode spacing. Reference: TV = E_p[(1 − q/p)_+] over 4·10^5 samples drawn and
    densities evaluated by hand; 5 standard errors (a false failure has probability 6e-7)."""
    p, q = rotated_ring(0.3, math.pi / 8)
    e = total_variation(p, q)
    assert e.error <= PROMISE
    rng = np.random.default_rng(7)
    n, std = 400_000, 0.3
    mp, mq = p.means.numpy(), q.means.numpy()
    x = mp[rng.integers(0, 8, n)] + std * rng.standard_normal((n, 2))

    def density(means):
        d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * std**2)).mean(axis=1) / (2 * math.pi * std**2)

    terms = np.clip(1 - density(mq) / density(mp), 0, None)
    mean, se = terms.mean(), terms.std(ddof=1) / math.sqrt(n)
    assert abs(e.value - mean) <= 5 * se, (e, mean, se)


@pytest.mark.parametrize(
    "s1, s2, p, q",
    [
        (1.0, 2.0, gaussian([0.0, 0.0], 1.0), gaussian([0.0, 0.0], 2.0)),
        (0.3, 0.45, gaussian([0.0, 0.0], 0.3), gaussian([0.0, 0.0], 0.45)),
        (0.01, 0.02, ring(8, std=0.01), ring(8, std=0.02)),  # 8 copies 76σ apart: the same values
    ],
    ids=["N(0, I) vs N(0, 4I)", "std 0.3 vs 0.45", "ring8 std 0.01 vs 0.02"],
)
def test_smooth_divergences_on_concentric_gaussians_against_radial_quadrature(s1, s2, p, q):
    """KL, JSD and C(G) of N(0, s1²I) vs N(0, s2²I) by 2-D quadrature equal the 1-D radial integrals
    of p log(p/q), ½p log(2p/(p+q)) + ½q log(2q/(p+q)) and p log(p/(p+q)) + q log(q/(p+q))
    (scipy quad), and KL equals its closed form log(s2²/s1²) + s1²/s2² − 1 (2-D)."""
    kl_closed = math.log(s2**2 / s1**2) + s1**2 / s2**2 - 1
    kl_radial, _ = radial(lambda a, b: _xlogy(a, b), s1, s2)
    jsd_radial, _ = radial(lambda a, b: 0.5 * _xlogy(a, (a + b) / 2) + 0.5 * _xlogy(b, (a + b) / 2), s1, s2)
    c_radial, _ = radial(lambda a, b: _xlogy(a, a + b) + _xlogy(b, a + b), s1, s2)
    assert kl_radial == pytest.approx(kl_closed, abs=1e-11)  # the reference itself
    for fn, ref in [(kl_divergence, kl_closed), (jensen_shannon, jsd_radial), (virtual_criterion, c_radial)]:
        e = fn(p, q)
        assert abs(e.value - ref) <= PROMISE and e.error <= PROMISE, (fn.__name__, e, ref)
    tv = total_variation(p, q)
    assert abs(tv.value - tv_concentric(s1, s2)) <= PROMISE


@settings(max_examples=12)
@given(
    st.floats(1.05, 5.0),
    st.floats(0.02, 3.0),
    st.floats(0.05, 4.0),
    st.floats(0, 2 * math.pi),
)
# Found by a 150-pair search. The circle of radius 1.5004σ pokes 4e-4σ past the cell edge at 1.5σ,
# a cap no node of that cell sees (the boundary check must), and its tangency to vertical lines
# sits within a node's distance of that edge (the y-outer rule must):
@example(1.1283448746062508, 0.26393683129018136, 0.9, 2.6)
# the kink clips the corner of a cell and both Gauss–Kronrod rules miss it alike (before the kink
# rule, |K − G| reported 1e-7 for an error of 2.2e-7):
@example(1.6372247941509235, 1.0, 1.0, 0.0)
def test_tv_error_estimate_covers_the_true_error(ratio, scale, shift, angle):
    """The reported quadrature error bounds the true error of TV, whose integrand |p − q| has a
    kink, on the two families with closed forms: concentric Gaussians with std ratio ``ratio``
    (kink on a circle) and equal Gaussians shifted by ``shift`` std in direction ``angle`` (kink on
    a line at any angle to the cells)."""
    e = total_variation(gaussian([0.0, 0.0], scale), gaussian([0.0, 0.0], scale * ratio))
    assert abs(e.value - tv_concentric(scale, scale * ratio)) <= e.error <= PROMISE
    v = [scale * shift * math.cos(angle), scale * shift * math.sin(angle)]
    e = total_variation(gaussian([0.0, 0.0], scale), gaussian(v, scale))
    assert abs(e.value - tv_shifted(scale * shift, scale)) <= e.error <= PROMISE


def test_total_variation_in_1d_against_closed_form():
    """1-D: TV(N(0, 1), N(1, 1)) = erf(1/(2√2)); TV(N(0, 1), N(0, 4)) = Φ-form through the crossing
    points ±c, c² = 8 log 2 / 3: TV = 2[Φ(c) − Φ(c/2)]."""
    e = total_variation(mixture_1d((0.0,), (1.0,)), mixture_1d((1.0,), (1.0,)))
    assert abs(e.value - math.erf(1 / (2 * math.sqrt(2)))) <= min(e.error + 1e-15, PROMISE)
    c = math.sqrt(8 * LOG2 / 3)
    phi = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))
    e = total_variation(mixture_1d((0.0,), (1.0,)), mixture_1d((0.0,), (2.0,)))
    assert abs(e.value - 2 * (phi(c) - phi(c / 2))) <= min(e.error + 1e-15, PROMISE)


# -- the tail bound and the box width --------------------------------------------------------------
@pytest.mark.parametrize("n_std", [2.0, 3.0, 4.0, 6.0, 12.0])
@pytest.mark.parametrize("dim", [1, 2])
def test_tail_mass_bounds_the_mass_outside_the_box(n_std, dim):
    """For one Gaussian the mass outside the box μ ± nσ is exactly 1 − (1 − e)^d with
    e = P(|Z| > n) = 2Φ(−n) (scipy's ndtr); the union bound d·e lies between it and (1 + e) times
    it (in 2-D the ratio is 2e/(2e − e²) = 1/(1 − e/2))."""
    e = 2 * scipy.special.ndtr(-n_std)
    outside = -math.expm1(dim * math.log1p(-e))
    bound = Q._tail_mass(gaussian([0.0] * dim, 1.0), n_std)
    assert outside <= bound <= outside * (1 + e) * (1 + 1e-12)


def test_narrowed_box_reports_the_missing_mass():
    """Integrating p over the box μ ± 3σ only gets (1 − 2Φ(−3))², and the reported error covers
    the missing mass (the error bound includes the tail, not just the quadrature)."""
    inside = (1 - 2 * scipy.special.ndtr(-3.0)) ** 2
    e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [gaussian([0.3, -1.0], 0.5)], n_std=3.0, max_error=1.0)
    assert e.value == pytest.approx(inside, abs=1e-12)
    assert e.error >= 1 - e.value


@pytest.mark.parametrize(
    "target",
    [ring(8), grid(5), ring(8, std=0.3), gaussian([0.0, 0.0], 1.0)],
    ids=["ring8", "grid25", "overlapping ring8", "N(0, I)"],
)
def test_default_box_loses_no_mass(target):
    """∫ p = 1 within the promised 1e-9 (an a priori tolerance: with boxes of 4σ instead of 12σ
    the mass outside is 1.3e-4, with 6σ 4e-9). max_error=1 so that a narrow box shows up here as
    a wrong value, not only as a QuadratureError."""
    e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [target], max_error=1.0)
    assert abs(e.value - 1) <= PROMISE, e
    assert e.error <= PROMISE, e


# -- infinities, budgets, bad input ------------------------------------------------------------------
def test_infinite_integrand_gives_infinite_integral_and_nan_raises():
    t = ring(8)
    assert integrate_over_modes(lambda x, logs: np.where(x[:, 0] > 0.9, -np.inf, 0.0), [t]).value == -math.inf
    assert integrate_over_modes(lambda x, logs: np.full(len(x), np.inf), [mixture_1d()]).value == math.inf
    with pytest.raises(ValueError, match="NaN at x ="):
        integrate_over_modes(lambda x, logs: np.full(len(x), np.nan), [t])
    with pytest.raises(ValueError, match=r"\+inf at some points and -inf at others"):
        # both signs within the points of one region (the box around the mode at (1, 0))
        integrate_over_modes(lambda x, logs: np.where(x[:, 0] > 1.0, np.inf, -np.inf), [t])


def test_budget_exhausted_returns_the_estimate_or_raises_naming_the_pair():
    """With too few regions the estimate comes back with its larger error when that error is
    still useful, and a QuadratureError naming the targets and the error otherwise."""
    p, q = ring(8, std=0.01), ring(8, std=0.02)
    tv = lambda x, logs: 0.5 * np.abs(np.exp(logs[0]) - np.exp(logs[1]))
    e = integrate_over_modes(tv, [p, q], rtol=0.0, atol=1e-12, max_regions=400, max_error=1.0)
    assert 1e-12 < e.error < 1e-2 and abs(e.value - tv_concentric(0.01, 0.02)) <= e.error
    with pytest.raises(QuadratureError, match=r"ring8.*error .* > max_error.*budget exhausted"):
        integrate_over_modes(tv, [p, q], rtol=0.0, atol=1e-12, max_regions=400, max_error=1e-9)


def test_quadrature_arguments_validated():
    t = ring(8)
    one = lambda x, logs: np.exp(logs[0])
    with pytest.raises(ValueError, match="n_std must be a positive finite number, got 0"):
        integrate_over_modes(one, [t], n_std=0)
    with pytest.raises(ValueError, match="max_regions must be an integer >= 1, got 0"):
        integrate_over_modes(one, [t], max_regions=0)
    with pytest.raises(ValueError, match="rtol and atol .* got rtol=-1"):
        integrate_over_modes(one, [t], rtol=-1)
    with pytest.raises(ValueError, match="max_error must be > 0, got 0"):
        integrate_over_modes(one, [t], max_error=0)
