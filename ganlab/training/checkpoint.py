"""A trainer's checkpoint state: everything needed to continue bit-identically (random streams are
addressed by the step: nothing else to save), as a dict of tensors and plain values loadable with
``torch.load(..., weights_only=True)``, and the joins and cuts of it that multi-process runs need.

The keys (those of every checkpoint written so far; a new key needs a migration and its test):

* ``step`` — training steps taken;
* ``params_g``, ``params_d`` — {name: [N, ...]} (``params_g`` empty when G is not trained);
* ``opt_g`` (None without G), ``opt_d`` — the optimizers' ``state_dict``: "t" and lists of [N, ...];
* ``alive``, ``diverged_at``, ``diverged_losses``, ``running``, ``snapshot``, ``divergences`` —
  the divergence watch's part (``divergence.DivergenceWatch.state_dict``).

Every tensor's first dimension is the trainer's members, except ``running`` [3, N].
"""

from __future__ import annotations

from typing import Any

import torch

from ..models import Params
from .divergence import DivergenceWatch
from .optim import BatchedOptimizer

KEYS = ("step", "params_g", "params_d", "opt_g", "opt_d",
        "alive", "diverged_at", "diverged_losses", "running", "snapshot", "divergences")
PER_MEMBER = ("params_g", "params_d", "alive", "diverged_at", "diverged_losses", "snapshot")


def capture(step: int, params_g: Params, params_d: Params, opt_g: BatchedOptimizer | None,
            opt_d: BatchedOptimizer, watch: DivergenceWatch) -> dict[str, Any]:
    """The state of a trainer's members (on the host)."""
    return {
        "step": step,
        "params_g": {k: v.detach().cpu() for k, v in params_g.items()},
        "params_d": {k: v.detach().cpu() for k, v in params_d.items()},
        "opt_g": opt_g.state_dict() if opt_g else None,
        "opt_d": opt_d.state_dict(),
        **watch.state_dict(),
    }


def restore(state: dict[str, Any], params_g: Params, params_d: Params, opt_g: BatchedOptimizer | None,
            opt_d: BatchedOptimizer, watch: DivergenceWatch) -> int:
    """Load ``state`` (of exactly these members) into the parameters (in place), optimizers and
    watch; returns its step."""
    with torch.no_grad():
        for mine, saved in ((params_g, state["params_g"]), (params_d, state["params_d"])):
            for k, v in mine.items():
                v.copy_(saved[k])
    if opt_g is not None:
        opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])
    watch.load_state_dict(state)
    return int(state["step"])


def _map_members(state: dict[str, Any], fn) -> dict[str, Any]:
    """Apply ``fn`` to every per-member tensor of a state dict (member dimension first; the running
    sums [3, N] along their second)."""
    def walk(v):
        if isinstance(v, torch.Tensor):
            return fn(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    out = dict(state)
    for k in PER_MEMBER:
        out[k] = walk(state[k])
    out["running"] = fn(state["running"].T).T
    for opt in ("opt_g", "opt_d"):
        if state[opt] is not None:
            out[opt] = {k: (v if k == "t" else [fn(x) for x in v]) for k, v in state[opt].items()}
    return out


def select_members(state: dict[str, Any], index: list[int]) -> dict[str, Any]:
    """The part of a full state dict that holds the members ``index``."""
    if state["alive"].shape[0] == len(index) and index == list(range(len(index))):
        return state
    idx = torch.tensor(index, dtype=torch.int64)
    out = _map_members(state, lambda v: v[idx])
    out["divergences"] = [d for d in state["divergences"] if d["member"] in set(index)]
    return out


def merge_states(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One state dict of all members from the parts of consecutive member blocks (in order)."""
    if len(parts) == 1:
        return parts[0]

    def cat(vals: list) -> Any:
        if isinstance(vals[0], torch.Tensor):
            return torch.cat(vals)
        if isinstance(vals[0], dict):
            return {k: cat([v[k] for v in vals]) for k in vals[0]}
        return vals[0]

    out = dict(parts[0])
    for k in PER_MEMBER:
        out[k] = cat([p[k] for p in parts])
    out["running"] = torch.cat([p["running"] for p in parts], dim=1)
    for opt in ("opt_g", "opt_d"):
        if parts[0][opt] is not None:
            out[opt] = {k: (v if k == "t" else [torch.cat([p[opt][k][i] for p in parts]) for i in range(len(v))])
                        for k, v in parts[0][opt].items()}
    out["divergences"] = [d for p in parts for d in p["divergences"]]
    return out
