"""Optimizers for batched parameters, with one value of each hyperparameter per member.

A frozen member (one that diverged) is kept still by its zero gradients — the engine multiplies
each member's loss by its alive flag — and its state zeroed when it is frozen (``reset_members``):
with m = v = 0 and g = 0 every update below is exactly 0.

A stacked parameter [N, ...] holds N members; torch's optimizers take one scalar learning rate per
tensor, so a grid over learning rates needs these. Every hyperparameter is a tensor [N] on the
run's device and the step count is a Python int shared by the members, so a step makes no host
round trip. The update formulas are torch's own (single-tensor Adam, RMSprop, SGD); member i with
learning rate lr[i] follows exactly the arithmetic of a run of member i alone (elementwise ops),
and equals ``torch.optim`` to rounding (``tests/training/test_optim.py``). A learning-rate
schedule (``lr_schedules``) scales every member's base rate by one Python float per training step
(``set_lr_factor``); at factor 1 the arithmetic is exactly that of a run without a schedule.

Each optimizer also has a functional, out-of-place step for the unrolled GAN, which differentiates
through K discriminator updates (Metz et al. 2017).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

# √(v + ε_in) in the differentiable step: d√v/dv is infinite at v = 0, which turns a zero
# gradient into NaN when differentiated through.
SQRT_EPS = 1e-16
# the widest CPU vector register (AVX-512): see Adam
VECTOR_BYTES = 64


def member_view(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-member tensor [N] shaped to broadcast over a batched tensor [N, ...]."""
    return v.to(like.dtype).view(-1, *[1] * (like.ndim - 1))


class BatchedOptimizer:
    """Base: ``params`` (leaf tensors [N, ...]), per-member base rates ``lr`` [N], which a
    learning-rate schedule scales by one factor per step (``set_lr_factor``); ``step(grads)``
    applies one update from explicit gradients (no ``.grad`` attributes)."""

    state_keys: tuple[str, ...] = ()

    def __init__(self, params: list[torch.Tensor], lr: torch.Tensor, **hyper: Any):
        self.params = params
        self._lr = lr
        self.hyper = hyper
        self.t = 0
        self.state = {k: [torch.zeros_like(p) for p in params] for k in self.state_keys}
        self.factor = 1.0
        self._lr_views = [member_view(lr, p) for p in params]

    @property
    def lr(self) -> torch.Tensor:
        """The base learning rates [N], fixed at construction; ``set_lr_factor`` scales them."""
        return self._lr

    @lr.setter
    def lr(self, value: Any) -> None:
        # assigning here once changed nothing (the rates were read at construction): refuse it
        raise AttributeError("a batched optimizer's base learning rates are fixed at construction; change "
                             "the rate during a run with a learning-rate schedule (MethodConfig.lr_schedule)")

    @property
    def current_lr(self) -> torch.Tensor:
        """The rates [N] of the next step: lr · factor (lr itself, not a copy, at factor 1)."""
        return self._lr if self.factor == 1.0 else self._lr * self.factor

    def set_lr_factor(self, factor: float) -> None:
        """Every member's rate is lr_i · ``factor`` from the next step on (a learning-rate
        schedule's factor of this step: a Python float, so no host round trip). The product is
        taken in the base rates' dtype (float64), as torch's closed-form schedulers take
        base_lr · factor in Python floats."""
        factor = float(factor)
        if factor != self.factor:
            self.factor = factor
            self._lr_views = [member_view(self.current_lr, p) for p in self.params]

    def step(self, grads: list[torch.Tensor]) -> None:
        """One update from ``grads``."""
        raise NotImplementedError

    def functional_step(self, p: torch.Tensor, g: torch.Tensor, state: dict[str, Any], lr: torch.Tensor):
        """(new p, new state) out of place, differentiable; ``state`` as from ``functional_state``."""
        raise NotImplementedError

    def functional_state(self, i: int) -> dict[str, Any]:
        return {"t": self.t, **{k: self.state[k][i].detach() for k in self.state_keys}}

    def reset_members(self, mask: torch.Tensor) -> None:
        """Zero the state of the members in ``mask`` [N] (bool, on the device): a frozen member's
        zero gradients then leave its weights exactly where they are."""
        with torch.no_grad():
            for k in self.state_keys:
                for s in self.state[k]:
                    s.masked_fill_(member_view(mask, s).bool(), 0.0)

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, **{k: [s.detach().cpu() for s in self.state[k]] for k in self.state_keys}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])
        with torch.no_grad():
            for k in self.state_keys:
                for mine, saved in zip(self.state[k], state[k]):
                    mine.copy_(saved)


