"""Tests of ganlab.theory.wasserstein: theorems as hypothesis properties, plus plain checks.

Each property test names the theorem it checks. Every one was made to fail by planting a bug in
ganlab/theory/wasserstein.py (listed in the test's docstring) and then reverting it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import pytest
import scipy.optimize
import scipy.stats
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ganlab.theory.wasserstein as W
from ganlab.theory.wasserstein import (
    OTConvergenceError,
    OTConvergenceWarning,
    SinkhornResult,
    gaussian_w2,
    sinkhorn_wasserstein,
    sliced_wasserstein,
    w1,
    w1_many,
    w2,
    w2_squared,
    wasserstein_1d,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOWER = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

coord = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@st.composite
def cloud_pair(draw, max_n: int = 8, dims=(1, 2, 3), same_size: bool | None = None):
    """Two clouds [n, d], [m, d] with coordinates in [-10, 10]; sometimes n == m."""
    d = draw(st.sampled_from(dims))
    n = draw(st.integers(1, max_n))
    equal = draw(st.booleans()) if same_size is None else same_size
    m = n if equal else draw(st.integers(1, max_n))
    x = np.array(draw(st.lists(st.lists(coord, min_size=d, max_size=d), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.lists(coord, min_size=d, max_size=d), min_size=m, max_size=m)))
    return x.reshape(n, d), y.reshape(m, d)


@st.composite
def weights(draw, size: int):
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size)))
    return raw / raw.sum()


def _scale(*clouds: np.ndarray) -> float:
    return 1.0 + max(float(np.abs(c).max()) for c in clouds)


# -- property tests ---------------------------------------------------------------------------
@FAST
@given(cloud_pair(max_n=12, dims=(1,)))
def test_w1_equals_scipy_in_1d(pair):
    """Theorem (Vallender 1973): in 1-D, W1(u, v) = ∫ |F_u(t) − F_v(t)| dt, which is what
    scipy.stats.wasserstein_distance computes; the exact LP (ot.emd2) must agree, for equal and
    unequal sample sizes. Caught planted bug: w1 built on ot.dist's default squared-Euclidean cost.
    """
    u, v = pair
    expected = scipy.stats.wasserstein_distance(u[:, 0], v[:, 0])
    assert w1(u, v) == pytest.approx(expected, rel=1e-9, abs=1e-9 * _scale(u, v))
    assert wasserstein_1d(u[:, 0], v[:, 0]) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@FAST
@given(cloud_pair(max_n=8, dims=(1,)), st.data())
def test_w1_and_w2_weighted_equal_quantile_formula_in_1d(pair, data):
    """Theorem: in 1-D, W_p^p(μ, ν) = ∫_0^1 |F_μ^{-1}(q) − F_ν^{-1}(q)|^p dq for weighted
    empirical measures too (the monotone coupling is optimal for convex costs). Checks the LP
    (w1, w2) against the quantile formula (wasserstein_1d). Caught planted bugs: weights ``b``
    ignored in the exact solver; sqrt dropped in w2.
    """
    u, v = pair
    a = data.draw(weights(len(u)))
    b = data.draw(weights(len(v)))
    tol = 1e-9 * _scale(u, v)
    assert w1(u, v, a, b) == pytest.approx(wasserstein_1d(u, v, a=a, b=b), rel=1e-9, abs=tol)
    expected_w2 = wasserstein_1d(u, v, p=2, a=a, b=b)
    assert w2(u, v, a, b) == pytest.approx(expected_w2, rel=1e-7, abs=1e-7 * _scale(u, v))


@FAST
@given(cloud_pair(max_n=8), st.sampled_from([0.01, 1.0]))
def test_w1_le_w2(pair, scale):
    """Theorem (Jensen / Hölder): for any coupling π, Σ π_ij |x_i − y_j| ≤ (Σ π_ij |x_i − y_j|²)^{1/2};
    taking the W2-optimal π gives W1 ≤ W2. Clouds are drawn at scale 0.01 (all distances < 1)
    and 1. Caught planted bugs: sqrt dropped in w2 (at scale 0.01, W2² ≤ max|x − y|·W1 < W1);
    w1 on the squared-Euclidean cost (W2² > W2 when W2 > 1).
    """
    x, y = pair[0] * scale, pair[1] * scale
    assert w1(x, y) <= w2(x, y) + 1e-9 * _scale(x, y)


@st.composite
def cloud_and_shift(draw):
    d = draw(st.sampled_from([1, 2, 3]))
    n = draw(st.integers(1, 10))
    pts = draw(st.lists(st.lists(coord, min_size=d, max_size=d), min_size=n, max_size=n))
    shift = draw(st.lists(st.floats(-5, 5), min_size=d, max_size=d))
    return np.array(pts, dtype=float).reshape(n, d), np.array(shift, dtype=float)


@FAST
@given(cloud_and_shift())
def test_translation_costs_exactly_its_length(args):
    """Theorem: W1(μ, μ(· − s)) = W2(μ, μ(· − s)) = ‖s‖. Lower bound: for any coupling with equal
    marginals, Σ π_ij ‖x_i − x_j − s‖ ≥ ‖Σ π_ij (x_i − x_j − s)‖ = ‖s‖ (triangle inequality), and
    Σ π ‖x_i − x_j − s‖² = Σ π ‖x_i − x_j‖² + ‖s‖²; the identity plan attains ‖s‖. So the LP value
    is exact, not only asymptotic. Caught planted bugs: squared-Euclidean cost in w1 (gives ‖s‖²);
    sqrt dropped in w2.
    """
    x, s = args
    y = x + s
    length = float(np.linalg.norm(s))
    tol = 1e-9 * _scale(x, y)
    assert w1(x, y) == pytest.approx(length, rel=1e-9, abs=tol)
    assert w2(x, y) == pytest.approx(length, rel=1e-7, abs=1e-7 * _scale(x, y))


@FAST
@given(cloud_pair(max_n=8), st.floats(-1e4, 1e4), st.data())
def test_symmetry_and_identity(pair, offset, data):
    """Metric axioms: W(μ, ν) = W(ν, μ) (transpose the plan) and W(μ, μ) = 0 (identity plan), with
    weights and far from the origin. Caught planted bugs: weights ``b`` ignored (asymmetry);
    ot.dist's default 'euclidean' expansion sqrt(|x|² + |y|² − 2x·y) instead of cdist, which
    gives W(x, x) ≈ 2e-5 at |x| ≈ 1e3.
    """
    x, y = pair
    x, y = x + offset, y + offset
    a = data.draw(weights(len(x)))
    b = data.draw(weights(len(y)))
    tol = 1e-12 * _scale(x, y)
    assert w1(x, y, a, b) == pytest.approx(w1(y, x, b, a), rel=1e-9, abs=tol)
    assert w2(x, y, a, b) == pytest.approx(w2(y, x, b, a), rel=1e-9, abs=1e-9 * _scale(x, y))
    assert abs(w1(x, x.copy(), a, a)) <= tol
    assert abs(w2_squared(x, x.copy(), a, a)) <= tol
    assert abs(sliced_wasserstein(x, x.copy(), a, a)) <= 1e-9 * _scale(x)


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = rng.uniform(0.1, 4.0, size=d)
    return (q * lam) @ q.T


def _sym_sqrt(c: np.ndarray) -> np.ndarray:
    lam, vec = np.linalg.eigh(c)
    return (vec * np.sqrt(lam)) @ vec.T


@SLOWER
@given(st.sampled_from([1, 2, 3]), st.integers(0, 2**32 - 1))
def test_w2_of_moment_matched_gaussian_samples_equals_closed_form(d, seed):
    """Theorem (Dowson–Landau / Knott–Smith): the W2-optimal map N(m1, C1) → N(m2, C2) is
    T(x) = m2 + A(x − m1), A = C1^{-1/2}(C1^{1/2} C2 C1^{1/2})^{1/2} C1^{-1/2} symmetric PSD, and
    W2² = ‖m1 − m2‖² + tr(C1 + C2 − 2(C2^{1/2} C1 C2^{1/2})^{1/2}). T is the gradient of a convex
    function, so by Rockafellar/Knott–Smith the plan x_i ↦ T(x_i) is also optimal between the
    EMPIRICAL clouds {x_i} and {T(x_i)}; if {x_i} has exactly mean m1 and (1/n) covariance C1, its
    cost equals the closed form exactly. So the LP and the closed form must agree to solver
    precision, with no sampling error. Caught planted bugs: sqrt dropped in w2; gaussian_w2
    without the factor 2 on the cross term.
    """
    rng = np.random.default_rng(seed)
    n = 40
    m1, m2 = rng.normal(size=d) * 2, rng.normal(size=d) * 2
    c1, c2 = _random_spd(rng, d), _random_spd(rng, d)
    z = rng.normal(size=(n, d))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(z.T @ z / n)).T  # exactly mean 0, covariance I
    s1 = _sym_sqrt(c1)
    x = m1 + z @ s1
    s1_inv = np.linalg.inv(s1)
    a_map = s1_inv @ _sym_sqrt(s1 @ c2 @ s1) @ s1_inv
    y = m2 + (x - m1) @ a_map
    expected = gaussian_w2(m1, c1, m2, c2)
    assert w2(x, y) == pytest.approx(expected, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_w2_of_gaussian_samples_approaches_closed_form_1d(seed):
    """Law of large numbers for W2 (1-D): |W2(μ_n, ν_m) − W2(μ, ν)| ≤ W2(μ_n, μ) + W2(ν_m, ν)
    (triangle inequality) and for a Gaussian E W2²(μ_n, μ) ≍ σ² log log n / n (Bobkov–Ledoux
    2019). n = 1500: sqrt(loglog n / n) ≈ 0.036, so each term is ~0.04σ; the tolerance
    0.15 (σ1 + σ2) leaves a factor ~3.5 of margin. At n = 2·10^5 (wasserstein_1d, O(n log n))
    the same bound is ~0.003σ and the tolerance 0.02 (σ1 + σ2).
    """
    rng = np.random.default_rng(seed)
    m1, m2 = rng.normal(size=2)
    s1, s2 = rng.uniform(0.5, 2.0, size=2)
    expected = gaussian_w2(m1, s1**2, m2, s2**2)
    assert expected == pytest.approx(math.hypot(m1 - m2, s1 - s2), rel=1e-12)
    n = 1500
    x, y = m1 + s1 * rng.normal(size=n), m2 + s2 * rng.normal(size=n + 100)
    assert abs(w2(x, y) - expected) < 0.15 * (s1 + s2)
    n = 200_000
    x, y = m1 + s1 * rng.normal(size=n), m2 + s2 * rng.normal(size=n)
    assert abs(wasserstein_1d(x, y, p=2) - expected) < 0.02 * (s1 + s2)


@FAST
@given(cloud_pair(max_n=8), st.integers(0, 1000))
def test_sliced_le_exact(pair, seed):
    """Theorem: x ↦ <θ, x> is 1-Lipschitz for |θ| = 1, so pushing the W_p-optimal plan through it
    gives W_p(θ#μ, θ#ν) ≤ W_p(μ, ν) for every θ; averaging the p-th powers keeps SW_p ≤ W_p
    (POT returns the p-th root of the average, ot/sliced/_sliced_distances.py:134). In d = 1,
    θ = ±1 and SW_p = W_p. Caught planted bugs: projections not normalised to the unit sphere;
    p-th root dropped for p = 2.
    """
    x, y = pair
    tol = 1e-9 * _scale(x, y)
    sw1 = sliced_wasserstein(x, y, p=1, n_projections=20, seed=seed)
    sw2 = sliced_wasserstein(x, y, p=2, n_projections=20, seed=seed)
    assert sw1 <= w1(x, y) + tol
    assert sw2 <= w2(x, y) + 1e-7 * _scale(x, y)
    if x.shape[1] == 1:
        assert sw1 == pytest.approx(w1(x, y), rel=1e-9, abs=tol)


@SLOWER
@given(cloud_pair(max_n=8), st.floats(0.1, 1.0))
# found by hypothesis: a repeated point with a small ε needs ~50,000 iterations to reach 1e-9
@example((np.array([[0.0], [0.0], [1.0]]), np.array([[0.0], [0.0], [1.0]])), 0.109375)
def test_sinkhorn_bias_bound(pair, reg_factor):
    """Theorem (entropic bias): P_ε minimises <P, M> + ε Σ P log P over couplings, and a
    coupling's entropy lies in [max(H(a), H(b)), H(a) + H(b)]; comparing the objective at P_ε and
    at an exact plan gives W1 ≤ <P_ε, M> ≤ W1 + ε min(H(a), H(b)) = W1 + ε min(log n, log m)
    (uniform weights). Caught planted bugs: squared-Euclidean cost for p = 1.
    """
    x, y = pair
    exact = w1(x, y)
    cost_max = float(ot.dist(x, y, metric="euclidean", backend="scipy").max())
    reg = reg_factor * cost_max + 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error", OTConvergenceWarning)
        res = sinkhorn_wasserstein(x, y, reg, max_iter=200_000)
    assert res.converged and res.marginal_error <= 1e-9
    slack = 1e-6 * _scale(x, y)
    assert exact - slack <= res.value <= exact + reg * math.log(min(len(x), len(y))) + slack


# -- plain tests ------------------------------------------------------------------------------
def test_sinkhorn_non_convergence_is_reported():
    """Tiny reg and a 5-iteration cap cannot converge: converged False and an
    OTConvergenceWarning naming reg, the iterations and the marginal error. Caught planted bug:
    converged always True (warning never raised)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 1.0
    with pytest.warns(OTConvergenceWarning, match=r"reg=0\.001.*5 iterations.*marginal error"):
        res = sinkhorn_wasserstein(x, y, 1e-3, max_iter=5)
    assert isinstance(res, SinkhornResult)
    assert not res.converged and res.n_iter <= 5 and res.marginal_error > 1e-9


def test_sinkhorn_small_reg_falls_back_to_log_domain():
    """With reg = 0.003 and costs up to 5.7, the scaling form breaks down at its first iteration
    (POT warns 'numerical errors' and returns a cost of ~1e-27 against an exact W1 of 2.03);
    method='auto' reruns it in the log domain, where it converges within the entropic bias bound."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2)) + 1.0
    with pytest.warns(OTConvergenceWarning, match="numerical errors"):
        bad = sinkhorn_wasserstein(x, y, 0.003, method="sinkhorn", max_iter=3000)
    assert not bad.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error", OTConvergenceWarning)
        good = sinkhorn_wasserstein(x, y, 0.003, max_iter=3000)
    assert good.converged
    exact = w1(x, y)
    assert exact - 1e-9 <= good.value <= exact + 0.003 * math.log(15) + 1e-9


def test_sinkhorn_p2_is_root_of_entropic_cost():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(15, 2)), rng.normal(size=(12, 2))
    res = sinkhorn_wasserstein(x, y, 0.5, p=2)
    cost = ot.dist(x, y)  # squared Euclidean
    ref = ot.sinkhorn2(np.full(15, 1 / 15), np.full(12, 1 / 12), cost, 0.5, stopThr=1e-9)
    assert res.converged and res.value == pytest.approx(math.sqrt(float(ref)), rel=1e-9)
    assert w2(x, y) - 1e-9 <= res.value


def test_sliced_matches_pot_and_chunking(monkeypatch):
    """Same projections as ot.sliced_wasserstein_distance(seed=...), and chunking over
    projections does not change the value."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) * 2
    for p in (1, 2):
        ref = ot.sliced_wasserstein_distance(x, y, n_projections=37, p=p, seed=5)
        value = sliced_wasserstein(x, y, p=p, n_projections=37, seed=5)
        assert value == pytest.approx(ref, rel=1e-12)
        monkeypatch.setattr(W, "_SLICED_CHUNK_ELEMENTS", 7 * (60 + 50))  # chunks of 7 projections
        assert sliced_wasserstein(x, y, p=p, n_projections=37, seed=5) == pytest.approx(ref, rel=1e-12)
        monkeypatch.undo()


# -- sliced W in batched torch -------------------------------------------------------------------
def _pot_sliced(x, y, a=None, b=None, *, p, n_projections, seed):
    """POT itself, with its own projections drawn from the seed (RandomState(seed).randn(d, L),
    normalised)."""
    return float(ot.sliced_wasserstein_distance(x, y, a, b, n_projections=n_projections, p=p, seed=seed))


SLICED_CASES = [  # (n, m, d, weighted a, weighted b, p, offset)
    (40, 40, 2, False, False, 1, 0.0),
    (40, 40, 2, False, False, 2, 0.0),
    (40, 25, 2, False, False, 1, 0.0),
    (40, 25, 3, False, False, 2, 0.0),
    (31, 31, 2, True, True, 1, 0.0),
    (31, 17, 2, True, False, 2, 0.0),
    (12, 29, 4, False, True, 1.5, 0.0),
    (50, 50, 1, False, False, 1, 0.0),
    (64, 48, 2, False, False, 1, 1e3),
    (1, 7, 2, False, False, 2, 0.0),
]


@pytest.mark.parametrize("n,m,d,wa,wb,p,offset", SLICED_CASES)
def test_sliced_matches_pot_directly(n, m, d, wa, wb, p, offset):
    """The torch implementation against POT's ``ot.sliced_wasserstein_distance`` with the same
    seed: equal and unequal sizes, uniform and weighted, p = 1, 1.5, 2, d = 1 to 4, far from the
    origin; 1e-12 relative (both are exact up to float64 rounding at these sizes)."""
    rng = np.random.default_rng(n * 100 + m)
    x = rng.normal(size=(n, d)) + offset
    y = rng.normal(size=(m, d)) * 1.5 + 0.7 + offset
    a = rng.dirichlet(np.ones(n)) if wa else None
    b = rng.dirichlet(np.ones(m)) if wb else None
    for seed in (0, 7):
        ref = _pot_sliced(x, y, a, b, p=p, n_projections=64, seed=seed)
        got = sliced_wasserstein(x, y, a, b, p=p, n_projections=64, seed=seed)
        assert type(got) is float
        assert got == pytest.approx(ref, rel=1e-12)


def test_sliced_of_a_translation_is_the_mean_projected_shift():
    """Known answer, independent of POT: y = x + v moves every projection by <θ, v>, so the 1-D
    W_p is |<θ, v>| for each θ and SW_p^p = mean_l |<θ_l, v>|^p, with θ_l the normalised columns of
    RandomState(seed).randn(d, L) (written out here)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    v = np.array([0.5, -2.0, 1.25])
    g = np.random.RandomState(11).randn(3, 200)
    theta = g / np.sqrt((g**2).sum(axis=0, keepdims=True))
    proj = np.abs(v @ theta)
    assert sliced_wasserstein(x, x + v, p=1, n_projections=200, seed=11) == pytest.approx(proj.mean(), rel=1e-12)
    assert sliced_wasserstein(x, x + v, p=2, n_projections=200, seed=11) == pytest.approx(
        math.sqrt(np.mean(proj**2)), rel=1e-12)
    # uneven sizes: a cloud and its duplicate-free half-copy is the same measure up to the shift
    xx = np.concatenate([x, x])
    assert sliced_wasserstein(xx, x + v, p=1, n_projections=200, seed=11) == pytest.approx(proj.mean(), rel=1e-12)


def test_sliced_is_exact_where_pot_rounds():
    """For n = m the 1-D W_p is mean |x_(k) − y_(k)|^p. Against that sum taken exactly (math.fsum
    over the sorted projections), the torch value is right to 1e-14 at n = 20,000, while POT's
    quantile grid (a cumulative sum of 1/n) drifts by about n·eps/2 relative — why the two can
    differ by more than 1e-12 at 100,000 points (benchmarks/sliced_speed.py)."""
    rng = np.random.default_rng(5)
    n, L = 20_000, 4
    x, y = rng.normal(size=(n, 2)), 1 + rng.normal(size=(n, 2)) * 2
    g = np.random.RandomState(2).randn(2, L)
    theta = g / np.sqrt((g**2).sum(axis=0, keepdims=True))
    xs, ys = np.sort(x @ theta, axis=0), np.sort(y @ theta, axis=0)
    exact = math.fsum(math.fsum(np.abs(xs[:, l] - ys[:, l])) / n for l in range(L)) / L
    assert sliced_wasserstein(x, y, p=1, n_projections=L, seed=2) == pytest.approx(exact, rel=1e-14)


def test_sliced_batched_equals_each_member():
    """x [N, n, d] against y [N, m, d] or one y [m, d]: a float64 tensor [N] on x's device whose
    entry i is the single-cloud value of member i (1e-13: a batched matmul may round a projection
    differently by an ulp) and POT's (1e-12); weights apply to every member."""
    rng = np.random.default_rng(8)
    x = torch.from_numpy(rng.normal(size=(5, 40, 2)) * np.arange(1, 6)[:, None, None]).float()
    y3 = torch.from_numpy(rng.normal(size=(5, 33, 2)) + 1.0)
    y2 = torch.from_numpy(rng.normal(size=(40, 2)) - 0.5)
    a = rng.dirichlet(np.ones(40))
    for y, wa in ((y3, None), (y2, None), (y2, a)):
        for p in (1, 2):
            got = sliced_wasserstein(x, y, wa, p=p, n_projections=30, seed=4)
            assert isinstance(got, torch.Tensor) and got.shape == (5,) and got.dtype == torch.float64
            for i in range(5):
                yi = y[i] if y.ndim == 3 else y
                single = sliced_wasserstein(x[i], yi, wa, p=p, n_projections=30, seed=4)
                assert float(got[i]) == pytest.approx(single, rel=1e-13)
                ref = _pot_sliced(x[i].double().numpy(), yi.numpy(), wa, p=p, n_projections=30, seed=4)
                assert float(got[i]) == pytest.approx(ref, rel=1e-12)


def test_sliced_does_not_depend_on_projection_chunks(monkeypatch):
    rng = np.random.default_rng(9)
    x, y = torch.from_numpy(rng.normal(size=(3, 50, 2))), torch.from_numpy(rng.normal(size=(35, 2)))
    w = rng.dirichlet(np.ones(35))
    ref = (sliced_wasserstein(x, y, p=1, n_projections=41, seed=1), sliced_wasserstein(x, y, b=w, p=2, n_projections=41, seed=1))
    monkeypatch.setattr(W, "_SLICED_CHUNK_ELEMENTS", 3 * (50 + 35) * 4)  # chunks of 4 projections
    got = (sliced_wasserstein(x, y, p=1, n_projections=41, seed=1), sliced_wasserstein(x, y, b=w, p=2, n_projections=41, seed=1))
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, rtol=1e-14, atol=0)


