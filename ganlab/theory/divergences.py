"""KL, Jensen–Shannon and total-variation divergences, exact or estimated with an error bar.

Inputs are either two probability vectors (exact discrete formulas) or two targets with exact
densities (``GaussianMixture``). For targets, "quadrature" integrates the pointwise integrand
over the modes (scipy ``quad`` on a partition of the line in 1-D, a globally adaptive 2-D
Gauss–Kronrod rule on boxes around the modes in 2-D) and "monte_carlo" averages it over samples in
any dimension. Logs are natural, so JSD ≤ log 2.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.integrate import quad

from ..rng import torch_generator
from ..validation import check_choice, check_int, check_positive, check_weights

LOG2 = math.log(2.0)
METHODS = ("auto", "quadrature", "monte_carlo")
# Half-width of the box around each mode, in marginal stds: the mass outside is < d·2Φ(−12) ≈ 4e-33.
BOX_STDS = 12.0
# Requested accuracy of the quadrature: stop once the summed error estimate is below
# max(ATOL, RTOL·|integral|). Smooth integrands (KL, JSD, C(G), ∫p) reach 1e-10 relative in a few
# thousand Gauss–Kronrod regions.
QUAD_RTOL, QUAD_ATOL = 1e-10, 1e-13
# |p − q| has a kink along the curve p = q. A region of size h that the kink crosses has error
# O(h³) instead of a spectrally small one; the ~L/h such regions along a kink of length L sum to
# O(h²), so the error falls only as 1/N² in the number N of regions and every factor 100 of
# accuracy costs 10× the time. TV therefore asks for an absolute 1e-7: about 1 s for a ring whose
# 8 modes each carry a kink, 4 s for an overlapping ring with long kinks (2-core CPU), and still
# 10^4 × below the standard error of a 10^6-sample Monte Carlo.
TV_ATOL = 1e-7
# When the region budget runs out first, the estimate is still returned with its (larger) error
# if that error is at most MAX_QUAD_ERROR·max(1, |integral|); beyond that it is of no use for
# checking theory against Monte Carlo or closed forms, and the quadrature raises.
MAX_QUAD_ERROR = 1e-6
# Region budget of the 2-D rule: 441 integrand points per region, ~0.1 ms each on this project's
# CPUs, so the budget caps one 2-D integral at roughly 10 s.
MAX_REGIONS = 60_000


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


class QuadratureError(RuntimeError):
    """The quadrature's error estimate stayed too large to be useful (see ``MAX_QUAD_ERROR``)."""


def integrate_over_modes(
    integrand: Integrand,
    targets: Sequence[Any],
    *,
    rtol: float = QUAD_RTOL,
    atol: float = QUAD_ATOL,
    n_std: float = BOX_STDS,
    max_error: float = MAX_QUAD_ERROR,
    max_regions: int = MAX_REGIONS,
) -> Estimate:
    """∫ f(x, [log p_1(x), ..., log p_T(x)]) dx for an integrand concentrated near the modes of
    ``targets`` (Gaussian mixtures of dimension 1 or 2), with an error estimate.

    In 1-D the whole line is cut at μ_k + σ_k·c for c in ±n_std, ±4, ±1.5, 0 and every piece (the
    two end ones infinite) is integrated by scipy ``quad``: nothing is truncated. In 2-D the boxes
    μ_k ± n_std·σ_k are cut into disjoint cells (``disjoint_cells``) and integrated by one globally
    adaptive 21×21-point Gauss–Kronrod product rule (``_adaptive_gauss_kronrod_2d``), each cell
    with the modes that are negligible on it left out (``MixtureLogDensity.restricted_to``). The
    error is the sum of the quadrature error estimates plus, in 2-D, the mass outside the boxes
    (``_tail_mass``, < 1e-32 per target at 12σ) times the largest |f| / Σ densities on the box
    corners: a heuristic bound on f per unit mass there.

    Stops when the error estimate is below max(atol, rtol·|integral|). If the region budget runs
    out first, returns the estimate with its error when that error is ≤ max_error·max(1, |value|),
    and raises ``QuadratureError`` naming the targets and the error otherwise. An integrand that
    is +inf (or −inf) at the first evaluated points where it is infinite has integral +inf (−inf),
    returned with error 0; a NaN, or both infinities among the same points, raises ValueError.
    """
    dims = {t.dim for t in targets}
    if len(dims) != 1:
        raise ValueError(f"targets have different dimensions {sorted(dims)}")
    dim = dims.pop()
    n_std = check_positive("n_std", n_std)
    max_regions = check_int("max_regions", max_regions)
    if not (rtol >= 0 and atol >= 0 and rtol + atol > 0):
        raise ValueError(f"rtol and atol must be >= 0 and not both 0, got rtol={rtol!r}, atol={atol!r}")
    if not max_error > 0:
        raise ValueError(f"max_error must be > 0, got {max_error!r}")
    densities = [MixtureLogDensity(t) for t in targets]
    if dim == 1:
        value, error, converged = _integrate_1d(integrand, targets, densities, rtol=rtol, atol=atol, n_std=n_std)
    elif dim == 2:
        value, error, converged = _integrate_2d(
            integrand, targets, densities, rtol=rtol, atol=atol, n_std=n_std, max_regions=max_regions
        )
    else:
        raise ValueError(f"quadrature supports dimension 1 or 2, got dimension {dim}")
    if math.isfinite(value) and not error <= max_error * max(1.0, abs(value)):
        raise QuadratureError(
            f"{dim}-D quadrature over {', '.join(map(repr, targets))}: estimate {value:.10g} has error "
            f"{error:.3g} > max_error·max(1, |estimate|) = {max_error * max(1.0, abs(value)):.3g} "
            f"({'converged' if converged else 'budget exhausted'})"
        )
    return Estimate(value, error, "quadrature")


