"""Running one shard of a sweep: each of its cells is started, resumed or skipped.

A shard checks everything before training anything (the spec, the folder, every one of its cells'
folders and memory estimates). A cell's run is an ordinary run folder, so a shard killed at any
moment and run again resumes its unfinished cell from its last checkpoint and ends bit-identical
to an uninterrupted run (``ganlab.training.runs``); finished cells are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..training import runs
from ..training.assembly import assemble
from ..training.config import Runtime
from ..training.resources import check_memory
from ..training.rundir import RunFolderError, now
from .folder import SweepFolder, SweepFolderError, make_record
from .spec import Cell, Shard, SweepSpec


@dataclass
class ShardResult:
    shard: Shard
    cells: list[str]
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def prepare(spec: SweepSpec, out: str | Path, command: list[str], config_text: str | None = None
            ) -> tuple[SweepFolder, list[Cell]]:
    """The sweep's folder (created, or checked to hold this very sweep) and its cells."""
    cells = spec.cells()
    folder = SweepFolder.create_or_open(out, make_record(spec, cells, command, config_text))
    foreign = folder.foreign_cells()
    if foreign:
        raise SweepFolderError(f"{str(folder.path / 'cells')!r} holds folders that are not cells of this sweep: "
                               f"{', '.join(foreign[:5])}; move them away")
    return folder, cells


def run_shard(spec: SweepSpec, out: str | Path, shard: Shard, runtime: Runtime, *, command: list[str],
              config_text: str | None = None, log: Callable[[str], None] = print) -> ShardResult:
    """Run this shard's cells in order. Raises ``runs.Interrupted`` on Ctrl-C/SIGTERM (after the
    current cell checkpointed); a cell that fails (e.g. its folder is in use) is reported in the
    result and the others go on."""
    folder, cells = prepare(spec, out, command, config_text)
    mine = [c for c in cells if shard.owns(c.index)]
    states = {c.id: folder.cell_status(folder.cells[c.index]) for c in mine}  # foreign cell folders fail here
    for c in mine:  # every memory estimate before any training
        if not states[c.id].done:
            check_memory(assemble(c.config, runtime), runtime)
    result = ShardResult(shard, [c.id for c in mine])
    record = folder.new_shard_record(shard, result.cells, {"runtime": runtime.to_dict(), "command": command})
    log(f"shard {shard}: {len(mine)} of {len(cells)} cells ({', '.join(result.cells) or 'none'})")
    completed = False
    try:
        for c in mine:
            _run_cell(folder, c, states[c.id], runtime, command, result, record.data["results"], log)
            record.save()
        completed = True
    finally:
        record.data.update(finished=now() if completed else None, failed=result.failed)
        try:
            record.save()
        except OSError:
            if completed:
                raise
            # else the error on its way out (a full disk, Ctrl-C) says more than this one
    return result


def _run_cell(folder: SweepFolder, cell: Cell, status, runtime: Runtime, command: list[str], result: ShardResult,
              results: dict, log: Callable[[str], None]) -> None:
    where = f"cell {cell.index} {cell.id}"
    entry = results.setdefault(cell.id, {"before": status.state, "from_step": status.step})
    if status.done:
        log(f"{where}: already {status.describe()}, skipped")
        result.skipped.append(cell.id)
        entry.update(after=status.state, seconds=0.0)
        return
    path = str(folder.cell_path(cell.id))
    try:
        if status.state == "stub":
            folder.clear_stub(cell.id)
        if status.state in ("absent", "stub"):
            session = runs.start(cell.config, path, runtime, command=command)
        else:
            session = runs.resume(path, runtime, steps=cell.config.steps, expect=cell.config, command=command)
    except (RunFolderError, SweepFolderError, OSError, ValueError) as e:
        log(f"{where}: failed: {e}")
        result.failed[cell.id] = str(e)
        entry.update(after="failed", error=str(e))
        return
    log(f"{where}: {'resuming at step ' + format(session.trainer.step, ',') if status.state in ('unfinished', 'damaged') else 'starting'}"
        f" ({cell.config.n_members} members, {cell.config.steps:,} steps)")
    t0 = time.perf_counter()
    with session.run:
        try:
            if not runs.is_finished(session):
                runs.run(session)
            result.trained.append(cell.id)
            entry["after"] = "finished"
        except runs.AllMembersDiverged as e:
            log(f"{where}: {e}")
            result.diverged.append(cell.id)
            entry["after"] = "all_diverged"
        except runs.Interrupted:
            entry["after"] = "interrupted"
            raise
        finally:
            entry.update(seconds=time.perf_counter() - t0, to_step=session.trainer.step)
    log(f"{where}: {entry['after']} in {entry['seconds']:.1f} s")
