"""The Dirac-GAN's theory (Mescheder et al. 2018): each method's field against autograd of its
objective written out here, the closed-form Jacobians and eigenvalues against jacfwd and numpy,
hand values, and the gradient-descent update's eigenvalues against jacfwd of one step."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganlab.theory.dirac import (
    METHODS,
    SCHEDULES,
    DiracMethod,
    contraction_rate,
    eigenvector_condition,
    step,
    update_eigenvalues,
    update_jacobian,
)

NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
Z = torch.from_numpy(NODES)
WZ = torch.from_numpy(WEIGHTS / math.sqrt(2 * math.pi))


def f(t):
    return -torch.log1p(torch.exp(-t))  # −log(1 + e^{−t}), written as the paper does


def objectives(m, th, ps):
    """(L_G, L_D): θ descends L_G, ψ ascends L_D (the paper's eq. 1 on the Dirac-GAN)."""
    gan = f(ps * th) + f(torch.zeros_like(ps))
    if m.name == "nonsaturating":
        return -f(-ps * th), gan
    if m.name in ("r1", "r2"):
        return gan, gan - m.gamma / 2 * ps**2
    if m.name == "instance_noise":
        noisy = (WZ * f(ps * (th + m.sigma * Z))).sum() + (WZ * f(-ps * m.sigma * Z)).sum()
        return noisy, noisy
    if m.name == "wgan":
        return ps * th, ps * th
    if m.name == "wgan-gp":
        return ps * th, ps * th - m.gamma / 2 * (ps.abs() - m.g0) ** 2
    if m.name == "consensus":
        g_th, g_ps = torch.autograd.grad(gan, (th, ps), create_graph=True)
        reg = (g_th**2 + g_ps**2) / 2
        return gan + m.gamma * reg, gan - m.gamma * reg
    return gan, gan


def autograd_field(m, theta, psi):
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(psi, dtype=torch.float64, requires_grad=True)
    l_g, l_d = objectives(m, th, ps)
    (g_th,) = torch.autograd.grad(l_g, th, retain_graph=True)
    (g_ps,) = torch.autograd.grad(l_d, ps)
    return -float(g_th), float(g_ps)


ARMS = [
    DiracMethod("gan"), DiracMethod("nonsaturating"), DiracMethod("wgan"), DiracMethod("wgan-gp", gamma=0.7),
    DiracMethod("instance_noise", sigma=0.7), DiracMethod("r1", gamma=0.3), DiracMethod("r2", gamma=1.7),
    DiracMethod("consensus", gamma=1.0),
]
WITH_JACOBIAN = [m for m in ARMS if m.name != "wgan-gp"]


def test_every_method_is_covered():
    assert {m.name for m in ARMS} == set(METHODS)


@pytest.mark.parametrize("m", ARMS, ids=lambda m: m.name)
def test_field_is_autograd_of_the_written_out_objective(m):
    for theta in (-1.7, -0.3, 0.4, 1.1):
        for psi in (-1.3, -0.2, 0.6, 2.0):
            got = [float(v) for v in m.field(theta, psi)]
            assert got == pytest.approx(autograd_field(m, theta, psi), abs=1e-13)


def test_field_hand_values():
    s = 1 / (1 + math.e)  # f′(1) = σ(−1)
    assert [float(v) for v in DiracMethod("gan").field(1.0, 1.0)] == pytest.approx([-s, s], abs=1e-15)
    # non-saturating at (1, −1): θ̇ = −ψ f′(−ψθ) = f′(1), ψ̇ = θ f′(ψθ) = f′(−1) = σ(1)
    assert [float(v) for v in DiracMethod("nonsaturating").field(1.0, -1.0)] == pytest.approx([s, 1 - s], abs=1e-15)
    # WGAN-GP at (0.5, 0.25), γ = 2, g0 = 1: ψ̇ = 0.5 − 2(0.25 − 1) = 2
    assert [float(v) for v in DiracMethod("wgan-gp", gamma=2.0).field(0.5, 0.25)] == pytest.approx([-0.25, 2.0])
    # R1 at (0, 1), γ = 0.3: θ̇ = −f′(0) = −½, ψ̇ = −0.3
    assert [float(v) for v in DiracMethod("r1", gamma=0.3).field(0.0, 1.0)] == pytest.approx([-0.5, -0.3])


def jacfwd(fn):
    return torch.func.jacfwd(lambda x: torch.stack(fn(x[0], x[1])))(torch.zeros(2, dtype=torch.float64)).numpy()


def ordered(v):
    v = np.asarray(v, dtype=np.complex128)
    return v[np.lexsort((v.imag, v.real))]


@pytest.mark.parametrize("m", WITH_JACOBIAN, ids=lambda m: m.name)
def test_jacobian_and_eigenvalues_match_jacfwd_and_numpy(m):
    numeric = jacfwd(m.field)
    np.testing.assert_allclose(m.jacobian(), numeric, atol=1e-13)
    np.testing.assert_allclose(ordered(m.eigenvalues()), ordered(np.linalg.eigvals(numeric)), atol=1e-12)


def test_eigenvalue_hand_values():
    """±i f′(0) (Lemma 2.2); −γ/2 ± √(γ²/4 − ¼) (R1/R2); f″(0)σ² ± √(f″(0)²σ⁴ − ¼) (instance
    noise); −γ/4 ± i/2 (consensus)."""
    np.testing.assert_allclose(ordered(DiracMethod("gan").eigenvalues()), [-0.5j, 0.5j])
    np.testing.assert_allclose(ordered(DiracMethod("r1", gamma=0.3).eigenvalues()),
                               [-0.15 - 1j * math.sqrt(0.2275), -0.15 + 1j * math.sqrt(0.2275)])
    np.testing.assert_allclose(ordered(DiracMethod("r2", gamma=2.0).eigenvalues()),
                               [-1 - math.sqrt(0.75), -1 + math.sqrt(0.75)])  # overdamped: two real
    np.testing.assert_allclose(ordered(DiracMethod("instance_noise", sigma=1.0).eigenvalues()),
                               [-0.25 - 1j * math.sqrt(0.1875), -0.25 + 1j * math.sqrt(0.1875)])
    np.testing.assert_allclose(ordered(DiracMethod("consensus", gamma=1.0).eigenvalues()), [-0.25 - 0.5j, -0.25 + 0.5j])


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 3.0), st.floats(0.05, 3.0), st.floats(0.01, 1.0))
def test_closed_forms_hold_for_any_parameters(gamma, sigma, h):
    for m in (DiracMethod("r1", gamma=gamma), DiracMethod("instance_noise", sigma=sigma),
              DiracMethod("consensus", gamma=gamma)):
        np.testing.assert_allclose(ordered(m.eigenvalues()), ordered(np.linalg.eigvals(jacfwd(m.field))), atol=1e-9)
        for schedule in SCHEDULES:
            one_step = jacfwd(lambda t, p: step(m, t, p, h, schedule))
            np.testing.assert_allclose(update_jacobian(m, h, schedule), one_step, atol=1e-12)
            np.testing.assert_allclose(ordered(update_eigenvalues(m, h, schedule)),
                                       ordered(np.linalg.eigvals(one_step)), atol=1e-9)


