"""The exact claims of ``ganlab verify``: closed forms, quadrature, linear programs and Monte Carlo
of known densities, each checked against an independent side.

Tolerances are fixed before measuring, from what each method promises:

* quadrature (``QUAD_PROMISE`` = 1e-9 per O(1) integral): ``integrate_over_modes`` stops at an
  error estimate of 1e-10 relative, an estimate that overstates the true error (the tests check
  it against closed forms); a factor 10 above is its promise. Sums of integrals add promises.
* Monte Carlo (``MC_SIGMAS`` = 4 a-priori standard errors): the standard error is computed from
  the known distribution of the terms (a 1-D integral of the exact densities, or a Bernoulli or
  χ² law), not read from the estimator under test; a correct estimate fails with probability
  6e-5. The standard errors the estimators report are themselves rows, against the same a-priori
  value, within 4 standard deviations of a sample standard deviation.
* linear programs (``LP_RTOL`` = 1e-9 relative): POT's network simplex in float64.
* exact formulas (``ROUNDING`` = 1e-12): float64 rounding of O(1) values over a few hundred
  operations is ~1e-14.

The independent sides are written out here: hand formulas, closed forms, scipy ``quad`` on 1-D
reductions (the shifted ring8 pair is 8 far-apart copies of N(0, σ²I) against N((2σ, 0), σ²I),
so every quantity is a 1-D integral along the shift), the quantile formula for 1-D Wasserstein.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.stats
import torch

from ..metrics.modes import mode_metrics
from ..theory.divergences import jensen_shannon, jsd_discrete, kl_divergence, total_variation
from ..theory.gan import (
    criterion_from_jsd,
    gaussian_kl,
    gaussian_target,
    make_optimal_discriminator,
    mle_gaussian,
    moment_matched_gaussian,
    optimal_discriminator,
    pointwise_maximiser,
    value_function,
    virtual_criterion,
)
from ..theory.packing import packed_total_variation, packed_tv_bounds
from ..theory.quadrature import integrate_over_modes
from ..theory.targets import TARGETS, isotropic_mixture, make_target, mixture_1d, ring
from ..training import losses
from ..training.methods import METHODS
from ..training.losses import least_squares
from . import ClaimResult, at_least, at_most, equal, register_claim
from ..theory.pairs import DROPPED, RING_SHIFT, shifted, toy_pairs

LOG2 = math.log(2.0)
EPS = float(np.finfo(np.float64).eps)
QUAD_PROMISE = 1e-9
MC_SIGMAS = 4.0
LP_RTOL = 1e-9
ROUNDING = 1e-12
RING_STD = 0.01  # ring8's mode std
DELTA = RING_SHIFT / RING_STD  # the shifted ring8 pair's shift in mode stds: 2


def rounding(*values: float) -> float:
    """The rounding error of an exact float64 formula: 64 ε times the largest magnitude (≥ 1)."""
    return 64 * EPS * max([1.0, *(abs(v) for v in values)])


# -- the 1-D reduction of shifted ring8 -------------------------------------------------------------
def _log_phi(x: float, mean: float = 0.0) -> float:
    return -0.5 * (x - mean) ** 2 - 0.5 * math.log(2 * math.pi)


def line_integral(f: Callable[[float], float]) -> tuple[float, float]:
    """∫ f over the line by scipy quad, cut at the crossing x = δ/2 of N(0, 1) and N(δ, 1); beyond
    ±40 the densities are below e^-800. Returns (value, quad's error)."""
    a, ea = scipy.integrate.quad(f, -40.0, DELTA / 2, epsabs=1e-14, epsrel=1e-13, limit=200)
    b, eb = scipy.integrate.quad(f, DELTA / 2, DELTA + 40.0, epsabs=1e-14, epsrel=1e-13, limit=200)
    return a + b, ea + eb


def _jsd_term(x: float) -> float:
    """log(2p/(p + q)) at x for p = N(0, 1), q = N(δ, 1): the Monte Carlo term of JSD under p."""
    lp, lq = _log_phi(x), _log_phi(x, DELTA)
    return LOG2 + lp - np.logaddexp(lp, lq)


def _tv_term(x: float) -> float:
    """(1 − q/p)_+ at x: the Monte Carlo term of TV under p."""
    return max(0.0, -math.expm1(_log_phi(x, DELTA) - _log_phi(x)))


def term_moments(term: Callable[[float], float]) -> tuple[float, float, float]:
    """(mean, variance, kurtosis) of term(X), X ~ N(0, 1), by ``line_integral``."""
    density = lambda x: math.exp(_log_phi(x))
    mean = line_integral(lambda x: density(x) * term(x))[0]
    var = line_integral(lambda x: density(x) * (term(x) - mean) ** 2)[0]
    m4 = line_integral(lambda x: density(x) * (term(x) - mean) ** 4)[0]
    return mean, var, m4 / var**2


def shifted_ring_reference() -> dict[str, tuple[float, float]]:
    """JSD, KL, TV and C(G) of the shifted ring8 pair, (value, error) each: 1-D integrals and
    closed forms (KL = δ²/2, TV = erf(δ/(2√2)), C(G) = −log 4 + 2·JSD as its own integral)."""

    def jsd(x: float) -> float:
        lp, lq = _log_phi(x), _log_phi(x, DELTA)
        lm = np.logaddexp(lp, lq) - LOG2
        return 0.5 * math.exp(lp) * (lp - lm) + 0.5 * math.exp(lq) * (lq - lm)

    def criterion(x: float) -> float:
        lp, lq = _log_phi(x), _log_phi(x, DELTA)
        ls = np.logaddexp(lp, lq)
        return math.exp(lp) * (lp - ls) + math.exp(lq) * (lq - ls)

    return {
        "JSD": line_integral(jsd),
        "KL": (DELTA**2 / 2, rounding(DELTA**2)),
        "TV": (math.erf(DELTA / (2 * math.sqrt(2))), rounding(1.0)),
        "C(G)": line_integral(criterion),
    }


def mode_weight_criterion() -> float:
    """C(G) of the mode-dropped grid25 pair from the mode weights alone (modes 40σ apart): on
    the 20 kept modes w = 1/25, v = 1/20 give w log(w/(w+v)) + v log(v/(w+v)); the 5 dropped
    modes give w log(w/w) = 0. Total 0.8 log(4/9) + log(5/9)."""
    w, v = 1 / 25, 1 / 20
    return 20 * (w * math.log(w / (w + v)) + v * math.log(v / (w + v)))


def mode_weight_jsd() -> float:
    """JSD of the mode-dropped grid25 pair from its mode weights: ½ Σ w log(w/m) + v log(v/m),
    m = (w + v)/2; a dropped mode adds ½ w log 2."""
    w, v = 1 / 25, 1 / 20
    m = (w + v) / 2
    return 0.5 * (20 * (w * math.log(w / m) + v * math.log(v / m)) + 5 * w * math.log(2.0))


def _mixture_density(x: np.ndarray, means: np.ndarray, std: float) -> np.ndarray:
    """Σ_k (1/K) N(x; μ_k, std² I) in 2-D, written out in numpy."""
    d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * std**2)).mean(axis=1) / (2 * math.pi * std**2)


