"""Known-answer and property tests for ganlab.metrics.modes (PacGAN/VEEGAN mode metrics).

Tolerances on sampled quantities are derived, not tuned:
* a sample x = c_k + σ_k z, z ~ N(0, I_2), has std-distance ‖z‖ to its own centre, and
  P(‖z‖ ≥ 3) = exp(−9/2) ≈ 0.0111 (‖z‖² ~ χ²_2, survival exp(−r²/2)); the high-quality count is
  Binomial(n, 1 − e^{−4.5}), checked to 5 standard deviations;
* the plug-in reverse KL of n_hq multinomial draws from the target weights obeys
  2 n_hq KL(p̂ ‖ w) → χ²_{K−1} (the G-statistic), checked against its 0.999 quantile.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganlab.metrics._chunks as chunks
import ganlab.metrics.modes as metrics
from ganlab.metrics.modes import ModeMetrics, mode_metrics, mode_metrics_batched, nearest_mode
from ganlab.theory.divergences import kl_discrete
from ganlab.theory.targets import GaussianMixture, grid, isotropic_mixture, make_target, ring

P_TAIL_3STD_2D = math.exp(-4.5)  # P(‖z‖ >= 3), z ~ N(0, I_2)


def sub_mixture(target: GaussianMixture, keep: list[int]) -> GaussianMixture:
    """The target restricted to the modes ``keep``, weights renormalised (a mode-dropping sampler)."""
    idx = torch.as_tensor(keep)
    w = target.weights[idx]
    return GaussianMixture(target.means[idx], target.covariances[idx], w / w.sum())


def hq_tolerance(n: int, p_out: float = P_TAIL_3STD_2D, n_sd: float = 5.0) -> float:
    return n_sd * math.sqrt(p_out * (1 - p_out) / n)


def kl_bound(n_hq: int, n_modes: int, q: float = 0.999) -> float:
    """0.999 quantile of the plug-in KL(p̂ ‖ w) when p̂ is n_hq draws from w: χ²_{K−1} / (2 n_hq)."""
    return scipy.stats.chi2.ppf(q, n_modes - 1) / (2 * n_hq)


def pacgan_reference(
    points: np.ndarray, means: np.ndarray, variances: np.ndarray, dis_thre: float = 3.0
):
    """Independent re-implementation of PacGAN's MetricLogger loop
    (fjxmlzn/PacGAN, synthetic_data_experiments/PacGAN/pacgan/extensions.py): per-sample loop over
    modes, distance sqrt(Σ d² / diag(variance)), strict ``<`` for the running minimum and for the
    threshold; only good points enter the histogram. Returns (histogram, mode coverage,
    good points percentage, entropy of the normalised histogram)."""
    hist = np.zeros(len(means))
    for x in points:
        best, best_j = math.inf, -1
        for j, (m, v) in enumerate(zip(means, variances)):
            dis = math.sqrt(float(np.sum((x - m) ** 2 / np.diag(v))))
            if dis < best:
                best, best_j = dis, j
        if best < dis_thre:
            hist[best_j] += 1
    coverage = len(np.nonzero(hist)[0])
    good = hist.sum() / len(points)
    entropy = scipy.stats.entropy(hist / hist.sum())
    return hist, coverage, good, entropy


# -- nearest_mode ----------------------------------------------------------------------------
def test_nearest_mode_uses_per_dimension_std_of_each_mode():
    # mode 0 stds (0.25, 1), mode 1 stds (1, 1); all values exact in binary.
    cov = torch.stack([torch.diag(torch.tensor([0.25**2, 1.0])), torch.eye(2)]).double()
    t = GaussianMixture(torch.tensor([[0.0, 0.0], [10.0, 0.0]]), cov, torch.tensor([0.5, 0.5]))
    x = torch.tensor([[0.5, 0.0], [0.0, 2.0], [4.0, 0.0]])
    idx, dist = nearest_mode(x, t)
    # (4, 0) is Euclidean-closer to mode 0 (4 < 6) but 16 stds from it and 6 from mode 1.
    assert idx.tolist() == [0, 0, 1]
    assert dist.tolist() == [2.0, 2.0, 6.0]
    assert idx.dtype == torch.int64 and dist.dtype == torch.float64


def test_nearest_mode_ties_go_to_lowest_index_like_pacgan():
    t = isotropic_mixture([[0.0, 0.0], [10.0, 0.0]], std=1.0)
    t_rev = isotropic_mixture([[10.0, 0.0], [0.0, 0.0]], std=1.0)
    x = torch.tensor([[5.0, 0.0], [5.0, 3.0]])
    assert nearest_mode(x, t)[0].tolist() == [0, 0]
    assert nearest_mode(x, t_rev)[0].tolist() == [0, 0]


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 64), chunk=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_nearest_mode_is_independent_of_chunking(n, chunk, seed):
    """Property: the result does not depend on the chunk size (every row is computed once, in
    order), and equals a brute-force [n, K] evaluation."""
    t = grid(std=0.3)
    x = t.sample(n, seed) * 1.3
    idx, dist = nearest_mode(x, t, chunk_size=chunk)
    idx0, dist0 = nearest_mode(x, t)
    z = (x.double()[:, None, :] - t.centres[None]) / t.mode_stds[None]
    brute = z.square().sum(-1).sqrt()
    assert torch.equal(idx, idx0) and torch.equal(dist, dist0)
    assert torch.equal(idx, brute.argmin(dim=1))
    torch.testing.assert_close(dist, brute.min(dim=1).values, rtol=1e-12, atol=0)


def test_nearest_mode_100k_by_25_is_cheap():
    t = grid()
    x, comp = t.sample_with_modes(100_000, 0)
    idx, dist = nearest_mode(x, t)
    assert idx.shape == dist.shape == (100_000,)
    # sampled from the target at std 0.05 with spacing 2: every point is nearest its own mode
    assert torch.equal(idx, comp)


# -- mode_metrics: agreement with PacGAN's code ------------------------------------------------
@pytest.mark.parametrize("target", [grid(), ring()], ids=["grid25", "ring8"])
def test_mode_metrics_match_pacgan_metric_logger(target):
    g = torch.Generator().manual_seed(7)
    own, _ = target.sample_with_modes(300, 1, dtype=torch.float64)
    wide = own + 3.0 * target.mode_stds[0] * torch.randn(own.shape, generator=g, dtype=torch.float64)
    box = (torch.rand(100, 2, generator=g, dtype=torch.float64) - 0.5) * 12
    x = torch.cat([own[:100], wide[100:], box])
    variances = torch.diag_embed(target.mode_stds**2).numpy()
    hist, coverage, good, entropy = pacgan_reference(x.numpy(), target.centres.numpy(), variances)
    m = mode_metrics(x, target)
    assert m.mode_counts == tuple(int(h) for h in hist)
    assert m.modes_captured == coverage
    assert m.high_quality_fraction == pytest.approx(good, abs=1e-15)
    assert 0 < good < 1  # the cloud really mixes good and bad points
    # uniform target: reverse KL = log K − (PacGAN's "entropy of coverage")
    assert m.reverse_kl == pytest.approx(math.log(target.n_modes) - entropy, abs=1e-12)


def test_threshold_is_strict_like_pacgan():
    t = isotropic_mixture([[0.0, 0.0], [100.0, 0.0]], std=0.5)
    x = torch.tensor([[1.5, 0.0]])  # exactly 3.0 stds from mode 0
    assert nearest_mode(x, t)[1].item() == 3.0
    assert mode_metrics(x, t, threshold=3.0).high_quality_fraction == 0.0
    assert mode_metrics(x, t, threshold=math.nextafter(3.0, 4.0)).high_quality_fraction == 1.0


# -- mode_metrics: known answers ---------------------------------------------------------------
def test_twenty_of_twenty_five_modes():
    t = grid()
    dropped = [0, 6, 12, 18, 24]
    keep = [k for k in range(25) if k not in dropped]
    n = 5000
    x = sub_mixture(t, keep).sample(n, 11)
    m = mode_metrics(x, t)
    assert m.n_modes == 25
    assert m.modes_captured == 20
    assert all(m.mode_counts[k] == 0 for k in dropped)
    # a sample is not high quality iff ‖z‖ >= 3: Binomial(n, e^{-4.5}) misses
    assert abs(m.high_quality_fraction - (1 - P_TAIL_3STD_2D)) < hq_tolerance(n)
    # p̂ is uniform on 20 of 25 modes up to sampling: KL = log(25/20) + KL(p̂ ‖ U_20)
    n_hq = sum(m.mode_counts)
    assert math.log(1.25) <= m.reverse_kl <= math.log(1.25) + kl_bound(n_hq, 20)


def test_all_samples_at_one_centre():
    t = grid()
    x = t.centres[7].repeat(100, 1)
    m = mode_metrics(x, t)
    assert m.modes_captured == 1
    assert m.high_quality_fraction == 1.0
    assert m.mode_counts == tuple(100 if k == 7 else 0 for k in range(25))
    # p̂ = δ_7, w = 1/25: KL = 1 · log(1 / (1/25)) = log 25
    assert m.reverse_kl == pytest.approx(math.log(25), rel=1e-12)


@pytest.mark.parametrize("name,n", [("grid25", 10_000), ("ring8", 4000)])
def test_exact_target_samples(name, n):
    t = make_target(name)
    m = mode_metrics(t.sample(n, 3), t)
    assert m.modes_captured == t.n_modes
    assert abs(m.high_quality_fraction - (1 - P_TAIL_3STD_2D)) < hq_tolerance(n)
    n_hq = sum(m.mode_counts)
    assert 0.0 <= m.reverse_kl <= kl_bound(n_hq, t.n_modes)


def test_weighted_target_reverse_kl():
    w = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    t = isotropic_mixture([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], std=0.1, weights=w)
    x = torch.tensor([[0.0, 0.0]] * 2 + [[5.0, 0.0]] * 2)  # p̂ = (1/2, 1/2, 0)
    m = mode_metrics(x, t)
    # KL = 1/2 log((1/2)/(1/2)) + 1/2 log((1/2)/(1/4)) = log(2) / 2
    assert m.reverse_kl == pytest.approx(math.log(2) / 2, rel=1e-12)
    # mass on a mode of weight 0: KL = +inf, returned without a numpy divide-by-zero warning
    zero = isotropic_mixture([[0.0, 0.0], [5.0, 0.0]], std=0.1, weights=[1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mode_metrics(torch.tensor([[5.0, 0.0]]), zero).reverse_kl == math.inf


def test_samples_far_from_every_centre():
    t = grid()
    # cell centres (odd coordinates) are sqrt(2)/0.05 ≈ 28.3 stds from the nearest centre
    odd = torch.tensor([-3.0, -1.0, 1.0, 3.0])
    x = torch.cat([torch.cartesian_prod(odd, odd), torch.tensor([[100.0, 100.0], [-50.0, 7.0]])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PacGAN's code warns on 0/0 here; we return NaN silently
        m = mode_metrics(x, t)
    assert m.high_quality_fraction == 0.0
    assert m.modes_captured == 0
    assert m.mode_counts == (0,) * 25
    assert math.isnan(m.reverse_kl)  # documented: p̂ is 0/0
    # results compare equal even with NaN (it is math.nan itself; the engine compares histories)
    assert m == mode_metrics(x, t) and [m.reverse_kl] == [mode_metrics(x, t).reverse_kl]
    # a threshold above 28.3 makes the cell centres high quality (the two far points stay out)
    wide = mode_metrics(x, t, threshold=30.0)
    assert wide.high_quality_fraction == 16 / 18
    assert wide.modes_captured > 0 and wide.reverse_kl >= 0


def test_mode_metrics_is_a_frozen_dataclass():
    m = mode_metrics(grid().centres, grid())
    assert isinstance(m, ModeMetrics)
    assert (m.modes_captured, m.n_modes, m.high_quality_fraction) == (25, 25, 1.0)
    assert m.reverse_kl == pytest.approx(0.0, abs=1e-15)  # p̂ = w = 1/25
    with pytest.raises(AttributeError):
        m.modes_captured = 3  # type: ignore[misc]


# -- mode_metrics: properties ------------------------------------------------------------------
@st.composite
def separated_target(draw):
    """A ring or grid whose std is at most a tenth of the distance between centres, so a point within
    1 std of a centre is >= 9 stds from every other one."""
    if draw(st.booleans()):
        k = draw(st.integers(2, 12))
        radius = draw(st.floats(0.5, 5.0))
        sep = 2 * radius * math.sin(math.pi / k)
        std = sep * draw(st.floats(1e-3, 0.1))
        t = ring(k, radius=radius, std=std)
    else:
        side = draw(st.integers(2, 5))
        spacing = draw(st.floats(0.5, 4.0))
        t = grid(side, spacing=spacing, std=spacing * draw(st.floats(1e-3, 0.1)))
    if draw(st.booleans()):
        raw = draw(st.lists(st.floats(0.05, 1.0), min_size=t.n_modes, max_size=t.n_modes))
        w = torch.tensor(raw, dtype=torch.float64)
        t = GaussianMixture(t.means, t.covariances, w / w.sum())
    return t


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_modes_captured_equals_distinct_modes_sampled(data):
    """Property: when every sample lies within 1 std (per dimension, ‖u‖ <= 0.99 < 3) of the centre
    it was drawn from, and centres are >= 10 stds apart, then mode_counts is exactly the Counter of
    the drawn modes, modes_captured = number of distinct modes drawn, all samples are high quality,
    and 0 <= reverse_kl = Σ p̂ log(p̂ / w) <= log(1 / min_{drawn} w)."""
    t = data.draw(separated_target())
    modes = data.draw(st.lists(st.integers(0, t.n_modes - 1), min_size=1, max_size=80))
    seed = data.draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    u = (torch.rand(len(modes), 2, generator=g, dtype=torch.float64) - 0.5) * 1.4
    x = t.centres[modes] + u * t.mode_stds[modes]
    m = mode_metrics(x, t)
    counts = Counter(modes)
    assert m.mode_counts == tuple(counts.get(k, 0) for k in range(t.n_modes))
    assert m.modes_captured == len(counts)
    assert m.high_quality_fraction == 1.0
    w = t.weights.numpy()
    p = {k: c / len(modes) for k, c in counts.items()}
    expected = math.fsum(pk * math.log(pk / w[k]) for k, pk in p.items())
    assert m.reverse_kl == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert 0.0 <= m.reverse_kl <= math.log(1 / min(w[k] for k in counts)) + 1e-12


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 200),
    scale=st.floats(0.01, 10.0),
    seed=st.integers(0, 2**31 - 1),
    thresholds=st.tuples(st.floats(0.1, 50.0), st.floats(0.1, 50.0)),
)
def test_mode_metrics_invariants_on_arbitrary_clouds(n, scale, seed, thresholds):
    """Property, for any cloud: reverse_kl is NaN exactly when no sample is high quality, else
    >= 0 (Gibbs) and <= log K (uniform target); modes_captured = nonzero bins; the fraction is
    Σ counts / n; and raising the threshold never removes a sample from any bin (the nearest
    mode does not depend on the threshold)."""
    t = grid()
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
    lo, hi = sorted(thresholds)
    a, b = mode_metrics(x, t, threshold=lo), mode_metrics(x, t, threshold=hi)
    for m in (a, b):
        assert m.modes_captured == sum(c > 0 for c in m.mode_counts)
        assert m.high_quality_fraction == sum(m.mode_counts) / n
        if m.modes_captured == 0:
            assert math.isnan(m.reverse_kl)
        else:
            assert 0.0 <= m.reverse_kl <= math.log(25) + 1e-12
    assert all(cb >= ca for ca, cb in zip(a.mode_counts, b.mode_counts))


# -- input validation ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "samples,match",
    [
        (torch.empty(0, 2), "samples is empty"),
        (torch.tensor([[0.0, float("nan")]]), "samples holds 1 non-finite"),
        (torch.tensor([[0.0, float("inf")]]), "non-finite"),
        (torch.zeros(5, 3), "samples has dimension 3, expected 2"),
        (torch.zeros(2, 2, 2), r"samples must have shape \[n, d\]"),
    ],
)
def test_bad_samples_raise(samples, match):
    for fn in (nearest_mode, mode_metrics):
        with pytest.raises(ValueError, match=match):
            fn(samples, grid())


@pytest.mark.parametrize("threshold", [0.0, -1.0, float("nan"), float("inf"), "three"])
def test_bad_threshold_raises(threshold):
    with pytest.raises(ValueError, match="threshold"):
        mode_metrics(grid().centres, grid(), threshold=threshold)


def test_sample_only_target_raises_naming_it():
    roll = make_target("swissroll")
    x = roll.sample(10, 0)
    for fn in (nearest_mode, mode_metrics):
        with pytest.raises(ValueError, match="'swissroll' has no mode centres"):
            fn(x, roll)


def test_bad_chunk_size_raises():
    with pytest.raises(ValueError, match="chunk_size"):
        nearest_mode(grid().centres, grid(), chunk_size=0)


# -- mode_metrics_batched ----------------------------------------------------------------------
def reference_metrics(x: np.ndarray, centres: np.ndarray, stds: np.ndarray, weights: np.ndarray,
                      threshold: float = 3.0):
    """Independent numpy computation for one cloud [n, d]: distances in std units to every centre,
    nearest (argmin, first on ties), strict threshold, histogram of the good points; reverse KL by
    ``kl_discrete`` (NaN without good points). Returns (counts, modes, fraction, kl, Σ|KL terms|)."""
    dist = np.sqrt((((x[:, None, :] - centres[None]) * (1.0 / stds)[None]) ** 2).sum(axis=2))
    j = dist.argmin(axis=1)
    good = dist[np.arange(len(x)), j] < threshold
    counts = np.bincount(j[good], minlength=len(centres))
    total = counts.sum()
    if total == 0:
        return counts, 0, 0.0, math.nan, 0.0
    p = counts / total
    s = p > 0
    abs_terms = float(np.sum(np.abs(p[s] * np.log(p[s] / weights[s])))) if (weights[s] > 0).all() else math.inf
    return counts, int((counts > 0).sum()), total / len(x), kl_discrete(p, weights), abs_terms


def assert_batched_matches(x: torch.Tensor, t, threshold: float = 3.0) -> dict:
    """Batched result == the per-member ``mode_metrics`` (exactly, every field) == the independent
    reference (counts, modes and fraction exactly; KL to float64 rounding: each of the K terms
    and their sum carry a relative error of a few ulps, so |Δ| ≤ (K + 8)·eps·Σ|terms|)."""
    r = mode_metrics_batched(x, t, threshold)
    n_members, n = x.shape[:2]
    assert set(r) == {"modes_captured", "high_quality_fraction", "reverse_kl", "mode_counts"}
    assert r["mode_counts"].shape == (n_members, t.n_modes) and r["mode_counts"].dtype == torch.int64
    assert r["modes_captured"].shape == (n_members,) and r["modes_captured"].dtype == torch.int64
    assert r["high_quality_fraction"].dtype == r["reverse_kl"].dtype == torch.float64
    centres, stds, w = (v.double().numpy() for v in (t.centres, t.mode_stds, t.weights))
    eps = np.finfo(np.float64).eps
    for i in range(n_members):
        m = mode_metrics(x[i], t, threshold=threshold)
        assert tuple(r["mode_counts"][i].tolist()) == m.mode_counts
        assert int(r["modes_captured"][i]) == m.modes_captured
        assert float(r["high_quality_fraction"][i]) == m.high_quality_fraction
        kl = float(r["reverse_kl"][i])
        assert kl == m.reverse_kl or (math.isnan(kl) and math.isnan(m.reverse_kl))
        counts, modes, frac, kl_ref, abs_terms = reference_metrics(x[i].double().numpy(), centres, stds, w, threshold)
        assert m.mode_counts == tuple(int(c) for c in counts)
        assert m.modes_captured == modes and m.high_quality_fraction == frac
        if math.isnan(kl_ref) or math.isinf(kl_ref):
            assert kl == kl_ref or (math.isnan(kl) and math.isnan(kl_ref))
        else:
            assert abs(kl - kl_ref) <= (t.n_modes + 8) * eps * abs_terms
    return r


def zero_weight_mixture():
    """3-D, four modes with unequal stds per dimension, one of weight 0."""
    means = [[0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [0.0, 2.0, 2.0], [-2.0, 0.0, 1.0]]
    cov = torch.diag_embed(torch.tensor([[0.3, 0.5, 0.2], [0.4, 0.4, 0.4], [0.2, 0.6, 0.3], [0.5, 0.3, 0.3]]) ** 2)
    return GaussianMixture(torch.tensor(means), cov.double(), torch.tensor([0.4, 0.3, 0.0, 0.3]))


def mixture_10d():
    """10-D, 6 modes (``_nearest_chunk`` reduces over dimensions > 8 in one call)."""
    g = torch.Generator().manual_seed(3)
    means = torch.randn(6, 10, generator=g, dtype=torch.float64) * 2
    stds = 0.3 + torch.rand(6, 10, generator=g, dtype=torch.float64)
    return GaussianMixture(means, torch.diag_embed(stds**2), torch.full((6,), 1 / 6, dtype=torch.float64))


@pytest.mark.parametrize("target", [grid(), ring(), zero_weight_mixture(), mixture_10d()],
                         ids=["grid25", "ring8", "3d-zero-weight", "10d"])
@pytest.mark.parametrize("n_members", [1, 7])
def test_batched_equals_per_member_on_random_clouds(target, n_members):
    """Clouds of target samples blurred by a per-member scale (0 to 4 mode stds, so some members
    are all high quality, some have none) plus uniform junk; float32 like the engine's samples."""
    g = torch.Generator().manual_seed(n_members)
    own = target.sample(n_members * 300, 5).view(n_members, 300, -1)
    scale = torch.linspace(0.0, 4.0, n_members).view(-1, 1, 1) * target.mode_stds.max().float()
    junk = (torch.rand(n_members, 40, own.shape[2], generator=g) - 0.5) * 8
    x = torch.cat([own + scale * torch.randn(own.shape, generator=g), junk], dim=1)
    r = assert_batched_matches(x, target)
    assert_batched_matches(x, target, threshold=1.5)
    if n_members == 7:  # the clouds really span the cases
        frac = r["high_quality_fraction"]
        assert float(frac.max()) > 0.4 and float(frac.min()) < 0.2


