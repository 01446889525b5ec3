"""Evaluators the engine calls at evaluation time, in a registry.

An evaluator maps the generated samples of all members [N, n, *shape] (on the run's device) and
the run's context to per-member values: a dict of tensors [N] (or lists of N floats). It declares
the keys it writes (the metrics files' columns) and whether it needs a target with known modes.
Register a new one with ``register_evaluator``; configs name them in ``evaluators`` (every
evaluation) and ``final_evaluators`` (the final samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

EvalFn = Callable[[torch.Tensor, "EvalContext"], dict[str, Any]]


@dataclass
class EvalContext:
    target: Any  # the data distribution (None for a data set without a density)
    seeds: list[int]
    alive: torch.Tensor  # [N] bool on the host: frozen members get NaN where costly
    step: int


@dataclass(frozen=True)
class Evaluator:
    keys: tuple[str, ...]
    fn: EvalFn
    needs_modes: bool = False  # needs a target with mode centres and stds


EVALUATORS: dict[str, Evaluator] = {}


def register_evaluator(name: str, keys: tuple[str, ...], fn: EvalFn, needs_modes: bool = False) -> None:
    EVALUATORS[name] = Evaluator(keys, fn, needs_modes)


def _modes(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """PacGAN's mode metrics for every member in one batched computation."""
    from ..metrics.modes import mode_metrics

    x = samples.detach().to("cpu", torch.float64)
    rows = [mode_metrics(x[i], ctx.target) for i in range(x.shape[0])]
    return {k: [float(getattr(r, k)) for r in rows] for k in ("modes_captured", "high_quality_fraction", "reverse_kl")}


def _w1(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """Exact W1 (POT) to as many fresh target samples, per live member; the reference cloud is
    drawn from (seed, "w1-reference"), so the same member gets the same reference every time."""
    from ..metrics.modes import w1_to_target
    from ..rng import derive_seed

    x = samples.detach().to("cpu", torch.float64)
    values = [
        w1_to_target(x[i], ctx.target, n=x.shape[1], seed=derive_seed(seed, "w1-reference"))
        if bool(ctx.alive[i]) else math.nan
        for i, seed in enumerate(ctx.seeds)
    ]
    return {"w1": values}


register_evaluator("modes", ("modes_captured", "high_quality_fraction", "reverse_kl"), _modes, needs_modes=True)
register_evaluator("w1", ("w1",), _w1)


def evaluator_keys(names: tuple[str, ...]) -> list[str]:
    return [k for n in names for k in EVALUATORS[n].keys]


def run_evaluators(names: tuple[str, ...], samples: torch.Tensor, ctx: EvalContext) -> dict[str, list[float]]:
    """Every named evaluator on ``samples``; values brought to the host once, as lists of N floats."""
    out: dict[str, list[float]] = {}
    for name in names:
        for k, v in EVALUATORS[name].fn(samples, ctx).items():
            out[k] = v.detach().double().cpu().tolist() if isinstance(v, torch.Tensor) else [float(x) for x in v]
    return out
