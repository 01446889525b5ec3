"""The exact sides the experiments compute (each against an independent computation) and the
small functions of the experiments, on hand values."""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from ganlab.experiments import convergence, critics, discriminator, duality, maximin, mle, unrolling
from ganlab.theory.divergences import kl_divergence
from ganlab.theory.gan import gaussian_target, virtual_criterion_discrete
from ganlab.theory.targets import make_target, mixture_1d
from ganlab.theory.pairs import drop_modes, shifted


# -- critics ------------------------------------------------------------------------------------------
def test_w1_1d_against_closed_forms_and_samples():
    """W1 of a translation is the shift; of the mode-dropped pair 2 (half the mass moves 4); of
    N(0, 1) vs N(0, 4) E|X|·(2 − 1) = √(2/π); and the quadrature agrees with scipy on 10⁵ samples."""
    p = make_target("mixture1d")
    assert critics.w1_1d(p, shifted(p, (0.5,)))[0] == pytest.approx(0.5, abs=1e-9)
    assert critics.w1_1d(p, drop_modes(p, (0,)))[0] == pytest.approx(2.0, abs=1e-9)
    n1, n2 = mixture_1d((0.0,), (1.0,)), mixture_1d((0.0,), (2.0,))
    assert critics.w1_1d(n1, n2)[0] == pytest.approx(math.sqrt(2 / math.pi), abs=1e-9)
    q = mixture_1d((-1.0, 3.0), (0.3, 0.8), (0.3, 0.7))
    x, y = (t.sample(100_000, s, dtype=torch.float64)[:, 0].numpy() for t, s in ((p, 1), (q, 2)))
    assert critics.w1_1d(p, q)[0] == pytest.approx(scipy.stats.wasserstein_distance(x, y), abs=0.03)


def test_interpolate_density_integrates_to_one_and_matches_a_histogram():
    p, q = make_target("mixture1d"), mixture_1d((1.0,), (0.3,))
    lo, hi = critics._range(p, q)
    assert scipy.integrate.quad(lambda x: float(critics.interpolate_density_1d(p, q, x)), lo, hi, limit=200)[0] == \
        pytest.approx(1.0, abs=1e-8)
    g = torch.Generator().manual_seed(0)
    n = 400_000
    a = torch.rand(n, generator=g, dtype=torch.float64)
    xs = a * p.sample(n, g, dtype=torch.float64)[:, 0] + (1 - a) * q.sample(n, g, dtype=torch.float64)[:, 0]
    counts, edges = np.histogram(xs.numpy(), bins=40, range=(-2.5, 2.5))
    mass = np.array([scipy.integrate.quad(lambda x: float(critics.interpolate_density_1d(p, q, x)), a_, b_)[0]
                     for a_, b_ in zip(edges[:-1], edges[1:])])
    assert np.all(np.abs(counts / n - mass) <= 5 * np.sqrt(mass / n) + 1e-6)


def test_gp_optimum_tends_to_the_parallel_lines_value():
    """Two narrow Gaussians at 0 and θ approach point masses, whose interpolates are uniform on
    [0, θ]: the 1-D formula tends to θ + θ²/(2λ), the value the parallel-lines claim uses."""
    theta, lam = 1.0, 10.0
    w1, bias, _ = critics.gp_optimal_estimate_1d(mixture_1d((0.0,), (0.01,)), mixture_1d((theta,), (0.01,)), lam)
    assert w1 == pytest.approx(theta, abs=1e-9)
    assert bias == pytest.approx(theta**2 / (2 * lam), rel=0.05)


def test_lipschitz_bound_of_a_one_layer_net_is_its_weight_norm():
    w0 = torch.tensor([[[3.0], [4.0]]])  # [N=1, in=2, out=1]
    assert float(duality.lipschitz_bound({"w0": w0, "b0": w0})) == pytest.approx(5.0)


