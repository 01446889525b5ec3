"""A run's configuration, in two parts:

* ``TrainConfig`` — the experiment's identity (target, nets, method, seeds, grid, evaluation) plus
  its length ``steps``. Validated at construction, round-tripped through JSON. ``identity()`` is its
  canonical form: grid fields sorted by name, members listed explicitly in that order, the gridded
  fields left out of the method (each member carries its own values); a run stores it once, with
  its SHA-256, and a resume checks it whole. ``steps`` is not part of the identity: a finished run
  may be extended.
* ``Runtime`` — how this process runs it (device, dtype policy, torch.compile, threads, progress,
  checkpoint interval, data directory): it may change between a run and its resumption.

Fields carry metadata (``help``, ``choices``, ``flag``) from which the CLI builds its flags.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from ..coerce import fields_from_data
from ..models import spec_from_dict, spec_to_dict
from ..models.mlp import MLPSpec
from ..rng import MAX_STEP, check_seed
from ..theory.targets import TARGETS, make_target
from ..validation import check_choice, check_int
from .methods import METHODS, MethodConfig, describe, grid_fields, option
from .packing import Packing
from .regularisers import active_regularisers

NOISES = ("normal", "uniform")
DTYPES = ("float32", "float64", "bfloat16")


@dataclass(frozen=True)
class Member:
    """One GAN of a batched run: its seed and its values of the gridded method fields."""

    seed: int
    hyper: dict[str, float]


def _evaluator_names() -> tuple[str, ...]:
    from .evaluators import EVALUATORS

    return tuple(EVALUATORS)


@dataclass(frozen=True)
class TrainConfig:
    """One training run of len(members) independent GANs trained together (see each field's help)."""

    target: str = option("ring8", "the data: a toy target with an exact density, or an image data set")
    target_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "the target's parameters"})
    dataset_size: int | None = option(None, "none: fresh target samples every step; an int: a fixed "
                                      "training set of that size per seed, iterated in shuffled epochs")
    fixed_generator: str | None = option(None, "a target whose samples stand in for G (G is not trained: the "
                                         "discriminator trains alone against this known p_g)")
    fixed_generator_kwargs: dict[str, Any] = field(default_factory=dict,
                                                   metadata={"help": "the fixed generator's parameters"})
    method: MethodConfig = field(default_factory=lambda: METHODS["nonsaturating"])
    generator: Any = field(default_factory=MLPSpec)
    discriminator: Any = field(default_factory=MLPSpec)
    classes: int = option(0, "class-conditional GAN on this many class labels (0: unconditional); a toy "
                          "mixture's labels are its components")
    noise_dim: int = option(2, "dimension of z")
    noise: str = option("normal", "distribution of z: normal N(0, I) or uniform U[−1, 1]^d", choices=NOISES)
    steps: int = option(2000, "generator updates (each after d_steps discriminator updates)")
    seeds: tuple[int, ...] = (0,)
    grid: dict[str, tuple[float, ...]] = field(default_factory=dict)
    eval_every: int = option(500, "steps between evaluations (metrics rows; a diverging member falls back "
                             "to its weights at the last one)")
    eval_at: tuple[int, ...] = option((), "further steps to evaluate at, beside every eval_every steps (e.g. "
                                      "250,500,1000,2000,5000 for a curve on a log axis)")
    eval_samples: int = option(2500, "generated samples per member at each evaluation")
    final_samples: int | None = option(None, "generated samples per member at the end (none: eval_samples)")
    evaluators: tuple[str, ...] = option(("modes",), "evaluators run at every evaluation")
    final_evaluators: tuple[str, ...] = option(("modes", "w1"), "evaluators run on the final samples")

    def __post_init__(self) -> None:
        from ..data.images import DATASETS

        check_choice("target", self.target, {**TARGETS, **DATASETS})
        if self.target in TARGETS:
            make_target(self.target, **self.target_kwargs)  # bad target parameters fail here, not mid-run
        elif self.target_kwargs:
            raise ValueError(f"data set {self.target!r} takes no parameters, got {self.target_kwargs}")
        if self.fixed_generator is not None:
            check_choice("fixed generator", self.fixed_generator, TARGETS)
            make_target(self.fixed_generator, **self.fixed_generator_kwargs)
        check_int("noise_dim", self.noise_dim)
        check_int("classes", self.classes, minimum=0)
        if self.classes and (self.method.pack > 1 or self.fixed_generator is not None):
            raise ValueError("a class-conditional run cannot be packed or use a fixed generator "
                             f"(classes={self.classes}, pack={self.method.pack}, fixed_generator={self.fixed_generator})")
        check_choice("noise", self.noise, NOISES)
        check_int("steps", self.steps, minimum=0)
        if self.steps > MAX_STEP:
            raise ValueError(f"steps must be at most {MAX_STEP}, got {self.steps}")
        check_int("eval_every", self.eval_every)
        eval_at = tuple(self.eval_at)
        for s in eval_at:
            check_int("eval_at step", s)
            if s > MAX_STEP:
                raise ValueError(f"eval_at steps must be at most {MAX_STEP}, got {s}")
        if list(eval_at) != sorted(set(eval_at)):
            raise ValueError(f"eval_at must list distinct steps in increasing order, got {list(eval_at)}")
        object.__setattr__(self, "eval_at", eval_at)
        check_int("eval_samples", self.eval_samples)
        if self.final_samples is not None:
            check_int("final_samples", self.final_samples)
        for name in (*self.evaluators, *self.final_evaluators):
            check_choice("evaluator", name, _evaluator_names())
        object.__setattr__(self, "evaluators", tuple(self.evaluators))
        object.__setattr__(self, "final_evaluators", tuple(self.final_evaluators))
        seeds = tuple(self.seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one seed")
        for s in seeds:
            check_seed("seed", s)
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {list(seeds)}")
        object.__setattr__(self, "seeds", seeds)
        m = self.method
        if self.dataset_size is not None:
            check_int("dataset_size", self.dataset_size)
            rows = Packing.of(m).rows
            if self.dataset_size < rows:
                raise ValueError(f"dataset_size {self.dataset_size} is smaller than one batch ({rows})")
        self._check_batch_norm()
        self._check_grid()

    def _check_batch_norm(self) -> None:
        m = self.method
        for role, spec, rows in (("generator", self.generator, m.batch_size), ("discriminator", self.discriminator, m.batch_size)):
            if getattr(spec, "batch_norm", False) and rows < 2:
                raise ValueError(f"the {role} uses batch norm, which needs at least 2 rows per batch "
                                 f"(per pack slot), got batch_size {rows}")
        for reg in active_regularisers(m, self.grid):
            if reg.per_sample and getattr(self.discriminator, "batch_norm", False):
                raise ValueError(f"{reg.what} is per sample; a critic with batch norm mixes samples "
                                 "(Gulrajani et al. 2017, §4): turn the critic's batch norm off")

    def _check_grid(self) -> None:
        grid = {}
        for key in sorted(self.grid):
            check_choice("grid field", key, grid_fields())
            raw = self.grid[key]
            values = tuple(float(v) for v in (raw if isinstance(raw, (list, tuple)) else [raw]))
            if not values:
                raise ValueError(f"grid field {key!r} has no values")
            if len(set(values)) != len(values):
                raise ValueError(f"grid field {key!r} repeats a value: {list(values)} (members would be "
                                 "counted twice)")
            grid[key] = values
        object.__setattr__(self, "grid", grid)
        for point in self.grid_points():
            dataclasses.replace(self.method, **point)  # each point is a valid method

    # -- members ---------------------------------------------------------------------------------
    def grid_points(self) -> list[dict[str, float]]:
        """Points of the grid's Cartesian product, fields in sorted order (canonical)."""
        keys = sorted(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(self.grid[k] for k in keys))]

    def members(self) -> list[Member]:
        """Every (grid point, seed), point-major: member i trains seed seeds[i % len(seeds)]."""
        return [Member(seed, point) for point in self.grid_points() for seed in self.seeds]

    def evaluates_at(self, step: int) -> bool:
        """Whether the run evaluates after ``step`` (every ``eval_every`` steps, and at ``eval_at``)."""
        return step % self.eval_every == 0 or step in self.eval_at

    @property
    def n_final_samples(self) -> int:
        return self.eval_samples if self.final_samples is None else self.final_samples

    @property
    def n_members(self) -> int:
        return len(self.seeds) * math.prod(len(v) for v in self.grid.values())

    @property
    def label(self) -> str:
        """What is trained, from the method's fields (``methods.describe``)."""
        return describe(self.method, self.grid)

    def member_method(self, member: Member) -> MethodConfig:
        return dataclasses.replace(self.method, **member.hyper)

    # -- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["method"] = method_to_dict(self.method)
        d["generator"] = spec_to_dict(self.generator)
        d["discriminator"] = spec_to_dict(self.discriminator)
        d["seeds"] = list(self.seeds)
        d["grid"] = {k: list(v) for k, v in self.grid.items()}
        d["evaluators"], d["final_evaluators"] = list(self.evaluators), list(self.final_evaluators)
        if not self.eval_at:  # added after run folders were saved: written only when set, so they keep their hash
            del d["eval_at"]
        return json.loads(json.dumps(d))  # plain JSON types (tuples → lists)

    def identity(self) -> dict[str, Any]:
        """The canonical experiment: everything but ``steps``; gridded method fields live only in
        the explicit member list."""
        d = self.to_dict()
        del d["steps"]
        for k in self.grid:
            d["method"].pop(k, None)  # (a late field at its default is not there)
        d["members"] = [{"seed": mb.seed, **mb.hyper} for mb in self.members()]
        return d

    def identity_sha256(self) -> str:
        return identity_sha256(self.identity())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Rebuild from ``to_dict()`` or ``identity()`` (plus ``steps``)."""
        d = dict(d)
        members = d.pop("members", None)
        grid = {k: tuple(v) for k, v in d.get("grid", {}).items()}
        method = dict(d["method"])
        for k, v in grid.items():
            method.setdefault(k, v[0])
        d["method"] = MethodConfig(**fields_from_data(MethodConfig, method, "method", saved=True))
        d["generator"] = spec_from_dict(d["generator"])
        d["discriminator"] = spec_from_dict(d["discriminator"])
        d = fields_from_data(cls, d, saved=True)  # (JSON lists back to tuples; numbers as saved)
        d["grid"] = grid
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown configuration fields: {', '.join(sorted(unknown))}")
        cfg = cls(**d)
        if members is not None and members != cfg.identity()["members"]:
            raise ValueError("the stored member list does not match the seeds and grid it was made from")
        return cfg


def method_to_dict(m: MethodConfig) -> dict[str, Any]:
    """The method as saved in a run's identity. Fields listed in ``MethodConfig.LATE_FIELDS``
    (added after runs were saved: the learning-rate schedule) are written only when they differ
    from their default, so a run folder saved before they existed keeps its identity and its hash
    (as ``models.base.spec_to_dict`` does for model specs)."""
    d = dataclasses.asdict(m)
    defaults = {f.name: f.default for f in dataclasses.fields(m)}
    for name in m.LATE_FIELDS:
        if d[name] == defaults[name]:
            del d[name]
    return d


def identity_sha256(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def config_differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two nested dicts: 'key: a-value vs b-value'."""
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, "<absent>"), b.get(k, "<absent>")
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {va!r} vs {vb!r}")
    return out


