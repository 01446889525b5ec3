"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually
converge?", §2.2 Definition 2.1): p_data = δ₀, a generator G = δ_θ and a linear discriminator
D_ψ(x) = ψ·x. The training objective (their eq. 1 specialised to the Dirac-GAN) is

    L(θ, ψ) = f(D_ψ(θ)) + f(−D_ψ(0)) = f(ψθ) + f(0),   f(t) = −log(1 + e^{−t}) for the GAN,

θ descending and ψ ascending it: the gradient vector field is v(θ, ψ) = (−∂_θ L, ∂_ψ L) =
(−ψ f′(ψθ), θ f′(ψθ)) (§2.1 and §2.2). Note the paper's sign convention: its D scores fakes high
(f(D(G(z))) + f(−D(x))), so ganlab's logit, which scores real data high, is −ψx.

Each training method is a field of (θ, ψ) (``METHODS``, one entry per method) with, where the field
is differentiable at the equilibrium (0, 0), its Jacobian there and that Jacobian's eigenvalues in
closed form (f′(0) = ½, f″(0) = −¼ for the GAN's f):

* ``gan``: ±i·f′(0) (Lemma 2.2): purely imaginary, so the continuous flow circles the equilibrium
  (θ² + ψ² is conserved exactly along it, Lemma 2.3); simultaneous gradient descent spirals out
  (‖x_{k+1}‖² = ‖x_k‖² + h²‖v(x_k)‖², Lemma 2.4); alternating gradient descent has eigenvalues of
  modulus 1 for h·f′(0) ≤ 2 (Lemma 2.5): neither converges.
* ``nonsaturating``: the generator descends −f(−ψθ): v = (−ψ f′(−ψθ), θ f′(ψθ)); the same
  Jacobian at the equilibrium as the GAN.
* ``wgan``: f(t) = t with ψ clipped to [−c, c] after every update (§3): ±i, not convergent.
* ``wgan-gp``: R(ψ) = γ/2 (|ψ| − g0)² (the norm of ∇ₓD is |ψ| everywhere), v = (−ψ, θ − γ(|ψ| −
  g0) sign ψ) (§3): discontinuous at ψ = 0, no Jacobian. In continuous time E = θ² + ψ² obeys
  dE/dt = −2γ|ψ|(|ψ| − g0) ≥ 0 wherever |ψ| ≤ g0, so a trajectory never enters the disc of radius
  g0 around the equilibrium: it does not converge to the point.
* ``instance_noise``: real and fake samples with N(0, σ²) noise (§3):
  λ = f″(0)σ² ± √(f″(0)²σ⁴ − f′(0)²) (negative real part for every σ > 0).
* ``r1`` and ``r2``: the zero-centred gradient penalties γ/2 E‖∇ₓD_ψ‖² on real (R1) or generated
  (R2) samples, both γ/2 ψ² here (§3; their eqs. 9–10 in §4): λ = −γ/2 ± √(γ²/4 − f′(0)²).
* ``consensus``: consensus optimisation (Mescheder et al. 2017), v − γ ∇(½‖v‖²) (§3): Jacobian
  J − γ JᵀJ, λ = −γ f′(0)² ± i f′(0).

Gradient descent with step h is the map F_h (§2.1): simultaneous x + h v(x), Jacobian I + hJ at the
equilibrium; alternating (θ first, then ψ at the new θ) the product (I + h P_ψ J)(I + h P_θ J) of the
two half-steps' Jacobians (P_θ, P_ψ keep one row). The iterates converge locally iff the spectral
radius of that Jacobian is < 1, at that rate (``update_eigenvalues``, closed forms).

(Sections, lemmas and equations are numbered as in the arXiv version, 1801.04406. The fields agree
with the authors' Dirac-GAN notebook code, LMescheder/GAN_stability ``notebooks/diracgan/gans.py``.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import check_choice, check_nonnegative, check_positive

F_PRIME_0 = 0.5  # f′(0) of f(t) = −log(1 + e^{−t}): σ(−0)
F_SECOND_0 = -0.25  # f″(0) = −σ(0)σ(−0)

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
_Z = torch.from_numpy(_NODES)
_W = torch.from_numpy(_WEIGHTS / math.sqrt(2 * math.pi))  # E g(Z) = Σ w_i g(z_i), Z ~ N(0, 1)


def f_gan(t: torch.Tensor) -> torch.Tensor:
    """f(t) = −log(1 + e^{−t}) = −softplus(−t)."""
    return -F.softplus(-t)


def f_gan_prime(t: torch.Tensor) -> torch.Tensor:
    """f′(t) = σ(−t)."""
    return torch.sigmoid(-t)


@dataclass(frozen=True)
class DiracMethod:
    """A training method on the Dirac-GAN with its hyperparameters: ``gamma`` the regulariser's
    weight (R1, R2, WGAN-GP, consensus), ``sigma`` the instance noise's standard deviation, ``g0``
    WGAN-GP's target norm, ``clip`` WGAN's clipping bound c."""

    name: str
    gamma: float = 0.0
    sigma: float = 0.0
    g0: float = 1.0
    clip: float = 1.0

    def __post_init__(self):
        check_choice("Dirac-GAN method", self.name, METHODS)
        check_nonnegative("gamma", self.gamma)
        check_nonnegative("sigma", self.sigma)
        check_positive("g0", self.g0)
        check_positive("clip", self.clip)
        if self.name == "instance_noise" and self.sigma == 0:
            raise ValueError("instance_noise needs sigma > 0, got sigma=0 (that is the plain GAN)")
        for name in PARAMETERS:  # a parameter the method does not read would be silently ignored
            if name not in METHODS[self.name].params and getattr(self, name) != PARAMETERS[name]:
                raise ValueError(f"the {self.name} method does not use {name}, got {name}={getattr(self, name)!r}")

    @property
    def spec(self) -> "Spec":
        return METHODS[self.name]

    def field(self, theta: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """v(θ, ψ) = (θ̇, ψ̇), elementwise over tensors of any (equal) shape."""
        theta, psi = torch.as_tensor(theta, dtype=torch.float64), torch.as_tensor(psi, dtype=torch.float64)
        return self.spec.field(self, theta, psi)

    def project(self, theta: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What follows every update (WGAN's clipping of ψ to [−c, c]; the identity otherwise)."""
        return (theta, psi.clamp(-self.clip, self.clip)) if self.name == "wgan" else (theta, psi)

    def jacobian(self) -> np.ndarray:
        """∂v/∂(θ, ψ) at the equilibrium (0, 0) in closed form (2 × 2); raises where the field is
        not differentiable there (WGAN-GP)."""
        if self.spec.jacobian is None:
            raise ValueError(f"the {self.name} field is not differentiable at the equilibrium: no Jacobian")
        return np.asarray(self.spec.jacobian(self), dtype=np.float64)

    def eigenvalues(self) -> np.ndarray:
        """The Jacobian's eigenvalues in closed form (complex [2])."""
        if self.spec.eigenvalues is None:
            raise ValueError(f"the {self.name} field is not differentiable at the equilibrium: no eigenvalues")
        return np.asarray(self.spec.eigenvalues(self), dtype=np.complex128)


def _pm(centre: float, disc: float) -> np.ndarray:
    """centre ± √disc as two complex numbers (disc < 0: a complex pair)."""
    root = np.sqrt(complex(disc))
    return np.array([centre + root, centre - root])


def _gan_field(m, th, ps):
    return -ps * f_gan_prime(ps * th), th * f_gan_prime(ps * th)


def _nonsaturating_field(m, th, ps):
    return -ps * f_gan_prime(-ps * th), th * f_gan_prime(ps * th)


def _wgan_field(m, th, ps):
    return -ps, th


def _wgan_gp_field(m, th, ps):
    return -ps, th - m.gamma * (ps.abs() - m.g0) * torch.sign(ps)


def _penalty_field(m, th, ps):
    v_th, v_ps = _gan_field(m, th, ps)
    return v_th, v_ps - m.gamma * ps


def _expect(g: Callable[[torch.Tensor], torch.Tensor], shape: torch.Size) -> torch.Tensor:
    """E g(Z), Z ~ N(0, 1), by 80-point Gauss–Hermite, for g of tensors [80, *shape]."""
    w = _W.reshape((-1,) + (1,) * len(shape))
    return (w * g(_Z.reshape((-1,) + (1,) * len(shape)))).sum(0)


def _instance_noise_field(m, th, ps):
    """E over x = σε (real) and θ + σε′ (fake): v = (−ψ E f′(ψ(θ + σε)), E[(θ + σε) f′(ψ(θ + σε))]
    − E[σε f′(−ψσε)]) (the authors' GAN_stability notebook writes the same expectation by Monte
    Carlo)."""
    th, ps = torch.broadcast_tensors(th, ps)
    s = m.sigma
    v_th = _expect(lambda z: -ps * f_gan_prime(ps * (th + s * z)), th.shape)
    v_ps = _expect(lambda z: (th + s * z) * f_gan_prime(ps * (th + s * z)) - s * z * f_gan_prime(-ps * s * z), th.shape)
    return v_th, v_ps


def _consensus_field(m, th, ps):
    """v − γ∇(½‖v‖²) with ‖v‖² = (θ² + ψ²) f′(ψθ)² for the GAN; ∇ written out with f″(t) =
    −σ(t)σ(−t)."""
    fp = f_gan_prime(ps * th)
    fpp = -torch.sigmoid(ps * th) * fp
    r2 = th * th + ps * ps
    g_th = th * fp**2 + r2 * fp * fpp * ps
    g_ps = ps * fp**2 + r2 * fp * fpp * th
    v_th, v_ps = _gan_field(m, th, ps)
    return v_th - m.gamma * g_th, v_ps - m.gamma * g_ps


def _rotation(a: float) -> np.ndarray:
    return np.array([[0.0, -a], [a, 0.0]])


@dataclass(frozen=True)
class Spec:
    """One method: its field, and (where it exists) the closed-form Jacobian and eigenvalues at the
    equilibrium."""

    field: Callable[[DiracMethod, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    jacobian: Callable[[DiracMethod], np.ndarray] | None
    eigenvalues: Callable[[DiracMethod], np.ndarray] | None
    params: tuple[str, ...] = ()  # the ``DiracMethod`` parameters it reads


PARAMETERS = {"gamma": 0.0, "sigma": 0.0, "g0": 1.0, "clip": 1.0}  # their defaults


A = F_PRIME_0
METHODS: dict[str, Spec] = {
    "gan": Spec(_gan_field, lambda m: _rotation(A), lambda m: np.array([1j * A, -1j * A])),
    "nonsaturating": Spec(_nonsaturating_field, lambda m: _rotation(A), lambda m: np.array([1j * A, -1j * A])),
    "wgan": Spec(_wgan_field, lambda m: _rotation(1.0), lambda m: np.array([1j, -1j]), ("clip",)),
    "wgan-gp": Spec(_wgan_gp_field, None, None, ("gamma", "g0")),
    "instance_noise": Spec(
        _instance_noise_field,
        lambda m: np.array([[0.0, -A], [A, 2 * F_SECOND_0 * m.sigma**2]]),
        lambda m: _pm(F_SECOND_0 * m.sigma**2, F_SECOND_0**2 * m.sigma**4 - A**2),
        ("sigma",),
    ),
    "r1": Spec(_penalty_field, lambda m: np.array([[0.0, -A], [A, -m.gamma]]),
               lambda m: _pm(-m.gamma / 2, m.gamma**2 / 4 - A**2), ("gamma",)),
    "r2": Spec(_penalty_field, lambda m: np.array([[0.0, -A], [A, -m.gamma]]),
               lambda m: _pm(-m.gamma / 2, m.gamma**2 / 4 - A**2), ("gamma",)),
    "consensus": Spec(_consensus_field, lambda m: _rotation(A) - m.gamma * A**2 * np.eye(2),
                      lambda m: np.array([-m.gamma * A**2 + 1j * A, -m.gamma * A**2 - 1j * A]), ("gamma",)),
}


# -- gradient descent with step h: the update map's Jacobian at the equilibrium ------------------------
def _simultaneous_matrix(j: np.ndarray, h: float) -> np.ndarray:
    return np.eye(2) + h * j


def _alternating_matrix(j: np.ndarray, h: float) -> np.ndarray:
    theta_half = np.eye(2) + h * np.array([j[0], [0.0, 0.0]])  # θ ← θ + h v_θ(θ, ψ)
    psi_half = np.eye(2) + h * np.array([[0.0, 0.0], j[1]])  # ψ ← ψ + h v_ψ(θ_new, ψ)
    return psi_half @ theta_half


def _simultaneous_eigenvalues(j: np.ndarray, lam: np.ndarray, h: float) -> np.ndarray:
    return 1 + h * lam


def _alternating_eigenvalues(j: np.ndarray, lam: np.ndarray, h: float) -> np.ndarray:
    """Of (I + h P_ψ J)(I + h P_θ J) = [[1 + hJ₁₁, hJ₁₂], [hJ₂₁(1 + hJ₁₁), 1 + hJ₂₂ + h²J₂₁J₁₂]]:
    determinant (1 + hJ₁₁)(1 + hJ₂₂), eigenvalues tr/2 ± √(tr²/4 − det). For the GAN (J₁₁ = J₂₂ = 0,
    J₂₁ = −J₁₂ = f′(0)) this is Lemma 2.5's 1 − α²/2 ± √((1 − α²/2)² − 1), α = h f′(0)."""
    (a, b), (c, d) = j
    trace = (1 + h * a) + (1 + h * d) + h * h * c * b
    det = (1 + h * a) * (1 + h * d)
    return _pm(trace / 2, trace**2 / 4 - det)


def _simultaneous_step(m, theta, psi, h):
    v_th, v_ps = m.field(theta, psi)
    return m.project(theta + h * v_th, psi + h * v_ps)


def _alternating_step(m, theta, psi, h):
    theta, psi = m.project(theta + h * m.field(theta, psi)[0], psi)
    return m.project(theta, psi + h * m.field(theta, psi)[1])


@dataclass(frozen=True)
class Schedule:
    """A gradient-descent schedule: its update's Jacobian at the equilibrium (of the field's
    Jacobian J and h), that Jacobian's eigenvalues in closed form (of J, J's eigenvalues λ and h),
    and one update of a method's field."""

    matrix: Callable[[np.ndarray, float], np.ndarray]
    eigenvalues: Callable[[np.ndarray, np.ndarray, float], np.ndarray]
    step: Callable[[DiracMethod, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]


SCHEDULES: dict[str, Schedule] = {
    "simultaneous": Schedule(_simultaneous_matrix, _simultaneous_eigenvalues, _simultaneous_step),
    "alternating": Schedule(_alternating_matrix, _alternating_eigenvalues, _alternating_step),
}


def update_jacobian(method: DiracMethod, h: float, schedule: str) -> np.ndarray:
    """The Jacobian of one gradient-descent update with step h at the equilibrium: I + hJ
    (simultaneous), (I + h P_ψ J)(I + h P_θ J) (alternating, θ first)."""
    h = check_positive("step size h", h)
    return SCHEDULES[check_choice("schedule", schedule, SCHEDULES)].matrix(method.jacobian(), h)


def update_eigenvalues(method: DiracMethod, h: float, schedule: str) -> np.ndarray:
    """That Jacobian's eigenvalues in closed form: 1 + hλ (simultaneous), tr/2 ± √(tr²/4 − det)
    (alternating)."""
    h = check_positive("step size h", h)
    fn = SCHEDULES[check_choice("schedule", schedule, SCHEDULES)].eigenvalues
    return fn(method.jacobian(), method.eigenvalues(), h)


def contraction_rate(method: DiracMethod, h: float, schedule: str) -> float:
    """The spectral radius of the update's Jacobian: the per-step factor by which the distance to
    the equilibrium shrinks near it (< 1: locally convergent; > 1 diverges; = 1 neither)."""
    return float(np.abs(update_eigenvalues(method, h, schedule)).max())


def eigenvector_condition(method: DiracMethod, h: float, schedule: str) -> float:
    """κ = ‖V‖‖V⁻¹‖ for the update Jacobian A = VΛV⁻¹ (numpy's unit eigenvectors). For a
    complex-conjugate pair (|λ₁| = |λ₂| = ρ), ρⁿ‖x‖/κ ≤ ‖Aⁿx‖ ≤ κρⁿ‖x‖: the measured rate
    (‖x_{k+n}‖/‖x_k‖)^{1/n} of the linearised map is within a factor κ^{1/n} of ρ."""
    _, vectors = np.linalg.eig(update_jacobian(method, h, schedule))
    return float(np.linalg.cond(vectors))


def step(method: DiracMethod, theta: torch.Tensor, psi: torch.Tensor, h: float,
         schedule: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One gradient-descent update of the field with step h (alternating: θ first, then ψ at the
    new θ), each followed by ``project``."""
    h = check_positive("step size h", h)
    return SCHEDULES[check_choice("schedule", schedule, SCHEDULES)].step(method, theta, psi, h)
