"""Theory claims checked numerically on named toy pairs: ``ganlab verify``.

Each registered claim returns rows (``ClaimResult``) that compare a value predicted by theory
with one measured by quadrature, Monte Carlo or optimal transport, within a tolerance that is
justified where the claim is built: quadrature error estimates plus 1e-12 for rounding when
O(100) cell integrals of O(1) size are summed, 4 standard errors for Monte Carlo, and
sample-size noise floors for Wasserstein distances between samples.

For an "=" claim ``passed`` means |measured − predicted| ≤ tolerance; for a "≤" (or "≥") claim
``predicted`` holds the bound and ``passed`` means measured ≤ bound + tolerance (or ≥ bound −
tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats
import torch

from ..theory.divergences import jensen_shannon, jsd_discrete, kl_divergence, total_variation
from ..theory.packing import packed_total_variation, packed_tv_bounds
from ..theory.targets import TARGETS, GaussianMixture, grid, make_target, mixture_1d, ring
from ..theory.gan import (
    gaussian_kl,
    gaussian_target,
    make_optimal_discriminator,
    mle_gaussian,
    moment_matched_gaussian,
    optimal_discriminator,
    pointwise_maximiser,
    pointwise_objective,
    value_function,
    virtual_criterion,
)
from ..validation import check_choice

LOG2, LOG4 = math.log(2.0), math.log(4.0)
# Rounding when summing O(100) quadrature pieces of size O(1) in float64 (each ~1e-16 relative).
ROUNDING = 1e-12
# Monte Carlo tolerance in standard errors: a correct estimate fails with probability ~6e-5.
MC_SIGMAS = 4.0
# Exact LP solvers (POT's network simplex) in float64: the optimum is found up to rounding of
# the O(n²) costs; 1e-9 relative is far above that and far below any real discrepancy here.
LP_RTOL = 1e-9


@dataclass
class ClaimResult:
    """One checked prediction: ``passed`` says whether ``measured`` meets ``predicted`` within
    ``tolerance``; ``error`` is the measurement's own error (quadrature, standard error, ...)."""

    claim: str
    predicted: float
    measured: float
    error: float
    tolerance: float
    passed: bool


def equal(claim: str, predicted: float, measured: float, error: float, tolerance: float) -> ClaimResult:
    return ClaimResult(claim, predicted, measured, error, tolerance, bool(abs(measured - predicted) <= tolerance))


def at_most(claim: str, bound: float, measured: float, error: float, tolerance: float) -> ClaimResult:
    return ClaimResult(claim, bound, measured, error, tolerance, bool(measured <= bound + tolerance))


def at_least(claim: str, bound: float, measured: float, error: float, tolerance: float) -> ClaimResult:
    return ClaimResult(claim, bound, measured, error, tolerance, bool(measured >= bound - tolerance))


ClaimFn = Callable[[int], list[ClaimResult]]
CLAIMS: dict[str, ClaimFn] = {}


def register_claim(name: str) -> Callable[[ClaimFn], ClaimFn]:
    def add(fn: ClaimFn) -> ClaimFn:
        CLAIMS[name] = fn
        return fn

    return add


# -- named toy pairs ---------------------------------------------------------------------------
RING_SHIFT = 0.02  # two mode stds of ring8: modes overlap partly, so JSD is strictly inside (0, log 2)
DROPPED = (0, 6, 12, 18, 24)  # the diagonal of the 5 × 5 grid


def shifted(target: GaussianMixture, shift: Sequence[float]) -> GaussianMixture:
    """The same mixture translated by ``shift``."""
    v = torch.as_tensor(shift, dtype=torch.float64)
    return GaussianMixture(
        target.means + v, target.covariances, target.weights, name=f"{target.name}+{list(shift)}"
    )


def drop_modes(target: GaussianMixture, drop: Sequence[int]) -> GaussianMixture:
    """The mixture without the modes ``drop``, remaining weights renormalised. (Modes are removed,
    not given weight 0: torch's Categorical clamps a zero probability to float eps.)"""
    keep = [k for k in range(target.n_modes) if k not in set(drop)]
    w = target.weights[keep]
    return GaussianMixture(
        target.means[keep], target.covariances[keep], w / w.sum(), name=f"{target.name}-{len(drop)}"
    )