def test_batched_known_answers():
    """One batched call, grid25, n = 5,000 per member:
    0: 20 of the 25 modes (5 dropped): 20 captured, the dropped bins empty, fraction within 5 SE
       of 1 − e^{−4.5}, KL in [log(25/20), log(25/20) + χ²₁₉ bound];
    1: every sample at centre 7: 1 mode, fraction 1, KL = log 25;
    2: every sample at a cell centre (28.3 stds from any mode): no high-quality sample → 0, 0, NaN;
    3: exact target samples: 25 modes, KL below the χ²₂₄ bound."""
    t = grid()
    n = 5000
    dropped = [0, 6, 12, 18, 24]
    keep = [k for k in range(25) if k not in dropped]
    x = torch.stack([
        sub_mixture(t, keep).sample(n, 11),
        t.centres[7].float().repeat(n, 1),
        torch.tensor([1.0, -1.0]).repeat(n, 1),
        t.sample(n, 3),
    ])
    r = assert_batched_matches(x, t)
    modes, frac, kl, counts = (r[k] for k in ("modes_captured", "high_quality_fraction", "reverse_kl", "mode_counts"))
    assert modes.tolist() == [20, 1, 0, 25]
    assert counts[0, dropped].tolist() == [0] * 5
    assert abs(float(frac[0]) - (1 - P_TAIL_3STD_2D)) < hq_tolerance(n)
    n_hq = int(counts[0].sum())
    assert math.log(1.25) <= float(kl[0]) <= math.log(1.25) + kl_bound(n_hq, 20)
    assert counts[1].tolist() == [n if k == 7 else 0 for k in range(25)] and float(frac[1]) == 1.0
    assert float(kl[1]) == pytest.approx(math.log(25), rel=1e-14)
    assert float(frac[2]) == 0.0 and math.isnan(float(kl[2]))
    assert 0.0 <= float(kl[3]) <= kl_bound(int(counts[3].sum()), 25)


