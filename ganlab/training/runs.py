"""Running a configuration to the end: evaluation, checkpoints, resumption, interruption and the
final summary, in a run folder (``rundir.RunDir``), in one process or several (torchrun).

Guarantees (each checked by a test named in docs/guide/reliability.md):
* resume after a kill at any moment ends bit-identical to an uninterrupted run (CPU);
* a run extended with more ``steps`` equals the longer run trained in one go;
* a damaged latest checkpoint is skipped with a warning, the previous one used;
* Ctrl-C (or SIGTERM) finishes the current step, checkpoints, writes the summary and exits 130;
  a second press a second or more later stops at once (status still "interrupted");
* however a run ends, metrics and a summary.json saying how it ended are on disk; a failure of
  the machine (``MachineFailed``) says which checkpoint is intact, or that none was saved;
* under ``torchrun --nproc_per_node K`` each process trains a contiguous block of the members and
  the run folder (written by process 0 alone) holds the same bits as a one-process run.
"""

from __future__ import annotations

import math
import os
import signal
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .assembly import assemble
from .config import Runtime, TrainConfig, config_differences, identity_sha256
from .engine import Divergence, Trainer, merge_states
from .evaluators import check_evaluators, evaluator_keys
from .resources import check_memory, tune_allocator
from .rundir import RunDir, RunFolderError, now, versions

BASE_COLUMNS = ["step", "member", "seed", "alive", "d_loss", "g_loss"]
TIMING = "timing.json"


