"""Tests of ganlab.rng: Philox4x32-10 against the Random123 known answers and an independent
pure-Python implementation, the statistics of every ``Streams`` transform, independence between
addresses, and the guarantee that a member's numbers depend on its seed alone.

Statistical tests use fixed seeds, so each is deterministic; the thresholds say how unlikely a
failure would be if the generator were ideal:
* goodness-of-fit tests (chi², Kolmogorov–Smirnov) reject at p < ALPHA = 1e-6;
* sample moments and correlations are checked to K_SE = 5 standard errors, the standard error
  computed from the sample size and the exact moments of the ideal distribution (two-sided tail of
  5 SE: 5.7e-7 under a normal approximation; sample sizes are ≥ 65,536 so that holds well).
"""

from __future__ import annotations

import hashlib
import math
import zlib

import numpy as np
import pytest
import scipy.stats
import torch

import ganlab.rng
from ganlab.rng import MAX_STEP, Streams, _mulhilo, derive_seed, inverse_cdf, philox4x32, torch_generator

ALPHA = 1e-6
K_SE = 5.0

# -- an independent Philox4x32 in Python integers (Salmon et al. 2011; Random123 philox.h) ------------
MASK = 0xFFFFFFFF


def philox_ref(ctr: tuple[int, int, int, int], key: tuple[int, int], rounds: int = 10) -> list[int]:
    """Philox4x32-R written out with exact Python integers: no 16-bit splitting, no tensors."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
    return [c0, c1, c2, c3]


def bits_ref(seed: int, purpose: str, step: int, sub: int, count: int) -> list[int]:
    """The documented layout of one row of ``Streams.bits``: blocks j = 0, 1, … of counter
    (j, sub, step, crc32(purpose)) under key (low word of seed, high word of seed)."""
    out: list[int] = []
    j = 0
    while len(out) < count:
        out += philox_ref((j, sub, step, zlib.crc32(purpose.encode())), (seed & MASK, seed >> 32))
        j += 1
    return out[:count]


def words(hexes: str) -> tuple[int, ...]:
    return tuple(int(h, 16) for h in hexes.split())


# Random123 kat_vectors (philox4x32, R rounds): counter (4 words), key (2 words) -> 4 words.
KAT = [
    (10, "00000000 00000000 00000000 00000000", "00000000 00000000", "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    (10, "ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff", "408f276d 41c83b0e a20bc7c6 6d5451fd"),
    (10, "243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0", "d16cfe09 94fdcceb 5001e420 24126ea1"),
    (7, "00000000 00000000 00000000 00000000", "00000000 00000000", "5f6fb709 0d893f64 4f121f81 4f730a48"),
    (7, "ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff", "5207ddc2 45165e59 4d8ee751 8c52f662"),
    (7, "243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0", "4dfccaba 190a87f0 c47362ba b6b5242a"),
]


@pytest.mark.parametrize("rounds,ctr,key,expected", KAT)
def test_random123_known_answers(rounds, ctr, key, expected):
    c, k, e = words(ctr), words(key), words(expected)
    assert tuple(philox_ref(c, k, rounds)) == e  # the reference implementation itself
    as_ints = philox4x32(c, k, rounds)
    assert tuple(int(w) for w in as_ints) == e
    # the same block as int64 tensors (how Streams calls it), broadcast over a batch of 3
    t = philox4x32(tuple(torch.full((3,), w, dtype=torch.int64) for w in c),
                   tuple(torch.tensor(w, dtype=torch.int64) for w in k), rounds)
    for w, ew in zip(t, e):
        assert w.dtype == torch.int64 and w.tolist() == [ew] * 3


def test_philox_matches_python_integers_on_random_blocks():
    """10,000 random counters and keys (every word anywhere in [0, 2³²)), one tensor call, against
    the exact-integer reference: covers carries of the 16-bit split that the KAT vectors may not."""
    g = np.random.default_rng(12345)
    ctr = g.integers(0, 2**32, size=(4, 10_000), dtype=np.int64)
    key = g.integers(0, 2**32, size=(2, 10_000), dtype=np.int64)
    ctr[:, :4] = [[0], [MASK], [0x80000000], [0xFFFF]]  # edge words
    out = philox4x32(tuple(torch.from_numpy(c) for c in ctr), tuple(torch.from_numpy(k) for k in key))
    got = torch.stack(out, dim=1).tolist()
    for i in range(ctr.shape[1]):
        assert got[i] == philox_ref(tuple(int(v) for v in ctr[:, i]), tuple(int(v) for v in key[:, i]))


@pytest.mark.parametrize("m", [0xD2511F53, 0xCD9E8D57, MASK, 1])
def test_mulhilo_gives_the_exact_halves_of_the_product(m):
    """The one-multiply (hi, lo) of m·x (int64 wrap, arithmetic shift, masks) against Python
    integers: edge words 0, 1, 2³¹ − 1, 2³¹, 2³² − 1 and the words whose product with m crosses
    2⁶³ (a negative int64), plus 100,000 random words, eager and through torch.compile."""
    g = np.random.default_rng(m)
    edge = [0, 1, 2, 0x7FFFFFFF, 0x80000000, MASK - 1, MASK, (1 << 63) // m, (1 << 63) // m + 1]
    xs = [x for x in edge if x <= MASK] + [int(v) for v in g.integers(0, 2**32, size=100_000)]
    x = torch.tensor(xs, dtype=torch.int64)
    assert any(m * v >= 1 << 63 for v in xs) or m == 1  # the wrapped, negative products occur
    want_hi, want_lo = [(m * v) >> 32 for v in xs], [(m * v) & MASK for v in xs]
    for fn in (_mulhilo, torch.compile(_mulhilo, dynamic=True)):
        hi, lo = fn(m, x)
        assert hi.tolist() == want_hi and lo.tolist() == want_lo
    assert x.tolist() == xs  # the input is not modified in place
    assert _mulhilo(m, MASK) == ((m * MASK) >> 32, (m * MASK) & MASK)  # Python ints: exact


def test_chunked_words_equal_the_reference(monkeypatch):
    """Eagerly on a CPU, large draws run ``CHUNK`` elements at a time: with CHUNK made tiny (7
    elements over 3 members: 2 blocks per chunk, the last chunk short) every word of a draw equals
    the exact-integer reference, and at the real CHUNK a draw of 2.5 chunks equals it at the
    chunk boundaries and ends; ``normal`` over the same words is unchanged by the chunking."""
    seeds = [3, 2**32 + 1, 2**63 - 1]
    s = Streams(seeds)
    big_count = 4 * (5 * ganlab.rng.CHUNK // (2 * len(seeds)))
    big = s.bits("data", 11, 2, big_count)
    cols = ganlab.rng.CHUNK // len(seeds)
    for i, seed in enumerate(seeds):
        ref = bits_ref(seed, "data", 11, 2, big_count)
        for c in (0, 1, 2):
            lo, hi = max(0, 4 * (c * cols) - 8), min(big_count, 4 * (c * cols) + 8)
            assert big[i, lo:hi].tolist() == ref[lo:hi]
        assert big[i, -8:].tolist() == ref[-8:]
    normal = s.normal("noise", 4, 1, (9, 5))
    monkeypatch.setattr(ganlab.rng, "CHUNK", 7)
    b = s.bits("data", 11, 2, 41)
    for i, seed in enumerate(seeds):
        assert b[i].tolist() == bits_ref(seed, "data", 11, 2, 41)
    assert torch.equal(s.normal("noise", 4, 1, (9, 5)), normal)


def test_philox_does_not_modify_its_inputs():
    """The rounds work in place on their own temporaries only: counter and key tensors passed in
    (of the full broadcast shape, so an in-place op on them would be possible) are unchanged."""
    g = np.random.default_rng(7)
    ctr = [torch.from_numpy(g.integers(0, 2**32, size=(3, 5), dtype=np.int64)) for _ in range(4)]
    key = [torch.from_numpy(g.integers(0, 2**32, size=(3, 5), dtype=np.int64)) for _ in range(2)]
    before = [t.clone() for t in ctr + key]
    out = philox4x32(tuple(ctr), tuple(key))
    assert all(torch.equal(a, b) for a, b in zip(ctr + key, before))
    assert not any(o.data_ptr() == t.data_ptr() for o in out for t in ctr + key)


SEEDS_EDGE = [0, 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63 - 1]


@pytest.mark.parametrize("purpose,step,sub,count", [
    ("noise", 0, 0, 1), ("noise", 0, 0, 7), ("data", 123, 4, 64), ("gp-alpha", MAX_STEP, MASK, 13),
])
def test_bits_layout_matches_reference(purpose, step, sub, count):
    """Row i of ``bits`` is Philox of counters (j, sub, step, crc32(purpose)) under key seeds[i],
    four words per block, truncated to ``count``; seeds with equal low words (1 and 2³² + 1) must
    differ (the high word is in the key)."""
    s = Streams(SEEDS_EDGE)
    b = s.bits(purpose, step, sub, count)
    assert b.shape == (len(SEEDS_EDGE), count) and b.dtype == torch.int64
    for i, seed in enumerate(SEEDS_EDGE):
        assert b[i].tolist() == bits_ref(seed, purpose, step, sub, count)


def _pinned_outputs() -> str:
    s = Streams(SEEDS_EDGE)
    cum = torch.tensor([0.25, 0.25, 0.75, 1.0], dtype=torch.float64)
    outs = []
    for purpose, step, sub in [("noise", 0, 0), ("data", 7, 3), ("noise", MAX_STEP, MASK)]:
        outs += [s.bits(purpose, step, sub, 1), s.bits(purpose, step, sub, 1795),
                 s.uniform(purpose, step, sub, (3, 5), torch.float64), s.uniform(purpose, step, sub, (9,)),
                 s.categorical(purpose, step, sub, (4, 25), cum), s.permutation(purpose, step, sub, 100)]
    outs.append(torch.tensor([derive_seed(x, "w1", 3) for x in SEEDS_EDGE]))
    h = hashlib.sha256()
    for t in outs:
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def test_outputs_are_pinned():
    """Bit-identity across refactors: a SHA-256 of bits, uniform (float64 and float32), categorical,
    permutation and derive_seed outputs, recorded from the lead's original implementation (commit
    e03c976). All of these are exact integer / exactly rounded float operations, so the digest is
    platform independent; ``normal`` (libm log/cos/sin) is checked against a formula instead."""
    assert _pinned_outputs() == "0f8333775632130a299b90a459004ffef0d9315e9a3a2d2b1c634fe4ec6827f7"


# -- statistics of the transforms ---------------------------------------------------------------
def test_compiled_streams_give_the_same_words():
    """``Streams(compiled=True)`` (Philox through torch.compile, used with ``Runtime(compile=True)``)
    returns the eager words bit for bit, at any size, step and purpose — including the largest step
    and a seed above 2³² — and so the eager normals (Box–Muller runs eagerly on those words), from
    one compiled kernel: no recompilation per step value or draw size (torch specialises only sizes
    0 and 1)."""
    import torch._dynamo

    seeds = [0, 3, 2**40 + 7]
    eager, compiled = Streams(seeds), Streams(seeds, compiled=True)
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):  # no silent fall back to eager
        torch._dynamo.utils.counters.clear()
        for purpose, step, sub, count in [("noise", 0, 0, 4), ("noise", 1, 1, 4099), ("data", 7, 2, 1023),
                                          ("noise", MAX_STEP, 5, 9), ("x", 123456, 0, 5000)]:
            assert torch.equal(eager.bits(purpose, step, sub, count), compiled.bits(purpose, step, sub, count))
            for dtype in (torch.float32, torch.float64):
                assert torch.equal(eager.normal(purpose, step, sub, (count,), dtype),
                                   compiled.normal(purpose, step, sub, (count,), dtype))
        compiled.normal("noise", 0, 0, (3, 5))
        frames = torch._dynamo.utils.counters["stats"]["unique_graphs"]
        for step in range(10, 20):
            compiled.bits("noise", step, 0, 1000)
            compiled.normal("noise", step, 0, (step, 7))  # odd and even counts
        assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == frames  # new steps, sizes: no new graph


def test_words_are_uniform_bytes_and_bits():
    """H0: the 32-bit words are iid uniform. Then (a) each byte of a word is uniform on 256 values:
    Pearson chi² with 255 df over 4·2²¹ bytes; (b) each of the 32 bit positions is Bernoulli(½):
    Σ z² over the positions ~ chi²_32 with z = (ones − n/2)/√(n/4); (c) words are < 2³², ≥ 0."""
    b = Streams(list(range(64))).bits("noise", 5, 0, 1 << 15).flatten()  # 2,097,152 words
    assert int(b.min()) >= 0 and int(b.max()) <= MASK
    bytes_ = torch.stack([(b >> (8 * i)) & 0xFF for i in range(4)]).flatten()
    counts = torch.bincount(bytes_, minlength=256).numpy()
    assert scipy.stats.chisquare(counts).pvalue > ALPHA
    n = b.numel()
    ones = torch.stack([((b >> i) & 1).sum() for i in range(32)]).double().numpy()
    z = (ones - n / 2) / math.sqrt(n / 4)
    assert scipy.stats.chi2.sf(float(np.sum(z**2)), 32) > ALPHA


def test_uniform_is_u01():
    """H0: uniform ~ U(0, 1). KS test on 2²⁰ float64 values; every value lies strictly inside
    (0, 1) (the ½-offset: (w + ½)/2³²); its mean is ½ to K_SE standard errors (SE = √(1/12n));
    float32 output is the float64 value rounded."""
    s = Streams(list(range(16)))
    u = s.uniform("data", 0, 0, (256, 256), torch.float64)
    assert u.shape == (16, 256, 256) and u.dtype == torch.float64
    flat = u.flatten().numpy()
    assert 0.0 < flat.min() and flat.max() < 1.0
    assert scipy.stats.kstest(flat, "uniform").pvalue > ALPHA
    assert abs(flat.mean() - 0.5) < K_SE * math.sqrt(1 / 12 / flat.size)
    # exact values: (w + 1/2) 2^-32 of the words
    w = s.bits("data", 0, 0, 10).double()
    assert torch.equal(u.reshape(16, -1)[:, :10], (w + 0.5) / 2.0**32)
    assert torch.equal(s.uniform("data", 0, 0, (256, 256)), u.float())


def test_normal_is_standard_normal():
    """H0: normal ~ N(0, 1) iid. On n = 2²⁰ values: KS against N(0, 1); sample moments within K_SE
    standard errors of the exact ones (E z = 0, SE √(1/n); E z² = 1, SE √(2/n); E z³ = 0, SE
    √(15/n); E z⁴ = 3, SE √(96/n), since E z⁶ = 15, E z⁸ = 105). Box–Muller's two outputs of one
    pair (r cos θ, r sin θ) are independent normals: their correlation, and that of their squares
    (which a shared radius would make positive), are 0 within K_SE/√pairs."""
    z = Streams(list(range(16))).normal("noise", 3, 1, (1 << 16,), torch.float64)
    flat = z.flatten().numpy()
    n = flat.size
    assert scipy.stats.kstest(flat, "norm").pvalue > ALPHA
    for k, mean, var in [(1, 0.0, 1.0), (2, 1.0, 2.0), (3, 0.0, 15.0), (4, 3.0, 96.0)]:
        assert abs(np.mean(flat**k) - mean) < K_SE * math.sqrt(var / n), k
    half = z.shape[1] // 2
    a, b = z[:, :half].flatten().numpy(), z[:, half:].flatten().numpy()
    tol = K_SE / math.sqrt(a.size)
    assert abs(np.corrcoef(a, b)[0, 1]) < tol
    assert abs(np.corrcoef(a**2, b**2)[0, 1]) < tol


@pytest.mark.parametrize("compiled", [False, True])
def test_normal_is_box_muller_of_the_words(compiled):
    """normal = √(−2 log u₁)·(cos 2πu₂, sin 2πu₂), u = (w + ½)/2³² with u₁ the first ⌈count/2⌉
    words and u₂ the next, computed here in numpy from the reference words (odd count: the last
    sine is dropped), eager and with compiled words (to float64 rounding: a few ulp)."""
    s = Streams([3, 2**40 + 5], compiled=compiled)
    for count in (7, 1001):
        z = s.normal("noise", 9, 2, (count,), torch.float64)
        half = -(-count // 2)
        for i, seed in enumerate([3, 2**40 + 5]):
            u = (np.array(bits_ref(seed, "noise", 9, 2, 2 * half), dtype=np.float64) + 0.5) / 2.0**32
            r, th = np.sqrt(-2 * np.log(u[:half])), 2 * np.pi * u[half:]
            expected = np.concatenate([r * np.cos(th), r * np.sin(th)])[:count]
            np.testing.assert_allclose(z[i].numpy(), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("compiled", [False, True])
def test_float32_normal_is_box_muller_in_float32(compiled):
    """A float32 (or float16) draw computes Box–Muller in float32: u = fl32(fl32(w) + ½)·2⁻³² (w's
    top 24 bits above 2²⁴; > 0, and 1.0 for the largest words), θ = fl32(fl32(2π)·u₂), written
    here in numpy from the reference words; r and cos θ, sin θ are then exact float64 functions of
    those float32 values, so the draw may differ from them only by the float32 rounding of log,
    √, cos, sin and two products: 8 ulps (2⁻²⁰ relative) with margin. Against the float64 draw the
    error is larger where u₁ rounds near 1 (r ≈ 0): bounded by 2⁻²¹/r + 2⁻²⁰·(1 + r) absolute."""
    s = Streams([3, 2**40 + 5], compiled=compiled)
    for count in (7, 1001, 40_000):
        z = s.normal("noise", 9, 2, (count,))
        z64 = s.normal("noise", 9, 2, (count,), torch.float64)
        assert z.dtype == torch.float32
        assert torch.equal(s.normal("noise", 9, 2, (count,), torch.float16), z.half())
        half = -(-count // 2)
        for i, seed in enumerate([3, 2**40 + 5]):
            w = np.array(bits_ref(seed, "noise", 9, 2, 2 * half), dtype=np.int64)
            u = (w.astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-32)
            assert u.min() > 0 and u.max() <= 1
            theta = (np.float32(2 * np.pi) * u[half:]).astype(np.float64)
            r = np.sqrt(-2 * np.log(u[:half].astype(np.float64)))
            expected = np.concatenate([r * np.cos(theta), r * np.sin(theta)])[:count]
            np.testing.assert_allclose(z[i].numpy(), expected, rtol=2.0**-20, atol=1e-30)
            r_exact = np.sqrt(-2 * np.log((w[:half] + 0.5) / 2.0**32))  # > 0: no u of exactly 1
            rr = np.concatenate([r_exact, r_exact])[:count]
            assert (np.abs(z[i].double().numpy() - z64[i].numpy()) <= 2.0**-21 / rr + 2.0**-20 * (1 + rr)).all()


@pytest.mark.parametrize("weights", [[0.2, 0.0, 0.5, 0.3], [0.0, 0.4, 0.6], [0.7, 0.3, 0.0]])
def test_categorical_matches_weights(weights):
    """H0: draws ~ Categorical(w). Pearson chi² over the categories of positive weight (df = their
    number − 1) on 2¹⁸ draws; a category of weight 0 (first, middle or last) is never drawn: its
    interval [c_{k−1}, c_k) is empty and u lies in (0, 1)."""
    w = torch.tensor(weights, dtype=torch.float64)
    cum = w.cumsum(0)
    cum[-1] = 1.0
    k = Streams(list(range(8))).categorical("modes", 1, 0, (128, 256), cum)
    assert k.shape == (8, 128, 256) and k.dtype == torch.int64
    counts = torch.bincount(k.flatten(), minlength=len(weights)).numpy()
    assert counts.size == len(weights)
    pos = w.numpy() > 0
    assert (counts[~pos] == 0).all()
    expected = w.numpy()[pos] * k.numel()
    assert scipy.stats.chisquare(counts[pos], expected).pvalue > ALPHA


def test_categorical_is_inverse_cdf_of_uniform():
    """Exactly: k = first index with u < cumulative[k] (searchsorted right), same address."""
    s = Streams([11, 12])
    cum = torch.tensor([0.1, 0.35, 0.35, 0.9, 1.0], dtype=torch.float64)
    k = s.categorical("c", 4, 2, (1000,), cum)
    u = s.uniform("c", 4, 2, (1000,), torch.float64)
    expected = (u[..., None] >= cum).sum(-1)
    assert torch.equal(k, expected)


def test_inverse_cdf_with_a_table_per_member():
    """Row i of [N, K] cumulative weights inverts row i of the uniforms: the count of normalised
    entries ≤ u (written out), a member's padding of 1s after its own last entry never reached, and a
    sum that rounds off 1 (seven weights 1/7) normalised so its last component still gets its
    share."""
    w7 = torch.full((7,), 1 / 7, dtype=torch.float64).cumsum(0)
    assert float(w7[-1]) != 1.0  # rounds off 1
    cum = torch.ones(3, 7, dtype=torch.float64)
    cum[0] = w7
    cum[1, :2] = torch.tensor([0.25, 1.0], dtype=torch.float64)  # two components, padded
    cum[2, :4] = torch.tensor([0.0, 0.5, 0.5, 1.0], dtype=torch.float64)  # zero weights first and third
    u = Streams([1, 2, 3]).uniform("c", 0, 0, (4000,), torch.float64)
    k = inverse_cdf(cum, u)
    for i in range(3):
        normalised = (cum[i] / cum[i, -1]).tolist()
        expected = [sum(x >= c for c in normalised) for x in u[i].tolist()]
        assert k[i].tolist() == expected
    assert set(k[1].tolist()) == {0, 1} and set(k[2].tolist()) == {1, 3}
    assert int((k[0] == 6).sum()) > 400  # the last seventh is drawn (~571 expected)
    raw = inverse_cdf(torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64), u[0])  # unnormalised weights 1, 1, 2
    assert raw.tolist() == [sum(x >= c for c in (0.25, 0.5, 1.0)) for x in u[0].tolist()]


def test_categorical_compares_uniforms_in_float64():
    """The inverse CDF compares float64 uniforms: with a boundary c placed strictly between a
    draw's float64 value u and its float32 rounding, u < c must give category 0 (a float32
    comparison would give 1, and could return exactly 1.0, i.e. the last category, whatever its
    weight)."""
    s = Streams([5])
    u = s.uniform("c", 0, 0, (64,), torch.float64)[0]
    i = int(((u.float().double() > u) & (u < 0.9)).nonzero()[0])
    c = math.nextafter(float(u[i]), 1.0)
    assert float(u[i]) < c <= float(u[i].float())
    k = s.categorical("c", 0, 0, (64,), torch.tensor([c, 1.0], dtype=torch.float64))[0]
    assert int(k[i]) == 0
    assert torch.equal(k, (u >= c).long())


def test_permutation_is_uniform():
    """Every row is a permutation of range(size). H0: uniform permutations. With C[item, position]
    the counts over R rows, E = R/s, Pearson X² = Σ (C − E)²/E: the indicator matrix of one uniform
    permutation has covariance (I − J/s) ⊗ (I − J/s) / (s − 1), whose non-zero eigenvalues are all
    1/(s − 1) with multiplicity (s − 1)², so X²·(s − 1)/s ~ chi²_{(s−1)²} asymptotically (R =
    16,384 rows, E = 2,048 per cell, s = 8)."""
    s = 8
    p = torch.cat([Streams(list(range(64))).permutation("shuffle", step, 0, s) for step in range(256)])
    r = p.shape[0]
    assert torch.equal(p.sort(dim=1).values, torch.arange(s).expand(r, s))
    c = torch.zeros(s, s, dtype=torch.float64)
    c.index_put_((p.flatten(), torch.arange(s).repeat(r)), torch.ones(r * s, dtype=torch.float64), accumulate=True)
    e = r / s
    x2 = float(((c - e) ** 2 / e).sum())
    assert scipy.stats.chi2.sf(x2 * (s - 1) / s, (s - 1) ** 2) > ALPHA
    # a large size stays a permutation (keys are 62-bit; ties are broken by index)
    big = Streams([1, 2]).permutation("shuffle", 0, 0, 100_000)
    assert torch.equal(big.sort(dim=1).values, torch.arange(100_000).expand(2, -1))


# -- independence between addresses ---------------------------------------------------------------
ADDRESSES = [  # (seed, purpose, step, sub): each differs from the first in exactly one field
    (1, "noise", 0, 0), (2, "noise", 0, 0), (2**32 + 1, "noise", 0, 0), (1, "data", 0, 0),
    (1, "noise", 1, 0), (1, "noise", 0, 1), (1, "noise", MAX_STEP, 0), (1, "noise", 0, MASK),
]


def test_streams_of_different_addresses_are_uncorrelated():
    """H0: streams at different (seed, purpose, step, sub) are independent U(0, 1). Every pair's
    sample correlation over n = 2¹⁶ values (28 pairs) is 0 within K_SE/√n, and the joint 2-D
    histogram of the first address with each other one (16 × 16 cells, 256 expected per cell)
    passes a chi²_255 uniformity test."""
    n = 1 << 16
    u = torch.stack([Streams([seed]).uniform(p, step, sub, (n,), torch.float64)[0]
                     for seed, p, step, sub in ADDRESSES]).numpy()
    corr = np.corrcoef(u)
    off = corr[~np.eye(len(ADDRESSES), dtype=bool)]
    assert np.abs(off).max() < K_SE / math.sqrt(n)
    for j in range(1, len(ADDRESSES)):
        h = np.histogram2d(u[0], u[j], bins=16, range=[[0, 1], [0, 1]])[0].ravel()
        assert scipy.stats.chisquare(h).pvalue > ALPHA, ADDRESSES[j]


def test_no_two_streams_are_equal():
    """All 64 seeds × 3 purposes × 4 steps × 4 subs = 3,072 streams differ in their first 4 words
    (a collision of 128-bit blocks between ideal streams has probability < 3,072² / 2¹²⁹)."""
    seeds = list(range(32)) + [2**32 + i for i in range(32)]
    s = Streams(seeds)
    rows = torch.cat([s.bits(p, step, sub, 4) for p in ("noise", "data", "noise2")
                      for step in (0, 1, 2, MAX_STEP) for sub in (0, 1, 2, MASK)])
    assert rows.shape == (3072, 4)
    assert torch.unique(rows, dim=0).shape[0] == 3072
    # consecutive blocks of one stream differ too (the block index is in the counter)
    b = s.bits("noise", 0, 0, 4096).view(len(seeds), -1, 4)
    assert all(torch.unique(b[i], dim=0).shape[0] == 1024 for i in range(len(seeds)))


# -- a member's numbers depend on its seed alone ------------------------------------------------
def _all_draws(s: Streams) -> list[torch.Tensor]:
    cum = torch.tensor([0.3, 0.3, 1.0], dtype=torch.float64)
    return [s.bits("noise", 4, 1, 37), s.uniform("data", 4, 0, (5, 3)), s.normal("noise", 4, 2, (9, 2)),
            s.normal("noise", 4, 3, (3,), torch.float64), s.categorical("idx", 4, 0, (11,), cum),
            s.permutation("shuffle", 4, 0, 50)]


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("n_members", [1, 8, 128])
def test_member_numbers_do_not_depend_on_the_other_members(n_members, compiled):
    """The key guarantee: for seed 77 placed at position i among n_members seeds (the others random
    and different per run), every draw's row i equals (torch.equal) the single-member draw — also
    through torch.compile, where N = 1 gets a kernel of its own."""
    alone = _all_draws(Streams([77], compiled=compiled))
    g = np.random.default_rng(n_members)
    for pos in sorted({0, n_members // 2, n_members - 1}):
        others = [int(x) for x in g.integers(0, 2**63 - 1, size=n_members)]
        others[pos] = 77
        batch = _all_draws(Streams(others, compiled=compiled))
        for a, b in zip(alone, batch):
            assert b.shape[0] == n_members
            assert torch.equal(a[0], b[pos])


def test_tensors_are_created_on_the_streams_device():
    """Construction is device independent: on the 'meta' device any tensor created on the CPU by
    mistake fails ("Tensor on device cpu is not on the expected device meta"), so a run of every
    draw there proves each intermediate is made on ``Streams.device`` (only the categorical's
    cumulative weights are moved, by design)."""
    draws = _all_draws(Streams([1, 2, 3], device="meta"))
    ref = _all_draws(Streams([1, 2, 3]))
    for d, r in zip(draws, ref):
        assert d.device.type == "meta" and d.shape == r.shape and d.dtype == r.dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_cuda_equals_cpu_without_host_sync(compiled):
    """On a GPU: integer outputs bit-identical to the CPU's, normal to float64 rounding, and no
    device-to-host synchronisation (torch.cuda.set_sync_debug_mode('error')), eager and compiled."""
    seeds = [5, 2**40, 2**63 - 1]
    cpu = _all_draws(Streams(seeds))
    gpu_streams = Streams(seeds, device="cuda", compiled=compiled)
    _all_draws(gpu_streams)  # compiling may synchronise; the draws after it must not
    torch.cuda.set_sync_debug_mode("error")
    try:
        gpu = _all_draws(gpu_streams)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for i, (c, g) in enumerate(zip(cpu, gpu)):
        assert g.device.type == "cuda"
        if i in (2, 3):
            torch.testing.assert_close(g.cpu(), c, rtol=1e-12 if c.dtype == torch.float64 else 1e-6, atol=1e-6)
        else:
            assert torch.equal(g.cpu(), c)


# -- derived seeds and generators -------------------------------------------------------------
def test_derive_seed_is_the_documented_block():
    """derive_seed(seed, *tags) = ((w0 >> 1) << 32) | w1 of Philox block (0, 0, 0, crc32(tags
    joined by '/')) under key seed: 63 bits, distinct for distinct tags."""
    for seed in (0, 9, 2**63 - 1):
        w = philox_ref((0, 0, 0, zlib.crc32(b"w1-reference/3")), (seed & MASK, seed >> 32))
        assert derive_seed(seed, "w1-reference", 3) == ((w[0] >> 1) << 32) | w[1]
    values = {derive_seed(s, t) for s in range(50) for t in ("a", "b", "c", 1)}
    assert len(values) == 200 and all(0 <= v < 2**63 for v in values)
    a = torch.rand(5, generator=torch_generator(3, "x"))
    assert torch.equal(a, torch.rand(5, generator=torch.Generator().manual_seed(derive_seed(3, "x"))))
    assert torch.equal(torch.rand(5, generator=torch_generator(3)),
                       torch.rand(5, generator=torch.Generator().manual_seed(3)))


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("seeds,match", [
    ([-1], "seed must be an integer >= 0, got -1"),
    ([1, 2**63], r"seed must be at most 2\*\*63 - 1, got 9223372036854775808"),
    ([1.5], "seed must be an integer"),
    ([True], "seed must be an integer"),
    ([], "Streams needs at least one seed"),
])
def test_bad_seeds_raise(seeds, match):
    with pytest.raises(ValueError, match=match):
        Streams(seeds)


@pytest.mark.parametrize("call,match", [
    (lambda s: s.bits("noise", -1, 0, 4), r"step must be an integer in \[0, 4294967295\], got -1"),
    (lambda s: s.bits("noise", 2**32, 0, 4), "step must be an integer in .*got 4294967296"),
    (lambda s: s.uniform("noise", 0, -1, (4,)), r"sub must be an integer in \[0, 4294967295\], got -1"),
    (lambda s: s.normal("noise", 0, 2**32, (4,)), "sub must be an integer in .*got 4294967296"),
    (lambda s: s.bits("", 0, 0, 4), "purpose must be a non-empty string, got ''"),
    (lambda s: s.permutation(None, 0, 0, 4), "purpose must be a non-empty string, got None"),
    (lambda s: s.normal("noise", 0, 0, (-2,)), "count must be an integer >= 0, got -2"),
    (lambda s: Streams([1], compiled=True).normal("noise", -1, 0, (4,)), "step must be an integer in .*got -1"),
])
def test_bad_addresses_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(Streams([1, 2]))


def test_bad_derive_seed_raises():
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -3"):
        derive_seed(-3, "x")
    with pytest.raises(ValueError, match="seed must be at most"):
        torch_generator(2**63, "x")


def test_a_trailing_zero_weight_is_never_drawn_when_the_cumsum_rounds_low():
    """Cumulative weights ending at 0.9999999999999999 (a rounded sum) with a zero last weight:
    the largest uniforms must still map to the last positive category."""
    cum = torch.tensor([0.5, 1 - 2**-53, 1 - 2**-53], dtype=torch.float64)
    k = Streams([0]).categorical("t", 0, 0, (200_000,), cum)
    assert int(k.max()) == 1


@pytest.mark.parametrize("kw,match", [
    (dict(step=1.0), "step must be an integer"), (dict(sub=2.5), "sub must be an integer"),
    (dict(count=-1), "count must be an integer >= 0"),
])
def test_bits_refuses_non_integer_addresses(kw, match):
    args = dict(purpose="p", step=0, sub=0, count=4) | kw
    with pytest.raises(ValueError, match=match):
        Streams([0]).bits(**args)
