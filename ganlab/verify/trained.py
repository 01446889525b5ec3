"""The trained claims of ``ganlab verify``: the theory happening in networks trained by gradient
descent through the engine (``ganlab.experiments``), on pairs where both sides are known exactly.

Each claim is a function of (seed, budget); its experiment's members (seeds) follow from ``seed``,
so the same seed gives the same numbers. Tolerances are set before the checked run, in one of
three ways, each stated where it is used:

* Monte Carlo (``SIGMAS`` = 4 standard errors of a mean over n fresh samples): for bounds that hold
  for every network (V(D, G) ≤ C(G); E_P f − E_Q f ≤ Lip(f)·W1) and for estimates of an exact
  expectation (the MLE-GAN gradient); a correct value fails with probability 6e-5 per row.
* Measured spread across seeds (4 standard errors of the mean over S seeds, S = the budget's
  seeds): where the theory predicts the mean of a quantity that varies with the training batch
  (the unrolled gradient from K steps on one batch).
* An optimisation allowance δ for the short budget: how far a finite run is from the limit the
  theory describes (D = D*, V = C(G), a critic at its optimum). It was measured on development
  seeds 1, 2 and 3 of the same experiment (verify runs seed 0 by default) before these claims were
  run, and set by one rule: δ = 2 × the largest development value of (|mean − predicted| +
  standard error over seeds), rounded up to one significant digit. The development values are
  quoted beside each δ. The long budget keeps the same δ (more steps and samples only shrink the
  gap). A row passes only if its own error (seed spread and Monte Carlo error) is within it too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..theory.gan import criterion_from_jsd
from . import ClaimResult, at_least, at_most, equal, register_claim

LOG2 = math.log(2.0)
SIGMAS = 4.0
ROUNDING = 1e-12


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean over seeds and its standard error (the measured spread across seeds)."""
    from ..experiments.common import mean_se as _mean_se

    return _mean_se(values)


# -- items 1 and 3: a discriminator trained alone against a fixed p_g ---------------------------------
# δ for the (p_data + p_g)/2-weighted L1 residual ∫|D − D*| (p + q)/2, mean over 4 seeds. Development
# (seeds 1–3, short budget), largest mean + se: 1-D 0.0116 + 0.0015 (shifted, real label 0, seed 2),
# 2-D 0.0485 + 0.0011 (widened, seed 3).
L1_ALLOWANCE = {1: 0.03, 2: 0.1}
# δ for the largest |D − D*| over the supports (where (p + q)/2 ≥ 1 % of its largest value), mean over
# seeds. Development: 1-D 0.182 + 0.019 (shifted, real label 0, seed 2), 2-D 0.208 + 0.008 (shifted,
# seed 3): the short budget leaves D* visibly unresolved where it is steep at the supports' edges.
MAX_ALLOWANCE = {1: 0.5, 2: 0.5}
# δ for C(G) − V(D, G) (mean over seeds; V by Monte Carlo on 20,000 fresh samples of each side, whose
# error is part of the development value; the row adds 4 of its standard errors). Development: 1-D
# 0.0104 + 0.001 (shifted by 1, seed 2), 2-D 0.0191 + 0.001 (shifted, seed 3).
GAP_ALLOWANCE = {1: 0.03, 2: 0.04}


def _arms(seed: int, budget: str, real_label: int):
    from ..experiments.discriminator import discriminator_experiment

    r = discriminator_experiment(seed, budget)
    return r.settings, [a for a in r.arms.values() if a.arm.real_label == real_label]


def _where(s, name: str) -> str:
    return f"{name}, {s.seeds} seeds, {s.steps} steps"


def _residual_rows(s, a, optimum: str) -> list[ClaimResult]:
    dim = a.arm.p_data.dim
    l1, se_l1 = mean_se([r.l1 for r in a.residuals])
    eval_se = max(r.se for r in a.residuals)
    biggest, se_max = mean_se([r.max for r in a.residuals])
    return [
        at_most(f"int |D - D*| (p_data + p_g)/2 -> 0, D* = {optimum} [{_where(s, a.arm.name)}]", 0.0, l1,
                math.hypot(se_l1, eval_se), L1_ALLOWANCE[dim], "standard error"),
        at_most(f"max |D - D*| over the supports -> 0 [{_where(s, a.arm.name)}]", 0.0, biggest, se_max,
                MAX_ALLOWANCE[dim], "standard error"),
    ]