def test_batched_zero_weight_mode_gives_inf():
    t = isotropic_mixture([[0.0, 0.0], [5.0, 0.0]], std=0.1, weights=[1.0, 0.0])
    x = torch.tensor([[[5.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.1]]])
    r = mode_metrics_batched(x, t)
    assert r["reverse_kl"].tolist() == [math.inf, 0.0]


def test_reverse_kl_is_never_negative():
    """Gibbs: KL ≥ 0. Weights (3, 2, 1)/6 as the target stores them (each rounded up by an ulp)
    and p̂ = (3, 2, 1)/6 from the counts: every term p log(p/w) rounds to a tiny negative number
    (about −2e-16 in total, computed here in numpy), and the KL must be exactly 0, not that."""
    t = isotropic_mixture([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], std=0.1,
                          weights=torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64) / 6)
    w, p = t.weights.numpy(), np.array([3, 2, 1]) / 6
    assert np.sum(p * np.log1p((p - w) / w)) < 0  # the case really needs the clamp
    x = torch.tensor([[0.0, 0.0]] * 3 + [[5.0, 0.0]] * 2 + [[0.0, 5.0]])
    assert mode_metrics(x, t).reverse_kl == 0.0
    assert mode_metrics_batched(x[None], t)["reverse_kl"].tolist() == [0.0]


