"""A trainer's evaluation: generated samples, the evaluators on them and one metrics row per member,
with the divergence watch's look at the masks before (``divergence.DivergenceWatch``).

What it needs of the trainer is given at construction, nothing else: the members (their
``config.Member``, index in the run and seed), the target and data source the evaluators judge
against, the divergence watch, and ``generate(n, purpose, step)`` — n samples per member
[N, n, *shape] from stream (purpose, step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .divergence import DivergenceWatch
from .evaluators import EVALUATORS, EvalContext, run_evaluators

Generate = Callable[[int, str, int], torch.Tensor]


class Evaluation:
    def __init__(self, cfg: Any, members: list[Any], member_index: list[int], target: Any, source: Any,
                 watch: DivergenceWatch, generate: Generate):
        self.cfg, self.members, self.member_index = cfg, members, member_index
        self.seeds = [mb.seed for mb in members]
        self.target, self.source, self.watch, self.generate = target, source, watch, generate
        self.cache: dict[str, Any] = {}  # lives as long as the trainer (e.g. a digit classifier)
        self.last_samples: torch.Tensor | None = None

    def evaluate(self, step: int, evaluators: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """One metrics row per member at ``step``: mean losses since the last evaluation and every
        evaluator's values. Refreshes the weights a diverging member falls back to and resets the
        running losses."""
        names = self.cfg.evaluators if evaluators is None else evaluators
        w = self.watch
        w.freeze_dead()
        samples = self.generate(self.cfg.eval_samples, "eval", step)
        self.last_samples = samples
        w.mark(torch.isfinite(samples.flatten(2)).all(dim=2).all(dim=1), step)  # finite losses, non-finite samples
        w.freeze_dead()
        alive = w.alive.cpu()
        values = run_evaluators(self.applicable(names), samples, self.context(alive, step))
        rows = []
        for i, (mb, (d_loss, g_loss)) in enumerate(zip(self.members, w.mean_losses())):
            row: dict[str, Any] = {"step": step, "member": self.member_index[i], "seed": mb.seed, **mb.hyper,
                                   "alive": bool(alive[i]), "d_loss": d_loss, "g_loss": g_loss}
            for k, v in values.items():
                row[k] = v[i] if alive[i] else float("nan")
            rows.append(row)
        w.remember()
        return rows

    def final_samples(self, step: int) -> torch.Tensor:
        self.watch.freeze_dead()
        return self.generate(self.cfg.n_final_samples, "final", step)

    def final_metrics(self, samples: torch.Tensor, step: int) -> dict[str, list[float]]:
        names = self.applicable(self.cfg.final_evaluators)
        return run_evaluators(names, samples, self.context(self.watch.alive.cpu(), step))

    def context(self, alive: torch.Tensor, step: int) -> EvalContext:
        return EvalContext(self.target, self.seeds, alive, step, self.source, self.cache)

    def applicable(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The named evaluators that apply to this run's data (mode metrics need a toy target's
        modes, classifier modes an image data set)."""
        return tuple(n for n in names if EVALUATORS[n].applies(self.target, self.source))
