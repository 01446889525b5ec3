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
from dataclasses import dataclass, field
from typing import Any

import torch

EvalFn = Callable[[torch.Tensor, "EvalContext"], dict[str, Any]]


@dataclass
class EvalContext:
    target: Any  # the data distribution (None for a data set without a density)
    seeds: list[int]
    alive: torch.Tensor  # [N] bool on the host: frozen members get NaN where costly
    step: int
    source: Any = None  # the run's data source (image data sets carry held-out digits)
    cache: dict[str, Any] = field(default_factory=dict)  # lives as long as the trainer (e.g. a classifier)


def _always(target, source) -> bool:
    return True


def _toy_modes(target, source) -> bool:
    return getattr(target, "has_density", False)


def _toy(target, source) -> bool:  # samples of the target suffice (the swiss roll too)
    return target is not None


def _image_modes(target, source) -> bool:
    return hasattr(source, "digits")


@dataclass(frozen=True)
class Evaluator:
    keys: tuple[str, ...]
    fn: EvalFn
    applies: Callable[[Any, Any], bool] = _always  # (target, source) → whether it applies to the run


EVALUATORS: dict[str, Evaluator] = {}


def register_evaluator(name: str, keys: tuple[str, ...], fn: EvalFn, applies: Callable[[Any, Any], bool] = _always) -> None:
    EVALUATORS[name] = Evaluator(keys, fn, applies)


