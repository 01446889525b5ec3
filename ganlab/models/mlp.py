"""Batched MLPs: N independent networks held as stacked weights [N, in, out].

One forward is a chain of ``torch.baddbmm`` calls, so N GANs (different seeds or settings) train as
one computation: members never mix (each slice of a weight tensor only meets its own slice of the
batch). On CPU each slice of a batched matmul is computed by the same kernel whatever N is, so
member i's numbers are bit-identical to a run with N = 1 (``tests/training/test_engine.py`` checks it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..rng import torch_generator
from ..validation import check_choice, check_int, check_positive
from .base import Params, Shape, register_model, stack_members
from .maxout import maxout

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "leaky_relu": lambda h: F.leaky_relu(h, 0.2),
    "elu": F.elu,
    "identity": lambda h: h,
}


def _init_pytorch(w: torch.Tensor, b: torch.Tensor | None, g: torch.Generator, cfg: "MLPSpec") -> None:
    """nn.Linear's default: weight kaiming_uniform(a=√5), bias U(±1/√fan_in)."""
    torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
    if b is not None:
        bound = 1 / math.sqrt(w.shape[1])
        torch.nn.init.uniform_(b, -bound, bound, generator=g)


def _init_he(w: torch.Tensor, b: torch.Tensor | None, g: torch.Generator, cfg: "MLPSpec") -> None:
    """He uniform U(±√(6/fan_in)) (std √(2/fan_in); the WGAN-GP toy script's 'he'), biases 0."""
    torch.nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g)
    if b is not None:
        b.zero_()


def _init_normal(w: torch.Tensor, b: torch.Tensor | None, g: torch.Generator, cfg: "MLPSpec") -> None:
    """Weights N(0, init_scale²) (PacGAN/DCGAN: 0.02), biases 0."""
    torch.nn.init.normal_(w, 0.0, cfg.init_scale, generator=g)
    if b is not None:
        b.zero_()


def _init_orthogonal(w: torch.Tensor, b: torch.Tensor | None, g: torch.Generator, cfg: "MLPSpec") -> None:
    """Orthogonal weights with gain init_scale (unrolled-GAN notebook: 1.4), biases 0."""
    torch.nn.init.orthogonal_(w, gain=cfg.init_scale, generator=g)
    if b is not None:
        b.zero_()


def _init_xavier(w: torch.Tensor, b: torch.Tensor | None, g: torch.Generator, cfg: "MLPSpec") -> None:
    """Glorot uniform with gain init_scale, biases 0."""
    torch.nn.init.xavier_uniform_(w, gain=cfg.init_scale, generator=g)
    if b is not None:
        b.zero_()


INITS = {"pytorch": _init_pytorch, "he": _init_he, "normal": _init_normal, "orthogonal": _init_orthogonal, "xavier": _init_xavier}


@dataclass(frozen=True)
class MLPSpec:
    """An MLP's shape without its input and output sizes: [width]×depth hidden layers, or the
    hidden widths listed in ``widths`` (the GAN-zoo MNIST generator: 128, 256, 512, 1024).

    ``maxout`` > 1 makes every hidden layer a maxout layer with that many pieces (PacGAN's
    discriminator: 200 units, 5 pieces; on CPU through the fused kernel of ``ganlab.models.maxout``).
    ``batch_norm`` normalises hidden pre-activations with the batch's statistics (training-mode BN,
    also when sampling, as the reference toy codes do).
    ``bias`` applies to hidden layers; the output layer always has one. ``out_activation`` is
    applied to the output (tanh for an image generator). ``input_scale`` multiplies the input
    before the first layer (Metz et al. 2017, appendix A: the discriminator first scales its input
    down by 4, to roughly (−1, 1)).
    """

    width: int = 128
    depth: int = 2
    activation: str = field(default="relu", metadata={"choices": tuple(ACTIVATIONS)})
    batch_norm: bool = False
    bias: bool = True
    maxout: int = 1
    init: str = field(default="pytorch", metadata={"choices": tuple(INITS)})
    init_scale: float = 1.0
    widths: tuple[int, ...] = ()
    out_activation: str = field(default="identity", metadata={"choices": tuple(ACTIVATIONS)})
    input_scale: float = 1.0

    LATE_FIELDS: ClassVar[tuple[str, ...]] = ("input_scale",)  # see base.spec_to_dict

    def __post_init__(self) -> None:
        check_int("width", self.width)
        check_int("depth", self.depth, minimum=0)
        check_int("maxout", self.maxout)
        object.__setattr__(self, "widths", tuple(self.widths))
        for w in self.widths:
            check_int("widths entry", w)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("out_activation", self.out_activation, ACTIVATIONS)
        check_choice("init", self.init, INITS)
        check_positive("init_scale", self.init_scale)
        check_positive("input_scale", self.input_scale)

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden layers' widths."""
        return self.widths or (self.width,) * self.depth


