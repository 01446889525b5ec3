"""The toy mixtures' one sampler, as a run draws it (``TargetSource``, counter-based streams) and as
the target draws it (``GaussianMixture.sample``, a torch.Generator), on a mixture with unequal
weights, unequal and correlated covariances and a zero-weight component.

Every statistical check is a test of H0 "the draws follow the target" at a fixed seed, rejected
below p = 1e-6, so each test is deterministic and would raise a false alarm on a correct sampler
for at most one seed in a million (six tests per sampler, so < 1e-5 for the file). Slips such as
ignoring the weights, a cumulative sum off by one component, or Σ in place of its Cholesky factor
give p-values far below 1e-100 at these sample sizes.

Independent references: scipy's χ² tests; the Mahalanobis form of each component's density (a
sample of N(μ, Σ) has Σ_i (x_i − μ)ᵀ Σ⁻¹ (x_i − μ) ~ χ²_{n·d}), with Σ⁻¹ from numpy, not the
Cholesky factor the sampler uses; torch.multinomial and an einsum for the seeded sampler's draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from ganlab.data.sources import FixedSetSource, TargetSource
from ganlab.rng import Streams, torch_generator
from ganlab.theory.targets import GaussianMixture

ALPHA = 1e-6  # the false-alarm rate of each check at its fixed seed (see the module docstring)
WEIGHTS = [0.05, 0.15, 0.0, 0.30, 0.50]  # unequal, with a zero weight inside
MEANS = [[-6.0, 0.0], [0.0, 6.0], [6.0, 6.0], [6.0, 0.0], [0.0, -6.0]]
COVS = [[[0.04, 0.0], [0.0, 0.04]],
        [[0.25, 0.2], [0.2, 0.36]],  # correlated: L ≠ Lᵀ, Σ ≠ diag
        [[0.09, 0.0], [0.0, 0.09]],
        [[1.0, -0.3], [-0.3, 0.16]],
        [[0.01, 0.0], [0.0, 0.49]]]
N_DRAW = 200_000


def _target() -> GaussianMixture:
    means, covs, weights = (torch.tensor(v, dtype=torch.float64) for v in (MEANS, COVS, WEIGHTS))
    return GaussianMixture(means, covs, weights, name="unequal")


def _source_draw(n: int = N_DRAW // 4) -> tuple[np.ndarray, np.ndarray]:
    """(points, components) of four members' fresh draws through the run's data source."""
    src = TargetSource(_target())
    streams = Streams([1, 2, 3, 4])
    x = src.batch(streams, "data", 7, 1, n, torch.float64)
    k = src.labels(streams, "data", 7, 1, n)
    assert x.shape == (4, n, 2) and k.shape == (4, n) and k.dtype == torch.int64
    return x.reshape(-1, 2).numpy(), k.flatten().numpy()


def _target_draw(n: int = N_DRAW) -> tuple[np.ndarray, np.ndarray]:
    x, k = _target().sample_with_modes(n, 5, dtype=torch.float64)
    return x.numpy(), k.numpy()


DRAWS = {"data source": _source_draw, "target.sample": _target_draw}


@pytest.mark.parametrize("how", DRAWS)
def test_component_counts_follow_the_weights(how):
    """Pearson χ² of the component counts against n·w over the components of positive weight
    (df = 3); the zero-weight component is never drawn."""
    _, k = DRAWS[how]()
    counts = np.bincount(k, minlength=len(WEIGHTS))
    w = np.array(WEIGHTS)
    assert counts.size == len(WEIGHTS) and counts[w == 0].sum() == 0
    p = scipy.stats.chisquare(counts[w > 0], w[w > 0] * k.size).pvalue
    assert p > ALPHA, (counts, p)


@pytest.mark.parametrize("how", DRAWS)
def test_each_component_is_its_gaussian(how):
    """The points of component k (by the draw's own labels) are N(μ_k, Σ_k): their summed
    Mahalanobis norm is χ²_{n_k·d} (a wrong spread or shape moves it by many sds), and their mean
    is N(μ_k, Σ_k / n_k) (Hotelling: n_k (x̄ − μ_k)ᵀ Σ_k⁻¹ (x̄ − μ_k) ~ χ²_d)."""
    x, k = DRAWS[how]()
    for j, (w, mu, cov) in enumerate(zip(WEIGHTS, MEANS, COVS)):
        if w == 0:
            continue
        d = x[k == j] - np.array(mu)
        n = len(d)
        inv = np.linalg.inv(np.array(cov))
        spread = np.einsum("ni,ij,nj->", d, inv, d)
        p_spread = 2 * min(scipy.stats.chi2.cdf(spread, n * 2), scipy.stats.chi2.sf(spread, n * 2))
        m = d.mean(axis=0)
        p_mean = scipy.stats.chi2.sf(n * m @ inv @ m, 2)
        assert p_spread > ALPHA and p_mean > ALPHA, (j, n, spread / (2 * n), m, p_spread, p_mean)


def test_the_fixed_set_holds_the_sources_draw_and_its_labels():
    """A fixed training set is the source's own draw (stream "dataset"), each row with its label."""
    t = _target()
    fixed, fresh, streams = FixedSetSource(t, 1000), TargetSource(t), Streams([4, 9])
    fixed.prepare(streams, torch.device("cpu"))
    assert torch.equal(fixed.data, fresh.batch(streams, "dataset", 0, 0, 1000, torch.float64))
    assert torch.equal(fixed.data_labels, fresh.labels(streams, "dataset", 0, 0, 1000))
    x, y = fixed.batch(streams, "data", 3, 0, 50, torch.float64), fixed.labels(streams, "data", 3, 0, 50)
    # each row lies within 6 sds (largest std 1) of its label's mean, and the means are ≥ 6 apart
    assert ((x - torch.tensor(MEANS, dtype=torch.float64)[y]).norm(dim=-1) < 3).all()


@pytest.mark.parametrize("seed", [0, 1, 17])
def test_target_sample_draws_what_multinomial_and_the_cholesky_map_give(seed):
    """For n > 1 the seeded sampler is torch.multinomial(weights, n, replacement=True) for the
    components (it inverts the same uniforms in the same order), then n × d normals from the same
    generator mapped by μ_k + L_k ε (L from torch's Cholesky, applied here by einsum)."""
    t, n = _target(), 1000
    x, k = t.sample_with_modes(n, seed, dtype=torch.float64)
    g = torch_generator(seed)
    k_ref = torch.multinomial(torch.tensor(WEIGHTS, dtype=torch.float64), n, replacement=True, generator=g)
    eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
    chol = torch.linalg.cholesky(torch.tensor(COVS, dtype=torch.float64))
    assert torch.equal(k, k_ref)
    ref = torch.tensor(MEANS, dtype=torch.float64)[k] + torch.einsum("nij,nj->ni", chol[k], eps)
    torch.testing.assert_close(x, ref, rtol=1e-15, atol=1e-15)