@register_claim("learned_discriminator", kind="trained")
def claim_learned_discriminator(seed: int, budget: str) -> list[ClaimResult]:
    """Proposition 1: D trained alone against a fixed, known p_g approaches p_data/(p_data + p_g),
    on 1-D and 2-D pairs (identical, shifted, mode-dropped, widened)."""
    s, arms = _arms(seed, budget, 1)
    return [row for a in arms for row in _residual_rows(s, a, "p_data/(p_data + p_g)")]


@register_claim("learned_discriminator_real_label_0", kind="trained")
def claim_real_label_zero(seed: int, budget: str) -> list[ClaimResult]:
    """The real = 0 convention with the ½-weighted objective (UCSB): D trained with p_g as "real"
    approaches p_g/(p_data + p_g), and ½[E_{p_data} log(1 − D) + E_{p_g} log D] approaches its
    maximum JSD − log 2 from below."""
    s, arms = _arms(seed, budget, 0)
    rows = []
    for a in arms:
        rows += _residual_rows(s, a, "p_g/(p_data + p_g)")
        best = a.jsd.value - LOG2
        worst = max(a.values, key=lambda v: v.value)
        mean = float(np.mean([v.value for v in a.values]))
        se = max(v.error for v in a.values)
        rows.append(at_most(f"1/2 V(D) <= JSD - log 2 [{_where(s, a.arm.name)}, worst seed, MC]", best, worst.value,
                            worst.error + a.jsd.error, SIGMAS * worst.error + a.jsd.error, "standard error"))
        rows.append(at_least(f"1/2 V(D) -> JSD - log 2 from below [{_where(s, a.arm.name)}, mean, MC]", best, mean,
                             se + a.jsd.error, GAP_ALLOWANCE[1] / 2 + SIGMAS * se, "standard error"))
    return rows


@register_claim("learned_value_below_criterion", kind="trained")
def claim_value_below_criterion(seed: int, budget: str) -> list[ClaimResult]:
    """Theorem 1 from the other side: for every D, V(D, G) ≤ C(G) = −log 4 + 2·JSD; the trained
    D's value (Monte Carlo on fresh samples) never exceeds it beyond 4 standard errors (the seed
    with the largest value is the row)."""
    s, arms = _arms(seed, budget, 1)
    rows = []
    for a in arms:
        bound = criterion_from_jsd(a.jsd.value)
        worst = max(a.values, key=lambda v: v.value)
        rows.append(at_most(f"V(D, G) <= C(G) = -log 4 + 2 JSD [{_where(s, a.arm.name)}, worst seed, MC]", bound,
                            worst.value, worst.error + 2 * a.jsd.error, SIGMAS * worst.error + 2 * a.jsd.error,
                            "standard error"))
    return rows


@register_claim("learned_value_approaches_criterion", kind="trained")
def claim_value_approaches_criterion(seed: int, budget: str) -> list[ClaimResult]:
    """The trained D's value approaches C(G) = −log 4 + 2·JSD: V(D, G) ≥ C(G) − δ (mean over
    seeds, Monte Carlo)."""
    s, arms = _arms(seed, budget, 1)
    rows = []
    for a in arms:
        target = criterion_from_jsd(a.jsd.value)
        mean = float(np.mean([v.value for v in a.values]))
        se = max(v.error for v in a.values)  # the seeds share the evaluation samples
        dim = a.arm.p_data.dim
        rows.append(at_least(f"V(D, G) -> C(G) = -log 4 + 2 JSD from below [{_where(s, a.arm.name)}, mean, MC]",
                             target, mean, se + 2 * a.jsd.error, GAP_ALLOWANCE[dim] + SIGMAS * se, "standard error"))
    return rows


# -- item 4: disjoint supports (the parallel lines) -------------------------------------------------------
# δ for log 2 − (V + log 4)/2 of the GAN discriminator (mean over seeds). Development: largest
# 0.0011 + 0.0002 (θ = 0.5, seed 3).
LINES_JSD_ALLOWANCE = 0.003
# δ for |d/dθ E log(1 − D(θ, Z))| (largest over seeds; a single value, no seed error), against the
# critic's ≈ 1 and the non-saturating loss's ≈ 10–20. Development: largest 0.032 (θ = 0.5, seed 3).
LINES_MINIMAX_ALLOWANCE = 0.07
# δ for the gradient-penalty critic's estimate and generator gradient against |θ| + θ²/(2λ) and
# sign θ·(1 + |θ|/(2λ)) (means over seeds). Development: 0.0049 + 0.0071 and 0.0035 + 0.0077 (θ = 1,
# seed 1). At θ = 1 the penalty's bias θ²/(2λ) = 0.05 exceeds δ: the rows tell it from W1 = |θ|.
LINES_CRITIC_ALLOWANCE = 0.03
LINES_GRADIENT_ALLOWANCE = 0.03


