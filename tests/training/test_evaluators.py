"""The evaluators the engine calls, against independent computations."""

import math

import torch

from ganlab.metrics.modes import mode_metrics
from ganlab.theory.targets import ring
from ganlab.training.evaluators import EVALUATORS, EvalContext


def _ctx(n: int) -> EvalContext:
    return EvalContext(ring(), list(range(n)), torch.ones(n, dtype=torch.bool), step=3)


def test_batched_mode_evaluator_equals_the_single_cloud_metrics():
    g = torch.Generator().manual_seed(0)
    x = ring().sample(600, g, dtype=torch.float64) + 0.02 * torch.randn(600, 2, generator=g, dtype=torch.float64)
    samples = torch.stack([x[:300], x[300:]])
    out = EVALUATORS["modes"].fn(samples, _ctx(2))
    for i in range(2):
        ref = mode_metrics(samples[i], ring())
        assert float(out["modes_captured"][i]) == ref.modes_captured
        assert float(out["high_quality_fraction"][i]) == ref.high_quality_fraction
        assert math.isclose(float(out["reverse_kl"][i]), ref.reverse_kl, rel_tol=1e-12)


def test_sliced_w1_of_a_translation():
    """Target samples moved by v = (0.5, 0): the sliced W1 is the mean over projections θ of
    |⟨θ, v⟩| (a translation moves every projected quantile by ⟨θ, v⟩), i.e. 0.5·E|cos φ| = 1/π for
    uniform directions. With 100 fixed projections the mean |cos| has s.d. √(½ − 4/π²)/10 ≈ 0.031,
    so 4 s.d. × 0.5 = 0.062. The two independent 2,000-point clouds add sampling noise: in 1-D,
    E W1(F_n, G_n) ≤ √(2/n)·∫√(F(1 − F)) ≤ √(2/2000)·0.9 ≈ 0.03 for a projection of the unit ring."""
    g = torch.Generator().manual_seed(1)
    x = ring().sample(2000, g, dtype=torch.float64) + torch.tensor([0.5, 0.0], dtype=torch.float64)
    moved = EVALUATORS["sliced_w1"].fn(x[None], _ctx(1))["sliced_w1"]
    still = EVALUATORS["sliced_w1"].fn(x[None] - torch.tensor([0.5, 0.0], dtype=torch.float64), _ctx(1))["sliced_w1"]
    assert abs(float(moved[0]) - 1 / math.pi) < 0.062 + 0.03
    assert float(still[0]) < 0.03
