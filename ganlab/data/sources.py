"""Where a run's samples come from: fresh draws from a target with an exact density, a fixed
training set per member, a tensor data set shared by all members, or a known distribution that
stands in for the generator (so a discriminator can be trained alone against a fixed p_g).

Every source draws for all members at once from ``ganlab.rng.Streams``, addressed by
(purpose, step, sub), so a source holds no generator state: a resumed run draws exactly what an
uninterrupted one does, and member i's samples do not depend on the other members.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ..rng import Streams
from ..theory.targets import GaussianMixture
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
class TargetSource:
    """Fresh samples of a target every draw: the target's own sampler (``from_noise``, see
    ``ganlab.theory.targets``) on one float64 uniform per sample from stream (purpose, step, sub)
    and its ``normals`` float64 normals per sample from (purpose/eps, step, sub). A Gaussian
    mixture's class labels are its components, from the same uniforms."""

    def __init__(self, target: Any):
        if not hasattr(target, "from_noise"):
            raise ValueError(f"no batched sampler for {type(target).__name__}: a target samples through "
                             "from_noise(u, eps) (ganlab.theory.targets.Sampler)")
        self.target = target
        self.shape: Shape = (target.dim,)
        self.classes = target.n_modes if isinstance(target, GaussianMixture) else 0

    def prepare(self, streams: Streams, device: torch.device) -> None:
        """Nothing to prepare: every draw is fresh (the mixture moves its tables to the device once)."""

    def _uniforms(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        return streams.uniform(purpose, step, sub, (n,), torch.float64)

    def batch(self, streams: Streams, purpose: str, step: int, sub: int, n: int, dtype: torch.dtype) -> torch.Tensor:
        t = self.target
        eps = streams.normal(purpose + "/eps", step, sub, (n, t.normals), torch.float64) if t.normals else None
        return t.from_noise(self._uniforms(streams, purpose, step, sub, n), eps).to(dtype)

    def labels(self, streams: Streams, purpose: str, step: int, sub: int, n: int) -> torch.Tensor:
        """The mixture component of each sample of the same draw."""
        if not self.classes:
            raise ValueError(f"target {self.target.name!r} has no class labels")
        return self.target.components(self._uniforms(streams, purpose, step, sub, n))


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
