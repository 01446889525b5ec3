"""A run's folder: configuration and versions, metrics, checkpoints, final samples.

Nothing in it is overwritten behind the user's back: a new run refuses an existing non-empty
folder, and files are written atomically (temporary file, then rename), so a run killed mid-write
leaves the previous version intact.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import TrainConfig

CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
KEEP_CHECKPOINTS = 2


def versions() -> dict[str, str]:
    """Versions of Python, the platform and every library a result depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("ganlab", "torch", "numpy", "scipy", "pot", "matplotlib", "tqdm"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    out["torch_threads"] = str(torch.get_num_threads())
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _finite_or_none(obj: Any) -> Any:
    """NaN and ±inf become null: JSON has no such numbers (strict parsers refuse them)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_finite_or_none(obj), indent=2, sort_keys=True, default=float, allow_nan=False)
    _atomic_write(path, (text + "\n").encode())


class RunDir:
    """The output folder of one run."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # -- creation and resumption -------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, cfg: TrainConfig, command: list[str] | None = None) -> "RunDir":
        p = Path(path)
        if p.exists() and (not p.is_dir() or any(p.iterdir())):
            raise FileExistsError(
                f"output folder {str(p)!r} already exists and is not empty; choose another --out, "
                f"or continue it with --resume {p}"
            )
        (p / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        run = cls(p)
        write_json(p / CONFIG, {
            "config": cfg.to_dict(),
            "versions": versions(),
            "command": command if command is not None else sys.argv,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        return run

    def load_config(self) -> TrainConfig:
        f = self.path / CONFIG
        if not f.is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a ganlab run folder (no {CONFIG})")
        return TrainConfig.from_dict(json.loads(f.read_text())["config"])

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        return sorted((self.path / CHECKPOINTS).glob("step_*.pt"))

    def save_checkpoint(self, state: dict[str, Any]) -> Path:
        f = self.path / CHECKPOINTS / f"step_{state['step']:09d}.pt"
        buf = io.BytesIO()
        torch.save(state, buf)
        _atomic_write(f, buf.getvalue())
        for old in self.checkpoints()[:-KEEP_CHECKPOINTS]:
            old.unlink()
        return f

    def latest_checkpoint(self) -> dict[str, Any] | None:
        ckpts = self.checkpoints()
        return torch.load(ckpts[-1], weights_only=True) if ckpts else None

    # -- results -----------------------------------------------------------------------------
    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        """metrics.json and metrics.csv, both rewritten whole from the run's history."""
        write_json(self.path / "metrics.json", rows)
        cols: list[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        _atomic_write(self.path / "metrics.csv", buf.getvalue().encode())

    def write_samples(self, samples: torch.Tensor, seeds: list[int], members: list | None = None) -> None:
        """samples [N, n, d], the seed of each member and, for a grid, each member's values."""
        grid = {}
        for m in members or []:
            for k, v in m.hyper.items():
                grid.setdefault(k, []).append(v)
        buf = io.BytesIO()
        np.savez(buf, samples=samples.numpy(), seeds=np.asarray(seeds), **{k: np.asarray(v) for k, v in grid.items()})
        _atomic_write(self.path / "samples.npz", buf.getvalue())

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / "summary.json", summary)