def test_batched_does_not_depend_on_chunking(monkeypatch):
    """Every sample's nearest mode is computed from its own row, and counts are integers: any
    chunking gives identical results (chunk_size 1, 7, 333 of n = 1,000, and a patched budget)."""
    t = ring()
    x = t.sample(3000, 8).view(3, 1000, 2) * torch.tensor([1.0, 1.025, 2.0]).view(3, 1, 1)
    ref = mode_metrics_batched(x, t)
    assert 0 < float(ref["high_quality_fraction"][1]) < 0.9 and math.isnan(ref["reverse_kl"][2])

    def identical(got):
        for key in ref:
            torch.testing.assert_close(got[key], ref[key], rtol=0, atol=0, equal_nan=True)

    for chunk in (1, 7, 333):
        identical(mode_metrics_batched(x, t, chunk_size=chunk))
    monkeypatch.setattr(chunks, "CHUNK_ELEMENTS", 3 * 8 * 2 * 50)  # 50 samples per member per chunk
    identical(mode_metrics_batched(x, t))
    assert torch.equal(nearest_mode(x[0], t)[0], nearest_mode(x[0], t, chunk_size=1000)[0])


def test_batched_non_finite_samples_are_never_high_quality():
    """No error and no host sync for NaN/inf (checking values would synchronise): such samples are
    not high quality, a member made of them gets (0, 0, NaN), the others are unaffected."""
    t = grid()
    x = t.sample(600, 2).view(3, 200, 2).clone()
    clean = x.clone()
    x[0, :10] = float("nan")
    x[0, 10:20, 1] = float("inf")
    x[1] = float("nan")
    r = mode_metrics_batched(x, t)
    assert r["modes_captured"][1] == 0 and r["high_quality_fraction"][1] == 0 and math.isnan(r["reverse_kl"][1])
    ref = mode_metrics(clean[0, 20:], t)
    assert tuple(r["mode_counts"][0].tolist()) == ref.mode_counts
    assert float(r["high_quality_fraction"][0]) == sum(ref.mode_counts) / 200
    assert tuple(r["mode_counts"][2].tolist()) == mode_metrics(clean[2], t).mode_counts


