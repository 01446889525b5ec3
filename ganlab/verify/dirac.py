"""The Dirac-GAN claims of ``ganlab verify`` (Mescheder, Geiger & Nowozin 2018): the theory of
``ganlab.theory.dirac`` against autograd and numpy (exact), and gradient descent through ganlab's
own losses and regularisers (``ganlab.experiments.dirac``) against the convergence it predicts.

The exact claim writes each method's objective out here, independently of the theory module's
hand-derived fields: L(θ, ψ) for ψ (ascending) and the generator's loss for θ (descending), so that
v = (−∂_θ L_G, ∂_ψ L) by autograd; Jacobians by ``torch.func.jacfwd`` of the fields and of one
update; eigenvalues by ``numpy.linalg.eigvals``.

The trained claim's rows are functions of a ``DiracResult`` (``gan_rows``, ``rate_rows``,
``wgan_gp_rows``) so that tests can feed them planted trajectories
(tests/verify/test_dirac_planted.py). Their tolerances are fixed before the run, from the theory:

* the GAN under simultaneous GD: ‖x_{k+1}‖² = ‖x_k‖² + h²‖v(x_k)‖² exactly (v ⟂ x), so the distance
  never shrinks: r_T/r_0 ≥ 1 and the identity at every step, both to float64 rounding;
* the GAN under alternating GD: the update's eigenvalues have modulus 1 (Lemma 2.5), and the linear
  map A = VΛV⁻¹ keeps ‖Aᵏx‖ ≥ ‖x‖/κ (κ = cond V). Along the trajectory the slope f′(ψθ) varies in
  (0, 1]; the row takes the frozen-coefficient bound with the largest κ over that range (f′ = 1),
  min_k r_k/r_0 ≥ 1/κ — an allowance for the nonlinear field, not a proof;
* R1, R2 and instance noise: the measured rate ρ̂ = (r_T/r_{T−n})^{1/n} against the spectral radius
  ρ of the update's Jacobian (a complex pair of equal modulus ρ). For the linear map ρ̂ ∈
  [ρκ^{−1/n}, ρκ^{1/n}]; the nonlinear remainder ‖F(x) − Ax‖ ≤ η(R)‖x‖ within radius R widens this to
  [(ρ − κη)κ^{−1/n}, (ρ + κη)κ^{1/n}] (in the norm ‖V⁻¹·‖). The tolerance is that half-width with
  η at R = ``RATE_RADIUS`` (the window must start within it); the row's error is the same with η at
  the run's own window radius κ·r_{T−n}. The row also needs ρ < 1 and ρ̂ < 1: it claims convergence;
* WGAN-GP: E = θ² + ψ² changes by −2hγ|ψ|(|ψ| − g0) + h²‖v‖² per simultaneous step, ≥ 0 wherever
  |ψ| ≤ g0, so inside the disc of radius g0 the distance never falls, and a step from outside
  enters it by at most h‖v‖: min_k r_k ≥ g0 − h·max_{‖x‖ ≤ 2g0}‖v(x)‖ (for alternating GD the same
  allowance, each half-step moving the point by at most h‖v‖; not a proof). The distance to the
  equilibrium over the last n steps stays above it: no convergence to the point.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.integrate
import torch
import torch.nn.functional as F

from ..experiments.dirac import ARMS
from ..theory.dirac import (
    METHODS,
    SCHEDULES,
    DiracMethod,
    contraction_rate,
    eigenvector_condition,
    step,
    update_eigenvalues,
    update_jacobian,
)
from . import ClaimResult, at_least, equal, register_claim

ROUNDING = 1e-12
EPS = float(np.finfo(np.float64).eps)
RATE_RADIUS = 0.02  # the rate window must start this close to the equilibrium (η(R) ∝ R²: 1e-4 here)
ODE_TOLERANCE = 1e-8  # solve_ivp at rtol = atol = 1e-11 over t ≤ 60: its global error stays below this
GRID = np.linspace(-2.0, 2.0, 7)

# The methods as the exact claim checks them: the experiment's own arms and hyperparameters
THEORY_ARMS = ARMS


# -- the objectives written out ---------------------------------------------------------------------------
def _f(t):
    return -F.softplus(-t)  # f(t) = −log(1 + e^{−t})


_HERMITE = np.polynomial.hermite_e.hermegauss(80)
_Z = torch.from_numpy(_HERMITE[0])
_WZ = torch.from_numpy(_HERMITE[1] / math.sqrt(2 * math.pi))


def _gan(th, ps):
    return _f(ps * th) + _f(torch.zeros_like(ps))  # L = f(ψθ) + f(0)


def _penalised(m, th, ps):
    return _gan(th, ps), _gan(th, ps) - m.gamma / 2 * ps**2  # γ/2 E‖∇ₓ(ψx)‖² on either side (R1, R2)


def _noisy(m, th, ps):
    e = m.sigma * _Z  # E over real σε and fake θ + σε′ by 80-point Gauss–Hermite
    loss = (_WZ * _f(ps * (th + e))).sum() + (_WZ * _f(-ps * e)).sum()
    return loss, loss


def _consensus(m, th, ps):
    gan = _gan(th, ps)
    d_th, d_ps = torch.autograd.grad(gan, (th, ps), create_graph=True)
    reg = 0.5 * (d_th**2 + d_ps**2)  # ½‖v‖², v = (−∂_θ L, ∂_ψ L); both players descend γ·reg
    return gan + m.gamma * reg, gan - m.gamma * reg


# method → (L_G to descend in θ, L_D to ascend in ψ), written out from the paper's definitions.
OBJECTIVES = {
    "gan": lambda m, th, ps: (_gan(th, ps), _gan(th, ps)),
    "nonsaturating": lambda m, th, ps: (-_f(-ps * th), _gan(th, ps)),  # G maximises f(−D(G(z)))
    "wgan": lambda m, th, ps: (ps * th, ps * th),  # f(t) = t; the clipping acts after the update
    "wgan-gp": lambda m, th, ps: (ps * th, ps * th - m.gamma / 2 * (ps.abs() - m.g0) ** 2),
    "instance_noise": _noisy,
    "r1": _penalised,
    "r2": _penalised,
    "consensus": _consensus,
}


def autograd_field(m: DiracMethod, theta: float, psi: float) -> tuple[float, float]:
    """(−∂_θ L_G, ∂_ψ L_D) of the written-out objectives by autograd."""
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(psi, dtype=torch.float64, requires_grad=True)
    l_g, l_d = OBJECTIVES[m.name](m, th, ps)
    (g_th,) = torch.autograd.grad(l_g, th, retain_graph=True)
    (g_ps,) = torch.autograd.grad(l_d, ps)
    return -float(g_th), float(g_ps)


def _sorted(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.complex128)
    return v[np.lexsort((v.imag, v.real))]


def _jacfwd(fn) -> np.ndarray:
    return torch.func.jacfwd(lambda x: torch.stack(fn(x[0], x[1])))(torch.zeros(2, dtype=torch.float64)).numpy()


def field_rows() -> list[ClaimResult]:
    rows = []
    for name, m in THEORY_ARMS.items():
        gap = 0.0
        for t in GRID:
            for p in GRID:
                if name == "wgan-gp" and p == 0:
                    continue  # sign ψ jumps there
                want = autograd_field(m, float(t), float(p))
                got = [float(v) for v in m.field(torch.tensor(t), torch.tensor(p))]
                gap = max(gap, *(abs(a - b) for a, b in zip(want, got)))
        rows.append(equal(f"Dirac-GAN {name}: field v = (-dL_G/dtheta, dL_D/dpsi) = autograd of the written-out "
                          f"objective [7 x 7 grid on [-2, 2]^2, max |diff|]", 0.0, gap, 0.0, ROUNDING, "rounding"))
    return rows


def eigenvalue_rows() -> list[ClaimResult]:
    """Closed-form eigenvalues at the equilibrium against numpy's of jacfwd of the field, and of the
    update's Jacobian (closed form) against numpy's of jacfwd of one update (the theory's ``step``)."""
    rows, h = [], 0.2
    for name, m in THEORY_ARMS.items():
        if METHODS[name].eigenvalues is None:
            continue
        numeric = _sorted(np.linalg.eigvals(_jacfwd(m.field)))
        gap = float(np.abs(_sorted(m.eigenvalues()) - numeric).max())
        rows.append(equal(f"Dirac-GAN {name}: eigenvalues of dv at the equilibrium = {_fmt(m.eigenvalues())} "
                          f"(closed form) vs eigvals(jacfwd v)", 0.0, gap, 0.0, ROUNDING, "rounding"))
        for schedule in SCHEDULES:
            numeric = _sorted(np.linalg.eigvals(_jacfwd(lambda t, p: step(m, t, p, h, schedule))))
            closed = update_eigenvalues(m, h, schedule)
            gap = float(np.abs(_sorted(closed) - numeric).max())
            rows.append(equal(f"Dirac-GAN {name}, {schedule} GD (h = {h}): eigenvalues of the update's Jacobian = "
                              f"{_fmt(closed)} (closed form) vs eigvals(jacfwd of one step)", 0.0, gap, 0.0, ROUNDING,
                              "rounding"))
    return rows


def _fmt(values) -> str:
    return ", ".join(f"{complex(v).real:.4g}{complex(v).imag:+.4g}i" for v in _sorted(values))


def conservation_rows() -> list[ClaimResult]:
    """The continuous GAN flow keeps θ² + ψ² (Lemma 2.3): scipy's RK45 on the written-out field."""
    m = THEORY_ARMS["gan"]

    def rhs(t, x):
        return autograd_field(m, float(x[0]), float(x[1]))

    sol = scipy.integrate.solve_ivp(rhs, (0.0, 60.0), [1.0, 1.0], rtol=1e-11, atol=1e-11, dense_output=False)
    r2 = sol.y[0] ** 2 + sol.y[1] ** 2
    return [equal("Dirac-GAN gan, continuous flow: theta^2 + psi^2 conserved (max over t <= 60 of |r^2(t) - r^2(0)|, "
                  "RK45 at rtol 1e-11)", 0.0, float(np.abs(r2 - 2.0).max()), 0.0, ODE_TOLERANCE, "none")]


@register_claim("dirac_gan_theory")
def claim_dirac_theory(seed: int) -> list[ClaimResult]:
    """The Dirac-GAN's vector fields equal autograd of the written-out objectives for every method;
    the closed-form eigenvalues at the equilibrium (±i f′(0) for the GAN, −γ/2 ± √(γ²/4 − f′(0)²)
    for R1/R2, f″(0)σ² ± √(f″(0)²σ⁴ − f′(0)²) with instance noise, −γf′(0)² ± i f′(0) for consensus)
    and of the gradient-descent update's Jacobian equal numpy's of jacfwd; the continuous GAN flow
    conserves θ² + ψ²."""
    return field_rows() + eigenvalue_rows() + conservation_rows()


# -- gradient descent through ganlab's losses ----------------------------------------------------------------
def _where(r, arm: str, schedule: str) -> str:
    s = r.settings
    return f"{schedule} GD, h = {s.h}, {s.steps} steps from {s.start}"


def gan_rows(r) -> list[ClaimResult]:
    """The unregularised GAN does not converge: simultaneous GD's distance never shrinks (and the
    step identity holds to rounding, with v the paper's field); alternating GD's stays above
    r_0/κ."""
    s, m = r.settings, r.arms["gan"]
    rows = []
    x = r.trajectories["gan", "simultaneous"]
    d = r.distances("gan", "simultaneous")
    rows.append(at_least(f"Dirac-GAN gan: r_T / r_0 >= 1, the distance to the equilibrium does not shrink "
                         f"[{_where(r, 'gan', 'simultaneous')}]", 1.0, float(d[-1] / d[0]), 0.0, ROUNDING, "rounding"))
    v_th, v_ps = m.field(torch.from_numpy(x[:-1, 0]), torch.from_numpy(x[:-1, 1]))
    identity = d[1:] ** 2 - d[:-1] ** 2 - s.h**2 * (v_th.numpy() ** 2 + v_ps.numpy() ** 2)
    scale = float(max(1.0, d.max() ** 2))
    rows.append(equal(f"Dirac-GAN gan: r_(k+1)^2 = r_k^2 + h^2 |v(x_k)|^2 at every step (v the paper's field; "
                      f"max |diff| / max r^2) [{_where(r, 'gan', 'simultaneous')}]", 0.0,
                      float(np.abs(identity).max()) / scale, 0.0, ROUNDING, "rounding"))
    kappa = eigenvector_condition(DiracMethod("wgan"), s.h, "alternating")  # slope f′ = 1: the largest κ
    d = r.distances("gan", "alternating")
    rows.append(at_least(f"Dirac-GAN gan: min_k r_k / r_0 >= 1/kappa = {1 / kappa:.4g}, |eigenvalues| = 1: "
                         f"no convergence [{_where(r, 'gan', 'alternating')}]", 1 / kappa, float(d.min() / d[0]), 0.0,
                         0.0, "none"))
    return rows


def nonlinear_remainder(m: DiracMethod, h: float, schedule: str, radius: float) -> float:
    """η(R) = max ‖F(x) − Ax‖/‖x‖ over 64 directions and 8 radii up to R, F one update of the
    theory's field, A its Jacobian at the equilibrium."""
    a = update_jacobian(m, h, schedule)
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radii = radius * np.arange(1, 9) / 8
    pts = np.array([(rr * np.cos(t), rr * np.sin(t)) for rr in radii for t in angles])
    th, ps = step(m, torch.from_numpy(pts[:, 0]), torch.from_numpy(pts[:, 1]), h, schedule)
    rem = np.stack([th.numpy(), ps.numpy()], 1) - pts @ a.T
    return float((np.linalg.norm(rem, axis=1) / np.linalg.norm(pts, axis=1)).max())


def rate_half_width(rho: float, kappa: float, eta: float, n: int) -> float:
    """max |ρ̂ − ρ| for ρ̂ ∈ [(ρ − κη)κ^{−1/n}, (ρ + κη)κ^{1/n}]."""
    return max((rho + kappa * eta) * kappa ** (1 / n) - rho, rho - (rho - kappa * eta) * kappa ** (-1 / n))


def rate_rows(r, arm: str) -> list[ClaimResult]:
    """The measured contraction rate of arm ``arm`` (R1, R2, instance noise) against the spectral
    radius of the update's Jacobian, per schedule; both must be < 1 (the arm converges)."""
    s, m, rows = r.settings, r.arms[arm], []
    for schedule in SCHEDULES:
        rho, kappa = contraction_rate(m, s.h, schedule), eigenvector_condition(m, s.h, schedule)
        measured = r.measured_rate(arm, schedule)
        window_radius = kappa * float(r.distances(arm, schedule)[-1 - s.window])
        tol = rate_half_width(rho, kappa, nonlinear_remainder(m, s.h, schedule, RATE_RADIUS), s.window)
        err = rate_half_width(rho, kappa, nonlinear_remainder(m, s.h, schedule, max(window_radius, 1e-12)), s.window) \
            if window_radius <= 1.0 else math.inf
        row = equal(f"Dirac-GAN {arm} ({_params(m)}): converges at the rate (r_T / r_(T-n))^(1/n) = spectral radius "
                    f"of the update's Jacobian, n = {s.window} [{_where(r, arm, schedule)}]", rho, measured, err, tol,
                    "linearisation bound")
        rows.append(dataclasses.replace(row, passed=row.passed and rho < 1 and measured < 1))
    return rows


def _params(m: DiracMethod) -> str:
    return f"sigma = {m.sigma}" if m.name == "instance_noise" else f"gamma = {m.gamma}"


def wgan_gp_rows(r) -> list[ClaimResult]:
    """WGAN-GP does not converge to the point: over the last n steps the distance stays at least
    g0 − h·max_{‖x‖≤2g0}‖v‖ from it."""
    s, m, rows = r.settings, r.arms["wgan-gp"], []
    grid = np.linspace(-2 * m.g0, 2 * m.g0, 81)
    th, ps = (torch.from_numpy(a.ravel()) for a in np.meshgrid(grid, grid))
    inside = (th**2 + ps**2) <= (2 * m.g0) ** 2
    v_th, v_ps = m.field(th[inside], ps[inside])
    reach = s.h * float(torch.sqrt(v_th**2 + v_ps**2).max())
    for schedule in SCHEDULES:
        least = float(r.distances("wgan-gp", schedule)[-s.window:].min())
        rows.append(at_least(f"Dirac-GAN wgan-gp (gamma = {m.gamma}, g0 = {m.g0}): min over the last {s.window} steps "
                             f"of r_k >= g0 - h max|v| = {m.g0 - reach:.4g}: does not converge to the point "
                             f"[{_where(r, 'wgan-gp', schedule)}]", m.g0 - reach, least, 0.0, 0.0, "none"))
    return rows


def dirac_rows(r) -> list[ClaimResult]:
    return gan_rows(r) + [row for arm in ("r1", "r2", "instance_noise") for row in rate_rows(r, arm)] + wgan_gp_rows(r)


@register_claim("dirac_gan_convergence", kind="trained")
def claim_dirac_convergence(seed: int, budget: str) -> list[ClaimResult]:
    """Gradient descent on the Dirac-GAN through ganlab's losses and regularisers, simultaneous and
    alternating from the same start (Mescheder et al. 2018): the unregularised GAN does not converge;
    R1, R2 and instance noise converge at the rate the eigenvalues of the update's Jacobian predict;
    WGAN-GP does not converge to the equilibrium."""
    from ..experiments.dirac import dirac_experiment

    return dirac_rows(dirac_experiment(seed, budget))
