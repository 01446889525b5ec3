"""Each loss and regulariser against its written formula: hand-computed values, and autograd of
the formula written out here with torch.sigmoid / torch.log (never the code under test)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganlab.training.losses import (
    LOSSES,
    critic_loss_wasserstein,
    discriminator_loss_gan,
    generator_loss_minimax,
    generator_loss_nonsaturating,
    generator_loss_wasserstein,
    gradient_penalty,
)

LOG2 = math.log(2.0)


def logits(values, n=1):
    """[n, B, 1] float64 logits, members identical."""
    t = torch.tensor(values, dtype=torch.float64)[None, :, None]
    return t.expand(n, -1, -1).clone()


# -- hand values ----------------------------------------------------------------------------------
def test_gan_losses_at_hand_values():
    """At logit 0 (D = ½): D loss −log ½ − log ½ = 2 log 2; minimax G loss log ½ = −log 2;
    non-saturating G loss −log ½ = log 2. At logit log 3 (D = ¾) for fakes: minimax log ¼,
    non-saturating −log ¾. Real logit log 3, fake logit −log 3: D loss 2·(−log ¾)."""
    zero = logits([0.0, 0.0])
    assert discriminator_loss_gan(zero, zero).item() == pytest.approx(2 * LOG2, abs=1e-15)
    assert generator_loss_minimax(zero).item() == pytest.approx(-LOG2, abs=1e-15)
    assert generator_loss_nonsaturating(zero).item() == pytest.approx(LOG2, abs=1e-15)
    l3 = logits([math.log(3.0)])
    assert generator_loss_minimax(l3).item() == pytest.approx(math.log(0.25), abs=1e-15)
    assert generator_loss_nonsaturating(l3).item() == pytest.approx(-math.log(0.75), abs=1e-15)
    assert discriminator_loss_gan(l3, -l3).item() == pytest.approx(-2 * math.log(0.75), abs=1e-15)


def test_wasserstein_losses_at_hand_values():
    """Critic loss E f(G(z)) − E f(x): scores real (1, 3), fake (0, −2) → −1 − 2 = −3; G loss
    −E f(G(z)) = 1."""
    real, fake = logits([1.0, 3.0]), logits([0.0, -2.0])
    assert critic_loss_wasserstein(real, fake).item() == -3.0
    assert generator_loss_wasserstein(fake).item() == 1.0


def test_losses_are_per_member_means():
    """Member i's loss is the mean over its own rows only."""
    real = torch.tensor([[[0.0], [0.0]], [[5.0], [-5.0]]], dtype=torch.float64)
    out = critic_loss_wasserstein(real, torch.zeros_like(real))
    assert out.tolist() == [0.0, 0.0]
    out = generator_loss_wasserstein(torch.tensor([[[1.0], [3.0]], [[-2.0], [0.0]]], dtype=torch.float64))
    assert out.tolist() == [-2.0, 1.0]


# -- against the written formula, values and gradients ------------------------------------------------
def formula_d(lr, lf):
    return -(torch.log(torch.sigmoid(lr)).mean(dim=(1, 2)) + torch.log(1 - torch.sigmoid(lf)).mean(dim=(1, 2)))


def formula_g_minimax(lf):
    return torch.log(1 - torch.sigmoid(lf)).mean(dim=(1, 2))


def formula_g_nonsaturating(lf):
    return -torch.log(torch.sigmoid(lf)).mean(dim=(1, 2))


@settings(max_examples=60)
@given(st.lists(st.floats(-8, 8), min_size=2, max_size=6), st.lists(st.floats(-8, 8), min_size=2, max_size=6))
def test_gan_losses_match_the_written_formulas_and_their_gradients(real_vals, fake_vals):
    """Values and autograd gradients equal those of −[E log σ(l_r) + E log(1 − σ(l_f))], E log(1 − σ(l_f))
    and −E log σ(l_f) written with sigmoid and log (|l| ≤ 8: no underflow in the naive form)."""
    for fn, ref, args in [
        (discriminator_loss_gan, formula_d, (real_vals, fake_vals)),
        (generator_loss_minimax, formula_g_minimax, (fake_vals,)),
        (generator_loss_nonsaturating, formula_g_nonsaturating, (fake_vals,)),
    ]:
        a = [logits(v, 2).requires_grad_(True) for v in args]
        b = [logits(v, 2).requires_grad_(True) for v in args]
        va, vb = fn(*a), ref(*b)
        assert torch.allclose(va, vb, rtol=1e-12, atol=1e-12)
        ga = torch.autograd.grad(va.sum(), a)
        gb = torch.autograd.grad(vb.sum(), b)
        for x, y in zip(ga, gb):
            assert torch.allclose(x, y, rtol=1e-12, atol=1e-14)


