"""The full, typed configuration of a training run, validated at construction and round-tripped
through JSON (a run directory's ``config.json`` rebuilds the exact run)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from .methods import METHODS, MethodConfig
from ..models.mlp import NetSpec
from ..theory.targets import TARGETS, make_target
from ..validation import check_choice, check_int
from ..theory.wasserstein import MAX_EMD_POINTS

DTYPES = ("float32", "float64")
NOISES = ("normal", "uniform")
# method fields a grid may vary across the members of one batched run
GRID_FIELDS = ("lr_d", "lr_g", "gp_lambda", "clip")


@dataclass(frozen=True)
class Member:
    """One GAN of a batched run: its seed and the grid point it trains with."""

    seed: int
    hyper: dict[str, float]


@dataclass(frozen=True)
class TrainConfig:
    """One training run of len(seeds) independent GANs trained together.

    steps: generator updates (each preceded by method.d_steps discriminator updates).
    dataset_size: None draws fresh target samples every step; an int draws a fixed training set
        of that size per seed once and iterates over it in shuffled epochs (PacGAN: 100,000).
    eval_every / eval_samples: mode metrics on this many generated samples every so many steps.
    checkpoint_every: steps between checkpoints (a checkpoint is also written at the end).
    grid: method fields (GRID_FIELDS) → values; the run trains every seed at every point of the
        grid's Cartesian product, members ordered point by point. The seeds repeat across points,
        so points are compared on the same initial weights and data (common random numbers).
    """

    target: str = "ring8"
    target_kwargs: dict[str, Any] = field(default_factory=dict)
    method_name: str = "nonsaturating"
    method: MethodConfig = field(default_factory=lambda: METHODS["nonsaturating"])
    generator: NetSpec = field(default_factory=NetSpec)
    discriminator: NetSpec = field(default_factory=NetSpec)
    noise_dim: int = 2
    noise: str = "normal"
    steps: int = 2000
    seeds: tuple[int, ...] = (0,)
    dtype: str = "float32"
    device: str = "cpu"
    dataset_size: int | None = None
    eval_every: int = 500
    eval_samples: int = 2500
    checkpoint_every: int = 1000
    grid: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choice("target", self.target, TARGETS)
        check_choice("method", self.method_name, METHODS)
        check_int("noise_dim", self.noise_dim)
        check_choice("noise", self.noise, NOISES)
        check_int("steps", self.steps)
        check_choice("dtype", self.dtype, DTYPES)
        check_int("eval_every", self.eval_every)
        check_int("eval_samples", self.eval_samples)
        if self.eval_samples > MAX_EMD_POINTS:  # the final exact W1 to the target needs n² memory
            raise ValueError(f"eval_samples must be at most {MAX_EMD_POINTS} (exact W1), got {self.eval_samples}")
        check_int("checkpoint_every", self.checkpoint_every)
        seeds = tuple(self.seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one seed")
        for s in seeds:
            check_int("seed", s, minimum=0)
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {list(seeds)}")
        object.__setattr__(self, "seeds", seeds)
        if self.dataset_size is not None:
            check_int("dataset_size", self.dataset_size)
            need = self.method.batch_size * self.method.pack
            if self.dataset_size < need:
                raise ValueError(f"dataset_size {self.dataset_size} is smaller than one batch ({need})")
        if not self.device.startswith(("cpu", "cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {self.device!r}")
        make_target(self.target, **self.target_kwargs)  # bad target parameters fail here, not mid-run
        self._check_grid()

    def _check_grid(self) -> None:
        grid = {}
        for key, values in self.grid.items():
            check_choice("grid field", key, GRID_FIELDS)
            values = tuple(float(v) for v in (values if isinstance(values, (list, tuple)) else [values]))
            if not values:
                raise ValueError(f"grid field {key!r} has no values")
            grid[key] = values
        object.__setattr__(self, "grid", grid)
        for point in self.grid_points():
            dataclasses.replace(self.method, **point)  # each point is a valid method

    def grid_points(self) -> list[dict[str, float]]:
        keys = list(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*self.grid.values())]

    def members(self) -> list[Member]:
        """Every (grid point, seed), point-major: member i trains seed seeds[i % len(seeds)]."""
        return [Member(seed, point) for point in self.grid_points() for seed in self.seeds]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        d["method"] = MethodConfig(**{**d["method"], "betas": tuple(d["method"]["betas"])})
        d["generator"] = NetSpec(**d["generator"])
        d["discriminator"] = NetSpec(**d["discriminator"])
        d["seeds"] = tuple(d["seeds"])
        d["grid"] = {k: tuple(v) for k, v in d.get("grid", {}).items()}
        return cls(**d)
