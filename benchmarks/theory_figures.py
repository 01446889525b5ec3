#!/usr/bin/env python
"""Four figures that illustrate the theory implemented in ``ganlab``, each computed from
ganlab's own functions (nothing is hard-coded):

1. ``jsd_vs_w1.png`` — JSD(p, q_t) saturates at log 2 once N(0, σ²) and N(t, σ²) stop
   overlapping, while W1(p, q_t) = |t| keeps growing smoothly (Arjovsky et al. 2017):
   ``jensen_shannon`` by quadrature; W1 exact (|t|, a translation) against sample estimates
   from ``wasserstein_1d`` and POT's exact EMD ``w1``.
2. ``optimal_discriminator.png`` — Proposition 1 and Theorem 1 of Goodfellow et al. (2014):
   D*(x) = p_data/(p_data + p_g) (``optimal_discriminator``) for two 1-D mixtures, and
   C(G) = V(D*, G) (``virtual_criterion``) against −log 4 + 2·JSD (``jensen_shannon``).
3. ``packed_tv.png`` — PacGAN (Lin et al. 2018): two generators with the same TV(P, Q) = 0.2,
   one dropping a mode and one spreading the error; TV(P^m, Q^m) (``packed_total_variation``,
   exact) grows much faster with the pack size m for the mode collapse; Bhattacharyya bounds
   (``packed_tv_bounds``) as bands.
4. ``generator_gradients.png`` — the minimax loss log(1 − D(G(z))) has slope σ(l) = D in D's
   logit, which vanishes early in training (D(G(z)) → 0); the non-saturating −log D(G(z)) has
   slope 1 − D (``minimax_generator_gradient``, ``nonsaturating_generator_gradient``,
   ``nonsaturating_gradient_ratio``).

    python benchmarks/theory_figures.py [--out-dir figures]

Takes a few seconds on one CPU core. Prints one line of key numbers per figure.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ganlab.theory.divergences import jensen_shannon  # noqa: E402
from ganlab.theory.packing import packed_total_variation, packed_tv_bounds  # noqa: E402
from ganlab.theory.targets import mixture_1d  # noqa: E402
from ganlab.theory.gan import (  # noqa: E402
    minimax_generator_gradient,
    nonsaturating_generator_gradient,
    nonsaturating_gradient_ratio,
    optimal_discriminator,
    virtual_criterion,
)
from ganlab.theory.wasserstein import w1, wasserstein_1d  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOG2, LOG4 = math.log(2.0), math.log(4.0)
DPI = 130


def _sci(x: float) -> str:
    """x in mathtext scientific notation, e.g. 1.4 \\times 10^{-12}."""
    if x == 0:
        return "0"
    exp = math.floor(math.log10(abs(x)))
    return r"%.1f \times 10^{%d}" % (x / 10**exp, exp)


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


# -- 1. JSD saturates, W1 does not --------------------------------------------------------------
def figure_jsd_vs_w1(out: Path, *, sigma: float = 0.1, n_shifts: int = 41, n_samples: int = 2000,
                     n_emd: int = 500, seed: int = 0) -> str:
    shifts = np.linspace(0.0, 2.0, n_shifts)
    p = mixture_1d(means=(0.0,), stds=(sigma,))
    jsd, jsd_err, w1_sample = [], [], []
    x = p.sample(n_samples, seed, dtype=torch.float64)
    for i, t in enumerate(shifts):
        q = mixture_1d(means=(float(t),), stds=(sigma,))
        est = jensen_shannon(p, q, method="quadrature")
        jsd.append(est.value)
        jsd_err.append(est.error)
        y = q.sample(n_samples, seed + 1 + i, dtype=torch.float64)
        w1_sample.append(wasserstein_1d(x, y))
    jsd, w1_sample = np.array(jsd), np.array(w1_sample)
    # POT's exact EMD on smaller clouds at a few shifts
    emd_shifts = shifts[:: max(1, n_shifts // 8)]
    x_small = x[:n_emd]
    w1_emd = np.array([
        w1(x_small, mixture_1d(means=(float(t),), stds=(sigma,)).sample(n_emd, seed + 1000 + j, dtype=torch.float64))
        for j, t in enumerate(emd_shifts)
    ])
    w1_exact = np.abs(shifts)

    fig, (ax_j, ax_w) = plt.subplots(1, 2, figsize=(10, 4.0), constrained_layout=True)
    disjoint = 6 * sigma  # the ±3σ bulks stop overlapping
    for ax in (ax_j, ax_w):
        ax.axvspan(disjoint, shifts[-1], color="0.92", zorder=0)
        ax.set_xlabel(r"shift $t$  ($q_t = \mathcal{N}(t, \sigma^2)$, $\sigma = %g$)" % sigma)
        ax.set_xlim(shifts[0], shifts[-1])
        ax.grid(alpha=0.3)
    ax_j.plot(shifts, jsd, "-o", ms=3, color="C0", label=r"JSD$(p, q_t)$ (quadrature)")
    ax_j.axhline(LOG2, color="k", ls="--", lw=1, label=r"$\log 2$")
    ax_j.text(disjoint + 0.03, 0.25, r"supports $\pm3\sigma$ disjoint ($t > 6\sigma$)" "\nJSD flat: zero gradient in $t$",
              fontsize=8.5, color="0.3", va="center")
    ax_j.set_ylabel("Jensen–Shannon divergence (nats)")
    ax_j.set_ylim(0, 0.8)
    ax_j.set_title("JSD saturates at log 2 on disjoint supports")
    ax_j.legend(loc="lower right")

    ax_w.plot(shifts, w1_exact, "-", color="C1", lw=2, label=r"exact $W_1 = |t|$")
    ax_w.plot(shifts, w1_sample, "o", ms=4, mfc="none", color="C2",
              label=f"wasserstein_1d, {n_samples} samples each")
    ax_w.plot(emd_shifts, w1_emd, "x", ms=7, mew=1.5, color="C3", label=f"POT EMD (w1), {n_emd} samples each")
    ax_w.set_ylabel(r"$W_1(p, q_t)$")
    ax_w.set_ylim(0, 2.1)
    ax_w.set_title(r"$W_1$ stays smooth (and informative) in $t$")
    ax_w.legend(loc="upper left")
    fig.suptitle(r"JSD vs Wasserstein-1 between $p = \mathcal{N}(0, \sigma^2)$ and $q_t = \mathcal{N}(t, \sigma^2)$",
                 fontsize=12)
    _save(fig, out / "jsd_vs_w1.png")
    return (f"jsd_vs_w1: JSD(t=2) = {jsd[-1]:.12f} ± {jsd_err[-1]:.1e} vs log 2 = {LOG2:.12f}; "
            f"JSD(t=6σ={disjoint:g}) = {np.interp(disjoint, shifts, jsd):.4f}; "
            f"W1 samples max |err| vs |t| = {np.max(np.abs(w1_sample - w1_exact)):.4f}, "
            f"W1(t=2) = {w1_sample[-1]:.4f} (wasserstein_1d) / {w1_emd[-1]:.4f} (EMD at t={emd_shifts[-1]:g}) vs 2")


# -- 2. the optimal discriminator and C(G) ------------------------------------------------------
def figure_optimal_discriminator(out: Path) -> str:
    p_data = mixture_1d(means=(-2.0, 2.0), stds=(0.5, 0.5), weights=(0.5, 0.5))
    p_g = mixture_1d(means=(-1.0, 2.5), stds=(0.8, 0.4), weights=(0.7, 0.3))
    x = torch.linspace(-5.0, 5.0, 801, dtype=torch.float64)
    dens_data, dens_g = p_data.prob(x).numpy(), p_g.prob(x).numpy()
    d_star = optimal_discriminator(p_data, p_g, x[:, None]).numpy()
    c = virtual_criterion(p_data, p_g, method="quadrature")
    jsd = jensen_shannon(p_data, p_g, method="quadrature")
    predicted, predicted_err = -LOG4 + 2 * jsd.value, 2 * jsd.error

    fig, (ax, ax_text) = plt.subplots(2, 1, figsize=(8, 5.4), gridspec_kw=dict(height_ratios=[5, 1]),
                                      constrained_layout=True)
    xs = x.numpy()
    ax.fill_between(xs, dens_data, color="C0", alpha=0.2)
    ax.fill_between(xs, dens_g, color="C1", alpha=0.2)
    l1, = ax.plot(xs, dens_data, color="C0", lw=2, label=r"$p_\mathrm{data}$: ½N(−2, 0.5²) + ½N(2, 0.5²)")
    l2, = ax.plot(xs, dens_g, color="C1", lw=2, label=r"$p_g$: 0.7N(−1, 0.8²) + 0.3N(2.5, 0.4²)")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_ylim(0, 1.3 * max(dens_data.max(), dens_g.max()))
    ax.set_xlim(xs[0], xs[-1])
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    l3, = ax2.plot(xs, d_star, color="k", lw=2, label=r"$D^*(x) = p_\mathrm{data}/(p_\mathrm{data} + p_g)$")
    l4 = ax2.axhline(0.5, color="k", ls=":", lw=1, label=r"$D = 1/2$ (reached iff $p_g = p_\mathrm{data}$)")
    ax2.set_ylabel(r"$D^*(x)$")
    ax2.set_ylim(0, 1.3)
    ax2.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.legend(handles=[l1, l2, l3, l4], loc="upper left", fontsize=8.5, ncol=2, framealpha=0.9)
    text = (
        r"$C(G) = V(D^*, G)$ (quadrature) $= %.10f \pm %s$" "\n"
        r"$-\log 4 + 2\,\mathrm{JSD}(p_\mathrm{data}\,\|\,p_g) = %.10f \pm %s$" "\n"
        r"difference $= %s$;   $C(G) > -\log 4 = %.4f$"
    ) % (c.value, _sci(c.error), predicted, _sci(predicted_err), _sci(c.value - predicted), -LOG4)
    ax_text.axis("off")
    ax_text.text(0.5, 0.5, text, transform=ax_text.transAxes, ha="center", va="center", fontsize=9.5,
                 bbox=dict(boxstyle="round", fc="white", ec="0.6"))
    ax.set_title("Proposition 1: optimal discriminator $D^*$;  Theorem 1: $C(G) = -\\log 4 + 2\\,\\mathrm{JSD}$")
    _save(fig, out / "optimal_discriminator.png")
    return (f"optimal_discriminator: C(G) = {c.value:.12f} ± {c.error:.1e} vs −log 4 + 2·JSD = "
            f"{predicted:.12f} ± {predicted_err:.1e} (diff {c.value - predicted:.1e}); JSD = {jsd.value:.6f}; "
            f"D* range [{d_star.min():.3f}, {d_star.max():.3f}]")


# -- 3. packed total variation --------------------------------------------------------------------
def figure_packed_tv(out: Path, *, max_m: int = 10) -> str:
    k = 5
    p = np.full(k, 1.0 / k)
    q_collapse = np.array([0.0] + [1.0 / (k - 1)] * (k - 1))  # drops mode 1 entirely
    q_spread = np.array([0.15, 0.15, 0.15, 0.15, 0.40])        # every mode keeps >= 75% of its mass
    pairs = [
        ("mode collapse: $Q_1$ drops mode 1", q_collapse, "C3"),
        ("no collapse: $Q_2$ spreads the error", q_spread, "C0"),
    ]
    ms = np.arange(1, max_m + 1)
    results = {}
    for name, q, _ in pairs:
        tv = np.array([packed_total_variation(p, q, int(m)).value for m in ms])
        bounds = np.array([packed_tv_bounds(p, q, int(m)) for m in ms])
        results[name] = (tv, bounds)

    fig, (ax_b, ax) = plt.subplots(1, 2, figsize=(10.5, 4.2), gridspec_kw=dict(width_ratios=[1, 1.6]),
                                   constrained_layout=True)
    idx = np.arange(k)
    width = 0.27
    ax_b.bar(idx - width, p, width, color="0.5", label="target $P$ (uniform)")
    ax_b.bar(idx, q_collapse, width, color="C3", label="$Q_1$ (mode collapse)")
    ax_b.bar(idx + width, q_spread, width, color="C0", label="$Q_2$ (no collapse)")
    ax_b.set_xticks(idx, [f"{i + 1}" for i in idx])
    ax_b.set_xlabel("mode")
    ax_b.set_ylabel("probability")
    ax_b.set_ylim(0, 0.55)
    ax_b.set_title("Same TV at m = 1: TV$(P, Q_1)$ = TV$(P, Q_2)$ = %.2f" % results[pairs[0][0]][0][0], fontsize=10)
    ax_b.legend(loc="upper left", fontsize=8.5)

    for name, _, color in pairs:
        tv, bounds = results[name]
        ax.fill_between(ms, bounds[:, 0], bounds[:, 1], color=color, alpha=0.12)
        ax.plot(ms, bounds[:, 0], ":", color=color, lw=1)
        ax.plot(ms, bounds[:, 1], ":", color=color, lw=1)
        ax.plot(ms, tv, "-o", color=color, lw=2, ms=5, label=name + " (exact)")
    ax.plot([], [], ":", color="0.4", label=r"Bhattacharyya bounds $1 - BC^m \leq$ TV $\leq \sqrt{1 - BC^{2m}}$")
    ax.set_xlabel("pack size $m$")
    ax.set_ylabel(r"TV$(P^m, Q^m)$")
    ax.set_xticks(ms)
    ax.set_xlim(0.7, max_m + 0.3)
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_ylim(0, 1.32)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8.5, framealpha=0.95)
    ax.set_title("Packing amplifies mode collapse: TV of $m$-sample packs", fontsize=10)
    fig.suptitle("PacGAN (Lin et al. 2018): TV$(P^m, Q^m)$ grows faster with $m$ for a mode-collapsing $Q$",
                 fontsize=12)
    _save(fig, out / "packed_tv.png")
    (tv_c, _), (tv_s, _) = (results[name] for name, _, _ in pairs)
    return (f"packed_tv: TV(m=1) collapse {tv_c[0]:.4f} / spread {tv_s[0]:.4f}; "
            f"TV(m={max_m}) collapse {tv_c[-1]:.4f} (1 − 0.8^{max_m} = {1 - 0.8 ** max_m:.4f}) / "
            f"spread {tv_s[-1]:.4f}")


# -- 4. minimax vs non-saturating generator gradients --------------------------------------------
def figure_generator_gradients(out: Path, *, early: float = 0.05) -> str:
    d = np.logspace(-4, 0, 400)[:-1]
    d = np.concatenate([d, 1 - d[::-1][d[::-1] < 0.5]])
    d = np.unique(d[(d > 0) & (d < 1)])
    logit = np.log(d) - np.log1p(-d)
    g_mm = np.abs(minimax_generator_gradient(logit))
    g_ns = np.abs(nonsaturating_generator_gradient(logit))

    fig, ax = plt.subplots(figsize=(7.5, 4.6), constrained_layout=True)
    ax.axvspan(d[0], early, color="C3", alpha=0.1, label=f"early training: $D(G(z)) < {early:g}$")
    ax.plot(d, g_mm, color="C3", lw=2, label=r"minimax $\log(1 - D(G(z)))$: $|\partial/\partial l| = \sigma(l) = D$")
    ax.plot(d, g_ns, color="C0", lw=2, label=r"non-saturating $-\log D(G(z))$: $|\partial/\partial l| = 1 - \sigma(l)$")
    ax.set_xscale("logit")
    ax.set_yscale("log")
    ax.set_xlim(d[0], d[-1])
    ax.set_ylim(5e-5, 3)
    ax.set_xlabel(r"$D(G(z)) = \sigma(l)$  (logit scale)")
    ax.set_ylabel(r"$|\,\mathrm{d}\,\mathrm{loss} / \mathrm{d}\,l\,|$  (gradient w.r.t. D's logit $l$)")
    ax.grid(alpha=0.3, which="major")
    probe = 1e-3
    ratio = float(nonsaturating_gradient_ratio(probe))
    lp = math.log(probe) - math.log1p(-probe)
    ax.annotate(f"at D = {probe:g}: non-saturating\ngradient is {ratio:.0f}× larger",
                xy=(probe, abs(minimax_generator_gradient(lp))), xytext=(1.3e-4, 6e-2),
                fontsize=8.5, arrowprops=dict(arrowstyle="->", color="0.3"))
    ax.legend(loc="lower center", fontsize=8.5, framealpha=0.95)
    ax.set_title("Goodfellow et al. (2014): minimax generator loss saturates as $D(G(z)) \\to 0$;\n"
                 "the non-saturating loss keeps a gradient ≈ 1", fontsize=11)
    _save(fig, out / "generator_gradients.png")
    g_mm_p, g_ns_p = abs(minimax_generator_gradient(lp)), abs(nonsaturating_generator_gradient(lp))
    return (f"generator_gradients: at D(G(z)) = {probe:g}: |minimax| = {g_mm_p:.3e}, "
            f"|non-saturating| = {g_ns_p:.6f}, ratio (1 − D)/D = {ratio:.1f}; equal at D = "
            f"{d[np.argmin(np.abs(g_mm - g_ns))]:.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Write four theory figures (JSD vs W1, optimal discriminator and C(G), packed TV, "
                    "generator gradients), all computed with ganlab's own functions.")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "figures",
                        help="folder for the four PNG files (default: figures/ at the repository root)")
    args = parser.parse_args(argv)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for make in (figure_jsd_vs_w1, figure_optimal_discriminator, figure_packed_tv, figure_generator_gradients):
        t0 = time.perf_counter()
        line = make(out)
        print(f"{line}  [{time.perf_counter() - t0:.1f} s]", flush=True)
    print(f"wrote 4 figures to {out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