def toy_pairs() -> dict[str, tuple[GaussianMixture, GaussianMixture]]:
    """(p_data, p_g) pairs: identical, shifted, mode-dropped and disjoint."""
    r8, g25 = ring(8), grid(5)
    return {
        "identical ring8": (r8, ring(8)),
        "shifted ring8": (r8, shifted(r8, (RING_SHIFT, 0.0))),
        "mode-dropped grid25": (g25, drop_modes(g25, DROPPED)),
        "disjoint 1-D": (mixture_1d((-2.0, 2.0), (0.5, 0.5)), mixture_1d((48.0, 52.0), (0.5, 0.5))),
    }


def _quad_tol(*estimates: Any, scale: Sequence[float] | None = None) -> float:
    """Σ |c_i|·error_i + ROUNDING: the propagated quadrature error of a linear combination."""
    scale = scale or [1.0] * len(estimates)
    return sum(abs(c) * e.error for c, e in zip(scale, estimates)) + ROUNDING


def _logit(d: torch.Tensor) -> torch.Tensor:
    return torch.log(d) - torch.log1p(-d)


# -- Proposition 1 -----------------------------------------------------------------------------
@register_claim("optimal_discriminator")
def claim_optimal_discriminator(seed: int) -> list[ClaimResult]:
    """D* = a/(a + b) maximises a log y + b log(1 − y); D* on targets; V(D*, G) ≥ V(D, G)."""
    rows = []
    eps = np.finfo(float).eps
    for a, b in [(0.3, 0.7), (2.0, 0.5), (1e-3, 5.0), (4.0, 4.0)]:
        res = scipy.optimize.minimize_scalar(
            lambda y: -pointwise_objective(y, a, b),
            bounds=(1e-12, 1 - 1e-12),
            method="bounded",
            options={"xatol": 1e-12},
        )
        y = pointwise_maximiser(a, b)
        # At a maximum f is flat to second order, so rounding (ε|f|) hides the argmax within
        # √(2ε|f|/|f''|); 4× that plus the optimiser's xatol is the attainable accuracy.
        curvature = a / y**2 + b / (1 - y) ** 2
        resolution = math.sqrt(2 * eps * max(abs(pointwise_objective(y, a, b)), 1e-300) / curvature)
        rows.append(
            equal(
                f"argmax a log y + b log(1-y) = a/(a+b) (a={a}, b={b})",
                y,
                float(res.x),
                resolution,
                4 * resolution + 2e-12,
            )
        )

    p, q = toy_pairs()["shifted ring8"]
    x = torch.cat([p.sample(500, seed, dtype=torch.float64), q.sample(500, seed + 1, dtype=torch.float64)])
    d_star, d_fake = optimal_discriminator(p, q, x), optimal_discriminator(p, q, x, real_label=0)
    naive = p.prob(x) / (p.prob(x) + q.prob(x))  # fine here: both densities are O(1) near the modes
    rows.append(
        equal(
            "D*(x) = p_data/(p_data + p_g) on 1000 points [shifted ring8] (max |diff|)",
            0.0,
            float((d_star - naive).abs().max()),
            0.0,
            1e-12,
        )
    )
    rows.append(
        equal(
            "real_label=0 gives 1 - D* (max |D*_0 + D*_1 - 1|)",
            0.0,
            float((d_star + d_fake - 1).abs().max()),
            0.0,
            1e-15,
        )
    )

    d_fn = make_optimal_discriminator(p, q)
    rows.append(
        equal(
            "make_optimal_discriminator = optimal_discriminator (max |diff|)",
            0.0,
            float((d_fn(x) - d_star).abs().max()),
            0.0,
            1e-12,
        )
    )
    v_star = value_function(d_fn, p, q)
    # log D − log(1 − D) rather than torch.logit, which costs ~8 ms per call on CPU here. For this
    # pair V(σ(logit D* + t)) is even in t (swapping p and q mirrors it), so one t suffices.
    v = value_function(lambda z: torch.sigmoid(_logit(d_fn(z)) + 0.5), p, q)
    rows.append(
        at_most(
            "V(D, G) <= V(D*, G) for logit(D) = logit(D*) + 0.5",
            v_star.value,
            v.value,
            v.error,
            _quad_tol(v, v_star),
        )
    )
    half = value_function(lambda z: torch.full((z.shape[0],), 0.5, dtype=torch.float64), p, q)
    rows.append(equal("V(1/2, G) = -log 4 (D = 1/2 everywhere)", -LOG4, half.value, half.error, _quad_tol(half)))
    return rows


