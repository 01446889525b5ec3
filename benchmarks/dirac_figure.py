#!/usr/bin/env python
"""The Dirac-GAN figure (like Mescheder et al. 2018, Figures 2–3): for every training method the
gradient vector field v(θ, ψ) (``ganlab.theory.dirac``) and one trajectory of gradient descent from
(θ, ψ) = (1, 1) trained through ganlab's own losses and regularisers (``ganlab.experiments.dirac``),
simultaneous (top two rows) and alternating (bottom two rows). Each panel's title gives the
spectral radius ρ of the update's Jacobian at the equilibrium where the field has one, and the rate
measured over the run's last steps.

    python benchmarks/dirac_figure.py [--out figures/dirac.png]

Takes a few seconds on one CPU core; prints one line per panel.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ganlab.experiments.dirac import ARMS, SCHEDULE_NAMES, SETTINGS, DiracResult, run_arms  # noqa: E402
from ganlab.theory.dirac import METHODS, contraction_rate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAMES = {"gan": "GAN", "nonsaturating": "non-saturating GAN", "wgan": "WGAN", "wgan-gp": "WGAN-GP",
         "instance_noise": "instance noise", "r1": "R1", "r2": "R2", "consensus": "consensus"}
SETTING = {"wgan": "clip c = {m.clip:g}", "wgan-gp": "γ = {m.gamma:g}, g0 = {m.g0:g}", "instance_noise": "σ = {m.sigma:g}",
           "r1": "γ = {m.gamma:g}", "r2": "γ = {m.gamma:g}", "consensus": "γ = {m.gamma:g}"}
# each panel's title, with the settings the experiment's arms really use
TITLES = {k: NAMES[k] + (f" ({SETTING[k].format(m=m)})" if k in SETTING else "") for k, m in ARMS.items()}


def plot_dirac(result: DiracResult, path: Path, *, extent: float = 2.0, arrows: int = 15) -> list[str]:
    """Write the figure of ``result`` (every arm, both schedules) to ``path``; return one summary
    line per panel."""
    names, s = list(result.arms), result.settings
    cols = 4
    rows_per = -(-len(names) // cols)
    fig, axes = plt.subplots(2 * rows_per, cols, figsize=(3.1 * cols, 3.2 * 2 * rows_per), squeeze=False)
    g = torch.linspace(-extent, extent, arrows, dtype=torch.float64)
    th, ps = torch.meshgrid(g, g, indexing="xy")
    lines = []
    for block, schedule in enumerate(SCHEDULE_NAMES):
        for i, name in enumerate(names):
            ax = axes[block * rows_per + i // cols, i % cols]
            m = result.arms[name]
            v_th, v_ps = m.field(th, ps)
            ax.quiver(th.numpy(), ps.numpy(), v_th.numpy(), v_ps.numpy(), color="0.55", width=0.004)
            if name == "wgan":  # the clipped region ψ ∉ [−c, c]
                for sign in (-1, 1):
                    ax.axhspan(sign * m.clip, sign * extent, color="0.85", zorder=0)
            traj = result.trajectories[name, schedule]
            ax.plot(traj[:, 0], traj[:, 1], "-", color="C0", lw=1.0)
            ax.plot(traj[0, 0], traj[0, 1], "o", color="C3", ms=5)
            ax.plot(traj[-1, 0], traj[-1, 1], "s", color="C0", ms=4)
            ax.plot(0, 0, "*", color="k", ms=8)
            measured = result.measured_rate(name, schedule)
            if METHODS[name].jacobian is not None:
                rho = contraction_rate(m, s.h, schedule)
                rates = f"ρ = {rho:.4f}, measured {measured:.4f}"
            else:
                rho, rates = float("nan"), f"no Jacobian; measured {measured:.4f}"
            ax.set_title(f"{TITLES.get(name, name)}\n{schedule}: {rates}", fontsize=8)
            ax.set_xlim(-extent, extent)
            ax.set_ylim(-extent, extent)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
            ax.set_xlabel("θ", fontsize=8)
            ax.set_ylabel("ψ", fontsize=8)
            r = result.distances(name, schedule)
            lines.append(f"{name:15s} {schedule:12s} rho={rho:.5f} measured={measured:.5f} "
                         f"r_0={r[0]:.3f} r_T={r[-1]:.3g}")
    fig.suptitle(f"Dirac-GAN: vector fields and gradient descent through ganlab's losses "
                 f"(h = {s.h}, {s.steps} steps from {s.start}; ★ the equilibrium)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "dirac.png")
    args = parser.parse_args(argv)
    result = run_arms(SETTINGS["short"], ARMS)
    for line in plot_dirac(result, args.out):
        print(line)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
