"""Shared pieces of the experiments: budgets, member seeds, a trained discriminator read as the
theory's ``Discriminator`` (through its logits), fresh evaluation samples, summaries over seeds.

Every experiment takes ``seed`` (its members' seeds and its evaluation samples follow from it: the
same seed gives the same numbers) and ``budget`` ("short": seconds on one CPU thread, what
``ganlab verify`` runs; "long": more steps, seeds and samples, for figures and ``--budget long``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from ..rng import torch_generator
from ..theory.targets import GaussianMixture
from ..validation import check_choice

BUDGETS = ("short", "long")
T = TypeVar("T")


def pick(settings: Mapping[str, T], budget: str) -> T:
    """The settings of ``budget`` ("short" or "long") from an experiment's registry."""
    check_choice("budget", budget, BUDGETS)
    return settings[budget]


def member_seeds(seed: int, count: int) -> tuple[int, ...]:
    """``count`` distinct member seeds of experiment seed ``seed``: seed·count + i."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return tuple(seed * count + i for i in range(count))


def lr_decay(steps: int, decay_steps: int) -> dict[str, Any]:
    """Method fields for "the last ``decay_steps`` of ``steps`` at lr/10": a step learning-rate
    schedule (torch's StepLR, γ = 0.1) whose first drop is at step steps − decay_steps and whose
    second would come after the run; none for decay_steps = 0."""
    if isinstance(decay_steps, bool) or not isinstance(decay_steps, int) or not 0 <= decay_steps <= steps // 2:
        raise ValueError(f"decay_steps must be an integer in [0, steps/2] = [0, {steps // 2}] (one drop to lr/10 "
                         f"within the run), got {decay_steps!r}")
    return {"lr_schedule": "step", "lr_step_size": steps - decay_steps, "lr_gamma": 0.1} if decay_steps else {}


def fresh(target: Any, n: int, seed: int, *tags: str) -> torch.Tensor:
    """n float64 samples of ``target`` from a generator keyed by (seed, "eval", tags): independent
    of every training stream (those are the engine's Philox streams)."""
    return target.sample(n, torch_generator(seed, "eval", *tags), dtype=torch.float64)


def mixture_kwargs(target: GaussianMixture) -> dict[str, list]:
    """A mixture's parameters as the ``mixture`` target's keyword lists (for a ``TrainConfig``)."""
    return {"means": target.means.tolist(), "covariances": target.covariances.tolist(),
            "weights": target.weights.tolist()}


def widened(target: GaussianMixture, factor: float) -> GaussianMixture:
    """The same mixture with every covariance times factor² (every std times factor)."""
    return GaussianMixture(target.means, target.covariances * factor**2, target.weights,
                           name=f"{target.name}x{factor}")


class MemberDiscriminator:
    """Member ``index`` of a trainer's discriminators as the theory's ``Discriminator``: ``logit(x)``
    for float64 points [n, d] (float64 [n]) and D(x) = σ(logit). The logits of every member are
    computed at once and the last points' are kept, so reading all N members on the same points
    runs the network once."""

    def __init__(self, shared: "SharedLogits", index: int):
        self.shared, self.index = shared, index

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(x)[self.index]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logit(x))


class SharedLogits:
    """``trainer.d_logits`` [N, n] in float64, cached for the last ``keep`` point sets seen (the
    theory's functions draw their points from a seed, so every member meets the same sets)."""

    def __init__(self, trainer: Any, keep: int = 4):
        self.trainer, self.keep = trainer, keep
        self._cache: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        for seen, logits in self._cache:
            if seen.shape == x.shape and torch.equal(seen, x):
                return logits
        logits = self.trainer.d_logits(x).to(torch.float64)
        self._cache = [(x.clone(), logits), *self._cache][: self.keep]
        return logits

    def member(self, index: int) -> MemberDiscriminator:
        return MemberDiscriminator(self, index)


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean over seeds and its standard error sd/√S (the measured spread across seeds)."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), (float(v.std(ddof=1)) / math.sqrt(v.size) if v.size > 1 else math.inf)
