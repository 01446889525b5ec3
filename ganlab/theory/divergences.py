"""KL, Jensen–Shannon and total-variation divergences, exact or estimated with an error bar.

Inputs are either two probability vectors (exact discrete formulas) or two targets with exact
densities (``GaussianMixture``). For targets, "quadrature" integrates the pointwise integrand
over the modes (scipy ``quad`` on a partition of the line in 1-D, scipy's adaptive
Gauss–Kronrod ``cubature`` on boxes around the modes in 2-D) and "monte_carlo" averages it over
samples in any dimension. Logs are natural, so JSD ≤ log 2.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.integrate import cubature, quad

from ..rng import torch_generator
from ..validation import check_choice, check_int, check_weights

LOG2 = math.log(2.0)
METHODS = ("auto", "quadrature", "monte_carlo")
# Half-width of the box around each mode, in marginal stds: the mass outside is < d·2Φ(−12) ≈ 4e-33.
BOX_STDS = 12.0
# Breakpoints (in stds from each mode centre) that split the 1-D line so quad never misses a
# narrow mode; quad's own bisection refines inside each piece.
_BREAKS_1D = (-BOX_STDS, -4.0, -1.5, 0.0, 1.5, 4.0, BOX_STDS)


@dataclass(frozen=True)
class Estimate:
    """A number with its error: absolute error bound estimate for quadrature, standard error for
    Monte Carlo, 0 for exact discrete formulas."""

    value: float
    error: float
    method: str

    def __float__(self) -> float:
        return self.value


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


# -- densities for quadrature ------------------------------------------------------------------
class MixtureLogDensity:
    """Vectorised numpy log p(x), x [n, d], of a Gaussian mixture:
    log Σ_k w_k N(x; μ_k, Σ_k) = logsumexp_k(log w_k − ½|L_k⁻¹(x − μ_k)|² − log det L_k − d/2 log 2π).

    quad and cubature call their integrand hundreds of times on few points, where torch's
    per-call overhead (~0.2 ms) would dominate; the tests check this copy against
    ``target.log_prob``. Modes with zero weight are left out (log w = −inf).
    """

    def __init__(self, target: Any, keep: np.ndarray | None = None) -> None:
        if not all(hasattr(target, a) for a in ("means", "covariances", "weights")):
            raise ValueError(f"quadrature needs a Gaussian mixture (means, covariances, weights), got {target!r}")
        w = target.weights.detach().numpy()
        keep = (w > 0) if keep is None else keep & (w > 0)
        self.target = target
        self.keep = keep
        self.means = target.means.detach().numpy()[keep]
        cov = target.covariances.detach().numpy()[keep]
        chol = np.linalg.cholesky(cov)
        self.inv_chol_t = np.linalg.inv(chol).transpose(0, 2, 1).copy()
        d = self.means.shape[1]
        self.const = (
            np.log(w[keep])
            - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            - 0.5 * d * math.log(2 * math.pi)
        )
        eig = np.linalg.eigvalsh(cov)  # Σ eigenvalues bound the precision quadratic form
        self.min_precision, self.max_precision = 1.0 / eig[:, -1], 1.0 / eig[:, 0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64)[None] - self.means[:, None]) @ self.inv_chol_t  # [K, n, d]
        a = self.const[:, None] - 0.5 * np.einsum("knd,knd->kn", z, z)
        # logsumexp over modes by hand: scipy's adds ~1 ms per call of overhead. Far out in quad's
        # infinite pieces every term can be −inf; shift by 0 there instead of NaN-making −inf.
        top = a.max(axis=0)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            return top + np.log(np.exp(a - top).sum(axis=0))

    def restricted_to(self, lo: np.ndarray, hi: np.ndarray, margin: float = 50.0) -> "MixtureLogDensity":
        """The same log-density on the box [lo, hi], without the modes that cannot matter there.

        On the box, mode k's log-term is at most c_k − ½ λ_min(Σ_k⁻¹) dist(μ_k, box)², and the
        largest log-term is at least max_j c_j − ½ λ_max(Σ_j⁻¹) farthest(μ_j, box)². A mode whose
        upper bound is below that lower bound − 50 contributes a relative e^-50 ≈ 2e-22 to the
        sum, below float64 rounding, so dropping it leaves the log-density unchanged.
        """
        near = np.clip(self.means, lo, hi) - self.means
        far = np.maximum(np.abs(self.means - lo), np.abs(self.means - hi))
        upper = self.const - 0.5 * self.min_precision * np.sum(near * near, axis=1)
        lower = np.max(self.const - 0.5 * self.max_precision * np.sum(far * far, axis=1))
        keep = np.zeros_like(self.keep)
        keep[np.flatnonzero(self.keep)[upper >= lower - margin]] = True
        return MixtureLogDensity(self.target, keep)


def mixture_log_density(target: Any) -> MixtureLogDensity:
    """Vectorised numpy log-density of a Gaussian-mixture target (see ``MixtureLogDensity``)."""
    return MixtureLogDensity(target)


# An integrand of x [n, d] and the targets' log-densities at x (one array [n] per target).
Integrand = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]


def mode_boxes(targets: Sequence[Any], n_std: float = BOX_STDS) -> tuple[np.ndarray, np.ndarray]:
    """Boxes μ_k ± n_std·σ_k (σ_k the marginal stds) around every mode of every target: [B, d] each.
    Modes with zero weight carry no mass and get no box."""
    mu, sd = (np.concatenate(a) for a in zip(*(_weighted_modes(t) for t in targets)))
    return mu - n_std * sd, mu + n_std * sd


def _weighted_modes(target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Centres [K, d] and marginal stds [K, d] of the modes with positive weight."""
    keep = target.weights.detach().numpy() > 0
    return target.means.detach().numpy()[keep], target.mode_stds.detach().numpy()[keep]