def test_sliced_batched_non_finite_member_is_nan():
    """Batched input is not inspected on the host (no sync): a member holding NaN or inf gets NaN,
    the others their value."""
    rng = np.random.default_rng(10)
    x = torch.from_numpy(rng.normal(size=(4, 30, 2)))
    y = torch.from_numpy(rng.normal(size=(20, 2)))
    clean = sliced_wasserstein(x, y, n_projections=10)
    x[1, 3, 0] = float("nan")
    x[2, 0, 1] = float("inf")
    got = sliced_wasserstein(x, y, n_projections=10)
    assert torch.isnan(got[1]) and torch.isnan(got[2])
    assert got[0] == clean[0] and got[3] == clean[3]
    y3 = torch.from_numpy(rng.normal(size=(4, 20, 2)))
    y3[3, 0, 0] = -float("inf")
    assert torch.isnan(sliced_wasserstein(x, y3, n_projections=10)).tolist() == [False, True, True, True]
    # equal sizes in 1-D: the arithmetic alone would give +inf (mean |x − inf|): the value is still NaN
    x1, y1 = torch.from_numpy(rng.normal(size=(2, 30, 1))), torch.from_numpy(rng.normal(size=(2, 30, 1)))
    y1[1, 0, 0] = float("inf")
    got = sliced_wasserstein(x1, y1, n_projections=4)
    assert torch.isfinite(got[0]) and torch.isnan(got[1])


