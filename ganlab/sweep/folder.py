"""The sweep folder, shared by shards that never talk to each other:

    sweep.json                the spec, every cell (id, target, label, identity SHA-256, steps,
                              budget), a fingerprint of both, versions and the creating command
    cells/<cell id>/          one ordinary run folder per cell (``ganlab.training.rundir``)
    shards/<i>-of-<n>/*.json  one record per shard process: its cells, runtime, what it did and how
                              long each cell took
    table.md/.csv/.json       written by the merge

The first shard to arrive publishes sweep.json with an atomic link (a second one finds it); every
later shard and the merge check that the spec they were given, or the folder's own cells, match
the fingerprint, so a foreign or edited folder is refused before any work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..training.config import config_differences
from ..training.rundir import CONFIG, SUMMARY, RunDir, RunFolderError, json_text, now, read_json, versions, write_json

FORMAT = "ganlab-sweep/1"
SWEEP_JSON, CELLS, SHARDS = "sweep.json", "cells", "shards"
DONE_STATES = ("finished", "all_diverged")


class SweepFolderError(RuntimeError):
    """A folder that is not this sweep's (foreign, edited, damaged, or holding foreign cells)."""


def _content(record: dict[str, Any]) -> dict[str, Any]:
    return {"format": record["format"], "spec": record["spec"], "cells": record["cells"]}


def fingerprint(record: dict[str, Any]) -> str:
    """SHA-256 of the canonical spec and cells (not of dates, versions or the command)."""
    text = json.dumps(_content(record), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def make_record(spec, cells, command: list[str], config_text: str | None = None) -> dict[str, Any]:
    record = {"format": FORMAT, "spec": spec.to_dict(), "cells": [c.record() for c in cells]}
    record = json.loads(json_text(record))  # plain JSON types, exactly as they will be read back
    record["fingerprint"] = fingerprint(record)
    record.update({"created": now(), "versions": versions(), "command": command, "config_source": spec.source,
                   "config_text": config_text})
    return record


def _unbudgeted(record: dict[str, Any]) -> dict[str, Any]:
    """The content without its budget (the spec's steps, each cell's steps and budget): two records
    equal here are one sweep at two budgets, and the folder may move from one to the other."""
    spec = {k: v for k, v in record["spec"].items() if k != "steps"}
    cells = [{k: v for k, v in c.items() if k not in ("steps", "budget")} for c in record["cells"]]
    return {"format": record["format"], "spec": spec, "cells": cells}


def _keyed(record: dict[str, Any]) -> dict[str, Any]:
    """The content with lists keyed by id, so that differences read as names, not list dumps."""
    spec = dict(record["spec"])
    spec["variants"] = {str(v["index"] + 1): v for v in spec.get("variants", [])}
    return {"spec": spec, "cells": {c["id"]: c for c in record["cells"]}}


def _checkpointed_step(path: Path) -> int:
    """The step of a run folder's newest completed checkpoint, 0 without one."""
    return max(RunDir(path).completed_checkpoint_steps(), default=0)


@dataclass(frozen=True)
class CellStatus:
    state: str  # absent | stub | unfinished | damaged | finished | all_diverged
    step: int | None = None
    steps: int | None = None
    why: str = ""  # (damaged) what is wrong with its summary.json

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    def describe(self) -> str:
        if self.state == "absent":
            return "never started"
        if self.state == "stub":
            return "started but killed before its first file was written"
        if self.state == "unfinished":
            return f"unfinished at step {self.step:,} of {self.steps:,}"
        if self.state == "damaged":
            return f"summary.json is damaged ({self.why}); rerun its shard to rewrite it"
        return self.state.replace("_", " ")


def summary_problem(summary: Any, cell: dict[str, Any]) -> str:
    """What is wrong with a cell's summary.json as the merge reads it ("" when nothing): a finished
    or all-diverged summary must hold every member and one group per grid point, each with its
    aggregate of numbers, else its row would be silently missing or wrong."""
    if not isinstance(summary, dict):
        return f"a JSON {type(summary).__name__}, not an object"
    step = summary.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int):
        return f"step is {step!r}"
    if summary.get("status") not in DONE_STATES:
        return ""  # running, interrupted or failed: its checkpoints say where it stands
    members, groups = summary.get("members"), summary.get("groups")
    if not isinstance(members, list) or len(members) != cell["n_members"] or \
            not all(isinstance(m, dict) for m in members):
        got = len(members) if isinstance(members, list) else members
        return f"{summary['status']} with members {got!r}, expected {cell['n_members']}"
    points = 1
    for values in cell.get("grid", {}).values():
        points *= len(values)
    if not isinstance(groups, list) or len(groups) != points:
        got = len(groups) if isinstance(groups, list) else groups
        return f"{summary['status']} with groups {got!r}, expected {points} (one per grid point)"
    for g in groups:
        agg = g.get("aggregate") if isinstance(g, dict) else None
        if not isinstance(agg, dict) or not isinstance(g.get("hyper", {}), dict) or not all(
                isinstance(a, dict) and isinstance(a.get("n"), int) and isinstance(a.get("mean", 0), (int, float, type(None)))
                for a in agg.values()):
            return f"a group without a well-formed aggregate: {str(g)[:80]}"
    return ""


