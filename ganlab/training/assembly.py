"""One place that turns a configuration into the things a run is made of: the target (built once),
the data source, the fixed generator's source, G and D, and the registered parts of the method
(loss family, update schedule, regularisers, learning-rate schedule, optimizer).

``assemble(cfg, runtime)`` is called by the trainer, the memory estimate, the run and sweep
pre-flight checks alike, so none of them builds a part its own way. Building is cheap and draws
nothing: models get their parameters only in ``Trainer`` (``init``), and a source draws its fixed
set only when prepared. An image data set is read from disk only when ``Assembly.source`` is first
asked for (a memory estimate never asks).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..data.sources import DataSource, TargetSource, make_source
from ..models import BatchedModel, build_model
from ..theory.targets import TARGETS, Target, make_target
from .config import Runtime, TrainConfig
from .losses import LOSSES, Loss
from .lr_schedules import LRSchedule, from_method
from .optim import OPTIMIZERS
from .packing import Packing, Shape
from .regularisers import Regulariser, active_regularisers
from .schedules import SCHEDULES, draws_per_step


def data_shape(cfg: TrainConfig, target: Target | None = None) -> Shape:
    """The shape of one sample of the run's data, known before any data is read."""
    from ..data.images import DATASETS

    if cfg.target in DATASETS:
        return DATASETS[cfg.target].shape
    return ((target or make_target(cfg.target, **cfg.target_kwargs)).dim,)


@dataclass(frozen=True, eq=False)
class Assembly:
    """A configuration's parts. ``G`` is None when a fixed distribution stands in for it
    (``fake_source``); ``target`` is None for an image data set."""

    cfg: TrainConfig
    runtime: Runtime
    target: Target | None
    shape: Shape  # one sample of the data
    packing: Packing
    fake_source: DataSource | None
    G: BatchedModel | None
    D: BatchedModel
    loss: Loss
    schedule: Any  # schedules.SCHEDULES entry: (trainer, step) -> (d_loss, g_loss)
    regularisers: list[Regulariser]
    lr_schedule: LRSchedule
    optimizer: Any  # optim.OPTIMIZERS entry
    given_source: DataSource | None = None

    @functools.cached_property
    def source(self) -> DataSource:
        """The data source: the one given to ``assemble``, fresh or fixed-set draws of the toy
        target, or the image data set read from ``runtime.data_dir`` (on first use)."""
        from ..data.images import DATASETS

        if self.given_source is not None:
            src = self.given_source
        elif self.target is not None:
            src = make_source(self.target, self.cfg.dataset_size)
        else:
            src = DATASETS[self.cfg.target].build(self.runtime.data_dir)
        if self.cfg.classes and src.classes != self.cfg.classes:
            raise ValueError(f"classes={self.cfg.classes}, but the data has {src.classes} class labels")
        return src

    @property
    def draws_per_step(self) -> int:
        """Real batches one training step takes (for epochs over a fixed set)."""
        return draws_per_step(self.cfg.method)


def assemble(cfg: TrainConfig, runtime: Runtime | None = None, *, source: DataSource | None = None,
             fake_source: DataSource | None = None) -> Assembly:
    """The parts of ``cfg``. ``source`` replaces the configured data (its ``shape`` decides the
    nets'); ``fake_source`` stands in for G as ``cfg.fixed_generator`` does (which it overrides), e.g.
    a different known p_g per member. Shape mismatches between the data and the nets fail here."""
    runtime = runtime or Runtime()
    m = cfg.method
    target = make_target(cfg.target, **cfg.target_kwargs) if cfg.target in TARGETS else None
    shape = tuple(source.shape) if source is not None else data_shape(cfg, target)
    if fake_source is None and cfg.fixed_generator is not None:
        fake_source = TargetSource(make_target(cfg.fixed_generator, **cfg.fixed_generator_kwargs))
    packing = Packing.of(m)
    G = None if fake_source is not None else build_model(cfg.generator, (cfg.noise_dim,), shape, cfg.classes)
    D = build_model(cfg.discriminator, packing.d_input(shape), (1,), cfg.classes)
    return Assembly(cfg, runtime, target, shape, packing, fake_source, G, D, LOSSES[m.loss], SCHEDULES[m.schedule],
                    active_regularisers(m, cfg.grid), from_method(m), OPTIMIZERS[m.optimizer], source)