def test_sliced_batched_stays_on_the_device_without_host_sync():
    """On the 'meta' device (no values: any host read or CPU-created tensor fails) the batched
    computation runs through for equal and unequal sizes and weights (given on the host, where
    they are validated, then moved), and returns [N] there."""
    x = torch.zeros(3, 50, 2, device="meta")
    for y, b in ((torch.zeros(40, 2, device="meta"), None), (torch.zeros(3, 50, 2, device="meta"), None),
                 (torch.zeros(40, 2, device="meta"), np.full(40, 1 / 40))):
        got = sliced_wasserstein(x, y, b=b, n_projections=8)
        assert got.device.type == "meta" and got.shape == (3,) and got.dtype == torch.float64


@pytest.mark.parametrize("call,match", [
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros((2, 4, 2))), "x holds 3 clouds but y holds 2"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros((4, 3))), "dimension mismatch: x has dimension 2, y has 3"),
    (lambda: sliced_wasserstein(np.zeros((3, 0, 2)), np.zeros((4, 2))), r"x is empty \(shape \(3, 0, 2\)\)"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros((0, 2))), "y is empty"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros(4)), r"y must have shape \[N, m, d\] or \[m, d\]"),
    (lambda: sliced_wasserstein(np.zeros((4, 2)), np.zeros((3, 4, 2))), r"x must have shape \[N, n, d\]"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2), dtype=bool), np.zeros((4, 2))), "x must hold real numbers"),
    (lambda: sliced_wasserstein(torch.zeros(3, 4, 2, device="meta"), torch.zeros(4, 2)), "x is on meta but y is on cpu"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros((5, 2)), a=np.full(5, 0.2)), "a has 5 entries, expected 4"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros((5, 2)), p=0.5), "p must be >= 1"),
    (lambda: sliced_wasserstein(np.zeros((3, 4, 2)), np.zeros((5, 2)), seed=-1), "seed must be an integer >= 0"),
])
def test_sliced_batched_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wasserstein_1d_p2_matches_quantiles_and_lp():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=200), rng.exponential(size=200)
    expected = math.sqrt(np.mean((np.sort(u) - np.sort(v)) ** 2))  # equal sizes: sorted matching
    assert wasserstein_1d(u, v, p=2) == pytest.approx(expected, rel=1e-10)
    assert w2(u, v) == pytest.approx(expected, rel=1e-8)
    with pytest.raises(ValueError, match="1-D samples"):
        wasserstein_1d(np.zeros((5, 2)), np.zeros(5))