# -- convergence --------------------------------------------------------------------------------------
def test_value_gradient_is_the_criterion_gradient():
    """Envelope theorem: ∇_q V(D*, q) with D* frozen equals ∇_q C(q) (central differences of the
    theory's exact C on 6 outcomes; the gradient of C along the simplex is the same up to a
    constant, so compare directional derivatives along q − p)."""
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(5 * np.ones(6)), rng.dirichlet(5 * np.ones(6))  # no tiny mass: f‴ stays O(1)
    g = convergence.value_gradient(p, q)
    assert np.allclose(g, np.log(q / (p + q)), atol=1e-14)
    v, h = p - q, 1e-6
    numeric = (virtual_criterion_discrete(p, q + h * v) - virtual_criterion_discrete(p, q - h * v)) / (2 * h)
    assert float(g @ v) == pytest.approx(numeric, abs=1e-8)


# -- unrolling ----------------------------------------------------------------------------------------
def test_unrolling_population_pieces():
    """θ* is a stationary point of the population D loss; J_∞ = −H⁻¹M equals the derivative of the
    closed-form optimum (−1/s², b/s²) (implicit function theorem), so the K → ∞ surrogate gradient
    is d/db f(b, θ*(b)); K = 0 gives the vanilla gradient."""
    s = unrolling.SETTINGS["short"]
    b = torch.tensor(s.b, dtype=torch.float64)
    a, c = (v.clone().requires_grad_(True) for v in unrolling.optimum(b, s.s))
    grad = torch.autograd.grad(unrolling.d_loss_population(a, c, b, s.s), [a, c])
    assert max(abs(float(g)) for g in grad) < 1e-12
    pred = unrolling.predict(s)
    assert pred.surrogate[0] == pytest.approx(pred.vanilla, abs=1e-14)
    assert pred.contraction < 1
    big = unrolling.predict(unrolling.Settings(ks=(0, 400), seeds=1, batch=1))
    assert big.surrogate[400] == pytest.approx(pred.best_response, abs=1e-12)
    assert abs(pred.vanilla - pred.best_response) > 0.1


# -- mle ----------------------------------------------------------------------------------------------
def test_exact_kl_gradient_against_quadrature_differences():
    p = make_target("mixture1d")
    w, b, h = 2.5, 0.5, 1e-4
    kl = lambda ww, bb: kl_divergence(p, gaussian_target([bb], [[ww * ww]])).value
    g_w, g_b = mle.exact_kl_gradient(p, w, b)
    assert g_w == pytest.approx((kl(w + h, b) - kl(w - h, b)) / (2 * h), abs=1e-6)
    assert g_b == pytest.approx((kl(w, b + h) - kl(w, b - h)) / (2 * h), abs=1e-6)


# -- maximin and the discriminator's residual ------------------------------------------------------------
def test_mode_entropy_hand_values():
    centres = make_target("ring8").means
    point = centres[3].expand(1, 50, 2)
    spread = centres.repeat(10, 1)[None]
    h, hist = maximin.mode_entropy(torch.cat([point, spread[:, :50]]), centres)
    assert float(h[0]) == 0.0 and float(hist[0, 3]) == 1.0
    assert float(maximin.mode_entropy(spread, centres)[0][0]) == pytest.approx(math.log(8))


def test_residual_hand_values():
    d = torch.tensor([0.5, 0.7, 0.2, 0.2], dtype=torch.float64)
    d_star = torch.tensor([0.5, 0.5, 0.5, 0.1], dtype=torch.float64)
    r = discriminator.residual(d, d_star, 2, torch.tensor([True, True, False, True]))
    assert r.l1 == pytest.approx(0.5 * (0.1 + 0.2)) and r.max == pytest.approx(0.2)


def test_arms_name_their_sides_and_weights():
    arm = discriminator.Arm("x", make_target("mixture1d"), mixture_1d((1.0,), (1.0,)), real_label=0)
    assert arm.sides == (arm.p_g, arm.p_data) and arm.weight == 0.5
    assert {a.real_label for a in discriminator.arms_1d()} == {0, 1}
    assert all(a.p_data.dim == 2 for a in discriminator.arms_2d())
