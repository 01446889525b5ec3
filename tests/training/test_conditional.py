"""A class-conditional GAN learns its labels: on ring8 with classes = 8 (a toy mixture's labels are
its components), after a short training run a sample generated for label k lies nearest mode k
for a large majority of samples, in every member, far above the 1/8 of a generator that ignores
its label (or was trained on labels that do not belong to its data).

The classifier is the nearest mode (the modes are 0.77 apart, the std 0.01: the Bayes classifier
of the target itself). The thresholds have a wide margin: both members reach 100 % at 300 steps."""

import dataclasses

import torch

from ganlab.training.engine import Trainer
from ganlab.training.methods import make_method
from helpers import F32, small

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
