"""Quadrature of functions of Gaussian-mixture densities in 1-D and 2-D, with error estimates.

``integrate_over_modes`` integrates f(x, [log p_1(x), ...]) for integrands concentrated near the
modes of the targets: scipy ``quad`` on a partition of the line in 1-D, a globally adaptive 21×21
Gauss–Kronrod product rule on boxes around the modes in 2-D. Integrands with a kink along a
known curve (TV's |p − q| where p = q) are split along it. Used by the divergences, by
V(D, G) and C(G), and by the checks of ``ganlab verify``.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import quad

from ..validation import check_int, check_positive

# Half-width of the box around each mode, in marginal stds: the mass outside is < d·2Φ(−12) ≈ 4e-33.
BOX_STDS = 12.0
# Requested accuracy: stop once the summed error estimate is below max(ATOL, RTOL·|integral|).
# Smooth integrands (KL, JSD, C(G), ∫p), and TV once split along its kink, reach 1e-10 relative
# in a few thousand Gauss–Kronrod regions.
QUAD_RTOL, QUAD_ATOL = 1e-10, 1e-13
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



# -- densities -----------------------------------------------------------------------------------
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


# The curve along which an integrand has a kink, as the zero set of a smooth function of the
# log-densities: |p − q| has one where u = log p − log q changes sign.
Kink = Callable[[Sequence[np.ndarray]], np.ndarray]


def integrate_over_modes(
    integrand: Integrand,
    targets: Sequence[Any],
    *,
    kink: Kink | None = None,
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
    adaptive 21×21-point Gauss–Kronrod product rule (``_integrate_2d``), each cell with the modes
    that are negligible on it left out (``MixtureLogDensity.restricted_to``). The error is the sum
    of the quadrature error estimates plus, in 2-D, the mass outside the boxes (``_tail_mass``,
    < 1e-32 per target at 12σ) times the largest |f| / Σ densities on the box corners: a heuristic
    bound on f per unit mass there.

    ``kink(logs)``, when given, is a smooth function whose zero set is where f has a kink (f
    smooth on either side). The rule then splits at it: in 1-D its roots become breakpoints; in
    2-D every region that it crosses (a sign change at the region's nodes or on its edges) is
    integrated line by line (``_kink_boxes``), each line cut at its roots. Across a kink the
    Kronrod and Gauss rules err alike, so |K − G| is no error estimate there: on concentric
    Gaussians it reported 1e-7 for a true error of 2.2e-7.

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
        value, error, converged = _integrate_1d(
            integrand, kink, targets, densities, rtol=rtol, atol=atol, n_std=n_std
        )
    elif dim == 2:
        value, error, converged = _integrate_2d(
            integrand, kink, targets, densities, rtol=rtol, atol=atol, n_std=n_std, max_regions=max_regions
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
    kink: Kink | None,
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
    if kink is not None:
        edges = np.unique(np.concatenate([edges, _kink_roots_1d(kink, densities, edges)]))
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


def _kink_roots_1d(kink: Kink, densities: Sequence[MixtureLogDensity], edges: np.ndarray) -> np.ndarray:
    """Roots of the kink function between consecutive edges (``line_roots`` on each piece)."""
    start, length = edges[:-1], np.diff(edges)

    def u_at(line: np.ndarray, s: np.ndarray) -> np.ndarray:
        x = (start[line] + s * length[line])[:, None]
        return np.asarray(kink([log_p(x) for log_p in densities]), dtype=np.float64)

    line, s = line_roots(u_at, start.size)
    return start[line] + s * length[line]


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
    return nodes, weights, gauss_idx, gauss_weights[np.argsort(gauss_nodes)]


_X1, _WK1, _GAUSS1, _WG1 = gauss_kronrod_21()
# The 2-D tensor products: nodes [441, 2], K weights [441], Gauss node indices [100], G weights [100].
_NODES_2D = np.stack(np.meshgrid(_X1, _X1, indexing="ij"), -1).reshape(-1, 2)
_WK_2D = np.outer(_WK1, _WK1).reshape(-1)
_GAUSS_2D = (_GAUSS1[:, None] * 21 + _GAUSS1[None, :]).reshape(-1)
_WG_2D = np.outer(_WG1, _WG1).reshape(-1)

# f and the kink function (None without a kink) at points [n, 2].
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def gauss_kronrod_boxes(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∫ f over each box [lo_i, hi_i] (lo, hi [m, 2]) by the 21×21 Kronrod product rule K, with
    error |K − G| against the 10×10 Gauss product rule G on the same points (scipy ``cubature``'s
    estimate for its "gk21" rule). One call of f on all m·441 points."""
    return _boxes(lambda x: (f(x), None), lo, hi)


