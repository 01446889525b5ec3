"""The Dirac-GAN trained through ganlab's losses (``ganlab.experiments.dirac``): its gradients are
the paper's field (the theory's, derived by hand), its penalties equal their written formulas, its
noise set has the moments the Jacobian needs, and a run is deterministic."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from ganlab.experiments.dirac import (
    ARMS,
    PARTS,
    PENALTIES,
    DiracTrainer,
    SETTINGS,
    noise_points,
    run_arms,
)
from ganlab.theory.dirac import METHODS, DiracMethod, step

GRID = torch.tensor([-1.5, -0.4, 0.0, 0.3, 1.2], dtype=torch.float64)


def test_every_theory_method_has_an_arm():
    assert set(ARMS) == set(METHODS) == set(PARTS)


@pytest.mark.parametrize("name", [n for n in ARMS if n != "instance_noise"])
def test_gradients_through_ganlab_losses_are_the_papers_field(name):
    """−(∂L_G/∂θ, ∂L_D/∂ψ) of ganlab's losses = v(θ, ψ) on a grid (N = 25 members at once)."""
    m = ARMS[name]
    th, ps = (t.flatten() for t in torch.meshgrid(GRID, GRID, indexing="ij"))
    if name == "wgan-gp":
        th, ps = th[ps != 0], ps[ps != 0]  # sign ψ jumps at ψ = 0 (torch's norm has gradient 0 there)
    g_th, g_ps = DiracTrainer(m).gradients(th, ps)
    v_th, v_ps = m.field(th, ps)
    torch.testing.assert_close(-g_th, v_th, rtol=0, atol=1e-14)
    torch.testing.assert_close(-g_ps, v_ps, rtol=0, atol=1e-14)


def test_instance_noise_gradients_have_the_closed_form_jacobian():
    """The noise set has mean 0 and mean square 1 exactly, so the field's Jacobian at the
    equilibrium is the closed form [[0, −f′(0)], [f′(0), 2f″(0)σ²]] (central differences, O(ε²))."""
    m = DiracMethod("instance_noise", sigma=0.7)
    t = DiracTrainer(m, 1000)
    eps = 1e-5
    cols = []
    for e in (torch.tensor([eps, 0.0]), torch.tensor([0.0, eps])):
        plus = torch.stack(t.gradients(e[:1].double(), e[1:].double()))
        minus = torch.stack(t.gradients(-e[:1].double(), -e[1:].double()))
        cols.append(-(plus - minus).flatten() / (2 * eps))
    np.testing.assert_allclose(torch.stack(cols, 1).numpy(), m.jacobian(), atol=1e-9)
    # away from it the quantile set is a quadrature of the exact expectation: its error shrinks with B
    th, ps = torch.tensor([0.8, -0.5], dtype=torch.float64), torch.tensor([0.6, 1.1], dtype=torch.float64)
    want = -torch.stack(m.field(th, ps))
    err = [float((torch.stack(DiracTrainer(m, b).gradients(th, ps)) - want).abs().max()) for b in (250, 1000, 4000)]
    assert err[0] > 2 * err[1] > 4 * err[2] and err[1] < 1e-3, err


def test_noise_points_have_mean_zero_and_mean_square_one():
    z = noise_points(1000)
    assert abs(float(z.mean())) < 1e-15 and float(z.pow(2).mean()) == pytest.approx(1.0, abs=1e-15)
    assert torch.equal(z, -z.flip(0))  # symmetric: odd moments vanish
    with pytest.raises(ValueError, match="noise points must be an integer >= 2, got 1"):
        noise_points(1)


def test_the_penalties_are_their_formulas():
    """γ/2 E‖∇ₓD(x)‖² on the real (R1) or fake (R2) batch, per member: for D(x) = a·x² the gradient
    is 2a·x, so the penalty is γ/2 · 4a²·mean(x²); WGAN-GP's λ(‖∇‖ − 1)² with λ = γ/2 at the
    midpoints (a linear critic D(x) = a·x: γ/2 (|a| − 1)²)."""
    gamma = 0.6
    a = torch.tensor([0.5, -2.0], dtype=torch.float64, requires_grad=True)
    critic = lambda x: a.reshape(-1, 1, 1) * x**2  # noqa: E731
    real = torch.tensor([[[1.0], [3.0]], [[2.0], [0.0]]], dtype=torch.float64)
    fake = torch.tensor([[[-1.0], [1.0]], [[0.5], [0.5]]], dtype=torch.float64)
    mean_sq = {"r1": torch.tensor([5.0, 2.0], dtype=torch.float64), "r2": torch.tensor([1.0, 0.25], dtype=torch.float64)}
    for name, m2 in mean_sq.items():
        torch.testing.assert_close(PENALTIES[name](critic, real, fake, gamma), gamma / 2 * 4 * a.detach() ** 2 * m2)
        (g,) = torch.autograd.grad(PENALTIES[name](critic, real, fake, gamma).sum(), a)  # differentiable in D
        torch.testing.assert_close(g, gamma / 2 * 8 * a.detach() * m2)
    linear = lambda x: a.reshape(-1, 1, 1) * x  # noqa: E731
    torch.testing.assert_close(PENALTIES["gp"](linear, real, fake, gamma), gamma / 2 * (a.detach().abs() - 1) ** 2)


@pytest.mark.parametrize("schedule", ["simultaneous", "alternating"])
def test_a_run_follows_the_theory_update(schedule):
    """Every step of a run through ganlab's losses equals the theory's update of the paper's field
    (R1, WGAN with its clipping: to rounding)."""
    for name in ("r1", "wgan", "consensus"):
        m = ARMS[name]
        traj = DiracTrainer(m).run((1.0, 1.0), 0.2, 60, schedule)
        th, ps = step(m, torch.from_numpy(traj[:-1, 0]), torch.from_numpy(traj[:-1, 1]), 0.2, schedule)
        np.testing.assert_allclose(np.stack([th.numpy(), ps.numpy()], 1), traj[1:], rtol=0, atol=1e-14)


def test_same_settings_same_trajectories():
    s = dataclasses.replace(SETTINGS["short"], steps=100, window=50)
    arms = {"instance_noise": ARMS["instance_noise"], "wgan-gp": ARMS["wgan-gp"]}
    a, b = run_arms(s, arms), run_arms(s, arms)
    for key in a.trajectories:
        assert np.array_equal(a.trajectories[key], b.trajectories[key])


def test_measured_rate_reads_the_last_window():
    s = SETTINGS["short"]
    r = run_arms(s, {"r1": ARMS["r1"]})
    d = r.distances("r1", "simultaneous")
    assert r.measured_rate("r1", "simultaneous") == pytest.approx((d[-1] / d[-1 - s.window]) ** (1 / s.window), rel=1e-12)
    assert d[0] == pytest.approx(math.sqrt(2))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown schedule 'both'"):
        DiracTrainer(ARMS["gan"]).run((1.0, 1.0), 0.1, 3, "both")
    with pytest.raises(ValueError, match="step size h must be a positive finite number, got -0.1"):
        DiracTrainer(ARMS["gan"]).run((1.0, 1.0), -0.1, 3, "simultaneous")
    with pytest.raises(ValueError, match="target norm 1; got g0=2.0"):
        DiracTrainer(DiracMethod("wgan-gp", gamma=1.0, g0=2.0))