# -- Proposition 1 -----------------------------------------------------------------------------------
@register_claim("optimal_discriminator")
def claim_optimal_discriminator(seed: int) -> list[ClaimResult]:
    """D* = a/(a + b) maximises a log y + b log(1 − y); D* on targets equals the hand formula;
    V(D, G) for D = σ(logit D* + t) against its 1-D integral; V(D*, G) finite where D* rounds to 1."""
    rows = []
    for a, b in [(0.3, 0.7), (2.0, 0.5), (1e-3, 5.0), (4.0, 4.0)]:
        objective = lambda y: a * math.log(y) + b * math.log1p(-y)  # written out, not ganlab's
        res = scipy.optimize.minimize_scalar(
            lambda y: -objective(y), bounds=(1e-12, 1 - 1e-12), method="bounded", options={"xatol": 1e-12}
        )
        y = pointwise_maximiser(a, b)
        # At a maximum f is flat to second order, so rounding (ε|f|) hides the argmax within
        # √(2ε|f|/|f''|); 4× that plus the optimiser's xatol is the attainable accuracy.
        curvature = a / y**2 + b / (1 - y) ** 2
        resolution = math.sqrt(2 * EPS * max(abs(objective(y)), 1e-300) / curvature)
        rows.append(
            equal(f"argmax a log y + b log(1-y) = a/(a+b) (a={a}, b={b})", y, float(res.x), resolution,
                  4 * resolution + 2e-12, "optimizer resolution")
        )

    p, q = toy_pairs()["shifted ring8"]
    x = torch.cat([p.sample(500, seed, dtype=torch.float64), q.sample(500, seed + 1, dtype=torch.float64)])
    a = _mixture_density(x.numpy(), p.means.numpy(), RING_STD)  # densities by hand: O(1) near the modes
    b = _mixture_density(x.numpy(), q.means.numpy(), RING_STD)
    d_hand, logit_hand = a / (a + b), np.log(a) - np.log(b)
    d_star = make_optimal_discriminator(p, q)
    for label, measured, hand in [
        ("optimal_discriminator = p_data/(p_data + p_g)", optimal_discriminator(p, q, x), d_hand),
        ("optimal_discriminator(real_label=0) = p_g/(p_data + p_g)", optimal_discriminator(p, q, x, real_label=0), 1 - d_hand),
        ("make_optimal_discriminator = p_data/(p_data + p_g)", d_star(x), d_hand),
    ]:
        diff = float(np.abs(measured.numpy() - hand).max())
        # relative rounding of the hand densities (exp of |z|² up to ~20) is ~1e-14
        rows.append(equal(f"{label} [shifted ring8, 1000 points, max |diff|]", 0.0, diff, rounding(1.0), ROUNDING, "rounding"))
    diff = float(np.abs(d_star.logit(x).numpy() - logit_hand).max())
    rows.append(equal("D*.logit = log p_data - log p_g [shifted ring8, max |diff|]", 0.0, diff, rounding(30.0), 1e-10, "rounding"))

    # V(σ(l* + t), G) on shifted ring8: under p_data, l*(X) ~ N(δ²/2, δ²), under p_g the same
    # law negated, so V = E log σ(Z + t) + E log σ(Z − t), Z ~ N(δ²/2, δ²): a 1-D integral.
    # t = 0 is D* itself (read through its logit), t = 0.5 a D given as probabilities only.
    v_star = value_function(d_star, p, q)
    for t in (0.0, 0.5):
        v = v_star if t == 0 else value_function(lambda z: torch.sigmoid(d_star.logit(z) + 0.5), p, q)

        def integrand(zz: float, t: float = t) -> float:
            z = DELTA**2 / 2 + DELTA * zz
            return math.exp(_log_phi(zz)) * (-np.logaddexp(0.0, -(z + t)) - np.logaddexp(0.0, -(z - t)))

        ref, ref_err = scipy.integrate.quad(integrand, -40, 40, epsabs=1e-14, epsrel=1e-13, limit=200)
        rows.append(
            equal(f"V(sigmoid(logit D* + {t}), G) = E log s(Z+t) + E log s(Z-t), Z ~ N(2, 4) [shifted ring8]",
                  ref, v.value, v.error + ref_err, QUAD_PROMISE, "quadrature bound")
        )
    rows.append(at_most("V(D, G) <= V(D*, G) for logit D = logit D* + 0.5 [shifted ring8]",
                        v_star.value, v.value, v.error + v_star.error, 2 * QUAD_PROMISE, "quadrature bound"))
    half = value_function(lambda z: torch.full((z.shape[0],), 0.5, dtype=torch.float64), p, q)
    rows.append(equal("V(1/2, G) = -log 4 (D = 1/2 everywhere) [shifted ring8]", -2 * LOG2, half.value, half.error,
                      QUAD_PROMISE, "quadrature bound"))
    # D* rounds to 1.0 at the dropped modes, where p_g is e^-800, not 0: read through its logit
    # V(D*, G) stays finite and equals the mode weights' C(G).
    p, q = toy_pairs()["mode-dropped grid25"]
    v = value_function(make_optimal_discriminator(p, q), p, q)
    rows.append(equal("V(D*, G) = C(G) of the mode weights, D* rounding to 1 [mode-dropped grid25]",
                      mode_weight_criterion(), v.value, v.error, QUAD_PROMISE, "quadrature bound"))
    return rows


