"""Maxout (Goodfellow et al. 2013): a unit's output is the largest of its ``pieces`` consecutive
pre-activations, y_u = max_j h[u·k + j], with torch.max's semantics — a tie goes to the first
maximal piece (which alone gets the gradient) and a NaN wins over numbers.

``torch.max`` over a last dimension of 5 finds the index with a scalar loop: on CPU it was the
largest cost of PacGAN's discriminator after the matmuls. ``maxout`` therefore runs a fused C++
kernel (``maxout.cpp``: values and a uint8 index in one pass — 16 units per AVX-512 step for
float32 where the CPU has it, a scalar loop otherwise — and a backward that zero-fills and
scatters block by block) on plain CPU float32/float64 tensors. It is built on first use with
``torch.utils.cpp_extension`` (about 30 s; needs a C++ compiler and ninja) into torch's extension
folder (``TORCH_EXTENSIONS_DIR``, else the user's cache), once per source, torch version, Python
ABI and compiler flags. Everywhere else — GPU, bf16, inside ``torch.compile`` (inductor fuses
``torch.max`` itself), under ``torch.func`` transforms, fake tensors — and when the kernel cannot
be built (a warning gives the compiler's error) or ``GANLAB_CPU_KERNELS=0`` is set, it is
``torch.max``. A backward that must itself be differentiable (create_graph: WGAN-GP, unrolling)
is a scatter by the saved index; forward-mode AD gathers the tangent by it. Both paths give the
same bits: ``tests/models/test_maxout.py``."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import platform
import shutil
import sys
import sysconfig
import tempfile
import warnings
from importlib import resources

import torch

KERNEL_DTYPES = (torch.float32, torch.float64)
MAX_KERNEL_PIECES = 255  # the index is stored as uint8
_ARCH_FLAGS = {  # what torch's own CPU dispatch found on this machine; no -march=native, so a
    # build shared by two machines through one home directory cannot hold foreign instructions
    "AVX512": ["-mavx2", "-mfma", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq"],
    "AVX2": ["-mavx2", "-mfma"],
}


def maxout_torch(h: torch.Tensor, pieces: int) -> torch.Tensor:
    """max over each unit's ``pieces`` consecutive entries of the last dimension, by torch.max."""
    return h.unflatten(-1, (-1, pieces)).max(-1).values  # backward 2–4× cheaper than amax


def maxout(h: torch.Tensor, pieces: int) -> torch.Tensor:
    """h [..., units·pieces] → [..., units]: y_u = max_j h[..., u·pieces + j] (first max wins)."""
    if _use_kernel(h, pieces):
        return _FusedMaxout.apply(h, pieces)[0]
    return maxout_torch(h, pieces)


def _use_kernel(h: torch.Tensor, pieces: int) -> bool:
    # plain CPU tensors only: not fake/meta/functorch-wrapped ones, nothing the C++ cannot read
    return (type(h) in (torch.Tensor, torch.nn.Parameter) and h.device.type == "cpu"
            and h.dtype in KERNEL_DTYPES and 2 <= pieces <= MAX_KERNEL_PIECES
            and not torch.compiler.is_compiling() and not _functorch_active()
            and cpu_kernel() is not None)


def _functorch_active() -> bool:
    active = getattr(torch._C, "_are_functorch_transforms_active", None)
    return active is None or active()


class _FusedMaxout(torch.autograd.Function):
    """(values, index) = the kernel's forward; gradients (reverse, forward, and through a
    create_graph backward) route through ``index``."""

    @staticmethod
    def forward(h: torch.Tensor, pieces: int) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(cpu_kernel().maxout_forward(h.contiguous(), pieces))

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        index = output[1]
        ctx.mark_non_differentiable(index)
        ctx.set_materialize_grads(False)  # no zero gradient made up for the index each backward
        ctx.save_for_backward(index)
        ctx.save_for_forward(index)
        ctx.pieces = inputs[1]

    @staticmethod
    def backward(ctx, g: torch.Tensor | None, _g_index):
        if g is None:
            return None, None
        (index,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: the backward must itself be differentiable
            grad = torch.zeros(*g.shape, ctx.pieces, dtype=g.dtype, device=g.device)
            return grad.scatter(-1, index.long().unsqueeze(-1), g.unsqueeze(-1)).flatten(-2), None
        return cpu_kernel().maxout_backward(g, index, ctx.pieces), None

    @staticmethod
    def jvp(ctx, h_tangent: torch.Tensor, _pieces):
        (index,) = ctx.saved_tensors
        pieces = h_tangent.unflatten(-1, (-1, ctx.pieces))
        return pieces.gather(-1, index.long().unsqueeze(-1)).squeeze(-1), None


def _build_root() -> str:
    from torch.utils import cpp_extension

    return os.environ.get("TORCH_EXTENSIONS_DIR") or cpp_extension.get_default_build_root()


def _failure(e: Exception) -> str:
    """The compiler's own error lines where there are some (torch's message starts with the whole
    command line), else the message's end."""
    text = str(e)
    errors = [line.strip() for line in text.splitlines() if "error" in line.lower()][:6]
    return " | ".join(errors) if errors else text[-600:]


@functools.cache
def cpu_kernel():
    """The compiled extension (``maxout_forward``, ``maxout_backward``, ``has_avx512``), or None
    where it is switched off (``GANLAB_CPU_KERNELS=0``) or cannot be built (warned once).

    A build is keyed by a hash of the source, torch's version, Python's ABI, the machine and the
    compiler flags, and lands as one file, ``<root>/<name>/<name><ext>``, moved into place whole
    after a build in a fresh temporary folder: a process killed mid-build leaves no lock or half
    file behind, and processes that start together each build their own copy (the last move wins;
    the copies are identical). An existing file is imported directly, without ninja."""
    if os.environ.get("GANLAB_CPU_KERNELS", "1") == "0":
        return None
    try:
        from torch.utils import cpp_extension

        source = resources.files(__package__).joinpath("maxout.cpp").read_text()
        openmp = ["-fopenmp"] if torch.backends.openmp.is_available() else []
        cflags = ["-O3", *openmp, *_ARCH_FLAGS.get(torch.backends.cpu.get_cpu_capability(), [])]
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        key = f"{source}{torch.__version__}{suffix}{platform.machine()}{os.environ.get('CXX', '')}{cflags}"
        name = f"ganlab_maxout_{hashlib.sha256(key.encode()).hexdigest()[:10]}"
        final = os.path.join(_build_root(), name, name + suffix)
        if os.path.exists(final):
            return _import_extension(name, final)
        print("ganlab: building the fused CPU maxout kernel (once per machine and torch version, "
              "about 30 s; GANLAB_CPU_KERNELS=0 skips it)", file=sys.stderr, flush=True)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="build-", dir=os.path.dirname(final))
        try:
            module = cpp_extension.load_inline(
                name, source, functions=["maxout_forward", "maxout_backward", "has_avx512"],
                build_directory=scratch, extra_cflags=cflags, extra_ldflags=openmp, verbose=False)
            built = os.path.join(scratch, name + cpp_extension.LIB_EXT)
            if os.path.exists(built):  # (absent where torch handed back a module it had loaded)
                os.replace(built, final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return module
    except Exception as e:  # no compiler, no ninja, a failed build: torch.max gives the same bits
        warnings.warn(f"ganlab: the fused CPU maxout kernel could not be built ({type(e).__name__}: "
                      f"{_failure(e)}); using torch.max (same numbers, slower)", RuntimeWarning,
                      stacklevel=2)
        return None


def _import_extension(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
