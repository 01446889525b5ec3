"""KL, Jensen–Shannon and total-variation divergences, exact or estimated with an error bar.

Inputs are either two probability vectors (exact discrete formulas) or two targets with exact
densities (``GaussianMixture``). For targets, "quadrature" integrates the pointwise integrand
over the modes (``ganlab.theory.quadrature``) and "monte_carlo" averages it over samples in any
dimension. Logs are natural, so JSD ≤ log 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..rng import torch_generator
from ..validation import check_choice, check_int, check_weights
from .quadrature import (  # noqa: F401  (re-exported: the quadrature used to live here)
    BOX_STDS,
    Estimate,
    Integrand,
    MixtureLogDensity,
    QuadratureError,
    integrate_over_modes,
    mixture_log_density,
)

LOG2 = math.log(2.0)
METHODS = ("auto", "quadrature", "monte_carlo")


# -- input handling ---------------------------------------------------------------------------
def is_target(obj: Any) -> bool:
    """A target is anything with a ``log_prob`` and a ``dim`` (probability vectors have neither)."""
    return hasattr(obj, "log_prob") and hasattr(obj, "dim")


def check_probability_vector(name: str, p: Any) -> np.ndarray:
    """A 1-D, non-empty vector of non-negative finite numbers summing to 1 (within 1e-6)."""
    arr = np.asarray(p.detach().cpu() if isinstance(p, torch.Tensor) else p, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D probability vector, got shape {arr.shape}")
    return check_weights(name, arr).numpy()


def check_density_target(name: str, target: Any) -> Any:
    if not is_target(target):
        raise ValueError(f"{name} must be a probability vector or a target with a density, got {target!r}")
    if not getattr(target, "has_density", True):
        raise ValueError(f"{name} = {target!r} is sample-only: it has no density to integrate")
    return target


def check_pair(p: Any, q: Any) -> tuple[str, Any, Any]:
    """Classify (p, q) as two probability vectors ("discrete") or two targets ("target"), with
    matching sizes/dimensions."""
    if is_target(p) != is_target(q):
        raise ValueError(
            f"p and q must both be probability vectors or both be targets, got {type(p).__name__} "
            f"and {type(q).__name__}"
        )
    if not is_target(p):
        pv, qv = check_probability_vector("p", p), check_probability_vector("q", q)
        if pv.shape != qv.shape:
            raise ValueError(f"p has {pv.size} outcomes but q has {qv.size}")
        return "discrete", pv, qv
    check_density_target("p", p)
    check_density_target("q", q)
    if p.dim != q.dim:
        raise ValueError(f"dimension mismatch: p ({p!r}) has dimension {p.dim}, q ({q!r}) has dimension {q.dim}")
    return "target", p, q


def resolve_method(method: str, dim: int) -> str:
    """ "auto" → quadrature for dim ≤ 2 (cost grows as 21^d), Monte Carlo above."""
    check_choice("method", method, METHODS)
    if method == "auto":
        return "quadrature" if dim <= 2 else "monte_carlo"
    if method == "quadrature" and dim > 2:
        raise ValueError(f"method 'quadrature' supports dimension 1 or 2, got dimension {dim}; use 'monte_carlo'")
    return method


# -- discrete formulas ------------------------------------------------------------------------
def kl_discrete(p: Any, q: Any) -> float:
    """KL(p‖q) = Σ_i p_i log(p_i / q_i), with 0·log(0/q) = 0 and +inf where q_i = 0 < p_i."""
    _, p, q = check_pair(p, q)
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    ps, qs = p[support], q[support]
    # log(p/q) as log1p((p − q)/q): p − q is exact for close p, q, so nearly equal distributions
    # keep full relative precision (log of the rounded ratio loses ~1e-5 of a KL of 1e-11)
    return max(0.0, float(np.sum(ps * np.log1p((ps - qs) / qs))))  # Gibbs: KL ≥ 0; below is rounding


def jsd_discrete(p: Any, q: Any) -> float:
    """JSD(p, q) = ½ KL(p‖m) + ½ KL(q‖m), m = (p + q)/2; in [0, log 2]."""
    _, p, q = check_pair(p, q)
    m = 0.5 * (p + q)
    # m > 0 wherever p or q is, so neither KL is infinite.
    return 0.5 * kl_discrete(p, m) + 0.5 * kl_discrete(q, m)


def tv_discrete(p: Any, q: Any) -> float:
    """TV(p, q) = ½ Σ_i |p_i − q_i| = max_A |P(A) − Q(A)|; in [0, 1]."""
    _, p, q = check_pair(p, q)
    return float(0.5 * np.sum(np.abs(p - q)))


# -- pointwise integrands in log space (stable where densities underflow) -----------------------
def _xlogy_ratio(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """e^{lp}(lp − lq), taken as 0 where e^{lp} = 0."""
    with np.errstate(invalid="ignore"):
        out = np.exp(lp) * (lp - lq)
    return np.where(np.exp(lp) == 0, 0.0, out)


def kl_integrand(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """p log(p/q)."""
    return _xlogy_ratio(lp, lq)


def jsd_integrand(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """½ p log(p/m) + ½ q log(q/m), log m = logaddexp(log p, log q) − log 2."""
    lm = np.logaddexp(lp, lq) - LOG2
    return 0.5 * (_xlogy_ratio(lp, lm) + _xlogy_ratio(lq, lm))


def tv_integrand(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """½ |p − q|."""
    return 0.5 * np.abs(np.exp(lp) - np.exp(lq))


def tv_kink(logs: Sequence[np.ndarray]) -> np.ndarray:
    """log p − log q: ½|p − q| has its kink where this changes sign."""
    return logs[0] - logs[1]


# -- divergences between targets ---------------------------------------------------------------
PointwiseLogIntegrand = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _quadrature(pointwise: PointwiseLogIntegrand, p: Any, q: Any, **options: Any) -> Estimate:
    return integrate_over_modes(lambda x, logs: pointwise(logs[0], logs[1]), [p, q], **options)


def mean_and_standard_error(values: torch.Tensor) -> tuple[float, float]:
    """Sample mean and its standard error s/√n."""
    v = values.double()
    n = v.numel()
    se = float(v.std()) / math.sqrt(n) if n > 1 else math.inf
    return float(v.mean()), se


def _log_probs_at(x: torch.Tensor, p: Any, q: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return p.log_prob(x), q.log_prob(x)


def _estimate(
    p: Any,
    q: Any,
    method: str,
    n: int,
    seed: int,
    discrete: Callable[[np.ndarray, np.ndarray], float],
    integrand: Integrand,
    monte_carlo: Callable[[Any, Any, int, torch.Generator], Estimate],
    **quadrature_options: Any,
) -> Estimate:
    """Exact for probability vectors, else quadrature (with ``quadrature_options``) or Monte Carlo
    as ``method`` resolves."""
    kind, p, q = check_pair(p, q)
    if kind == "discrete":
        return Estimate(discrete(p, q), 0.0, "exact")
    method, n = resolve_method(method, p.dim), check_int("n", n, minimum=2)
    if method == "quadrature":
        return _quadrature(integrand, p, q, **quadrature_options)
    return monte_carlo(p, q, n, torch_generator(seed))


def _kl_monte_carlo(p: Any, q: Any, n: int, g: torch.Generator) -> Estimate:
    lp, lq = _log_probs_at(p.sample(n, g, dtype=torch.float64), p, q)
    return Estimate(*mean_and_standard_error(lp - lq), "monte_carlo")


def _jsd_monte_carlo(p: Any, q: Any, n: int, g: torch.Generator) -> Estimate:
    x, y = p.sample(n, g, dtype=torch.float64), q.sample(n, g, dtype=torch.float64)
    lpx, lqx = _log_probs_at(x, p, q)
    lpy, lqy = _log_probs_at(y, p, q)
    mp, sp = mean_and_standard_error(lpx - (torch.logaddexp(lpx, lqx) - LOG2))
    mq, sq = mean_and_standard_error(lqy - (torch.logaddexp(lpy, lqy) - LOG2))
    return Estimate(0.5 * (mp + mq), 0.5 * math.hypot(sp, sq), "monte_carlo")


def _tv_monte_carlo(p: Any, q: Any, n: int, g: torch.Generator) -> Estimate:
    lp, lq = _log_probs_at(p.sample(n, g, dtype=torch.float64), p, q)
    return Estimate(*mean_and_standard_error((-torch.expm1(lq - lp)).clamp(min=0.0)), "monte_carlo")


def kl_divergence(p: Any, q: Any, *, method: str = "auto", n: int = 50_000, seed: int = 0) -> Estimate:
    """KL(p‖q) = ∫ p log(p/q) (natural log); +inf when q = 0 somewhere p > 0 (discrete).

    Monte Carlo: mean of log p(x) − log q(x) over x ~ p, with its standard error.
    """
    return _estimate(p, q, method, n, seed, kl_discrete, kl_integrand, _kl_monte_carlo)


def jensen_shannon(p: Any, q: Any, *, method: str = "auto", n: int = 50_000, seed: int = 0) -> Estimate:
    """JSD(p, q) = ½ KL(p‖m) + ½ KL(q‖m), m = (p + q)/2, natural log, so 0 ≤ JSD ≤ log 2.

    Monte Carlo: ½ E_p[log(p/m)] + ½ E_q[log(q/m)] from n samples of each; standard error
    ½ √(se_p² + se_q²).
    """
    return _estimate(p, q, method, n, seed, jsd_discrete, jsd_integrand, _jsd_monte_carlo)


def total_variation(p: Any, q: Any, *, method: str = "auto", n: int = 50_000, seed: int = 0) -> Estimate:
    """TV(p, q) = ½ ∫ |p − q| = sup_A |P(A) − Q(A)|, in [0, 1].

    Quadrature splits the integral along the kink of |p − q|, the curve p = q (``tv_kink``), where
    Gauss–Kronrod rules converge slowly and misjudge their own error. Monte Carlo:
    E_{x~p}[(1 − q(x)/p(x))_+], a mean of values in [0, 1], with its standard error.
    """
    return _estimate(p, q, method, n, seed, tv_discrete, tv_integrand, _tv_monte_carlo, kink=tv_kink)