# -- Theorem 1 ---------------------------------------------------------------------------------
@register_claim("virtual_criterion")
def claim_virtual_criterion(seed: int) -> list[ClaimResult]:
    """C(G) = V(D*, G) = −log 4 + 2·JSD, and C(G) ≥ −log 4 with equality iff p_g = p_data."""
    rows = []
    for name, (p, q) in toy_pairs().items():
        c, j = virtual_criterion(p, q), jensen_shannon(p, q)
        rows.append(
            equal(
                f"C(G) = -log 4 + 2 JSD [{name}]",
                -LOG4 + 2 * j.value,
                c.value,
                c.error,
                _quad_tol(c, j, scale=[1, 2]),
            )
        )
        if name == "identical ring8":
            rows.append(equal(f"C(G) = -log 4 when p_g = p_data [{name}]", -LOG4, c.value, c.error, _quad_tol(c)))
        else:
            rows.append(at_least(f"C(G) >= -log 4 [{name}]", -LOG4, c.value, c.error, _quad_tol(c)))
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    c, j = virtual_criterion(p, q), jsd_discrete(p, q)
    rows.append(
        equal("C(G) = -log 4 + 2 JSD [random 6-outcome pair, exact]", -LOG4 + 2 * j, c.value, 0.0, ROUNDING)
    )
    return rows


@register_claim("jsd_bounds")
def claim_jsd_bounds(seed: int) -> list[ClaimResult]:
    """0 ≤ JSD ≤ log 2, JSD = 0 iff equal, JSD symmetric, JSD = log 2 on disjoint supports."""
    rows = []
    pairs = toy_pairs()
    jsd = {name: jensen_shannon(p, q) for name, (p, q) in pairs.items()}
    for name, j in jsd.items():
        tol = _quad_tol(j)
        if name == "identical ring8":
            rows.append(equal(f"JSD = 0 [{name}]", 0.0, j.value, j.error, tol))
        elif name == "disjoint 1-D":
            rows.append(equal(f"JSD = log 2 on disjoint supports [{name}]", LOG2, j.value, j.error, tol))
        else:
            rows.append(at_least(f"JSD >= 0 [{name}]", 0.0, j.value, j.error, tol))
            rows.append(at_most(f"JSD <= log 2 [{name}]", LOG2, j.value, j.error, tol))
    p, q = pairs["shifted ring8"]
    a, b = jsd["shifted ring8"], jensen_shannon(q, p)
    rows.append(equal("JSD(p, q) = JSD(q, p) [shifted ring8]", a.value, b.value, b.error, _quad_tol(a, b)))
    # Well-separated modes (40σ apart): the mixture JSD is the JSD of the mode weights.
    p, j = pairs["mode-dropped grid25"][0], jsd["mode-dropped grid25"]
    w_q = np.zeros(25)
    w_q[[k for k in range(25) if k not in DROPPED]] = 1 / 20
    rows.append(
        equal(
            "JSD(mixtures) = JSD(mode weights) [mode-dropped grid25]",
            jsd_discrete(p.weights, w_q),
            j.value,
            j.error,
            _quad_tol(j),
        )
    )
    p, q = pairs["disjoint 1-D"]
    t = total_variation(p, q)
    rows.append(equal("TV = 1 on disjoint supports [disjoint 1-D]", 1.0, t.value, t.error, _quad_tol(t)))
    return rows


