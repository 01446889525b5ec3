"""Any ``nn.Module`` as a batched model, through ``torch.func``: N members' parameters are stacked
and ``vmap(functional_call)`` runs them as one computation (a convolution under vmap becomes one
grouped convolution).

Modules must not keep running statistics (batch norm with ``track_running_stats=False``: every
forward normalises with its own batch, as the toy MLPs do) and must not draw random numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from ..rng import torch_generator
from .base import Params, Shape, stack_members

ModuleInit = Callable[[nn.Module, torch.Generator], None]


class ModuleEnsemble:
    """Batched model from a module factory and an initialiser.

    ``make()`` builds one member's module; ``initialise(module, generator)`` draws its weights from
    the generator (member i: ``torch_generator(seeds[i], "init", role)``). Parameters are named as
    in the module (``module.named_parameters()``)."""

    def __init__(self, make: Callable[[], nn.Module], initialise: ModuleInit, in_shape: Shape, out_shape: Shape,
                 classes: int = 0):
        self.make, self.initialise = make, initialise
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.classes = classes  # > 0: the module's forward takes (x, labels)
        with torch.device("meta"):  # structure only, nothing allocated; weights come from the stacked params
            self.module = make()
        self.batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.module.modules())
        for m in self.module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                raise ValueError(f"{type(m).__name__} must have track_running_stats=False in a batched model")
        self._flops: dict[int, int] = {}

    def init(self, seeds: Sequence[int], role: str, dtype: torch.dtype = torch.float32, device="cpu") -> Params:
        per_member = []
        for seed in seeds:
            m = self.make().to(torch.float64)
            with torch.no_grad():
                self.initialise(m, torch_generator(seed, "init", role))
            per_member.append({k: v.detach() for k, v in m.named_parameters()})
        return {k: v.to(device, dtype) for k, v in stack_members(per_member).items()}

    def _one(self, params: Params, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return functional_call(self.module, params, (x,) if labels is None else (x, labels))

    def __call__(self, params: Params, x: torch.Tensor, *, groups: int = 1,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        n, rows = x.shape[:2]
        dims = (0, 0, None if labels is None else 0)
        if groups == 1:
            return vmap(self._one, in_dims=dims)(params, x, labels)
        # batch norm per group: an inner vmap over the groups, parameters shared
        xg = x.view(n, groups, rows // groups, *x.shape[2:])
        lg = None if labels is None else labels.view(n, groups, rows // groups)
        y = vmap(vmap(self._one, in_dims=(None, 0, dims[2])), in_dims=dims)(params, xg, lg)
        return y.reshape(n, rows, *y.shape[3:])

    def param_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def activation_count(self, batch: int) -> int:
        """Numbers the leaf modules of one member's forward pass produce (on the meta device)."""
        total = 0

        def hook(_m, _i, out):
            nonlocal total
            total += out.numel()

        with torch.device("meta"):
            m = self.make()
        handles = [x.register_forward_hook(hook) for x in m.modules() if not list(x.children())]
        m(*self._meta_inputs(batch))
        for h in handles:
            h.remove()
        return total

    def _meta_inputs(self, batch: int) -> tuple[torch.Tensor, ...]:
        x = torch.empty(batch, *self.in_shape, device="meta")
        return (x, torch.zeros(batch, dtype=torch.int64, device="meta")) if self.classes else (x,)

    def flops(self, batch: int) -> int:
        """Forward FLOPs of one member (convolutions and linear maps), counted once per batch size
        with torch's FLOP counter on a meta-device module."""
        if batch not in self._flops:
            from torch.utils.flop_counter import FlopCounterMode

            with torch.device("meta"):
                m = self.make()
            with FlopCounterMode(display=False) as counter:
                m(*self._meta_inputs(batch))
            self._flops[batch] = int(counter.get_total_flops())
        return self._flops[batch]


def normal_init(std: float = 0.02) -> ModuleInit:
    """DCGAN's initialisation (Radford et al. 2016): conv and linear weights N(0, std²), biases 0;
    batch-norm scales N(1, std²), shifts 0."""

    def initialise(module: nn.Module, g: torch.Generator) -> None:
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)) or type(m).__name__ == "Dense":
                nn.init.normal_(m.weight, 0.0, std, generator=g)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                nn.init.normal_(m.weight, 1.0, std, generator=g)
                nn.init.zeros_(m.bias)

    return initialise