def test_alternating_gan_is_lemma_2_5():
    """1 − α²/2 ± √((1 − α²/2)² − 1), α = h f′(0): modulus 1 for α ≤ 2 (and > 1 beyond)."""
    for h in (0.1, 1.0, 3.9):
        alpha = h * 0.5
        c = 1 - alpha**2 / 2
        want = [c - np.sqrt(complex(c * c - 1)), c + np.sqrt(complex(c * c - 1))]
        np.testing.assert_allclose(ordered(update_eigenvalues(DiracMethod("gan"), h, "alternating")), ordered(want))
        assert contraction_rate(DiracMethod("gan"), h, "alternating") == pytest.approx(1.0, abs=1e-12)
    assert contraction_rate(DiracMethod("gan"), 4.4, "alternating") > 1


def test_contraction_rate_hand_values():
    """Simultaneous: |1 + hλ|² = 1 + h·tr J + h² det J; alternating (complex pair): det = 1 + hJ₂₂."""
    h = 0.2
    assert contraction_rate(DiracMethod("gan"), h, "simultaneous") == pytest.approx(math.sqrt(1 + h * h / 4))
    assert contraction_rate(DiracMethod("r1", gamma=0.3), h, "simultaneous") == pytest.approx(
        math.sqrt(1 - h * 0.3 + h * h / 4))
    assert contraction_rate(DiracMethod("r1", gamma=0.3), h, "alternating") == pytest.approx(math.sqrt(1 - h * 0.3))
    # instance noise under simultaneous GD converges iff σ² > h/2
    assert contraction_rate(DiracMethod("instance_noise", sigma=math.sqrt(0.11)), h, "simultaneous") < 1
    assert contraction_rate(DiracMethod("instance_noise", sigma=math.sqrt(0.09)), h, "simultaneous") > 1


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_eigenvector_condition_bounds_the_linear_map(schedule):
    """ρⁿ‖x‖/κ ≤ ‖Aⁿx‖ ≤ κρⁿ‖x‖ for a complex pair, every x and n."""
    m, h = DiracMethod("r1", gamma=0.3), 0.2
    a, rho, kappa = update_jacobian(m, h, schedule), contraction_rate(m, h, schedule), eigenvector_condition(m, h, schedule)
    rng = np.random.default_rng(0)
    for x in rng.normal(size=(20, 2)):
        y = x.copy()
        for n in range(1, 60):
            y = a @ y
            ratio = np.linalg.norm(y) / (rho**n * np.linalg.norm(x))
            assert 1 / kappa - 1e-12 <= ratio <= kappa + 1e-12


