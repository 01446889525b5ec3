"""Each target's one sampler (``from_noise``) as both of its callers feed it: ``sample`` from a
torch.Generator and the run's data source (``TargetSource``) from counter-based streams, against
the papers' formulas written out in numpy on the same random numbers."""

import math

import numpy as np
import pytest
import torch

from ganlab.data.sources import TargetSource
from ganlab.rng import Streams, torch_generator
from ganlab.theory.targets import make_target


def _swiss_roll(u: np.ndarray, eps: np.ndarray, noise: float, scale: float) -> np.ndarray:
    """sklearn's make_swiss_roll(noise) columns (x, z), divided by scale (the WGAN-GP toy script)."""
    t = 1.5 * np.pi * (1 + 2 * u)
    return (np.stack([t * np.cos(t), t * np.sin(t)], axis=-1) + noise * eps) / scale


def _lines(u: np.ndarray, theta: float) -> np.ndarray:
    return np.stack([np.full_like(u, theta), u], axis=-1)


CASES = {
    "swissroll": (dict(noise=0.5, scale=3.0), 2, lambda u, e, kw: _swiss_roll(u, e, kw["noise"], kw["scale"])),
    "parallel-lines": (dict(theta=-0.3), 0, lambda u, e, kw: _lines(u, kw["theta"])),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sample_is_the_formula_on_the_generators_numbers(name):
    kw, normals, formula = CASES[name]
    t = make_target(name, **kw)
    x = t.sample(500, 9, dtype=torch.float64).numpy()
    g = torch_generator(9)
    u = torch.rand(500, generator=g, dtype=torch.float64).numpy()
    eps = torch.randn(500, normals, generator=g, dtype=torch.float64).numpy() if normals else None
    np.testing.assert_allclose(x, formula(u, eps, kw), rtol=1e-14, atol=1e-14)
    assert t.sample(500, 9).dtype == torch.float32


@pytest.mark.parametrize("name", list(CASES))
def test_the_data_source_is_the_formula_on_the_streams(name):
    """Member i's draw (purpose, step, sub): its uniforms from that address, its normals from
    (purpose/eps, step, sub)."""
    kw, normals, formula = CASES[name]
    s = Streams([4, 8])
    x = TargetSource(make_target(name, **kw)).batch(s, "data", 3, 1, 400, torch.float64).numpy()
    u = s.uniform("data", 3, 1, (400,), torch.float64).numpy()
    eps = s.normal("data/eps", 3, 1, (400, normals), torch.float64).numpy() if normals else None
    np.testing.assert_allclose(x, formula(u, eps, kw), rtol=1e-14, atol=1e-14)
    with pytest.raises(ValueError, match="has no class labels"):
        TargetSource(make_target(name, **kw)).labels(s, "data", 3, 1, 4)


def test_a_mixture_draws_its_components_from_the_uniforms_and_places_them():
    """μ_k + L_k ε with k the first component whose cumulative weight exceeds u (written out)."""
    t = make_target("mixture1d", means=(-1.0, 0.0, 3.0), stds=(0.2, 0.3, 0.4), weights=(0.2, 0.5, 0.3))
    s = Streams([1])
    x = TargetSource(t).batch(s, "d", 0, 0, 300, torch.float64)[0, :, 0].numpy()
    u = s.uniform("d", 0, 0, (300,), torch.float64)[0].numpy()
    eps = s.normal("d/eps", 0, 0, (300, 1), torch.float64)[0, :, 0].numpy()
    k = np.array([next(j for j, c in enumerate(np.cumsum([0.2, 0.5, 0.3])) if x_ < c) for x_ in u])
    np.testing.assert_allclose(x, np.array([-1.0, 0.0, 3.0])[k] + np.array([0.2, 0.3, 0.4])[k] * eps, rtol=1e-14,
                               atol=1e-14)
    assert math.isclose(float(np.mean(k == 1)), 0.5, abs_tol=0.1)