class SweepFolder:
    def __init__(self, path: Path, record: dict[str, Any]):
        self.path, self.record = path, record

    # -- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike) -> "SweepFolder":
        """An existing sweep folder whose sweep.json is intact (not edited since it was written)."""
        p = Path(path)
        if not p.is_dir():
            raise SweepFolderError(f"{str(p)!r} is not a folder")
        if not (p / SWEEP_JSON).is_file():
            what = "a run folder (ganlab train), not a sweep folder" if (p / CONFIG).is_file() else \
                "not a sweep folder (no sweep.json)"
            raise SweepFolderError(f"{str(p)!r} is {what}")
        try:
            record = read_json(p / SWEEP_JSON, "sweep record")
        except RunFolderError as e:
            raise SweepFolderError(str(e)) from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise SweepFolderError(f"{str(p / SWEEP_JSON)!r} is not a ganlab sweep record (format "
                                   f"{record.get('format') if isinstance(record, dict) else None!r}, expected {FORMAT!r})")
        try:
            edited = fingerprint(record) != record.get("fingerprint")
        except (KeyError, TypeError, ValueError):
            edited = True
        if edited:
            raise SweepFolderError(f"{str(p / SWEEP_JSON)!r} was edited after the sweep was created (its "
                                   "fingerprint no longer matches its spec and cells); restore it, or start a new "
                                   "sweep folder")
        return cls(p, record)

    @classmethod
    def create_or_open(cls, path: str | os.PathLike, record: dict[str, Any]) -> "SweepFolder":
        """This sweep's folder: created (sweep.json published atomically) if absent or empty,
        else opened and checked to hold the same sweep; anything else is refused."""
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise SweepFolderError(f"--out {str(p)!r}: a file is in the way")
        if not (p / SWEEP_JSON).exists():
            others = [x.name for x in p.iterdir() if not _is_temp(x.name)] if p.exists() else []
            if others and not (p / SWEEP_JSON).exists():  # (another shard may have published it meanwhile)
                raise SweepFolderError(f"--out {str(p)!r} exists and is not a sweep folder (no {SWEEP_JSON}; it holds "
                                       f"{', '.join(sorted(others)[:3])}{' ...' if len(others) > 3 else ''}); "
                                       "refusing to write into it: choose another --out")
            _publish(p, record)
        folder = cls.open(p)
        if folder.record["fingerprint"] != record["fingerprint"] and _unbudgeted(folder.record) == _unbudgeted(record):
            folder._rebudget(record)
        if folder.record["fingerprint"] != record["fingerprint"]:
            diff = config_differences(_keyed(folder.record), _keyed(record))
            shown = "; ".join(diff[:8]) + (f"; and {len(diff) - 8} more" if len(diff) > 8 else "")
            raise SweepFolderError(f"{str(p)!r} holds another sweep (stored vs given: {shown}); a sweep folder "
                                   "runs one spec: use another --out for a changed spec")
        return folder

    def _rebudget(self, record: dict[str, Any]) -> None:
        """Move the sweep to the budget of ``record`` (steps raised to extend it, or set to stop it
        early), keeping what every cell trained: a cell past the new budget is refused, since reaching
        it would discard training. sweep.json keeps the earlier budgets in ``budgets``."""
        new = record["spec"]["steps"]
        lock = os.open(self.path / ".sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # shards changing the budget at once: one at a time
            current = SweepFolder.open(self.path).record
            if current["fingerprint"] == record["fingerprint"]:
                self.record = current
                return
            steps = {c["id"]: c["steps"] for c in record["cells"]}
            for cell in current["cells"]:
                reached = self.cell_status(cell).step or 0
                if reached > steps[cell["id"]]:
                    raise SweepFolderError(
                        f"cell {cell['id']!r} has reached step {reached:,}: a budget of {steps[cell['id']]:,} steps "
                        f"would discard its training; give steps >= {reached:,} (the budget of {str(self.path)!r} "
                        f"is {cell['steps']:,} steps for this cell)")
            history = list(current.get("budgets") or [{"steps": current["spec"]["steps"], "at": current.get("created"),
                                                       "command": current.get("command")}])
            history.append({"steps": new, "at": now(), "command": record.get("command")})
            updated = {**current, "spec": record["spec"], "cells": record["cells"], "budgets": history}
            updated["fingerprint"] = fingerprint(updated)
            write_json(self.path / SWEEP_JSON, updated)
            self.record = updated
        finally:
            os.close(lock)

    # -- cells -----------------------------------------------------------------------------------------
    @property
    def cells(self) -> list[dict[str, Any]]:
        return self.record["cells"]

    def cell_path(self, cell_id: str) -> Path:
        return self.path / CELLS / cell_id

    def cell_status(self, cell: dict[str, Any]) -> CellStatus:
        """Where a cell stands, after checking that its folder holds this cell's run."""
        path = self.cell_path(cell["id"])
        if not path.exists():
            return CellStatus("absent", 0, cell["steps"])
        if not (path / CONFIG).is_file():
            if _is_stub(path):
                return CellStatus("stub", 0, cell["steps"])
            raise SweepFolderError(f"{str(path)!r} is neither a run folder nor empty; it is not this sweep's cell "
                                   f"{cell['id']!r}: move it away")
        header = self._read(path / CONFIG, "configuration")
        if not isinstance(header, dict):
            raise SweepFolderError(f"{str(path / CONFIG)!r} is damaged (a JSON {type(header).__name__}, not an "
                                   f"object); it is not this sweep's cell {cell['id']!r}: move it away")
        if header.get("identity_sha256") != cell["identity_sha256"]:
            raise SweepFolderError(f"{str(path)!r} holds a run of another configuration (identity "
                                   f"{str(header.get('identity_sha256'))[:12]}…, this sweep's cell "
                                   f"{cell['identity_sha256'][:12]}…): it is not this sweep's cell; move it away")
        if not (path / SUMMARY).is_file():
            return CellStatus("unfinished", _checkpointed_step(path), cell["steps"])
        try:
            summary = read_json(path / SUMMARY, "summary")
        except RunFolderError:
            return CellStatus("damaged", _checkpointed_step(path), cell["steps"], "not valid JSON")
        why = summary_problem(summary, cell)
        if why:
            return CellStatus("damaged", _checkpointed_step(path), cell["steps"], why)
        state = summary.get("status")
        step = summary.get("step", 0)
        if state == "finished" and step == cell["steps"]:
            return CellStatus("finished", step, cell["steps"])
        if state == "all_diverged":
            return CellStatus("all_diverged", step, cell["steps"])
        # a running or killed cell's summary still says where it started: its checkpoints say more
        return CellStatus("unfinished", max(step, _checkpointed_step(path)), cell["steps"])

    def summary(self, cell: dict[str, Any]) -> dict[str, Any]:
        return self._read(self.cell_path(cell["id"]) / SUMMARY, "summary")

    def foreign_cells(self) -> list[str]:
        """Entries of cells/ that are not cells of this sweep."""
        ids = {c["id"] for c in self.cells}
        root = self.path / CELLS
        return sorted(x.name for x in root.iterdir() if x.name not in ids) if root.is_dir() else []

    def clear_stub(self, cell_id: str) -> None:
        """Remove a cell folder left by a kill inside ``RunDir.create`` (an empty checkpoints/ and
        a lock file, nothing else), holding its lock so that a live creator is never disturbed."""
        path = self.cell_path(cell_id)
        fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepFolderError(f"{str(path)!r} is being created by another process") from None
            if not _is_stub(path):
                raise SweepFolderError(f"{str(path)!r} changed while it was being cleared")
            shutil.rmtree(path / "checkpoints", ignore_errors=True)
            (path / ".lock").unlink()
        finally:
            os.close(fd)

    @staticmethod
    def _read(path: Path, what: str) -> dict[str, Any]:
        try:
            return read_json(path, what)
        except RunFolderError as e:
            raise SweepFolderError(str(e)) from None

    # -- shard records ----------------------------------------------------------------------------------
    def new_shard_record(self, shard, cells: list[str], info: dict[str, Any]) -> "ShardLog":
        folder = self.path / SHARDS / f"{shard.i}-of-{shard.n}"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = now().replace(":", "")
        path = folder / f"{stamp}-{os.getpid()}.json"
        log = ShardLog(path, {"shard": str(shard), "i": shard.i, "n": shard.n, "cells": cells, "pid": os.getpid(),
                              "host": os.uname().nodename, "started": now(), "finished": None, **info,
                              "results": {}})
        log.save()
        return log

    def shard_records(self) -> list[dict[str, Any]]:
        out = []
        for f in sorted((self.path / SHARDS).glob("*/*.json")):
            try:
                out.append(json.loads(f.read_text()))
            except (OSError, json.JSONDecodeError):
                continue  # a record cut off by a kill tells nothing the cells do not
        return sorted(out, key=lambda r: r.get("started", ""))


class ShardLog:
    """One shard process's record, rewritten (atomically) after each cell."""

    def __init__(self, path: Path, data: dict[str, Any]):
        self.path, self.data = path, data

    def save(self) -> None:
        self.data["updated"] = now()
        write_json(self.path, self.data)


def _is_temp(name: str) -> bool:
    return name.startswith(SWEEP_JSON + ".") and name.endswith(".tmp")


def _is_stub(path: Path) -> bool:
    names = {x.name for x in path.iterdir()}
    ckpt = path / "checkpoints"
    return names <= {"checkpoints", ".lock"} and (not ckpt.exists() or (ckpt.is_dir() and not any(ckpt.iterdir())))


def _publish(p: Path, record: dict[str, Any]) -> None:
    """Write sweep.json unless another shard got there first (os.link fails on an existing name)."""
    try:
        p.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise SweepFolderError(f"cannot create --out {str(p)!r}: a file is in the way") from None
    tmp = p / f"{SWEEP_JSON}.{os.getpid()}.tmp"
    write_json(tmp, record)
    try:
        os.link(tmp, p / SWEEP_JSON)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
