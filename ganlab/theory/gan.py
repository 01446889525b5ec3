"""The theory of Goodfellow et al. (2014), "Generative Adversarial Nets", as computable functions.

V(D, G) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 − D(x))]

* Proposition 1: for fixed G the optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)),
  because y ↦ a log y + b log(1 − y) peaks at y = a / (a + b).
* Theorem 1: the virtual training criterion C(G) = max_D V(D, G) = V(D*, G) equals
  −log 4 + 2·JSD(p_data ‖ p_g), so C(G) ≥ −log 4 with equality iff p_g = p_data.

``virtual_criterion`` evaluates V(D*, G) directly from the densities, never through a JSD, so
that Theorem 1 is something ``ganlab.verify`` can check rather than assume. Also here: the
gradients behind the non-saturating generator loss, and the Gaussian maximum-likelihood fit
that minimises KL(p_data ‖ N(μ, Σ)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.special import expit

from .divergences import (
    Estimate,
    MixtureLogDensity,
    mean_and_standard_error,
    check_density_target,
    check_pair,
    integrate_over_modes,
    resolve_method,
)
from .targets import GaussianMixture
from ..rng import torch_generator
from ..validation import check_cloud, check_int

LOG4 = math.log(4.0)
# A discriminator: float64 points [n, d] → probabilities D(x) [n]; it may also carry ``logit``,
# points → l with D = σ(l), which ``value_function`` then prefers (see ``discriminator_logs``).
Discriminator = Callable[[torch.Tensor], torch.Tensor]


# -- Proposition 1: the optimal discriminator -------------------------------------------------
def _nonnegative_array(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return arr


def pointwise_objective(y: Any, a: Any, b: Any) -> np.ndarray | float:
    """a·log y + b·log(1 − y) for y in (0, 1): the integrand of V(D, G) at one x, with
    a = p_data(x), b = p_g(x), y = D(x)."""
    y = np.asarray(y, dtype=np.float64)
    if np.any((y <= 0) | (y >= 1)):
        raise ValueError(f"y must lie in (0, 1), got {y.tolist()}")
    out = _nonnegative_array("a", a) * np.log(y) + _nonnegative_array("b", b) * np.log1p(-y)
    return float(out) if out.ndim == 0 else out


def pointwise_maximiser(a: Any, b: Any) -> np.ndarray | float:
    """argmax_{y in [0,1]} a·log y + b·log(1 − y) = a / (a + b) for a, b ≥ 0, a + b > 0.

    Setting the derivative a/y − b/(1 − y) to zero gives y = a/(a + b); the objective is concave.
    """
    a, b = _nonnegative_array("a", a), _nonnegative_array("b", b)
    if np.any(a + b == 0):
        raise ValueError(
            f"a + b must be > 0 (the maximiser is undefined at a = b = 0), got a={a.tolist()}, b={b.tolist()}"
        )
    out = a / (a + b)
    return float(out) if out.ndim == 0 else out


def check_label(real_label: int) -> int:
    if real_label not in (0, 1) or isinstance(real_label, bool):
        raise ValueError(f"real_label must be 1 (D = P(real)) or 0 (D = P(fake)), got {real_label!r}")
    return int(real_label)


def optimal_discriminator(p_data: Any, p_g: Any, x: Any, *, real_label: int = 1) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) = σ(log p_data(x) − log p_g(x)), float64 [n].

    Computed from log-densities through the sigmoid, so it stays exact where both densities
    underflow. ``real_label=0`` gives the convention (e.g. UCSB's lecture notes) where the
    discriminator outputs the probability of "fake": p_g / (p_data + p_g) = 1 − D*.
    """
    real_label = check_label(real_label)
    kind, p_data, p_g = check_pair(p_data, p_g)
    if kind != "target":
        raise ValueError(
            "optimal_discriminator needs targets with densities; for probability vectors use pointwise_maximiser"
        )
    pts = check_cloud("x", x, dim=p_data.dim).to(torch.float64)
    logit = p_data.log_prob(pts) - p_g.log_prob(pts)
    return torch.sigmoid(logit if real_label == 1 else -logit)