# -- Theorem 1 ---------------------------------------------------------------------------------------
@register_claim("virtual_criterion")
def claim_virtual_criterion(seed: int) -> list[ClaimResult]:
    """C(G) computed from D* equals −log 4 + 2·JSD (Theorem 1) and its closed forms on every pair;
    C(G) ≥ −log 4 with equality at p_g = p_data."""
    rows = []
    closed = {
        "identical ring8": (-2 * LOG2, rounding(1.0)),
        "shifted ring8": shifted_ring_reference()["C(G)"],
        "mode-dropped grid25": (mode_weight_criterion(), rounding(1.0)),
        "disjoint 1-D": (0.0, 0.0),  # D* = 1 on p_data's support, 0 on p_g's: log 1 + log 1
    }
    for name, (p, q) in toy_pairs().items():
        c, j = virtual_criterion(p, q), jensen_shannon(p, q)
        rows.append(equal(f"C(G) = -log 4 + 2 JSD [{name}]", criterion_from_jsd(j.value), c.value,
                          c.error + 2 * j.error, 3 * QUAD_PROMISE, "quadrature bound"))
        value, err = closed[name]
        rows.append(equal(f"C(G) = closed form [{name}]", value, c.value, c.error + err, QUAD_PROMISE, "quadrature bound"))
        if name != "identical ring8":
            rows.append(at_least(f"C(G) >= -log 4 [{name}]", -2 * LOG2, c.value, c.error, QUAD_PROMISE, "quadrature bound"))
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    c = virtual_criterion(p, q)
    rows.append(equal("C(G) = -log 4 + 2 JSD [random 6-outcome pair, exact]", criterion_from_jsd(jsd_discrete(p, q)),
                      c.value, rounding(1.0), ROUNDING, "rounding"))
    return rows


@register_claim("jsd_bounds")
def claim_jsd_bounds(seed: int) -> list[ClaimResult]:
    """0 ≤ JSD ≤ log 2; JSD = log 2 on disjoint supports; JSD against closed forms."""
    rows = []
    pairs = toy_pairs()
    ref = shifted_ring_reference()["JSD"]
    for name in ("shifted ring8", "mode-dropped grid25"):
        j = jensen_shannon(*pairs[name])
        rows.append(at_least(f"JSD >= 0 [{name}]", 0.0, j.value, j.error, QUAD_PROMISE, "quadrature bound"))
        rows.append(at_most(f"JSD <= log 2 [{name}]", LOG2, j.value, j.error, QUAD_PROMISE, "quadrature bound"))
        if name == "shifted ring8":
            rows.append(equal(f"JSD = its 1-D integral along the shift [{name}]", ref[0], j.value, j.error + ref[1],
                              QUAD_PROMISE, "quadrature bound"))
        else:
            rows.append(equal(f"JSD(mixtures) = JSD(mode weights) [{name}]", mode_weight_jsd(), j.value, j.error,
                              QUAD_PROMISE, "quadrature bound"))
    j = jensen_shannon(*pairs["disjoint 1-D"])
    rows.append(equal("JSD = log 2 on disjoint supports [disjoint 1-D]", LOG2, j.value, j.error, QUAD_PROMISE,
                      "quadrature bound"))
    return rows


@register_claim("kl_divergence")
def claim_kl(seed: int) -> list[ClaimResult]:
    """KL against closed forms: shifted Gaussians, dropped modes, 1-D Gaussians of different scale."""
    rows = []
    pairs = toy_pairs()
    p, q = pairs["shifted ring8"]
    for label, (a, b) in {"p||q": (p, q), "q||p": (q, p)}.items():
        k = kl_divergence(a, b)
        # each mode moves by δ: KL(N(μ, σ²I) ‖ N(μ + δ, σ²I)) = |δ|²/(2σ²) = 2
        rows.append(equal(f"KL({label}) = |shift|^2/(2 sigma^2) [shifted ring8]", RING_SHIFT**2 / (2 * RING_STD**2),
                          k.value, k.error, QUAD_PROMISE, "quadrature bound"))
    p, q = pairs["mode-dropped grid25"]
    k = kl_divergence(q, p)
    rows.append(equal("KL(p_g||p_data) = log(25/20) [mode-dropped grid25]", math.log(25 / 20), k.value, k.error,
                      QUAD_PROMISE, "quadrature bound"))
    k = kl_divergence(mixture_1d((0.0,), (1.0,)), mixture_1d((1.0,), (2.0,)))
    rows.append(equal("KL(N(0,1)||N(1,4)) = log 2 + (1 + 1)/8 - 1/2 [1-D]", LOG2 + 2 / 8 - 0.5, k.value, k.error,
                      QUAD_PROMISE, "quadrature bound"))
    return rows


