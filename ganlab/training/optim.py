"""Optimizers with one learning rate per ensemble member, for hyperparameter grids.

torch's optimizers take one scalar learning rate per parameter tensor, but a batched parameter
[N, ...] holds N members. These apply torch's own update formulas (single-tensor Adam, RMSprop,
SGD) with ``lr`` a tensor [N] broadcast over each member's slice, so member i follows exactly the
update of a run with learning rate lr[i] up to rounding. Runs without a learning-rate grid use
torch's fused optimizers instead.
"""

from __future__ import annotations

import math

import torch


def _per_member(lr: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return lr.to(p.device, p.dtype).view(-1, *[1] * (p.ndim - 1))


class MemberAdam(torch.optim.Optimizer):
    """Adam (Kingma & Ba 2015): m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g²,
    p ← p − lr_i · (m / (1 − β1ᵗ)) / (√v / √(1 − β2ᵗ) + ε), with lr_i per member."""

    def __init__(self, params, lr: torch.Tensor, betas: tuple[float, float], eps: float):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                t = float(st["step"])
                st["exp_avg"].lerp_(p.grad, 1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (st["exp_avg_sq"].sqrt() / math.sqrt(1 - b2**t)).add_(group["eps"])
                p.addcdiv_(st["exp_avg"] * (_per_member(group["lr"], p) / (1 - b1**t)), denom, value=-1)


class MemberRMSprop(torch.optim.Optimizer):
    """RMSprop (torch's form): s ← α s + (1 − α) g², p ← p − lr_i · g / (√s + ε)."""

    def __init__(self, params, lr: torch.Tensor, alpha: float, eps: float):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = torch.tensor(0.0)
                    st["square_avg"] = torch.zeros_like(p)
                st["step"] += 1
                st["square_avg"].mul_(group["alpha"]).addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                denom = st["square_avg"].sqrt().add_(group["eps"])
                p.addcdiv_(p.grad * _per_member(group["lr"], p), denom, value=-1)


class MemberSGD(torch.optim.Optimizer):
    """p ← p − lr_i · g."""

    def __init__(self, params, lr: torch.Tensor):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(p.grad * _per_member(group["lr"], p))