@register_claim("kl_nonnegative")
def claim_kl(seed: int) -> list[ClaimResult]:
    """KL ≥ 0 with equality iff equal; exact values where modes are well separated."""
    pairs = toy_pairs()
    p, q = pairs["identical ring8"]
    k = kl_divergence(p, q)
    rows = [equal("KL = 0 [identical ring8]", 0.0, k.value, k.error, _quad_tol(k))]
    p, q = pairs["shifted ring8"]
    for label, (a, b) in {"p||q": (p, q), "q||p": (q, p)}.items():
        k = kl_divergence(a, b)
        rows.append(at_least(f"KL({label}) >= 0 [shifted ring8]", 0.0, k.value, k.error, _quad_tol(k)))
        # Each mode moves by δ: KL(N(μ, σ²I) ‖ N(μ + δ, σ²I)) = |δ|²/(2σ²) = 2.
        rows.append(
            equal(
                f"KL({label}) = |shift|^2/(2 sigma^2) [shifted ring8]",
                RING_SHIFT**2 / (2 * 0.01**2),
                k.value,
                k.error,
                _quad_tol(k),
            )
        )
    p, q = pairs["mode-dropped grid25"]
    k = kl_divergence(q, p)
    rows.append(
        equal(
            "KL(p_g||p_data) = log(25/20) [mode-dropped grid25]", math.log(25 / 20), k.value, k.error, _quad_tol(k)
        )
    )
    p, q = pairs["disjoint 1-D"]
    k = kl_divergence(p, q)
    rows.append(at_least("KL >= 0 [disjoint 1-D]", 0.0, k.value, k.error, _quad_tol(k)))
    return rows


# -- PacGAN --------------------------------------------------------------------------------------
@register_claim("packed_tv")
def claim_packed_tv(seed: int) -> list[ClaimResult]:
    """TV(P^m, Q^m) is non-decreasing in m; dropping mass ε of modes gives 1 − (1 − ε)^m."""
    rows = []
    p, q = toy_pairs()["mode-dropped grid25"]
    w_q = np.zeros(25)
    w_q[[k for k in range(25) if k not in DROPPED]] = 1 / 20
    exact, mc = [], []
    for m in range(1, 5):
        predicted = 1 - (1 - len(DROPPED) / 25) ** m
        e = packed_total_variation(p.weights, w_q, m)
        est = packed_total_variation(p, q, m, n=5_000, seed=seed + m)  # independent seeds per m
        exact.append(e.value)
        mc.append(est)
        rows.append(
            equal(f"TV(P^{m}, Q^{m}) = 1 - 0.8^{m} [mode weights, exact]", predicted, e.value, 0.0, ROUNDING)
        )
        rows.append(
            equal(
                f"TV(P^{m}, Q^{m}) = 1 - 0.8^{m} [mode-dropped grid25, MC]",
                predicted,
                est.value,
                est.error,
                MC_SIGMAS * est.error,
            )
        )
    rows.append(
        at_least(
            "min_m TV(P^(m+1)) - TV(P^m) >= 0, m=1..3 [exact]", 0.0, float(np.min(np.diff(exact))), 0.0, ROUNDING
        )
    )
    steps = [b.value - a.value for a, b in zip(mc, mc[1:])]
    se = [math.hypot(a.error, b.error) for a, b in zip(mc, mc[1:])]
    i = int(np.argmin([s / e for s, e in zip(steps, se)]))
    rows.append(
        at_least(
            f"TV(P^{i + 2}) - TV(P^{i + 1}) >= 0, weakest step [grid25, MC]",
            0.0,
            steps[i],
            se[i],
            MC_SIGMAS * se[i],
        )
    )
    rng = np.random.default_rng(seed)
    a, b = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
    tvs = [packed_total_variation(a, b, m).value for m in range(1, 7)]
    rows.append(
        at_least(
            "TV(P^m, Q^m) non-decreasing, m=1..6 [random 5-outcome pair, exact]",
            0.0,
            float(np.min(np.diff(tvs))),
            0.0,
            ROUNDING,
        )
    )
    lo, hi = packed_tv_bounds(a, b, 6)
    rows.append(at_least("TV(P^6, Q^6) >= 1 - BC^6 [random 5-outcome pair]", lo, tvs[-1], 0.0, ROUNDING))
    rows.append(at_most("TV(P^6, Q^6) <= sqrt(1 - BC^12) [random 5-outcome pair]", hi, tvs[-1], 0.0, ROUNDING))
    return rows