class _Infinite(Exception):
    """The integrand is ±inf at some point: the integral is that infinity."""

    def __init__(self, sign: float) -> None:
        self.sign = sign


def _finite_or_raise(values: np.ndarray, x: np.ndarray) -> None:
    """Raise ValueError at a NaN, _Infinite(±1) at an infinity of one sign, ValueError at both."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    if np.isnan(values).any():
        i = int(np.flatnonzero(np.isnan(values))[0])
        raise ValueError(f"the integrand is NaN at x = {np.asarray(x)[i].tolist()}")
    signs = np.unique(np.sign(values[bad]))
    if signs.size > 1:
        raise ValueError("the integrand is +inf at some points and -inf at others: the integral is undefined")
    raise _Infinite(float(signs[0]))


def _integrate_1d(
    integrand: Integrand,
    targets: Sequence[Any],
    densities: Sequence[MixtureLogDensity],
    *,
    rtol: float,
    atol: float,
    n_std: float,
) -> tuple[float, float, bool]:
    mu, sd = (np.concatenate(a)[:, 0] for a in zip(*(_weighted_modes(t) for t in targets)))
    # Cut at these stds from every mode centre so quad never misses a narrow mode; its own
    # bisection refines inside each piece.
    breaks = (-n_std, -4.0, -1.5, 0.0, 1.5, 4.0, n_std)
    edges = np.unique(np.concatenate([mu + sd * c for c in breaks]))
    pieces = [(-math.inf, edges[0]), *zip(edges[:-1], edges[1:]), (edges[-1], math.inf)]

    def f(x: float) -> float:
        pt = np.array([[x]])
        value = integrand(pt, [log_p(pt) for log_p in densities])
        _finite_or_raise(value, pt)
        return float(value[0])

    values, errors = [], []
    try:
        with warnings.catch_warnings():
            # quad warns when it cannot reach its tolerance; its returned abserr already says so.
            warnings.simplefilter("ignore")
            for a, b in pieces:
                value, err = quad(f, a, b, epsabs=atol, epsrel=rtol, limit=200)
                values.append(value)
                errors.append(err)
    except _Infinite as inf:
        return inf.sign * math.inf, 0.0, True
    total, error = math.fsum(values), math.fsum(errors)
    return total, error, error <= max(atol * len(pieces), rtol * abs(total))


# -- the 2-D rule -------------------------------------------------------------------------------
# QUADPACK's qk21: the 21-point Kronrod extension of the 10-point Gauss–Legendre rule on [−1, 1],
# its non-negative nodes (descending) and their weights. The Gauss nodes are every other Kronrod
# node; their Gauss weights are numpy's leggauss(10). The tests check that K21 integrates x^k
# exactly for k ≤ 31 and that the Gauss nodes are leggauss's.
_K21_NODES = (
    0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
    0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
    0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
    0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
    0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
    0.0,
)
_K21_WEIGHTS = (
    0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
    0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
    0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
    0.123491976262065851077600525452484, 0.134709217311473325928054001771707,
    0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
    0.149445554002916905664936468389821,
)


def gauss_kronrod_21() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(nodes [21], Kronrod weights [21], indices of the 10 Gauss nodes, Gauss weights [10]) on [−1, 1]."""
    half = np.asarray(_K21_NODES)
    nodes = np.concatenate([-half, half[-2::-1]])
    weights = np.concatenate([np.asarray(_K21_WEIGHTS), np.asarray(_K21_WEIGHTS)[-2::-1]])
    gauss_idx = np.arange(1, 21, 2)
    gauss_nodes, gauss_weights = np.polynomial.legendre.leggauss(10)
    order = np.argsort(gauss_nodes)
    return nodes, weights, gauss_idx, gauss_weights[order]


