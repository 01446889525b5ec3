r"""
MNIST digits from a short run
=============================

The ``mnist-mlp`` preset — the GAN-zoo MLP GAN (G 100 → 128 → 256 → 512 → 1024 → 784 with batch
norm, D 784 → 512 → 256 → 1, Adam 2e-4, batch 64) — trained for 600 steps (under five epochs of
the 8,000 training digits the ``mnist-test8k`` target cuts from MNIST's test split), then 64
samples drawn from the generator. The full 40-epoch run, its curves and its Parzen estimate are
on the :doc:`/results/images` page.

The data: the directory in ``$GANLAB_MNIST_DIR`` (MNIST's IDX files; see
:func:`ganlab.data.mnist.load_mnist`). Without it the example says so on its figure instead of
training (``.ci/run`` sets it where the lab's copy of MNIST exists).
"""

import dataclasses
import os
from pathlib import Path

import matplotlib.pyplot as plt

from ganlab.training.config import Runtime
from ganlab.training.engine import Trainer
from ganlab.training.presets import make_preset

data_dir = os.environ.get("GANLAB_MNIST_DIR")
cfg = dataclasses.replace(make_preset("mnist-mlp"), steps=600)
if not data_dir or not Path(data_dir).is_dir():
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.text(0.5, 0.5, f"no MNIST folder (GANLAB_MNIST_DIR={data_dir!r}):\nset it to a folder of MNIST's IDX files "
            "to train and draw the samples", ha="center", va="center")
    ax.axis("off")
else:
    trainer = Trainer(cfg, Runtime(threads=1, progress=False, data_dir=data_dir))
    while trainer.step < cfg.steps:
        d_loss, g_loss = trainer.train_step()
    print(f"{cfg.label}: {cfg.steps} steps of batch {cfg.method.batch_size}")
    images = trainer.generate(64)[0].reshape(64, 28, 28)  # pixels in (-1, 1)
    fig, axes = plt.subplots(8, 8, figsize=(6, 6), constrained_layout=True)
    for img, ax in zip(images, axes.flat):
        ax.imshow(img.numpy(), cmap="gray", vmin=-1, vmax=1)
        ax.axis("off")
    fig.suptitle(f"mnist-mlp after {cfg.steps} steps (seed 0)")
plt.show()
