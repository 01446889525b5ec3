"""What the engine needs of a model, and the registry that builds one from its spec.

A batched model holds N independent networks (the members of a run) as stacked parameters
[N, ...] and maps inputs [N, B, *in_shape] to outputs [N, B, *out_shape] in one computation.
Member i only ever meets slice i of every parameter and of every batch, so its numbers follow
its own seed alone. Parameters are a plain ``dict[str, Tensor]`` and the forward is a pure
function of them, so the unrolled GAN can differentiate through discriminator updates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from ..coerce import fields_from_data
from ..validation import check_choice

Params = dict[str, torch.Tensor]
Shape = tuple[int, ...]


class BatchedModel(Protocol):
    in_shape: Shape
    out_shape: Shape
    batch_norm: bool  # statistics over the batch: rows are not independent

    def init(self, seeds: Sequence[int], role: str, dtype: torch.dtype, device: torch.device) -> Params:
        """Stacked initial parameters; member i's come from its seed and ``role`` alone."""

    def __call__(self, params: Params, x: torch.Tensor, *, groups: int = 1,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """[N, B, *in_shape] → [N, B, *out_shape]; with batch norm, ``groups`` contiguous row blocks
        are normalised separately (PacGAN runs its generator once per pack slot); a conditional
        model (built with ``classes`` > 0) also takes class labels [N, B] (int64)."""

    def flops(self, batch: int) -> int:
        """Forward FLOPs (2 × multiply-adds) of one member on ``batch`` rows."""

    def param_count(self) -> int:
        """Parameters of one member."""

    def activation_count(self, batch: int) -> int:
        """Numbers one member's forward pass on ``batch`` rows produces (for memory estimates)."""


@dataclasses.dataclass(frozen=True)
class ModelKind:
    spec: type  # a frozen dataclass of the model's hyperparameters
    build: Callable[..., BatchedModel]  # (spec, in_shape, out_shape, classes) → model


MODELS: dict[str, ModelKind] = {}


def register_model(kind: str, spec: type, build: Callable[..., BatchedModel]) -> None:
    MODELS[kind] = ModelKind(spec, build)


def model_kind(spec: Any) -> str:
    for kind, entry in MODELS.items():
        if type(spec) is entry.spec:
            return kind
    raise ValueError(f"{type(spec).__name__} is not a registered model spec; known: {', '.join(sorted(MODELS))}")


def build_model(spec: Any, in_shape: Shape, out_shape: Shape, classes: int = 0) -> BatchedModel:
    """The batched model of ``spec`` mapping in_shape to out_shape; with ``classes`` > 0 it is
    conditioned on a class label as well."""
    return MODELS[model_kind(spec)].build(spec, tuple(in_shape), tuple(out_shape), classes)


def spec_to_dict(spec: Any) -> dict[str, Any]:
    """The spec as saved in a run's identity. Fields a spec class lists in ``LATE_FIELDS`` (added
    after runs were saved) are written only when they differ from their default, so a run folder
    saved before a field existed keeps its identity and still loads and resumes."""
    d = {"kind": model_kind(spec), **dataclasses.asdict(spec)}
    defaults = {f.name: f.default for f in dataclasses.fields(spec)}
    for name in getattr(spec, "LATE_FIELDS", ()):
        if d[name] == defaults[name]:
            del d[name]
    return d


def spec_from_dict(d: dict[str, Any]) -> Any:
    d = dict(d)
    kind = check_choice("model kind", d.pop("kind", "mlp"), MODELS)
    return MODELS[kind].spec(**fields_from_data(MODELS[kind].spec, d, kind, saved=True))


def stack_members(per_member: list[Params]) -> Params:
    return {k: torch.stack([p[k] for p in per_member]) for k in per_member[0]}
