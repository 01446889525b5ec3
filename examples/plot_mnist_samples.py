r"""
MNIST digits from a short run
=============================

The ``mnist-mlp`` preset — the GAN-zoo MLP GAN (G 100 → 128 → 256 → 512 → 1024 → 784 with batch
norm, D 784 → 512 → 256 → 1, Adam 2e-4, batch 64) — trained for 600 steps (under five epochs of
the 8,000 training digits the ``mnist-test8k`` target cuts from MNIST's test split), then 64
samples drawn from the generator. The full 40-epoch run, its curves and its Parzen estimate are
on the :doc:`/results/images` page.

The data: the directory in ``$GANLAB_MNIST_DIR``, else this project's ``shared/data/mnist``
beside the repository (MNIST's IDX files; see :func:`ganlab.data.mnist.load_mnist`).
"""

import dataclasses
import os
from pathlib import Path

import matplotlib.pyplot as plt

from ganlab.training.config import Runtime
from ganlab.training.engine import Trainer
from ganlab.training.presets import make_preset

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
data_dir = Path(os.environ.get("GANLAB_MNIST_DIR", here.parent.parent / "shared" / "data" / "mnist"))
if not data_dir.is_dir():
    raise FileNotFoundError(f"no MNIST directory at {data_dir}: set GANLAB_MNIST_DIR to a folder of MNIST's IDX files")

cfg = dataclasses.replace(make_preset("mnist-mlp"), steps=600)
trainer = Trainer(cfg, Runtime(threads=1, progress=False, data_dir=str(data_dir)))
while trainer.step < cfg.steps:
    d_loss, g_loss = trainer.train_step()
print(f"{cfg.label}: {cfg.steps} steps of batch {cfg.method.batch_size}")

# %%
images = trainer.generate(64)[0].reshape(64, 28, 28)  # pixels in (-1, 1)
fig, axes = plt.subplots(8, 8, figsize=(6, 6), constrained_layout=True)
for img, ax in zip(images, axes.flat):
    ax.imshow(img.numpy(), cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
fig.suptitle(f"mnist-mlp after {cfg.steps} steps (seed 0)")
plt.show()