class OptimalDiscriminator:
    """D* on [n, d] points: ``D(x)`` = σ(l(x)) with the logit l = log p_data − log p_g (or its
    negative for ``real_label=0``) from ``logit(x)``.

    The logit is what ``value_function`` uses when a discriminator has one: log D = −softplus(−l)
    and log(1 − D) = −softplus(l) stay finite where σ(l) rounds to 1 (l > 37) or to 0, i.e. where
    one density is tiny but non-zero.
    """

    def __init__(self, p_data: Any, p_g: Any, real_label: int) -> None:
        self.log_p, self.log_q = MixtureLogDensity(p_data), MixtureLogDensity(p_g)
        self.dim = p_data.dim
        self.sign = 1.0 if real_label == 1 else -1.0

    def logit(self, x: Any) -> torch.Tensor:
        """±(log p_data(x) − log p_g(x)), float64 [n]."""
        pts = check_cloud("x", x, dim=self.dim).to(torch.float64).numpy()
        return torch.from_numpy(self.sign * (self.log_p(pts) - self.log_q(pts)))

    def __call__(self, x: Any) -> torch.Tensor:
        return torch.sigmoid(self.logit(x))


def make_optimal_discriminator(p_data: Any, p_g: Any, *, real_label: int = 1) -> OptimalDiscriminator:
    """D* as a reusable callable on [n, d] points: the same σ(log p_data − log p_g) as
    ``optimal_discriminator``, with both log-densities precomputed in numpy
    (``MixtureLogDensity``), cheap enough to call inside quadrature. It carries its logit
    (``.logit(x)``), so ``value_function`` stays finite where D* rounds to 0 or 1."""
    real_label = check_label(real_label)
    kind, p_data, p_g = check_pair(p_data, p_g)
    if kind != "target":
        raise ValueError("make_optimal_discriminator needs targets with densities")
    return OptimalDiscriminator(p_data, p_g, real_label)


def _log_optimal_discriminator(lp: np.ndarray, lq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log D*, log(1 − D*)) = (lp − log(p + q), lq − log(p + q)), stable in log space."""
    lse = np.logaddexp(lp, lq)
    return lp - lse, lq - lse


def _weighted_log(log_weight: np.ndarray, log_value: np.ndarray) -> np.ndarray:
    """e^{log_weight}·log_value with the convention 0·log 0 = 0."""
    w = np.exp(log_weight)
    with np.errstate(invalid="ignore"):
        out = w * log_value
    return np.where(w == 0, 0.0, out)


# -- V(D, G) ----------------------------------------------------------------------------------
def value_function_discrete(d: Any, p_data: Any, p_g: Any) -> float:
    """V(D, G) = Σ_i p_data,i log d_i + p_g,i log(1 − d_i) for a discriminator d on K outcomes."""
    _, p, q = check_pair(p_data, p_g)
    d = np.asarray(d, dtype=np.float64)
    if d.shape != p.shape or np.any(~np.isfinite(d)) or np.any((d < 0) | (d > 1)):
        raise ValueError(f"d must be {p.size} probabilities in [0, 1], got {d.tolist()}")
    with np.errstate(divide="ignore", invalid="ignore"):  # 0·log 0 is masked to 0 below
        log_d, log_1md = np.log(d), np.log1p(-d)
        return float(np.sum(np.where(p > 0, p * log_d, 0.0)) + np.sum(np.where(q > 0, q * log_1md, 0.0)))


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + e^x), exact for large |x| (torch's threshold form would round at x > 20)."""
    return torch.logaddexp(torch.zeros_like(x), x)


