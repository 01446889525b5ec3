"""Where a run's samples come from: fresh draws from a target with an exact density, a fixed
training set per member, a tensor data set shared by all members, or a known distribution that
stands in for the generator (so a discriminator can be trained alone against a fixed p_g).

Every source draws for all members at once from ``ganlab.rng.Streams``, addressed by
(purpose, step, sub), so a source holds no generator state: a resumed run draws exactly what an
uninterrupted one does, and member i's samples do not depend on the other members.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import torch

from ..rng import Streams
from ..theory.targets import GaussianMixture, ParallelLines, SwissRoll
from ..validation import check_int

Shape = tuple[int, ...]


class DataSource(Protocol):
    shape: Shape  # one sample's shape
    target: Any  # the distribution with its exact density (toy targets), or None (a data set)
    classes: int  # number of class labels it gives (0: none)

    def prepare(self, streams: Streams, device: torch.device) -> None:
        """Draw or move what the source holds (a fixed set) once, before training."""

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        """n samples per member [N, n, *shape] for draw (purpose, step, sub)."""

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        """The class labels [N, n] (int64) of the samples of the same draw."""


# -- fresh samples of a target, on the device -----------------------------------------------------
def _mixture_sampler(t: GaussianMixture, device: torch.device) -> Callable[..., torch.Tensor]:
    """The mixture's own sampler (``GaussianMixture.components`` and ``place``) on one uniform
    from stream (purpose, step, sub) and d normals from (purpose/eps, step, sub), in float64; with
    ``labels=True`` the components k instead (a mixture's class labels)."""

    def draw(streams: Streams, purpose: str, step: int, sub: int, n: int, labels: bool = False) -> torch.Tensor:
        k = t.components(streams.uniform(purpose, step, sub, (n,), torch.float64))
        if labels:
            return k
        return t.place(k, streams.normal(purpose + "/eps", step, sub, (n, t.dim), torch.float64))

    return draw


def _swiss_roll_sampler(t: SwissRoll, device: torch.device) -> Callable[..., torch.Tensor]:
    """The WGAN-GP script's swiss roll: s = 1.5π(1 + 2u), (s cos s, s sin s) + noise·ε, / scale."""

    def draw(streams: Streams, purpose: str, step: int, sub: int, n: int, labels: bool = False) -> torch.Tensor:
        if labels:
            raise ValueError("the swiss roll has no class labels")
        s = 1.5 * math.pi * (1 + 2 * streams.uniform(purpose, step, sub, (n,), torch.float64))
        xy = torch.stack([s * torch.cos(s), s * torch.sin(s)], dim=-1)
        return (xy + t.noise * streams.normal(purpose + "/eps", step, sub, (n, 2), torch.float64)) / t.scale

    return draw


def _parallel_lines_sampler(t: ParallelLines, device: torch.device) -> Callable[..., torch.Tensor]:
    """Arjovsky et al.'s parallel line: (θ, u), u ~ U[0, 1]."""

    def draw(streams: Streams, purpose: str, step: int, sub: int, n: int, labels: bool = False) -> torch.Tensor:
        if labels:
            raise ValueError("the parallel lines have no class labels")
        u = streams.uniform(purpose, step, sub, (n,), torch.float64)
        return torch.stack([torch.full_like(u, float(t.theta)), u], dim=-1)

    return draw


SAMPLERS: dict[type, Callable[[Any, torch.device], Callable[..., torch.Tensor]]] = {
    GaussianMixture: _mixture_sampler,
    SwissRoll: _swiss_roll_sampler,
    ParallelLines: _parallel_lines_sampler,
}


class TargetSource:
    """Fresh samples of a target every draw."""

    def __init__(self, target: Any):
        if type(target) not in SAMPLERS:
            raise ValueError(f"no batched sampler for {type(target).__name__}; known: "
                             f"{', '.join(sorted(c.__name__ for c in SAMPLERS))}")
        self.target = target
        self.shape: Shape = (target.dim,)
        self.classes = target.n_modes if isinstance(target, GaussianMixture) else 0
        self._draw: Callable[..., torch.Tensor] | None = None

    def prepare(self, streams: Streams, device: torch.device) -> None:
        self._draw = SAMPLERS[type(self.target)](self.target, device)

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        if self._draw is None:
            self.prepare(streams, streams.device)
        return self._draw(streams, purpose, step, sub, n).to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        """The mixture component of each sample of the same draw."""
        if self._draw is None:
            self.prepare(streams, streams.device)
        return self._draw(streams, purpose, step, sub, n, labels=True)


# -- epochs over a fixed set -----------------------------------------------------------------------
class _Epochs:
    """Shuffled epochs over ``size`` rows: batch ``index`` takes rows [pos·n, (pos + 1)·n) of epoch
    index // (size // n)'s permutation (member i's from stream ("epoch", epoch)); an epoch's
    remainder is dropped. ``draws_per_step`` (set by the trainer from its schedule) maps a
    (step, sub) draw to index = step·draws_per_step + sub."""

    size: int
    draws_per_step: int = 1

    def rows(self, streams: Streams, step: int, sub: int, n: int) -> torch.Tensor:
        per_epoch = self.size // n
        if per_epoch == 0:
            raise ValueError(f"the data set has {self.size} samples, fewer than one batch of {n}")
        epoch, pos = divmod(step * self.draws_per_step + sub, per_epoch)
        key = (epoch, id(streams))  # a source may serve several trainers (streams) at once
        cached = getattr(self, "_perm", None)
        if cached is None or cached[0] != key:
            self._perm = cached = (key, streams.permutation("epoch", epoch, 0, self.size))
        return cached[1][:, pos * n:(pos + 1) * n]  # [N, n]


class FixedSetSource(_Epochs):
    """A training set of ``size`` samples per member, drawn once from the target (stream
    "dataset"; PacGAN: 100,000), iterated in shuffled epochs."""

    def __init__(self, target: Any, size: int):
        self.inner = TargetSource(target)
        self.target, self.shape, self.classes = target, self.inner.shape, self.inner.classes
        self.size = check_int("dataset_size", size)
        self.data: torch.Tensor | None = None
        self.data_labels: torch.Tensor | None = None

    def prepare(self, streams: Streams, device: torch.device) -> None:
        self.inner.prepare(streams, device)
        self.data = self.inner.batch(streams, "dataset", 0, 0, self.size, torch.float64)  # [N, size, d]
        if self.classes:
            self.data_labels = self.inner.labels(streams, "dataset", 0, 0, self.size)

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        idx = self.rows(streams, step, sub, n)
        return torch.gather(self.data, 1, idx[..., None].expand(-1, -1, self.data.shape[2])).to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        return torch.gather(self.data_labels, 1, self.rows(streams, step, sub, n))


class TensorSource(_Epochs):
    """A data set shared by all members (e.g. images [M, C, H, W]), each member iterating it in its
    own shuffled epochs."""

    def __init__(self, data: torch.Tensor, labels: torch.Tensor | None = None, classes: int = 0, target: Any = None):
        if labels is not None and labels.shape != data.shape[:1]:
            raise ValueError(f"labels must be one per sample: {tuple(labels.shape)} for {data.shape[0]} samples")
        self.data, self.data_labels, self.target = data, labels, target
        self.classes = classes if labels is not None else 0
        self.size = data.shape[0]
        self.shape: Shape = tuple(data.shape[1:])

    def prepare(self, streams: Streams, device: torch.device) -> None:
        self.data = self.data.to(device)
        if self.data_labels is not None:
            self.data_labels = self.data_labels.to(device)

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        return self.data[self.rows(streams, step, sub, n)].to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        if self.data_labels is None:
            raise ValueError("this data set has no labels")
        return self.data_labels[self.rows(streams, step, sub, n)]


def make_source(target: Any, dataset_size: int | None = None) -> DataSource:
    """Fresh samples of ``target``, or a fixed set of ``dataset_size`` per member."""
    return TargetSource(target) if dataset_size is None else FixedSetSource(target, dataset_size)
