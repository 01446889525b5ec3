"""The Dirac-GAN claims of ``ganlab verify`` pass on the real runs and fail on planted wrong ones:
a GAN whose discriminator descends instead of ascending (it converges), R1 with γ = 0 or a
discriminator loss without its penalty's ½, instance noise on the fake samples only or with σ
below simultaneous GD's criterion σ² > h/2, a zero-centred WGAN-GP penalty (it converges), and
the closed-form eigenvalues off by a factor."""

import dataclasses

import numpy as np
import pytest
import torch

import ganlab.experiments.dirac as dirac
import ganlab.theory.dirac as theory
from ganlab.verify import format_table, run_claims
from ganlab.verify import dirac as rows

SHORT = dirac.SETTINGS["short"]


def failed(result):
    return [r for r in result if not r.passed]


@pytest.fixture(scope="module")
def real():
    return dirac.run_arms(SHORT, {n: dirac.ARMS[n] for n in dirac.VERIFIED})


def with_arm(result, name, trainer, method=None):
    """``result`` with arm ``name`` rerun by ``trainer`` (a ``DiracTrainer``), both schedules;
    ``method`` replaces the arm's method as the rows see it (its predictions)."""
    out = dataclasses.replace(result, arms=dict(result.arms), trajectories=dict(result.trajectories))
    for schedule in dirac.SCHEDULE_NAMES:
        out.trajectories[name, schedule] = trainer.run(SHORT.start, SHORT.h, SHORT.steps, schedule)
    if method is not None:
        out.arms[name] = method
    return out


def test_the_real_runs_pass(real):
    result = rows.dirac_rows(real)
    assert len(result) == 11 and not failed(result), format_table(failed(result))


def test_the_theory_claim_passes():
    result = run_claims(0, ["dirac_gan_theory"])
    assert len(result) >= 30 and not failed(result), format_table(failed(result))


class DescendingDiscriminator(dirac.DiracTrainer):
    """The slip: ψ descends −L_D's gradient the wrong way (the discriminator minimises V)."""

    def gradients(self, theta, psi):
        g_theta, g_psi = super().gradients(theta, psi)
        return g_theta, -g_psi


def test_a_gan_whose_discriminator_descends_fails(real):
    planted = with_arm(real, "gan", DescendingDiscriminator(dirac.ARMS["gan"]))
    result = rows.gan_rows(planted)
    assert not result[0].passed and not result[2].passed, format_table(result)  # it converges
    assert not result[1].passed  # and the step identity no longer holds


def test_r1_without_its_penalty_fails(real):
    """γ = 0 in the run (the penalty not applied) while the rows predict γ = 0.3."""
    planted = with_arm(real, "r1", dirac.DiracTrainer(dataclasses.replace(dirac.ARMS["r1"], gamma=0.0)))
    result = rows.rate_rows(planted, "r1")
    assert len(result) == 2 and not any(r.passed for r in result), format_table(result)


def test_a_penalty_weight_of_gamma_instead_of_gamma_over_2_fails(real, monkeypatch):
    penalty = dirac.PENALTIES["r2"]
    monkeypatch.setitem(dirac.PENALTIES, "r2", lambda critic, real, fake, gamma: penalty(critic, real, fake, 2 * gamma))
    result = rows.rate_rows(with_arm(real, "r2", dirac.DiracTrainer(dirac.ARMS["r2"])), "r2")
    assert not any(r.passed for r in result), format_table(result)


class FakeNoiseOnly(dirac.DiracTrainer):
    """The slip: instance noise added to the generated samples only (real samples exact at 0)."""

    def samples(self, theta):
        real, fake = super().samples(theta)
        return torch.zeros_like(real), fake


def test_instance_noise_on_one_side_fails(real):
    planted = with_arm(real, "instance_noise", FakeNoiseOnly(dirac.ARMS["instance_noise"], SHORT.noise))
    result = rows.rate_rows(planted, "instance_noise")
    assert not any(r.passed for r in result), format_table(result)


def test_instance_noise_below_the_criterion_fails(real):
    """σ² = 0.08 < h/2 = 0.1: simultaneous GD does not converge (predicted and measured ρ > 1), so
    the row claiming convergence fails even though the rate matches; alternating still converges."""
    method = theory.DiracMethod("instance_noise", sigma=0.08**0.5)
    planted = with_arm(real, "instance_noise", dirac.DiracTrainer(method, SHORT.noise), method)
    sim, alt = rows.rate_rows(planted, "instance_noise")
    assert sim.predicted > 1 and not sim.passed, format_table([sim])
    assert alt.predicted < 1


