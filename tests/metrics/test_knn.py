"""Tests for ganlab.metrics.knn: improved precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020), by hand-computed cases, identities and sampled clouds."""

from __future__ import annotations

import pytest
import torch

import ganlab.metrics._chunks as chunks
from ganlab.metrics.knn import density_coverage, precision_recall
from ganlab.metrics.modes import nearest_mode
from ganlab.theory.targets import GaussianMixture, grid


def sub_mixture(target: GaussianMixture, keep: list[int]) -> GaussianMixture:
    """The target restricted to the modes ``keep``, weights renormalised (a mode-dropping sampler)."""
    idx = torch.as_tensor(keep)
    w = target.weights[idx]
    return GaussianMixture(target.means[idx], target.covariances[idx], w / w.sum())


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
    ref = (precision_recall(real, fake, k=3), density_coverage(real, fake, k=3))
    # 66 rows of 300 per chunk (4 full chunks and a short one)
    monkeypatch.setattr(chunks, "CHUNK_ELEMENTS", 20_000)
    assert chunks.chunk_rows(300) == 66
    got = (precision_recall(real, fake, k=3), density_coverage(real, fake, k=3))
    assert got == ref


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


