"""How much memory a run will take, estimated from its configuration before any work, and a
clear refusal when that is more than the machine has.

The estimate adds, per member: parameters with their gradients, optimizer state and the
divergence snapshot; the activations autograd keeps for one D and one G step (times K + 1 for a
second-order unroll); a fixed training set; the random words one draw takes; the evaluation's
samples; and the dense cost matrix and plan of one W1 block per thread. It errs high; a run refused
here would have been killed by the kernel or the CUDA allocator.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from .assembly import Assembly
from .config import Runtime

SAFETY = 0.9  # refuse above this share of the memory available now
# glibc mallopt parameters (malloc.h) and the values ganlab sets: keep blocks up to 1 GiB in the
# heap and return freed memory to the OS only past 2 GiB at the top of the heap
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD, TRIM_THRESHOLD = 1 << 30, (1 << 31) - 1


class ResourceError(ValueError):
    """A run that would need more memory than the machine has."""


@dataclass(frozen=True)
class MemoryEstimate:
    parts: dict[str, int]  # bytes
    available: int  # bytes available now on the run's device
    device: str

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        parts = ", ".join(f"{k} {_gb(v)}" for k, v in sorted(self.parts.items(), key=lambda kv: -kv[1]) if v)
        return f"about {_gb(self.total)} ({parts}); {_gb(self.available)} available on {self.device}"


def _gb(b: float) -> str:
    return f"{b / 1e9:.3g} GB" if b >= 1e8 else f"{b / 1e6:.3g} MB"


def tune_allocator() -> bool:
    """On glibc, stop malloc from handing large freed blocks back to the OS and faulting them in
    again at the next step (``mallopt``; the effect of starting the process with
    ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…:glibc.malloc.trim_threshold=…``, which a
    process cannot set for itself). A batched step frees and re-allocates the same tens of MB every
    step; with glibc's defaults that cost up to 21 % of a 128-member step in page faults
    (docs/results/speed.md). Affects later allocations only; idempotent; returns whether the
    settings took effect (False off glibc)."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) & bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def available_bytes(device: str) -> int:
    """Memory available now: CUDA's free memory, or MemAvailable of /proc/meminfo (else the
    physical memory)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimate_memory(parts: Assembly, runtime: Runtime, n_members: int | None = None) -> MemoryEstimate:
    """Bytes the run of ``parts`` (``assembly.assemble``) would take with ``n_members`` members
    (default: its configuration's)."""
    cfg = parts.cfg
    n = cfg.n_members if n_members is None else n_members
    m = cfg.method
    s = 8 if runtime.dtype == "float64" else 4
    D, G = parts.D, parts.G
    rows = parts.packing.rows
    per_sample = math.prod(parts.shape)
    params = D.param_count() + (G.param_count() if G else 0)
    unroll = m.unroll + 1 if m.schedule == "unrolled" and m.unroll_order == "second" else 1
    acts = 2 * D.activation_count(m.batch_size) * unroll + (G.activation_count(rows) if G else 0)
    parts = {
        "parameters, gradients, optimizer state, snapshot": n * params * s * 6,
        "activations": n * acts * s * 3,
        "random draws": n * rows * (per_sample + cfg.noise_dim + 2) * 8 * 12,
        "evaluation samples": n * max(cfg.eval_samples, cfg.n_final_samples) * (per_sample + cfg.noise_dim) * (s + 8),
    }
    if cfg.dataset_size is not None:
        parts["fixed training sets"] = n * cfg.dataset_size * (per_sample * 8 + 8 * 5)
    if "w1" in cfg.final_evaluators or "w1" in cfg.evaluators:
        from ..metrics.wasserstein import W1_BLOCK

        block = min(W1_BLOCK, max(cfg.eval_samples, cfg.n_final_samples))
        parts["W1 blocks (dense cost and plan per thread)"] = runtime.threads * 2 * 16 * block ** 2
    return MemoryEstimate(parts, available_bytes(runtime.device), runtime.device)


def check_memory(parts: Assembly, runtime: Runtime, n_members: int | None = None) -> MemoryEstimate:
    """The estimate, or a ResourceError saying what would not fit."""
    est = estimate_memory(parts, runtime, n_members)
    if est.total > SAFETY * est.available:
        n = parts.cfg.n_members if n_members is None else n_members
        raise ResourceError(f"this run needs more memory than there is: {n} member(s) need {est.describe()}. "
                            "Use fewer seeds or grid points, smaller nets or batches, or a larger machine.")
    return est