class ZeroCentredPenalty(dirac.DiracTrainer):
    """The slip: the WGAN-GP penalty's target norm 1 dropped, λ‖∇D‖² (an R1-like penalty)."""

    def gradients(self, theta, psi):
        g_theta, g_psi = super().gradients(theta, psi)
        m = self.method  # remove the (|ψ| − 1) sign ψ term, add the zero-centred one
        return g_theta, g_psi - m.gamma * (psi.abs() - 1) * torch.sign(psi) + m.gamma * psi


def test_a_zero_centred_wgan_gp_penalty_fails(real):
    planted = with_arm(real, "wgan-gp", ZeroCentredPenalty(dirac.ARMS["wgan-gp"]))
    result = rows.wgan_gp_rows(planted)
    assert not any(r.passed for r in result), format_table(result)


def test_eigenvalues_off_by_a_factor_fail(real, monkeypatch):
    """The R1/R2 closed form with −γ instead of −γ/2: the theory rows and the simultaneous rate row
    (whose prediction is 1 + hλ) fail."""
    slip = lambda m: theory._pm(-m.gamma, m.gamma**2 / 4 - theory.F_PRIME_0**2)  # noqa: E731
    monkeypatch.setitem(theory.METHODS, "r1", dataclasses.replace(theory.METHODS["r1"], eigenvalues=slip))
    sim, _ = rows.rate_rows(real, "r1")
    assert not sim.passed, format_table([sim])
    theory_rows = [r for r in rows.eigenvalue_rows() if "Dirac-GAN r1" in r.claim]
    assert sum(not r.passed for r in theory_rows) >= 2, format_table(theory_rows)


def test_a_field_with_a_wrong_sign_fails_the_theory_claim(monkeypatch):
    """The non-saturating field written with f′(ψθ) for the generator (the minimax one)."""
    slip = lambda m, th, ps: (-ps * theory.f_gan_prime(ps * th), th * theory.f_gan_prime(ps * th))  # noqa: E731
    monkeypatch.setitem(theory.METHODS, "nonsaturating", dataclasses.replace(theory.METHODS["nonsaturating"], field=slip))
    result = [r for r in rows.field_rows() if "nonsaturating" in r.claim]
    assert len(result) == 1 and not result[0].passed


def test_a_damped_gan_fails_the_conservation_row(monkeypatch):
    """The written-out GAN objective with a ψ² penalty (R1's): θ² + ψ² no longer conserved."""
    damped = lambda m, th, ps: rows.OBJECTIVES["r1"](theory.DiracMethod("r1", gamma=0.01), th, ps)  # noqa: E731
    monkeypatch.setitem(rows.OBJECTIVES, "gan", damped)
    (row,) = rows.conservation_rows()
    assert not row.passed and row.measured > 100 * row.tolerance


def test_the_rate_tolerance_is_tighter_than_the_slips(real):
    """The rate rows' tolerances (≈ 1e-3) are an order below the planted rate changes (≥ 5e-3)."""
    tolerances = [r.tolerance for arm in ("r1", "r2", "instance_noise") for r in rows.rate_rows(real, arm)]
    assert max(tolerances) < 2e-3
    m = dirac.ARMS["r1"]
    assert abs(theory.contraction_rate(m, SHORT.h, "simultaneous")
               - theory.contraction_rate(dataclasses.replace(m, gamma=m.gamma * 2), SHORT.h, "simultaneous")) > 5e-3
    assert np.isfinite(tolerances).all()


def test_the_linearisation_bound_pieces():
    """No remainder for a linear field (WGAN inside its clip); the cubic remainder of the GAN's
    field shrinks as R² (halving R quarters it); the half-width is 0 for κ = 1 and η = 0 and
    ρ(κ^{1/n} − 1) for η = 0."""
    assert rows.nonlinear_remainder(theory.DiracMethod("wgan", clip=10.0), 0.2, "simultaneous", 1.0) < 1e-15
    m = theory.DiracMethod("r1", gamma=0.3)
    big, small = (rows.nonlinear_remainder(m, 0.2, "alternating", r) for r in (0.02, 0.01))
    assert 0 < small and big / small == pytest.approx(4.0, rel=0.05)
    assert rows.rate_half_width(0.9, 1.0, 0.0, 10) == 0.0
    assert rows.rate_half_width(0.9, 2.0, 0.0, 10) == pytest.approx(0.9 * (2 ** 0.1 - 1))