@dataclass(frozen=True)
class MLP:
    """A batched MLP: pure functions of a stacked parameter dict; inputs are flattened."""

    spec: MLPSpec
    in_shape: Shape
    out_shape: Shape
    classes: int = 0  # > 0: a one-hot class label is concatenated to the input

    def __post_init__(self) -> None:
        for n in (*self.in_shape, *self.out_shape):
            check_int("MLP input/output size", n)
        check_int("classes", self.classes, minimum=0)

    @property
    def in_dim(self) -> int:
        return math.prod(self.in_shape)

    @property
    def out_dim(self) -> int:
        return math.prod(self.out_shape)

    @property
    def batch_norm(self) -> bool:
        return self.spec.batch_norm

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every linear map; hidden maxout layers produce width·maxout."""
        s = self.spec
        dims = [self.in_dim + self.classes, *s.hidden]
        return [(dims[i], w * s.maxout) for i, w in enumerate(s.hidden)] + [(dims[-1], self.out_dim)]

    def flops(self, batch: int) -> int:
        return sum(2 * batch * i * o for i, o in self.layer_shapes())

    def param_count(self) -> int:
        """Parameters of one member (weights, biases, batch-norm scales and shifts)."""
        s = self.spec
        depth = len(s.hidden)
        biases = sum(o for k, (_, o) in enumerate(self.layer_shapes()) if s.bias or k == depth)
        return sum(i * o for i, o in self.layer_shapes()) + biases + (2 * sum(s.hidden) if s.batch_norm else 0)

    def activation_count(self, batch: int) -> int:
        """Numbers one member's forward pass produces on ``batch`` rows (what autograd keeps)."""
        per_row = sum(o for _, o in self.layer_shapes()) + sum(self.spec.hidden) * (1 + self.spec.batch_norm)
        return batch * per_row

    def init(self, seeds, role: str, dtype: torch.dtype = torch.float32, device="cpu") -> Params:
        """Member i draws from ``torch_generator(seeds[i], "init", role)`` layer by layer, in float64
        (so float32 and float64 runs start from the same weights, rounded)."""
        s = self.spec
        init = INITS[s.init]
        per_member: list[Params] = []
        for seed in seeds:
            g = torch_generator(seed, "init", role)
            p: Params = {}
            for layer, (fan_in, fan_out) in enumerate(self.layer_shapes()):
                hidden = layer < len(s.hidden)
                w = torch.empty(fan_out, fan_in, dtype=torch.float64)  # nn.Linear layout: same fan-in rules
                b = torch.empty(fan_out, dtype=torch.float64) if (s.bias or not hidden) else None
                init(w, b, g, s)
                p[f"w{layer}"] = w.t().contiguous()
                if b is not None:
                    p[f"b{layer}"] = b[None, :]
                if hidden and s.batch_norm:
                    p[f"bn_w{layer}"] = torch.ones(1, s.hidden[layer], dtype=torch.float64)
                    p[f"bn_b{layer}"] = torch.zeros(1, s.hidden[layer], dtype=torch.float64)
            per_member.append(p)
        return {k: v.to(device, dtype) for k, v in stack_members(per_member).items()}

    def __call__(self, params: Params, x: torch.Tensor, *, groups: int = 1,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """x [N, B, *in_shape] → [N, B, *out_shape] for N stacked members."""
        s = self.spec
        act = ACTIVATIONS[s.activation]
        h = x.flatten(2)
        if s.input_scale != 1.0:
            h = h * s.input_scale
        if self.classes:
            h = torch.cat([h, F.one_hot(labels, self.classes).to(h.dtype)], dim=-1)
        for layer in range(len(s.hidden)):
            h = _linear(params, layer, h)
            if s.maxout > 1:
                h = maxout(h, s.maxout)
            if s.batch_norm:
                h = _batch_norm(h, params[f"bn_w{layer}"], params[f"bn_b{layer}"], groups)
            if s.maxout == 1:
                h = act(h)
        return ACTIVATIONS[s.out_activation](_linear(params, len(s.hidden), h)).unflatten(2, self.out_shape)


def _batch_norm(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int) -> torch.Tensor:
    """γ (h − mean) / √(var + 1e-5) + β over each member's rows (dim 1), per row group, biased
    variance: BatchNorm1d's training mode. Members and groups become channels of one
    ``F.batch_norm`` call (one fused kernel each way: 4× faster than composing var_mean)."""
    n, rows, w = h.shape
    x = h.view(n, groups, rows // groups, w).permute(2, 0, 1, 3).reshape(rows // groups, n * groups * w)
    y = F.batch_norm(x, None, None, weight.expand(n, groups, w).reshape(-1),
                     bias.expand(n, groups, w).reshape(-1), training=True, eps=1e-5)
    return y.view(rows // groups, n, groups, w).permute(1, 2, 0, 3).reshape(n, rows, w)


def _linear(params: Params, layer: int, h: torch.Tensor) -> torch.Tensor:
    w = params[f"w{layer}"]
    b = params.get(f"b{layer}")
    if w.shape[-2] == 1:
        # A single input feature (1-D data) makes the weight gradient xᵀ·δ a single row: the same
        # N = 1 matrix-vector path, seen on an Intel Xeon (1e-18 apart between N = 1 and N = 2);
        # a zero feature and a zero weight row keep the matrix-matrix path for every N.
        h, w = F.pad(h, (0, 1)), F.pad(w, (0, 0, 0, 1))
    if w.shape[-1] == 1:
        # A single output column makes the CPU BLAS take a matrix-vector path for N = 1 and a
        # matrix-matrix one for N > 1, which round differently; a zero column keeps one path for
        # every N, so member i's float32 numbers do not depend on N.
        w, b = F.pad(w, (0, 1)), (None if b is None else F.pad(b, (0, 1)))
        return (torch.bmm(h, w) if b is None else torch.baddbmm(b, h, w))[..., :1]
    return torch.bmm(h, w) if b is None else torch.baddbmm(b, h, w)


register_model("mlp", MLPSpec, MLP)