def test_gaussian_w2_closed_forms():
    # 1-D: W2² = (m1 − m2)² + (s1 − s2)²; commuting covariances: ‖m‖² + ‖sqrt(diag1) − sqrt(diag2)‖².
    assert gaussian_w2(1.0, 4.0, -2.0, 1.0) == pytest.approx(math.hypot(3.0, 1.0))
    assert gaussian_w2([0, 0], np.diag([1.0, 9.0]), [3, 4], np.diag([4.0, 1.0])) == pytest.approx(
        math.sqrt(25 + 1 + 4)
    )
    c = _random_spd(np.random.default_rng(4), 3)
    assert gaussian_w2(np.ones(3), c, np.ones(3), c) == pytest.approx(0.0, abs=1e-7)
    assert gaussian_w2(np.zeros(3), np.zeros((3, 3)), np.zeros(3), c) == pytest.approx(
        math.sqrt(np.trace(c))
    )  # point mass vs Gaussian: W2² = tr C
    with pytest.raises(ValueError, match="cov1 must be positive semi-definite"):
        gaussian_w2([0, 0], np.diag([1.0, -1.0]), [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="cov2 must be symmetric"):
        gaussian_w2([0, 0], np.eye(2), [0, 0], [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"cov1 must have shape \(2, 2\)"):
        gaussian_w2([0, 0], np.eye(3), [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="dimension mismatch"):
        gaussian_w2([0, 0], np.eye(2), [0, 0, 0], np.eye(3))


def test_accepts_torch_and_returns_float():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 2, generator=g, requires_grad=True)  # float32, with grad
    y = torch.randn(20, 2, generator=g, dtype=torch.float64) + 1
    for f in (w1, w2, w2_squared, sliced_wasserstein):
        v = f(x, y)
        assert type(v) is float and v > 0
        assert v == pytest.approx(f(x.detach().numpy().astype(np.float64), y.numpy()), rel=1e-12)
    assert type(wasserstein_1d(torch.randn(10), torch.randn(7))) is float
    assert w1(np.arange(5.0), np.arange(5.0) + 2) == pytest.approx(2.0)  # [n] read as 1-D points


def test_emd_non_optimality_is_never_silent():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(100, 2)), rng.normal(size=(80, 2))
    with pytest.raises(OTConvergenceError, match=r"max_iter=10.*result_code=3"):
        w1(x, y, max_iter=10)
    with pytest.warns(OTConvergenceWarning, match="numItermax reached"):
        w1(x, y, max_iter=10, strict=False)


def _assignment_w1(x: np.ndarray, y: np.ndarray) -> float:
    """W1 of two equal-size uniform clouds as an assignment problem (Birkhoff: some optimal plan is
    a permutation), solved by scipy's Hungarian-type solver on the written-out Euclidean cost."""
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def test_w1_many_equals_an_assignment_solver_and_w1():
    rng = np.random.default_rng(3)
    pairs = [(rng.normal(size=(n, 2)) * s, rng.normal(size=(n, 2)) + o)
             for n, s, o in ((40, 1.0, 0.0), (60, 0.3, 2.0), (1, 1.0, 5.0), (80, 2.0, -1.0))]
    pairs.append((pairs[0][0], pairs[0][0].copy()))  # identical clouds: exactly 0
    values = w1_many(pairs)
    for (x, y), v in zip(pairs, values):
        assert type(v) is float
        assert v == pytest.approx(_assignment_w1(x, y), rel=1e-12, abs=1e-15)
        assert v == w1(x, y)  # the same POT call: bit for bit
    assert values[-1] == 0.0
    assert w1_many([]) == []


def test_w1_many_threads_equal_serial_bit_for_bit():
    rng = np.random.default_rng(4)
    pairs = [(torch.randn(120, 2, dtype=torch.float64) * (1 + k), rng.normal(size=(120, 2))) for k in range(7)]
    serial = w1_many(pairs, workers=1)
    assert w1_many(pairs, workers=2) == serial and w1_many(pairs, workers=8) == serial
    assert len(set(serial)) == len(serial)  # distinct values: an order mix-up would show


def test_w1_many_checks_every_pair_first_and_names_the_failing_one():
    rng = np.random.default_rng(5)
    good = (rng.normal(size=(100, 2)), rng.normal(size=(100, 2)))
    with pytest.raises(ValueError, match=r"y\[1\] holds 1 non-finite"):
        w1_many([good, (np.zeros((3, 2)), np.array([[0.0, np.nan], [0, 0], [0, 0]]))])
    with pytest.raises(ValueError, match=r"W1 of pair 1 .*300 x 300"):
        w1_many([good, (np.zeros((300, 2)), np.zeros((300, 2)))], max_points=200)
    with pytest.raises(ValueError, match="workers must be an integer"):
        w1_many([good], workers=0)
    for workers in (1, 2):
        with pytest.warns(UserWarning), pytest.raises(OTConvergenceError, match=r"pair 1 \(100 x 100 .*result_code=3"):
            w1_many([(good[0][:3], good[1][:3]), good], max_iter=10, workers=workers)


def test_memory_guard():
    x = np.zeros((300, 2))
    with pytest.raises(ValueError, match=r"300 x 300.*sliced_wasserstein"):
        w1(x, x, max_points=200)
    with pytest.raises(ValueError, match="max_points"):
        sinkhorn_wasserstein(x, x, 1.0, max_points=200)
    assert w1(x[:10], x[:20], max_points=None) == 0.0
    assert W.MAX_EMD_POINTS**2 < 10_000 * 10_000  # the 3.9 GB case is refused by default


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: w1(np.zeros((0, 2)), np.zeros((3, 2))), "x is empty"),
        (lambda: w1(np.zeros((3, 2)), np.array([[0.0, np.nan]])), "y holds 1 non-finite"),
        (lambda: w2(np.zeros((3, 2)), np.zeros((3, 3))), "dimension mismatch: x has dimension 2"),
        (lambda: w1(np.zeros((2, 2, 2)), np.zeros((3, 2))), r"x must have shape \[n, d\]"),
        (lambda: w1(np.zeros(3), np.zeros(2), a=[0.5, 0.5]), "a has 2 entries, expected 3"),
        (lambda: w1(np.zeros(2), np.zeros(2), b=[1.5, -0.5]), "b must be non-negative"),
        (lambda: w1(np.zeros(2), np.zeros(2), a=[0.5, 0.6]), "a must sum to 1"),
        (lambda: w1(np.zeros(2), np.zeros(2), max_iter=0), "max_iter must be an integer"),
        (lambda: sliced_wasserstein(np.zeros(2), np.zeros(2), p=0.5), "p must be >= 1"),
        (lambda: sliced_wasserstein(np.zeros(2), np.zeros(2), n_projections=0), "n_projections"),
        (lambda: sinkhorn_wasserstein(np.zeros(2), np.zeros(2), 0.0), "reg must be a positive"),
        (lambda: sinkhorn_wasserstein(np.zeros(2), np.zeros(2), 1.0, method="?"), "method must be"),
        (lambda: wasserstein_1d([], [1.0]), "u is empty"),
        (lambda: wasserstein_1d([1.0], [np.inf]), "v holds 1 non-finite"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