@register_claim("total_variation")
def claim_tv(seed: int) -> list[ClaimResult]:
    """TV against closed forms, including the kinked pairs that used to fail: concentric Gaussians
    through their crossing radius, equal Gaussians shifted, disjoint supports."""
    rows = []
    pairs = toy_pairs()
    t = total_variation(*pairs["shifted ring8"])
    rows.append(equal("TV = erf(delta/(2 sqrt 2)), delta = 2 sigma [shifted ring8]", math.erf(DELTA / (2 * math.sqrt(2))),
                      t.value, t.error, QUAD_PROMISE, "quadrature bound"))
    # N(0, s1² I₂) vs N(0, s2² I₂): p > q inside the radius r, r² = 2 log(s2²/s1²)/(1/s1² − 1/s2²),
    # and P(|X| < r) = 1 − exp(−r²/2s²) in 2-D, so TV = exp(−r²/2s2²) − exp(−r²/2s1²); for
    # s2 = 2 s1: 4^(−1/3) − 4^(−4/3). ring8 with std 0.01 against std 0.02 is 8 far-apart copies.
    concentric = 4 ** (-1 / 3) - 4 ** (-4 / 3)
    for label, (p, q) in {
        "ring8 std 0.01 vs 0.02": (ring(8, std=0.01), ring(8, std=0.02)),
        "N(0, I) vs N(0, 4I)": (isotropic_mixture(torch.zeros(1, 2), 1.0), isotropic_mixture(torch.zeros(1, 2), 2.0)),
    }.items():
        t = total_variation(p, q)
        rows.append(equal(f"TV = 4^(-1/3) - 4^(-4/3) (crossing radius) [{label}]", concentric, t.value, t.error,
                          QUAD_PROMISE, "quadrature bound"))
    # 1-D: N(0, 1) vs N(0, 4) cross at ±c, c² = 8 log 2 / 3: TV = 2[Φ(c) − Φ(c/2)]
    c = math.sqrt(8 * LOG2 / 3)
    t = total_variation(mixture_1d((0.0,), (1.0,)), mixture_1d((0.0,), (2.0,)))
    rows.append(equal("TV = 2[Phi(c) - Phi(c/2)], c^2 = 8 log 2/3 [N(0,1) vs N(0,4), 1-D]",
                      2 * (scipy.special.ndtr(c) - scipy.special.ndtr(c / 2)), t.value, t.error, QUAD_PROMISE,
                      "quadrature bound"))
    t = total_variation(*pairs["disjoint 1-D"])
    rows.append(equal("TV = 1 on disjoint supports [disjoint 1-D]", 1.0, t.value, t.error, QUAD_PROMISE, "quadrature bound"))
    return rows


# -- PacGAN --------------------------------------------------------------------------------------------
@register_claim("packed_tv")
def claim_packed_tv(seed: int) -> list[ClaimResult]:
    """TV(P^m, Q^m) is non-decreasing in m; dropping mass ε of modes gives 1 − (1 − ε)^m."""
    rows = []
    p, q = toy_pairs()["mode-dropped grid25"]
    w_q = np.zeros(25)
    w_q[[k for k in range(25) if k not in DROPPED]] = 1 / 20
    n = 5_000
    exact, mc, predicted = [], [], []
    for m in range(1, 5):
        t = 1 - (1 - len(DROPPED) / 25) ** m
        e = packed_total_variation(p.weights, w_q, m)
        est = packed_total_variation(p, q, m, n=n, seed=seed + m)  # independent seeds per m
        exact.append(e.value)
        mc.append(est)
        predicted.append(t)
        rows.append(equal(f"TV(P^{m}, Q^{m}) = 1 - 0.8^{m} [mode weights, exact]", t, e.value, rounding(1.0), ROUNDING, "rounding"))
        # every Monte Carlo term is 1 (the pack hits a dropped mode) or 0: Bernoulli(t), SE √(t(1−t)/n)
        se = math.sqrt(t * (1 - t) / n)
        rows.append(equal(f"TV(P^{m}, Q^{m}) = 1 - 0.8^{m} [mode-dropped grid25, MC n={n}]", t, est.value, est.error,
                          MC_SIGMAS * se, "standard error"))
        if m == 2:
            # the reported SE is √(t̂(1 − t̂)/(n − 1)): within 4 SE of t̂ it stays in this band
            band = max(abs(math.sqrt(s * (1 - s) / n) - se) for s in (t - MC_SIGMAS * se, t + MC_SIGMAS * se))
            rows.append(equal(f"MC standard error = sqrt(t(1-t)/n) [packed TV m=2, n={n}]", se, est.error, band / MC_SIGMAS,
                              band + rounding(se) + se / n, "standard error"))
    rows.append(at_least("min_m TV(P^(m+1)) - TV(P^m) >= 0, m=1..3 [exact]", 0.0, float(np.min(np.diff(exact))),
                         rounding(1.0), ROUNDING, "rounding"))
    steps = [b.value - a.value for a, b in zip(mc, mc[1:])]
    se = [math.sqrt((s * (1 - s) + u * (1 - u)) / n) for s, u in zip(predicted, predicted[1:])]
    i = int(np.argmin([s / e for s, e in zip(steps, se)]))
    rows.append(at_least(f"TV(P^{i + 2}) - TV(P^{i + 1}) >= 0, weakest step [grid25, MC]", 0.0, steps[i],
                         math.hypot(mc[i].error, mc[i + 1].error), MC_SIGMAS * se[i], "standard error"))
    rng = np.random.default_rng(seed)
    a, b = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
    tvs = [packed_total_variation(a, b, m).value for m in range(1, 7)]
    rows.append(at_least("TV(P^m, Q^m) non-decreasing, m=1..6 [random 5-outcome pair, exact]", 0.0,
                         float(np.min(np.diff(tvs))), rounding(1.0), ROUNDING, "rounding"))
    lo, hi = packed_tv_bounds(a, b, 6)
    rows.append(at_least("TV(P^6, Q^6) >= 1 - BC^6 [random 5-outcome pair]", lo, tvs[-1], rounding(1.0), ROUNDING, "rounding"))
    rows.append(at_most("TV(P^6, Q^6) <= sqrt(1 - BC^12) [random 5-outcome pair]", hi, tvs[-1], rounding(1.0), ROUNDING, "rounding"))
    return rows


