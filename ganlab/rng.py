"""Random numbers for batched runs: counter-based streams, one per (member seed, purpose).

Every random number a run uses is a pure function of (seed, purpose, step, sub-draw, index): the
Philox4x32-10 block cipher of Salmon et al. (2011, "Parallel random numbers: as easy as 1, 2, 3")
applied to the counter (index block, sub-draw, step, purpose) under the 64-bit key ``seed``.
So member i's numbers never depend on how many members share its run, on the grid, or on what
else was drawn before (a λ = 0 member that draws no gradient-penalty α follows the same data and
noise as one that does), and a run resumes from a step number alone: there is no generator state.

The cipher runs as elementwise int64 tensor ops on the run's device, for all members in one call
(no Python loop over members, no host round trip): ``_mulhilo`` takes a round's 32 × 32 → 64-bit
product from one int64 multiplication, which wraps modulo 2⁶⁴, and eagerly on a CPU a large draw
is computed in cache-sized chunks of blocks (``philox_words``); ``Streams(compiled=True)`` fuses
the rounds into one kernel instead. The words are the same on every path. Normals are Box–Muller
of the words, always eager (so compiled normals are the eager ones too), in float64 for float64
draws and in float32 otherwise (``box_muller``: the float32 values differ from the float64 ones
rounded by a few ulps; every member of a run takes the same path, so a member's numbers still do
not depend on N). ``tests/test_rng.py`` checks the Random123 known-answer vectors, the transforms
against independent numpy formulas and the output's statistics.

Use:
    streams = Streams(seeds=[3, 5, 7], device="cpu")
    z = streams.normal("noise", step=10, sub=0, shape=(256, 2), dtype=torch.float32)   # [3, 256, 2]
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Sequence

import torch

from .validation import check_int

MASK32 = 0xFFFFFFFF
# Philox4x32 multipliers and Weyl key increments (Random123, philox.h)
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
MAX_SEED = (1 << 63) - 1  # seeds are held in int64
MAX_STEP = MASK32  # the step is one 32-bit counter word
# elements (blocks × members) per eager CPU chunk of ``philox_words``: the round's few live int64
# temporaries of 512 KiB stay in a core's L2 (fastest of 2¹⁴–2¹⁸ in a 2 MiB-L2 measurement)
CHUNK = 1 << 16

Words = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _mulhilo(m: int, x: torch.Tensor | int) -> tuple[torch.Tensor | int, torch.Tensor | int]:
    """(hi, lo) 32-bit words of the 64-bit product m·x, for m a 32-bit constant and x a tensor of
    32-bit words held in int64 (or a Python int, multiplied exactly).

    One multiply: the product is < 2⁶⁴, and torch's int64 multiplication wraps modulo 2⁶⁴ (two's
    complement, on CPU and CUDA, eager and compiled), so p = m·x holds its 64 bits exactly, as a
    negative number when the product is ≥ 2⁶³. Then lo = p & (2³² − 1), and hi = (p >> 32) &
    (2³² − 1): the shift is arithmetic (it copies the sign bit into the top 32 bits), the mask
    drops those copies. Four elementwise ops, two fresh tensors (``tests/test_rng.py`` checks
    them against Python integers on edge and random words)."""
    if not isinstance(x, torch.Tensor):
        p = m * x
        return p >> 32, p & MASK32
    p = x * m
    lo = p & MASK32
    return p.bitwise_right_shift_(32).bitwise_and_(MASK32), lo


def _xor3(h: torch.Tensor | int, a: torch.Tensor | int, b: torch.Tensor | int) -> torch.Tensor | int:
    """h ⊕ a ⊕ b, in place in h (a fresh tensor of _mulhilo) when h already has the broadcast
    shape."""
    if isinstance(h, torch.Tensor) and all(_covers(h.shape, t.shape) for t in (a, b) if isinstance(t, torch.Tensor)):
        return h.bitwise_xor_(a).bitwise_xor_(b)
    return h ^ a ^ b


def _covers(shape: torch.Size, other: torch.Size) -> bool:
    """Whether ``other`` broadcasts to ``shape`` unchanged (written out: ``torch.broadcast_shapes``
    imports torch's symbolic-shapes machinery, about 0.5 s of a run's start-up)."""
    return len(other) <= len(shape) and all(o in (1, s) for o, s in zip(reversed(other), reversed(shape)))


def _key_schedule(k: torch.Tensor | int, weyl: int, rounds: int) -> list:
    """The round keys (k + r·weyl) mod 2³², r = 0 … rounds − 1 (one op for a tensor key)."""
    if not isinstance(k, torch.Tensor):
        return [(k + r * weyl) & MASK32 for r in range(rounds)]
    r = torch.arange(rounds, dtype=torch.int64, device=k.device)
    ks = (k[..., None] + r * weyl) & MASK32
    return list(ks.unbind(dim=-1))


def philox4x32(counter: Words, key: tuple[torch.Tensor | int, torch.Tensor | int], rounds: int = ROUNDS) -> Words:
    """Philox4x32-R: four 32-bit counter words and two 32-bit key words (int64 tensors or ints,
    broadcast together) → four 32-bit output words. Round: (c0, c1, c2, c3) ←
    (hi(M1·c2) ⊕ c1 ⊕ k0, lo(M1·c2), hi(M0·c0) ⊕ c3 ⊕ k1, lo(M0·c0)); the key gains (W0, W1)
    before every round but the first. The inputs are never modified."""
    c0, c1, c2, c3 = counter
    ks0, ks1 = _key_schedule(key[0], _W0, rounds), _key_schedule(key[1], _W1, rounds)
    for r in range(rounds):
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = _xor3(hi1, c1, ks0[r]), lo1, _xor3(hi0, c3, ks1[r]), lo0
    return c0, c1, c2, c3


def philox_words(counter: Words, key: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The blocks ``philox4x32(counter, key)`` as words [N, 4·blocks], block by block, four words
    each (counter word 0 the block index j [1, blocks], key words [N, 1]).

    Eagerly on a CPU a large draw runs ``CHUNK`` elements (blocks × members) at a time, written
    into the output as they come: each of the ~120 elementwise ops of the rounds then works on
    temporaries that stay in the core's cache instead of passing over the whole draw in memory.
    Compiled (one fused kernel) and on other devices it is one pass. Integer arithmetic: the words
    are the same either way."""
    j = counter[0]
    n, blocks = key[0].shape[0], j.shape[-1]
    if torch.compiler.is_compiling() or j.device.type != "cpu" or n * blocks <= CHUNK:
        return torch.stack(torch.broadcast_tensors(*philox4x32(counter, key)), dim=-1).flatten(1)
    out = torch.empty(n, blocks, 4, dtype=torch.int64, device=j.device)
    cols = max(1, CHUNK // n)
    for a in range(0, blocks, cols):
        for i, w in enumerate(philox4x32((j[:, a:a + cols], *counter[1:]), key)):
            out[:, a:a + cols, i] = w
    return out.flatten(1)


def box_muller(bits: torch.Tensor, half: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """[N, ≥ 2h] 32-bit words → [N, 2h] N(0, 1), computed in ``dtype`` (float64 or float32):
    u = (w + ½)/2³², z = √(−2 log u₁)·(cos 2πu₂, sin 2πu₂) with u₁ the first h words of a row and
    u₂ the next h, cosines first.

    In float64 u is exact, never 0 or 1. In float32 it is (w + ½)/2³² rounded (w's top 24 bits
    for w ≥ 2²⁴): still > 0 (the smallest is 2⁻³³, r ≤ √(66 log 2) ≈ 6.77, as in float64), but
    the 128 largest words give u = 1 exactly, i.e. r = 0 or θ = 2π, both harmless; the normals
    then differ from the float64 ones rounded by a few float32 ulps (more for the rare r near 0,
    where a u rounded near 1 moves r by up to ~2⁻²⁴/r). (All words are converted and the halves
    sliced after; the rest works on those slices in place, with one fresh tensor besides u and z.)"""
    u = bits.to(dtype).add_(0.5).mul_(2.0**-32)
    r = torch.log(u[:, :half]).mul_(-2.0).sqrt_()
    theta = u[:, half:2 * half].mul_(2.0 * math.pi)
    z = torch.empty(bits.shape[0], 2 * half, dtype=dtype, device=bits.device)
    torch.mul(r, torch.cos(theta), out=z[:, :half])
    torch.mul(r, theta.sin_(), out=z[:, half:])
    return z


@functools.cache
def _compiled(fn):
    """``fn`` through ``torch.compile`` with dynamic shapes, once per process, so every draw size
    shares one kernel: ``philox_words`` becomes one fused kernel for the ten rounds instead of about
    120 elementwise passes (integer arithmetic: bit-identical). Only the words are compiled:
    Box–Muller stays eager, where torch's vectorised log/cos/sin ran faster than inductor's fused
    float32 transform over the dynamic-size halves (0.78× its time for a 512 × 256 draw at N = 32,
    one thread), and compiled normals are then the eager ones bit for bit."""
    return torch.compile(fn, dynamic=True)


def purpose_id(purpose: str) -> int:
    """A stable 32-bit id of a purpose name (CRC-32), the counter's top word."""
    if not isinstance(purpose, str) or not purpose:
        raise ValueError(f"purpose must be a non-empty string, got {purpose!r}")
    return zlib.crc32(purpose.encode())


def check_seed(name: str, seed: int) -> int:
    seed = check_int(name, seed, minimum=0)
    if seed > MAX_SEED:
        raise ValueError(f"{name} must be at most 2**63 - 1, got {seed}")
    return seed


class Streams:
    """Counter-based random streams for members with the given seeds, on one device.

    ``bits(purpose, step, sub, count)`` → int64 [N, count] of uniform 32-bit words: member i's row
    is Philox4x32-10 under key seeds[i] of the counters (j, sub, step, purpose_id) for blocks
    j = 0, 1, …, four words per block. ``uniform``, ``normal``, ``categorical`` and
    ``permutation`` transform those words; all take the same (purpose, step, sub) address.
    """

    def __init__(self, seeds: Sequence[int], device: str | torch.device = "cpu", compiled: bool = False):
        seeds = [check_seed("seed", s) for s in seeds]
        if not seeds:
            raise ValueError("Streams needs at least one seed")
        self.device = torch.device(device)
        self.compiled = bool(compiled)
        s = torch.tensor(seeds, dtype=torch.int64, device=self.device)[:, None]
        self._key = (s & MASK32, s >> 32)
        self.n = len(seeds)

    def bits(self, purpose: str, step: int, sub: int, count: int) -> torch.Tensor:
        return self._draw(philox_words, purpose, step, sub, count)[:, :count]

    def _draw(self, fn, purpose: str, step: int, sub: int, count: int, *args) -> torch.Tensor:
        """fn(counter, key, *args) after checking the address, the counter's block index covering
        ``count`` words (the one place that turns an address into random words). Compiled, the
        other counter words are 0-d tensors, so that their values do not specialise the kernel
        (``torch.full``: ``torch.tensor`` would wait for a GPU)."""
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            raise ValueError(f"step must be an integer in [0, {MAX_STEP}], got {step!r}")
        if isinstance(sub, bool) or not isinstance(sub, int) or not 0 <= sub <= MASK32:
            raise ValueError(f"sub must be an integer in [0, {MASK32}], got {sub!r}")
        check_int("count", count, minimum=0)
        pid = purpose_id(purpose)
        j = torch.arange(-(-count // 4), dtype=torch.int64, device=self.device)[None, :]
        if not self.compiled:
            return fn((j, sub, step, pid), self._key, *args)
        words = (torch.full((), w, dtype=torch.int64, device=self.device) for w in (sub, step, pid))
        with torch.no_grad():  # one grad mode: fewer compiled variants
            return _compiled(fn)((j, *words), self._key, *args)

    def uniform(self, purpose: str, step: int, sub: int, shape: Sequence[int],
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """U(0, 1) [N, *shape]: (w + ½)/2³² in float64 (never 0 or 1 there), then cast (in float32
        the largest 128 words round to exactly 1.0: use float64 where log(1 − u) is taken)."""
        count = math.prod(shape)
        u = (self.bits(purpose, step, sub, count).to(torch.float64) + 0.5) * 2.0**-32
        return u.reshape(self.n, *shape).to(dtype)

    def normal(self, purpose: str, step: int, sub: int, shape: Sequence[int],
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """N(0, 1) [N, *shape] by Box–Muller (``box_muller``) in float64 for float64, else in
        float32 (about three times faster; a few float32 ulps from the float64 values rounded),
        then cast."""
        count = check_int("count", math.prod(shape), minimum=0)
        half = -(-count // 2)
        work = torch.float64 if dtype == torch.float64 else torch.float32
        words = self._draw(philox_words, purpose, step, sub, 2 * half)
        z = box_muller(words, half, work)[:, :count]
        return z.reshape(self.n, *shape).to(dtype)

    def categorical(self, purpose: str, step: int, sub: int, shape: Sequence[int],
                    cumulative: torch.Tensor) -> torch.Tensor:
        """Indices k [N, *shape] with P(k) = w_k: ``inverse_cdf`` of the cumulative weights at
        float64 uniforms of stream (purpose, step, sub)."""
        u = self.uniform(purpose, step, sub, shape, torch.float64)
        return inverse_cdf(cumulative, u.reshape(self.n, -1)).reshape(self.n, *shape)

    def permutation(self, purpose: str, step: int, sub: int, size: int) -> torch.Tensor:
        """A uniformly random permutation of range(size) per member [N, size]: the stable argsort
        of 62-bit random keys (two words each; ties are astronomically rare and broken by index)."""
        w = self.bits(purpose, step, sub, 2 * size).view(self.n, size, 2)
        keys = ((w[..., 0] >> 2) << 32) | w[..., 1]
        return torch.argsort(keys, dim=1, stable=True)


def inverse_cdf(cumulative: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Indices k (int64, u's shape) with P(k) = w_k from uniforms u ∈ [0, 1): the first k with
    u < c_k / c_K for the cumulative weights c [K] (or one row per member, [N, K] with u [N, ...]),
    in float64. The division makes the last entry and every entry after the last positive weight
    exactly 1 > u, so a zero weight at the end is never drawn even when the cumulative sum rounds
    below 1 (or rounds above it: a row padded with 1s after its own last entry never reaches
    the padding). The one inverse CDF of the package: ``Streams.categorical``, a Gaussian mixture's
    components (``theory.targets``) and a mixture per member (``experiments.family``)."""
    cum = cumulative.to(u.device, torch.float64)
    return torch.searchsorted(cum / cum[..., -1:], u, right=True).clamp_(max=cum.shape[-1] - 1)


def derive_seed(seed: int, *tags: int | str) -> int:
    """A 63-bit seed for (seed, tags), independent of every other (seed, tags): the Philox block
    of counter (0, 0, 0, purpose_id of the tags) under key ``seed``."""
    seed = check_seed("seed", seed)
    name = "/".join(str(t) for t in tags) or "derived"
    words = philox4x32((0, 0, 0, purpose_id(name)), (seed & MASK32, seed >> 32))
    w0, w1 = (int(w) for w in words[:2])
    return ((w0 >> 1) << 32) | w1


def torch_generator(seed: int, *tags: int | str, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` for (seed, tags): plain ``manual_seed(seed)`` without tags, else the
    derived seed, so that differently tagged generators are independent."""
    s = check_seed("seed", seed) if not tags else derive_seed(seed, *tags)
    return torch.Generator(device=device).manual_seed(s)