def discriminator_logs(D: Discriminator, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log D(x), log(1 − D(x))), each float64 [n].

    A discriminator with a ``logit`` attribute (a callable giving l with D = σ(l), such as the
    D* of ``make_optimal_discriminator``) is read through it: log D = −softplus(−l),
    log(1 − D) = −softplus(l), finite for every finite l. Otherwise D(x) must be probabilities in
    [0, 1] and the logs are log D and log1p(−D): −inf where D is exactly 0 or 1.
    """
    n = x.shape[0]
    logit = getattr(D, "logit", None)
    if callable(logit):
        l = torch.as_tensor(logit(x), dtype=torch.float64).reshape(-1)
        if l.shape[0] != n or torch.isnan(l).any():
            raise ValueError(f"D.logit must return {n} logits (no NaN), got {l[:5].tolist()}...")
        return -_softplus(-l), -_softplus(l)
    d = torch.as_tensor(D(x), dtype=torch.float64).reshape(-1)
    if d.shape[0] != n or torch.isnan(d).any() or (d < 0).any() or (d > 1).any():
        raise ValueError(f"D must return {n} probabilities in [0, 1], got {d[:5].tolist()}...")
    return torch.log(d), torch.log1p(-d)


def value_function(
    D: Discriminator, p_data: Any, p_g: Any, *, method: str = "auto", n: int = 50_000, seed: int = 0
) -> Estimate:
    """V(D, G) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 − D(x))].

    ``D`` maps float64 points [n, d] to probabilities [n]; if it has a ``logit`` attribute the
    logs are taken from the logit (``discriminator_logs``), which keeps V finite with the exact D*
    where it rounds to 1 but p_g > 0. A D that really is 1 where p_g > 0 (or 0 where
    p_data > 0) gives V = −inf. Quadrature (dim ≤ 2) integrates p_data·log D + p_g·log(1 − D)
    with 0·log 0 = 0; Monte Carlo averages over n samples of each, with standard error
    √(se_data² + se_g²).
    """
    if not callable(D):
        raise ValueError(f"D must be a callable on [n, d] tensors returning probabilities, got {D!r}")
    kind, p_data, p_g = check_pair(p_data, p_g)
    if kind != "target":
        raise ValueError("value_function needs targets; for probability vectors use value_function_discrete")
    method, n = resolve_method(method, p_data.dim), check_int("n", n, minimum=2)

    if method == "quadrature":

        def integrand(x: np.ndarray, logs: list[np.ndarray]) -> np.ndarray:
            ld, l1md = (v.numpy() for v in discriminator_logs(D, torch.from_numpy(x)))
            return _weighted_log(logs[0], ld) + _weighted_log(logs[1], l1md)

        return integrate_over_modes(integrand, [p_data, p_g])
    g = torch_generator(seed)
    x, y = p_data.sample(n, g, dtype=torch.float64), p_g.sample(n, g, dtype=torch.float64)
    m1, s1 = _mean_and_error(discriminator_logs(D, x)[0])
    m2, s2 = _mean_and_error(discriminator_logs(D, y)[1])
    return Estimate(m1 + m2, math.hypot(s1, s2), "monte_carlo")


def _mean_and_error(values: torch.Tensor) -> tuple[float, float]:
    """Mean and standard error; a mean of −inf (log D = −inf at a sample) is exact, error 0."""
    if torch.isneginf(values).any():
        return -math.inf, 0.0
    return mean_and_standard_error(values)


# -- Theorem 1: the virtual training criterion ------------------------------------------------
def virtual_criterion_discrete(p_data: Any, p_g: Any) -> float:
    """C(G) = V(D*, G) = Σ_i p_i log(p_i/(p_i + q_i)) + q_i log(q_i/(p_i + q_i)), 0·log 0 = 0."""
    _, p, q = check_pair(p_data, p_g)
    s = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / s), 0.0)
        b = np.where(q > 0, q * np.log(q / s), 0.0)
    return float(np.sum(a) + np.sum(b))


def criterion_from_jsd(jsd: float) -> float:
    """Theorem 1: C(G) = −log 4 + 2·JSD(p_data ‖ p_g), in [−log 4, 0] as 0 ≤ JSD ≤ log 2; its
    minimum −log 4 is reached only at p_g = p_data. The prediction that ``ganlab verify`` checks
    against ``virtual_criterion``, which computes C(G) directly from D*."""
    if isinstance(jsd, bool) or not isinstance(jsd, (int, float, np.floating)) or not math.isfinite(jsd):
        raise ValueError(f"jsd must be a finite number, got {jsd!r}")
    return -LOG4 + 2.0 * float(jsd)


def virtual_criterion(p_data: Any, p_g: Any, *, method: str = "auto", n: int = 50_000, seed: int = 0) -> Estimate:
    """C(G) = max_D V(D, G) = V(D*, G)
           = E_{p_data}[log(p_data/(p_data + p_g))] + E_{p_g}[log(p_g/(p_data + p_g))].

    Evaluated directly (never via JSD): exactly for probability vectors, by quadrature (dim ≤ 2)
    of p log D* + q log(1 − D*) with log D* = log p − logaddexp(log p, log q), or by Monte Carlo.
    Theorem 1 predicts C(G) = −log 4 + 2·JSD(p_data ‖ p_g) ≥ −log 4.
    """
    kind, p, q = check_pair(p_data, p_g)
    if kind == "discrete":
        return Estimate(virtual_criterion_discrete(p, q), 0.0, "exact")
    method, n = resolve_method(method, p.dim), check_int("n", n, minimum=2)
    if method == "quadrature":

        def integrand(x: np.ndarray, logs: list[np.ndarray]) -> np.ndarray:
            log_d, log_1md = _log_optimal_discriminator(logs[0], logs[1])
            return _weighted_log(logs[0], log_d) + _weighted_log(logs[1], log_1md)

        return integrate_over_modes(integrand, [p, q])
    g = torch_generator(seed)
    x, y = p.sample(n, g, dtype=torch.float64), q.sample(n, g, dtype=torch.float64)
    lpx, lqx, lpy, lqy = p.log_prob(x), q.log_prob(x), p.log_prob(y), q.log_prob(y)
    m1, s1 = mean_and_standard_error(lpx - torch.logaddexp(lpx, lqx))
    m2, s2 = mean_and_standard_error(lqy - torch.logaddexp(lpy, lqy))
    return Estimate(m1 + m2, math.hypot(s1, s2), "monte_carlo")


# -- non-saturating generator loss ------------------------------------------------------------
def minimax_generator_gradient(logit: Any) -> np.ndarray | float:
    """d/dl log(1 − σ(l)) = −σ(l): the minimax generator loss's slope in D's logit l.

    It vanishes as D(G(z)) = σ(l) → 0, i.e. exactly when D confidently rejects the fakes early in
    training (the loss saturates).
    """
    out = -_sigmoid(logit)
    return float(out) if out.ndim == 0 else out


def nonsaturating_generator_gradient(logit: Any) -> np.ndarray | float:
    """d/dl [−log σ(l)] = −(1 − σ(l)): the non-saturating loss −log D(G(z))'s slope in l; it
    tends to −1 as D(G(z)) → 0."""
    out = -_sigmoid(-np.asarray(logit, dtype=np.float64))  # 1 − σ(l) = σ(−l), no cancellation
    return float(out) if out.ndim == 0 else out


def nonsaturating_gradient_ratio(d_fake: Any) -> np.ndarray | float:
    """|d/dl (−log D)| / |d/dl log(1 − D)| = (1 − D)/D at D = D(G(z)) in (0, 1).

    Above 1 whenever D < ½ and unbounded as D → 0: the reason Goodfellow et al. train G to
    maximise log D(G(z)) instead of minimising log(1 − D(G(z))).
    """
    d = np.asarray(d_fake, dtype=np.float64)
    if np.any(~np.isfinite(d)) or np.any((d <= 0) | (d >= 1)):
        raise ValueError(f"d_fake must lie in (0, 1), got {d.tolist()}")
    out = (1.0 - d) / d
    return float(out) if out.ndim == 0 else out


def _sigmoid(logit: Any) -> np.ndarray:
    l = np.asarray(logit, dtype=np.float64)
    if np.any(np.isnan(l)):
        raise ValueError(f"logit must not be NaN, got {l.tolist()}")
    return expit(l)


# -- maximum likelihood = minimum KL ------------------------------------------------------------
def mle_gaussian(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian maximum-likelihood fit to samples x [n, d]:
    μ̂ = (1/n) Σ x_i,  Σ̂ = (1/n) Σ (x_i − μ̂)(x_i − μ̂)ᵀ  (divisor n, not n − 1).

    Maximising (1/n) Σ log N(x_i; μ, Σ) minimises KL(p̂_n ‖ N(μ, Σ)); as n → ∞ it converges to
    the minimiser of KL(p_data ‖ N(μ, Σ)), the moment match (``moment_matched_gaussian``).
    """
    pts = check_cloud("x", x).to(torch.float64)
    if pts.shape[0] < 2:
        raise ValueError(f"x needs at least 2 points for a covariance, got {pts.shape[0]}")
    mean = pts.mean(dim=0)
    centred = pts - mean
    return mean, centred.T @ centred / pts.shape[0]