@register_claim("disjoint_supports_gan_discriminator", kind="trained")
def claim_disjoint_gan(seed: int, budget: str) -> list[ClaimResult]:
    """P_0 and P_θ on parallel lines: JSD = log 2 for θ ≠ 0 and a trained discriminator's estimate
    (V + log 4)/2 rises to it; the minimax generator loss then gives θ no gradient."""
    from ..experiments.disjoint import disjoint_experiment

    r = disjoint_experiment(seed, budget)
    s, rows = r.settings, []
    for th, line in r.lines.items():
        where = f"theta = {th}, {s.seeds} seeds, {s.gan_steps} steps"
        mean, se = mean_se([v for v, _ in line.learned_jsd])
        eval_se = max(e for _, e in line.learned_jsd)
        rows.append(at_least(f"(V + log 4)/2 -> JSD = log 2 [parallel lines, {where}]", LOG2, mean,
                             math.hypot(se, eval_se), LINES_JSD_ALLOWANCE + SIGMAS * eval_se, "standard error"))
        worst = max(abs(g) for g in line.minimax_gradient)
        rows.append(at_most(f"|d/dtheta E log(1 - D(theta, z))| -> 0 (JSD has no gradient) [parallel lines, {where}]",
                            0.0, worst, 0.0, LINES_MINIMAX_ALLOWANCE, "none"))
    return rows


@register_claim("disjoint_supports_wgan_gp_critic", kind="trained")
def claim_disjoint_critic(seed: int, budget: str) -> list[ClaimResult]:
    """On the same lines W1 = |θ|; a gradient-penalty critic's optimum estimates |θ| + θ²/(2λ)
    (the penalty's bias, exact here) and gives the generator the gradient sign θ·(1 + |θ|/(2λ))."""
    from ..experiments.disjoint import disjoint_experiment

    r = disjoint_experiment(seed, budget)
    s, rows = r.settings, []
    for th, line in r.lines.items():
        where = f"theta = {th}, lambda = {s.lam}, {s.seeds} seeds, {s.critic_steps} steps"
        mean, se = mean_se([v for v, _ in line.critic_estimate])
        eval_se = max(e for _, e in line.critic_estimate)
        rows.append(equal(f"E f(P_0) - E f(P_theta) = |theta| + theta^2/(2 lambda) (W1 = |theta|) [{where}]",
                          r.gp_estimate(th), mean, math.hypot(se, eval_se), LINES_CRITIC_ALLOWANCE + SIGMAS * eval_se,
                          "standard error"))
        mean, se = mean_se(line.critic_gradient)
        rows.append(equal(f"d/dtheta -E f(theta, z) = sign(theta)(1 + |theta|/(2 lambda)) [{where}]",
                          r.gp_gradient(th), mean, se, LINES_GRADIENT_ALLOWANCE, "standard error"))
    return rows


# -- item 5: Kantorovich–Rubinstein duality ---------------------------------------------------------------
# δ for a 1-D gradient-penalty critic's estimate against the stationary point of its well (per seed,
# so no seed error; the row adds 4 evaluation standard errors). Development (12 critics): largest
# |estimate − predicted| 0.058 (seed 1); 3 of the 12 ended in the wrong-sign well, within 0.019 of
# −W1 + bias. The bias, 0.33 on the mode-dropped pair, exceeds δ: the rows tell it from ±W1.
GP_1D_ALLOWANCE = 0.2
# δ for the 2-D translation's estimate against W1 = |v| (mean over seeds): the penalty's bias (not
# known in closed form in 2-D; the 1-D formula on the shift direction's marginals gives 0.0098 for
# v = 0.4) and the optimisation. Development: 0.0123 + 0.0036 (seed 2).
GP_2D_ALLOWANCE = 0.04


@register_claim("kr_duality_gradient_penalty", kind="trained")
def claim_kr_gradient_penalty(seed: int, budget: str) -> list[ClaimResult]:
    """A gradient-penalty critic estimates W1: in 1-D exactly W1 + (1/2λ)∫h²/ρ at the penalised
    objective's maximum, or −W1 + (1/2λ)∫h²/ρ at the other stationary point of the double well
    (|f′| − 1)² (a slope that started with the wrong sign), whichever sign the estimate has; on a
    2-D translation within δ of W1 = |v|."""
    from ..experiments.duality import duality_experiment

    r = duality_experiment(seed, budget)
    s, rows = r.settings, []
    for name, g in r.gp.items():
        where = f"{name}, lambda = {s.lam}, {s.gp_steps} steps"
        if math.isnan(g.bias):  # 2-D: W1 exactly, bias unknown
            mean, se = mean_se([v for v, _ in g.estimates])
            eval_se = max(e for _, e in g.estimates)
            rows.append(equal(f"E f(p) - E f(q) = W1 = |v| [{where}, {s.seeds} seeds]", g.w1, mean,
                              math.hypot(se, eval_se), GP_2D_ALLOWANCE + SIGMAS * eval_se, "standard error"))
            continue
        for i, (v, e) in enumerate(g.estimates):
            well = "maximum" if v > 0 else "wrong-sign well"
            predicted = math.copysign(g.w1, v) + g.bias
            rows.append(equal(f"E f(p) - E f(q) = {'+' if v > 0 else '-'}W1 + int h^2/(2 lambda rho) "
                              f"(W1 = {g.w1:.4g}, {well}) [{where}, seed {i}]", predicted, v, e,
                              GP_1D_ALLOWANCE + SIGMAS * e, "standard error"))
    return rows


