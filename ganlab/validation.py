"""Checks on user input that fail early with a message naming the bad value."""

from __future__ import annotations

import errno

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as float if it is finite and > 0, else raise ValueError naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def check_nonnegative(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return v


def check_int(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_probability(name: str, value: float, *, open_left: bool = False) -> float:
    v = float(value)
    if not (0.0 < v <= 1.0 if open_left else 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must lie in {'(0, 1]' if open_left else '[0, 1]'}, got {value!r}")
    return v


def check_weights(name: str, weights: Any, size: int | None = None, atol: float = 1e-6) -> torch.Tensor:
    """Mixture weights: a 1-D vector of non-negative finite numbers summing to 1."""
    w = torch.as_tensor(weights, dtype=torch.float64).flatten()
    if w.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if size is not None and w.numel() != size:
        raise ValueError(f"{name} has {w.numel()} entries, expected {size}: {w.tolist()}")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{name} must be non-negative and finite, got {w.tolist()}")
    total = float(w.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1, got sum {total:.8g} for {w.tolist()}")
    return w / w.sum()


def check_cloud(name: str, x: Any, dim: int | None = None) -> torch.Tensor:
    """A sample cloud: shape [n, d] (1-D input is read as [n, 1]), n >= 1, all finite."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ValueError(f"{name} must have shape [n, d], got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    bad = ~torch.isfinite(t)
    if bad.any():
        row = int(bad.any(dim=1).nonzero()[0])
        raise ValueError(
            f"{name} holds {int(bad.sum())} non-finite value(s) (NaN or inf), first in row {row}: "
            f"{t[row].tolist()}"
        )
    if dim is not None and t.shape[1] != dim:
        raise ValueError(f"{name} has dimension {t.shape[1]}, expected {dim}")
    return t


def check_same_dim(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"dimension mismatch: {name_a} has dimension {a.shape[-1]}, {name_b} has {b.shape[-1]}"
        )


def check_choice(kind: str, name: str, known: Mapping[str, Any] | Iterable[str]) -> str:
    """Raise a ValueError listing the known names when ``name`` is not one of them."""
    names = sorted(known)
    if name not in names:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(names)}")
    return name


# -- output paths: checked before any work, so that a run never ends by failing to save ---------------------
# errors of the machine (a full disk or quota, a file-size limit, an I/O error, no memory) as
# opposed to a path the user got wrong: the CLI gives them their own exit code
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.ENOMEM})


def _probe_folder(folder: "os.PathLike[str] | str", what: str) -> None:
    """Create and remove a file in ``folder``: permissions, a read-only or pseudo file system (/proc)
    and root's exemptions all answer as they will when the real file is written."""
    import os
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".ganlab-probe-")
    except OSError as e:
        if e.errno in MACHINE_ERRNOS:
            raise  # a full disk is the machine's failure, not the user's bad path
        raise ValueError(f"{what}: cannot write in folder {str(folder)!r} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(name)


def check_output_file(path: str, what: str, *, force: bool = False) -> None:
    """An output file ``path`` that can be written: its folder exists and takes a new file, the path
    is not a folder, and an existing file is overwritten only with ``force``."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{what} {path}: is a directory")
    if not p.parent.is_dir():
        state = "is not a folder" if p.parent.exists() else "does not exist"
        raise ValueError(f"{what} {path}: folder {str(p.parent)!r} {state}")
    if p.exists() and not force:
        raise ValueError(f"{what} {path} exists; pass --force to overwrite it")
    _probe_folder(p.parent, f"{what} {path}")


def check_output_folder(path: str, what: str) -> None:
    """An output folder ``path`` that exists and takes files, or that can be created: no file is in
    the way and its nearest existing ancestor takes files. Nothing is created."""
    from pathlib import Path

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{what} {path}: a file is in the way")
    existing = p
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what} {path}: {str(existing)!r} is a file, not a folder")
    _probe_folder(existing, f"{what} {path}")