def test_continuous_gan_conserves_the_distance_and_wgan_gp_grows_inside_g0():
    """x·v = 0 for the GAN (θ² + ψ² constant along the flow); for WGAN-GP
    d(θ² + ψ²)/dt = 2x·v = −2γ|ψ|(|ψ| − g0)."""
    g = torch.linspace(-2, 2, 21, dtype=torch.float64)
    th, ps = torch.meshgrid(g, g, indexing="ij")
    v_th, v_ps = DiracMethod("gan").field(th, ps)
    assert (th * v_th + ps * v_ps).abs().max() < 1e-15
    m = DiracMethod("wgan-gp", gamma=0.7, g0=1.0)
    v_th, v_ps = m.field(th, ps)
    torch.testing.assert_close(2 * (th * v_th + ps * v_ps), -2 * 0.7 * ps.abs() * (ps.abs() - 1.0))


def test_steps_follow_the_schedules_order():
    """WGAN from (1, 1), h = 0.2: simultaneous (0.8, 1.2); alternating θ first (0.8, 1 + 0.2·0.8),
    then ψ clipped to c = 1."""
    one = torch.tensor(1.0, dtype=torch.float64)
    m = DiracMethod("wgan", clip=5.0)
    assert [float(v) for v in step(m, one, one, 0.2, "simultaneous")] == pytest.approx([0.8, 1.2])
    assert [float(v) for v in step(m, one, one, 0.2, "alternating")] == pytest.approx([0.8, 1.16])
    assert [float(v) for v in step(DiracMethod("wgan", clip=1.0), one, one, 0.2, "alternating")] == pytest.approx([0.8, 1.0])


def test_wgan_gp_has_no_jacobian():
    with pytest.raises(ValueError, match="wgan-gp field is not differentiable"):
        DiracMethod("wgan-gp", gamma=1.0).jacobian()


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="gann"), "unknown Dirac-GAN method 'gann'"),
    (dict(name="r1", gamma=-0.1), "gamma must be a non-negative finite number, got -0.1"),
    (dict(name="instance_noise"), "instance_noise needs sigma > 0, got sigma=0"),
    (dict(name="wgan", clip=0.0), "clip must be a positive finite number, got 0.0"),
    (dict(name="wgan-gp", g0=float("nan")), "g0 must be a positive finite number, got nan"),
    (dict(name="gan", gamma=1.0), "the gan method does not use gamma, got gamma=1.0"),
    (dict(name="r1", gamma=1.0, sigma=0.5), "the r1 method does not use sigma, got sigma=0.5"),
])
def test_bad_parameters_are_one_line_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiracMethod(**kwargs)


def test_bad_step_and_schedule():
    with pytest.raises(ValueError, match="step size h must be a positive finite number, got 0"):
        contraction_rate(DiracMethod("gan"), 0, "simultaneous")
    with pytest.raises(ValueError, match="unknown schedule 'sim'"):
        update_jacobian(DiracMethod("gan"), 0.1, "sim")