class Adam(BatchedOptimizer):
    """Adam (Kingma & Ba 2015), torch's form: m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g²,
    p ← p − lr_i · (m / (1 − β1ᵗ)) / (√v / √(1 − β2ᵗ) + ε).

    The step is torch's fused Adam kernel (one pass over each tensor; measured 5–10× faster than
    the same formula as separate foreach ops on CPU), called once per distinct base learning rate
    (at base · factor, a Python float, under a schedule): on the whole stacked tensors when every
    member has the same one and its block is vector-aligned, else on the members' slices, so that
    member i's numbers do not depend on N or on the grid."""

    state_keys = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: list[torch.Tensor], lr: torch.Tensor, **hyper: Any):
        super().__init__(params, lr, **hyper)
        values = lr.tolist()  # once, at construction: the groups of members sharing a base learning rate
        one_lr = len(set(values)) == 1
        # a schedule scales every member by the same factor, so the groups stay: at each step a
        # group's rate is base · factor, one Python float product (torch's closed-form schedulers'
        # arithmetic; at factor 1 the base itself)
        self._groups = [(v, [i for i, x in enumerate(values) if x == v]) for v in dict.fromkeys(values)]
        # The kernel rounds an element in its vector body and in its scalar tail differently (1 ulp,
        # measured): a member's numbers must not depend on where its block sits in the stacked
        # tensor, so the whole tensor goes in one piece only when each member's block is a whole
        # number of the widest vectors (64 bytes); other tensors go member by member.
        self._whole = [one_lr and (p[0].numel() * p.element_size()) % VECTOR_BYTES == 0 for p in params]
        self._step = torch.zeros((), dtype=torch.float32, device=params[0].device) if params else None

    def _pieces(self, tensors: list[torch.Tensor], members: list[int]) -> list[torch.Tensor]:
        return [t if whole else t[i] for t, whole in zip(tensors, self._whole)
                for i in ([None] if whole else members)]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        self.t += 1
        (b1, b2), eps = self.hyper["betas"], self.hyper["eps"]
        # the fused kernel walks parameter, gradient and state in memory order: they must share a
        # layout (a gradient through a gradient penalty can come back transposed)
        grads = [g if g.stride() == p.stride() else g.contiguous() for g, p in zip(grads, self.params)]
        self._step.fill_(self.t)
        m, v = self.state["exp_avg"], self.state["exp_avg_sq"]
        for base, members in self._groups:
            lr = base * self.factor
            ps = self._pieces(self.params, members)
            torch._fused_adam_(ps, self._pieces(grads, members), self._pieces(m, members), self._pieces(v, members),
                               [], [self._step] * len(ps), lr=lr, beta1=b1, beta2=b2, weight_decay=0.0, eps=eps,
                               amsgrad=False, maximize=False)

    def functional_step(self, p, g, state, lr):
        (b1, b2), eps = self.hyper["betas"], self.hyper["eps"]
        t = state["t"] + 1
        m = b1 * state["exp_avg"] + (1 - b1) * g
        v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
        denom = torch.sqrt(v / (1 - b2**t) + SQRT_EPS) + eps
        return p - member_view(lr, p) * (m / (1 - b1**t)) / denom, {"t": t, "exp_avg": m, "exp_avg_sq": v}


class RMSprop(BatchedOptimizer):
    """RMSprop, torch's form: s ← α s + (1 − α) g², p ← p − lr_i · g / (√s + ε)."""

    state_keys = ("square_avg",)

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        self.t += 1
        alpha, eps = self.hyper["rmsprop_alpha"], self.hyper["eps"]
        s = self.state["square_avg"]
        torch._foreach_mul_(s, alpha)
        torch._foreach_addcmul_(s, grads, grads, value=1 - alpha)
        denom = torch._foreach_sqrt(s)
        torch._foreach_add_(denom, eps)
        update = torch._foreach_div(grads, denom)
        torch._foreach_mul_(update, self._lr_views)
        torch._foreach_sub_(self.params, update)

    def functional_step(self, p, g, state, lr):
        alpha, eps = self.hyper["rmsprop_alpha"], self.hyper["eps"]
        s = alpha * state["square_avg"] + (1 - alpha) * g * g
        return p - member_view(lr, p) * g / (torch.sqrt(s + SQRT_EPS) + eps), {"t": state["t"] + 1, "square_avg": s}


class SGD(BatchedOptimizer):
    """p ← p − lr_i · g."""

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        self.t += 1
        update = torch._foreach_mul(grads, self._lr_views)
        torch._foreach_sub_(self.params, update)

    def functional_step(self, p, g, state, lr):
        return p - member_view(lr, p) * g, {"t": state["t"] + 1}


OPTIMIZERS: dict[str, Callable[..., BatchedOptimizer]] = {"adam": Adam, "rmsprop": RMSprop, "sgd": SGD}