def test_batched_runs_on_the_samples_device_without_host_sync():
    """On the 'meta' device a tensor created on the CPU by mistake fails, and so does any read of a
    value on the host (``.item()``, ``bool()``: "cannot be called on meta tensors"): running there
    proves every intermediate lives on the samples' device and nothing waits for the device."""
    x = torch.zeros(5, 300, 2, device="meta")
    r = mode_metrics_batched(x, grid(), chunk_size=64)
    assert {k: (v.device.type, tuple(v.shape)) for k, v in r.items()} == {
        "modes_captured": ("meta", (5,)), "high_quality_fraction": ("meta", (5,)),
        "reverse_kl": ("meta", (5,)), "mode_counts": ("meta", (5, 25)),
    }


def test_batched_dtypes_give_the_same_answer():
    """float32, float64 and integer samples: computed in float64, so a float32 cloud gives the
    result of its exact float64 value; numpy input is accepted."""
    t = grid(std=0.5)
    x32 = t.sample(800, 4).view(2, 400, 2) * 1.1
    r32 = mode_metrics_batched(x32, t)
    r64 = mode_metrics_batched(x32.double(), t)
    rnp = mode_metrics_batched(x32.double().numpy(), t)
    assert all(torch.equal(r32[k], r64[k]) and torch.equal(r64[k], rnp[k]) for k in r32)
    rg = mode_metrics_batched(x32.clone().requires_grad_(True), t)  # a generator's output as is
    assert all(torch.equal(rg[k], r32[k]) for k in r32)
    ri = mode_metrics_batched(torch.tensor([[[2, 2], [0, 0], [4, 4]]]), t)
    assert ri["mode_counts"].sum() == 3 and float(ri["high_quality_fraction"][0]) == 1.0


