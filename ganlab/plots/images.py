"""Figures of an image run folder (MNIST, Stacked MNIST): PNG and PDF.

* ``image_samples``   a grid of one member's final samples (Stacked MNIST as RGB)
* ``image_snapshots`` one row of samples per evaluation (``--snapshots K``; with ``eval_every``
  one epoch these are the per-epoch sample grids)
* ``image_curves``    discriminator and generator losses (means between evaluations) and, where
  evaluated, the classifier's modes and the KL of its mode histogram against uniform, against
  the step

Nothing is retrained: every figure reads what the run wrote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..training.rundir import METRICS_JSONL, SAMPLES, SNAPSHOTS
from .canvas import figure, save

GRID_SIDE = 10  # a 10 × 10 grid of final samples


def _as_images(x: np.ndarray) -> np.ndarray:
    """[n, C, H, W] in (−1, 1) → [n, H, W, C] in [0, 1] for imshow."""
    return np.clip((np.moveaxis(x, 1, -1) + 1.0) / 2.0, 0.0, 1.0)


def tile(x: np.ndarray, cols: int) -> np.ndarray:
    """[n, C, H, W] → one image [rows·(H+1) − 1, cols·(W+1) − 1, C] with 1-pixel white gaps."""
    imgs = _as_images(x)
    n, h, w, c = imgs.shape
    rows = math.ceil(n / cols)
    out = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1, c))
    for k in range(n):
        r, q = divmod(k, cols)
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = imgs[k]
    return out


def _show(ax, img: np.ndarray) -> None:
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
              vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()


def samples_grid(run: Path, out: Path, label: str, member: int = 0) -> list[Path]:
    x = np.load(run / SAMPLES)["samples"][member, :GRID_SIDE * GRID_SIDE]
    fig = figure(6.0, 6.4)
    ax = fig.add_subplot()
    _show(ax, tile(x, GRID_SIDE))
    ax.set_title(f"{label}: final samples (member {member})", fontsize=9)
    return save(fig, out, "image_samples")


def snapshots_grid(run: Path, out: Path, label: str, member: int = 0) -> list[Path]:
    """One row per evaluation step; [] when the run kept no snapshots."""
    files = sorted((run / SNAPSHOTS).glob("step_*.npz"))
    if not files:
        return []
    rows = []
    for f in files:
        with np.load(f) as z:  # each file read once
            rows.append((int(z["step"]), z["samples"][member]))
    k = min(r[1].shape[0] for r in rows)
    fig = figure(0.45 * k + 1.2, 0.5 * len(rows) + 0.6)
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (step, x) in zip(axes, rows):
        _show(ax, tile(x[:k], k))
        ax.text(-0.01, 0.5, f"step {step}", transform=ax.transAxes, ha="right", va="center", fontsize=7)
    fig.suptitle(f"{label}: samples at each evaluation (member {member})", fontsize=9)
    return save(fig, out, "image_snapshots")


def curves(run: Path, out: Path, label: str) -> list[Path]:
    rows = [json.loads(line) for line in (run / METRICS_JSONL).read_text().splitlines() if line.strip()]
    keys = [k for k in ("d_loss", "g_loss", "modes_captured", "reverse_kl") if any(k in r for r in rows)]
    fig = figure(3.2 * len(keys), 2.8)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        for m in sorted({r["member"] for r in rows}):
            pts = [(r["step"], r[key]) for r in rows if r["member"] == m and r.get(key) is not None]
            pts = [(s, v) for s, v in pts if isinstance(v, (int, float)) and math.isfinite(v)]
            if pts:
                ax.plot(*zip(*pts), marker=".", label=f"member {m}")
        ax.set_xlabel("step")
        ax.set_title(key, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(label, fontsize=9)
    return save(fig, out, "image_curves")


def image_figures(run: Path, out: Path, label: str) -> list[Path]:
    return samples_grid(run, out, label) + snapshots_grid(run, out, label) + curves(run, out, label)
