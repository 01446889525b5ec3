#!/usr/bin/env python
"""The theory happening in trained networks: seven figures from ``ganlab.experiments``, every
network trained through the engine, every exact value from ``ganlab.theory``.

1. ``learned_discriminator.png`` — D trained alone against a fixed p_g approaches
   D* = p_data/(p_data + p_g), and, with the real = 0 labels, p_g/(p_data + p_g); the residual
   against training steps and against D's width (short budget; width sweep at its settings).
2. ``goodfellow_figure1.png`` — Goodfellow et al.'s Figure 1 from a 1-D run (affine G, so p_g's
   density is exact).
3. ``learned_criterion.png`` — V(D, G) of the trained D against the exact C(G) = −log 4 + 2·JSD.
4. ``disjoint_supports.png`` — the parallel lines: exact JSD and W1 against a GAN discriminator's
   and a gradient-penalty critic's estimates, and the generator gradients they give (long budget).
5. ``kr_duality.png`` — gradient-penalty critics against W1 + the penalty's exact bias (1-D) and
   W1 (2-D); clipped critics' estimate/W1 against the clip value (long budget).
6. ``convergence.png`` — Proposition 2: a histogram p_g on V(D*, G) converges to p_data.
7. ``minimax_maximin.png`` — many G steps per D step collapse, many D steps per G step cover.

Also ``nonsaturating_gradients.png`` (item 9) and ``unrolled_gradient.png`` (item 10).

    python benchmarks/theory_experiments.py [--out-dir figures] [--seed 0] [--only NAME ...]

About 10 minutes on one CPU thread (OMP_NUM_THREADS=1). Prints one line of key numbers per figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ganlab.experiments import (  # noqa: E402
    convergence_experiment,
    discriminator_experiment,
    disjoint_experiment,
    duality_experiment,
    figure1_experiment,
    maximin_experiment,
    saturation_experiment,
    unrolling_experiment,
)
from ganlab.experiments import discriminator as disc  # noqa: E402
from ganlab.experiments.figure1 import P_DATA  # noqa: E402
from ganlab.theory.gan import criterion_from_jsd, gaussian_target  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOG2, LOG4 = math.log(2.0), math.log(4.0)
DPI = 130


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _band(ax, x, rows, color, label):
    """Mean over seeds with a min–max band."""
    a = np.asarray(rows, dtype=float)
    ax.plot(x, a.mean(axis=1), "-o", ms=3, color=color, label=label)
    ax.fill_between(x, a.min(axis=1), a.max(axis=1), color=color, alpha=0.2)


# -- 1. D → D* ----------------------------------------------------------------------------------------
def figure_learned_discriminator(out: Path, seed: int) -> str:
    r = discriminator_experiment(seed, "short")
    s = r.settings
    sweep = disc.width_sweep(dataclasses.replace(s, widths=(1, 2, 4, 8, 16, 64)), seed)
    sweep[s.width] = r.arms[disc.WIDTH_ARM].residuals
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    for ax, name, label in [(axes[0, 0], "shifted 1-D", r"real = 1: $D \to p_\mathrm{data}/(p_\mathrm{data}+p_g)$"),
                            (axes[0, 1], "shifted 1-D, real label 0", r"real = 0: $D \to p_g/(p_\mathrm{data}+p_g)$")]:
        a = r.arms[name]
        x = np.array(a.curve["x"])
        xt = torch.tensor(x)[:, None]
        ax.fill_between(x, a.arm.p_data.prob(xt).numpy(), color="k", alpha=0.12, label=r"$p_\mathrm{data}$")
        ax.fill_between(x, a.arm.p_g.prob(xt).numpy(), color="C2", alpha=0.2, label=r"$p_g$ (shifted by ½)")
        ax.plot(x, a.curve["d_star"], color="k", lw=2, label=r"exact optimum")
        for i, d in enumerate(a.curve["d"]):
            ax.plot(x, d, "--", color="C0", lw=1.2, label=f"trained D, {len(a.curve['d'])} seeds" if i == 0 else None)
        ax.set_xlim(-4.5, 5)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("x")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8, loc="center left")
        ax.grid(alpha=0.3)
    ax = axes[1, 0]
    for k, (name, a) in enumerate(r.arms.items()):
        steps = sorted(a.history)
        ax.plot([max(t, 1) for t in steps], [np.mean(a.history[t]) for t in steps], "-o", ms=3, color=f"C{k}",
                label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("discriminator updates (step 0 drawn at 1)")
    ax.set_ylabel(r"$\int |D - D^*|\,(p_\mathrm{data}+p_g)/2$ (mean of %d seeds)" % s.seeds)
    ax.axvline(s.steps - s.decay_steps, color="0.6", ls=":", lw=1)
    ax.text(s.steps - s.decay_steps, ax.get_ylim()[1] * 0.7, " lr/10", fontsize=8, color="0.4")
    ax.set_title("residual against training steps (1-D and 2-D pairs)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, which="both")
    ax = axes[1, 1]
    widths = sorted(sweep)
    l1 = np.array([[x.l1 for x in sweep[w]] for w in widths])
    mx = np.array([[x.max for x in sweep[w]] for w in widths])
    _band(ax, widths, l1, "C0", "weighted L1")
    _band(ax, widths, mx, "C3", "max over the supports")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden width of D (2 ReLU layers)")
    ax.set_ylabel(r"$|D - D^*|$ after %d steps" % s.steps)
    ax.set_title(f"residual against width ({disc.WIDTH_ARM}, {s.seeds} seeds, min–max band)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.suptitle("Proposition 1 in a trained network: D trained alone against a fixed, known $p_g$", fontsize=12)
    _save(fig, out / "learned_discriminator.png")
    worst = max(np.mean([x.l1 for x in a.residuals]) for a in r.arms.values())
    return (f"learned_discriminator: largest mean L1 residual {worst:.4f}; width sweep L1 "
            + ", ".join(f"{w}: {np.mean([x.l1 for x in sweep[w]]):.3g}" for w in widths))


# -- 2. Goodfellow et al.'s Figure 1 -------------------------------------------------------------------------
def figure_goodfellow(out: Path, seed: int) -> str:
    r = figure1_experiment(seed, "short")
    x = np.array(r.grid)
    xt = torch.tensor(x)[:, None]
    dens = P_DATA.prob(xt).numpy()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), constrained_layout=True)
    for ax, snap, tag in zip(axes, r.snapshots, "abcd"):
        g = gaussian_target([snap.b], [[snap.w**2]]).prob(xt).numpy()
        bulk = (dens + g) > 1e-3
        l1, = ax.plot(x, dens, ":", color="k", lw=2, label=r"$p_\mathrm{data}$ = N(2, 0.5²)")
        l2, = ax.plot(x, g, color="C2", lw=2, label=r"$p_g$ = N(b, w²) (exact)")
        ax.set_ylim(0, 1.15 * max(dens.max(), g.max()))
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax_d = ax.twinx()
        l3, = ax_d.plot(x[bulk], np.array(snap.d)[bulk], "--", color="C0", lw=2, label="D (trained), right axis")
        l4, = ax_d.plot(x[bulk], np.array(snap.d_star)[bulk], color="C0", lw=0.8, alpha=0.7, label=r"$D^*$")
        ax_d.axhline(0.5, color="0.6", lw=0.8)
        ax_d.set_ylim(0, 1.05)
        ax.set_title(f"({tag}) step {snap.step}: b = {snap.b:.2f}, |w| = {abs(snap.w):.2f}, JSD = {snap.jsd:.3g}",
                     fontsize=9)
    axes[0].legend(handles=[l1, l2, l3, l4], fontsize=7.5, loc="upper left")
    axes[0].set_ylabel("density")
    fig.suptitle(f"Goodfellow et al. (2014), Figure 1, from a training run (D first trained {r.settings.warmup} "
                 f"updates alone; {r.settings.d_steps} D updates per G update): p_g moves to p_data, D flattens to ½ "
                 "(D drawn where p_data + p_g > 1e-3)", fontsize=11)
    _save(fig, out / "goodfellow_figure1.png")
    last = r.snapshots[-1]
    bulk = dens > 1e-3
    return (f"goodfellow_figure1: final p_g = N({last.b:.3f}, {abs(last.w):.3f}^2), JSD {last.jsd:.2e}, "
            f"max |D - 1/2| where p_data > 1e-3: {np.abs(np.array(last.d)[bulk] - 0.5).max():.3f}")


# -- 3. V(D, G) against C(G) ----------------------------------------------------------------------------------------
def figure_learned_criterion(out: Path, seed: int) -> str:
    r = discriminator_experiment(seed, "short")
    fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    exact, learned, gaps = [], [], []
    for k, (name, a) in enumerate(r.arms.items()):
        if a.arm.real_label == 0:
            target = a.jsd.value - LOG2
            marker = "s"
        else:
            target = criterion_from_jsd(a.jsd.value)
            marker = "o" if a.arm.p_data.dim == 1 else "^"
        v = np.array([e.value for e in a.values])
        se = np.array([e.error for e in a.values])
        ax.errorbar(np.full(v.size, target), v, yerr=4 * se, fmt=marker, ms=4, color=f"C{k}", label=name, alpha=0.8)
        ax_gap.errorbar(np.full(v.size, target) + 0.004 * np.arange(v.size), target - v, yerr=4 * se, fmt=marker, ms=4,
                        color=f"C{k}", alpha=0.8)
        exact.append(target)
        learned += v.tolist()
        gaps += (target - v).tolist()
    lo, hi = min(exact) - 0.05, max(exact) + 0.05
    ax.plot([lo, hi], [lo, hi], "k-", lw=1, label="y = x")
    ax.set_xlabel("exact maximum: C(G) = −log 4 + 2·JSD (quadrature); for real = 0, JSD − log 2")
    ax.set_ylabel("value of the trained D (Monte Carlo, ±4 s.e.)")
    ax.set_title("learned value against the exact criterion", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    ax_gap.axhline(0, color="k", lw=1)
    ax_gap.set_xlabel("exact maximum")
    ax_gap.set_ylabel("exact − learned (≥ 0 up to sampling error)")
    ax_gap.set_title("the gap: approached from below", fontsize=10)
    ax_gap.grid(alpha=0.3)
    fig.suptitle(f"V(D, G) ≤ C(G) = −log 4 + 2·JSD for every D; trained D ({r.settings.seeds} seeds per generator, "
                 f"{r.settings.steps} steps) reaches it", fontsize=11)
    _save(fig, out / "learned_criterion.png")
    return f"learned_criterion: gap exact − learned in [{min(gaps):.4f}, {max(gaps):.4f}] over {len(gaps)} trained D"


# -- 4. disjoint supports ----------------------------------------------------------------------------------------------
def figure_disjoint(out: Path, seed: int) -> str:
    r = disjoint_experiment(seed, "long")
    s = r.settings
    th = np.array(sorted(r.lines))
    grid = np.linspace(th.min() - 0.1, th.max() + 0.1, 401)
    fig, (ax, ax_g) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    for side in (grid < 0, grid > 0):
        ax.plot(grid[side], np.full(side.sum(), LOG2), color="C0", lw=2,
                label=r"exact JSD $=\log 2$ ($\theta \neq 0$; 0 at $\theta = 0$)" if side[0] else None)
    ax.plot([0], [0], "o", color="C0")
    ax.plot(grid, np.abs(grid), color="C1", lw=2, label=r"exact $W_1 = |\theta|$")
    ax.plot(grid, np.abs(grid) + grid**2 / (2 * s.lam), ":", color="C1", lw=1.5,
            label=r"gradient-penalty optimum $|\theta| + \theta^2/2\lambda$")
    for t in th:
        line = r.lines[t]
        ax.plot([t] * len(line.learned_jsd), [v for v, _ in line.learned_jsd], "x", color="C0", ms=7)
        ax.plot([t] * len(line.critic_estimate), [v for v, _ in line.critic_estimate], "+", color="C1", ms=9)
    ax.plot([], [], "x", color="C0", label="GAN discriminator: (V + log 4)/2")
    ax.plot([], [], "+", color="C1", label=f"WGAN-GP critic (λ = {s.lam:g}): E f(P0) − E f(Pθ)")
    ax.set_xlabel(r"$\theta$ ($P_0$ on $x = 0$, $P_\theta$ on $x = \theta$, $y \sim U[0, 1]$)")
    ax.set_ylabel("distance")
    ax.set_title(f"exact and learned ({s.seeds} seeds per θ)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    ax.grid(alpha=0.3)
    ax_g.axhline(0, color="C0", lw=2, label="d JSD/dθ = 0")
    ax_g.plot(grid[grid < 0], -np.ones((grid < 0).sum()), color="C1", lw=2, label=r"d$W_1$/dθ = sign θ")
    ax_g.plot(grid[grid > 0], np.ones((grid > 0).sum()), color="C1", lw=2)
    for side in (grid < 0, grid > 0):
        ax_g.plot(grid[side], np.sign(grid[side]) * (1 + np.abs(grid[side]) / (2 * s.lam)), ":", color="C1", lw=1.5,
                  label=r"gradient-penalty optimum: sign θ (1 + |θ|/2λ)" if side[0] else None)
    for t in th:
        line = r.lines[t]
        ax_g.plot([t] * len(line.minimax_gradient), line.minimax_gradient, "x", color="C0", ms=7)
        ax_g.plot([t] * len(line.critic_gradient), line.critic_gradient, "+", color="C1", ms=9)
    ax_g.plot([], [], "x", color="C0", label=r"GAN, minimax: d/dθ E log(1 − D(θ, z))")
    ax_g.plot([], [], "+", color="C1", label=r"critic: d/dθ of −E f(θ, z)")
    ns = np.array([np.mean(r.lines[t].nonsaturating_gradient) for t in th])
    ax_g.set_xlabel(r"$\theta$")
    ax_g.set_ylabel("generator gradient in θ (autograd through (θ, z))")
    ax_g.set_title("the gradients they give the generator (non-saturating: "
                   f"{np.abs(ns).min():.0f}–{np.abs(ns).max():.0f}, off the scale)", fontsize=10)
    ax_g.set_ylim(-1.5, 1.5)
    ax_g.legend(fontsize=8, loc="upper left")
    ax_g.grid(alpha=0.3)
    fig.suptitle("Disjoint supports (Arjovsky et al. 2017, Example 1): JSD is flat at log 2, W1 = |θ| is not", fontsize=12)
    _save(fig, out / "disjoint_supports.png")
    mm = max(abs(g) for t in th for g in r.lines[t].minimax_gradient)
    return f"disjoint_supports: largest |minimax gradient| {mm:.3g}; critic estimate − (|θ| + θ²/2λ) up to " + \
        f"{max(abs(np.mean([v for v, _ in r.lines[t].critic_estimate]) - r.gp_estimate(t)) for t in th):.3g}"


# -- 5. Kantorovich–Rubinstein ----------------------------------------------------------------------------------------------
def figure_kr(out: Path, seed: int) -> str:
    r = duality_experiment(seed, "long")
    s = r.settings
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    ax = axes[0]
    names = [n for n, g in r.gp.items() if not math.isnan(g.bias)]
    for k, name in enumerate(names):
        g = r.gp[name]
        ax.hlines([g.w1, g.w1 + g.bias, -g.w1 + g.bias], k - 0.35, k + 0.35, colors=["C1", "k", "C3"],
                  linestyles=["-", "--", ":"], lw=1.5)
        ax.plot(k + np.linspace(-0.2, 0.2, len(g.estimates)), [v for v, _ in g.estimates], "o", color="C0", ms=5)
    ax.plot([], [], "-", color="C1", label="W1 (exact)")
    ax.plot([], [], "--", color="k", label=r"maximum: $W_1 + \int h^2/2\lambda\rho$")
    ax.plot([], [], ":", color="C3", label=r"wrong-sign well: $-W_1 + \int h^2/2\lambda\rho$")
    ax.plot([], [], "o", color="C0", label=f"trained critics ({s.seeds} seeds each)")
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_ylabel("E f(p) − E f(q)")
    ax.set_title(f"gradient penalty (λ = {s.lam:g}), 1-D: the maximum and the wrong-sign well, exact;\n"
                 "critics near 0 are stuck between the two wells of (|f′| − 1)² (1-D has no way round)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[1]
    twod = [g for g in r.gp.values() if math.isnan(g.bias)]
    for g in twod:
        ax.plot([g.w1] * len(g.estimates), [v for v, _ in g.estimates], "o", color="C0", ms=5)
    w = np.linspace(0, 0.5, 10)
    ax.plot(w, w, "k-", lw=1, label="estimate = W1")
    ax.set_xlabel("W1 = |v| (exact: ring8, std 0.2, translated by (v, 0))")
    ax.set_ylabel("E f(p) − E f(q)")
    ax.set_title("gradient penalty, 2-D translations", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[2]
    for k, shift in enumerate(sorted({c.shift for c in r.clip})):
        cs = [c for c in r.clip if c.shift == shift]
        x = np.array([c.clip for c in cs])
        ratio = np.array([[v / shift for v, _ in c.estimates] for c in cs])
        _band(ax, x, ratio, f"C{k}", f"estimate / W1, W1 = {shift}")
        bound = np.array([np.mean(c.lipschitz) for c in cs])
        ax.plot(x, bound, ":", color=f"C{k}", label="Lip(f) bound ∏‖W‖₂ (mean)" if k == 0 else None)
    c0 = np.array(sorted({c.clip for c in r.clip}))
    mid = np.mean([v / 0.2 for v, _ in [c for c in r.clip if c.shift == 0.2 and c.clip == c0[1]][0].estimates])
    ax.plot(c0, mid * (c0 / c0[1]) ** 3, "k--", lw=0.8, label="∝ c³ (weights at ±c, 3 layers)")
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("clip value c (RMSProp 5e-5, Arjovsky et al.)")
    ax.set_title("weight clipping: W1 times a Lipschitz constant K(c)", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.suptitle("Kantorovich–Rubinstein duality: WGAN critics trained alone against known pairs", fontsize=12)
    _save(fig, out / "kr_duality.png")
    wrong = sum(v < 0 for g in r.gp.values() if not math.isnan(g.bias) for v, _ in g.estimates)
    total = sum(len(g.estimates) for g in r.gp.values() if not math.isnan(g.bias))
    return f"kr_duality: {wrong}/{total} 1-D critics in the wrong-sign well; K(c) at c = 0.01: {mid:.3g}"


# -- 6. convergence --------------------------------------------------------------------------------------------------------------
def figure_convergence(out: Path, seed: int) -> str:
    r = convergence_experiment(seed, "short")
    s = r.settings
    fig, (ax, ax_c) = plt.subplots(1, 2, figsize=(12, 4.4), constrained_layout=True)
    x = np.array(r.centres)
    width = x[1] - x[0]
    ax.plot(x, np.array(r.p_data) / width, "k:", lw=2.5, label=r"$p_\mathrm{data}$ (bin masses)")
    for k, (step, q) in enumerate(sorted(r.snapshots.items())):
        ax.plot(x, np.array(q) / width, color=plt.cm.viridis(k / max(1, len(r.snapshots) - 1)), lw=1.3,
                label=f"$p_g$ at step {step}")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(f"a histogram p_g ({s.bins} bins) on V(D*, G), η = {s.lr}", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    c = np.array(r.criterion) + LOG4
    t = np.arange(len(c))
    ax_c.plot(np.maximum(t, 1), np.maximum(c, 1e-17), color="C0", label=r"$C(q_t) + \log 4$")
    running = np.cumsum(c[1:]) / np.arange(1, len(c))
    ax_c.plot(np.arange(1, len(c)), running, color="C2", label="running mean of C(q_t) + log 4")
    ax_c.axhline(r.bound, color="C3", ls="--", label=f"mirror-descent bound at T = {s.steps}")
    ax_c.set_xscale("log")
    ax_c.set_yscale("log")
    ax_c.set_ylim(1e-17, 2)
    ax_c.set_xlabel("step t")
    ax_c.set_title("C(G) falls to −log 4 (float64 rounding at 1e-16)", fontsize=10)
    ax_c.legend(fontsize=8)
    ax_c.grid(alpha=0.3, which="both")
    fig.suptitle("Proposition 2 (Goodfellow et al. 2014): with D = D* at every step, p_g → p_data", fontsize=12)
    _save(fig, out / "convergence.png")
    first = int(np.argmax(c < 1e-6))
    return f"convergence: C + log 4 < 1e-6 from step {first}; final {c[-1]:.2e}; bound {r.bound:.3f}"


# -- 7. minimax vs maximin ---------------------------------------------------------------------------------------------------------
def figure_maximin(out: Path, seed: int) -> str:
    r = maximin_experiment(seed, "long")
    s = r.settings
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    grid = np.array(r.grid)
    centres = np.array([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])
    for ax, (order, o) in zip(axes[:2], r.orders.items()):
        z = np.array(o.d_grid).T
        im = ax.contourf(grid, grid, z, levels=20, cmap="RdBu_r")
        fig.colorbar(im, ax=ax, label="D's logit (seed 0)")
        pts = np.array(o.samples)
        ax.plot(pts[:, 0], pts[:, 1], ".", ms=2, color="k", alpha=0.5)
        ax.plot(centres[:, 0], centres[:, 1], "o", mfc="none", mec="gold", ms=9, mew=1.5)
        ax.set_aspect("equal")
        ax.set_title(f"{order} ({s.many}): seed 0's samples, e^H = {math.exp(o.entropy[0]):.2f} modes", fontsize=9)
    ax = axes[2]
    for k, (order, o) in enumerate(r.orders.items()):
        steps = sorted(o.history)
        _band(ax, steps, [[math.exp(h) for h in o.history[t]] for t in steps], f"C{k}", order)
    ax.axhline(8, color="k", ls=":", lw=1, label="p_data: 8 modes")
    ax.axhline(1, color="k", ls="--", lw=1, label="best response to a fixed D: 1 point")
    ax.set_xlabel("alternating steps")
    ax.set_ylabel(r"effective modes $e^H$ (nearest-mode histogram)")
    ax.set_title(f"{s.seeds} seeds (mean, min–max band)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(f"Minimax vs maximin on ring8 (std {s.ring_std}): G best-responding to D collapses; "
                 "D best-responding to G does not", fontsize=12)
    _save(fig, out / "minimax_maximin.png")
    return "minimax_maximin: final effective modes " + "; ".join(
        f"{o}: {np.mean([math.exp(h) for h in x.entropy]):.2f}" for o, x in r.orders.items())


# -- 9 and 10 --------------------------------------------------------------------------------------------------------------------------
def figure_saturation(out: Path, seed: int) -> str:
    r = saturation_experiment(seed, "short")
    d = np.array(r.d_mean).ravel()
    ratio = np.array(r.ratio).ravel()
    fig, (ax, ax_n) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    sc = ax.scatter(d, ratio, c=np.repeat(r.steps, len(r.ratio[0])), s=8, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="step")
    grid = np.linspace(d.min() * 0.9, min(0.99, d.max() * 1.1), 200)
    ax.plot(grid, (1 - grid) / grid, "k-", lw=1, label=r"$(1 - \bar D)/\bar D$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\bar D$ = batch mean of D(G(z))")
    ax.set_ylabel(r"$\|\nabla_\theta L_{NS}\| / \|\nabla_\theta L_{MM}\|$ (measured)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax.set_title("measured norm ratio against the per-sample (1 − D)/D", fontsize=10)
    steps = np.array(r.steps)
    ax_n.plot(steps, np.array(r.norm_mm).mean(1), label="minimax log(1 − D(G(z)))")
    ax_n.plot(steps, np.array(r.norm_ns).mean(1), label="non-saturating −log D(G(z))")
    ax_n.set_yscale("log")
    ax_n.set_xlabel("step (D first trained alone for %d steps)" % r.settings.d_warmup)
    ax_n.set_ylabel("generator gradient norm (mean over seeds)")
    ax_n.legend(fontsize=8)
    ax_n.grid(alpha=0.3)
    fig.suptitle("Non-saturating vs minimax generator loss in the first steps of a run (ring8)", fontsize=12)
    _save(fig, out / "nonsaturating_gradients.png")
    pred = (1 - d) / d
    return f"nonsaturating_gradients: measured/predicted ratio median {np.median(ratio / pred):.3f}, " \
        f"range [{(ratio / pred).min():.2f}, {(ratio / pred).max():.2f}]"


def figure_unrolling(out: Path, seed: int) -> str:
    r = unrolling_experiment(seed, "short")
    p = r.prediction
    ks = np.array(r.settings.ks)
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    kk = np.arange(0, ks.max() + 1)
    ax.plot(np.maximum(ks, 0.5), [p.surrogate[k] for k in ks], "k-", lw=1, label="population prediction")
    for k in ks:
        v = r.unrolled[k]
        ax.errorbar(max(k, 0.5), np.mean(v), yerr=4 * np.std(v, ddof=1) / math.sqrt(len(v)), fmt="o", color="C0")
    ax.axhline(p.vanilla, color="C1", ls="--", label="vanilla ∂f/∂b (K = 0)")
    ax.axhline(p.best_response, color="C2", ls="--", label="d/db f(b, θ*(b)) (best response)")
    ax.set_xscale("log")
    ax.set_xlabel("K unrolled SGD steps (K = 0 drawn at ½)")
    ax.set_ylabel("d f_K / db (mean ± 4 s.e. over %d batches)" % r.settings.seeds)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax.set_title("Unrolled GAN on a linear D, affine G: the surrogate's gradient", fontsize=10)
    _save(fig, out / "unrolled_gradient.png")
    return f"unrolled_gradient: vanilla {p.vanilla:.4f} → best response {p.best_response:.4f}, contraction {p.contraction:.3f}"


FIGURES = {
    "learned_discriminator": figure_learned_discriminator,
    "goodfellow_figure1": figure_goodfellow,
    "learned_criterion": figure_learned_criterion,
    "disjoint_supports": figure_disjoint,
    "kr_duality": figure_kr,
    "convergence": figure_convergence,
    "minimax_maximin": figure_maximin,
    "nonsaturating_gradients": figure_saturation,
    "unrolled_gradient": figure_unrolling,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=str(ROOT / "figures"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", choices=sorted(FIGURES), help="make only these figures")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or FIGURES:
        t0 = time.time()
        line = FIGURES[name](out, args.seed)
        print(f"{line}  [{time.time() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