@pytest.mark.parametrize("samples,match", [
    (torch.zeros(10, 2), r"samples must have shape \[N, n, d\] \(members, samples, dimension\), got shape \(10, 2\)"),
    (torch.zeros(0, 5, 2), r"samples is empty \(shape \(0, 5, 2\)\)"),
    (torch.zeros(3, 0, 2), "samples is empty"),
    (torch.zeros(3, 5, 3), "samples has dimension 3, expected 2"),
    (torch.zeros(3, 5, 2, dtype=torch.bool), "samples must hold real numbers, got dtype torch.bool"),
    (torch.zeros(3, 5, 2, dtype=torch.complex64), "must hold real numbers"),
])
def test_batched_bad_samples_raise(samples, match):
    with pytest.raises(ValueError, match=match):
        mode_metrics_batched(samples, grid())


def test_batched_bad_arguments_raise():
    x = torch.zeros(2, 5, 2)
    for bad in (0.0, -1.0, float("nan"), float("inf"), "three"):
        with pytest.raises(ValueError, match="threshold"):
            mode_metrics_batched(x, grid(), bad)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1, got 0"):
        mode_metrics_batched(x, grid(), chunk_size=0)
    with pytest.raises(ValueError, match="'swissroll' has no mode centres"):
        mode_metrics_batched(x, make_target("swissroll"))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_reverse_kl_is_kl_discrete(data):
    """Property: the device reverse KL of any histogram equals ``kl_discrete(counts/Σ, w)`` to
    float64 rounding ((K + 8)·eps·Σ|terms|), including empty bins, zero-weight bins (inf when they
    hold mass) and NaN for an empty histogram."""
    k = data.draw(st.integers(1, 30))
    w = np.array(data.draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-12, 1.0)), min_size=k, max_size=k)))
    if w.sum() == 0:
        w[0] = 1.0
    w = w / w.sum()
    counts = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=k, max_size=k)))
    got = float(metrics._reverse_kl(torch.tensor(counts)[None], torch.tensor(w))[0])
    if counts.sum() == 0:
        assert math.isnan(got)
        return
    p = counts / counts.sum()
    ref = kl_discrete(p, w)
    if math.isinf(ref):
        assert got == math.inf
        return
    s = p > 0
    abs_terms = float(np.sum(np.abs(p[s] * np.log(p[s] / w[s]))))
    assert abs(got - ref) <= (k + 8) * np.finfo(np.float64).eps * abs_terms
