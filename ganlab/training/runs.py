"""Running a configuration to the end: evaluation, checkpoints, resumption, interruption and the
final summary, in a run folder (``rundir.RunDir``).

Guarantees (each checked by a test named in the README's Reliability section):
* resume after a kill at any moment ends bit-identical to an uninterrupted run (CPU);
* a run extended with more ``steps`` equals the longer run trained in one go;
* a damaged latest checkpoint is skipped with a warning, the previous one used;
* Ctrl-C (or SIGTERM) finishes the current step, checkpoints, writes the summary and exits 130;
* however a run ends, metrics and a summary.json saying how it ended are on disk.
"""

from __future__ import annotations

import math
import signal
import statistics
import sys
import threading
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from .config import DEFAULT_THREADS, Runtime, TrainConfig, config_differences, identity_sha256
from .engine import Trainer
from .evaluators import evaluator_keys
from .resources import check_memory
from .rundir import RunDir, RunFolderError, now, versions

BASE_COLUMNS = ["step", "member", "seed", "alive", "d_loss", "g_loss"]


class AllMembersDiverged(RuntimeError):
    """Every member of the run produced NaN or inf; what was computed is kept on disk."""


class Interrupted(RuntimeError):
    """The run was stopped by SIGINT/SIGTERM after checkpointing."""


@dataclass
class Session:
    trainer: Trainer
    run: RunDir

    @property
    def cfg(self) -> TrainConfig:
        return self.trainer.cfg


def data_shape(cfg: TrainConfig) -> tuple[int, ...]:
    """The shape of one sample of the run's data, known before anything is built."""
    from ..data.images import DATASETS
    from ..theory.targets import make_target

    if cfg.target in DATASETS:
        return DATASETS[cfg.target].shape
    return (make_target(cfg.target, **cfg.target_kwargs).dim,)


def apply_threads(runtime: Runtime) -> int:
    n = runtime.threads or DEFAULT_THREADS
    torch.set_num_threads(n)
    return n


def _columns(cfg: TrainConfig) -> list[str]:
    return BASE_COLUMNS + sorted(cfg.grid) + evaluator_keys(cfg.evaluators)


def _segment(trainer: Trainer, command: list[str] | None) -> dict[str, Any]:
    return {"started": now(), "from_step": trainer.step, "steps": trainer.cfg.steps,
            "runtime": {**trainer.rt.to_dict(), "threads": torch.get_num_threads()},
            "command": command if command is not None else sys.argv, "versions": versions()}


def start(cfg: TrainConfig, out: str, runtime: Runtime | None = None, command: list[str] | None = None) -> Session:
    """A new run in the new folder ``out``: the memory estimate and every part are checked
    before the folder is created."""
    runtime = runtime or Runtime()
    apply_threads(runtime)
    check_memory(cfg, runtime, data_shape(cfg))
    trainer = Trainer(cfg, runtime)  # builds every part: bad input fails before the folder exists
    header = {"identity": cfg.identity(), "identity_sha256": cfg.identity_sha256(), "steps": cfg.steps,
              "label": cfg.label, "created": now(), "segments": [_segment(trainer, command)]}
    run = RunDir.create(out, header, _columns(cfg))
    run.write_summary({"status": "running", "step": 0, "steps": cfg.steps, "label": cfg.label})
    return Session(trainer, run)


def load_config(run: RunDir, steps: int | None = None) -> tuple[TrainConfig, dict[str, Any]]:
    """The run's configuration from config.json, its identity checked against the stored SHA-256
    (a hand-edited identity is refused, naming what changed)."""
    header = run.header()
    try:
        cfg = TrainConfig.from_dict({**header["identity"], "steps": header["steps"] if steps is None else steps})
    except (KeyError, TypeError, ValueError) as e:
        raise RunFolderError(f"{run.path / 'config.json'} does not hold a valid configuration: {e}") from None
    if identity_sha256(header["identity"]) != header.get("identity_sha256") or cfg.identity() != header["identity"]:
        raise RunFolderError(f"{run.path / 'config.json'} was edited: its identity no longer matches the "
                             "checksum it was created with; a run's configuration cannot be changed after it started")
    return cfg, header


def resume(out: str, runtime: Runtime | None = None, *, steps: int | None = None, expect: TrainConfig | None = None,
           command: list[str] | None = None) -> Session:
    """Continue the run in ``out`` from its newest intact checkpoint. ``steps`` may extend it;
    ``expect`` (e.g. rebuilt from command-line flags) must have the same identity."""
    runtime = runtime or Runtime()
    apply_threads(runtime)
    run = RunDir.open(out)
    try:
        cfg, header = load_config(run, steps)
        if expect is not None and expect.identity() != cfg.identity():
            diff = config_differences(cfg.identity(), expect.identity())
            raise ValueError("refusing to resume with a different configuration (saved vs given): " + "; ".join(diff))
        check_memory(cfg, runtime, data_shape(cfg))
        found = run.latest_checkpoint(cfg.identity_sha256())
        trainer = Trainer(cfg, runtime)
        if found is not None:
            trainer.load_state_dict(found[0])
        if cfg.steps < trainer.step:
            raise ValueError(f"steps={cfg.steps} is below the step the run has reached ({trainer.step})")
        run.truncate_metrics(trainer.step)
        header["steps"] = cfg.steps
        header["segments"].append(_segment(trainer, command))
        run.write_header(header)
    except BaseException:
        run.close()
        raise
    return Session(trainer, run)


