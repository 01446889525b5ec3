"""A class-conditional GAN learns its labels: on ring8 with classes = 8 (a toy mixture's labels are
its components), after a short training run a sample generated for label k lies nearest mode k
for a large majority of samples, in every member, far above the 1/8 of a generator that ignores
its label (or was trained on labels that do not belong to its data).

The classifier is the nearest mode (the modes are 0.77 apart, the std 0.01: the Bayes classifier
of the target itself). The thresholds have a wide margin: both members reach 100 % at 300 steps.

The slow MNIST variant does the same for the conditional DCGAN (``mnist-cdcgan``, small widths)
with ganlab's own digit classifier (trained once and cached under $GANLAB_CACHE or
~/.cache/ganlab: about a minute of CPU the first time)."""

import dataclasses

import pytest
import torch

from ganlab.models.conv import DCGANSpec
from ganlab.training.config import Runtime
from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method
from ganlab.training.presets import PRESETS
from helpers import F32, small
from shared_data import shared_mnist_dir

STEPS = 300


def test_conditional_samples_land_on_their_labels_mode():
    cfg = dataclasses.replace(small(make_method("nonsaturating", lr_d=2e-3, lr_g=2e-3), seeds=(3, 5), classes=8),
                              evaluators=(), final_evaluators=())
    t = Trainer(cfg, F32)
    for _ in range(STEPS):
        t.train_step()
    per_class = 50
    labels = torch.arange(8).repeat(per_class)[None].expand(t.n, -1)  # mixed in every batch
    x = t.generate(8 * per_class, labels=labels)
    centres = t.target.means.to(x.dtype)
    nearest = ((x[:, :, None, :] - centres) ** 2).sum(-1).argmin(-1)  # [N, n]
    hit = (nearest == labels).to(torch.float64)
    overall = hit.mean(dim=1)
    by_class = torch.stack([hit[:, labels[0] == k].mean(dim=1) for k in range(8)], dim=1)  # [N, 8]
    assert (overall >= 0.8).all() and (by_class >= 0.5).all(), (overall, by_class)


@pytest.mark.slow
@pytest.mark.skipif(shared_mnist_dir() is None, reason="no MNIST test split")
def test_conditional_dcgan_digits_are_classified_as_their_labels():
    """mnist-cdcgan with width 8, hidden 64, z ∈ R³², Adam 1e-3, 300 steps of batch 64 (≈ 35 s of
    one CPU thread): the classifier reads 83 % of 500 samples (50 per digit) as their label at
    seed 0 (72 % at 200 steps, 13 % at 100); chance is 10 %."""
    from ganlab.data.images import test8k_digits
    from ganlab.metrics.images import digit_classifier
    from ganlab.metrics.images import classify_digits

    data_dir = str(shared_mnist_dir())
    cfg = PRESETS["mnist-cdcgan"](seeds=(0,))
    spec = DCGANSpec(width=8, hidden=64)
    cfg = dataclasses.replace(cfg, generator=spec, discriminator=spec, noise_dim=32, evaluators=(),
                              final_evaluators=(), method=dataclasses.replace(cfg.method, lr_d=1e-3, lr_g=1e-3))
    t = Trainer(cfg, Runtime(dtype="float32", data_dir=data_dir))
    for _ in range(300):
        t.train_step()
    labels = torch.arange(10).repeat(50)[None]  # mixed in every batch (batch norm)
    digits = classify_digits(t.generate(500, labels=labels)[0], digit_classifier(test8k_digits(data_dir)))
    assert (digits == labels[0]).double().mean() >= 0.5