def _product_rule() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 2-D tensor products: nodes [441, 2], K weights [441], Gauss node indices [100], G weights [100]."""
    x, wk, gi, wg = gauss_kronrod_21()
    nodes = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
    gauss = (gi[:, None] * 21 + gi[None, :]).reshape(-1)
    return nodes, np.outer(wk, wk).reshape(-1), gauss, np.outer(wg, wg).reshape(-1)


_NODES_2D, _WK_2D, _GAUSS_2D, _WG_2D = _product_rule()


def gauss_kronrod_boxes(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∫ f over each box [lo_i, hi_i] (lo, hi [m, 2]) by the 21×21 Kronrod product rule K, with
    error |K − G| against the 10×10 Gauss product rule G on the same points (scipy ``cubature``'s
    estimate for its "gk21" rule). One call of f on all m·441 points."""
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    pts = (mid[:, None, :] + half[:, None, :] * _NODES_2D[None]).reshape(-1, 2)
    values = np.asarray(f(pts), dtype=np.float64)
    _finite_or_raise(values, pts)
    values = values.reshape(len(lo), -1)
    area = half.prod(axis=1)
    k = area * (values @ _WK_2D)
    g = area * (values[:, _GAUSS_2D] @ _WG_2D)
    return k, np.abs(k - g)


def _split4(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four quarters [4, 2] of the box [lo, hi]."""
    mid = 0.5 * (lo + hi)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    sub_lo = np.where(corners == 0, lo, mid)
    sub_hi = np.where(corners == 0, mid, hi)
    return sub_lo, sub_hi


def _integrate_2d(
    integrand: Integrand,
    targets: Sequence[Any],
    densities: Sequence[MixtureLogDensity],
    *,
    rtol: float,
    atol: float,
    n_std: float,
    max_regions: int,
) -> tuple[float, float, bool]:
    """Globally adaptive: always quarter the region with the largest error estimate, whichever
    cell it lies in, until the summed error is ≤ max(atol, rtol·|sum|) or ``max_regions`` regions
    have been evaluated. Returns (value, error including the tail, converged)."""
    lo, hi = mode_boxes(targets, n_std)
    cell_lo, cell_hi = disjoint_cells(lo, hi)
    cells: list[Callable[[np.ndarray], np.ndarray]] = []
    heap: list[tuple[float, int, float, np.ndarray, np.ndarray, int]] = []
    try:
        for c, (a, b) in enumerate(zip(cell_lo, cell_hi)):
            local = [log_p.restricted_to(a, b) for log_p in densities]
            cells.append(lambda x, local=local: integrand(x, [log_p(x) for log_p in local]))
            (k,), (e,) = gauss_kronrod_boxes(cells[c], a[None], b[None])
            heapq.heappush(heap, (-e, c, k, a, b, c))
        total = math.fsum(r[2] for r in heap)
        error = math.fsum(-r[0] for r in heap)
        evaluated, counter = len(heap), len(heap)
        while error > max(atol, rtol * abs(total)) and evaluated < max_regions:
            neg_e, _, k, a, b, c = heapq.heappop(heap)
            sub_lo, sub_hi = _split4(a, b)
            ks, es = gauss_kronrod_boxes(cells[c], sub_lo, sub_hi)
            for i in range(4):
                heapq.heappush(heap, (-es[i], counter, ks[i], sub_lo[i], sub_hi[i], c))
                counter += 1
            evaluated += 4
            total += float(ks.sum()) - k
            error += float(es.sum()) + neg_e
    except _Infinite as inf:
        return inf.sign * math.inf, 0.0, True
    total = math.fsum(r[2] for r in heap)
    error = math.fsum(-r[0] for r in heap)
    converged = error <= max(atol, rtol * abs(total))
    # Tails outside the boxes: mass × the integrand's size per unit density at the box corners.
    corners = np.concatenate([lo, hi, np.stack([lo[:, 0], hi[:, 1]], 1), np.stack([hi[:, 0], lo[:, 1]], 1)])
    logs = [log_p(corners) for log_p in densities]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        per_mass = np.abs(integrand(corners, logs)) / sum(np.exp(lg) for lg in logs)
    per_mass = np.nan_to_num(per_mass, nan=0.0, posinf=0.0)
    tail = sum(_tail_mass(t, n_std) for t in targets) * max(1.0, float(per_mass.max()))
    return total, error + tail, converged


# -- divergences between targets ---------------------------------------------------------------
PointwiseLogIntegrand = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _quadrature(pointwise: PointwiseLogIntegrand, p: Any, q: Any, **tolerances: float) -> Estimate:
    return integrate_over_modes(lambda x, logs: pointwise(logs[0], logs[1]), [p, q], **tolerances)


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
    **tolerances: float,
) -> Estimate:
    """Exact for probability vectors, else quadrature (with ``tolerances``) or Monte Carlo as
    ``method`` resolves."""
    kind, p, q = check_pair(p, q)
    if kind == "discrete":
        return Estimate(discrete(p, q), 0.0, "exact")
    method, n = resolve_method(method, p.dim), check_int("n", n, minimum=2)
    if method == "quadrature":
        return _quadrature(integrand, p, q, **tolerances)
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

    Quadrature asks for an absolute error of ``TV_ATOL`` = 1e-7 (the kink of |p − q| where p = q
    makes tighter requests slow). Monte Carlo: E_{x~p}[(1 − q(x)/p(x))_+], a mean of values in
    [0, 1], with its standard error.
    """
    return _estimate(p, q, method, n, seed, tv_discrete, tv_integrand, _tv_monte_carlo, rtol=0.0, atol=TV_ATOL)