# -- runtime ---------------------------------------------------------------------------------------
def check_device(device: str) -> str:
    """A torch device string this process can use, or a ValueError naming it."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:<index>', got {device!r}") from None
    if dev.type == "cpu":
        return str(dev)
    if dev.type != "cuda":
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:<index>', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available: torch {torch.__version__} sees no CUDA GPU")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s)")
    return str(dev)


def default_threads() -> int:
    """$OMP_NUM_THREADS where it is set, else the cores this process may use (torch's own choice
    on a machine like this project's). On 2 cores, 2 threads trained the quick preset 8–11 % faster
    than 1 (docs/results/speed.md); sharded sweeps run one single-thread process per core instead."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return min(int(env), MAX_THREADS)
    return min(_cores(), MAX_THREADS)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# More torch threads than this is a typo, not a plan: it is above the hardware threads of the largest
# CPUs sold (2 × 192 cores × 2), and each thread takes a stack; 100,000 ended in "libgomp: Out of
# memory" or a segmentation fault. Up to it, more threads than cores is allowed (slower, harmless).
MAX_THREADS = 1024


DEFAULT_THREADS = default_threads()


@dataclass(frozen=True)
class Runtime:
    """How this process runs a configuration; none of it changes what is computed, except that the
    dtype policy changes rounding (float32 and bf16 results agree with float64 only to rounding)."""

    device: str = option("cpu", "cpu, cuda or cuda:<index>")
    dtype: str = option("float32", "parameters and arithmetic: float32, float64, or bfloat16 (bf16 autocast "
                        "of the networks, float32 parameters)", choices=DTYPES)
    compile: bool = option(False, "torch.compile the networks' forward passes and the random streams "
                           "(bit-identical Philox words and normals; networks equal to rounding)")
    threads: int = option(DEFAULT_THREADS, "torch CPU threads (default: $OMP_NUM_THREADS, else the cores this "
                          "process may use)")
    progress: bool = option(True, "show a progress bar")
    checkpoint_every: int = option(1000, "steps between checkpoints (also at the end and on Ctrl-C)")
    data_dir: str | None = option(None, "directory of an image data set (e.g. MNIST's IDX files; none: $GANLAB_MNIST_DIR)")
    snapshots: int = option(0, "samples per member kept at every evaluation in snapshots/ (for figures)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", check_device(self.device))
        check_choice("dtype", self.dtype, DTYPES)
        check_int("threads", self.threads)
        if self.threads > MAX_THREADS:
            raise ValueError(f"threads must be at most {MAX_THREADS} (this machine has {_cores()} cores), "
                             f"got {self.threads}")
        check_int("checkpoint_every", self.checkpoint_every)
        check_int("snapshots", self.snapshots, minimum=0)

    @property
    def param_dtype(self) -> torch.dtype:
        return torch.float64 if self.dtype == "float64" else torch.float32

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.dtype == "bfloat16" else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

