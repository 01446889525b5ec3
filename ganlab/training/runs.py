"""Running a configuration to the end: evaluation, checkpoints, resumption, the final summary."""

from __future__ import annotations

import math
import statistics
import sys
from typing import Any

import torch
from tqdm.auto import tqdm

from .config import TrainConfig
from .engine import Trainer, derived_generator
from .rundir import RunDir


class AllMembersDiverged(RuntimeError):
    """Every member of the run produced NaN or inf; what was computed before is kept on disk."""


def start(cfg: TrainConfig, out: str, command: list[str] | None = None) -> tuple[Trainer, RunDir]:
    trainer = Trainer(cfg)  # fails (e.g. no such device) before the folder exists
    return trainer, RunDir.create(out, cfg, command)


def resume(out: str, cfg: TrainConfig | None = None) -> tuple[Trainer, RunDir]:
    """Continue the run in ``out`` from its last checkpoint; a different ``cfg`` is refused."""
    run = RunDir(out)
    saved = run.load_config()
    if cfg is not None and cfg != saved:
        a, b = _flatten(saved.to_dict()), _flatten(cfg.to_dict())
        diff = [f"{k}: saved {a.get(k)!r}, given {b.get(k)!r}" for k in sorted(a | b) if a.get(k) != b.get(k)]
        raise ValueError("refusing to resume with a different configuration: " + "; ".join(diff))
    trainer = Trainer(saved)
    state = run.latest_checkpoint()
    if state is not None:
        trainer.load_state_dict(state)
    return trainer, run


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _w1_to_target(trainer: Trainer, samples: torch.Tensor) -> list[float]:
    from ..theory.wasserstein import w1

    out = []
    for i, seed in enumerate(trainer.seeds):
        if not bool(trainer.alive[i]):
            out.append(math.nan)
            continue
        ref = trainer.target.sample(samples.shape[1], derived_generator(seed, "w1-reference"), dtype=torch.float64)
        out.append(w1(samples[i].double(), ref))
    return out


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """mean, std, standard error and n over the seeds still alive, per metric."""
    out = {}
    alive = [r for r in rows if r.get("alive", True)]
    for key in ("modes_captured", "high_quality_fraction", "reverse_kl", "w1"):
        vals = [float(r[key]) for r in alive if key in r and math.isfinite(float(r[key]))]
        if vals:
            sd = statistics.stdev(vals) if len(vals) > 1 else math.nan
            out[key] = {"mean": statistics.fmean(vals), "std": sd, "stderr": sd / math.sqrt(len(vals)), "n": len(vals)}
    return out


def _summary(trainer: Trainer, w1s: list[float]) -> dict[str, Any]:
    """Final metrics per member, aggregated over seeds at each grid point."""
    last = {r["member"]: r for r in trainer.history if r["step"] == trainer.step}
    members = []
    for i, seed in enumerate(trainer.seeds):
        row = dict(last.get(i, {"member": i, "seed": seed, **trainer.members[i].hyper}))
        row["w1"] = w1s[i]
        members.append(row)
    groups = []
    for point in trainer.cfg.grid_points():
        rows = [r for r, mb in zip(members, trainer.members) if mb.hyper == point]
        groups.append({"hyper": point, "aggregate": _aggregate(rows)})
    summary: dict[str, Any] = {"step": trainer.step, "members": members, "groups": groups}
    if len(groups) == 1:
        summary["aggregate"] = groups[0]["aggregate"]
    summary["divergences"] = [vars(d) for d in trainer.divergences]
    return summary


def run(trainer: Trainer, out: RunDir, progress: bool = True) -> dict[str, Any]:
    """Train to cfg.steps, evaluating and checkpointing on schedule; returns the final summary."""
    cfg = trainer.cfg
    if trainer.step == 0 and not trainer.history:
        trainer.evaluate()
        out.write_metrics(trainer.history)
    bar = tqdm(total=cfg.steps, initial=trainer.step, disable=not progress, desc=cfg.method_name,
               dynamic_ncols=True, file=sys.stderr, mininterval=1.0)
    reported = len(trainer.divergences)
    try:
        while trainer.step < cfg.steps:
            trainer.train_step()
            bar.update(1)
            s = trainer.step
            if s % cfg.eval_every == 0 or s == cfg.steps:
                rows = trainer.evaluate()
                out.write_metrics(trainer.history)
                modes = [r["modes_captured"] for r in rows if "modes_captured" in r]
                if modes:
                    bar.set_postfix(modes=f"{statistics.fmean(modes):.2f}", alive=int(trainer.alive.sum()))
            for d in trainer.divergences[reported:]:
                tqdm.write(d.message(), file=sys.stderr)
            reported = len(trainer.divergences)
            if s % cfg.checkpoint_every == 0 or s == cfg.steps or not trainer.alive.any():
                out.save_checkpoint(trainer.state_dict())
            if not trainer.alive.any():
                out.write_metrics(trainer.history)
                raise AllMembersDiverged(
                    f"every member diverged (last at step {trainer.divergences[-1].step}); metrics and "
                    f"a checkpoint up to then are in {out.path}"
                )
    finally:
        bar.close()
    return finish(trainer, out)


def finish(trainer: Trainer, out: RunDir) -> dict[str, Any]:
    """Final samples, W1 to the target and the summary over seeds."""
    samples = trainer.generate(trainer.cfg.eval_samples, tag="final")
    out.write_samples(samples, trainer.seeds, trainer.members)
    summary = _summary(trainer, _w1_to_target(trainer, samples))
    out.write_summary(summary)
    return summary
