"""Divergence handling: which members are still alive, when and with which losses each one
diverged, the running loss sums since the last evaluation, and the weights a diverging member
falls back to.

The trainer talks to a ``DivergenceWatch`` through five calls:

* ``watch(step, d_loss, g_loss)`` after every step, on the device (no host sync): a member whose
  loss is NaN or inf is masked out at once (``alive``, by which the trainer weighs the gradients);
* ``mark(finite, step)`` at an evaluation: members whose samples are not finite die too;
* ``freeze_dead()`` at an evaluation (the host's one look at the masks): newly dead members are
  reported (``Divergence``), every dead member is put back to its snapshot weights and its
  optimizer state zeroed, where its zero gradients keep it;
* ``remember()`` after an evaluation: the snapshot becomes the current weights, the running sums
  restart;
* ``state_dict()`` / ``load_state_dict(state)``: its part of a checkpoint (``checkpoint``).

It holds the trainer's parameter dicts and optimizers (their tensors are updated in place, never
replaced) and ``mean_losses()`` gives each member's mean losses since the last evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..models import Params


@dataclass
class Divergence:
    """A member whose loss became NaN or inf; frozen at its weights of the evaluation before."""

    member: int
    seed: int
    step: int
    d_loss: float
    g_loss: float
    hyper: dict[str, float] = field(default_factory=dict)

    def message(self) -> str:
        where = f"seed {self.seed}" + "".join(f", {k}={v:g}" for k, v in self.hyper.items())
        return (f"member {self.member} ({where}) diverged at step {self.step}: d_loss={self.d_loss}, "
                f"g_loss={self.g_loss}; frozen at its weights of the previous evaluation, the others go on")


class DivergenceWatch:
    """The divergence state of one trainer's members (see the module docstring)."""

    def __init__(self, members: list[Any], member_index: list[int], params: dict[str, Params],
                 optimizers: list[Any], trains_generator: bool, device: torch.device):
        """``members``: this trainer's ``config.Member``s, ``member_index`` their indices in the
        run; ``params``: {"g": θ_G, "d": θ_D}; ``optimizers``: those that update them."""
        n = len(members)
        self.members, self.member_index = members, member_index
        self.params, self.optimizers = params, optimizers
        self.trains_generator = trains_generator
        self.alive = torch.ones(n, dtype=torch.bool, device=device)
        self.diverged_at = torch.full((n,), -1, dtype=torch.int64, device=device)
        self.diverged_losses = torch.full((n, 2), math.nan, dtype=torch.float64, device=device)
        self.running = torch.zeros(3, n, dtype=torch.float64, device=device)  # d sum, g sum, count
        self.snapshot = {w: {k: v.detach().clone() for k, v in p.items()} for w, p in params.items()}
        self.divergences: list[Divergence] = []

    def watch(self, step: int, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        """Divergence mask and running loss sums after the step that made ``step`` (on the device)."""
        finite = torch.isfinite(d_loss)
        if self.trains_generator:
            finite &= torch.isfinite(g_loss)
        newly = self.alive & ~finite
        self.diverged_at = torch.where(newly, step, self.diverged_at)
        both = torch.stack([d_loss, g_loss], dim=1).to(torch.float64)
        self.diverged_losses = torch.where(newly[:, None], both, self.diverged_losses)
        self.alive = self.alive & finite
        ok = self.alive.to(torch.float64)
        self.running += torch.cat([torch.nan_to_num(both.T) * ok, ok[None]])

    def mark(self, finite: torch.Tensor, step: int) -> None:
        """Members alive but not ``finite`` [N] (e.g. their samples) diverge at ``step``."""
        bad = self.alive & ~finite
        self.diverged_at = torch.where(bad, step, self.diverged_at)
        self.alive &= finite

    def freeze_dead(self) -> list[Divergence]:
        """Report members that diverged since the last look, put every dead member back to its
        snapshot and zero its optimizer state (the host's one look at the masks)."""
        alive, at = self.alive.cpu(), self.diverged_at.cpu()
        losses = self.diverged_losses.cpu()
        known = {d.member for d in self.divergences}
        new = [Divergence(self.member_index[i], mb.seed, int(at[i]), float(losses[i, 0]), float(losses[i, 1]),
                          dict(mb.hyper))
               for i, mb in enumerate(self.members) if not alive[i] and self.member_index[i] not in known]
        self.divergences += new
        if not alive.all():
            dead = ~self.alive
            with torch.no_grad():
                for which, params in self.params.items():
                    for k, p in params.items():
                        view = dead.view(-1, *[1] * (p.ndim - 1))
                        p.copy_(torch.where(view, self.snapshot[which][k], p))
            for opt in self.optimizers:
                opt.reset_members(dead)
        return new

    def mean_losses(self) -> list[tuple[float, float]]:
        """Each member's mean (d_loss, g_loss) over its finite steps since the last evaluation (NaN
        where there were none, and g_loss NaN when no generator is trained)."""
        run = self.running.cpu()
        out = []
        for i in range(run.shape[1]):
            count = float(run[2, i])
            out.append((float(run[0, i]) / count if count else math.nan,
                        float(run[1, i]) / count if count and self.trains_generator else math.nan))
        return out

    def remember(self) -> None:
        """The current weights become the ones a diverging member falls back to; the running sums
        restart."""
        self.running.zero_()
        with torch.no_grad():
            for which, params in self.params.items():
                for k, p in params.items():
                    self.snapshot[which][k].copy_(p)

    # -- its part of a checkpoint -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "alive": self.alive.cpu(),
            "diverged_at": self.diverged_at.cpu(),
            "diverged_losses": self.diverged_losses.cpu(),
            "running": self.running.cpu(),
            "snapshot": {w: {k: v.cpu() for k, v in s.items()} for w, s in self.snapshot.items()},
            "divergences": [vars(d) for d in self.divergences],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for w, s in self.snapshot.items():
                for k, v in s.items():
                    v.copy_(state["snapshot"][w][k])
        dev = self.alive.device
        self.alive = state["alive"].to(dev).clone()
        self.diverged_at = state["diverged_at"].to(dev).clone()
        self.diverged_losses = state["diverged_losses"].to(dev).clone()
        self.running = state["running"].to(dev).clone()
        self.divergences = [Divergence(**d) for d in state["divergences"]]