def moment_matched_gaussian(p: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """argmin_{μ,Σ} KL(p ‖ N(μ, Σ)) for a Gaussian mixture p: its mean and covariance,
    μ = Σ_k w_k μ_k,  Σ = Σ_k w_k (Σ_k + μ_k μ_kᵀ) − μ μᵀ.

    KL(p ‖ N(μ, Σ)) = −H(p) + ½[d log 2π + log det Σ + tr(Σ⁻¹ S) + (m − μ)ᵀ Σ⁻¹ (m − μ)] with
    (m, S) p's mean and covariance, minimised at μ = m, Σ = S.
    """
    check_density_target("p", p)
    w, mu, cov = p.weights, p.means, p.covariances
    mean = (w[:, None] * mu).sum(dim=0)
    second = (w[:, None, None] * (cov + mu[:, :, None] * mu[:, None, :])).sum(dim=0)
    return mean, second - mean[:, None] * mean[None, :]


def gaussian_target(mean: Any, cov: Any) -> GaussianMixture:
    """N(mean, cov) as a one-mode ``GaussianMixture`` (so the divergence functions take it)."""
    m = torch.as_tensor(mean, dtype=torch.float64).reshape(1, -1)
    c = torch.as_tensor(cov, dtype=torch.float64).reshape(1, m.shape[1], m.shape[1])
    return GaussianMixture(m, c, torch.ones(1, dtype=torch.float64), name="gaussian")


def gaussian_kl(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> float:
    """KL(N(μ₁, Σ₁) ‖ N(μ₂, Σ₂)) = ½[tr(Σ₂⁻¹Σ₁) + (μ₂ − μ₁)ᵀΣ₂⁻¹(μ₂ − μ₁) − d + log(det Σ₂ / det Σ₁)]."""
    n1, n2 = gaussian_target(mean1, cov1), gaussian_target(mean2, cov2)
    if n1.dim != n2.dim:
        raise ValueError(f"dimension mismatch: mean1 has dimension {n1.dim}, mean2 has {n2.dim}")
    m1, c1, m2, c2 = n1.means[0], n1.covariances[0], n2.means[0], n2.covariances[0]
    diff = (m2 - m1)[:, None]
    solve = torch.linalg.solve(c2, torch.cat([c1, diff], dim=1))
    trace, maha = torch.trace(solve[:, :-1]), float((diff[:, 0] * solve[:, -1]).sum())
    logdet = torch.linalg.slogdet(c2).logabsdet - torch.linalg.slogdet(c1).logabsdet
    return float(0.5 * (trace + maha - n1.dim + logdet))
