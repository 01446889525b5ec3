"""A run's folder: its identity and history, metrics, checkpoints, final samples and summary.

    config.json        identity (canonical, with its SHA-256), steps, label, versions, and one
                       segment per process that trained it (runtime, command, versions, from_step)
    metrics.jsonl/.csv one row per member per evaluation, appended
    summary.json       how the run ended (running, finished, interrupted, all_diverged, failed),
                       final metrics per member and per grid point, divergences
    samples.npz        final samples of every member
    snapshots/         step_<step>.npz: a few samples per member at each evaluation (--snapshots K)
    checkpoints/       step_<step>.pt (torch.save, loadable with weights_only=True) and
                       step_<step>.sha256 (its checksum and the identity it trained); the last two kept
    .lock              held (flock) by the one process training the run

Nothing a user ran is lost or silently overwritten: a new run refuses a non-empty folder; every
file is written to a temporary name, fsynced, renamed over the old one, and the folder fsynced,
so a kill at any moment leaves the previous version whole; a damaged checkpoint is detected by
its checksum and the previous one is used, with a warning naming the damaged file.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import math
import os
import platform
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

CONFIG, SUMMARY, SAMPLES = "config.json", "summary.json", "samples.npz"
METRICS_JSONL, METRICS_CSV = "metrics.jsonl", "metrics.csv"
CHECKPOINTS, LOCK, SNAPSHOTS = "checkpoints", ".lock", "snapshots"
KEEP_CHECKPOINTS = 2


class RunFolderError(RuntimeError):
    """A run folder that cannot be used (in use, not a run, damaged beyond fallback)."""


class DamagedCheckpointWarning(UserWarning):
    """A checkpoint failed its checksum or could not be read; an older one is used."""


def versions() -> dict[str, str]:
    """Versions of Python, the platform and every library a result depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("ganlab", "torch", "numpy", "scipy", "pot", "matplotlib", "tqdm"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# -- durable writes ---------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, fsync it, rename it over ``path`` and fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a file size limit, Ctrl-C: no half-written .tmp left behind
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _finite_or_none(obj: Any) -> Any:
    """NaN and ±inf become null: JSON has no such numbers (strict parsers refuse them)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


def json_text(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(_finite_or_none(obj), indent=indent, sort_keys=True, default=float, allow_nan=False)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json_text(obj) + "\n").encode())


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFolderError(f"{what} {str(path)!r} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{what} {str(path)!r} is damaged (not valid JSON: {e})") from None


class RunDir:
    """The output folder of one run, locked for as long as this object is open."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock_fd: int | None = None
        self._columns: list[str] | None = None

    # -- creation, opening, locking ---------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, header: dict[str, Any], columns: list[str]) -> "RunDir":
        """A new run folder (which must not exist, or be empty) with config.json = ``header`` and
        the metrics files' columns. It is built under a hidden temporary name beside it and renamed
        into place, so a kill during creation never leaves a half-made folder at ``path``."""
        p = Path(path)
        if p.exists() and (not p.is_dir() or any(p.iterdir())):
            raise FileExistsError(f"output folder {str(p)!r} already exists and is not empty; choose another "
                                  f"--out, or continue it with --resume {p}")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.parent / f".{p.name}.creating-{os.getpid()}"
            (tmp / CHECKPOINTS).mkdir(parents=True)
        except (FileExistsError, NotADirectoryError):
            raise FileExistsError(f"cannot create output folder {str(p)!r}: a file is in the way") from None
        run = cls(tmp)
        run.lock()
        write_json(tmp / CONFIG, header)
        run._columns = columns
        atomic_write(tmp / METRICS_CSV, (",".join(columns) + "\n").encode())
        atomic_write(tmp / METRICS_JSONL, b"")
        os.rename(tmp, p)  # onto a missing or empty folder
        _fsync_dir(p.parent)
        run.path = p
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        p = Path(path)
        if not (p / CONFIG).is_file():
            raise RunFolderError(f"{str(p)!r} is not a ganlab run folder (no {CONFIG})")
        run = cls(p)
        run.lock()
        return run

    def lock(self) -> None:
        """Take the folder's lock, or fail naming the process that holds it."""
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError(f"run folder {str(self.path)!r} is in use by another ganlab process "
                                 f"(pid {holder}); wait for it to finish or stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- config.json -------------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        return read_json(self.path / CONFIG, "configuration")

    def write_header(self, header: dict[str, Any]) -> None:
        write_json(self.path / CONFIG, header)

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        return sorted((self.path / CHECKPOINTS).glob("step_*.pt"))

    def completed_checkpoint_steps(self) -> list[int]:
        """Steps of the checkpoints whose .sha256 record exists (written after the .pt: a checkpoint
        being written has none), without reading them; needs no lock."""
        return [int(f.stem[len("step_"):]) for f in self.checkpoints() if f.with_suffix(".sha256").is_file()]

    def save_checkpoint(self, state: dict[str, Any], identity_sha256: str) -> Path:
        """step_<step>.pt, then its .sha256 record (checksum, identity), then prune to the last two."""
        buf = io.BytesIO()
        torch.save(state, buf)
        data = buf.getvalue()
        f = self.path / CHECKPOINTS / f"step_{state['step']:010d}.pt"
        atomic_write(f, data)
        record = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "step": state["step"],
                  "identity_sha256": identity_sha256}
        write_json(f.with_suffix(".sha256"), record)
        for old in self.checkpoints()[:-KEEP_CHECKPOINTS]:
            old.with_suffix(".sha256").unlink(missing_ok=True)
            old.unlink(missing_ok=True)
        return f

    def read_checkpoint(self, f: Path, identity_sha256: str) -> dict[str, Any]:
        """The checkpoint's state, or a ValueError saying what is wrong with it."""
        try:
            record = json.loads(f.with_suffix(".sha256").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"its checksum record is missing or unreadable ({e})") from None
        data = f.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != record.get("sha256"):
            raise ValueError(f"checksum mismatch ({len(data)} bytes, expected {record.get('bytes')})")
        if record.get("identity_sha256") != identity_sha256:
            raise ValueError("it was trained under another configuration identity")
        return torch.load(io.BytesIO(data), weights_only=True)

    def latest_checkpoint(self, identity_sha256: str) -> tuple[dict[str, Any], Path] | None:
        """The newest intact checkpoint of this identity; damaged ones are skipped with a warning.
        None when the run has none; RunFolderError when it has some and none is intact."""
        found = self.checkpoints()
        problems = []
        for f in reversed(found):
            try:
                state = self.read_checkpoint(f, identity_sha256)
            except (ValueError, RuntimeError, EOFError, OSError, KeyError) as e:
                problems.append(f"{f}: {e}")
                warnings.warn(f"checkpoint {str(f)!r} is damaged ({e}); falling back to the previous one",
                              DamagedCheckpointWarning, stacklevel=2)
                continue
            return state, f
        if found:
            raise RunFolderError("no intact checkpoint in " + str(self.path) + ": " + "; ".join(problems))
        return None

    # -- metrics -----------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        if self._columns is None:
            with open(self.path / METRICS_CSV, newline="") as f:
                self._columns = next(csv.reader(f))
        return self._columns

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Append rows to metrics.jsonl and metrics.csv and fsync both."""
        lines = "".join(json_text(r, indent=None) + "\n" for r in rows)
        buf = io.StringIO()
        csv.DictWriter(buf, fieldnames=self.columns(), lineterminator="\n", extrasaction="ignore").writerows(
            [{k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in rows])
        for name, text in ((METRICS_JSONL, lines), (METRICS_CSV, buf.getvalue())):
            with open(self.path / name, "a") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())

    def metrics(self) -> list[dict[str, Any]]:
        """Every metrics row (a line cut off by a kill mid-write is skipped)."""
        rows = []
        path = self.path / METRICS_JSONL
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Keep only rows up to ``step`` (a resumed run re-evaluates what came after its checkpoint)."""
        rows = [r for r in self.metrics() if r["step"] <= step]
        atomic_write(self.path / METRICS_JSONL, "".join(json_text(r, indent=None) + "\n" for r in rows).encode())
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns(), lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows([{k: ("" if v is None else v) for k, v in r.items()} for r in rows])
        atomic_write(self.path / METRICS_CSV, buf.getvalue().encode())

    # -- results -----------------------------------------------------------------------------------
    def write_samples(self, samples: torch.Tensor, seeds: list[int], members: list) -> None:
        """samples [N, n, ...], the seed of each member and, for a grid, each member's values."""
        grid: dict[str, list[float]] = {}
        for m in members:
            for k, v in m.hyper.items():
                grid.setdefault(k, []).append(v)
        buf = io.BytesIO()
        np.savez(buf, samples=samples.detach().float().cpu().numpy(), seeds=np.asarray(seeds),
                 **{k: np.asarray(v) for k, v in grid.items()})
        atomic_write(self.path / SAMPLES, buf.getvalue())

    def write_snapshot(self, step: int, samples: torch.Tensor) -> None:
        """snapshots/step_<step>.npz: a few samples of every member at an evaluation."""
        folder = self.path / SNAPSHOTS
        folder.mkdir(exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, samples=samples.detach().float().cpu().numpy(), step=np.asarray(step))
        atomic_write(folder / f"step_{step:010d}.npz", buf.getvalue())

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / SUMMARY, summary)