def test_nonsaturating_gradient_is_stronger_when_d_rejects_fakes():
    """d/dl of the two G losses: −σ(l) (minimax) and −(1 − σ(l)) (non-saturating), per row / B;
    at D(G(z)) = 0.01 the non-saturating one is 99 times larger — (1 − D)/D."""
    d = 0.01
    l = logits([math.log(d / (1 - d))]).requires_grad_(True)
    (g_mm,) = torch.autograd.grad(generator_loss_minimax(l).sum(), l)
    (g_ns,) = torch.autograd.grad(generator_loss_nonsaturating(l).sum(), l)
    assert g_mm.item() == pytest.approx(-d, rel=1e-12)
    assert g_ns.item() == pytest.approx(-(1 - d), rel=1e-12)
    assert (g_ns / g_mm).item() == pytest.approx((1 - d) / d, rel=1e-12)


def test_gan_losses_stay_finite_for_confident_logits():
    """The softplus forms stay finite (and exact) where log σ(l) would underflow: logit −800."""
    l = logits([-800.0])
    assert generator_loss_nonsaturating(l).item() == pytest.approx(800.0)
    assert discriminator_loss_gan(logits([800.0]), l).item() == pytest.approx(0.0, abs=1e-300)


# -- the gradient penalty ---------------------------------------------------------------------------------
def test_gradient_penalty_of_a_linear_critic():
    """For f(x) = w·x the gradient is w everywhere, so the penalty is (‖w‖ − 1)² = (5 − 1)² = 16."""
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2, 10, 2, generator=g, dtype=torch.float64), torch.randn(2, 10, 2, generator=g, dtype=torch.float64)
    gp = gradient_penalty(lambda x: x @ w[:, None], real, fake, torch.rand(2, 10, generator=g, dtype=torch.float64))
    assert torch.allclose(gp, torch.full((2,), 16.0, dtype=torch.float64), rtol=0, atol=1e-12)


def test_gradient_penalty_of_a_quadratic_critic_at_hand_interpolates():
    """f(x) = ½‖x‖² has ∇f(x̂) = x̂ with x̂ = α x + (1 − α) x̃. Real (3, 0), fake (0, 4): α = 1 →
    x̂ = (3, 0), (3 − 1)² = 4; α = 0 → x̂ = (0, 4), (4 − 1)² = 9; α = ½ → (1.5, 2), (2.5 − 1)² = 2.25.
    One member with these three rows: mean (4 + 9 + 2.25)/3."""
    real = torch.tensor([[[3.0, 0.0]] * 3], dtype=torch.float64)
    fake = torch.tensor([[[0.0, 4.0]] * 3], dtype=torch.float64)
    alpha = torch.tensor([[1.0, 0.0, 0.5]], dtype=torch.float64)
    gp = gradient_penalty(lambda x: 0.5 * (x * x).sum(-1, keepdim=True), real, fake, alpha)
    assert gp.item() == pytest.approx((4 + 9 + 2.25) / 3, abs=1e-14)


def test_gradient_penalty_norm_runs_over_all_sample_dimensions():
    """On images [N, B, C, H, W] the norm is over C·H·W: a linear critic with weights all 1/2 on a
    1×2×2 image has ‖∇‖ = √4 · ½ = 1, so the penalty is 0."""
    w = torch.full((1, 2, 2), 0.5, dtype=torch.float64)
    real = torch.randn(1, 3, 1, 2, 2, dtype=torch.float64)
    fake = torch.randn(1, 3, 1, 2, 2, dtype=torch.float64)
    critic = lambda x: (x * w).flatten(2).sum(-1, keepdim=True)  # noqa: E731
    gp = gradient_penalty(critic, real, fake, torch.rand(1, 3, dtype=torch.float64))
    assert gp.abs().max().item() < 1e-15


def test_loss_registry_pairs():
    assert set(LOSSES["gan"].generators) == {"minimax", "nonsaturating"}
    assert set(LOSSES["wasserstein"].generators) == {"wasserstein"}