class _StopRequest:
    """SIGINT/SIGTERM set a flag the loop reads between steps (a second one aborts at once)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handler(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> "_StopRequest":
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


def run(session: Session, progress: bool | None = None) -> dict[str, Any]:
    """Train to cfg.steps, evaluating and checkpointing on schedule; returns the final summary.
    Raises ``AllMembersDiverged`` or ``Interrupted`` after writing metrics, a checkpoint and the
    summary."""
    t, out, cfg = session.trainer, session.run, session.cfg
    progress = t.rt.progress if progress is None else progress
    if t.step == 0 and not out.metrics():
        out.append_metrics(t.evaluate())
    bar = tqdm(total=cfg.steps, initial=t.step, disable=not progress, desc=cfg.label, dynamic_ncols=True,
               file=sys.stderr, mininterval=1.0)
    reported = len(t.divergences)
    saved_at = t.step
    try:
        with _StopRequest() as stop:
            while t.step < cfg.steps:
                t.train_step()
                bar.update(1)
                s = t.step
                if s % cfg.eval_every == 0:
                    rows = t.evaluate()
                    out.append_metrics(rows)
                    modes = [r["modes_captured"] for r in rows if r["alive"] and "modes_captured" in r]
                    if modes:
                        bar.set_postfix(modes=f"{statistics.fmean(modes):.2f}", alive=sum(r["alive"] for r in rows))
                for d in t.divergences[reported:]:
                    tqdm.write(d.message(), file=sys.stderr)
                reported = len(t.divergences)
                if s % t.rt.checkpoint_every == 0 or stop.signum is not None:
                    out.save_checkpoint(t.state_dict(), cfg.identity_sha256())
                    saved_at = s
                if s % cfg.eval_every == 0 and not any(r["alive"] for r in rows):
                    if saved_at != s:
                        out.save_checkpoint(t.state_dict(), cfg.identity_sha256())
                    out.write_summary(summary(t, status="all_diverged"))
                    raise AllMembersDiverged(
                        f"every member diverged (the last at step {max(d.step for d in t.divergences)}); metrics, "
                        f"a checkpoint and summary.json up to step {s} are in {out.path}")
                if stop.signum is not None:
                    out.write_summary(summary(t, status="interrupted"))
                    raise Interrupted(f"interrupted at step {s} of {cfg.steps}; checkpoint saved, continue with "
                                      f"`ganlab train --resume {out.path}`")
    except (AllMembersDiverged, Interrupted):
        raise
    except BaseException as e:  # a bug, a full disk, a second Ctrl-C: say so in summary.json if we can
        try:
            out.write_summary({**summary(t, status="failed"), "error": f"{type(e).__name__}: {e}"})
        except OSError:
            pass
        raise
    finally:
        bar.close()
    if saved_at != t.step or not out.checkpoints():
        out.save_checkpoint(t.state_dict(), cfg.identity_sha256())
    return finish(session)


def is_finished(session: Session) -> bool:
    """The run has reached its steps and written its final results."""
    from .rundir import SAMPLES, SUMMARY, read_json

    path = session.run.path
    if session.trainer.step < session.cfg.steps or not (path / SAMPLES).exists() or not (path / SUMMARY).exists():
        return False
    s = read_json(path / SUMMARY, "summary")
    return s.get("status") == "finished" and s.get("step") == session.cfg.steps


def finish(session: Session) -> dict[str, Any]:
    """Final samples, the final evaluators and the summary (status finished)."""
    t, out = session.trainer, session.run
    samples = t.final_samples()
    out.write_samples(samples, t.seeds, t.members)
    result = summary(t, status="finished", final=t.final_metrics(samples))
    out.write_summary(result)
    return result


def _aggregate(rows: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    """mean, std, standard error and n over live members with a finite value, per metric."""
    out = {}
    alive = [r for r in rows if r.get("alive", True)]
    for key in keys:
        vals = [float(r[key]) for r in alive if r.get(key) is not None and math.isfinite(float(r[key]))]
        if vals:
            sd = statistics.stdev(vals) if len(vals) > 1 else math.nan
            out[key] = {"mean": statistics.fmean(vals), "std": sd, "stderr": sd / math.sqrt(len(vals)), "n": len(vals)}
    return out


def summary(t: Trainer, status: str, final: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The run's state for summary.json: per member its final metrics (or, before the end, its
    last evaluation's), aggregated over the seeds of each grid point; divergences; status."""
    alive = t.alive.cpu()
    run = t.running.cpu()
    members = []
    for i, mb in enumerate(t.members):
        row: dict[str, Any] = {"member": i, "seed": mb.seed, **mb.hyper, "alive": bool(alive[i])}
        count = float(run[2, i])
        row["d_loss"] = float(run[0, i]) / count if count else math.nan
        row["g_loss"] = float(run[1, i]) / count if count and t.trains_generator else math.nan
        for k, v in (final or {}).items():
            row[k] = v[i] if alive[i] else math.nan
        members.append(row)
    keys = list(final or {})
    groups = []
    for point in t.cfg.grid_points():
        rows = [r for r, mb in zip(members, t.members) if mb.hyper == point]
        groups.append({"hyper": point, "aggregate": _aggregate(rows, keys), "n_diverged": sum(not r["alive"] for r in rows)})
    out: dict[str, Any] = {"status": status, "label": t.cfg.label, "step": t.step, "steps": t.cfg.steps,
                           "members": members, "groups": groups,
                           "divergences": [vars(d) for d in t.divergences], "updated": now()}
    if len(groups) == 1:
        out["aggregate"] = groups[0]["aggregate"]
    return out