# -- Wasserstein (ganlab.wasserstein) ------------------------------------------------------------
@register_claim("jsd_saturates_w1_smooth")
def claim_jsd_vs_w1(seed: int) -> list[ClaimResult]:
    """Once supports separate, JSD is stuck at log 2 (no gradient) while W1 grows with the shift."""
    from ..theory.wasserstein import w1

    rows = []
    p = ring(8)
    x = p.sample(400, seed, dtype=torch.float64)
    for t in (0.4, 0.8, 1.2):
        # Shifts of 40σ or more and ≥ 21σ from every other ring mode: overlap < e^-55.
        q = shifted(p, (t, 0.0))
        j = jensen_shannon(p, q)
        rows.append(equal(f"JSD(ring8, ring8 + ({t}, 0)) = log 2", LOG2, j.value, j.error, _quad_tol(j)))
        # W1(x, x + v) = |v| exactly: the shift coupling costs |v|, and f(x) = <x, v>/|v| is
        # 1-Lipschitz with E f(x + v) − E f(x) = |v|.
        rows.append(
            equal(
                f"W1(x, x + ({t}, 0)) = {t} [400 ring8 samples]",
                t,
                w1(x, x + torch.tensor([t, 0.0], dtype=torch.float64)),
                0.0,
                LP_RTOL * t,
            )
        )
    return rows


@register_claim("gaussian_w2")
def claim_gaussian_w2(seed: int) -> list[ClaimResult]:
    """Closed-form Gaussian W2 vs POT's exact W2 between clouds with no sampling error.

    The W2-optimal map N(m1, C1) → N(m2, C2) is T(x) = m2 + A(x − m1) with
    A = C1^{-1/2}(C1^{1/2} C2 C1^{1/2})^{1/2} C1^{-1/2}, the gradient of a convex function, so the
    plan x_i ↦ T(x_i) is also optimal between the empirical clouds {x_i} and {T(x_i)} (Knott–Smith);
    when {x_i} has exactly mean m1 and covariance C1 its cost is the closed form exactly. The two
    must agree to LP precision: dropping the cross term or assuming C1, C2 commute fails."""
    from ..theory.wasserstein import gaussian_w2, psd_sqrt, w2

    m1, c1 = np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.5]])
    m2, c2 = np.array([1.0, -0.5]), np.array([[0.4, -0.1], [-0.1, 0.8]])
    n = 200
    z = np.random.default_rng(seed).normal(size=(n, 2))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(z.T @ z / n)).T  # exactly mean 0, covariance I
    s1 = psd_sqrt("c1", c1)
    x = m1 + z @ s1
    s1_inv = np.linalg.inv(s1)
    y = m2 + (x - m1) @ (s1_inv @ psd_sqrt("s1 c2 s1", s1 @ c2 @ s1) @ s1_inv)
    expected = gaussian_w2(m1, c1, m2, c2)
    return [equal(f"W2(moment-matched clouds, n={n}) = closed-form Gaussian W2", expected, w2(x, y), 0.0,
                  LP_RTOL * max(expected, 1.0))]


@register_claim("w1_le_w2")
def claim_w1_le_w2(seed: int) -> list[ClaimResult]:
    """W1 ≤ W2 (Jensen on the W2-optimal coupling), exactly on empirical measures."""
    from ..theory.wasserstein import w1, w2

    rows = []
    for name, (p, q) in toy_pairs().items():
        x, y = p.sample(300, seed, dtype=torch.float64), q.sample(300, seed + 1, dtype=torch.float64)
        b = w2(x, y)
        rows.append(at_most(f"W1 <= W2 [{name}, 300 samples]", b, w1(x, y), 0.0, LP_RTOL * max(b, 1.0)))
    return rows