# -- Wasserstein ----------------------------------------------------------------------------------------
@register_claim("jsd_saturates_w1_smooth")
def claim_jsd_vs_w1(seed: int) -> list[ClaimResult]:
    """Once supports separate, JSD is stuck at log 2 (no gradient) while W1 grows with the shift."""
    from ..theory.wasserstein import w1

    rows = []
    p = ring(8)
    x = p.sample(400, seed, dtype=torch.float64)
    for t in (0.4, 0.8, 1.2):
        # Shifts of 40σ or more and ≥ 21σ from every other ring mode: overlap < e^-55.
        j = jensen_shannon(p, shifted(p, (t, 0.0)))
        rows.append(equal(f"JSD(ring8, ring8 + ({t}, 0)) = log 2", LOG2, j.value, j.error, QUAD_PROMISE, "quadrature bound"))
        # W1(x, x + v) = |v| exactly: the shift coupling costs |v|, and f(x) = <x, v>/|v| is
        # 1-Lipschitz with E f(x + v) − E f(x) = |v|.
        rows.append(equal(f"W1(x, x + ({t}, 0)) = {t} [400 ring8 samples]", t,
                          w1(x, x + torch.tensor([t, 0.0], dtype=torch.float64)), rounding(t), LP_RTOL * t, "rounding"))
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
    return [equal(f"W2(moment-matched clouds, n={n}) = closed-form Gaussian W2", expected, w2(x, y),
                  rounding(expected), LP_RTOL * max(expected, 1.0), "rounding")]


@register_claim("w1_le_w2")
def claim_w1_le_w2(seed: int) -> list[ClaimResult]:
    """W1 ≤ W2 (Jensen on the W2-optimal coupling), exactly on empirical measures."""
    from ..theory.wasserstein import w1, w2

    rows = []
    for name, (p, q) in toy_pairs().items():
        x, y = p.sample(300, seed, dtype=torch.float64), q.sample(300, seed + 1, dtype=torch.float64)
        b = w2(x, y)
        rows.append(at_most(f"W1 <= W2 [{name}, 300 samples]", b, w1(x, y), rounding(b), LP_RTOL * max(b, 1.0), "rounding"))
    return rows


def quantile_w1(u: np.ndarray, v: np.ndarray) -> float:
    """W1 of two 1-D samples written out: ∫ |F_u(t) − F_v(t)| dt, the empirical CDFs being step
    functions that change only at the merged sample points (for equal sizes this is
    mean |sort(u) − sort(v)|)."""
    us, vs = np.sort(u), np.sort(v)
    points = np.sort(np.concatenate([us, vs]))
    f_u = np.searchsorted(us, points[:-1], side="right") / us.size
    f_v = np.searchsorted(vs, points[:-1], side="right") / vs.size
    return float(np.sum(np.abs(f_u - f_v) * np.diff(points)))


@register_claim("w1_1d_quantiles")
def claim_w1_1d(seed: int) -> list[ClaimResult]:
    """In 1-D, W1 = ∫|F_u − F_v| = mean |sort(u) − sort(v)| (equal sizes), against POT's LP and
    ``wasserstein_1d``."""
    from ..theory.wasserstein import w1, wasserstein_1d

    rows = []
    p = mixture_1d((-2.0, 2.0), (0.5, 0.5))
    q = mixture_1d((-1.0, 3.0), (0.3, 0.8), (0.3, 0.7))
    u = p.sample(700, seed, dtype=torch.float64)[:, 0].numpy()
    v = q.sample(500, seed + 1, dtype=torch.float64)[:, 0].numpy()
    sorted_mean = float(np.mean(np.abs(np.sort(u[:500]) - np.sort(v))))
    merged = quantile_w1(u, v)
    for label, (a, b, ref) in {
        "500 vs 500, mean |sort(u) - sort(v)|": (u[:500], v, sorted_mean),
        "700 vs 500, integral |F_u - F_v|": (u, v, merged),
    }.items():
        rows.append(equal(f"W1 by LP (POT) = quantile formula [1-D, {label}]", ref, w1(a, b), rounding(ref),
                          LP_RTOL * max(ref, 1.0), "rounding"))
        rows.append(equal(f"wasserstein_1d = quantile formula [1-D, {label}]", ref, wasserstein_1d(a, b), rounding(ref),
                          LP_RTOL * max(ref, 1.0), "rounding"))
    return rows


# -- maximum likelihood ----------------------------------------------------------------------------------
@register_claim("mle_minimises_kl")
def claim_mle(seed: int) -> list[ClaimResult]:
    """The Gaussian MLE (moment match as n → ∞) minimises KL(p_data ‖ N(μ, σ²))."""
    rows = []
    weights, means, stds = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.4, 0.7])
    p = mixture_1d(tuple(means), tuple(stds), tuple(weights))
    # the mixture's moments by hand: mean Σ w μ, variance Σ w(σ² + μ²) − mean², and the fourth
    # central moment Σ w (d⁴ + 6 d² σ² + 3 σ⁴), d = μ − mean
    m = float(weights @ means)
    s2 = float(weights @ (stds**2 + means**2)) - m * m
    d = means - m
    m4 = float(weights @ (d**4 + 6 * d**2 * stds**2 + 3 * stds**4))
    mean, cov = moment_matched_gaussian(p)
    rows.append(equal("moment_matched_gaussian = (sum w mu, sum w (s^2 + mu^2) - mean^2) [1-D mixture]",
                      0.0, max(abs(float(mean[0]) - m), abs(float(cov[0, 0]) - s2)), rounding(s2), ROUNDING, "rounding"))
    n = 20_000
    x = p.sample(n, seed, dtype=torch.float64)
    mu_hat, cov_hat = mle_gaussian(x)
    se_mean, se_var = math.sqrt(s2 / n), math.sqrt((m4 - s2**2) / n)  # a priori, from the exact moments
    rows.append(equal(f"sample MLE mean -> mixture mean [n={n}]", m, float(mu_hat[0]), se_mean, MC_SIGMAS * se_mean,
                      "standard error"))
    # the MLE variance divides by n: its bias −s²/n is 1/140 of a standard error here
    rows.append(equal(f"sample MLE variance -> mixture variance [n={n}]", s2, float(cov_hat[0, 0]), se_var,
                      MC_SIGMAS * se_var + s2 / n, "standard error"))

    k0 = kl_divergence(p, gaussian_target([m], [[s2]]))
    sd = math.sqrt(s2)
    for delta in (-0.1 * sd, 0.1 * sd):
        k = kl_divergence(p, gaussian_target([m + delta], [[s2]]))
        # KL(p‖N(μ, S)) − KL(p‖N(m, S)) = (μ − m)²/(2S) exactly.
        rows.append(equal(f"KL(mu = m {delta:+.3f}) - KL(MLE) = delta^2/(2 s^2)", delta**2 / (2 * s2), k.value - k0.value,
                          k.error + k0.error, 2 * QUAD_PROMISE, "quadrature bound"))
    for r in (0.9, 1.1):
        k = kl_divergence(p, gaussian_target([m], [[s2 * r]]))
        # KL(p‖N(m, rS)) − KL(p‖N(m, S)) = ½(1/r − 1 + log r) > 0 for r ≠ 1.
        rows.append(equal(f"KL(s^2 x {r}) - KL(MLE) = (1/r - 1 + log r)/2", 0.5 * (1 / r - 1 + math.log(r)),
                          k.value - k0.value, k.error + k0.error, 2 * QUAD_PROMISE, "quadrature bound"))
    m1, c1 = np.array([0.5, -0.2]), np.array([[0.6, 0.2], [0.2, 0.3]])
    m2, c2 = np.array([0.0, 0.4]), np.array([[1.0, -0.3], [-0.3, 0.9]])
    k = kl_divergence(gaussian_target(m1, c1), gaussian_target(m2, c2))
    rows.append(equal("KL(N1||N2) quadrature = closed form [2-D Gaussians]", gaussian_kl(m1, c1, m2, c2), k.value,
                      k.error, QUAD_PROMISE, "quadrature bound"))
    return rows