def _boxes(evaluate: Evaluate, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``gauss_kronrod_boxes``, with the boxes that the kink crosses (a sign change of the kink
    function at the nodes or on the edges) redone by ``_kink_boxes``."""
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    pts = (mid[:, None, :] + half[:, None, :] * _NODES_2D[None]).reshape(-1, 2)
    values, u = evaluate(pts)
    values = np.asarray(values, dtype=np.float64)
    _finite_or_raise(values, pts)
    values = values.reshape(len(lo), -1)
    area = half.prod(axis=1)
    k = area * (values @ _WK_2D)
    err = np.abs(k - area * (values[:, _GAUSS_2D] @ _WG_2D))
    if u is not None:
        u = np.asarray(u).reshape(len(lo), -1)
        crossed = (u > 0).any(axis=1) & (u < 0).any(axis=1)
        crossed[_boundary_crossed(evaluate, lo, hi)] = True
        if crossed.any():
            k[crossed], err[crossed] = _kink_boxes(evaluate, lo[crossed], hi[crossed])
    return k, err


# -- lines and their roots ----------------------------------------------------------------------
# A line is a start point and a direction [2]: point(s) = start + s·direction for s in [0, 1].
# The detection grid on [0, 1]: both ends and the 21 Kronrod nodes.
_LINE_GRID = 0.5 + 0.5 * np.concatenate([[-1.0], _X1, [1.0]])
# Root refinement: the Illinois variant of regula falsi, vectorised over brackets, stops when no
# root moves by more than 1e-10 of its line (a cut misplaced by δ costs |∇f|·δ² on that line,
# 1e-20 of the line's length squared), or after 60 steps (a smooth kink function needs ~8).
_ROOT_XTOL, _ROOT_STEPS = 1e-10, 60


def _line_function(evaluate: Evaluate, start: np.ndarray, direction: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """u(line index [n], s [n]): the kink function at start[line] + s·direction[line]."""

    def at(line: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.asarray(evaluate(start[line] + s[:, None] * direction[line])[1], dtype=np.float64)

    return at


def _on_grid(u_at: Callable[[np.ndarray, np.ndarray], np.ndarray], n_lines: int, t: np.ndarray) -> np.ndarray:
    """u_l(t_j) for every line l < n_lines and grid point t_j: [n_lines, len(t)]."""
    return u_at(np.repeat(np.arange(n_lines), t.size), np.tile(t, n_lines)).reshape(n_lines, t.size)


def line_roots(
    u_at: Callable[[np.ndarray, np.ndarray], np.ndarray], n_lines: int, t: np.ndarray = _LINE_GRID
) -> tuple[np.ndarray, np.ndarray]:
    """Roots of smooth functions u_l(s), one per line l < n_lines, on [t₀, t_end]: (line, root).

    u_l is evaluated on the increasing grid ``t``; every sign change between grid points is
    refined by the Illinois method (regula falsi that halves the value at an end kept twice). Two
    roots between the same two grid points (the line nearly tangent to the zero set) leave no
    sign change and are missed; the sliver between them is thinner than the grid spacing and
    shallower than its square, and the tests show the error estimates still cover the result.
    """
    u = _on_grid(u_at, n_lines, t)
    i, j = np.nonzero((u[:, :-1] > 0) != (u[:, 1:] > 0))
    a, b, ua, ub = t[j], t[j + 1], u[i, j], u[i, j + 1]
    c = 0.5 * (a + b)
    side = np.zeros(i.size)
    for _ in range(_ROOT_STEPS if i.size else 0):
        new = (a * ub - b * ua) / (ub - ua)
        new = np.where(np.isfinite(new) & (new > a) & (new < b), new, 0.5 * (a + b))
        done = np.abs(new - c) <= _ROOT_XTOL * (t[-1] - t[0])
        c = new
        if done.all():
            break
        uc = u_at(i, c)
        right_end = (uc > 0) == (ub > 0)  # c replaces b, else a
        # Illinois: an end kept twice in a row has its value halved, so the next point moves past
        # the root instead of creeping up on it from one side.
        ua = np.where(right_end & (side == 1), 0.5 * ua, ua)
        ub = np.where(~right_end & (side == -1), 0.5 * ub, ub)
        b, ub = np.where(right_end, c, b), np.where(right_end, uc, ub)
        a, ua = np.where(right_end, a, c), np.where(right_end, ua, uc)
        side = np.where(right_end, 1.0, -1.0)
        hit = uc == 0  # an exact root: collapse the bracket onto it
        a, b = np.where(hit, c, a), np.where(hit, c, b)
    return i, c


def _boundary_crossed(evaluate: Evaluate, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Bool [m]: whether the kink crosses the boundary of each box (a sign change of u along any
    of its 4 edges, on the line grid): it can enter a box as a cap too thin for the interior
    nodes to see."""
    m = len(lo)
    corner_tl, corner_br = np.stack([lo[:, 0], hi[:, 1]], 1), np.stack([hi[:, 0], lo[:, 1]], 1)
    start = np.stack([lo, corner_tl, lo, corner_br], 1).reshape(-1, 2)  # bottom, top, left, right
    direction = np.zeros((m, 4, 2))
    direction[:, :2, 0] = (hi - lo)[:, None, 0]
    direction[:, 2:, 1] = (hi - lo)[:, None, 1]
    u = _on_grid(_line_function(evaluate, start, direction.reshape(-1, 2)), 4 * m, _LINE_GRID)
    return ((u[:, :-1] > 0) != (u[:, 1:] > 0)).any(axis=1).reshape(m, 4).any(axis=1)


def _pieces(n: int, owner: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[0, 1] for each of n lines, cut at the ``cuts`` of line ``owner``: (line, start, end) of
    every piece, in order."""
    line = np.concatenate([np.repeat(np.arange(n), 2), owner])
    at = np.concatenate([np.tile([0.0, 1.0], n), cuts])
    order = np.lexsort((at, line))
    line, at = line[order], at[order]
    keep = (line[:-1] == line[1:]) & (at[1:] > at[:-1])
    return line[:-1][keep], at[:-1][keep], at[1:][keep]


# -- the kink rule --------------------------------------------------------------------------------
def _kink_boxes(evaluate: Evaluate, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∫ f over boxes [m, 2] (lo, hi) when f has a kink along the zero set of u, as ∫ I(x) dx with
    I(x) = ∫ f(x, y) dy, both integrals cut where f or I is not smooth.

    I is smooth wherever the number of crossings of the kink with the vertical line at x is
    constant. That number changes where the kink leaves through the bottom or top edge, so
    [lo₀, hi₀] is first cut at the kink's roots along those two edges; each outer piece gets the
    21-point Kronrod rule, the vertical line at every node is cut at the kink's roots, and each
    smooth piece of it gets the 21-point Kronrod rule too. Error: Σ |K − G| of the outer pieces
    plus the weighted |K − G| of the inner ones. What stays inside an outer piece are tangencies
    (the kink vertical, I ~ |x − x_t|^{3/2}): isolated points that the outer |K − G| and the
    adaptive refinement home in on.
    """
    m = len(lo)
    width = hi - lo
    # 1. the bottom and top edges, and the outer cuts where the kink crosses them
    edge_start = np.stack([lo, np.stack([lo[:, 0], hi[:, 1]], 1)], 1).reshape(-1, 2)
    edge_dir = np.repeat(width * [1.0, 0.0], 2, axis=0)
    owner, cuts = line_roots(_line_function(evaluate, edge_start, edge_dir), 2 * m)
    box, s_lo, s_hi = _pieces(m, owner // 2, cuts)
    # 2. 21 nodes on every outer piece, a vertical line through each
    s_half = 0.5 * (s_hi - s_lo)
    nodes = (0.5 * (s_lo + s_hi))[:, None] + s_half[:, None] * _X1  # [P, 21] in [0, 1]
    line_box = np.repeat(box, _X1.size)
    start = np.stack([lo[line_box, 0] + nodes.reshape(-1) * width[line_box, 0], lo[line_box, 1]], 1)
    direction = width[line_box] * [0.0, 1.0]
    # 3. the vertical lines, cut at the kink, each piece by the 21-point rule
    owner, cuts = line_roots(_line_function(evaluate, start, direction), len(start))
    line, p_lo, p_hi = _pieces(len(start), owner, cuts)
    p_mid, p_half = 0.5 * (p_lo + p_hi), 0.5 * (p_hi - p_lo)
    at = np.repeat(line, _X1.size)
    pts = start[at] + (p_mid[:, None] + p_half[:, None] * _X1).reshape(-1, 1) * direction[at]
    values = np.asarray(evaluate(pts)[0], dtype=np.float64)
    _finite_or_raise(values, pts)
    values = values.reshape(line.size, _X1.size)
    k_piece = p_half * (values @ _WK1)
    e_piece = np.abs(k_piece - p_half * (values[:, _GAUSS1] @ _WG1))
    height = width[line_box, 1]  # unit-length pieces back to lengths
    inner = (np.bincount(line, k_piece, minlength=len(start)) * height).reshape(nodes.shape)
    inner_err = (np.bincount(line, e_piece, minlength=len(start)) * height).reshape(nodes.shape)
    # 4. the outer rule on each piece
    half = s_half * width[box, 0]
    k = half * (inner @ _WK1)
    err = np.abs(k - half * (inner[:, _GAUSS1] @ _WG1)) + half * (inner_err @ _WK1)
    return np.bincount(box, k, minlength=m), np.bincount(box, err, minlength=m)


def _split4(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four quarters [4, 2] of the box [lo, hi]."""
    mid = 0.5 * (lo + hi)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    sub_lo = np.where(corners == 0, lo, mid)
    sub_hi = np.where(corners == 0, mid, hi)
    return sub_lo, sub_hi


def _integrate_2d(
    integrand: Integrand,
    kink: Kink | None,
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
    cells: list[Evaluate] = []

    def evaluator(local: list[MixtureLogDensity]) -> Evaluate:
        def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            logs = [log_p(x) for log_p in local]
            return integrand(x, logs), (None if kink is None else kink(logs))

        return evaluate

    # Cells whose restricted densities keep the same modes share one evaluator, and are
    # evaluated together (one call per group instead of one per cell).
    groups: dict[bytes, list[int]] = {}
    restricted: dict[bytes, list[MixtureLogDensity]] = {}
    for c, (a, b) in enumerate(zip(cell_lo, cell_hi)):
        local = [log_p.restricted_to(a, b) for log_p in densities]
        key = b"".join(np.packbits(log_p.keep).tobytes() + b"|" for log_p in local)
        groups.setdefault(key, []).append(c)
        restricted.setdefault(key, local)
    heap: list[tuple[float, int, float, np.ndarray, np.ndarray, int]] = []
    try:
        for key, members in groups.items():
            cells.append(evaluator(restricted[key]))
            ks, es = _boxes(cells[-1], cell_lo[members], cell_hi[members])
            for i, c in enumerate(members):
                heapq.heappush(heap, (-es[i], c, ks[i], cell_lo[c], cell_hi[c], len(cells) - 1))
        total = math.fsum(r[2] for r in heap)
        error = math.fsum(-r[0] for r in heap)
        evaluated = counter = len(heap)
        while error > max(atol, rtol * abs(total)) and evaluated < max_regions:
            neg_e, _, k, a, b, c = heapq.heappop(heap)
            sub_lo, sub_hi = _split4(a, b)
            ks, es = _boxes(cells[c], sub_lo, sub_hi)
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