def _modes(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """PacGAN's mode metrics for every member in one batched computation on the device."""
    from ..metrics.modes import mode_metrics_batched

    out = mode_metrics_batched(samples.detach(), ctx.target)
    return {k: out[k] for k in ("modes_captured", "high_quality_fraction", "reverse_kl")}


def _w1(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """Exact W1 to the target in blocks of ``W1_BLOCK`` = 500 samples per live member
    (``metrics.wasserstein.block_w1_to_target``): ``w1`` the mean over the member's ⌊n / 500⌋
    blocks, each against its own fresh target block, and ``w1_se`` its standard error;
    ``w1_floor`` ± ``w1_floor_se`` the same statistic between two target samples, i.e. what a
    generator equal to the target scores (once per run, cached). The reference is drawn from
    (seed, "w1-reference"), so a member's value depends on neither N nor the other members. The
    exact solves run on the run's torch threads; the values do not depend on how many."""
    from ..metrics.wasserstein import W1_BLOCK, block_w1_to_target, w1_floor
    from ..rng import derive_seed

    x = samples.detach().to("cpu", torch.float64)
    live = [i for i in range(x.shape[0]) if bool(ctx.alive[i])]
    workers = torch.get_num_threads()
    res = block_w1_to_target(x[live], ctx.target, [derive_seed(ctx.seeds[i], "w1-reference") for i in live],
                             block=W1_BLOCK, workers=workers) if live else []
    key = f"w1_floor/{min(W1_BLOCK, x.shape[1])}"
    if key not in ctx.cache:
        ctx.cache[key] = w1_floor(ctx.target, min(W1_BLOCK, x.shape[1]), workers=workers)
    floor = ctx.cache[key]
    out = {"w1": [math.nan] * x.shape[0], "w1_se": [math.nan] * x.shape[0]}
    for i, r in zip(live, res):
        out["w1"][i], out["w1_se"][i] = r.value, r.se
    return {**out, "w1_floor": [floor.value] * x.shape[0], "w1_floor_se": [floor.se] * x.shape[0]}


def _sliced_w1(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """Sliced W1 (100 projections, batched torch) to as many fresh target samples per member,
    drawn from stream ("w1-reference", step): cheap enough for every evaluation (W1 curves)."""
    from ..data.sources import TargetSource
    from ..rng import Streams
    from ..theory.wasserstein import sliced_wasserstein

    src = TargetSource(ctx.target)
    ref = src.batch(Streams(ctx.seeds, samples.device), "w1-reference", ctx.step, 0, samples.shape[1], torch.float64)
    return {"sliced_w1": sliced_wasserstein(samples.detach().double(), ref, n_projections=100)}


def _classifier_modes(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """Modes of generated images by ganlab's digit classifier: for MNIST the predicted digit (10
    modes), for Stacked MNIST the three channels' digits (1,000 modes); modes captured and
    KL(p̂ ‖ uniform) over all samples (PacGAN's Stacked-MNIST definition)."""
    from ..metrics.images import classify_digits, digit_classifier, mode_histogram_metrics, stacked_modes

    if "classifier" not in ctx.cache:
        ctx.cache["classifier"] = digit_classifier(ctx.source.digits, samples.device)
    clf = ctx.cache["classifier"]
    modes, kls = [], []
    for i, images in enumerate(samples.float()):
        if not bool(ctx.alive[i]):
            modes.append(math.nan), kls.append(math.nan)
            continue
        ids = classify_digits(images, clf) if images.shape[1] == 1 else stacked_modes(images, clf)
        m, kl = mode_histogram_metrics(ids, ctx.source.mode_count)
        modes.append(m), kls.append(kl)
    return {"modes_captured": modes, "reverse_kl": kls}


def _parzen(samples: torch.Tensor, ctx: EvalContext) -> dict[str, Any]:
    """Goodfellow et al.'s Parzen-window log-likelihood of the held-out test digits under the
    generated samples (σ chosen on the validation digits), on the [0, 1] pixel scale."""
    from ..metrics.parzen import parzen_protocol, to_unit_interval

    digits = ctx.source.digits
    val, test = to_unit_interval(digits.validation.images), to_unit_interval(digits.test.images)
    out = {"parzen_ll": [], "parzen_se": [], "parzen_sigma": []}
    for i, images in enumerate(samples.float()):
        if not bool(ctx.alive[i]):
            for v in out.values():
                v.append(math.nan)
            continue
        r = parzen_protocol(to_unit_interval(images.cpu()), val, test)
        out["parzen_ll"].append(r.mean), out["parzen_se"].append(r.stderr), out["parzen_sigma"].append(r.sigma)
    return out


register_evaluator("modes", ("modes_captured", "high_quality_fraction", "reverse_kl"), _modes, _toy_modes)
register_evaluator("w1", ("w1", "w1_se", "w1_floor", "w1_floor_se"), _w1, _toy)
register_evaluator("sliced_w1", ("sliced_w1",), _sliced_w1, _toy)
register_evaluator("classifier_modes", ("modes_captured", "reverse_kl"), _classifier_modes, _image_modes)
register_evaluator("parzen", ("parzen_ll", "parzen_se", "parzen_sigma"), _parzen, _image_modes)


def evaluator_keys(names: tuple[str, ...]) -> list[str]:
    return [k for n in names for k in EVALUATORS[n].keys]


def run_evaluators(names: tuple[str, ...], samples: torch.Tensor, ctx: EvalContext) -> dict[str, list[float]]:
    """Every named evaluator on ``samples``; values brought to the host once, as lists of N floats."""
    out: dict[str, list[float]] = {}
    for name in names:
        for k, v in EVALUATORS[name].fn(samples, ctx).items():
            out[k] = v.detach().double().cpu().tolist() if isinstance(v, torch.Tensor) else [float(x) for x in v]
    return out


# -- before any work: which evaluators a configuration's data admits ----------------------------------------
class _ImageData:
    """What the predicates see of an image data set before it is loaded: every one of
    ``data.images.DATASETS`` carries its digits."""

    digits = None


def applicable(names: tuple[str, ...], target: str, target_kwargs: dict[str, Any] | None = None,
               built: Any = None) -> tuple[str, ...]:
    """The evaluators of ``names`` that apply to the data ``target`` (a toy target or a data set);
    ``built``: that toy target already built (else it is built here)."""
    from ..theory.targets import TARGETS, make_target

    if target in TARGETS:
        data = (built if built is not None else make_target(target, **(target_kwargs or {})), None)
    else:
        data = (None, _ImageData())
    return tuple(n for n in names if EVALUATORS[n].applies(*data))


def check_evaluators(cfg: Any, target: Any = None) -> None:
    """A ValueError naming the first evaluator of ``cfg`` (a TrainConfig) that cannot run on its data;
    the engine would otherwise skip it and the metric would be silently absent. ``target``: cfg's toy
    target already built (``assembly.assemble``'s), else it is built here."""
    for field_name in ("evaluators", "final_evaluators"):
        names = getattr(cfg, field_name)
        ok = applicable(names, cfg.target, cfg.target_kwargs, target)
        bad = [n for n in names if n not in ok]
        if bad:
            fit = ", ".join(applicable(tuple(EVALUATORS), cfg.target, cfg.target_kwargs, target)) or "none"
            raise ValueError(f"evaluator {bad[0]!r} (in {field_name}) does not apply to target {cfg.target!r}; "
                             f"evaluators that do: {fit}")