@register_claim("w1_1d_scipy")
def claim_w1_1d(seed: int) -> list[ClaimResult]:
    """In 1-D, W1 = ∫|F_u − F_v| (scipy.stats.wasserstein_distance) equals the LP optimum."""
    from ..theory.wasserstein import w1, wasserstein_1d

    p = mixture_1d((-2.0, 2.0), (0.5, 0.5))
    q = mixture_1d((-1.0, 3.0), (0.3, 0.8), (0.3, 0.7))
    u, v = p.sample(700, seed, dtype=torch.float64)[:, 0], q.sample(500, seed + 1, dtype=torch.float64)[:, 0]
    ref = float(scipy.stats.wasserstein_distance(u.numpy(), v.numpy()))
    return [
        equal(
            "W1 by LP (POT) = scipy.stats.wasserstein_distance [1-D, 700 vs 500]",
            ref,
            w1(u, v),
            0.0,
            LP_RTOL * max(ref, 1.0),
        ),
        equal(
            "wasserstein_1d = scipy.stats.wasserstein_distance [1-D, 700 vs 500]",
            ref,
            wasserstein_1d(u, v),
            0.0,
            LP_RTOL * max(ref, 1.0),
        ),
    ]


# -- maximum likelihood ----------------------------------------------------------------------------
@register_claim("mle_minimises_kl")
def claim_mle(seed: int) -> list[ClaimResult]:
    """The Gaussian MLE (moment match as n → ∞) minimises KL(p_data ‖ N(μ, σ²))."""
    rows = []
    p = mixture_1d((-1.0, 2.0), (0.4, 0.7), (0.3, 0.7))
    mean, cov = moment_matched_gaussian(p)
    m, s2 = float(mean[0]), float(cov[0, 0])
    n = 20_000
    x = p.sample(n, seed, dtype=torch.float64)
    mu_hat, cov_hat = mle_gaussian(x)
    c = (x[:, 0] - m).numpy()
    se_mean = math.sqrt(s2 / n)
    se_var = math.sqrt(max(np.mean(c**4) - s2**2, 0.0) / n)  # sd of (x − m)² over √n
    rows.append(
        equal(f"sample MLE mean -> mixture mean [n={n}]", m, float(mu_hat[0]), se_mean, MC_SIGMAS * se_mean)
    )
    rows.append(
        equal(
            f"sample MLE variance -> mixture variance [n={n}]",
            s2,
            float(cov_hat[0, 0]),
            se_var,
            MC_SIGMAS * se_var,
        )
    )

    k0 = kl_divergence(p, gaussian_target(mean, cov))
    sd = math.sqrt(s2)
    for delta in (-0.1 * sd, 0.1 * sd):
        k = kl_divergence(p, gaussian_target(mean + delta, cov))
        # KL(p‖N(μ, S)) − KL(p‖N(m, S)) = (μ − m)²/(2S) exactly.
        rows.append(
            equal(
                f"KL(mu = m {delta:+.3f}) - KL(MLE) = delta^2/(2 s^2)",
                delta**2 / (2 * s2),
                k.value - k0.value,
                k.error + k0.error,
                _quad_tol(k, k0),
            )
        )
    for r in (0.9, 1.1):
        k = kl_divergence(p, gaussian_target(mean, cov * r))
        # KL(p‖N(m, rS)) − KL(p‖N(m, S)) = ½(1/r − 1 + log r) > 0 for r ≠ 1.
        rows.append(
            equal(
                f"KL(s^2 x {r}) - KL(MLE) = (1/r - 1 + log r)/2",
                0.5 * (1 / r - 1 + math.log(r)),
                k.value - k0.value,
                k.error + k0.error,
                _quad_tol(k, k0),
            )
        )
    m1, c1 = np.array([0.5, -0.2]), np.array([[0.6, 0.2], [0.2, 0.3]])
    m2, c2 = np.array([0.0, 0.4]), np.array([[1.0, -0.3], [-0.3, 0.9]])
    k = kl_divergence(gaussian_target(m1, c1), gaussian_target(m2, c2))
    rows.append(
        equal(
            "KL(N1||N2) quadrature = closed form [2-D Gaussians]",
            gaussian_kl(m1, c1, m2, c2),
            k.value,
            k.error,
            _quad_tol(k),
        )
    )
    return rows


