"""The fused CPU maxout kernel against torch.max (the semantics it promises: the largest piece, the
first one on a tie, a NaN over numbers; the gradient to that piece only), bit for bit."""

import os
import shutil
import subprocess
import sys
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils import cpp_extension

from ganlab.models import maxout as mo

# what torch's cpp_extension needs (ninja comes with the test extra); without these ganlab runs
# torch.max and there is no kernel to test
HAVE_TOOLCHAIN = cpp_extension.is_ninja_available() and shutil.which(os.environ.get("CXX", "c++")) is not None


def by_torch_max(h, k):
    """Independent: torch's own max over a [..., units, k] view, values and gradient."""
    x = h.detach().clone().requires_grad_()
    y = x.unflatten(-1, (-1, k)).max(-1).values
    return y, x


def by_kernel(h, k):
    assert mo._use_kernel(h, k), "the kernel path was not taken"
    x = h.detach().clone().requires_grad_()
    return mo.maxout(x, k), x


def bits(t):
    return t.detach().view(torch.int32 if t.dtype == torch.float32 else torch.int64)


@pytest.fixture(scope="module")
def kernel():
    if os.environ.get("GANLAB_CPU_KERNELS") == "0":
        pytest.skip("GANLAB_CPU_KERNELS=0: the kernel is switched off")
    if not HAVE_TOOLCHAIN:
        pytest.skip("no C++ compiler or no ninja: maxout runs on torch.max here")
    assert mo.cpu_kernel() is not None, "a compiler and ninja are present but the kernel did not build"
    return mo.cpu_kernel()


def test_the_vector_path_is_built_where_the_cpu_has_it(kernel):
    """The AVX-512 path (float32) is compiled in exactly where torch's own dispatch found AVX-512."""
    assert kernel.has_avx512() == (torch.backends.cpu.get_cpu_capability() == "AVX512")


def test_hand_values(kernel):
    """Two units of 3 pieces and one of 3 with a NaN: maxima 3 (a tie of pieces 1 and 2: the
    first, 1, gets the gradient), −0.5 (piece 0) and NaN (piece 1, before the later NaN)."""
    nan = float("nan")
    h = torch.tensor([[1.0, 3.0, 3.0, -0.5, -2.0, -1.0, 7.0, nan, nan]])
    y, x = by_kernel(h, 3)
    assert y[0, :2].tolist() == [3.0, -0.5] and y[0, 2].isnan()
    y.backward(torch.tensor([[10.0, 20.0, 30.0]]))
    assert x.grad.tolist() == [[0.0, 10.0, 0.0, 20.0, 0.0, 0.0, 0.0, 30.0, 0.0]]


@st.composite
def pre_activations(draw):
    """Shapes [n, rows, units·k], k = 2…17 (the kernel's compiled k, its generic path, and in float32
    its AVX-512 path up to 16 with a scalar tail), entries from a small set so that ties are
    common, with ±0, ±inf and NaN in some draws."""
    k = draw(st.integers(2, 17))
    n, rows, units = draw(st.integers(1, 3)), draw(st.integers(1, 40)), draw(st.integers(1, 70))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    h = torch.randint(-3, 4, (n, rows, units * k), generator=g).to(dtype) / 2
    specials = draw(st.lists(st.sampled_from([0.0, -0.0, float("inf"), -float("inf"), float("nan")]),
                             max_size=6))
    flat = h.view(-1)
    for i, v in enumerate(specials):
        flat[torch.randint(0, flat.numel(), (), generator=g)] = v
    return h, k, seed


@settings(max_examples=100)
@given(case=pre_activations())
def test_kernel_is_torch_max_bit_for_bit(kernel, case):
    """Values (signed zeros and NaN payloads included) and the routed gradient are torch.max's."""
    h, k, seed = case
    g = torch.randn(*h.shape[:-1], h.shape[-1] // k, generator=torch.Generator().manual_seed(seed),
                    dtype=h.dtype)
    (y_ref, x_ref), (y, x) = by_torch_max(h, k), by_kernel(h, k)
    assert torch.equal(bits(y), bits(y_ref))
    y_ref.backward(g)
    y.backward(g)
    assert torch.equal(bits(x.grad), bits(x_ref.grad))


