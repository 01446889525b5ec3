"""Known-answer and property tests for ganlab.metrics.

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

import ganlab.metrics.modes as metrics
from ganlab.metrics.modes import (
    ModeMetrics,
    density_coverage,
    mode_metrics,
    nearest_mode,
    precision_recall,
    w1_to_target,
)
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


# -- k-NN precision / recall / density / coverage -------------------------------------------------
def test_knn_metrics_hand_computed_1d():
    """real {0,1,2,3}, fake {−3,3,4,10}, k = 1. Real radii: 1,1,1,1. Fake radii: 6,1,1,6.
    precision (<=): 3 (d 0) and 4 (d 1 = radius, on the boundary) are in → 2/4.
    recall (<=, fake radii): 0,1,2 lie within 6 of −3, 3 within 1 of 3 → 4/4.
    density (<): only the pair (fake 3, real 3) has d < 1 → 1/(1·4).
    coverage (<): only real 3 has a fake strictly within its radius → 1/4."""
    real = torch.tensor([0.0, 1.0, 2.0, 3.0])
    fake = torch.tensor([-3.0, 3.0, 4.0, 10.0])
    assert precision_recall(real, fake, k=1) == (0.5, 1.0)
    assert density_coverage(real, fake, k=1) == (0.25, 0.25)


def test_knn_metrics_of_a_cloud_against_itself_are_exactly_one():
    """Every fake point is a real point (distance 0 <= radius) → precision = recall = 1; each real
    ball B(r_i, R_k) holds exactly itself and its k − 1 nearer neighbours strictly inside →
    density = N k / (k N) = 1, coverage = 1."""
    x = grid().sample(1500, 5)
    assert precision_recall(x, x) == (1.0, 1.0)
    assert density_coverage(x, x) == (1.0, 1.0)


def test_knn_metrics_same_distribution_near_one_and_mode_dropping_lowers_recall():
    """Independent clouds from one target: the k-NN balls miss only the sparse tails (about 2 % here
    at n = 2000, k = 5), so all four statistics are >= 0.9. Dropping 5 of 25 equal-weight modes
    (weight 0.2) leaves precision and density near 1 and lowers recall and coverage to about 0.8:
    the real points of the dropped modes (Binomial(2000, 0.2) of them, sd 0.009) are > 1.9 units
    from any fake point, far outside every fake ball (radii ~0.05), and the other real points keep
    their ~0.97 inclusion rate: expected ≈ 0.8 · 0.97 ≈ 0.78, window [0.74, 0.82]."""
    t = grid()
    real = t.sample(2000, 21)
    same = precision_recall(real, t.sample(2000, 22))
    dc_same = density_coverage(real, t.sample(2000, 22))
    assert min(same) >= 0.9 and min(dc_same) >= 0.9
    dropped = sub_mixture(t, list(range(5, 25))).sample(2000, 23)
    pr = precision_recall(real, dropped)
    dc = density_coverage(real, dropped)
    assert pr.precision >= 0.9 and dc.density >= 0.9
    assert 0.74 <= pr.recall <= 0.82
    assert 0.74 <= dc.coverage <= 0.82
    # recall cannot exceed the real mass on the kept modes (no real point of a dropped mode is in)
    kept = (nearest_mode(real, t)[0] >= 5).double().mean().item()
    assert pr.recall <= kept and dc.coverage <= kept


def test_knn_metrics_do_not_depend_on_chunking(monkeypatch):
    t = grid()
    real, fake = t.sample(300, 1), sub_mixture(t, list(range(10))).sample(250, 2)
    x = t.sample(1000, 3) * 1.2
    ref = (precision_recall(real, fake, k=3), density_coverage(real, fake, k=3), nearest_mode(x, t))
    # 66 rows of 300 per chunk (4 full chunks and a short one); 400 rows of 1000 for nearest_mode
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 20_000)
    got = (precision_recall(real, fake, k=3), density_coverage(real, fake, k=3), nearest_mode(x, t))
    assert got[0] == ref[0] and got[1] == ref[1]
    assert torch.equal(got[2][0], ref[2][0]) and torch.equal(got[2][1], ref[2][1])


@pytest.mark.parametrize("fn", [precision_recall, density_coverage])
def test_knn_metrics_validate(fn):
    x = torch.zeros(10, 2)
    with pytest.raises(ValueError, match="dimension mismatch: real has dimension 2, fake has 3"):
        fn(x, torch.zeros(10, 3))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        fn(x, x, k=0)
    with pytest.raises(ValueError, match=r"k=10 needs at least k\+1=11 points in real"):
        fn(x, x, k=10)
    with pytest.raises(ValueError, match="fake holds 10 non-finite"):
        fn(x, torch.tensor([[0.0, float("nan")]] * 10))
    with pytest.raises(ValueError, match="real is empty"):
        fn(torch.empty(0, 2), x)


def test_recall_needs_k_plus_one_fake_points():
    with pytest.raises(ValueError, match=r"k=5 needs at least k\+1=6 points in fake"):
        precision_recall(torch.randn(10, 2), torch.randn(5, 2))


# -- W1 --------------------------------------------------------------------------------------
def test_w1_to_target_known_answers():
    t = grid()
    y = t.sample(400, 2, dtype=torch.float64)  # exactly the cloud w1_to_target draws with seed 2
    assert w1_to_target(y, t, n=400, seed=2) == pytest.approx(0.0, abs=1e-12)
    # translating a cloud by v moves it exactly ‖v‖ = 5 in W1 (mean shift lower bound, identity
    # coupling upper bound)
    shifted = y + torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert w1_to_target(shifted, t, n=400, seed=2) == pytest.approx(5.0, rel=1e-9)
    # same seed, same value; another target cloud gives another (positive) value
    x = t.sample(300, 9)
    a, b = w1_to_target(x, t, n=400, seed=0), w1_to_target(x, t, n=400, seed=0)
    assert a == b and a > 0 and w1_to_target(x, t, n=400, seed=1) != a


def test_w1_to_target_sample_only_target_and_validation():
    roll = make_target("swissroll")
    assert 0 < w1_to_target(roll.sample(200, 1), roll, n=200) < 0.5
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        w1_to_target(roll.sample(10, 1), roll, n=0)
    with pytest.raises(ValueError, match="samples has dimension 3, expected 2"):
        w1_to_target(torch.zeros(10, 3), grid())
    with pytest.raises(ValueError, match="seed must be an integer"):
        w1_to_target(torch.zeros(10, 2), grid(), seed=1.5)
    with pytest.raises(ValueError, match=r"6000 samples x n=5000 .* subsample the samples or lower n"):
        w1_to_target(torch.zeros(6000, 2), grid(), n=5000)