# -- non-saturating loss ---------------------------------------------------------------------------
@register_claim("nonsaturating_gradient")
def claim_nonsaturating(seed: int) -> list[ClaimResult]:
    """|d(−log D)/dl| / |d log(1 − D)/dl| = (1 − D)/D: the non-saturating loss keeps its gradient
    when D(G(z)) → 0 (autograd vs the formula)."""
    rows = []
    for d in (0.5, 0.1, 1e-3):
        logit = torch.tensor(math.log(d / (1 - d)), dtype=torch.float64, requires_grad=True)
        (g_mm,) = torch.autograd.grad(torch.log1p(-torch.sigmoid(logit)), logit)
        (g_ns,) = torch.autograd.grad(-torch.log(torch.sigmoid(logit)), logit)
        ratio = (1 - d) / d
        rows.append(
            equal(
                f"|grad non-saturating| / |grad minimax| = (1-D)/D at D(G(z)) = {d}",
                ratio,
                float(g_ns.abs() / g_mm.abs()),
                0.0,
                1e-9 * ratio,
            )
        )
    return rows


# -- cross-checks ------------------------------------------------------------------------------------
@register_claim("monte_carlo_vs_quadrature")
def claim_mc_vs_quadrature(seed: int) -> list[ClaimResult]:
    """Monte Carlo (torch densities) agrees with quadrature (numpy densities) within 4 SE."""
    rows = []
    p, q = toy_pairs()["shifted ring8"]
    for name, fn in [
        ("JSD", jensen_shannon),
        ("KL", kl_divergence),
        ("TV", total_variation),
        ("C(G)", virtual_criterion),
    ]:
        exact, mc = fn(p, q), fn(p, q, method="monte_carlo", n=10_000, seed=seed)
        rows.append(
            equal(
                f"{name} Monte Carlo = quadrature [shifted ring8]",
                exact.value,
                mc.value,
                mc.error,
                MC_SIGMAS * mc.error + exact.error,
            )
        )
    return rows


@register_claim("densities_integrate_to_one")
def claim_normalised(seed: int) -> list[ClaimResult]:
    """∫ p = 1 for every registered target with a density (quadrature)."""
    from ..theory.divergences import integrate_over_modes

    rows = []
    for name in sorted(TARGETS):
        if name in ("mixture", "swissroll"):  # needs parameters / has no density
            continue
        t = make_target(name)
        e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [t])
        rows.append(equal(f"integral of p = 1 [{name}]", 1.0, e.value, e.error, _quad_tol(e)))
    return rows


# -- running -----------------------------------------------------------------------------------------
def run_claims(seed: int = 0, names: Sequence[str] | None = None) -> list[ClaimResult]:
    """Run the registered claims (all, or ``names``) and return every row."""
    names = list(CLAIMS) if names is None else [check_choice("claim", n, CLAIMS) for n in names]
    results: list[ClaimResult] = []
    for name in names:
        results.extend(CLAIMS[name](seed))
    return results


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def format_table(results: Sequence[ClaimResult]) -> str:
    """A plain-text table with columns claim, predicted, measured, error, tolerance, pass."""
    header = ["claim", "predicted", "measured", "error", "tolerance", "pass"]
    rows = [
        [
            r.claim,
            _fmt(r.predicted),
            _fmt(r.measured),
            _fmt(r.error),
            _fmt(r.tolerance),
            "yes" if r.passed else "NO",
        ]
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    return "\n".join(lines)


def _json_number(v: float) -> float | None:
    """JSON has no inf/NaN: those become null."""
    return float(v) if math.isfinite(v) else None


def to_json_records(results: Sequence[ClaimResult]) -> list[dict[str, Any]]:
    """One dict per row with exactly the keys claim, predicted, measured, error, tolerance, pass."""
    return [
        {
            "claim": r.claim,
            "predicted": _json_number(r.predicted),
            "measured": _json_number(r.measured),
            "error": _json_number(r.error),
            "tolerance": _json_number(r.tolerance),
            "pass": bool(r.passed),
        }
        for r in results
    ]