# -- losses (ganlab.training.losses) ----------------------------------------------------------------------
def _softplus(x: float) -> float:
    """log(1 + e^x) by hand (|x| ≤ 30 here)."""
    return math.log1p(math.exp(x))


@register_claim("losses")
def claim_losses(seed: int) -> list[ClaimResult]:
    """Every loss of ``ganlab.training.losses`` on [N, B, 1] inputs against hand values: at logit
    0 the GAN losses are 2 log 2, −log 2 and log 2; random logits against the written-out means of
    softplus; the Wasserstein losses against means of given scores; the gradient penalty of linear
    critics f(x) = w·x is (‖w‖ − 1)², of f(x) = ½‖x‖² the mean of (‖x̂‖ − 1)² over the interpolates."""
    rows = []
    zeros = torch.zeros(3, 4, 1, dtype=torch.float64)
    for label, value, hand in [
        ("discriminator_loss_gan(0, 0) = 2 log 2", losses.discriminator_loss_gan(zeros, zeros), 2 * LOG2),
        ("generator_loss_minimax(0) = log(1 - 1/2) = -log 2", losses.generator_loss_minimax(zeros), -LOG2),
        ("generator_loss_nonsaturating(0) = -log(1/2) = log 2", losses.generator_loss_nonsaturating(zeros), LOG2),
    ]:
        worst = float((value - hand).abs().max())
        rows.append(equal(f"{label} [3 members]", 0.0, worst, rounding(hand), ROUNDING, "rounding"))

    g = torch.Generator().manual_seed(seed)
    real = 4 * torch.randn(3, 5, 1, generator=g, dtype=torch.float64)
    fake = 4 * torch.randn(3, 5, 1, generator=g, dtype=torch.float64)
    r, f = real[..., 0].tolist(), fake[..., 0].tolist()
    hand_d = [np.mean([_softplus(-v) for v in r[i]]) + np.mean([_softplus(v) for v in f[i]]) for i in range(3)]
    hand_mm = [-np.mean([_softplus(v) for v in f[i]]) for i in range(3)]
    hand_ns = [np.mean([_softplus(-v) for v in f[i]]) for i in range(3)]
    hand_critic = [np.mean(f[i]) - np.mean(r[i]) for i in range(3)]
    hand_gw = [-np.mean(f[i]) for i in range(3)]
    for label, value, hand in [
        ("discriminator_loss_gan = mean softplus(-l_real) + mean softplus(l_fake)", losses.discriminator_loss_gan(real, fake), hand_d),
        ("generator_loss_minimax = -mean softplus(l_fake)", losses.generator_loss_minimax(fake), hand_mm),
        ("generator_loss_nonsaturating = mean softplus(-l_fake)", losses.generator_loss_nonsaturating(fake), hand_ns),
        ("critic_loss_wasserstein = mean f(fake) - mean f(real)", losses.critic_loss_wasserstein(real, fake), hand_critic),
        ("generator_loss_wasserstein = -mean f(fake)", losses.generator_loss_wasserstein(fake), hand_gw),
    ]:
        worst = float(np.abs(value.detach().numpy() - np.array(hand)).max()) if value.shape == (3,) else math.inf
        rows.append(equal(f"{label} [3 members x 5, per member]", 0.0, worst, rounding(*hand), ROUNDING, "rounding"))

    w = torch.tensor([[3.0, 4.0], [0.6, 0.8], [1.0, 1.0]], dtype=torch.float64)
    x_real = torch.randn(3, 6, 2, generator=g, dtype=torch.float64)
    x_fake = torch.randn(3, 6, 2, generator=g, dtype=torch.float64)
    alpha = torch.rand(3, 6, generator=g, dtype=torch.float64)
    linear = lambda x: (x * w[:, None, :]).sum(-1, keepdim=True)
    gp = losses.gradient_penalty(linear, x_real, x_fake, alpha)
    hand = [(math.hypot(*wi) - 1) ** 2 for wi in w.tolist()]
    worst = float(np.abs(gp.detach().numpy() - np.array(hand)).max()) if gp.shape == (3,) else math.inf
    rows.append(equal("gradient_penalty(f = w.x) = (|w| - 1)^2, w = (3,4), (.6,.8), (1,1) [per member]", 0.0, worst,
                      rounding(16.0), ROUNDING, "rounding"))
    quadratic = lambda x: 0.5 * (x * x).sum(-1, keepdim=True)  # ∇f(x̂) = x̂
    gp = losses.gradient_penalty(quadratic, x_real, x_fake, alpha)
    a = alpha.numpy()[..., None]
    interp = a * x_real.numpy() + (1 - a) * x_fake.numpy()  # x̂ = α x + (1 − α) x̃
    hand = ((np.linalg.norm(interp, axis=-1) - 1) ** 2).mean(axis=1)
    worst = float(np.abs(gp.detach().numpy() - hand).max()) if gp.shape == (3,) else math.inf
    rows.append(equal("gradient_penalty(f = |x|^2/2) = mean (|a x + (1-a) x'| - 1)^2 [per member]", 0.0, worst,
                      rounding(*hand), ROUNDING, "rounding"))
    return rows