@register_claim("kr_duality_weight_clipping", kind="trained")
def claim_kr_clipping(seed: int, budget: str) -> list[ClaimResult]:
    """A clipped critic estimates W1 times a Lipschitz constant: E_P f − E_Q f ≤ Lip(f)·W1 (KR) with
    Lip(f) ≤ ∏ ‖W_l‖₂, for every clip value; the ratio estimate/W1 is the figure's."""
    from ..experiments.duality import duality_experiment

    r = duality_experiment(seed, budget)
    rows = []
    for c in r.clip:
        ratios = [(v / (lip * c.shift), e / (lip * c.shift)) for (v, e), lip in zip(c.estimates, c.lipschitz)]
        worst, err = max(ratios)
        rows.append(at_most(f"(E f(p) - E f(q)) / (Lip(f) W1) <= 1 [clip c = {c.clip}, ring8 + ({c.shift}, 0), "
                            f"worst of {len(ratios)} seeds, K(c) = estimate/W1 ~ "
                            f"{np.mean([v for v, _ in c.estimates]) / c.shift:.2g}]", 1.0, worst, err, SIGMAS * err,
                            "standard error"))
    return rows


# -- item 6: the maximum-likelihood generator objective ---------------------------------------------------
@register_claim("mle_gan_gradient", kind="exact")
def claim_mle_gradient(seed: int) -> list[ClaimResult]:
    """With f = p_data/p_g (= exp σ⁻¹(D*)), ∇_θ of −E_z f(G_θ(z)) (f frozen, autograd through the
    engine's affine generator) equals ∇_θ KL(p_data ‖ p_θ) in closed form, within 4 a-priori
    standard errors of the Monte Carlo mean (from the per-sample terms' exact variances, 1-D
    integrals; finite as w² > σ_data²/2). The row's error is the sample's own standard error."""
    from ..experiments.mle import mle_experiment

    rows = []
    for c in mle_experiment(seed, "short"):
        for k, name in enumerate(("w", "b")):
            rows.append(equal(f"d/d{name} -E f(G(z)) = d/d{name} KL(p_data || N(b, w^2)) [w = {c.w}, b = {c.b}, MC]",
                              c.exact[k], c.autograd[k], c.standard_error[k], SIGMAS * c.apriori_error[k],
                              "standard error"))
        gap = max(abs(a - b) for a, b in zip(c.autograd, c.per_sample_mean))
        rows.append(equal(f"autograd through G = mean of per-sample terms -f'(x)(z, 1) [w = {c.w}, b = {c.b}]", 0.0,
                          gap, ROUNDING, 1e-10, "rounding"))
    return rows


# -- item 7: Proposition 2 ------------------------------------------------------------------------------------
@register_claim("convergence_to_p_data", kind="trained")
def claim_convergence(seed: int, budget: str) -> list[ClaimResult]:
    """A histogram p_g updated by steps on V(D*, G) (D* frozen each step) converges to p_data:
    C(q_t) never rises, its running mean obeys the mirror-descent bound
    KL(p‖q_1)/(ηT) + (η/2T) Σ‖g_t‖²_∞ above −log 4, hence so does the last C(q_T), and TV(q_T, p) ≤
    √(C(q_T) + log 4) ≤ √bound."""
    from ..experiments.convergence import convergence_experiment
    from ..theory.divergences import tv_discrete

    r = convergence_experiment(seed, budget)
    s, rows = r.settings, []
    where = f"{s.bins} bins, eta = {s.lr}, T = {s.steps}"
    optimum = criterion_from_jsd(0.0)  # Theorem 1: C = −log 4 at p_g = p_data
    c = np.asarray(r.criterion)
    rows.append(at_most(f"C(q_(t+1)) - C(q_t) <= 0 for every step [{where}]", 0.0, float(np.diff(c).max()), ROUNDING,
                        ROUNDING, "rounding"))
    rows.append(at_most(f"mean_t C(q_t) <= -log 4 + KL(p||q_1)/(eta T) + eta/(2T) sum |g_t|^2 [{where}]",
                        optimum + r.bound, float(c[1:].mean()), ROUNDING, ROUNDING, "rounding"))
    rows.append(equal(f"C(q_T) -> -log 4 (within the mirror-descent bound) [{where}]", optimum, float(c[-1]), ROUNDING,
                      r.bound, "rounding"))
    tv = tv_discrete(r.p_data, r.snapshots[s.steps])
    rows.append(at_most(f"TV(q_T, p_data) <= sqrt(bound) [{where}]", math.sqrt(r.bound), tv, ROUNDING, ROUNDING,
                        "rounding"))
    return rows