def test_gradient_penalty_through_the_kernel(kernel):
    """create_graph through the backward (WGAN-GP on a maxout critic): the penalty's gradient with
    respect to the weights equals the one through torch.max (the kernel's backward is switched
    for a differentiable scatter there)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, dtype=torch.float64, generator=gen)
    w1 = torch.randn(6, 40, dtype=torch.float64, generator=gen)
    w2 = torch.randn(8, 1, dtype=torch.float64, generator=gen)

    def penalty_grads(max_fn):
        a, b, xi = w1.clone().requires_grad_(), w2.clone().requires_grad_(), x.clone().requires_grad_()
        d = max_fn(xi @ a, 5) @ b
        (gx,) = torch.autograd.grad(d.sum(), xi, create_graph=True)
        ((gx.norm(dim=1) - 1) ** 2).mean().backward()
        return a.grad, b.grad

    ref = penalty_grads(lambda h, k: h.unflatten(-1, (-1, k)).max(-1).values)
    got = penalty_grads(mo.maxout)
    assert all(torch.equal(r, s) for r, s in zip(ref, got))
    assert ref[0].abs().sum() > 0  # the penalty reaches the first layer through the maxout


@pytest.mark.parametrize("k", [2, 5, 16, 255])
def test_threads_large_k_and_odd_layouts(kernel, k):
    """Two threads over 8,197 units (parallel blocks that start off a multiple of 16), k up to the
    uint8 limit, a transposed (non-contiguous) input, an expanded incoming gradient, no_grad and
    inference_mode, a 1-D input and an empty one: all torch.max's bits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        gen = torch.Generator().manual_seed(k)
        h = (torch.randint(-4, 5, (8197 * k, 2), generator=gen).float() / 4).t()  # [2, 8197·k], strided
        h[0, ::997] = float("nan")
        (y_ref, x_ref), (y, x) = by_torch_max(h, k), by_kernel(h, k)
        assert torch.equal(bits(y), bits(y_ref))
        y_ref.sum().backward()
        y.sum().backward()  # g is an expanded scalar: stride 0
        assert torch.equal(bits(x.grad), bits(x_ref.grad))
        for mode in (torch.no_grad, torch.inference_mode):
            with mode():
                assert torch.equal(bits(mo.maxout(h, k)), bits(y_ref))
        one_d = h[1].contiguous()
        assert torch.equal(bits(mo.maxout(one_d, k)), bits(one_d.view(-1, k).max(-1).values))
        assert mo.maxout(torch.empty(3, 0), k).shape == (3, 0)
    finally:
        torch.set_num_threads(threads)


def test_forward_mode_and_torch_func(kernel):
    """Forward-mode AD (the kernel's jvp gathers the tangent by the index) and torch.func
    transforms (which take torch.max) give torch.max's derivatives."""
    import torch.autograd.forward_ad as fwad
    from torch.func import grad, vmap

    gen = torch.Generator().manual_seed(3)
    h = torch.randint(-3, 4, (6, 40), generator=gen).double()
    t = torch.randn(6, 40, generator=gen, dtype=torch.float64)
    with fwad.dual_level():
        tangent = fwad.unpack_dual(mo.maxout(fwad.make_dual(h, t), 5)).tangent
        expected = fwad.unpack_dual(fwad.make_dual(h, t).unflatten(-1, (-1, 5)).max(-1).values).tangent
    assert torch.equal(tangent, expected)
    ref = h.clone().requires_grad_()
    ref.unflatten(-1, (-1, 5)).max(-1).values.pow(2).sum().backward()
    assert torch.equal(grad(lambda x: mo.maxout(x, 5).pow(2).sum())(h), ref.grad)
    assert torch.equal(vmap(lambda row: mo.maxout(row, 5))(h), h.unflatten(-1, (-1, 5)).max(-1).values)


def test_torch_path_where_the_kernel_does_not_apply():
    """bf16, more pieces than a uint8 index holds, fake tensors and code under torch.compile take
    torch.max."""
    assert not mo._use_kernel(torch.zeros(2, 10, dtype=torch.bfloat16), 5)
    assert not mo._use_kernel(torch.zeros(2, 512), 256)
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():  # shape propagation (export, compile): no data for the C++ to read
        assert mo.maxout(torch.empty(3, 4, 20), 5).shape == (3, 4, 4)
    h = torch.randn(3, 4, 20)
    compiled = torch.compile(lambda t: mo.maxout(t, 5), backend="eager", fullgraph=True)
    assert torch.equal(compiled(h), h.unflatten(-1, (-1, 5)).max(-1).values)


def test_a_failed_build_warns_and_falls_back(monkeypatch, tmp_path):
    """No compiler (here: a build that raises, in an empty extensions folder) — a warning naming
    the compiler's error, then torch.max; the folder holds no half-built files afterwards."""

    def broken(*args, **kwargs):
        raise RuntimeError("Error building extension: [1/2] c++ -O3 main.cpp\nmain.cpp:3: error: no compiler here")

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(cpp_extension, "load_inline", broken)
    mo.cpu_kernel.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="main.cpp:3: error: no compiler here"):
            assert mo.cpu_kernel() is None
        assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
        h = torch.randn(2, 3, 15)
        assert not mo._use_kernel(h, 5)
        assert torch.equal(mo.maxout(h, 5), h.unflatten(-1, (-1, 5)).max(-1).values)
    finally:
        mo.cpu_kernel.cache_clear()


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("GANLAB_CPU_KERNELS", "0")
    mo.cpu_kernel.cache_clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert mo.cpu_kernel() is None
    finally:
        mo.cpu_kernel.cache_clear()


def test_a_fresh_build_lands_as_one_file_and_is_reused(kernel, tmp_path):
    """In fresh processes with an empty extensions folder: the first builds (in a scratch folder)
    and leaves exactly the module file, moved into place whole; the second imports that file
    without building; both give torch.max's values."""
    script = (
        "import torch; from ganlab.models import maxout as mo\n"
        "h = torch.randn(4, 35)\n"
        "assert torch.equal(mo.maxout(h, 5), h.view(4, 7, 5).max(-1).values)\n"
        "assert mo._use_kernel(h, 5)\n")
    env = dict(os.environ, TORCH_EXTENSIONS_DIR=str(tmp_path), OMP_NUM_THREADS="1")
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:] + runs[1].stderr[-2000:]
    assert "building the fused CPU maxout kernel" in runs[0].stderr
    assert "building" not in runs[1].stderr and "warn" not in runs[1].stderr.lower()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].name.startswith("ganlab_maxout_"), files