def disjoint_cells(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split the union of boxes [lo_b, hi_b] into non-overlapping cells covering it exactly.

    Boxes are grouped into clusters of overlapping boxes; a lone box is its own cell, and a
    cluster is cut along every box edge inside it, keeping the grid cells whose centre lies in
    some box of the cluster (so no region is integrated twice).
    """
    n = len(lo)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    overlap = np.all((lo[:, None] < hi[None]) & (lo[None] < hi[:, None]), axis=2)
    for i, j in zip(*np.nonzero(np.triu(overlap, 1))):
        parent[root(int(i))] = root(int(j))
    clusters: dict[int, list[int]] = {}
    for i in range(n):
        clusters.setdefault(root(i), []).append(i)

    cell_lo, cell_hi = [], []
    for members in clusters.values():
        blo, bhi = lo[members], hi[members]
        edges = [np.unique(np.concatenate([blo[:, k], bhi[:, k]])) for k in range(lo.shape[1])]
        grids_lo = np.stack(np.meshgrid(*[e[:-1] for e in edges], indexing="ij"), -1).reshape(-1, lo.shape[1])
        grids_hi = np.stack(np.meshgrid(*[e[1:] for e in edges], indexing="ij"), -1).reshape(-1, lo.shape[1])
        centre = 0.5 * (grids_lo + grids_hi)
        inside = np.any(np.all((centre[:, None] > blo[None]) & (centre[:, None] < bhi[None]), axis=2), axis=1)
        cell_lo.append(grids_lo[inside])
        cell_hi.append(grids_hi[inside])
    return np.concatenate(cell_lo), np.concatenate(cell_hi)


def _tail_mass(target: Any, n_std: float) -> float:
    """Union bound on the mass outside the mode boxes: Σ_k w_k · d · 2Φ(−n_std) = d·erfc(n_std/√2)."""
    return target.dim * math.erfc(n_std / math.sqrt(2.0))


def integrate_over_modes(
    integrand: Integrand,
    targets: Sequence[Any],
    *,
    rtol: float = 1e-10,
    atol: float = 1e-13,
) -> Estimate:
    """∫ f(x, [log p_1(x), ..., log p_T(x)]) dx for an integrand concentrated near the modes of
    ``targets`` (Gaussian mixtures of dimension 1 or 2).

    In 1-D the whole line is cut at μ_k + σ_k·c for c in ±12, ±4, ±1.5, 0 and every piece (the two
    end ones infinite) is integrated by scipy ``quad``: nothing is truncated. In 2-D the boxes
    μ_k ± 12σ_k are cut into disjoint cells (``disjoint_cells``), each integrated by scipy's
    adaptive Gauss–Kronrod ``cubature`` with the modes that are negligible on it left out
    (``MixtureLogDensity.restricted_to``). The error is the sum of the reported quadrature errors
    plus, in 2-D, the mass outside the boxes (``_tail_mass``, < 1e-32 per target) times the
    largest |f| / Σ densities seen on the box corners: a heuristic bound on f per unit mass there.
    """
    dims = {t.dim for t in targets}
    if len(dims) != 1:
        raise ValueError(f"targets have different dimensions {sorted(dims)}")
    dim = dims.pop()
    densities = [MixtureLogDensity(t) for t in targets]
    if dim == 1:
        return _integrate_1d(integrand, targets, densities, rtol=rtol, atol=atol)
    if dim == 2:
        return _integrate_2d(integrand, targets, densities, rtol=rtol, atol=atol)
    raise ValueError(f"quadrature supports dimension 1 or 2, got dimension {dim}")


def _integrate_1d(
    integrand: Integrand,
    targets: Sequence[Any],
    densities: Sequence[MixtureLogDensity],
    *,
    rtol: float,
    atol: float,
) -> Estimate:
    mu, sd = (np.concatenate(a)[:, 0] for a in zip(*(_weighted_modes(t) for t in targets)))
    edges = np.unique(np.concatenate([mu + sd * c for c in _BREAKS_1D]))
    pieces = [(-math.inf, edges[0]), *zip(edges[:-1], edges[1:]), (edges[-1], math.inf)]

    def f(x: float) -> float:
        pt = np.array([[x]])
        return float(integrand(pt, [log_p(pt) for log_p in densities])[0])

    total, error = 0.0, 0.0
    with warnings.catch_warnings():
        # quad warns when it cannot reach epsrel; its returned abserr already says so.
        warnings.simplefilter("ignore")
        for a, b in pieces:
            value, err = quad(f, a, b, epsabs=atol, epsrel=rtol, limit=200)
            total += value
            error += err
    return Estimate(total, error, "quadrature")


def _integrate_2d(
    integrand: Integrand,
    targets: Sequence[Any],
    densities: Sequence[MixtureLogDensity],
    *,
    rtol: float,
    atol: float,
) -> Estimate:
    lo, hi = mode_boxes(targets)
    cell_lo, cell_hi = disjoint_cells(lo, hi)
    total, error = 0.0, 0.0
    for a, b in zip(cell_lo, cell_hi):
        local = [log_p.restricted_to(a, b) for log_p in densities]
        res = cubature(
            lambda x: integrand(x, [log_p(x) for log_p in local]), a, b, rtol=rtol, atol=atol / len(cell_lo)
        )
        if res.status != "converged":  # its error estimate would then widen every tolerance
            raise RuntimeError(
                f"2-D quadrature did not converge on cell {a.tolist()}–{b.tolist()} "
                f"(estimate {float(res.estimate):.6g}, error {float(res.error):.3g})"
            )
        total += float(res.estimate)
        error += float(res.error)
    # Tails outside the boxes: mass × the integrand's size per unit density at the box corners.
    corners = np.concatenate([lo, hi, np.stack([lo[:, 0], hi[:, 1]], 1), np.stack([hi[:, 0], lo[:, 1]], 1)])
    logs = [log_p(corners) for log_p in densities]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        per_mass = np.abs(integrand(corners, logs)) / sum(np.exp(lg) for lg in logs)
    per_mass = np.nan_to_num(per_mass, nan=0.0, posinf=0.0)
    tail = sum(_tail_mass(t, BOX_STDS) for t in targets) * max(1.0, float(per_mass.max()))
    return Estimate(total, error + tail, "quadrature")


# -- divergences between targets ---------------------------------------------------------------
PointwiseLogIntegrand = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _quadrature(pointwise: PointwiseLogIntegrand, p: Any, q: Any) -> Estimate:
    return integrate_over_modes(lambda x, logs: pointwise(logs[0], logs[1]), [p, q])


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
) -> Estimate:
    """Exact for probability vectors, else quadrature or Monte Carlo as ``method`` resolves."""
    kind, p, q = check_pair(p, q)
    if kind == "discrete":
        return Estimate(discrete(p, q), 0.0, "exact")
    method, n = resolve_method(method, p.dim), check_int("n", n, minimum=2)
    if method == "quadrature":
        return _quadrature(integrand, p, q)
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

    Monte Carlo: E_{x~p}[(1 − q(x)/p(x))_+], a mean of values in [0, 1], with its standard error.
    """
    return _estimate(p, q, method, n, seed, tv_discrete, tv_integrand, _tv_monte_carlo)