# -- item 8: minimax against maximin --------------------------------------------------------------------------
# The predictions are the two orders' limits: a point mass (entropy 0 of the mode histogram) for the
# maximin order, p_data (log 8) for the minimax order. Each row's tolerance is half the distance
# between them, ½ log 8 (e^H = 2.8 effective modes): a run passes when it is closer to its own
# order's prediction than to the other's. No development measurement sets it.
HALF_WAY = 0.5 * math.log(8.0)


def _order_row(seed: int, budget: str, order: str, relation, predicted: float) -> list[ClaimResult]:
    from ..experiments.maximin import maximin_experiment

    r = maximin_experiment(seed, budget)
    s = r.settings
    mean, se = mean_se(r.orders[order].entropy)
    return [relation(f"entropy of the mode histogram -> {'0 (point mass)' if predicted == 0 else 'log 8 (p_data)'} "
                     f"[{order} ({s.many}), ring8 std {s.ring_std}, {s.seeds} seeds, {s.steps} steps]", predicted, mean,
                     se, HALF_WAY, "standard error")]


@register_claim("maximin_order_collapses", kind="trained")
def claim_maximin(seed: int, budget: str) -> list[ClaimResult]:
    """With many G steps per D step (max_D min_G: G best-responds to D) G puts its mass on one mode."""
    return _order_row(seed, budget, "many G steps per D step", at_most, 0.0)


@register_claim("minimax_order_covers", kind="trained")
def claim_minimax(seed: int, budget: str) -> list[ClaimResult]:
    """With many D steps per G step (min_G max_D: D near D* for every G) G covers the ring's modes."""
    return _order_row(seed, budget, "many D steps per G step", at_least, math.log(8.0))


# -- item 10: unrolling -----------------------------------------------------------------------------------------
@register_claim("unrolled_gradient", kind="trained")
def claim_unrolled(seed: int, budget: str) -> list[ClaimResult]:
    """The unrolled surrogate's generator gradient equals the vanilla one at K = 0 and follows
    ∂_b f + ∂_D f·(I − (I − ηH)^K)J_∞ (population, closed form) as K grows, reaching d/db f(b, θ*(b))
    (the best response's); each K's mean over S batches within 4 standard errors of the seeds'
    spread."""
    from ..experiments.unrolling import unrolling_experiment

    r = unrolling_experiment(seed, budget)
    s, p, rows = r.settings, r.prediction, []
    where = f"B = {s.batch}, eta = {s.lr}, {s.seeds} batches"
    gap = max(abs(a - b) for a, b in zip(r.unrolled[0], r.vanilla[0]))
    rows.append(equal(f"unrolled gradient at K = 0 = vanilla gradient [{where}, max |diff|]", 0.0, gap, ROUNDING,
                      ROUNDING, "rounding"))
    mean, se = mean_se(r.unrolled[0])
    rows.append(equal(f"d f_0/db = df/db (vanilla, population) [{where}]", p.vanilla, mean, se, SIGMAS * se,
                      "standard error"))
    k_max = max(s.ks)
    for k in s.ks[1:-1]:
        mean, se = mean_se(r.unrolled[k])
        rows.append(equal(f"d f_K/db = df/db + df/dtheta_D (I - (I - eta H)^K) J_inf, K = {k} [{where}]",
                          p.surrogate[k], mean, se, SIGMAS * se, "standard error"))
    mean, se = mean_se(r.unrolled[k_max])
    remainder = abs(p.surrogate[k_max] - p.best_response)  # the linearised (I − ηH)^K term still left
    rows.append(equal(f"d f_K/db -> d/db f(b, theta_D*(b)) (best response), K = {k_max} [{where}]",
                      p.best_response, mean, se, SIGMAS * se + remainder, "standard error"))
    return rows