@register_claim("lsgan_optimal_discriminator")
def claim_lsgan_optimal_discriminator(seed: int) -> list[ClaimResult]:
    """The least-squares GAN's optimal discriminator (Mao et al. 2017) D* = (b p_data + a p_g)/(p_data
    + p_g): ganlab's ``least_squares.optimal_discriminator`` (from the targets' log densities)
    against the hand formula on hand densities, and D* as the stationary point of ganlab's own
    LSGAN loss: (p_data ∂L/∂D(x) + p_g ∂L/∂D(G(z)))·B/(p_data + p_g) = 0 at D(x) = D(G(z)) = D*
    (autograd; the loss is convex in D, so D* is its minimiser)."""
    rows = []
    p, q = toy_pairs()["shifted ring8"]
    x = torch.cat([p.sample(500, seed, dtype=torch.float64), q.sample(500, seed + 1, dtype=torch.float64)])
    dp = _mixture_density(x.numpy(), p.means.numpy(), RING_STD)  # densities by hand
    dq = _mixture_density(x.numpy(), q.means.numpy(), RING_STD)
    loss = losses.LOSSES["least_squares"]
    for a, b in [(0.0, 1.0), (-1.0, 1.0)]:
        hand = (b * dp + a * dq) / (dp + dq)
        d_star = least_squares.optimal_discriminator(p.log_prob(x), q.log_prob(x), a, b)
        diff = float(np.abs(d_star.numpy() - hand).max())
        rows.append(equal(f"LSGAN D* = (b p_data + a p_g)/(p_data + p_g), a = {a:g}, b = {b:g} [shifted ring8, "
                          "1000 points, max |diff|]", 0.0, diff, rounding(1.0), ROUNDING, "rounding"))
        real = torch.tensor(hand, dtype=torch.float64)[None, :, None].requires_grad_(True)
        fake = real.detach().clone().requires_grad_(True)
        method = dataclasses.replace(METHODS["nonsaturating"], loss="least_squares", generator_loss="least_squares",
                                     lsgan_a=a, lsgan_b=b)
        g_real, g_fake = torch.autograd.grad(loss.discriminator(real, fake, method).sum(), (real, fake))
        n = real.shape[1]
        residual = (dp * g_real[0, :, 0].numpy() + dq * g_fake[0, :, 0].numpy()) * n / (dp + dq)
        rows.append(equal(f"p_data dL/dD(x) + p_g dL/dD(G(z)) = 0 at D = D*, ganlab's LSGAN loss, a = {a:g}, "
                          f"b = {b:g} [shifted ring8, 1000 points, max |.| x B/(p_data + p_g)]", 0.0,
                          float(np.abs(residual).max()), rounding(1.0), ROUNDING, "rounding"))
    return rows


@register_claim("nonsaturating_gradient")
def claim_nonsaturating(seed: int) -> list[ClaimResult]:
    """Through autograd of ganlab's own generator losses: d/dl of the minimax loss is −σ(l)/B and
    of the non-saturating one −(1 − σ(l))/B, so their ratio is (1 − D)/D at D = D(G(z)) = σ(l):
    the non-saturating loss keeps its gradient when D(G(z)) → 0."""
    rows = []
    ds = [0.5, 0.1, 1e-3]
    logits = torch.tensor([math.log(d / (1 - d)) for d in ds], dtype=torch.float64).reshape(1, -1, 1)
    grads = {}
    for name, fn in [("minimax", losses.generator_loss_minimax), ("nonsaturating", losses.generator_loss_nonsaturating)]:
        l = logits.clone().requires_grad_(True)
        (grads[name],) = torch.autograd.grad(fn(l).sum(), l)
    b = len(ds)
    for i, d in enumerate(ds):
        g_mm, g_ns = float(grads["minimax"][0, i, 0]), float(grads["nonsaturating"][0, i, 0])
        rows.append(equal(f"d(minimax loss)/dl = -D/B at D(G(z)) = {d}", -d / b, g_mm, rounding(1.0), ROUNDING,
                          "rounding"))
        rows.append(equal(f"d(non-saturating loss)/dl = -(1-D)/B at D(G(z)) = {d}", -(1 - d) / b, g_ns, rounding(1.0),
                          ROUNDING, "rounding"))
        ratio = (1 - d) / d
        rows.append(equal(f"|grad non-saturating| / |grad minimax| = (1-D)/D at D(G(z)) = {d}", ratio,
                          abs(g_ns) / abs(g_mm) if g_mm else math.inf, rounding(ratio), 1e-9 * ratio, "rounding"))
    return rows