class PhaseClock:
    """Wall seconds of one ``run`` call by phase — training steps, evaluations (the one at step 0
    included), checkpoints, the final samples and evaluators — and the wall-clock moments the call
    started (``started_at``: the end of start-up) and took its first step, written to the run
    folder's ``timing.json`` (one entry per ``run`` call that finishes), so that where a run's time
    goes is measured on the path users run (``benchmarks/cli_speed.py`` reads it). Not in
    summary.json: it differs between runs that compute the same bits. On a GPU a phase is charged
    where the device next synchronises."""

    def __init__(self, from_step: int):
        self.entry: dict[str, Any] = {"from_step": from_step, "started_at": time.time(), "first_step_at": None,
                                      "train_s": 0.0, "eval_s": 0.0, "checkpoint_s": 0.0, "final_s": 0.0}
        self._t = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Charge the time since the previous lap to ``phase``."""
        t = time.perf_counter()
        self.entry[phase + "_s"] += t - self._t
        self._t = t

    def first_step(self) -> None:
        if self.entry["first_step_at"] is None:
            self.entry["first_step_at"] = time.time()

    def write(self, run: RunDir, to_step: int) -> None:
        """Append this call's entry. A failure here (a damaged or unwritable timing.json) loses a
        measurement, never the run: its results are on disk by now, so it warns instead of
        raising."""
        import warnings

        from .rundir import read_json, write_json

        path = run.path / TIMING
        try:
            entries = read_json(path, "timing")["segments"] if path.exists() else []
            entries = list(entries)
        except Exception:  # noqa: BLE001 — RunFolderError, a JSON list, …: start the record afresh
            entries = []
        try:
            write_json(path, {"segments": [*entries, {**self.entry, "to_step": to_step}]})
        except Exception as e:  # noqa: BLE001
            warnings.warn(f"could not write {path}: {e}", stacklevel=2)


class AllMembersDiverged(RuntimeError):
    """Every member of the run produced NaN or inf; what was computed is kept on disk."""


class Interrupted(RuntimeError):
    """The run was stopped by SIGINT/SIGTERM (after checkpointing, unless a second signal stopped it
    at once); the message says what was saved."""


class MachineFailed(RuntimeError):
    """The machine failed under the run (disk full, file too large, out of memory, an output made
    unwritable); summary.json says "failed" if it could be written, and the message says what was saved."""




def is_machine_failure(e: BaseException) -> bool:
    """An error of the machine rather than of the input: any OSError or out-of-memory error once a
    run is under way (before it, ``validation.MACHINE_ERRNOS`` tell a full disk from a bad path)."""
    return isinstance(e, (OSError, MemoryError)) or isinstance(e, RuntimeError) and (
        "out of memory" in str(e) or "can't allocate memory" in str(e))


def saved_note(run: RunDir) -> str:
    """What a stopped run left to resume from, read from the folder (never assumed)."""
    try:
        steps = run.completed_checkpoint_steps()
    except OSError:
        steps = []
    how = f"`ganlab train --resume {run.path}`"
    if not steps:
        return f"no checkpoint was saved; {how} starts it again from step 0"
    return f"the checkpoint at step {max(steps)} in {run.path} is intact; continue with {how}"


# -- processes ------------------------------------------------------------------------------------------
class Comm:
    """The processes that train one run together (``torchrun`` sets WORLD_SIZE, RANK and
    LOCAL_RANK), or this one alone. Members are split in contiguous blocks; process 0 gathers what
    the others computed and is the only one that writes the run folder.

    On GPUs (``--device cuda``) the group is NCCL's: each process takes the GPU of its local rank
    (``torch.cuda.set_device(LOCAL_RANK)`` before the group starts, so ``cuda`` means that GPU for
    the networks and for the object collectives), and every tensor a collective sends lives on it
    (NCCL refuses CPU tensors). On CPU it is gloo's, with CPU tensors."""

    def __init__(self, device: str = "cpu"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = torch.device("cpu")  # where this process's collectives' tensors live
        if self.world > 1:
            import torch.distributed as dist

            cuda = device.startswith("cuda")
            if cuda:
                if device != "cuda":
                    raise ValueError(f"--device {device} names one GPU for every process; under torchrun give "
                                     "--device cuda and each process takes the GPU of its LOCAL_RANK")
                local = int(os.environ.get("LOCAL_RANK", self.rank))
                torch.cuda.set_device(local)
                self.device = torch.device("cuda", local)
            if not dist.is_initialized():
                dist.init_process_group("nccl" if cuda else "gloo")
            self.dist = dist

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> list[int]:
        """This process's block of range(n)."""
        if n < self.world:
            raise ValueError(f"{n} member(s) cannot be split over {self.world} processes")
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return list(range(start, start + base + (self.rank < extra)))

    def gather(self, obj: Any) -> list[Any] | None:
        """Every process's ``obj`` on process 0 (in rank order); None on the others."""
        if self.world == 1:
            return [obj]
        out = [None] * self.world if self.main else None
        self.dist.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: Any) -> Any:
        if self.world == 1:
            return obj
        box = [obj]
        self.dist.broadcast_object_list(box, src=0)
        return box[0]

    def any(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        t = torch.tensor([int(flag)], device=self.device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self) -> None:
        if self.world > 1:
            self.dist.barrier(**({"device_ids": [self.device.index]} if self.device.type == "cuda" else {}))

    def close(self) -> None:
        """Leave the process group: a process that exits holding it can abort in gloo's threads
        ("terminate called without an active exception", seen in CI) and fail the whole launch."""
        if self.world > 1 and self.dist.is_initialized():
            self.dist.destroy_process_group()  # no barrier: a process leaving on an error must not hang


@dataclass
class Session:
    trainer: Trainer
    run: RunDir
    comm: Comm = field(default_factory=Comm)

    @property
    def cfg(self) -> TrainConfig:
        return self.trainer.cfg

    def close(self) -> None:
        try:
            self.run.close()
        finally:
            self.comm.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def apply_threads(runtime: Runtime) -> int:
    """Set torch's CPU threads and keep glibc from returning the step's large blocks to the OS
    (``resources.tune_allocator``): the process-wide settings of a run, applied by ``start`` and
    ``resume`` whatever calls them (the CLI, a sweep, the Python API)."""
    torch.set_num_threads(runtime.threads)
    tune_allocator()
    return runtime.threads


def _columns(cfg: TrainConfig) -> list[str]:
    return BASE_COLUMNS + sorted(cfg.grid) + evaluator_keys(cfg.evaluators)


def _segment(step: int, cfg: TrainConfig, rt: Runtime, comm: Comm, command: list[str] | None) -> dict[str, Any]:
    return {"started": now(), "from_step": step, "steps": cfg.steps,
            "runtime": {**rt.to_dict(), "threads": torch.get_num_threads(), "processes": comm.world},
            "command": command if command is not None else sys.argv, "versions": versions()}


def _checked(comm: Comm, fn):
    """Run ``fn`` on process 0 and share its outcome: the others raise the same error."""
    error, value = None, None
    if comm.main:
        try:
            value = fn()
        except (ValueError, FileExistsError, RunFolderError, OSError) as e:
            error = e
    error = comm.broadcast(error)
    if error is not None:
        raise error
    return value


def start(cfg: TrainConfig, out: str, runtime: Runtime | None = None, command: list[str] | None = None) -> Session:
    """A new run in the new folder ``out``: the memory estimate and every part are checked
    before the folder is created."""
    runtime = runtime or Runtime()
    parts = assemble(cfg, runtime)  # bad input fails before the folder exists
    check_evaluators(cfg, parts.target)  # here, not in TrainConfig: saved runs that predate the check still resume
    apply_threads(runtime)
    comm = Comm(runtime.device)
    check_memory(parts, runtime, len(comm.share(cfg.n_members)))
    trainer = Trainer(cfg, runtime, members=comm.share(cfg.n_members), parts=parts)

    def create() -> RunDir:
        header = {"identity": cfg.identity(), "identity_sha256": cfg.identity_sha256(), "steps": cfg.steps,
                  "label": cfg.label, "created": now(), "segments": [_segment(0, cfg, runtime, comm, command)]}
        run = RunDir.create(out, header, _columns(cfg))
        run.write_summary({"status": "running", "step": 0, "steps": cfg.steps, "label": cfg.label})
        return run

    run = _checked(comm, create)
    return Session(trainer, run if comm.main else RunDir(out), comm)


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
    comm = Comm(runtime.device)
    opened = _checked(comm, lambda: RunDir.open(out))
    run = opened if comm.main else RunDir(out)
    try:
        cfg, header = load_config(run, steps)
        if expect is not None and expect.identity() != cfg.identity():
            diff = config_differences(cfg.identity(), expect.identity())
            raise ValueError("refusing to resume with a different configuration (saved vs given): " + "; ".join(diff))
        parts = assemble(cfg, runtime)
        check_memory(parts, runtime, len(comm.share(cfg.n_members)))
        found = _checked(comm, lambda: run.latest_checkpoint(cfg.identity_sha256()))
        path = comm.broadcast(None if found is None else str(found[1]))
        trainer = Trainer(cfg, runtime, members=comm.share(cfg.n_members), parts=parts)
        if path is not None:
            state = found[0] if comm.main else run.read_checkpoint(Path(path), cfg.identity_sha256())
            trainer.load_state_dict(state)
        if cfg.steps < trainer.step:
            raise ValueError(f"steps={cfg.steps} is below the step the run has reached ({trainer.step})")
        if comm.main:
            _check_metric_definitions(run, cfg)
            run.truncate_metrics(trainer.step)
            header["steps"] = cfg.steps
            header["segments"].append(_segment(trainer.step, cfg, runtime, comm, command))
            run.write_header(header)
    except BaseException:
        run.close()
        raise
    return Session(trainer, run, comm)


def _check_metric_definitions(run: RunDir, cfg: TrainConfig) -> None:
    """Refuse to append one metric's new definition to a series measured under its old one: the
    metrics columns this version writes must be the run's, and a summary whose ``w1`` is the
    exact W1 of all samples (before the block estimate, which always writes ``w1_se``) is not
    continued with block estimates."""
    from .rundir import SUMMARY, read_json

    try:
        theirs = run.columns()
    except (OSError, StopIteration):
        theirs = []  # no metrics yet
    mine = _columns(cfg)
    if theirs and theirs != mine:
        raise RunFolderError(f"{run.path} was started by a ganlab whose evaluators wrote other metrics columns "
                             f"({', '.join(theirs)}; this version writes {', '.join(mine)}): resume it with the "
                             "version that started it, or start a new run")
    summary_path = run.path / SUMMARY
    if "w1" in cfg.final_evaluators and summary_path.exists():
        try:
            members = read_json(summary_path, "summary").get("members") or []
        except (RunFolderError, AttributeError):
            return  # damaged: rewritten when the run finishes
        if any(isinstance(m, dict) and "w1" in m and "w1_se" not in m for m in members):
            raise RunFolderError(f"{run.path}'s w1 is the exact W1 of all samples, from a ganlab before the "
                                 "500-point block estimate: resume it with the version that started it, or "
                                 "start a new run")


class _StopRequest:
    """SIGINT/SIGTERM set a flag the loop reads between steps. A second one, DOUBLE_PRESS_S or more
    after the first, stops at once (a KeyboardInterrupt: for a step or evaluation that takes long);
    a quicker one is the same keypress twice, and one arriving while the run saves what it has
    (``defer``) waits for the saving: both end as one interruption, checkpointed."""

    DOUBLE_PRESS_S = 1.0

    def __init__(self) -> None:
        self.signum: int | None = None
        self.first_at = 0.0
        self.deferring = False
        self._old: dict[int, Any] = {}

    def _handler(self, signum, frame) -> None:
        if self.signum is None:
            self.signum, self.first_at = signum, time.monotonic()
        elif not self.deferring and time.monotonic() - self.first_at >= self.DOUBLE_PRESS_S:
            self.deferring = True  # one abort; later signals wait for the summary
            raise KeyboardInterrupt

    def defer(self) -> None:
        self.deferring = True

    def __enter__(self) -> "_StopRequest":
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


# -- the loop ---------------------------------------------------------------------------------------------
def _gathered_rows(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    parts = session.comm.gather(rows)
    return None if parts is None else sorted((r for p in parts for r in p), key=lambda r: r["member"])


def _gathered_divergences(session: Session) -> list[dict[str, Any]]:
    parts = session.comm.gather([vars(d) for d in session.trainer.divergences])
    return [] if parts is None else sorted((d for p in parts for d in p), key=lambda d: (d["step"], d["member"]))


def save_checkpoint(session: Session) -> None:
    parts = session.comm.gather(session.trainer.state_dict())
    if parts is not None:
        session.run.save_checkpoint(merge_states(parts), session.cfg.identity_sha256())


def run(session: Session, progress: bool | None = None) -> dict[str, Any]:
    """Train to cfg.steps, evaluating and checkpointing on schedule; returns the final summary
    (on process 0; the others return {}). Raises ``AllMembersDiverged`` or ``Interrupted`` after
    writing metrics, a checkpoint and the summary, ``MachineFailed`` after writing what it could.
    A Ctrl-C during the final evaluation lets it finish (the last checkpoint is saved by then); a
    second one stops it."""
    t, out, cfg, comm = session.trainer, session.run, session.cfg, session.comm
    progress = (t.rt.progress if progress is None else progress) and comm.main
    clock = PhaseClock(t.step)
    if t.step == 0 and comm.broadcast(comm.main and not out.metrics()):
        rows = _gathered_rows(session, t.evaluate())
        if comm.main:
            out.append_metrics(rows)
        clock.lap("eval")
    bar = tqdm(total=cfg.steps, initial=t.step, disable=not progress, desc=cfg.label, dynamic_ncols=True,
               file=sys.stderr, mininterval=1.0)
    reported = len(_gathered_divergences(session))
    saved_at = t.step
    with _StopRequest() as stop:
        try:
            while t.step < cfg.steps:
                clock.first_step()
                t.train_step()
                bar.update(1)
                s = t.step
                stopping = comm.any(stop.signum is not None)
                everyone_dead = False
                clock.lap("train")
                if cfg.evaluates_at(s):
                    rows = _gathered_rows(session, t.evaluate())
                    divergences = _gathered_divergences(session)
                    if comm.main:
                        out.append_metrics(rows)
                        _snapshot(session, s)
                        modes = [r["modes_captured"] for r in rows if r["alive"] and "modes_captured" in r]
                        if modes:
                            bar.set_postfix(modes=f"{statistics.fmean(modes):.2f}", alive=sum(r["alive"] for r in rows))
                        for d in divergences[reported:]:
                            tqdm.write(Divergence(**d).message(), file=sys.stderr)
                        everyone_dead = not any(r["alive"] for r in rows)
                    reported = len(divergences)
                    everyone_dead = comm.broadcast(everyone_dead)
                    clock.lap("eval")
                if stopping:
                    stop.defer()  # what follows saves the run: a second Ctrl-C must not cut it short
                if s % t.rt.checkpoint_every == 0 or stopping or everyone_dead:
                    save_checkpoint(session)
                    saved_at = s
                    clock.lap("checkpoint")
                if everyone_dead:
                    _write_summary(session, "all_diverged")
                    raise AllMembersDiverged(
                        f"every member diverged; metrics, a checkpoint and summary.json up to step {s} are in {out.path}")
                if stopping:
                    _write_summary(session, "interrupted")
                    raise Interrupted(f"interrupted at step {s} of {cfg.steps}; checkpoint saved, continue with "
                                      f"`ganlab train --resume {out.path}`")
            if saved_at != t.step or not comm.broadcast(bool(out.checkpoints()) if comm.main else None):
                save_checkpoint(session)
            clock.lap("checkpoint")
            result = finish(session)
            clock.lap("final")
            if comm.main:
                clock.write(out, t.step)
            return result
        except (AllMembersDiverged, Interrupted):
            raise
        except BaseException as e:  # a second Ctrl-C, a full disk, a bug: say so in summary.json if we can
            stop.defer()
            if comm.world > 1:  # (other processes may not reach a collective call any more)
                raise
            interrupted = isinstance(e, KeyboardInterrupt)
            try:
                extra = {} if interrupted else {"error": f"{type(e).__name__}: {e}"}
                out.write_summary({**summary(session, status="interrupted" if interrupted else "failed"), **extra})
            except Exception:
                pass
            if interrupted:
                raise Interrupted(f"interrupted again at step {t.step} of {cfg.steps}, stopped at once; "
                                  f"{saved_note(out)}") from None
            if is_machine_failure(e):
                raise MachineFailed(f"{e}; {saved_note(out)}") from e
            raise
        finally:
            bar.close()


def _snapshot(session: Session, step: int) -> None:
    """The first ``runtime.snapshots`` evaluation samples of every member, kept per evaluation."""
    k = session.trainer.rt.snapshots
    if k and session.comm.world == 1:
        session.run.write_snapshot(step, session.trainer.last_samples[:, :k])


def is_finished(session: Session) -> bool:
    """The run has reached its steps and written its final results."""
    from .rundir import SAMPLES, SUMMARY, read_json

    path = session.run.path
    if session.trainer.step < session.cfg.steps or not (path / SAMPLES).exists() or not (path / SUMMARY).exists():
        return False
    try:
        s = read_json(path / SUMMARY, "summary")
    except RunFolderError:
        return False  # damaged: finishing again rewrites it
    if not isinstance(s, dict):
        return False
    members = s.get("members")  # (a summary cut short is finished again)
    return s.get("status") == "finished" and s.get("step") == session.cfg.steps and \
        isinstance(members, list) and len(members) == session.cfg.n_members


def finish(session: Session) -> dict[str, Any]:
    """Final samples, the final evaluators and the summary (status finished), gathered on
    process 0."""
    t, comm = session.trainer, session.comm
    samples = t.final_samples()
    final = t.final_metrics(samples)
    parts = comm.gather((samples.detach().float().cpu(), final))
    merged = None
    if comm.main:
        everyone = t.cfg.members()
        session.run.write_samples(torch.cat([p[0] for p in parts]), [m.seed for m in everyone], everyone)
        merged = {k: [v for p in parts for v in p[1][k]] for k in parts[0][1]}
    return _write_summary(session, "finished", merged)


def _write_summary(session: Session, status: str, final: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """summary.json (every process must call this: it gathers)."""
    result = summary(session, status, final)
    if session.comm.main:
        session.run.write_summary(result)
    return result


# -- the summary ------------------------------------------------------------------------------------------
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


def _member_rows(t: Trainer) -> list[dict[str, Any]]:
    """This process's members: alive, and mean losses since the last evaluation."""
    alive, run = t.alive.cpu(), t.running.cpu()
    rows = []
    for i, mb in enumerate(t.members):
        count = float(run[2, i])
        rows.append({"member": t.member_index[i], "seed": mb.seed, **mb.hyper, "alive": bool(alive[i]),
                     "d_loss": float(run[0, i]) / count if count else math.nan,
                     "g_loss": float(run[1, i]) / count if count and t.trains_generator else math.nan})
    return rows


def summary(session: Session, status: str, final: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The run's state for summary.json (on process 0; every process must call it): per member its
    final metrics, aggregated over the seeds of each grid point; divergences; status."""
    t = session.trainer
    members = _gathered_rows(session, _member_rows(t))
    divergences = _gathered_divergences(session)
    if members is None:
        return {}
    for row in members:
        for k, v in (final or {}).items():
            row[k] = v[row["member"]] if row["alive"] else math.nan
    keys = list(final or {})
    groups = []
    for point in t.cfg.grid_points():
        rows = [r for r in members if all(r.get(k) == v for k, v in point.items())]
        groups.append({"hyper": point, "aggregate": _aggregate(rows, keys), "n_diverged": sum(not r["alive"] for r in rows)})
    out: dict[str, Any] = {"status": status, "label": t.cfg.label, "step": t.step, "steps": t.cfg.steps,
                           "members": members, "groups": groups, "divergences": divergences, "updated": now()}
    if len(groups) == 1:
        out["aggregate"] = groups[0]["aggregate"]
    return out
