r"""
Mode collapse: a quick GAN against PacGAN
=========================================

Two short runs of the ``quick`` preset (2 × 128 ReLU nets, z of 2, Adam 1e-3) on the 8-mode ring,
four seeds each trained as one batched run (:class:`ganlab.training.engine.Trainer`): the
non-saturating GAN, and the same GAN with a packed discriminator (PacGAN, m = 2). Mode coverage is
PacGAN's metric (:func:`ganlab.metrics.modes.mode_metrics`: a mode is captured when a sample within
3 standard deviations of its centre is nearest to it). At this budget (1,200 steps, seconds) the
numbers vary a lot from seed to seed; the :doc:`/results/mode_coverage` page has ten seeds of
every method. Theory page: :doc:`/theory/packing`.
"""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from ganlab.metrics.modes import mode_metrics
from ganlab.theory.targets import make_target
from ganlab.training.config import Runtime
from ganlab.training.engine import Trainer
from ganlab.training.presets import make_preset

target = make_target("ring8")
runs = {}
for method in ("nonsaturating", "packed"):
    cfg = dataclasses.replace(make_preset("quick", target="ring8", method=method), steps=1200)
    trainer = Trainer(cfg, Runtime(threads=1, progress=False))
    while trainer.step < cfg.steps:
        trainer.train_step()
    samples = trainer.generate(2500)  # [seeds, 2500, 2]
    runs[cfg.label] = (samples, [mode_metrics(s, target) for s in samples])

for label, (_, metrics) in runs.items():
    modes = [m.modes_captured for m in metrics]
    hq = [100 * m.high_quality_fraction for m in metrics]
    print(f"{label:>26}: modes per seed {modes} (mean {np.mean(modes):.1f} of 8), "
          f"high quality {np.mean(hq):.1f} %")

# %%
fig, axes = plt.subplots(2, 4, figsize=(11, 5.6), constrained_layout=True, sharex=True, sharey=True)
centres = target.means.numpy()
for row, (label, (samples, metrics)) in zip(axes, runs.items()):
    for seed, ax in enumerate(row):
        x = samples[seed].numpy()
        ax.plot(x[:, 0], x[:, 1], ".", ms=1, alpha=0.4)
        ax.plot(centres[:, 0], centres[:, 1], "r+", ms=8)
        ax.set_title(f"{label}\nseed {seed}: {metrics[seed].modes_captured} of 8 modes", fontsize=8)
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.6, 1.6)
        ax.set_aspect("equal")
plt.show()