# -- mode metrics (ganlab.metrics.modes) ----------------------------------------------------------------
@register_claim("mode_metrics")
def claim_mode_metrics(seed: int) -> list[ClaimResult]:
    """``mode_metrics`` on hand-placed points and on samples of the targets themselves: a sample of
    a well-separated isotropic mode is high quality iff |x − μ|²/σ² < 9, i.e. χ²₂ < 9, probability
    1 − e^{−4.5}; the plug-in reverse KL of n_hq multinomial counts has 2 n_hq KL → χ²_{K−1}."""
    rows = []
    target = ring(8)
    mu, sigma = target.means.numpy(), RING_STD
    # one point on mode 0, one 2.9σ from mode 1, one 3.1σ from mode 2, one 0.5σ from mode 1:
    # 2 modes captured, 3 of 4 high quality, histogram (1/3, 2/3) on weights 1/8: KL = ⅓ log(8/3) + ⅔ log(16/3)
    points = np.stack([mu[0], mu[1] + [2.9 * sigma, 0], mu[2] + [0, 3.1 * sigma], mu[1] + [0, 0.5 * sigma]])
    mm = mode_metrics(torch.tensor(points), target)
    kl_hand = (1 / 3) * math.log((1 / 3) / (1 / 8)) + (2 / 3) * math.log((2 / 3) / (1 / 8))
    rows.append(equal("modes captured = 2 [4 hand-placed points, ring8]", 2, mm.modes_captured, 0.0, 0.0, "none"))
    rows.append(equal("high-quality fraction = 3/4 (2.9 sigma in, 3.1 sigma out) [hand-placed]", 0.75,
                      mm.high_quality_fraction, rounding(1.0), ROUNDING, "rounding"))
    rows.append(equal("reverse KL = KL((1/3, 2/3) || 1/8) [hand-placed]", kl_hand, mm.reverse_kl, rounding(kl_hand),
                      ROUNDING, "rounding"))

    n = 10_000
    hq = 1 - math.exp(-4.5)  # P(χ²₂ < 9)
    se_hq = math.sqrt(hq * (1 - hq) / n)
    grid25, dropped = toy_pairs()["mode-dropped grid25"]
    for label, samples, tgt, k_hit, kl_base in [
        ("ring8 samples vs ring8", target.sample(n, seed, dtype=torch.float64), target, 8, 0.0),
        ("mode-dropped grid25 samples vs grid25", dropped.sample(n, seed + 1, dtype=torch.float64), grid25, 20,
         math.log(25 / 20)),
    ]:
        mm = mode_metrics(samples, tgt)
        # a mode of weight ≥ 1/25 misses all 10^4·0.99 samples with probability < e^-390
        rows.append(equal(f"modes captured = {k_hit} [{label}, n={n}]", k_hit, mm.modes_captured, 0.0, 0.0, "none"))
        rows.append(equal(f"high-quality fraction = 1 - exp(-4.5) [{label}, n={n}]", hq, mm.high_quality_fraction, se_hq,
                          MC_SIGMAS * se_hq, "standard error"))
        n_hq = sum(mm.mode_counts)
        # KL(p̂ ‖ w) = log(25/20) + KL(p̂ ‖ uniform on the k_hit modes) for the dropped grid; the
        # plug-in part is χ²_{k−1}/(2 n_hq): mean (k − 1)/(2 n_hq), sd √(2(k − 1))/(2 n_hq). The
        # tolerance is the distance from the mean to the 1 − 6e-5 quantile (χ² is skewed).
        dof = k_hit - 1
        tol = (scipy.stats.chi2.ppf(1 - 6e-5, dof) - dof) / (2 * n_hq)
        rows.append(equal(f"reverse KL = KL(weights) + (K-1)/(2 n_hq) [{label}, n={n}]", kl_base + dof / (2 * n_hq),
                          mm.reverse_kl, math.sqrt(2 * dof) / (2 * n_hq), tol, "standard error"))
    return rows


# -- Monte Carlo against 1-D references -----------------------------------------------------------------
@register_claim("monte_carlo")
def claim_monte_carlo(seed: int) -> list[ClaimResult]:
    """Monte Carlo JSD, KL, TV and C(G) on shifted ring8 (n = 10^4) against their 1-D references,
    within 4 a-priori standard errors (variances of the terms from 1-D integrals), and their
    reported standard errors against the a-priori ones."""
    rows = []
    n = 10_000
    p, q = toy_pairs()["shifted ring8"]
    ref = shifted_ring_reference()
    _, var_a, kurt_a = term_moments(_jsd_term)  # log(2p/(p+q)) under p; log(2q/(p+q)) under q has the same law
    _, var_t, kurt_t = term_moments(_tv_term)
    # (a-priori SE, kurtosis of the terms): JSD = ½(mean_p + mean_q) of such terms, C(G) = mean_p + mean_q
    # of the same terms shifted by log 2, KL's term log p − log q = δ²/2 − δZ is N(δ²/2, δ²)
    apriori = {
        "JSD": (0.5 * math.sqrt(2 * var_a / n), kurt_a),
        "KL": (DELTA / math.sqrt(n), 3.0),
        "TV": (math.sqrt(var_t / n), kurt_t),
        "C(G)": (math.sqrt(2 * var_a / n), kurt_a),
    }
    for name, fn in [("JSD", jensen_shannon), ("KL", kl_divergence), ("TV", total_variation), ("C(G)", virtual_criterion)]:
        mc = fn(p, q, method="monte_carlo", n=n, seed=seed)
        value, value_err = ref[name]
        se, kurt = apriori[name]
        rows.append(equal(f"{name} Monte Carlo = 1-D reference [shifted ring8, n={n}]", value, mc.value, mc.error,
                          MC_SIGMAS * se + value_err, "standard error"))
        # a sample standard deviation's relative standard error is √((κ − 1)/(4n))
        sd_se = se * math.sqrt((kurt - 1) / (4 * n))
        rows.append(equal(f"{name} Monte Carlo standard error = a-priori SE [shifted ring8, n={n}]", se, mc.error, sd_se,
                          MC_SIGMAS * sd_se, "standard error"))
    return rows


# -- normalisation ------------------------------------------------------------------------------------
@register_claim("densities_integrate_to_one")
def claim_normalised(seed: int) -> list[ClaimResult]:
    """∫ p = 1 for every registered target with a density (quadrature), within the quadrature's
    promise: a box narrowed from 12σ to 4σ loses 1.3e-4 of the mass."""
    rows = []
    for name in sorted(TARGETS):
        if name == "mixture" or not make_target(name).has_density:  # needs parameters / sample-only
            continue
        e = integrate_over_modes(lambda x, logs: np.exp(logs[0]), [make_target(name)])
        rows.append(equal(f"integral of p = 1 [{name}]", 1.0, e.value, e.error, QUAD_PROMISE, "quadrature bound"))
    return rows
